// The backward pass of the engine's recorded forward (engine-forward.ts): the mean next-token
// cross-entropy, then the gradient of every parameter into a `grads` arena laid out like `params`
// (one slice per tensor of the model). It reads what the forward
// kept in `acts` and writes its own temporaries to `back`. The streams' gradient runs through
// `dstream.0` and `dstream.1`: for residual one buffer that each c_proj reads as its upstream
// gradient and each LayerNorm's backward adds into; for the HC kinds, each module reads dĤ from one
// and writes dH (the width connection's, plus the coefficient norm's) into the other.
// Parity test: the gradients of the tfjs model's loss (test/train/engine-backward-webgpu.test.ts).
/// <reference types="@webgpu/types" />
import { recordAttentionBackward } from '../engine/program/attention.ts';
import type { CoefficientSmall } from '../engine/program/coefficient-small.ts';
import { recordColumnSum } from '../engine/program/column-sum.ts';
import { recordCrossEntropy } from '../engine/program/cross-entropy.ts';
import { recordDepthBackward } from '../engine/program/depth-connection.ts';
import { embeddingIndex, recordEmbeddingBackward } from '../engine/program/embedding.ts';
import { recordGemm } from '../engine/program/gemm.ts';
import { GpuArena } from '../engine/program/gpu-arena.ts';
import { recordHcCoefficientsBackward } from '../engine/program/hc-coefficients.ts';
import { recordMhcCoefficientsBackward } from '../engine/program/mhc-coefficients.ts';
import { recordMhcLiteCoefficientsBackward } from '../engine/program/mhc-lite-coefficients.ts';
import { recordNormBackward } from '../engine/program/norm.ts';
import { recordPackColumns } from '../engine/program/pack-columns.ts';
import { StepProgram } from '../engine/program/step-program.ts';
import { recordStreamSumBackward } from '../engine/program/stream-sum.ts';
import { tokenSumChunks } from '../engine/program/token-sums.ts';
import { recordWidthBackward } from '../engine/program/width-connection.ts';
import { branchPrefix, modulePrefix } from '../model/params.ts';
import { type EngineForward, u32Floats } from './engine-forward.ts';

/** A batch as the programs read it: u32 ids, targets and the ids' counting sort, as f32 bit patterns for the arenas. */
export interface BatchUpload {
  ids: Float32Array;
  targets: Float32Array;
  order: Float32Array;
  starts: Float32Array;
}

/** Checks a batch against the vocabulary and packs it for upload (embeddingIndex sorts the ids for dwte). */
export function batchUpload(ids: Int32Array, targets: Int32Array, vocab: number): BatchUpload {
  if (targets.length !== ids.length) throw new Error(`engine: ${targets.length} targets for ${ids.length} ids`);
  for (const t of targets) if (!Number.isInteger(t) || t < 0 || t >= vocab) throw new Error(`engine: target ${t} is outside the vocabulary of ${vocab}`);
  const { order, starts } = embeddingIndex(ids, vocab);
  return { ids: u32Floats(ids), targets: u32Floats(targets), order: u32Floats(order), starts: u32Floats(starts) };
}

export class EngineBackward {
  private constructor(
    readonly program: StepProgram,
    readonly grads: GpuArena,
    private readonly back: GpuArena,
    private readonly forward: EngineForward,
  ) {}

  /**
   * `lossScale` multiplies the per-token losses' gradient (default 1/(B·T), the mean's; a step
   * accumulating k micro-batches passes 1/(k·B·T)).
   */
  static build(forward: EngineForward, lossScale?: number): EngineBackward {
    const { config: c, batch, seqLen, dims } = forward.shape;
    const { BT, d, V, n, hc, dynamic, projRows, projK, alphaCols, betaCols, expansion, streamParam } = dims;
    const device = forward.params.device;
    const kind = c.connection.kind;
    // per-token contributions of mhc and mhc-lite: three scales, α₀ (α's width) and β₀
    const smallWidth = kind === 'mhc' || kind === 'mhc-lite' ? alphaCols : 0;
    const K = 3 + smallWidth + n;
    const chunks = tokenSumChunks(BT);
    const grads = new GpuArena(device, 'grads', forward.params.layout.slices.map((sl) => ({ name: sl.name, length: sl.length })));
    const back = new GpuArena(device, 'back', [
      { name: 'targets', length: BT },
      { name: 'order', length: BT },
      { name: 'starts', length: V + 1 },
      { name: 'losses', length: BT },
      { name: 'dxf', length: BT * d },
      { name: 'dY', length: BT * n * d },
      { name: 'dstream.0', length: BT * n * d },
      { name: 'dstream.1', length: BT * n * d },
      { name: 'dxn', length: BT * d },
      { name: 'dx', length: BT * d },
      { name: 'dy', length: BT * d },
      { name: 'dwide', length: BT * 4 * d },
      { name: 'dqkv', length: BT * 3 * d },
      { name: 'do', length: BT * d },
      { name: 'drow', length: batch * c.nHeads * seqLen },
      { name: 'dh', length: BT * d },
      { name: 'prod', length: BT * n * d },
      { name: 'dalpha', length: BT * n * (n + 1) },
      { name: 'dbeta', length: BT * n },
      // the coefficient kernels bind dalpha with dbeta, and dproj with contrib, as one binding each
      { name: 'dproj', length: projRows * (alphaCols + betaCols) },
      { name: 'contrib', length: BT * K },
      { name: 'dnormed', length: projRows * projK },
      { name: 'dw', length: projK * (alphaCols + betaCols) },
      { name: 'partial', length: Math.max(chunks * K, 2 * BT) },
      // the norms' parameter gradients over row chunks (norm.ts: at most 64 chunks, 2 sums per column)
      { name: 'normPartial', length: 2 * 64 * Math.max(d, projK) },
    ]);
    const program = new StepProgram(device);
    const p = (name: string) => forward.param(name);
    const g = (name: string) => grads.binding(name);
    const a = (name: string) => forward.acts.binding(name);
    const b = (name: string) => back.binding(name);
    const has = (name: string) => forward.params.layout.slices.some((sl) => sl.name === name);
    // the loss: per-token cross-entropy; the logits become (softmax − onehot)·lossScale in place
    recordCrossEntropy(program, 'loss', { rows: BT, vocab: V, scale: lossScale ?? 1 / BT }, { logits: a('logits'), targets: b('targets'), losses: b('losses') });
    // logits = x_f wteᵀ: dx_f = dlogits wte, dwte = dlogitsᵀ x_f (the embedding adds its part later)
    recordGemm(program, 'dxf', { transA: false, transB: false, M: BT, N: d, K: V }, { a: a('logits'), b: p('transformer.wte.weight'), c: b('dxf') });
    recordGemm(program, 'dwte', { transA: true, transB: false, M: V, N: d, K: BT }, { a: a('logits'), b: a('xf'), c: g('transformer.wte.weight') });
    // x_f = Σ_s ln_f(H_s): every stream's ln_f output gets dx_f; ln_f's backward writes dH
    recordStreamSumBackward(program, 'stream sum', { tokens: BT, nStreams: n, dModel: d }, { dxf: b('dxf'), dy: b('dY') });
    const normBack = (label: string, prefix: string, x: string, stats: string, rows: number, dy: GPUBufferBinding, dx: GPUBufferBinding, accumulateDx: boolean) =>
      recordNormBackward(program, label, { kind: 'layer', rows, cols: d, bias: has(`${prefix}.bias`), accumulateDx }, { x: a(x), w: p(`${prefix}.weight`), stats: a(stats), dy, dx, dw: g(`${prefix}.weight`), ...(has(`${prefix}.bias`) ? { db: g(`${prefix}.bias`) } : {}), partial: b('normPartial') });
    let cur = 0; // dstream.cur holds the gradient of the stream after the module being walked back
    const ds = (i: number) => b(`dstream.${i}`);
    normBack('ln_f', 'transformer.ln_f', `${c.nLayers - 1}.post`, 'ln_f.stats', BT * n, b('dY'), ds(cur), false);
    /** y = x Wᵀ (+ b), W [out, in]: dx = dy W (with `epilogue`), dW = dyᵀ x, db = Σ dy. */
    const linearBack = (label: string, name: string, x: string, dy: GPUBufferBinding, dx: GPUBufferBinding, inDim: number, outDim: number, epilogue: { spec?: object; ops?: object } = {}) => {
      recordGemm(program, `${label} dx`, { transA: false, transB: false, M: BT, N: inDim, K: outDim, ...epilogue.spec }, { a: dy, b: p(`${name}.weight`), c: dx, ...epilogue.ops });
      recordGemm(program, `${label} dW`, { transA: true, transB: false, M: outDim, N: inDim, K: BT }, { a: dy, b: a(x), c: g(`${name}.weight`) });
      if (has(`${name}.bias`)) recordColumnSum(program, `${label} db`, { rows: BT, cols: outDim }, { x: dy, out: g(`${name}.bias`) });
    };
    /** A branch walked back from dy (its output's gradient) to its LayerNorm's input: dx (+)= … */
    const branchBack = (l: number, m: 'attn' | 'mlp', lnInput: string, dy: GPUBufferBinding, dx: GPUBufferBinding, accumulate: boolean) => {
      const pre = branchPrefix(l, m);
      if (m === 'mlp') {
        linearBack(`${l}.mlp.c_proj`, `${pre}.1.c_proj`, `${l}.mlp.h`, dy, b('dwide'), 4 * d, d, { spec: { activation: 'dgelu' }, ops: { pre: a(`${l}.mlp.u`) } });
        linearBack(`${l}.c_fc`, `${pre}.1.c_fc`, `${l}.mlp.xn`, b('dwide'), b('dxn'), d, 4 * d);
      } else {
        linearBack(`${l}.attn.c_proj`, `${pre}.1.c_proj`, `${l}.attn.o`, dy, b('do'), d, d);
        recordAttentionBackward(program, `${l}.attn`, { batch, seqLen, nHeads: c.nHeads, headDim: d / c.nHeads }, { qkv: a(`${l}.attn.qkv`), o: a(`${l}.attn.o`), lse: a(`${l}.attn.lse`), dout: b('do'), drow: b('drow'), dqkv: b('dqkv') });
        linearBack(`${l}.c_attn`, `${pre}.1.c_attn`, `${l}.attn.xn`, b('dqkv'), b('dxn'), d, 3 * d);
      }
      normBack(`${l}.${m}.ln`, `${pre}.0`, lnInput, `${l}.${m}.stats`, BT, b('dxn'), dx, accumulate);
    };
    /** An HC module walked back: from dĤ in dstream.cur to dH in the other dstream. */
    const moduleBack = (l: number, m: 'attn' | 'mlp', input: string) => {
      const prefix = modulePrefix(l, m);
      const at = (what: string) => a(`${l}.${m}.${what}`);
      const dOut = ds(cur);
      const dIn = ds(1 - cur);
      // Ĥ = H' + B⊗y: dy = Σ_u B_u dĤ_u, dB = ⟨y, dĤ_u⟩, dH' = dĤ
      recordDepthBackward(program, `${l}.${m}.depth`, { tokens: BT, nStreams: n, dModel: d }, { y: a(`${l}.${m}.y`), b: at('beta'), dout: dOut, dy: b('dy'), db: b('dbeta') });
      branchBack(l, m, `${l}.${m}.x`, b('dy'), b('dx'), false);
      recordWidthBackward(program, `${l}.${m}.width`, { tokens: BT, nStreams: n, dModel: d }, { h: a(input), alpha: at('alpha'), dx: b('dx'), dhm: dOut, dh: dIn, dalpha: b('dalpha') });
      const conn = c.connection;
      if (conn.kind === 'hc') {
        recordHcCoefficientsBackward(program, `${l}.${m}.coeff`, { tokens: BT, nStreams: n, dynamic }, {
          dalpha: b('dalpha'), dbeta: b('dbeta'), dStaticAlpha: g(`${prefix}.static_alpha`), dStaticBeta: g(`${prefix}.static_beta`),
          ...(dynamic ? { proj: at('proj'), alphaScale: p(`${prefix}.dynamic_alpha_scale`), betaScale: p(`${prefix}.dynamic_beta_scale`), dproj: b('dproj'), partial: b('partial'), dAlphaScale: g(`${prefix}.dynamic_alpha_scale`), dBetaScale: g(`${prefix}.dynamic_beta_scale`) } : {}),
        });
      } else {
        const small = (f: (name: string) => GPUBufferBinding): CoefficientSmall => ({ preBranchScale: f(`${prefix}.pre_branch_scale`), residualScale: f(`${prefix}.residual_scale`), hPostScale: f(`${prefix}.h_post_scale`), staticAlpha: f(`${prefix}.static_alpha`), staticBeta: f(`${prefix}.static_beta`) });
        const ops = { proj: at('proj'), small: small(p), dalpha: b('dalpha'), dbeta: b('dbeta'), dproj: b('dproj'), contrib: b('contrib'), partial: b('partial'), dSmall: small(g) };
        if (conn.kind === 'mhc') recordMhcCoefficientsBackward(program, `${l}.${m}.coeff`, { tokens: BT, nStreams: n, sinkhornIters: conn.sinkhornIters, chunks }, ops);
        else recordMhcLiteCoefficientsBackward(program, `${l}.${m}.coeff`, { tokens: BT, nStreams: n, chunks }, ops);
      }
      if (dynamic) {
        // proj = normed · W, W = [W_α | W_β] packed by the forward: dnormed = dproj Wᵀ, and
        // dW = normedᵀ dproj, unpacked into the two gradients
        const cols = alphaCols + betaCols;
        recordGemm(program, `${l}.${m}.proj dx`, { transA: false, transB: true, M: projRows, N: projK, K: cols }, { a: b('dproj'), b: at('w'), c: b('dnormed') });
        recordGemm(program, `${l}.${m}.proj dW`, { transA: true, transB: false, M: projK, N: cols, K: projRows }, { a: at('normed'), b: b('dproj'), c: b('dw') });
        recordPackColumns(program, `${l}.${m}.unpack dW`, { rows: projK, aCols: alphaCols, bCols: betaCols }, 'unpack', { a: g(`${prefix}.dynamic_alpha_fn`), b: g(`${prefix}.dynamic_beta_fn`), packed: b('dw') });
        const normKind = conn.kind === 'hc' && conn.dynamicNorm === 'layer' ? 'gain' : 'rms';
        recordNormBackward(program, `${l}.${m}.coeff norm`, { kind: normKind, rows: projRows, cols: projK, accumulateDx: true }, { x: a(input), w: p(`${prefix}.norm.gamma`), stats: at('norm_stats'), dy: b('dnormed'), dx: dIn, dw: g(`${prefix}.norm.gamma`), partial: b('normPartial') });
      }
      cur = 1 - cur;
    };
    for (let l = c.nLayers - 1; l >= 0; l--) {
      const before = l === 0 ? 'h' : `${l - 1}.post`;
      if (hc) {
        moduleBack(l, 'mlp', `${l}.mid`);
        moduleBack(l, 'attn', before);
      } else {
        // Ĥ = H + y: dy = dĤ, and dH = dĤ + the branch's part, added in place
        branchBack(l, 'mlp', `${l}.mid`, ds(cur), ds(cur), true);
        branchBack(l, 'attn', before, ds(cur), ds(cur), true);
      }
    }
    const grad = expansion === 'lss' || expansion === 'stream-embed';
    recordEmbeddingBackward(program, 'embed', { batch, seqLen, vocab: V, dModel: d, nStreams: n, expansion }, {
      ids: a('ids'), wte: p('transformer.wte.weight'), wpe: p('transformer.wpe.weight'), streams: streamParam ? p(streamParam) : a('ones'), out: a('h'),
      dout: ds(cur), dh: b('dh'), prod: b('prod'), order: b('order'), starts: b('starts'), dwte: g('transformer.wte.weight'), dwpe: g('transformer.wpe.weight'),
      ...(grad ? { dstreams: g(streamParam) } : {}),
    });
    return new EngineBackward(program, grads, back, forward);
  }

  /**
   * Where the program reads a batch (the ids in the forward's arena; the targets and the ids' sort
   * in this one) and writes the per-token losses: a step copies each micro-batch in from its own
   * upload and the losses out.
   */
  get io(): { ids: GPUBufferBinding; targets: GPUBufferBinding; order: GPUBufferBinding; starts: GPUBufferBinding; losses: GPUBufferBinding } {
    const b = (name: string) => this.back.binding(name);
    return { ids: this.forward.acts.binding('ids'), targets: b('targets'), order: b('order'), starts: b('starts'), losses: b('losses') };
  }

  /** Writes the batch for the next forward and backward: the ids, the targets and the ids' sort. */
  setBatch(ids: Int32Array, targets: Int32Array): void {
    const up = batchUpload(ids, targets, this.forward.shape.config.vocabSize);
    this.back.write('targets', up.targets);
    this.back.write('order', up.order);
    this.back.write('starts', up.starts);
    this.forward.acts.write('ids', up.ids);
  }

  /** The mean of the per-token losses the last backward wrote. */
  async meanLoss(): Promise<number> {
    const [losses] = (await this.back.read(['losses'])) as [Float32Array];
    return losses.reduce((s, x) => s + x, 0) / losses.length;
  }

  /**
   * Runs the forward on `ids` and this backward for `targets`: the mean loss, and the gradients in
   * `grads` (read them with grads.read). wpe's rows past the sequence length stay zero.
   */
  async run(ids: Int32Array, targets: Int32Array): Promise<number> {
    this.setBatch(ids, targets);
    this.forward.program.run();
    this.program.run();
    return this.meanLoss();
  }

  destroy(): void {
    this.grads.destroy();
    this.back.destroy();
  }
}
