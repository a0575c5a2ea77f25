// Parameter inventory of the model: names and layouts of the reference PyTorch code
// (nanoGPT + hyper_conn), shapes, initial values (docs/model.md) and optimizer groups.
import { factorial } from '../engine/permutations.ts';
import { rngFor, type Rng } from '../engine/random.ts';
import { ownedVariable, tf, type Variable } from '../engine/tf.ts';
import { type ModelConfig, nModules } from './config.ts';
import { drawsReadStreams, streamWidth } from './stream-layout.ts';

export interface ParamSpec {
  name: string;
  shape: number[];
  init: (rng: Rng) => Float32Array;
  /** AdamW weight decay applies: the reference's rule, every parameter with two or more dimensions. */
  decay: boolean;
  /** False for fixed buffers such as the `noise` stream init. */
  trainable: boolean;
}

/** Model parameters by reference name; linear weights in PyTorch's [out, in] layout. */
export type Params = Map<string, Variable>;

/** The reference's `configure_optimizers`: a parameter decays iff it has two or more dimensions. */
export const decays = (shape: readonly number[]): boolean => shape.length >= 2;

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const fill = (shape: number[], v: number) => () => new Float32Array(size(shape)).fill(v);
const normal = (shape: number[], std: number) => (rng: Rng) => Float32Array.from({ length: size(shape) }, () => rng.normal() * std);

/** Module k (attention of layer l is 2l, its MLP 2l+1) and its name prefix. */
export function modulePrefix(layer: number, module: 'attn' | 'mlp'): string {
  return `transformer.h.${layer}.hc_${module}`;
}

export function branchPrefix(layer: number, module: 'attn' | 'mlp'): string {
  return `transformer.h.${layer}.branch_${module}`;
}

/** AltUp's per-block prediction (p, K×K) and correction (g, K) coefficients. */
export function altupPrefix(layer: number): string {
  return `transformer.h.${layer}.altup`;
}

/**
 * The stream each module reads at init, in forward order (attn 0, mlp 0, attn 1, ...). `random`
 * is the reference's behaviour (every module draws `randrange(n)`, as it never passes a layer
 * index), drawn here from the run's seed so that a run is reproducible; `modulo` is k mod n.
 */
export function readStreams(c: ModelConfig, seed: number): number[] {
  const rng = rngFor(seed, 'read-stream');
  return Array.from({ length: nModules(c) }, (_, k) => (c.readStream === 'modulo' ? k % c.nStreams : rng.int(c.nStreams)));
}

/** What a run records of its init read streams: none for kinds whose modules read no one stream. */
export function initReadStreams(c: ModelConfig, seed: number): number[] {
  return drawsReadStreams(c.connection.kind) ? readStreams(c, seed) : [];
}

/** `reads` overrides the drawn init read streams (one per module), e.g. to match another init. */
export function paramSpecs(c: ModelConfig, seed: number, reads: readonly number[] = readStreams(c, seed)): ParamSpec[] {
  const { vocabSize: V, blockSize, dModel: d, nLayers: L, bias } = c;
  const specs: ParamSpec[] = [];
  const add = (name: string, shape: number[], init: ParamSpec['init']) => specs.push({ name, shape, init, decay: decays(shape), trainable: true });
  const linear = (name: string, out: number, inp: number, std: number) => {
    add(`${name}.weight`, [out, inp], normal([out, inp], std));
    if (bias) add(`${name}.bias`, [out], fill([out], 0));
  };
  const layerNorm = (name: string) => {
    add(`${name}.weight`, [d], fill([d], 1));
    if (bias) add(`${name}.bias`, [d], fill([d], 0));
  };
  const projStd = 0.02 / Math.sqrt(2 * L); // GPT-2's scaled init of residual projections

  add('transformer.wte.weight', [V, d], normal([V, d], 0.02));
  add('transformer.wpe.weight', [blockSize, d], normal([blockSize, d], 0.02));
  streamInitSpecs(c).forEach((s) => specs.push(s));
  for (let l = 0; l < L; l++) {
    const attn = branchPrefix(l, 'attn');
    layerNorm(`${attn}.0`);
    linear(`${attn}.1.c_attn`, 3 * d, d, 0.02);
    linear(`${attn}.1.c_proj`, d, d, projStd);
    const mlp = branchPrefix(l, 'mlp');
    layerNorm(`${mlp}.0`);
    linear(`${mlp}.1.c_fc`, 4 * d, d, 0.02);
    linear(`${mlp}.1.c_proj`, d, 4 * d, projStd);
    for (const m of ['attn', 'mlp'] as const) {
      connectionSpecs(c, modulePrefix(l, m), reads[2 * l + (m === 'attn' ? 0 : 1)] as number).forEach((s) => specs.push(s));
    }
    if (c.connection.kind === 'altup') {
      // p = I, g = 1 (our choice): at init every sub-block receives the computed block's update.
      const K = c.nStreams;
      add(`${altupPrefix(l)}.prediction_coefs`, [K, K], () => Float32Array.from({ length: K * K }, (_, i) => (i % (K + 1) === 0 ? 1 : 0)));
      add(`${altupPrefix(l)}.correction_coefs`, [K], fill([K], 1));
    }
  }
  layerNorm('transformer.ln_f');
  return specs;
}

function streamInitSpecs(c: ModelConfig): ParamSpec[] {
  const { nStreams: n, dModel: d } = c;
  const s = c.streamInit;
  if (s.kind === 'lss') {
    const b = Math.sqrt(6 / (n + d)); // Xavier-uniform bound of an [n, d] matrix
    return [{ name: 'expand_stream.lss', shape: [n, d], init: (r) => Float32Array.from({ length: n * d }, () => s.center + (2 * r.next() - 1) * b), decay: decays([n, d]), trainable: true }];
  }
  if (s.kind === 'stream-embed') return [{ name: 'expand_stream.stream_embed', shape: [n, d], init: fill([n, d], 0), decay: decays([n, d]), trainable: true }];
  if (s.kind === 'noise') {
    // Stored as 1 + σ·ε so the forward is the same product as LSS, but never trained.
    return [{ name: 'expand_stream.noise', shape: [n, d], init: (r) => Float32Array.from({ length: n * d }, () => 1 + s.sigma * r.normal()), decay: false, trainable: false }];
  }
  return [];
}

function connectionSpecs(c: ModelConfig, p: string, read: number): ParamSpec[] {
  const { nStreams: n, dModel: d } = c;
  const conn = c.connection;
  const out: ParamSpec[] = [];
  const add = (name: string, shape: number[], init: ParamSpec['init']) =>
    out.push({ name: `${p}.${name}`, shape, init, decay: decays(shape), trainable: true });
  const oneAt = (len: number, at: number, on: number, off: number) => () =>
    Float32Array.from({ length: len }, (_, i) => (i === at ? on : off));
  if (conn.kind === 'residual' || conn.kind === 'post-norm' || conn.kind === 'residual-dual' || conn.kind === 'altup') return out;
  if (conn.kind === 'frac') {
    // [Γ | A] = [I | I], β = 1: each fraction feeds its own slot of the layer input and keeps
    // itself, so the module equals a Pre-Norm residual at init (docs/model.md, `frac`).
    const w = streamWidth(c);
    add('static_alpha', [n, 2 * n], () => Float32Array.from({ length: 2 * n * n }, (_, i) => (i % (2 * n)) % n === Math.floor(i / (2 * n)) ? 1 : 0));
    add('static_beta', [n], fill([n], 1));
    if (conn.dynamic) {
      add('norm.gamma', [w], fill([w], 0));
      add('dynamic_alpha_fn', [w, 2 * n], fill([w, 2 * n], 0));
      add('dynamic_alpha_scale', [], fill([], 0.01));
      add('dynamic_beta_fn', [w], fill([w], 0));
      add('dynamic_beta_scale', [], fill([], 0.01));
    }
    return out;
  }
  if (conn.kind === 'hc') {
    // [A_m | A_r]: read e_read, mixing identity — equal to pre-norm at init (HC paper).
    add('static_alpha', [n, n + 1], () => Float32Array.from({ length: n * (n + 1) }, (_, i) => {
      const s = Math.floor(i / (n + 1)), t = i % (n + 1);
      return t === 0 ? (s === read ? 1 : 0) : (t - 1 === s ? 1 : 0);
    }));
    add('static_beta', [n], fill([n], 1));
    if (conn.dynamic) {
      add('norm.gamma', [d], fill([d], 0));
      add('dynamic_alpha_fn', [d, n + 1], fill([d, n + 1], 0));
      add('dynamic_alpha_scale', [], fill([], 0.01));
      add('dynamic_beta_fn', [d], fill([d], 0));
      add('dynamic_beta_scale', [], fill([], 0.01));
    }
    return out;
  }
  add('norm.gamma', [n * d], fill([n * d], 0));
  if (conn.kind === 'mhc') {
    // Read logits ±1 (σ picks the read stream), mixing logits 0 on the diagonal, −8 off: A_r ≈ I.
    add('static_alpha', [n, n + 1], () => Float32Array.from({ length: n * (n + 1) }, (_, i) => {
      const s = Math.floor(i / (n + 1)), t = i % (n + 1);
      return t === 0 ? (s === read ? 1 : -1) : (t - 1 === s ? 0 : -8);
    }));
    add('dynamic_alpha_fn', [n * d, n * (n + 1)], fill([n * d, n * (n + 1)], 0));
  } else {
    const nPerm = factorial(n);
    // [read logits (n) | permutation logits (n!)], identity permutation first at 0, others −8.
    add('static_alpha', [n + nPerm], () => Float32Array.from({ length: n + nPerm }, (_, i) =>
      i < n ? (i === read ? 1 : -1) : i === n ? 0 : -8));
    add('dynamic_alpha_fn', [n * d, n + nPerm], fill([n * d, n + nPerm], 0));
  }
  add('pre_branch_scale', [1], fill([1], 0.01));
  add('residual_scale', [1], fill([1], 0.01));
  add('static_beta', [n], oneAt(n, read, 1, -1));
  add('dynamic_beta_fn', [n * d, n], fill([n * d, n], 0));
  add('h_post_scale', [], fill([], 0.01));
  return out;
}

/** Fresh parameters, deterministic in `seed` on every backend. */
export function initParams(c: ModelConfig, seed: number): Params {
  const params: Params = new Map();
  for (const spec of paramSpecs(c, seed)) {
    const values = spec.init(rngFor(seed, spec.name));
    params.set(spec.name, ownedVariable(tf.tensor(values, spec.shape, 'float32'), spec.trainable));
  }
  return params;
}

export function disposeParams(params: Params): void {
  for (const v of params.values()) v.dispose();
}

export function param(params: Params, name: string): Variable {
  const v = params.get(name);
  if (!v) throw new Error(`model has no parameter ${name}`);
  return v;
}
