// AdamW with PyTorch's update order (decoupled decay first, bias-corrected step) and two
// groups: decay on ≥2-D weights and LSS scales, none on biases, norms and static HC parameters.
import { assignValues, ownedVariable, tf, type Tensor, type Variable } from '../engine/tf.ts';
import { clipCoefficient, type InPlaceParam } from '../engine/adamw-in-place.ts';
import { adamwInPlace, ownsHeapBuffer, wasmKernelsActive } from '../engine/wasm/tfjs-kernels.ts';
import { fusedBackend, ownsBuffer } from '../engine/webgpu-raw.ts';
import type { ParamSpec, Params } from '../model/params.ts';
import { WebgpuAdamW } from './adamw-webgpu.ts';

export interface AdamWConfig {
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

export interface OptimizerGroups {
  decay: string[];
  noDecay: string[];
}

export function optimizerGroups(params: Params, specs: ParamSpec[]): OptimizerGroups {
  const decaying = new Set(specs.filter((s) => s.decay).map((s) => s.name));
  const trainable = [...params.entries()].filter(([, v]) => v.trainable).map(([n]) => n);
  return { decay: trainable.filter((n) => decaying.has(n)), noDecay: trainable.filter((n) => !decaying.has(n)) };
}

export class AdamW {
  /** Number of updates taken; bias correction uses it. */
  t = 0;
  private readonly m = new Map<string, Variable>();
  private readonly v = new Map<string, Variable>();
  private readonly decay: Set<string>;

  constructor(
    private readonly params: Params,
    readonly groups: OptimizerGroups,
    private readonly cfg: AdamWConfig,
  ) {
    this.decay = new Set(groups.decay);
    for (const name of [...groups.decay, ...groups.noDecay]) {
      const p = params.get(name) as Variable;
      this.m.set(name, ownedVariable(tf.zerosLike(p), false));
      this.v.set(name, ownedVariable(tf.zerosLike(p), false));
    }
  }

  /**
   * Clips the gradients to a global norm of `maxNorm` (0: no clipping), applies one update and
   * returns the norm before clipping. On webgpu the fused programs of adamw-webgpu.ts do both
   * (HCPROBE_FUSED=0 turns them off), on wasm our kernels in place (the same float32 operations
   * as step's); elsewhere tfjs ops do, as clipByGlobalNorm and step.
   */
  clipAndStep(grads: Map<string, Tensor>, lr: number, maxNorm: number): number {
    const gpu = fusedBackend();
    const inPlace = wasmKernelsActive() ? this.inPlaceParams(grads, ownsHeapBuffer) : gpu ? this.inPlaceParams(grads, (t) => ownsBuffer(gpu, t)) : undefined;
    this.lastStepFused = inPlace !== undefined && gpu !== undefined;
    if (inPlace) {
      this.t++;
      const { beta1, beta2, eps, weightDecay } = this.cfg;
      const scalars = { lr, beta1, beta2, eps, weightDecay, bc1: 1 - beta1 ** this.t, bc2: 1 - beta2 ** this.t, maxNorm };
      if (gpu) {
        this.fused ??= new WebgpuAdamW(gpu);
        return this.fused.step(inPlace, scalars);
      }
      return adamwInPlace(inPlace, scalars);
    }
    const clipped = clipByGlobalNorm(grads, maxNorm);
    this.step(clipped.grads, lr);
    for (const [name, g] of clipped.grads) if (grads.get(name) !== g) g.dispose();
    return clipped.norm;
  }

  /** Whether the last clipAndStep ran the fused webgpu programs. */
  lastStepFused = false;
  private fused: WebgpuAdamW | undefined;

  /**
   * The operands of an update in place, or undefined when one cannot run: it needs sole
   * ownership of every p, m and v (`owns`; a clone shares the buffer) and float32 gradients.
   */
  private inPlaceParams(grads: ReadonlyMap<string, Tensor>, owns: (t: Tensor) => boolean): InPlaceParam[] | undefined {
    const params: InPlaceParam[] = [];
    for (const [name, m] of this.m) {
      const g = grads.get(name);
      if (!g) continue;
      const p = this.params.get(name) as Variable;
      const v = this.v.get(name) as Variable;
      if (![p, m, v].every(owns) || g.dtype !== 'float32') return undefined;
      params.push({ p, m, v, g, decay: this.decay.has(name) });
    }
    return params;
  }

  /** One update with already-clipped gradients. */
  step(grads: ReadonlyMap<string, Tensor>, lr: number): void {
    this.t++;
    const { beta1, beta2, eps, weightDecay } = this.cfg;
    const bc1 = 1 - beta1 ** this.t;
    const bc2 = 1 - beta2 ** this.t;
    for (const [name, m] of this.m) {
      const g = grads.get(name);
      if (!g) continue;
      const p = this.params.get(name) as Variable;
      const v = this.v.get(name) as Variable;
      tf.tidy(() => {
        const decayed = this.decay.has(name) ? tf.mul(p, 1 - lr * weightDecay) : p;
        m.assign(tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1)));
        v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2)));
        const denom = tf.add(tf.div(tf.sqrt(v), Math.sqrt(bc2)), eps);
        p.assign(tf.sub(decayed, tf.mul(tf.div(m, denom), lr / bc1)));
      });
    }
  }

  /** The first and second moments by parameter name. */
  moments(): { m: Map<string, Float32Array>; v: Map<string, Float32Array> } {
    const read = (x: Map<string, Variable>) => new Map([...x].map(([name, t]) => [name, t.dataSync() as Float32Array]));
    return { m: read(this.m), v: read(this.v) };
  }

  /** Sets the update count and both moments of every parameter (a resumed run, the WebGPU engine's state). */
  setMoments(t: number, m: ReadonlyMap<string, ArrayLike<number>>, v: ReadonlyMap<string, ArrayLike<number>>, source: string): void {
    this.t = t;
    for (const [name, mt] of this.m) {
      for (const [kind, target, saved] of [['m', mt, m.get(name)], ['v', this.v.get(name) as Variable, v.get(name)]] as const) {
        if (!saved || saved.length !== target.size) throw new Error(`${source}: optimizer state ${kind} of ${name} is missing or has the wrong size`);
        assignValues(target, Float32Array.from(saved));
      }
    }
  }

  /** Moments by checkpoint tensor name (optimizer.m.NAME, optimizer.v.NAME). */
  state(): Map<string, { shape: number[]; data: Float32Array }> {
    const { m, v } = this.moments();
    const out = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [name, x] of m) {
      const shape = (this.m.get(name) as Variable).shape;
      out.set(`optimizer.m.${name}`, { shape, data: x });
      out.set(`optimizer.v.${name}`, { shape, data: v.get(name) as Float32Array });
    }
    return out;
  }

  /** The moments of a checkpoint's tensors (state()'s names). */
  load(t: number, tensors: ReadonlyMap<string, { data: Float32Array | Int32Array }>, source: string): void {
    const of = (kind: 'm' | 'v') => new Map([...this.m.keys()].flatMap((name) => {
      const saved = tensors.get(`optimizer.${kind}.${name}`);
      return saved ? [[name, saved.data] as const] : [];
    }));
    this.setMoments(t, of('m'), of('v'), source);
  }

  dispose(): void {
    for (const x of [...this.m.values(), ...this.v.values()]) x.dispose();
    this.fused?.dispose();
  }
}

/** Global L2 norm of the gradients and, when above `maxNorm`, the scaled-down gradients. */
export function clipByGlobalNorm(grads: Map<string, Tensor>, maxNorm: number): { norm: number; grads: Map<string, Tensor> } {
  const norm = Math.sqrt(tf.tidy(() => tf.addN([...grads.values()].map((g) => tf.sum(tf.square(g)))).dataSync()[0] as number));
  if (maxNorm <= 0 || norm <= maxNorm) return { norm, grads };
  const coef = clipCoefficient(norm, maxNorm);
  const clipped = new Map<string, Tensor>();
  for (const [name, g] of grads) {
    clipped.set(name, tf.mul(g, coef));
    g.dispose();
  }
  return { norm, grads: clipped };
}
