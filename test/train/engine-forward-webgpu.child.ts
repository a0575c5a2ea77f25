// Run by engine-forward-webgpu.test.ts in a child process: the engine's recorded forward
// (src/train/engine-forward.ts) against the tfjs model's `forward` on the cpu backend, logits
// compared norm-relative, for the residual connection with and without biases.
import { EngineForward } from '../../src/train/engine-forward.ts';
import { tf } from '../../src/engine/tf.ts';
import { MODEL_DEFAULTS, type ModelConfig, validateModelConfig } from '../../src/model/config.ts';
import { disposeParams, initParams } from '../../src/model/params.ts';
import { forward } from '../../src/model/transformer.ts';
import { normRel, startChild } from '../engine/program/child-device.ts';
import { perturb } from '../model/helpers.ts';

const { device, rng, finish } = await startChild('engine-forward');

async function logitsCase(bias: boolean, batch: number, seqLen: number) {
  const c: ModelConfig = validateModelConfig({ ...MODEL_DEFAULTS, vocabSize: 37, blockSize: 12, nLayers: 2, nHeads: 2, dModel: 16, bias, nStreams: 1, connection: { kind: 'residual' }, streamInit: { kind: 'copy' } });
  const params = initParams(c, 5);
  perturb(params, 6); // away from init, so that every parameter matters
  const ids = Int32Array.from({ length: batch * seqLen }, () => rng.int(c.vocabSize));
  const engine = EngineForward.build(device, c, params, batch, seqLen);
  const got = await engine.run(ids);
  const dispatches = engine.program.dispatchCount;
  engine.destroy();
  const want = tf.tidy(() => forward(params, c, tf.tensor2d(ids, [batch, seqLen], 'int32')).dataSync());
  disposeParams(params);
  return { rel: normRel(got, want), dispatches };
}

await finish({
  logits: {
    'bias, B 2, T 9': await logitsCase(true, 2, 9),
    'no bias, B 3, T 12': await logitsCase(false, 3, 12),
    'no bias, B 1, T 1': await logitsCase(false, 1, 1),
  },
});
