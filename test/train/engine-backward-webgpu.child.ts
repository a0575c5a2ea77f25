// Run by engine-backward-webgpu.test.ts in a child process: the engine's recorded forward and
// backward (src/train/engine-forward.ts, engine-backward.ts) against the tfjs model's loss and
// tf.variableGrads on the cpu backend, for the residual connection with and without biases: the
// loss, and every parameter's gradient norm-relative.
import { type Scalar, tf, type Variable } from '../../src/engine/tf.ts';
import { MODEL_DEFAULTS, type ModelConfig, validateModelConfig } from '../../src/model/config.ts';
import { disposeParams, initParams } from '../../src/model/params.ts';
import { lossFn } from '../../src/model/transformer.ts';
import { EngineBackward } from '../../src/train/engine-backward.ts';
import { EngineForward } from '../../src/train/engine-forward.ts';
import { normRel, startChild } from '../engine/program/child-device.ts';
import { perturb } from '../model/helpers.ts';

const { device, rng, finish } = await startChild('engine-backward');

async function gradientCase(bias: boolean, batch: number, seqLen: number) {
  const c: ModelConfig = validateModelConfig({ ...MODEL_DEFAULTS, vocabSize: 37, blockSize: 12, nLayers: 2, nHeads: 2, dModel: 16, bias, nStreams: 1, connection: { kind: 'residual' }, streamInit: { kind: 'copy' } });
  const params = initParams(c, 5);
  perturb(params, 6);
  const ids = Int32Array.from({ length: batch * seqLen }, () => rng.int(c.vocabSize));
  const targets = Int32Array.from({ length: batch * seqLen }, () => rng.int(c.vocabSize));
  const forward = EngineForward.build(device, c, params, batch, seqLen);
  const backward = EngineBackward.build(forward);
  const loss = await backward.run(ids, targets);
  const names = [...params.keys()];
  const got = await backward.grads.read(names);
  const dispatches = forward.program.dispatchCount + backward.program.dispatchCount;
  backward.destroy();
  forward.destroy();
  const vars = names.map((n) => params.get(n) as Variable);
  const { value, grads } = tf.variableGrads(() => lossFn(params, c, tf.tensor2d(ids, [batch, seqLen], 'int32'), tf.tensor2d(targets, [batch, seqLen], 'int32')) as Scalar, vars);
  const wantLoss = value.dataSync()[0] as number;
  const errors = Object.fromEntries(names.map((n, i) => [n, normRel(got[i] as Float32Array, grads[(vars[i] as Variable).name]?.dataSync() as Float32Array)]));
  tf.dispose([value, ...Object.values(grads)]);
  disposeParams(params);
  return { loss: Math.abs(loss - wantLoss) / Math.abs(wantLoss), worst: Math.max(...Object.values(errors)), worstName: Object.entries(errors).sort((x, y) => y[1] - x[1])[0]?.[0], count: names.length, dispatches };
}

await finish({
  gradients: {
    'bias, B 2, T 9': await gradientCase(true, 2, 9),
    'no bias, B 3, T 12': await gradientCase(false, 3, 12),
  },
});
