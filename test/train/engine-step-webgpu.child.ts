// Run by engine-step-webgpu.test.ts in a child process: three training steps on the WebGPU engine
// (src/train/engine-step.ts) and with train/step.ts' TrainStep on the cpu backend, from the same
// parameters and batches: losses, gradient norms and every parameter after steps 1 and 3.
import { MODEL_DEFAULTS, type Connection, type ModelConfig, type StreamInit, validateModelConfig } from '../../src/model/config.ts';
import { disposeParams, initParams, paramSpecs } from '../../src/model/params.ts';
import { EngineTrainStep } from '../../src/train/engine-step.ts';
import { AdamW, optimizerGroups } from '../../src/train/optimizer.ts';
import { TrainStep } from '../../src/train/step.ts';
import { startChild } from '../engine/program/child-device.ts';
import { perturb } from '../model/helpers.ts';

const { device, rng, finish } = await startChild('engine-step');
const adam = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 };
const LR = 3e-3;

async function stepCase(connection: Connection, nStreams: number, streamInit: StreamInit, bias: boolean, batch: number, seqLen: number, maxNorm: number) {
  const c: ModelConfig = validateModelConfig({ ...MODEL_DEFAULTS, vocabSize: 37, blockSize: 12, nLayers: 2, nHeads: 2, dModel: 16, bias, nStreams, connection, streamInit });
  const params = initParams(c, 5);
  perturb(params, 6);
  const engine = EngineTrainStep.build(device, c, params, batch, seqLen, adam, maxNorm);
  const opt = new AdamW(params, optimizerGroups(params, paramSpecs(c, 5)), adam);
  const step = new TrainStep(params, c, opt, maxNorm);
  const names = engine.forward.optimizer.slices.map((s) => s.name);
  const out = { loss: [] as number[], gradNorm: [] as number[], params: [] as number[], worstInLr: [] as number[] };
  for (let k = 1; k <= 3; k++) {
    const ids = Int32Array.from({ length: batch * seqLen }, () => rng.int(c.vocabSize));
    const targets = Int32Array.from({ length: batch * seqLen }, () => rng.int(c.vocabSize));
    const got = await engine.run(ids, targets, LR);
    const want = step.run([{ tokens: ids, targets, batchSize: batch, seqLen }], LR);
    out.loss.push(Math.abs(got.loss - want.loss) / Math.abs(want.loss));
    out.gradNorm.push(Math.abs(got.gradNorm - want.gradNorm) / want.gradNorm);
    if (k === 1 || k === 3) {
      const values = await engine.forward.params.read(names);
      // over all parameters: ‖Δ‖₂ / ‖p‖₂, and the largest |Δ| of any element in units of lr
      let diff2 = 0;
      let norm2 = 0;
      let worst = 0;
      names.forEach((n, i) => {
        const w = params.get(n)?.dataSync() as Float32Array;
        const g = values[i] as Float32Array;
        w.forEach((x, j) => {
          const d = x - (g[j] as number);
          diff2 += d * d;
          norm2 += x * x;
          worst = Math.max(worst, Math.abs(d));
        });
      });
      out.params.push(Math.sqrt(diff2 / norm2));
      out.worstInLr.push(worst / LR);
    }
  }
  engine.destroy();
  opt.dispose();
  disposeParams(params);
  return out;
}

await finish({
  steps: {
    'residual, bias, clipped': await stepCase({ kind: 'residual' }, 1, { kind: 'copy' }, true, 2, 9, 0.5),
    'hc dynamic, n 4, lss': await stepCase({ kind: 'hc', dynamic: true, dynamicNorm: 'rms' }, 4, { kind: 'lss', center: 0.6 }, false, 2, 7, 1.0),
    'mhc, n 3, noise': await stepCase({ kind: 'mhc', sinkhornIters: 20 }, 3, { kind: 'noise', sigma: 0.2 }, false, 2, 6, 1.0),
    'mhc-lite, n 4, copy, bias': await stepCase({ kind: 'mhc-lite' }, 4, { kind: 'copy' }, true, 1, 9, 1.0),
  },
});
