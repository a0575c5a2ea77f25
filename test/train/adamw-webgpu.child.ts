// Run by adamw-webgpu.test.ts in a child process (Dawn needs its Vulkan environment at start):
// the fused webgpu clip + AdamW against a float64 oracle, against the unfused tfjs ops on the
// same backend, and inside TrainStep. Prints one JSON object; {"skip": reason} without an adapter.
import { initBackend } from '../../src/engine/backend.ts';
import { constantMemory } from '../../src/engine/constants.ts';
import { rngFor } from '../../src/engine/random.ts';
import { ownedVariable, tf, type Tensor, type Variable } from '../../src/engine/tf.ts';
import { MODEL_DEFAULTS, validateModelConfig } from '../../src/model/config.ts';
import { disposeParams, initParams, paramSpecs } from '../../src/model/params.ts';
import { AdamW, optimizerGroups } from '../../src/train/optimizer.ts';
import { TrainStep } from '../../src/train/step.ts';

const backend = await initBackend('webgpu').catch((e: Error) => e);
if (backend instanceof Error) {
  process.stdout.write(`${JSON.stringify({ skip: backend.message })}\n`);
  process.exit(0);
}
const HYPER = { beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1 };
const setFused = (on: boolean) => {
  process.env.HCPROBE_FUSED = on ? '1' : '0';
};

/** AdamW with clipping in float64, the update order of optimizer.ts. */
function oracle(p: Float64Array[], g: Float64Array[][], decay: boolean[], lr: number, maxNorm: number): { p: Float64Array[]; norms: number[] } {
  const m = p.map((x) => new Float64Array(x.length));
  const v = p.map((x) => new Float64Array(x.length));
  const norms: number[] = [];
  g.forEach((gs, step) => {
    const t = step + 1;
    const norm = Math.sqrt(gs.reduce((a, x) => a + x.reduce((b, y) => b + y * y, 0), 0));
    norms.push(norm);
    const coef = maxNorm > 0 && norm > maxNorm ? maxNorm / (norm + 1e-6) : 1;
    const bc1 = 1 - HYPER.beta1 ** t;
    const bc2 = 1 - HYPER.beta2 ** t;
    p.forEach((pi, i) => {
      for (let j = 0; j < pi.length; j++) {
        const gj = (gs[i] as Float64Array)[j] as number * coef;
        const mi = m[i] as Float64Array;
        const vi = v[i] as Float64Array;
        const pd = decay[i] ? (pi[j] as number) * (1 - lr * HYPER.weightDecay) : (pi[j] as number);
        mi[j] = HYPER.beta1 * (mi[j] as number) + (1 - HYPER.beta1) * gj;
        vi[j] = HYPER.beta2 * (vi[j] as number) + (1 - HYPER.beta2) * gj * gj;
        pi[j] = pd - (lr / bc1) * ((mi[j] as number) / (Math.sqrt(vi[j] as number) / Math.sqrt(bc2) + HYPER.eps));
      }
    });
  });
  return { p, norms };
}

/** Max |a - b| / (|b| + floor) over all elements. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>, floor: number): number {
  let e = 0;
  for (let i = 0; i < a.length; i++) e = Math.max(e, Math.abs((a[i] as number) - (b[i] as number)) / (Math.abs(b[i] as number) + floor));
  return e;
}

/** Three clipped updates of a few parameter tensors, sizes chosen around the kernels' strides. */
function updates(fused: boolean, maxNorm: number, cloneFirst: boolean) {
  setFused(fused);
  const sizes = [[1], [7], [3, 100], [256], [257], [4099, 300]];
  const rng = rngFor(7, 'adamw-webgpu');
  const init = sizes.map((s) => Float64Array.from({ length: s.reduce((a, b) => a * b, 1) }, () => rng.normal()));
  const grads = [0, 1, 2].map(() => init.map((x) => Float64Array.from({ length: x.length }, () => rng.normal() * 0.05)));
  const decay = sizes.map((s) => s.length > 1);
  const params = new Map<string, Variable>(sizes.map((s, i) => [`w${i}`, ownedVariable(tf.tensor(Float32Array.from(init[i] as Float64Array), s), true)]));
  const clone = cloneFirst ? tf.clone(params.get('w0') as Variable) : undefined;
  const names = [...params.keys()];
  const opt = new AdamW(params, { decay: names.filter((_, i) => decay[i]), noDecay: names.filter((_, i) => !decay[i]) }, HYPER);
  const norms: number[] = [];
  const fusedSteps: boolean[] = [];
  for (const gs of grads) {
    const g = new Map<string, Tensor>(names.map((n, i) => [n, tf.tensor(Float32Array.from(gs[i] as Float64Array), sizes[i] as number[])]));
    norms.push(opt.clipAndStep(g, 0.01, maxNorm));
    fusedSteps.push(opt.lastStepFused);
    for (const t of g.values()) t.dispose();
  }
  const p = names.map((n) => Float64Array.from((params.get(n) as Variable).dataSync()));
  const want = oracle(init.map((x) => Float64Array.from(x)), grads, decay, 0.01, maxNorm);
  const out = {
    fusedSteps,
    paramErr: Math.max(...p.map((x, i) => relErr(x, want.p[i] as Float64Array, 1e-2))),
    normErr: relErr(norms, want.norms, 0),
    cloneUnchanged: clone ? relErr(clone.dataSync(), Float32Array.from(init[0] as Float64Array), 0) : undefined,
    p,
  };
  clone?.dispose();
  opt.dispose();
  for (const v of params.values()) v.dispose();
  return out;
}

/** Four TrainSteps of a small mHC-lite model. */
function training(fused: boolean) {
  setFused(fused);
  const model = validateModelConfig({ ...MODEL_DEFAULTS, vocabSize: 64, blockSize: 16, nLayers: 2, nHeads: 2, dModel: 32, nStreams: 4, connection: { kind: 'mhc-lite' }, streamInit: { kind: 'lss', center: 0.6 } });
  const params = initParams(model, 1);
  const opt = new AdamW(params, optimizerGroups(params, paramSpecs(model, 1)), HYPER);
  const step = new TrainStep(params, model, opt, 1.0);
  const rng = rngFor(1, 'adamw-webgpu-train');
  const tokens = () => Int32Array.from({ length: 2 * 16 }, () => rng.int(64));
  const steps = [0, 1, 2, 3].map(() => ({ ...step.run([{ tokens: tokens(), targets: tokens(), batchSize: 2, seqLen: 16 }], 3e-3), fused: opt.lastStepFused }));
  const final = [...params.values()].map((v) => Float64Array.from(v.dataSync()));
  const numTensors = tf.memory().numTensors - constantMemory().numTensors; // cached engine constants are kept on purpose
  opt.dispose();
  disposeParams(params);
  return { steps, final, numTensors };
}

const clipped = updates(true, 0.5, false);
const unclipped = updates(true, 0, false);
const unfused = updates(false, 0.5, false);
const shared = updates(true, 0.5, true);
const tf1 = training(true);
const tf0 = training(false);
const out = {
  device: backend.device,
  clipped: { ...clipped, p: undefined },
  unclipped: { ...unclipped, p: undefined },
  unfused: { ...unfused, p: undefined },
  fusedVsUnfused: Math.max(...clipped.p.map((x, i) => relErr(x, unfused.p[i] as Float64Array, 1e-2))),
  shared: { ...shared, p: undefined },
  training: {
    fused: tf1.steps,
    unfused: tf0.steps,
    lossErr: Math.max(...tf1.steps.map((s, i) => Math.abs(s.loss - (tf0.steps[i]?.loss as number)))),
    normErr: Math.max(...tf1.steps.map((s, i) => Math.abs(s.gradNorm - (tf0.steps[i]?.gradNorm as number)) / (tf0.steps[i]?.gradNorm as number))),
    paramErr: Math.max(...tf1.final.map((x, i) => relErr(x, tf0.final[i] as Float64Array, 1e-2))),
    tensorsLeftFused: tf1.numTensors,
    tensorsLeftUnfused: tf0.numTensors,
  },
};
process.stdout.write(`${JSON.stringify(out)}\n`);
process.exit(0);
