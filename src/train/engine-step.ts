// One training step on the WebGPU engine: for each of `accum` micro-batches the recorded forward
// and backward (engine-forward.ts, engine-backward.ts), their gradients added up, then global-norm
// clipping and AdamW over the params, grads, m and v arenas in one pass (engine/program/adamw.ts;
// the arenas share the optimizer's layout, decay group first). Everything goes into one command
// buffer with one submit, whose last commands copy the loss sum and the gradient norm into a
// ReadbackRing: the host reads them while the next step runs. The same update as train/step.ts'
// TrainStep: its parity test runs both from the same parameters (test/train/engine-step-webgpu.test.ts).
//
// Per micro-batch k the step copies that micro-batch's ids, targets and id sort from the `inputs`
// arena (uploaded once per step) to where the forward and backward read them, and its per-token
// losses out to `losses` (k·B·T onwards). With accum > 1 the grads arena is copied (k = 0) or
// added (k > 0) into `gacc`, which AdamW then reads; the loss gradient is seeded with
// 1/(accum·B·T), so the sum is the mean over micro-batches, as TrainStep's average.
/// <reference types="@webgpu/types" />
import { recordAccumulate } from '../engine/program/accumulate.ts';
import { type AdamwSpec, adamwHyper, adamwPartials, recordAdamw } from '../engine/program/adamw.ts';
import { columnSumChunks, recordColumnSum } from '../engine/program/column-sum.ts';
import { recordCrossEntropy } from '../engine/program/cross-entropy.ts';
import { buildChecked } from '../engine/program/engine-device.ts';
import { GpuArena } from '../engine/program/gpu-arena.ts';
import { ReadbackRing } from '../engine/program/readback-ring.ts';
import { StepProgram } from '../engine/program/step-program.ts';
import type { ModelConfig } from '../model/config.ts';
import { hookName } from '../model/hooks.ts';
import type { Params } from '../model/params.ts';
import type { StreamMeans } from './hc-diagnostics.ts';
import { batchUpload, EngineBackward } from './engine-backward.ts';
import { EngineForward } from './engine-forward.ts';
import type { AdamWConfig } from './optimizer.ts';

export interface EngineShape {
  batch: number;
  seqLen: number;
  /** Micro-batches per update (gradient accumulation). */
  accum: number;
}

export interface EngineStepResult {
  /** Mean loss over the micro-batches' tokens (before the update). */
  loss: number;
  /** Gradient norm before clipping. */
  gradNorm: number;
}

/** A micro-batch of B·T ids and targets, row-major. */
export interface EngineBatch {
  ids: Int32Array;
  targets: Int32Array;
}

/** Trainable tensors by name, as Float32Arrays in each tensor's row-major order. */
export type NamedArrays = Map<string, Float32Array>;

export class EngineTrainStep {
  /** Updates taken; bias correction uses it. */
  t = 0;
  private readonly ring: ReadbackRing;

  private constructor(
    readonly forward: EngineForward,
    readonly backward: EngineBackward,
    readonly shape: EngineShape,
    /** Per micro-batch: copy its batch in. */
    private readonly load: StepProgram[],
    /** Per micro-batch, after its backward: copy its losses out and its grads into gacc. */
    private readonly gather: StepProgram[],
    private readonly update: StepProgram,
    /** Validation: the per-token losses of the forward's logits and their sum. */
    private readonly evaluate: StepProgram,
    private readonly momentArenas: [GpuArena, GpuArena],
    private readonly inputs: GpuArena,
    private readonly scratch: GpuArena,
    private readonly gacc: GpuArena | undefined,
    private readonly spec: AdamwSpec,
  ) {
    this.ring = new ReadbackRing(forward.params.device, [scratch.binding('lossSum'), scratch.binding('stats')]);
  }

  /**
   * build() under WebGPU error scopes: a pipeline, binding or allocation the device refuses
   * (limits, memory) is an Error here rather than a warning on stderr and steps that do nothing.
   * Later device errors fail the next step's result.
   */
  static async create(device: GPUDevice, c: ModelConfig, params: Params, shape: EngineShape, adam: AdamWConfig, maxNorm: number): Promise<EngineTrainStep> {
    const built = await buildChecked(device, "this model's training step", 'try a smaller model or batch, or --backend wasm', () => EngineTrainStep.build(device, c, params, shape, adam, maxNorm));
    device.addEventListener('uncapturederror', (e) => {
      built.deviceError ??= (e as GPUUncapturedErrorEvent).error.message;
    });
    return built;
  }

  /** The first error the device reported after create(); the next result rejects with it. */
  private deviceError: string | undefined;

  static build(device: GPUDevice, c: ModelConfig, params: Params, shape: EngineShape, adam: AdamWConfig, maxNorm: number): EngineTrainStep {
    const { batch, seqLen, accum } = shape;
    if (!Number.isInteger(accum) || accum < 1) throw new Error(`engine step: ${accum} micro-batches per update; it needs a positive integer`);
    const forward = EngineForward.build(device, c, params, batch, seqLen);
    const BT = forward.shape.dims.BT;
    const backward = EngineBackward.build(forward, 1 / (accum * BT));
    const slices = forward.optimizer.slices;
    const moments: [GpuArena, GpuArena] = [new GpuArena(device, 'm', slices), new GpuArena(device, 'v', slices)];
    const gacc = accum > 1 ? new GpuArena(device, 'gacc', slices) : undefined;
    const inputs = new GpuArena(
      device,
      'inputs',
      Array.from({ length: accum }, (_, k) => [
        { name: `${k}.ids`, length: BT },
        { name: `${k}.targets`, length: BT },
        { name: `${k}.order`, length: BT },
        { name: `${k}.starts`, length: c.vocabSize + 1 },
      ]).flat(),
    );
    const rows = accum * BT;
    const scratch = new GpuArena(device, 'step', [
      { name: 'hyper', length: 8 },
      { name: 'partial', length: adamwPartials(device, forward.params.layout.bytes / 4) },
      { name: 'stats', length: 2 },
      { name: 'losses', length: rows },
      { name: 'lossPartial', length: columnSumChunks(rows) },
      { name: 'lossSum', length: 1 },
    ]);
    const io = backward.io;
    const lossesBinding = scratch.binding('losses');
    const lossSlot = (k: number): GPUBufferBinding => ({ buffer: lossesBinding.buffer, offset: (lossesBinding.offset ?? 0) + 4 * k * BT, size: 4 * BT });
    const load: StepProgram[] = [];
    const gather: StepProgram[] = [];
    const grads = backward.grads;
    for (let k = 0; k < accum; k++) {
      const l = new StepProgram(device);
      for (const what of ['ids', 'targets', 'order', 'starts'] as const) l.copy(`micro ${k} ${what}`, inputs.binding(`${k}.${what}`), io[what]);
      load.push(l);
      const gp = new StepProgram(device);
      gp.copy(`micro ${k} losses`, io.losses, lossSlot(k));
      if (gacc) {
        if (k === 0) gp.copy('grads → gacc', grads.binding('whole'), gacc.binding('whole'));
        else recordAccumulate(gp, `micro ${k} gacc += grads`, grads.layout.bytes / 4, { x: grads.binding('whole'), acc: gacc.binding('whole') });
      }
      gather.push(gp);
    }
    const sumLosses = (program: StepProgram, n: number) => {
      const chunks = columnSumChunks(n);
      const x: GPUBufferBinding = { buffer: lossesBinding.buffer, offset: lossesBinding.offset ?? 0, size: 4 * n };
      recordColumnSum(program, 'loss sum', { rows: n, cols: 1, chunks }, { x, out: scratch.binding('lossSum'), ...(chunks > 1 ? { partial: { ...scratch.binding('lossPartial'), size: 4 * chunks } } : {}) });
    };
    const spec: AdamwSpec = { length: forward.params.layout.bytes / 4, decayEnd: forward.optimizer.decayEnd, ...adam, maxNorm };
    const update = new StepProgram(device);
    sumLosses(update, rows);
    const [m, v] = moments;
    const g = (gacc ?? grads).binding('whole');
    recordAdamw(update, 'adamw', spec, { params: forward.params.binding('whole'), grads: g, m: m.binding('whole'), v: v.binding('whole'), partial: scratch.binding('partial'), stats: scratch.binding('stats'), hyper: scratch.binding('hyper') });
    const evaluate = new StepProgram(device);
    recordCrossEntropy(evaluate, 'val loss', { rows: BT, vocab: c.vocabSize, scale: 0 }, { logits: forward.acts.binding('logits'), targets: io.targets, losses: io.losses });
    evaluate.copy('val losses', io.losses, lossSlot(0));
    sumLosses(evaluate, BT);
    return new EngineTrainStep(forward, backward, shape, load, gather, update, evaluate, moments, inputs, scratch, gacc, spec);
  }

  /** Compute dispatches in one step's command buffer. */
  get dispatchCount(): number {
    const { accum } = this.shape;
    const per = (ps: StepProgram[]) => ps.reduce((n, p) => n + p.dispatchCount, 0);
    return accum * (this.forward.program.dispatchCount + this.backward.program.dispatchCount) + per(this.load) + per(this.gather) + this.update.dispatchCount;
  }

  /** The most storage bindings any dispatch of the step uses. */
  get maxBindings(): number {
    const programs = [this.forward.program, this.backward.program, ...this.load, ...this.gather, this.update, this.evaluate];
    return Math.max(...programs.flatMap((p) => p.steps.map((s) => (s.kind === 'dispatch' ? s.bindings : 0))));
  }

  /** Writes the micro-batches to the first micro.length upload slots. */
  private upload(micro: readonly EngineBatch[]): void {
    const BT = this.forward.shape.dims.BT;
    micro.forEach((b, k) => {
      if (b.ids.length !== BT) throw new Error(`engine step: micro-batch ${k} has ${b.ids.length} ids; the program takes ${BT}`);
      const up = batchUpload(b.ids, b.targets, this.forward.shape.config.vocabSize);
      for (const what of ['ids', 'targets', 'order', 'starts'] as const) this.inputs.write(`${k}.${what}`, up[what]);
    });
  }

  /**
   * Queues one update at learning rate lr on `accum` micro-batches and submits it; the promise
   * resolves once it has run. Submit the next step before awaiting this one to keep the GPU busy
   * (at most two steps may be unread).
   */
  submit(micro: readonly EngineBatch[], lr: number): Promise<EngineStepResult> {
    if (micro.length !== this.shape.accum) throw new Error(`engine step: ${micro.length} micro-batches for a program of ${this.shape.accum}`);
    this.upload(micro);
    this.t++;
    this.scratch.write('hyper', adamwHyper(this.spec, this.t, lr));
    const encoder = this.forward.params.device.createCommandEncoder();
    for (let k = 0; k < this.shape.accum; k++) {
      (this.load[k] as StepProgram).encode(encoder);
      this.forward.program.encode(encoder);
      this.backward.program.encode(encoder);
      (this.gather[k] as StepProgram).encode(encoder);
    }
    this.update.encode(encoder);
    this.ring.encode(encoder);
    this.forward.params.device.queue.submit([encoder.finish()]);
    const tokens = this.shape.accum * this.forward.shape.dims.BT;
    return this.ring.collect().then((r) => {
      if (this.deviceError) throw new Error(`the WebGPU engine's device reported an error: ${this.deviceError}`);
      return { loss: (r[0] as number) / tokens, gradNorm: r[1] as number };
    });
  }

  /** One update on one micro-batch (accum 1), awaited. */
  run(ids: Int32Array, targets: Int32Array, lr: number): Promise<EngineStepResult> {
    return this.submit([{ ids, targets }], lr);
  }

  /** Runs the forward alone on one batch of the program's shape (upload slot 0), then `then`. */
  private forwardOn(b: EngineBatch, then?: StepProgram): void {
    this.upload([b]);
    const encoder = this.forward.params.device.createCommandEncoder();
    (this.load[0] as StepProgram).encode(encoder);
    this.forward.program.encode(encoder);
    then?.encode(encoder);
    this.forward.params.device.queue.submit([encoder.finish()]);
  }

  /** Mean loss of the current parameters on one batch of the program's shape (no update). */
  async loss(b: EngineBatch): Promise<number> {
    this.forwardOn(b, this.evaluate);
    const [sum] = (await this.scratch.read(['lossSum'])) as [Float32Array];
    return (sum[0] as number) / this.forward.shape.dims.BT;
  }

  /**
   * Token means for the HC diagnostics (hc-diagnostics.ts) of the current parameters on `ids`
   * (whole sequences of the program's length, any number of them): the forward runs on chunks of
   * the program's batch, the last one padded with repeats that are left out of the means; the
   * values come from its hook sites (EngineForward.hookValues, runWithCache's layouts).
   */
  async streamMeans(ids: Int32Array): Promise<StreamMeans> {
    const { batch, seqLen: T } = this.shape;
    const { n, d, hc } = this.forward.shape.dims;
    const L = this.forward.shape.config.nLayers;
    const rows = ids.length / T;
    if (!Number.isInteger(rows) || rows < 1) throw new Error(`engine: ${ids.length} diagnostic ids are not whole sequences of ${T}`);
    const post = Array.from({ length: L }, (_, layer) => hookName({ kind: 'resid_post', layer }));
    const modules = hc ? Array.from({ length: 2 * L }, (_, i) => ({ layer: Math.floor(i / 2), module: i % 2 === 0 ? ('attn' as const) : ('mlp' as const) })) : [];
    const coeffNames = modules.map((m) => ({ read: hookName({ kind: 'read', ...m }), mixing: hookName({ kind: 'mixing', ...m }), write: hookName({ kind: 'write', ...m }) }));
    const energies = Array.from({ length: L }, () => new Float64Array(n));
    const coefficients = modules.map(() => ({ read: new Float64Array(n), mixing: new Float64Array(n * n), write: new Float64Array(n) }));
    /** acc[j] += x[r·w + j] over the first `tokens` rows, w = acc.length. */
    const addRows = (acc: Float64Array, x: Float32Array, tokens: number) => {
      for (let r = 0; r < tokens; r++) for (let j = 0; j < acc.length; j++) acc[j] = (acc[j] as number) + (x[r * acc.length + j] as number);
    };
    for (let first = 0; first < rows; first += batch) {
      const take = Math.min(batch, rows - first);
      const chunk = new Int32Array(batch * T);
      for (let r = 0; r < batch; r++) chunk.set(ids.subarray((first + (r < take ? r : 0)) * T, (first + (r < take ? r : 0) + 1) * T), r * T);
      this.forwardOn({ ids: chunk, targets: new Int32Array(batch * T) });
      const values = (await this.forward.hookValues([...post, ...coeffNames.flatMap((k) => [k.read, k.mixing, k.write])])) as Map<string, Float32Array>;
      const tokens = take * T;
      post.forEach((name, l) => {
        const h = values.get(name) as Float32Array; // [BT, n, d]
        const e = energies[l] as Float64Array;
        for (let t = 0; t < tokens; t++) for (let s = 0; s < n; s++) for (let k = 0; k < d; k++) e[s] = (e[s] as number) + (h[(t * n + s) * d + k] as number) ** 2;
      });
      coefficients.forEach((k, i) => {
        const names = coeffNames[i] as (typeof coeffNames)[number];
        addRows(k.read, values.get(names.read) as Float32Array, tokens); // [BT, n]
        addRows(k.mixing, values.get(names.mixing) as Float32Array, tokens); // [BT, n, n]
        addRows(k.write, values.get(names.write) as Float32Array, tokens); // [BT, n]
      });
    }
    const total = rows * T;
    const avg = (x: Float64Array) => Array.from(x, (v) => v / total);
    return { energies: energies.map(avg), coefficients: coefficients.map((k) => ({ read: avg(k.read), mixing: avg(k.mixing), write: avg(k.write) })) };
  }

  /** The trainable parameters (all, or the named ones) as they are on the device. */
  params(names?: readonly string[]): Promise<NamedArrays> {
    return this.readArena(this.forward.params, names);
  }

  /** AdamW's moments as they are on the device (for checkpoints). */
  async moments(): Promise<{ m: NamedArrays; v: NamedArrays }> {
    return { m: await this.readArena(this.momentArenas[0]), v: await this.readArena(this.momentArenas[1]) };
  }

  /** The trainable parameters and AdamW's moments as they are on the device. */
  async state(): Promise<{ params: NamedArrays; m: NamedArrays; v: NamedArrays }> {
    return { params: await this.params(), ...(await this.moments()) };
  }

  private async readArena(arena: GpuArena, only?: readonly string[]): Promise<NamedArrays> {
    const names = only ?? this.forward.optimizer.slices.map((s) => s.name);
    if (names.length === 0) return new Map();
    const values = await arena.read(names);
    return new Map(names.map((n, i) => [n, values[i] as Float32Array]));
  }

  /** Restores AdamW's update count and moments (a resumed run); the parameters came with build(). */
  loadOptimizer(t: number, m: ReadonlyMap<string, Float32Array>, v: ReadonlyMap<string, Float32Array>): void {
    this.t = t;
    for (const [arena, values] of [[this.momentArenas[0], m], [this.momentArenas[1], v]] as const) {
      for (const s of this.forward.optimizer.slices) {
        const x = values.get(s.name);
        if (!x) throw new Error(`engine step: no optimizer moment for ${s.name}`);
        arena.write(s.name, x);
      }
    }
  }

  destroy(): void {
    this.forward.destroy();
    this.backward.destroy();
    this.ring.destroy();
    for (const a of [...this.momentArenas, this.inputs, this.scratch, ...(this.gacc ? [this.gacc] : [])]) a.destroy();
  }
}
