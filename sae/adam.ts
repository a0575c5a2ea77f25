// Adam (Kingma & Ba 2015) over flat float32 parameters, after clipping the gradients to a
// global L2 norm (docs/metrics.md: clip 1). The norm is accumulated in float64.

export interface AdamConfig {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  /** Largest global gradient norm; Infinity disables clipping. */
  clip: number;
}

export class Adam {
  private readonly m: Float32Array[];
  private readonly v: Float32Array[];
  private t = 0;

  constructor(
    readonly params: Float32Array[],
    readonly cfg: AdamConfig,
  ) {
    this.m = params.map((p) => new Float32Array(p.length));
    this.v = params.map((p) => new Float32Array(p.length));
  }

  /** Applies one step with `grads` (same order and sizes as params); returns the pre-clip norm. */
  step(grads: Float32Array[]): number {
    let sq = 0;
    for (const g of grads) for (let i = 0; i < g.length; i++) sq += (g[i] as number) * (g[i] as number);
    const norm = Math.sqrt(sq);
    const clipScale = norm > this.cfg.clip ? this.cfg.clip / norm : 1;
    this.t++;
    const { beta1: b1, beta2: b2, eps } = this.cfg;
    // Bias corrections folded into the step size: lr·√(1−β2ᵗ)/(1−β1ᵗ).
    const alpha = (this.cfg.lr * Math.sqrt(1 - b2 ** this.t)) / (1 - b1 ** this.t);
    const epsHat = eps * Math.sqrt(1 - b2 ** this.t);
    this.params.forEach((p, k) => {
      const g = grads[k] as Float32Array;
      const m = this.m[k] as Float32Array;
      const v = this.v[k] as Float32Array;
      for (let i = 0; i < p.length; i++) {
        const gi = (g[i] as number) * clipScale;
        const mi = b1 * (m[i] as number) + (1 - b1) * gi;
        const vi = b2 * (v[i] as number) + (1 - b2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = (p[i] as number) - (alpha * mi) / (Math.sqrt(vi) + epsHat);
      }
    });
    return norm;
  }
}
