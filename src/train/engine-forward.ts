// The forward pass of the model as one recorded program of the WebGPU engine (docs/engine.md),
// from token ids to logits: the engine's kernels composed into the model. It covers `residual`
// (a GPT-2 with Pre-Norm) and the HC family, `hc` (static or dynamic, RMS or gain-LayerNorm),
// `mhc` and `mhc-lite`, with every stream init; its parity test compares the logits with the tfjs
// model's `forward`. Per HC module: the normed projection to the coefficients (one GEMM over the
// weights packed side by side, [W_α | W_β], as the tfjs model computes it), the coefficient kernel,
// the width connection, the branch, and c_proj whose epilogue writes the depth connection.
//
// Arenas: `params` (every trainable parameter by its name, in the optimizer's layout: decay group
// first), `constants` (fixed buffers) and `acts` (the ids,
// each module's packed [W_α | W_β], and every activation by a path like `0.attn.qkv`: what the
// backward reads).
/// <reference types="@webgpu/types" />
import { recordAttentionForward } from '../engine/program/attention.ts';
import type { CoefficientSmall } from '../engine/program/coefficient-small.ts';
import { recordEmbeddingForward, type StreamExpansion } from '../engine/program/embedding.ts';
import { recordGemm } from '../engine/program/gemm.ts';
import { GpuArena, type SliceSpec } from '../engine/program/gpu-arena.ts';
import { type OptimizerLayout, optimizerLayout } from '../engine/program/optimizer-layout.ts';
import { recordHcCoefficientsForward } from '../engine/program/hc-coefficients.ts';
import { recordMhcCoefficientsForward } from '../engine/program/mhc-coefficients.ts';
import { recordMhcLiteCoefficientsForward } from '../engine/program/mhc-lite-coefficients.ts';
import { recordNormForward } from '../engine/program/norm.ts';
import { recordPackColumns } from '../engine/program/pack-columns.ts';
import { StepProgram } from '../engine/program/step-program.ts';
import { recordStreamSumForward } from '../engine/program/stream-sum.ts';
import { recordWidthForward } from '../engine/program/width-connection.ts';
import { factorial } from '../engine/permutations.ts';
import { ConfigError } from '../errors.ts';
import type { ModelConfig } from '../model/config.ts';
import { parseHookName } from '../model/hooks.ts';
import { branchPrefix, modulePrefix, type Params, paramSpecs } from '../model/params.ts';

/** The connection kinds the engine's kernels cover. */
export const ENGINE_KINDS: readonly string[] = ['residual', 'hc', 'mhc', 'mhc-lite'];
const INIT_PARAM: Record<StreamExpansion, string> = { copy: '', lss: 'expand_stream.lss', noise: 'expand_stream.noise', 'stream-embed': 'expand_stream.stream_embed' };

/** The shapes a model's forward and backward programs share. */
export interface EngineDims {
  BT: number;
  d: number;
  V: number;
  n: number;
  /** Any HC kind (not residual). */
  hc: boolean;
  /** The coefficients come from a normed projection (mhc, mhc-lite, dynamic hc). */
  dynamic: boolean;
  /** Rows and width of the projection's normed input: per stream (hc) or per token (mhc, mhc-lite). */
  projRows: number;
  projK: number;
  /** Columns of W_α and W_β in the packed [W_α | W_β]. */
  alphaCols: number;
  betaCols: number;
  expansion: StreamExpansion;
  /** The stream-init parameter's name ('' for copy). */
  streamParam: string;
}

export function engineDims(c: ModelConfig, batch: number, seqLen: number): EngineDims {
  const kind = c.connection.kind;
  if (!ENGINE_KINDS.includes(kind)) throw new ConfigError(`the WebGPU engine covers ${ENGINE_KINDS.join(', ')} so far, not ${kind}`);
  if (seqLen > c.blockSize) throw new ConfigError(`sequence of ${seqLen} tokens is longer than the block size ${c.blockSize}`);
  const n = c.nStreams;
  const BT = batch * seqLen;
  const perStream = kind === 'hc';
  const expansion: StreamExpansion = c.streamInit.kind;
  return {
    BT,
    d: c.dModel,
    V: c.vocabSize,
    n,
    hc: kind !== 'residual',
    dynamic: kind === 'mhc' || kind === 'mhc-lite' || (c.connection.kind === 'hc' && c.connection.dynamic),
    projRows: perStream ? BT * n : BT,
    projK: perStream ? c.dModel : n * c.dModel,
    alphaCols: kind === 'hc' ? n + 1 : kind === 'mhc' ? n * (n + 1) : n + factorial(n),
    betaCols: kind === 'hc' ? 1 : n,
    expansion,
    streamParam: INIT_PARAM[expansion],
  };
}

/** Integers as u32 bit patterns in a Float32Array, as the f32 arenas carry ids, targets and sorts. */
export function u32Floats(x: ArrayLike<number>): Float32Array {
  const u = x instanceof Uint32Array ? x : Uint32Array.from(x);
  return new Float32Array(u.buffer, u.byteOffset, u.length);
}

export class EngineForward {
  private constructor(
    readonly program: StepProgram,
    /** The trainable parameters, laid out for AdamW (decay group first: `optimizer`). */
    readonly params: GpuArena,
    /** Fixed buffers (the `noise` stream init); absent when the model has none. */
    private readonly constants: GpuArena | undefined,
    readonly optimizer: OptimizerLayout,
    readonly acts: GpuArena,
    private readonly tokens: number,
    /** The program's model and shape, for a backward recorded over the same arenas (engine-backward.ts). */
    readonly shape: { config: ModelConfig; batch: number; seqLen: number; dims: EngineDims },
  ) {}

  /**
   * Records the forward for `batch` sequences of `seqLen` tokens and uploads the parameters (read
   * from the tfjs tensors once). Call `run` with each batch of ids.
   */
  static build(device: GPUDevice, c: ModelConfig, params: Params, batch: number, seqLen: number): EngineForward {
    const dims = engineDims(c, batch, seqLen);
    const { BT, d, V, n, hc, dynamic, projRows, projK, alphaCols, betaCols, expansion, streamParam } = dims;
    // the params arena is the optimizer's layout (decay group first), fixed buffers in their own
    const optimizer = optimizerLayout(paramSpecs(c, 0), device.limits.minStorageBufferOffsetAlignment);
    const paramArena = new GpuArena(device, 'params', optimizer.slices);
    const constants = optimizer.constants.length > 0 ? new GpuArena(device, 'constants', optimizer.constants) : undefined;
    const trainable = new Set(optimizer.slices.map((sl) => sl.name));
    for (const [name, v] of params) {
      const arena = trainable.has(name) ? paramArena : constants;
      if (!arena) throw new Error(`engine: parameter ${name} is not in the model's parameter list`);
      arena.write(name, v.dataSync() as Float32Array);
    }
    const slices: SliceSpec[] = [
      { name: 'ids', length: BT },
      { name: 'ones', length: BT * n },
      { name: 'h', length: BT * n * d },
    ];
    for (let l = 0; l < c.nLayers; l++) {
      for (const m of hc ? ['attn', 'mlp'] : []) {
        // the packed weights, the normed input and the projection exist only for dynamic coefficients
        if (dynamic) {
          slices.push(
            { name: `${l}.${m}.w`, length: projK * (alphaCols + betaCols) },
            { name: `${l}.${m}.normed`, length: projRows * projK },
            { name: `${l}.${m}.norm_stats`, length: 2 * projRows },
            { name: `${l}.${m}.proj`, length: projRows * (alphaCols + betaCols) },
          );
        }
        slices.push(
          { name: `${l}.${m}.alpha`, length: BT * n * (n + 1) },
          { name: `${l}.${m}.beta`, length: BT * n },
          { name: `${l}.${m}.x`, length: BT * d },
          { name: `${l}.${m}.hm`, length: BT * n * d },
        );
      }
      slices.push(
        { name: `${l}.attn.xn`, length: BT * d },
        { name: `${l}.attn.stats`, length: 2 * BT },
        { name: `${l}.attn.qkv`, length: BT * 3 * d },
        { name: `${l}.attn.o`, length: BT * d },
        { name: `${l}.attn.lse`, length: batch * c.nHeads * seqLen },
        { name: `${l}.attn.y`, length: BT * d },
        { name: `${l}.mid`, length: BT * n * d },
        { name: `${l}.mlp.xn`, length: BT * d },
        { name: `${l}.mlp.stats`, length: 2 * BT },
        { name: `${l}.mlp.u`, length: BT * 4 * d },
        { name: `${l}.mlp.h`, length: BT * 4 * d },
        { name: `${l}.mlp.y`, length: BT * d },
        { name: `${l}.post`, length: BT * n * d },
      );
    }
    slices.push({ name: 'ln_f.y', length: BT * n * d }, { name: 'ln_f.stats', length: 2 * BT * n }, { name: 'xf', length: BT * d }, { name: 'logits', length: BT * V });
    const acts = new GpuArena(device, 'acts', slices);
    acts.write('ones', new Float32Array(BT * n).fill(1));
    const program = new StepProgram(device);
    const p = (name: string) => (trainable.has(name) ? paramArena : (constants as GpuArena)).binding(name);
    const a = (name: string) => acts.binding(name);
    const has = (name: string) => params.has(name);
    recordEmbeddingForward(program, 'embed', { batch, seqLen, vocab: V, dModel: d, nStreams: n, expansion }, { ids: a('ids'), wte: p('transformer.wte.weight'), wpe: p('transformer.wpe.weight'), streams: streamParam ? p(streamParam) : a('ones'), out: a('h') });
    const layerNorm = (label: string, prefix: string, x: string, y: string, stats: string, rows = BT) =>
      recordNormForward(program, label, { kind: 'layer', rows, cols: d, bias: has(`${prefix}.bias`) }, { x: a(x), w: p(`${prefix}.weight`), ...(has(`${prefix}.bias`) ? { b: p(`${prefix}.bias`) } : {}), y: a(y), stats: a(stats) });
    /** y = x Wᵀ (+ b) for a Linear stored [out, in]; `extra` carries the epilogue's spec and bindings. */
    const linear = (label: string, name: string, x: string, y: string, M: number, K: number, N: number, extra: { spec?: object; ops?: object } = {}) =>
      recordGemm(program, label, { transA: false, transB: true, M, N, K, bias: has(`${name}.bias`), ...extra.spec }, { a: a(x), b: p(`${name}.weight`), c: a(y), ...(has(`${name}.bias`) ? { bias: p(`${name}.bias`) } : {}), ...extra.ops });
    /**
     * An HC module's coefficients and width connection from H: A_m, A_r and B into `.alpha` and
     * `.beta`, the branch input into `.x`, the mixed streams into `.hm`.
     */
    const connectionIn = (l: number, m: 'attn' | 'mlp', H: string) => {
      const prefix = modulePrefix(l, m);
      const at = (what: string) => a(`${l}.${m}.${what}`);
      const conn = c.connection;
      if (dynamic) {
        const normKind = conn.kind === 'hc' && conn.dynamicNorm === 'layer' ? 'gain' : 'rms';
        recordNormForward(program, `${l}.${m}.coeff norm`, { kind: normKind, rows: projRows, cols: projK }, { x: a(H), w: p(`${prefix}.norm.gamma`), y: at('normed'), stats: at('norm_stats') });
        recordPackColumns(program, `${l}.${m}.pack W`, { rows: projK, aCols: alphaCols, bCols: betaCols }, 'pack', { a: p(`${prefix}.dynamic_alpha_fn`), b: p(`${prefix}.dynamic_beta_fn`), packed: at('w') });
        recordGemm(program, `${l}.${m}.coeff proj`, { transA: false, transB: false, M: projRows, N: alphaCols + betaCols, K: projK }, { a: at('normed'), b: at('w'), c: at('proj') });
      }
      const small = (): CoefficientSmall => ({ preBranchScale: p(`${prefix}.pre_branch_scale`), residualScale: p(`${prefix}.residual_scale`), hPostScale: p(`${prefix}.h_post_scale`), staticAlpha: p(`${prefix}.static_alpha`), staticBeta: p(`${prefix}.static_beta`) });
      if (conn.kind === 'hc') {
        const scales = dynamic ? { proj: at('proj'), alphaScale: p(`${prefix}.dynamic_alpha_scale`), betaScale: p(`${prefix}.dynamic_beta_scale`) } : {};
        recordHcCoefficientsForward(program, `${l}.${m}.coeff`, { tokens: BT, nStreams: n, dynamic }, { ...scales, staticAlpha: p(`${prefix}.static_alpha`), staticBeta: p(`${prefix}.static_beta`), alpha: at('alpha'), beta: at('beta') });
      } else if (conn.kind === 'mhc') {
        recordMhcCoefficientsForward(program, `${l}.${m}.coeff`, { tokens: BT, nStreams: n, sinkhornIters: conn.sinkhornIters }, { proj: at('proj'), small: small(), alpha: at('alpha'), beta: at('beta') });
      } else {
        recordMhcLiteCoefficientsForward(program, `${l}.${m}.coeff`, { tokens: BT, nStreams: n }, { proj: at('proj'), small: small(), alpha: at('alpha'), beta: at('beta') });
      }
      recordWidthForward(program, `${l}.${m}.width`, { tokens: BT, nStreams: n, dModel: d }, { h: a(H), alpha: at('alpha'), x: at('x'), hm: at('hm') });
    };
    let stream = 'h';
    for (let l = 0; l < c.nLayers; l++) {
      const attn = branchPrefix(l, 'attn');
      if (hc) connectionIn(l, 'attn', stream);
      layerNorm(`${l}.attn.ln`, `${attn}.0`, hc ? `${l}.attn.x` : stream, `${l}.attn.xn`, `${l}.attn.stats`);
      linear(`${l}.c_attn`, `${attn}.1.c_attn`, `${l}.attn.xn`, `${l}.attn.qkv`, BT, d, 3 * d);
      recordAttentionForward(program, `${l}.attn`, { batch, seqLen, nHeads: c.nHeads, headDim: d / c.nHeads }, { qkv: a(`${l}.attn.qkv`), o: a(`${l}.attn.o`), lse: a(`${l}.attn.lse`) });
      // c_proj's epilogue writes the depth connection Ĥ = H' + B⊗y; for residual, H' = H, B = 1
      const depth = (m: 'attn' | 'mlp', from: string, to: string) => ({
        spec: { depth: { nStreams: n } },
        ops: hc ? { streamsIn: a(`${l}.${m}.hm`), write: a(`${l}.${m}.beta`), streamsOut: a(to) } : { streamsIn: a(from), write: a('ones'), streamsOut: a(to) },
      });
      linear(`${l}.attn.c_proj`, `${attn}.1.c_proj`, `${l}.attn.o`, `${l}.attn.y`, BT, d, d, depth('attn', stream, `${l}.mid`));
      const mlp = branchPrefix(l, 'mlp');
      if (hc) connectionIn(l, 'mlp', `${l}.mid`);
      layerNorm(`${l}.mlp.ln`, `${mlp}.0`, hc ? `${l}.mlp.x` : `${l}.mid`, `${l}.mlp.xn`, `${l}.mlp.stats`);
      linear(`${l}.c_fc`, `${mlp}.1.c_fc`, `${l}.mlp.xn`, `${l}.mlp.h`, BT, d, 4 * d, { spec: { activation: 'gelu' }, ops: { pre: a(`${l}.mlp.u`) } });
      linear(`${l}.mlp.c_proj`, `${mlp}.1.c_proj`, `${l}.mlp.h`, `${l}.mlp.y`, BT, 4 * d, d, depth('mlp', `${l}.mid`, `${l}.post`));
      stream = `${l}.post`;
    }
    // readout: ln_f per stream, then the sum over streams
    layerNorm('ln_f', 'transformer.ln_f', stream, 'ln_f.y', 'ln_f.stats', BT * n);
    recordStreamSumForward(program, 'stream sum', { tokens: BT, nStreams: n, dModel: d }, { y: a('ln_f.y'), xf: a('xf') });
    recordGemm(program, 'logits', { transA: false, transB: true, M: BT, N: V, K: d }, { a: a('xf'), b: p('transformer.wte.weight'), c: a('logits') });
    return new EngineForward(program, paramArena, constants, optimizer, acts, BT, { config: c, batch, seqLen, dims });
  }

  /** A parameter's binding, trainable or fixed. */
  param(name: string): GPUBufferBinding {
    return this.optimizer.slices.some((sl) => sl.name === name) ? this.params.binding(name) : (this.constants as GpuArena).binding(name);
  }

  /** Writes the ids (B·T of them, row-major as the batch) for the next run. */
  setIds(ids: Int32Array): void {
    if (ids.length !== this.tokens) throw new Error(`engine forward: ${ids.length} ids for a program of ${this.tokens} tokens`);
    this.acts.write('ids', u32Floats(ids));
  }

  /**
   * The forward's values at hook sites (src/model/hooks.ts names), in runWithCache's layouts, for
   * the last run: every site the forward keeps anyway (resid_pre/mid/post, branch_in/out, read,
   * mixing, write, ln_final); undefined for a name it does not keep (embed, pos_embed,
   * mixing_logits, one stream of a site), so that the caller can fall back to tfjs.
   */
  async hookValues(names: readonly string[]): Promise<Map<string, Float32Array> | undefined> {
    const { n, hc, BT } = this.shape.dims;
    const plan: { name: string; slice: string; pick?: (x: Float32Array) => Float32Array }[] = [];
    for (const name of names) {
      const site = parseHookName(name);
      if (!site || ('stream' in site && site.stream !== undefined)) return undefined;
      const at = (l: number, m: string, what: string) => `${l}.${m}.${what}`;
      if (site.kind === 'resid_pre') plan.push({ name, slice: site.layer === 0 ? 'h' : `${site.layer - 1}.post` });
      else if (site.kind === 'resid_mid') plan.push({ name, slice: `${site.layer}.mid` });
      else if (site.kind === 'resid_post') plan.push({ name, slice: `${site.layer}.post` });
      else if (site.kind === 'ln_final') plan.push({ name, slice: 'ln_f.y' });
      else if (site.kind === 'branch_out') plan.push({ name, slice: at(site.layer, site.module, 'y') });
      else if (site.kind === 'branch_in') plan.push({ name, slice: hc ? at(site.layer, site.module, 'x') : site.module === 'attn' ? (site.layer === 0 ? 'h' : `${site.layer - 1}.post`) : `${site.layer}.mid` });
      else if (hc && site.kind === 'write') plan.push({ name, slice: at(site.layer, site.module, 'beta') });
      else if (hc && (site.kind === 'read' || site.kind === 'mixing')) {
        // alpha is [BT, n, n+1]: A_m[s], then A_r[s, ·]
        const cols = site.kind === 'read' ? 1 : n;
        const from = site.kind === 'read' ? 0 : 1;
        plan.push({
          name,
          slice: at(site.layer, site.module, 'alpha'),
          pick: (x) => {
            const out = new Float32Array(BT * n * cols);
            for (let r = 0; r < BT * n; r++) out.set(x.subarray(r * (n + 1) + from, r * (n + 1) + from + cols), r * cols);
            return out;
          },
        });
      } else return undefined;
    }
    const values = await this.acts.read(plan.map((p) => p.slice));
    return new Map(plan.map((p, i) => [p.name, p.pick ? p.pick(values[i] as Float32Array) : (values[i] as Float32Array)]));
  }

  /** Logits [B·T, V] for the ids. */
  async run(ids: Int32Array): Promise<Float32Array> {
    this.setIds(ids);
    this.program.run();
    const [logits] = await this.acts.read(['logits']);
    return logits as Float32Array;
  }

  destroy(): void {
    this.params.destroy();
    this.constants?.destroy();
    this.acts.destroy();
  }
}
