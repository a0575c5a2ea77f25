/// <reference types="@webgpu/types" />
// The backward pass of the engine's recorded forward (engine-forward.ts), for the `residual` model
// so far: the mean next-token cross-entropy, then the gradient of every parameter into a `grads`
// arena laid out like `params`. It reads what the forward kept in `acts` and writes its own
// temporaries to `back`. The residual stream's gradient runs through one buffer, `dstream`: each
// c_proj reads it as its upstream gradient (the residual add passes it through unchanged), and each
// LayerNorm's backward adds its input gradient into it. Parity test: the gradients of the tfjs
// model's loss (test/train/engine-backward-webgpu.test.ts).
import { recordAttentionBackward } from '../engine/program/attention.ts';
import { recordColumnSum } from '../engine/program/column-sum.ts';
import { recordCrossEntropy } from '../engine/program/cross-entropy.ts';
import { embeddingIndex, recordEmbeddingBackward } from '../engine/program/embedding.ts';
import { recordGemm } from '../engine/program/gemm.ts';
import { GpuArena } from '../engine/program/gpu-arena.ts';
import { recordNormBackward } from '../engine/program/norm.ts';
import { StepProgram } from '../engine/program/step-program.ts';
import { ConfigError } from '../errors.ts';
import { branchPrefix } from '../model/params.ts';
import type { EngineForward } from './engine-forward.ts';

export class EngineBackward {
  private constructor(
    readonly program: StepProgram,
    readonly grads: GpuArena,
    private readonly back: GpuArena,
    private readonly forward: EngineForward,
  ) {}

  static build(forward: EngineForward): EngineBackward {
    const { config: c, batch, seqLen } = forward.shape;
    if (c.connection.kind !== 'residual') throw new ConfigError(`the WebGPU engine's backward covers the residual connection so far, not ${c.connection.kind}`);
    const device = forward.params.device;
    const d = c.dModel;
    const V = c.vocabSize;
    const BT = batch * seqLen;
    const grads = new GpuArena(device, 'grads', forward.params.layout.slices.map((s) => ({ name: s.name, length: s.length })));
    const back = new GpuArena(device, 'back', [
      { name: 'targets', length: BT },
      { name: 'order', length: BT },
      { name: 'starts', length: V + 1 },
      { name: 'losses', length: BT },
      { name: 'dxf', length: BT * d },
      { name: 'dstream', length: BT * d },
      { name: 'dxn', length: BT * d },
      { name: 'dwide', length: BT * 4 * d },
      { name: 'dqkv', length: BT * 3 * d },
      { name: 'do', length: BT * d },
      { name: 'drow', length: batch * c.nHeads * seqLen },
      { name: 'dh', length: BT * d },
    ]);
    const program = new StepProgram(device);
    const p = (name: string) => forward.params.binding(name);
    const g = (name: string) => grads.binding(name);
    const a = (name: string) => forward.acts.binding(name);
    const b = (name: string) => back.binding(name);
    const has = (name: string) => forward.params.layout.slices.some((s) => s.name === name);
    // the loss: per-token cross-entropy; the logits become (softmax − onehot)/(B·T) in place
    recordCrossEntropy(program, 'loss', { rows: BT, vocab: V, scale: 1 / BT }, { logits: a('logits'), targets: b('targets'), losses: b('losses') });
    // logits = x_f wteᵀ: dx_f = dlogits wte, dwte = dlogitsᵀ x_f (the embedding adds its part later)
    recordGemm(program, 'dxf', { transA: false, transB: false, M: BT, N: d, K: V }, { a: a('logits'), b: p('transformer.wte.weight'), c: b('dxf') });
    recordGemm(program, 'dwte', { transA: true, transB: false, M: V, N: d, K: BT }, { a: a('logits'), b: a('xf'), c: g('transformer.wte.weight') });
    // x_f is the one stream's ln_f output (the sum over one stream is a copy): ln_f's backward
    // writes the residual stream's gradient
    const last = `${c.nLayers - 1}.post`;
    const normBack = (label: string, prefix: string, x: string, stats: string, dy: GPUBufferBinding, dx: GPUBufferBinding, accumulateDx: boolean) =>
      recordNormBackward(program, label, { kind: 'layer', rows: BT, cols: d, bias: has(`${prefix}.bias`), accumulateDx }, { x: a(x), w: p(`${prefix}.weight`), stats: a(stats), dy, dx, dw: g(`${prefix}.weight`), ...(has(`${prefix}.bias`) ? { db: g(`${prefix}.bias`) } : {}) });
    normBack('ln_f', 'transformer.ln_f', last, 'ln_f.stats', b('dxf'), b('dstream'), false);
    /** y = x Wᵀ (+ b), W [out, in]: dx = dy W (with `epilogue`), dW = dyᵀ x, db = Σ dy. */
    const linearBack = (label: string, name: string, x: string, dy: GPUBufferBinding, dx: GPUBufferBinding, inDim: number, outDim: number, epilogue: { spec?: object; ops?: object } = {}) => {
      recordGemm(program, `${label} dx`, { transA: false, transB: false, M: BT, N: inDim, K: outDim, ...epilogue.spec }, { a: dy, b: p(`${name}.weight`), c: dx, ...epilogue.ops });
      recordGemm(program, `${label} dW`, { transA: true, transB: false, M: outDim, N: inDim, K: BT }, { a: dy, b: a(x), c: g(`${name}.weight`) });
      if (has(`${name}.bias`)) recordColumnSum(program, `${label} db`, { rows: BT, cols: outDim }, { x: dy, out: g(`${name}.bias`) });
    };
    for (let l = c.nLayers - 1; l >= 0; l--) {
      const mlp = branchPrefix(l, 'mlp');
      // Ĥ = H + y: dy = dĤ (dstream), dH = dĤ + the LayerNorm branch's part (added below)
      linearBack(`${l}.mlp.c_proj`, `${mlp}.1.c_proj`, `${l}.mlp.h`, b('dstream'), b('dwide'), 4 * d, d, { spec: { activation: 'dgelu' }, ops: { pre: a(`${l}.mlp.u`) } });
      linearBack(`${l}.c_fc`, `${mlp}.1.c_fc`, `${l}.mlp.xn`, b('dwide'), b('dxn'), d, 4 * d);
      normBack(`${l}.mlp.ln`, `${mlp}.0`, `${l}.mid`, `${l}.mlp.stats`, b('dxn'), b('dstream'), true);
      const attn = branchPrefix(l, 'attn');
      linearBack(`${l}.attn.c_proj`, `${attn}.1.c_proj`, `${l}.attn.o`, b('dstream'), b('do'), d, d);
      recordAttentionBackward(program, `${l}.attn`, { batch, seqLen, nHeads: c.nHeads, headDim: d / c.nHeads }, { qkv: a(`${l}.attn.qkv`), o: a(`${l}.attn.o`), lse: a(`${l}.attn.lse`), dout: b('do'), drow: b('drow'), dqkv: b('dqkv') });
      linearBack(`${l}.c_attn`, `${attn}.1.c_attn`, `${l}.attn.xn`, b('dqkv'), b('dxn'), d, 3 * d);
      normBack(`${l}.attn.ln`, `${attn}.0`, l === 0 ? 'h' : `${l - 1}.post`, `${l}.attn.stats`, b('dxn'), b('dstream'), true);
    }
    recordEmbeddingBackward(program, 'embed', { batch, seqLen, vocab: V, dModel: d, nStreams: 1, expansion: 'copy' }, {
      ids: a('ids'), wte: p('transformer.wte.weight'), wpe: p('transformer.wpe.weight'), streams: a('ones'), out: a('h'),
      dout: b('dstream'), dh: b('dh'), prod: b('dh'), order: b('order'), starts: b('starts'), dwte: g('transformer.wte.weight'), dwpe: g('transformer.wpe.weight'),
    });
    return new EngineBackward(program, grads, back, forward);
  }

  /**
   * Runs the forward on `ids` and this backward for `targets`: the mean loss, and the gradients in
   * `grads` (read them with grads.read). wpe's rows past the sequence length stay zero.
   */
  async run(ids: Int32Array, targets: Int32Array): Promise<number> {
    const { config: c } = this.forward.shape;
    if (targets.length !== ids.length) throw new Error(`engine backward: ${targets.length} targets for ${ids.length} ids`);
    for (const t of targets) if (!Number.isInteger(t) || t < 0 || t >= c.vocabSize) throw new Error(`engine backward: target ${t} is outside the vocabulary of ${c.vocabSize}`);
    const { order, starts } = embeddingIndex(ids, c.vocabSize);
    const asF32 = (x: Uint32Array) => new Float32Array(x.buffer, x.byteOffset, x.length);
    this.back.write('targets', asF32(Uint32Array.from(targets)));
    this.back.write('order', asF32(order));
    this.back.write('starts', asF32(starts));
    this.forward.setIds(ids);
    this.forward.program.run();
    this.program.run();
    const [losses] = (await this.back.read(['losses'])) as [Float32Array];
    return losses.reduce((s, x) => s + x, 0) / losses.length;
  }

  destroy(): void {
    this.grads.destroy();
    this.back.destroy();
  }
}
