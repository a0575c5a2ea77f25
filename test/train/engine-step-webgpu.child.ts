// Run by engine-step-webgpu.test.ts in a child process: four training steps on the WebGPU engine
// (src/train/engine-step.ts) and with train/step.ts' TrainStep on tfjs' cpu backend (the reference), from the same
// parameters and batches, for every connection kind and stream init, one case with two
// micro-batches per update and steps submitted two at a time. It reports per step the losses'
// and gradient norms' relative errors, and per parameter tensor ‖Δ‖/‖p‖ after steps 1 and 4;
// then the engine's validation loss against the tfjs loss, and a second engine built from the
// first one's state after step 3 (a resume) against the first one's step 4, bit for bit.
import { type Scalar, tf, type Variable } from '../../src/engine/tf.ts';
import { MODEL_DEFAULTS, type Connection, type ModelConfig, type StreamInit, validateModelConfig } from '../../src/model/config.ts';
import { disposeParams, initParams, type Params, paramSpecs } from '../../src/model/params.ts';
import { lossFn } from '../../src/model/transformer.ts';
import { type EngineBatch, type EngineStepResult, EngineTrainStep } from '../../src/train/engine-step.ts';
import { AdamW, optimizerGroups } from '../../src/train/optimizer.ts';
import { TrainStep } from '../../src/train/step.ts';
import { startChild } from '../engine/program/child-device.ts';
import { perturb } from '../model/helpers.ts';

const { device, rng, finish } = await startChild('engine-step');
const adam = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 };
const LR = 3e-3;
const STEPS = 4;

interface Case {
  connection: Connection;
  nStreams: number;
  streamInit: StreamInit;
  bias?: boolean;
  batch: number;
  seqLen: number;
  accum?: number;
  maxNorm: number;
  /** Model width (default 16). */
  dModel?: number;
}

/**
 * Per tensor, between the engine's parameters and the tfjs ones: ‖Δ‖₂/‖p‖₂ over the elements whose
 * first-step gradient is above float noise (`live`), and the largest |Δ| in units of lr over the
 * rest. Adam moves an element by about lr whatever its gradient's size, so where the exact
 * gradient is zero (the attention key bias: softmax ignores a shift of a query's scores; with copy
 * init the first HC module's mixing sees identical streams) float noise of either sign moves it
 * by up to lr per step on either side: there only that bound holds.
 */
function compare(names: readonly string[], got: Map<string, Float32Array>, params: Params, dead: Map<string, Uint8Array>) {
  const live: Record<string, number> = {};
  const deadInLr: Record<string, number> = {};
  for (const n of names) {
    const w = params.get(n)?.dataSync() as Float32Array;
    const g = got.get(n) as Float32Array;
    const mask = dead.get(n) as Uint8Array;
    let diff2 = 0;
    let norm2 = 0;
    let worst = 0;
    w.forEach((x, j) => {
      const d = x - (g[j] as number);
      if (mask[j]) worst = Math.max(worst, Math.abs(d));
      else {
        diff2 += d * d;
        norm2 += x * x;
      }
    });
    live[n] = norm2 === 0 ? Math.sqrt(diff2) : Math.sqrt(diff2 / norm2);
    deadInLr[n] = worst / LR;
  }
  return { live, deadInLr };
}

/** Elements whose gradient of the first step's mean loss is at most 1e-5 of the largest one. */
function noiseGradients(params: Params, c: ModelConfig, names: readonly string[], micro: readonly EngineBatch[], batch: number, seqLen: number): Map<string, Uint8Array> {
  const vars = names.map((n) => params.get(n) as Variable);
  const sums = new Map<string, Float32Array>(names.map((n) => [n, new Float32Array(params.get(n)?.size ?? 0)]));
  for (const b of micro) {
    const { grads, value } = tf.variableGrads(() => lossFn(params, c, tf.tensor2d(b.ids, [batch, seqLen], 'int32'), tf.tensor2d(b.targets, [batch, seqLen], 'int32')) as Scalar, vars);
    names.forEach((n, i) => {
      const g = grads[(vars[i] as Variable).name]?.dataSync() as Float32Array;
      (sums.get(n) as Float32Array).forEach((_, j, acc) => {
        acc[j] = (acc[j] as number) + (g[j] as number);
      });
    });
    for (const g of Object.values(grads)) g.dispose();
    value.dispose();
  }
  const max = Math.max(...[...sums.values()].map((g) => g.reduce((m, x) => Math.max(m, Math.abs(x)), 0)));
  return new Map([...sums].map(([n, g]) => [n, Uint8Array.from(g, (x) => (Math.abs(x) <= 1e-5 * max ? 1 : 0))]));
}

async function stepCase(k: Case) {
  const c: ModelConfig = validateModelConfig({ ...MODEL_DEFAULTS, vocabSize: 37, blockSize: Math.max(12, k.seqLen), nLayers: 2, nHeads: 2, dModel: k.dModel ?? 16, bias: k.bias ?? false, nStreams: k.nStreams, connection: k.connection, streamInit: k.streamInit });
  const accum = k.accum ?? 1;
  const params = initParams(c, 5);
  perturb(params, 6);
  const engine = EngineTrainStep.build(device, c, params, { batch: k.batch, seqLen: k.seqLen, accum }, adam, k.maxNorm);
  const opt = new AdamW(params, optimizerGroups(params, paramSpecs(c, 5)), adam);
  const step = new TrainStep(params, c, opt, k.maxNorm);
  const names = engine.forward.optimizer.slices.map((s) => s.name);
  const BT = k.batch * k.seqLen;
  const batch = (): EngineBatch => ({ ids: Int32Array.from({ length: BT }, () => rng.int(c.vocabSize)), targets: Int32Array.from({ length: BT }, () => rng.int(c.vocabSize)) });
  const micro = Array.from({ length: STEPS }, () => Array.from({ length: accum }, batch));
  const dead = noiseGradients(params, c, names, micro[0] as EngineBatch[], k.batch, k.seqLen);
  const out = { loss: [] as number[], gradNorm: [] as number[], live: {} as Record<string, number>, deadInLr: {} as Record<string, number>, deadCount: [...dead.values()].reduce((n, m) => n + m.reduce((a, x) => a + x, 0), 0), valLoss: 0, resume: { loss: 0, gradNorm: 0, params: 0 }, dispatches: engine.dispatchCount, maxBindings: engine.maxBindings };
  // steps 1 and 2 are submitted before either is awaited, as the training loop does
  const results: EngineStepResult[] = [];
  let resumed: { t: number; state: Awaited<ReturnType<EngineTrainStep['state']>> } | undefined;
  const first = engine.submit(micro[0] as EngineBatch[], LR);
  const second = engine.submit(micro[1] as EngineBatch[], LR);
  results.push(await first, await second);
  for (let s = 0; s < STEPS; s++) {
    const want = step.run((micro[s] as EngineBatch[]).map((b) => ({ tokens: b.ids, targets: b.targets, batchSize: k.batch, seqLen: k.seqLen })), LR);
    if (s >= 2) {
      if (s === 3) resumed = { t: engine.t, state: await engine.state() };
      results.push(await engine.submit(micro[s] as EngineBatch[], LR));
    }
    const got = results[s] as EngineStepResult;
    out.loss.push(Math.abs(got.loss - want.loss) / Math.abs(want.loss));
    out.gradNorm.push(Math.abs(got.gradNorm - want.gradNorm) / want.gradNorm);
  }
  // parameters after the last step
  const { params: final } = await engine.state();
  Object.assign(out, compare(names, final, params, dead));
  const val = batch();
  const got = await engine.loss(val);
  const want = tf.tidy(() => lossFn(params, c, tf.tensor2d(val.ids, [k.batch, k.seqLen], 'int32'), tf.tensor2d(val.targets, [k.batch, k.seqLen], 'int32')).dataSync()[0] as number);
  out.valLoss = Math.abs(got - want) / want;
  // a second engine from the state after step 3, as a resumed run builds it
  const r = resumed as NonNullable<typeof resumed>;
  for (const [n, x] of r.state.params) (params.get(n) as Variable).assign(tf.tensor(x, params.get(n)?.shape));
  const again = EngineTrainStep.build(device, c, params, { batch: k.batch, seqLen: k.seqLen, accum }, adam, k.maxNorm);
  again.loadOptimizer(r.t, r.state.m, r.state.v);
  const last = await again.submit(micro[3] as EngineBatch[], LR);
  const { params: resumedFinal } = await again.state();
  out.resume = {
    loss: Math.abs(last.loss - (results[3] as EngineStepResult).loss),
    gradNorm: Math.abs(last.gradNorm - (results[3] as EngineStepResult).gradNorm),
    params: names.reduce((worst, n) => Math.max(worst, ...(resumedFinal.get(n) as Float32Array).map((x, j) => Math.abs(x - ((final.get(n) as Float32Array)[j] as number)))), 0),
  };
  again.destroy();
  engine.destroy();
  opt.dispose();
  disposeParams(params);
  return out;
}

const CASES: Record<string, Case> = {
  'residual, bias, clipped': { connection: { kind: 'residual' }, nStreams: 1, streamInit: { kind: 'copy' }, bias: true, batch: 2, seqLen: 9, maxNorm: 0.5 },
  'hc static, n 2, copy': { connection: { kind: 'hc', dynamic: false, dynamicNorm: 'rms' }, nStreams: 2, streamInit: { kind: 'copy' }, batch: 2, seqLen: 7, maxNorm: 1 },
  'hc dynamic rms, n 4, lss': { connection: { kind: 'hc', dynamic: true, dynamicNorm: 'rms' }, nStreams: 4, streamInit: { kind: 'lss', center: 0.6 }, batch: 2, seqLen: 7, maxNorm: 1 },
  'hc dynamic layer, n 3, stream-embed': { connection: { kind: 'hc', dynamic: true, dynamicNorm: 'layer' }, nStreams: 3, streamInit: { kind: 'stream-embed' }, batch: 1, seqLen: 11, maxNorm: 1 },
  'mhc, n 3, noise': { connection: { kind: 'mhc', sinkhornIters: 20 }, nStreams: 3, streamInit: { kind: 'noise', sigma: 0.2 }, batch: 2, seqLen: 6, maxNorm: 1 },
  'mhc-lite, n 4, copy, bias': { connection: { kind: 'mhc-lite' }, nStreams: 4, streamInit: { kind: 'copy' }, bias: true, batch: 1, seqLen: 9, maxNorm: 1 },
  'mhc-lite, n 4, lss, 2 micro-batches': { connection: { kind: 'mhc-lite' }, nStreams: 4, streamInit: { kind: 'lss', center: 0.6 }, batch: 2, seqLen: 5, accum: 2, maxNorm: 1 },
  // 600 tokens: the norms' parameter sums and the coefficient sums run in row chunks. (Dynamic hc
  // with copy init at this size is ill-conditioned: over 4 steps tfjs' own cpu and wasm backends
  // drift apart by up to 8e-4 in the gradient norm, and the engine stays within their spread, so
  // it cannot be held to 1e-5 there; stream-embed breaks the symmetry.)
  'hc dynamic rms, n 4, stream-embed, 600 tokens': { connection: { kind: 'hc', dynamic: true, dynamicNorm: 'rms' }, nStreams: 4, streamInit: { kind: 'stream-embed' }, batch: 4, seqLen: 150, maxNorm: 1, dModel: 24 },
  'mhc-lite, n 4, lss, 600 tokens': { connection: { kind: 'mhc-lite' }, nStreams: 4, streamInit: { kind: 'lss', center: 0.6 }, batch: 4, seqLen: 150, maxNorm: 1, dModel: 24 },
};

const steps: Record<string, unknown> = {};
for (const [name, k] of Object.entries(CASES)) steps[name] = await stepCase(k);
await finish({ steps });
