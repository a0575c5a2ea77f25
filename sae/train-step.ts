// One SAE training step (docs/metrics.md). Loss = FVU = Σ‖x̂ − x‖² / Σ‖x − x̄‖² over the batch, plus
// for TopK kinds AuxK: (1/32)·min(dead/k_aux, 1)·Σ‖ê − e‖² / Σ‖x − x̄‖², ê decoding the k_aux
// largest dead latents and e = x − x̂ held fixed (Gao et al. 2024); for ReLU the L1 term
// λ·Σ f_i‖W_dec,i‖ / Σ‖x − x̄‖²; JumpReLU and Matryoshka in their own files. Then Adam, clip 1,
// and unit-norm decoder rows.
import { Adam } from './adam.ts';
import { lrOf, type SaeTrainConfig } from './config.ts';
import { DenseEncoder } from './encoder.ts';
import { jumpReluGrads } from './jumprelu-grads.ts';
import { matryoshkaBackward } from './matryoshka.ts';
import { reluGrads } from './relu-grads.ts';
import { normaliseRows, removeParallelGrad, type SaeParams } from './sae-params.ts';
import { batchTopkCodes, nnz, type SparseCodes, topkCodes } from './sparse-codes.ts';
import { backwardSparse, decodeSparse, encoderBiasGrad } from './sparse-kernels.ts';

export interface StepResult {
  loss: number;
  fvu: number;
  auxLoss: number;
  /** Mean non-zero latents per token. */
  l0: number;
  /** Latents silent for the AuxK window, as a fraction of m. */
  deadFraction: number;
  gradNorm: number;
}

/** EMA decay of BatchTopK's θ estimate: about the last 100 batches. */
const THETA_DECAY = 0.99;

export class SaeTrainer {
  readonly encoder: DenseEncoder;
  private readonly adam: Adam;
  private readonly g: { wEncT: Float32Array; wDec: Float32Array; bEnc: Float32Array; bDec: Float32Array };
  /** Token count at each latent's last firing. */
  readonly lastFired: Float64Array;
  tokens = 0;
  steps = 0;
  private thetaEma = 0;
  /** JumpReLU: log θ_i, the trained form of the thresholds, and its gradient. */
  private readonly logTheta: Float32Array | null;
  private readonly gLogTheta: Float32Array | null;

  constructor(
    readonly p: SaeParams,
    readonly cfg: SaeTrainConfig,
    /** Tokens without firing after which AuxK treats a latent as dead. */
    readonly auxWindow: number,
  ) {
    this.encoder = new DenseEncoder(p);
    this.logTheta = p.thresholds?.map(Math.log) ?? null;
    this.gLogTheta = p.thresholds && new Float32Array(p.dSae);
    const extra = this.logTheta ? [this.logTheta] : [];
    this.adam = new Adam([p.wEncT, p.wDec, p.bEnc, p.bDec, ...extra], { lr: lrOf(cfg), beta1: cfg.beta1, beta2: cfg.beta2, eps: cfg.eps, clip: cfg.gradClip });
    this.g = { wEncT: new Float32Array(p.wEncT.length), wDec: new Float32Array(p.wDec.length), bEnc: new Float32Array(p.dSae), bDec: new Float32Array(p.dIn) };
    this.lastFired = new Float64Array(p.dSae);
  }

  /** x: a batch of scaled inputs [rows, d]. */
  step(x: Float32Array, rows: number): StepResult {
    const { p, g } = this;
    const d = p.dIn;
    for (const a of Object.values(g)) a.fill(0);
    this.gLogTheta?.fill(0);
    const variance = totalVariance(x, rows, d);
    let fvu: number;
    let recon: number | undefined;
    let auxLoss = 0;
    let l0: number;
    const dead = this.deadLatents();
    const act = p.act;
    if (act.kind === 'relu' || act.kind === 'jumprelu') {
      const r = act.kind === 'relu' ? reluGrads(p, x, rows, variance, act, g) : jumpReluGrads(p, x, rows, variance, act.l0, act.bandwidth, { ...g, logTheta: this.gLogTheta as Float32Array });
      fvu = r.fvu;
      l0 = r.firedTotal / rows;
      r.fired.forEach((n, i) => {
        if (n > 0) this.lastFired[i] = this.tokens + rows;
      });
    } else {
      const { xc, pre } = this.encoder.pre(x, rows);
      let codes: SparseCodes;
      if (act.kind === 'topk') codes = topkCodes(pre, rows, p.dSae, act.k);
      else {
        const r = batchTopkCodes(pre, rows, p.dSae, act.k);
        codes = r.codes;
        this.thetaEma = THETA_DECAY * this.thetaEma + (1 - THETA_DECAY) * r.minKept;
        p.threshold = this.thetaEma / (1 - THETA_DECAY ** (this.steps + 1));
      }
      for (let q = 0; q < nnz(codes); q++) this.lastFired[codes.idx[q] as number] = this.tokens + rows;
      l0 = nnz(codes) / rows;
      let err: Float32Array;
      if (act.kind === 'matryoshka') {
        const r = matryoshkaBackward(codes, x, xc, p, act.prefixes, variance, g);
        err = r.err;
        fvu = r.prefixFvu.at(-1) as number;
        recon = r.loss;
      } else {
        err = decodeSparse(codes, p.wDec, d, p.bDec, new Float32Array(rows * d));
        let se = 0;
        for (let t = 0; t < err.length; t++) {
          const e = (err[t] as number) - (x[t] as number);
          err[t] = e;
          se += e * e;
        }
        fvu = se / variance;
        const grad = err.map((e) => (2 * e) / variance);
        for (let o = 0; o < grad.length; o += d) for (let t = 0; t < d; t++) g.bDec[t] = (g.bDec[t] as number) + (grad[o + t] as number);
        backwardSparse(codes, grad, xc, p.wDec, d, g);
      }
      if (dead.length > 0) auxLoss = this.auxk(pre, xc, err, rows, variance, dead);
      encoderBiasGrad(g.bEnc, p.wEncT, d, g.bDec);
    }
    removeParallelGrad(g.wDec, p.wDec, d);
    const gradNorm = this.adam.step([g.wEncT, g.wDec, g.bEnc, g.bDec, ...(this.gLogTheta ? [this.gLogTheta] : [])]);
    if (this.logTheta && p.thresholds) for (let i = 0; i < p.dSae; i++) p.thresholds[i] = Math.exp(this.logTheta[i] as number);
    normaliseRows(p.wDec, d);
    this.encoder.refresh();
    this.tokens += rows;
    this.steps++;
    const loss = (recon ?? fvu) + this.cfg.auxkCoef * auxLoss;
    return { loss, fvu, auxLoss, l0, deadFraction: this.deadLatents().length / p.dSae, gradNorm };
  }

  /** AuxK: decode the residual e = x − x̂ (fixed) from the k_aux largest dead latents. */
  private auxk(pre: Float32Array, xc: Float32Array, err: Float32Array, rows: number, variance: number, dead: Int32Array): number {
    const { p, g, cfg } = this;
    const d = p.dIn;
    const codes = topkCodes(pre, rows, p.dSae, cfg.kAux, dead);
    const r = decodeSparse(codes, p.wDec, d, null, new Float32Array(rows * d));
    let se = 0;
    for (let t = 0; t < r.length; t++) {
      const v = (r[t] as number) + (err[t] as number); // ê − e, with e = −err
      r[t] = v;
      se += v * v;
    }
    const scale = Math.min(dead.length / cfg.kAux, 1);
    const c = (2 * cfg.auxkCoef * scale) / variance;
    for (let t = 0; t < r.length; t++) r[t] = c * (r[t] as number);
    backwardSparse(codes, r, xc, p.wDec, d, g);
    return (scale * se) / variance;
  }

  deadLatents(): Int32Array {
    const out: number[] = [];
    if (this.tokens < this.auxWindow) return new Int32Array(0);
    for (let i = 0; i < this.p.dSae; i++) if (this.tokens - (this.lastFired[i] as number) >= this.auxWindow) out.push(i);
    return Int32Array.from(out);
  }

  dispose(): void {
    this.encoder.dispose();
  }
}

/** Σ_b ‖x_b − x̄‖² in float64; never zero, so a constant batch gives a finite loss. */
export function totalVariance(x: Float32Array, rows: number, d: number): number {
  const mean = new Float64Array(d);
  for (let o = 0; o < rows * d; o += d) for (let t = 0; t < d; t++) mean[t] = (mean[t] as number) + (x[o + t] as number);
  for (let t = 0; t < d; t++) mean[t] = (mean[t] as number) / rows;
  let v = 0;
  for (let o = 0; o < rows * d; o += d) for (let t = 0; t < d; t++) v += ((x[o + t] as number) - (mean[t] as number)) ** 2;
  return Math.max(v, 1e-12);
}
