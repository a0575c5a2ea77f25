/// <reference types="@webgpu/types" />
// The forward pass of the model as one recorded program of the WebGPU engine (docs/engine.md),
// from token ids to logits: the first composition of the engine's kernels into a model. This first
// version covers the `residual` connection (a GPT-2 with Pre-Norm, biases or not); the HC kinds add
// their coefficient, width and depth kernels per module next. Its parity test compares the logits
// with the tfjs model's `forward`.
//
// Arenas: `params` (every parameter by its name, uploaded from the tfjs Params) and `acts` (the ids
// and every activation by a path like `0.attn.qkv`: what a backward would read).
import { recordAttentionForward } from '../engine/program/attention.ts';
import { recordEmbeddingForward } from '../engine/program/embedding.ts';
import { recordGemm } from '../engine/program/gemm.ts';
import { GpuArena, type SliceSpec } from '../engine/program/gpu-arena.ts';
import { recordNormForward } from '../engine/program/norm.ts';
import { StepProgram } from '../engine/program/step-program.ts';
import { ConfigError } from '../errors.ts';
import type { ModelConfig } from '../model/config.ts';
import { branchPrefix, type Params } from '../model/params.ts';

export class EngineForward {
  private constructor(
    readonly program: StepProgram,
    readonly params: GpuArena,
    readonly acts: GpuArena,
    private readonly tokens: number,
  ) {}

  /**
   * Records the forward for `batch` sequences of `seqLen` tokens and uploads the parameters (read
   * from the tfjs tensors once). Call `run` with each batch of ids.
   */
  static build(device: GPUDevice, c: ModelConfig, params: Params, batch: number, seqLen: number): EngineForward {
    if (c.connection.kind !== 'residual') throw new ConfigError(`the WebGPU engine's forward covers the residual connection so far, not ${c.connection.kind}`);
    if (seqLen > c.blockSize) throw new ConfigError(`sequence of ${seqLen} tokens is longer than the block size ${c.blockSize}`);
    const d = c.dModel;
    const V = c.vocabSize;
    const BT = batch * seqLen;
    const paramArena = new GpuArena(device, 'params', [...params].map(([name, v]) => ({ name, length: v.size })));
    for (const [name, v] of params) paramArena.write(name, v.dataSync() as Float32Array);
    const slices: SliceSpec[] = [
      { name: 'ids', length: BT },
      { name: 'ones', length: BT },
      { name: 'h', length: BT * d },
    ];
    for (let l = 0; l < c.nLayers; l++) {
      slices.push(
        { name: `${l}.attn.xn`, length: BT * d },
        { name: `${l}.attn.stats`, length: 2 * BT },
        { name: `${l}.attn.qkv`, length: BT * 3 * d },
        { name: `${l}.attn.o`, length: BT * d },
        { name: `${l}.attn.lse`, length: batch * c.nHeads * seqLen },
        { name: `${l}.attn.y`, length: BT * d },
        { name: `${l}.mid`, length: BT * d },
        { name: `${l}.mlp.xn`, length: BT * d },
        { name: `${l}.mlp.stats`, length: 2 * BT },
        { name: `${l}.mlp.u`, length: BT * 4 * d },
        { name: `${l}.mlp.h`, length: BT * 4 * d },
        { name: `${l}.mlp.y`, length: BT * d },
        { name: `${l}.post`, length: BT * d },
      );
    }
    slices.push({ name: 'ln_f.y', length: BT * d }, { name: 'ln_f.stats', length: 2 * BT }, { name: 'logits', length: BT * V });
    const acts = new GpuArena(device, 'acts', slices);
    acts.write('ones', new Float32Array(BT).fill(1));
    const program = new StepProgram(device);
    const p = (name: string) => paramArena.binding(name);
    const a = (name: string) => acts.binding(name);
    const has = (name: string) => params.has(name);
    recordEmbeddingForward(program, 'embed', { batch, seqLen, vocab: V, dModel: d, nStreams: 1, expansion: 'copy' }, { ids: a('ids'), wte: p('transformer.wte.weight'), wpe: p('transformer.wpe.weight'), streams: a('ones'), out: a('h') });
    const layerNorm = (label: string, prefix: string, x: string, y: string, stats: string) =>
      recordNormForward(program, label, { kind: 'layer', rows: BT, cols: d, bias: has(`${prefix}.bias`) }, { x: a(x), w: p(`${prefix}.weight`), ...(has(`${prefix}.bias`) ? { b: p(`${prefix}.bias`) } : {}), y: a(y), stats: a(stats) });
    /** y = x Wᵀ (+ b) for a Linear stored [out, in]; `extra` carries the epilogue's spec and bindings. */
    const linear = (label: string, name: string, x: string, y: string, M: number, K: number, N: number, extra: { spec?: object; ops?: object } = {}) =>
      recordGemm(program, label, { transA: false, transB: true, M, N, K, bias: has(`${name}.bias`), ...extra.spec }, { a: a(x), b: p(`${name}.weight`), c: a(y), ...(has(`${name}.bias`) ? { bias: p(`${name}.bias`) } : {}), ...extra.ops });
    let stream = 'h';
    for (let l = 0; l < c.nLayers; l++) {
      const attn = branchPrefix(l, 'attn');
      layerNorm(`${l}.attn.ln`, `${attn}.0`, stream, `${l}.attn.xn`, `${l}.attn.stats`);
      linear(`${l}.c_attn`, `${attn}.1.c_attn`, `${l}.attn.xn`, `${l}.attn.qkv`, BT, d, 3 * d);
      recordAttentionForward(program, `${l}.attn`, { batch, seqLen, nHeads: c.nHeads, headDim: d / c.nHeads }, { qkv: a(`${l}.attn.qkv`), o: a(`${l}.attn.o`), lse: a(`${l}.attn.lse`) });
      // the residual add is the GEMM's depth epilogue with one stream and write weight 1
      const depth = (from: string, to: string) => ({ spec: { depth: { nStreams: 1 } }, ops: { streamsIn: a(from), write: a('ones'), streamsOut: a(to) } });
      linear(`${l}.attn.c_proj`, `${attn}.1.c_proj`, `${l}.attn.o`, `${l}.attn.y`, BT, d, d, depth(stream, `${l}.mid`));
      const mlp = branchPrefix(l, 'mlp');
      layerNorm(`${l}.mlp.ln`, `${mlp}.0`, `${l}.mid`, `${l}.mlp.xn`, `${l}.mlp.stats`);
      linear(`${l}.c_fc`, `${mlp}.1.c_fc`, `${l}.mlp.xn`, `${l}.mlp.h`, BT, d, 4 * d, { spec: { activation: 'gelu' }, ops: { pre: a(`${l}.mlp.u`) } });
      linear(`${l}.mlp.c_proj`, `${mlp}.1.c_proj`, `${l}.mlp.h`, `${l}.mlp.y`, BT, 4 * d, d, depth(`${l}.mid`, `${l}.post`));
      stream = `${l}.post`;
    }
    layerNorm('ln_f', 'transformer.ln_f', stream, 'ln_f.y', 'ln_f.stats');
    recordGemm(program, 'logits', { transA: false, transB: true, M: BT, N: V, K: d }, { a: a('ln_f.y'), b: p('transformer.wte.weight'), c: a('logits') });
    return new EngineForward(program, paramArena, acts, BT);
  }

  /** Logits [B·T, V] for the ids (B·T of them, row-major as the batch). */
  async run(ids: Int32Array): Promise<Float32Array> {
    if (ids.length !== this.tokens) throw new Error(`engine forward: ${ids.length} ids for a program of ${this.tokens} tokens`);
    const u32 = Uint32Array.from(ids);
    this.acts.write('ids', new Float32Array(u32.buffer));
    this.program.run();
    const [logits] = await this.acts.read(['logits']);
    return logits as Float32Array;
  }

  destroy(): void {
    this.params.destroy();
    this.acts.destroy();
  }
}
