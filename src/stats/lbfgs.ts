// Limited-memory BFGS (Nocedal & Wright 2006, Alg. 7.4 two-loop recursion) with a backtracking
// Armijo line search, driven from outside: ask() names the point to evaluate next and
// tell(f, g) hands back its value and gradient, so many problems can share one batched product.

export interface LbfgsOptions {
  /** Correction pairs kept. */
  memory: number;
  maxIterations: number;
  /** Stop when max_i |g_i| falls below it. */
  gradTol: number;
  /** Stop when an iteration lowers f by less than relTol · max(|f|, 1). */
  relTol: number;
}

export const LBFGS_DEFAULTS: LbfgsOptions = {
  memory: 10, // Nocedal & Wright: 3–20 pairs suffice; scipy's default is 10
  maxIterations: 200, // probes on standardised features converge in tens of iterations
  gradTol: 1e-5, // scipy's pgtol
  relTol: 1e-9, // below float32 resolution of a batched loss: further progress is noise
};

export type LbfgsStatus = 'running' | 'converged' | 'max_iterations' | 'line_search_failed' | 'stopped';

const C1 = 1e-4; // Armijo sufficient-decrease constant
const MAX_BACKTRACKS = 30;

export class Lbfgs {
  /** The last accepted iterate, its value and gradient. */
  x: Float64Array;
  f = Number.POSITIVE_INFINITY;
  g: Float64Array;
  iterations = 0;
  status: LbfgsStatus = 'running';
  private readonly o: LbfgsOptions;
  private trial: Float64Array;
  private dir: Float64Array;
  private step = 1;
  private slope = 0;
  private backtracks = 0;
  private started = false;
  private readonly s: Float64Array[] = [];
  private readonly y: Float64Array[] = [];
  private readonly rho: number[] = [];

  constructor(x0: Float64Array, opts: Partial<LbfgsOptions> = {}) {
    this.o = { ...LBFGS_DEFAULTS, ...opts };
    this.x = Float64Array.from(x0);
    this.g = new Float64Array(x0.length);
    this.trial = Float64Array.from(x0);
    this.dir = new Float64Array(x0.length);
  }

  get done(): boolean {
    return this.status !== 'running';
  }

  /** The point whose value and gradient tell() expects next. */
  ask(): Float64Array {
    return this.trial;
  }

  /** Ends the run from outside (early stopping); x stays the last accepted iterate. */
  stop(): void {
    if (this.status === 'running') this.status = 'stopped';
  }

  /** Consumes f and ∇f at ask()'s point; returns true when that point became the new iterate. */
  tell(f: number, g: Float64Array): boolean {
    if (this.done) return false;
    if (!this.started) {
      this.started = true;
      if (!Number.isFinite(f)) {
        this.status = 'line_search_failed';
        return false;
      }
      this.accept(f, g);
      if (this.done) return true;
      // First step: length 1/‖g‖ along −g, as scipy's and Nocedal & Wright's first iteration.
      this.newDirection();
      this.step = Math.min(1, 1 / Math.sqrt(dot(g, g)));
      this.setTrial();
      return true;
    }
    if (Number.isFinite(f) && f <= this.f + C1 * this.step * this.slope) {
      const sVec = new Float64Array(this.x.length);
      const yVec = new Float64Array(this.x.length);
      for (let i = 0; i < sVec.length; i++) {
        sVec[i] = (this.trial[i] as number) - (this.x[i] as number);
        yVec[i] = (g[i] as number) - (this.g[i] as number);
      }
      const sy = dot(sVec, yVec);
      // Curvature condition: skip pairs that would make the implicit Hessian indefinite.
      if (sy > 1e-10 * Math.sqrt(dot(yVec, yVec) * dot(sVec, sVec))) {
        this.s.push(sVec);
        this.y.push(yVec);
        this.rho.push(1 / sy);
        if (this.s.length > this.o.memory) {
          this.s.shift();
          this.y.shift();
          this.rho.shift();
        }
      }
      const fPrev = this.f;
      this.accept(f, g);
      this.iterations++;
      if (!this.done && fPrev - f <= this.o.relTol * Math.max(Math.abs(f), 1)) this.status = 'converged';
      if (!this.done && this.iterations >= this.o.maxIterations) this.status = 'max_iterations';
      if (this.done) return true;
      this.newDirection();
      this.step = 1;
      this.setTrial();
      return true;
    }
    // Backtrack: minimiser of the quadratic through f(0), f'(0) and f(step), kept in [0.1, 0.5]·step.
    this.backtracks++;
    const q = Number.isFinite(f) ? (-this.slope * this.step * this.step) / (2 * (f - this.f - this.slope * this.step)) : 0.1 * this.step;
    this.step = Math.min(0.5 * this.step, Math.max(0.1 * this.step, q));
    if (this.backtracks > MAX_BACKTRACKS) {
      this.status = 'line_search_failed';
      return false;
    }
    this.setTrial();
    return false;
  }

  private accept(f: number, g: Float64Array): void {
    this.x = Float64Array.from(this.trial);
    this.f = f;
    this.g = Float64Array.from(g);
    this.backtracks = 0;
    let gmax = 0;
    for (const v of g) gmax = Math.max(gmax, Math.abs(v));
    if (gmax < this.o.gradTol) this.status = 'converged';
  }

  /** dir = −H·g by the two-loop recursion, H₀ = (sᵀy / yᵀy)·I; falls back to −g if not descent. */
  private newDirection(): void {
    const q = Float64Array.from(this.g);
    const m = this.s.length;
    const alpha = new Array<number>(m);
    for (let i = m - 1; i >= 0; i--) {
      const a = (this.rho[i] as number) * dot(this.s[i] as Float64Array, q);
      alpha[i] = a;
      axpy(-a, this.y[i] as Float64Array, q);
    }
    if (m > 0) {
      const yl = this.y[m - 1] as Float64Array;
      scale(q, 1 / ((this.rho[m - 1] as number) * dot(yl, yl)));
    }
    for (let i = 0; i < m; i++) {
      const b = (this.rho[i] as number) * dot(this.y[i] as Float64Array, q);
      axpy((alpha[i] as number) - b, this.s[i] as Float64Array, q);
    }
    scale(q, -1);
    let slope = dot(q, this.g);
    if (!(slope < 0)) {
      this.s.length = 0;
      this.y.length = 0;
      this.rho.length = 0;
      for (let i = 0; i < q.length; i++) q[i] = -(this.g[i] as number);
      slope = dot(q, this.g);
    }
    this.dir = q;
    this.slope = slope;
  }

  private setTrial(): void {
    for (let i = 0; i < this.x.length; i++) this.trial[i] = (this.x[i] as number) + this.step * (this.dir[i] as number);
  }
}

function dot(a: Float64Array, b: Float64Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

function axpy(a: number, x: Float64Array, y: Float64Array): void {
  for (let i = 0; i < y.length; i++) y[i] = (y[i] as number) + a * (x[i] as number);
}

function scale(x: Float64Array, a: number): void {
  for (let i = 0; i < x.length; i++) x[i] = (x[i] as number) * a;
}

/** Minimises f with a plain (unbatched) evaluation function; for tests and small problems. */
export function minimize(fg: (x: Float64Array) => { f: number; g: Float64Array }, x0: Float64Array, opts: Partial<LbfgsOptions> = {}): Lbfgs {
  const opt = new Lbfgs(x0, opts);
  while (!opt.done) {
    const { f, g } = fg(opt.ask());
    opt.tell(f, g);
  }
  return opt;
}
