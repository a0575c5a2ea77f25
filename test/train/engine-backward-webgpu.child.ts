// Run by engine-backward-webgpu.test.ts in a child process: the engine's recorded forward and
// backward (src/train/engine-forward.ts, engine-backward.ts) against the tfjs model's loss and
// tf.variableGrads on the cpu backend, for residual, hc (static, dynamic), mhc and mhc-lite across
// stream inits, with and without biases: the loss, and every trainable parameter's gradient
// norm-relative.
import { type Scalar, tf, type Variable } from '../../src/engine/tf.ts';
import { type Connection, MODEL_DEFAULTS, type ModelConfig, type StreamInit, validateModelConfig } from '../../src/model/config.ts';
import { disposeParams, initParams } from '../../src/model/params.ts';
import { lossFn } from '../../src/model/transformer.ts';
import { EngineBackward } from '../../src/train/engine-backward.ts';
import { EngineForward } from '../../src/train/engine-forward.ts';
import { startChild } from '../engine/program/child-device.ts';
import { perturb } from '../model/helpers.ts';

const { device, rng, finish } = await startChild('engine-backward');

async function gradientCase(connection: Connection, nStreams: number, streamInit: StreamInit, bias: boolean, batch: number, seqLen: number) {
  const c: ModelConfig = validateModelConfig({ ...MODEL_DEFAULTS, vocabSize: 37, blockSize: 12, nLayers: 2, nHeads: 2, dModel: 16, bias, nStreams, connection, streamInit });
  const params = initParams(c, 5);
  perturb(params, 6);
  const ids = Int32Array.from({ length: batch * seqLen }, () => rng.int(c.vocabSize));
  const targets = Int32Array.from({ length: batch * seqLen }, () => rng.int(c.vocabSize));
  const forward = EngineForward.build(device, c, params, batch, seqLen);
  const backward = EngineBackward.build(forward);
  const loss = await backward.run(ids, targets);
  const slices = backward.grads.layout.slices.map((sl) => sl.name);
  const read = new Map(slices.map((name, i) => [name, i]));
  const arrays = await backward.grads.read(slices);
  const dispatches = forward.program.dispatchCount + backward.program.dispatchCount;
  backward.destroy();
  forward.destroy();
  const engineGrad = (name: string): Float32Array => arrays[read.get(name) as number] as Float32Array;
  const names = [...params].filter(([, v]) => v.trainable).map(([n]) => n);
  const vars = names.map((n) => params.get(n) as Variable);
  const { value, grads } = tf.variableGrads(() => lossFn(params, c, tf.tensor2d(ids, [batch, seqLen], 'int32'), tf.tensor2d(targets, [batch, seqLen], 'int32')) as Scalar, vars);
  const wantLoss = value.dataSync()[0] as number;
  // Norm-relative per parameter, with a floor of 1e-3 of the model's largest gradient entry. A
  // parameter's gradient is a sum over every token of terms of both signs; where it is small, the
  // sum cancels and what is left is float32 summation-order noise on both sides (about 1e-8 here,
  // against gradients up to ~2). Some are zero in exact arithmetic: with copy init the first
  // module's mixing of mhc and mhc-lite acts on identical streams, where any doubly stochastic
  // mixing is a no-op. Wrong terms still show: the planted bugs tried fail it at 1.09 and 3.2.
  const want = names.map((_n, i) => grads[(vars[i] as Variable).name]?.dataSync() as Float32Array);
  const floor = 1e-3 * Math.max(...want.map((w) => w.reduce((m, x) => Math.max(m, Math.abs(x)), 0)));
  const errors = Object.fromEntries(names.map((n, i) => {
    const w = want[i] as Float32Array;
    const got = engineGrad(n);
    const diff = w.reduce((m, x, j) => Math.max(m, Math.abs(x - (got[j] as number))), 0);
    return [n, diff / Math.max(floor, w.reduce((m, x) => Math.max(m, Math.abs(x)), 0))];
  }));
  tf.dispose([value, ...Object.values(grads)]);
  disposeParams(params);
  return { loss: Math.abs(loss - wantLoss) / Math.abs(wantLoss), worst: Math.max(...Object.values(errors)), worstName: Object.entries(errors).sort((x, y) => y[1] - x[1])[0]?.[0], count: names.length, dispatches };
}

const copy: StreamInit = { kind: 'copy' };
await finish({
  gradients: {
    'residual, bias, B 2, T 9': await gradientCase({ kind: 'residual' }, 1, copy, true, 2, 9),
    'residual, B 3, T 12': await gradientCase({ kind: 'residual' }, 1, copy, false, 3, 12),
    'hc dynamic rms, n 4, lss, B 2, T 7': await gradientCase({ kind: 'hc', dynamic: true, dynamicNorm: 'rms' }, 4, { kind: 'lss', center: 0.6 }, false, 2, 7),
    'hc dynamic layer, n 3, stream-embed, bias, B 1, T 12': await gradientCase({ kind: 'hc', dynamic: true, dynamicNorm: 'layer' }, 3, { kind: 'stream-embed' }, true, 1, 12),
    'hc static, n 2, noise, B 2, T 5': await gradientCase({ kind: 'hc', dynamic: false, dynamicNorm: 'rms' }, 2, { kind: 'noise', sigma: 0.2 }, false, 2, 5),
    'mhc, n 4, copy, B 2, T 6': await gradientCase({ kind: 'mhc', sinkhornIters: 20 }, 4, copy, false, 2, 6),
    'mhc-lite, n 3, lss, B 3, T 4': await gradientCase({ kind: 'mhc-lite' }, 3, { kind: 'lss', center: 0.6 }, false, 3, 4),
    'mhc-lite, n 4, copy, bias, B 1, T 9': await gradientCase({ kind: 'mhc-lite' }, 4, copy, true, 1, 9),
  },
});
