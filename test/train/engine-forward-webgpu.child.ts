// Run by engine-forward-webgpu.test.ts in a child process: the engine's recorded forward
// (src/train/engine-forward.ts) against the tfjs model's `forward` on the cpu backend, logits
// compared norm-relative: residual with and without biases, hc static and dynamic (RMS and gain
// LayerNorm), mhc and mhc-lite, across the stream inits.
import { EngineForward } from '../../src/train/engine-forward.ts';
import { tf } from '../../src/engine/tf.ts';
import { type Connection, MODEL_DEFAULTS, type ModelConfig, type StreamInit, validateModelConfig } from '../../src/model/config.ts';
import { disposeParams, initParams } from '../../src/model/params.ts';
import { forward } from '../../src/model/transformer.ts';
import { hookName } from '../../src/model/hooks.ts';
import { disposeCachedRun, runWithCache } from '../../src/model/run-with-cache.ts';
import { normRel, startChild } from '../engine/program/child-device.ts';
import { perturb } from '../model/helpers.ts';

const { device, rng, finish } = await startChild('engine-forward');

async function logitsCase(connection: Connection, nStreams: number, streamInit: StreamInit, bias: boolean, batch: number, seqLen: number) {
  const c: ModelConfig = validateModelConfig({ ...MODEL_DEFAULTS, vocabSize: 37, blockSize: 12, nLayers: 2, nHeads: 2, dModel: 16, bias, nStreams, connection, streamInit });
  const params = initParams(c, 5);
  perturb(params, 6); // away from init, so that every parameter matters
  const ids = Int32Array.from({ length: batch * seqLen }, () => rng.int(c.vocabSize));
  const engine = EngineForward.build(device, c, params, batch, seqLen);
  const got = await engine.run(ids);
  const dispatches = engine.program.dispatchCount;
  // every hook site the forward keeps, against runWithCache
  const layers = [...Array(c.nLayers).keys()];
  const modules = layers.flatMap((layer) => (['attn', 'mlp'] as const).map((module) => ({ layer, module })));
  const names = [
    ...layers.flatMap((layer) => (['resid_pre', 'resid_mid', 'resid_post'] as const).map((kind) => hookName({ kind, layer }))),
    ...modules.flatMap((m) => (['branch_in', 'branch_out', ...(c.connection.kind === 'residual' ? [] : (['read', 'mixing', 'write'] as const))] as const).map((kind) => hookName({ kind, ...m }))),
    hookName({ kind: 'ln_final' }),
  ];
  const hooked = await engine.hookValues(names);
  const uncovered = await engine.hookValues([hookName({ kind: 'embed' })]);
  engine.destroy();
  const want = tf.tidy(() => forward(params, c, tf.tensor2d(ids, [batch, seqLen], 'int32')).dataSync());
  const run = runWithCache(params, c, tf.tensor2d(ids, [batch, seqLen], 'int32'), new Set(names));
  const hooks = Object.fromEntries(names.map((name) => [name, hooked?.get(name) ? normRel(hooked.get(name) as Float32Array, run.cache.get(name)?.dataSync() as Float32Array) : Number.NaN]));
  disposeCachedRun(run);
  disposeParams(params);
  return { rel: normRel(got, want), dispatches, hooks, uncoveredIsUndefined: uncovered === undefined };
}

const copy: StreamInit = { kind: 'copy' };
await finish({
  logits: {
    'residual, bias, B 2, T 9': await logitsCase({ kind: 'residual' }, 1, copy, true, 2, 9),
    'residual, B 3, T 12': await logitsCase({ kind: 'residual' }, 1, copy, false, 3, 12),
    'residual, B 1, T 1': await logitsCase({ kind: 'residual' }, 1, copy, false, 1, 1),
    'hc dynamic rms, n 4, lss, B 2, T 7': await logitsCase({ kind: 'hc', dynamic: true, dynamicNorm: 'rms' }, 4, { kind: 'lss', center: 0.6 }, false, 2, 7),
    'hc dynamic layer, n 3, stream-embed, bias, B 1, T 12': await logitsCase({ kind: 'hc', dynamic: true, dynamicNorm: 'layer' }, 3, { kind: 'stream-embed' }, true, 1, 12),
    'hc static, n 2, noise, B 2, T 5': await logitsCase({ kind: 'hc', dynamic: false, dynamicNorm: 'rms' }, 2, { kind: 'noise', sigma: 0.2 }, false, 2, 5),
    'mhc, n 4, copy, B 2, T 6': await logitsCase({ kind: 'mhc', sinkhornIters: 20 }, 4, copy, false, 2, 6),
    'mhc-lite, n 3, lss, B 3, T 4': await logitsCase({ kind: 'mhc-lite' }, 3, { kind: 'lss', center: 0.6 }, false, 3, 4),
    'mhc-lite, n 4, copy, bias, B 1, T 9': await logitsCase({ kind: 'mhc-lite' }, 4, copy, true, 1, 9),
  },
});
