// One optimizer update: gradients summed over micro-batches and averaged, clipped by global
// norm, applied by AdamW. Shared by the training loop and the throughput benchmark.
import { tf, type Scalar, type Tensor, type Variable } from '../engine/tf.ts';
import type { ModelConfig } from '../model/config.ts';
import type { Params } from '../model/params.ts';
import { lossFn } from '../model/transformer.ts';
import type { AdamW } from './optimizer.ts';
import type { GradientWorkers } from './parallel.ts';

export interface MicroBatch {
  tokens: Int32Array;
  targets: Int32Array;
  batchSize: number;
  seqLen: number;
}

export interface StepResult {
  /** Mean loss over the micro-batches; NaN or ±Infinity when the run diverged (no update then). */
  loss: number;
  gradNorm: number;
}

export class TrainStep {
  private readonly names: string[];
  private readonly vars: Variable[];
  private readonly byVarName: Map<string, string>;

  constructor(
    private readonly params: Params,
    private readonly model: ModelConfig,
    private readonly opt: AdamW,
    private readonly gradClip: number,
    /** Extra threads that each compute a share of every micro-batch. */
    private readonly workers?: GradientWorkers,
  ) {
    this.names = [...opt.groups.decay, ...opt.groups.noDecay];
    this.vars = this.names.map((n) => params.get(n) as Variable);
    this.byVarName = new Map(this.vars.map((v, i) => [v.name, this.names[i] as string]));
  }

  /** Names of the trainable parameters, in the order workers exchange them. */
  get parameterNames(): string[] {
    return this.names;
  }

  run(micro: MicroBatch[], lr: number): StepResult {
    let lossSum = 0;
    let grads = new Map<string, Tensor>();
    for (const b of micro) {
      const { loss, grads: g } = this.workers && this.workers.count > 0 ? this.parallelGrads(b) : this.localGrads(b);
      lossSum += loss;
      for (const [name, t] of g) {
        const prev = grads.get(name);
        grads.set(name, prev ? tf.tidy(() => tf.add(prev, t)) : t);
        if (prev) {
          prev.dispose();
          t.dispose();
        }
      }
    }
    const loss = lossSum / micro.length;
    if (!Number.isFinite(loss)) {
      for (const g of grads.values()) g.dispose();
      return { loss, gradNorm: Number.NaN };
    }
    if (micro.length > 1) {
      const scaled = new Map<string, Tensor>();
      for (const [n, g] of grads) {
        scaled.set(n, tf.div(g, micro.length));
        g.dispose();
      }
      grads = scaled;
    }
    const gradNorm = this.opt.clipAndStep(grads, lr, this.gradClip);
    for (const g of grads.values()) g.dispose();
    return { loss, gradNorm };
  }

  private localGrads(b: MicroBatch, rows = b.batchSize, first = 0): { loss: number; grads: Map<string, Tensor> } {
    const span = (a: Int32Array) => a.subarray(first * b.seqLen, (first + rows) * b.seqLen);
    const { value, grads } = tf.tidy(() => {
      const tokens = tf.tensor2d(span(b.tokens), [rows, b.seqLen], 'int32');
      const targets = tf.tensor2d(span(b.targets), [rows, b.seqLen], 'int32');
      return tf.variableGrads(() => lossFn(this.params, this.model, tokens, targets) as Scalar, this.vars);
    });
    const loss = value.dataSync()[0] as number;
    value.dispose();
    const out = new Map<string, Tensor>();
    for (const [vn, t] of Object.entries(grads)) out.set(this.byVarName.get(vn) as string, t);
    return { loss, grads: out };
  }

  /** The main thread takes the first share; the workers the rest; the mean is row-weighted. */
  private parallelGrads(b: MicroBatch): { loss: number; grads: Map<string, Tensor> } {
    const workers = this.workers as GradientWorkers;
    const parts = Math.min(workers.count + 1, b.batchSize);
    const rows = Array.from({ length: parts }, (_, i) => Math.floor(b.batchSize / parts) + (i < b.batchSize % parts ? 1 : 0));
    const starts = rows.map((_, i) => rows.slice(0, i).reduce((a, r) => a + r, 0));
    const shares = rows.slice(1).map((r, i) => {
      const from = (starts[i + 1] as number) * b.seqLen;
      return { rows: r, seqLen: b.seqLen, tokens: b.tokens.subarray(from, from + r * b.seqLen), targets: b.targets.subarray(from, from + r * b.seqLen) };
    });
    workers.begin(this.params, shares);
    const own = this.localGrads(b, rows[0] as number, 0);
    const theirs = workers.finish(shares.length);
    const w0 = (rows[0] as number) / b.batchSize;
    let loss = own.loss * w0;
    const out = new Map<string, Tensor>();
    let off = 0;
    for (const name of this.names) {
      const g = own.grads.get(name);
      const size = (this.params.get(name) as Variable).size;
      const shape = (this.params.get(name) as Variable).shape;
      out.set(name, tf.tidy(() => {
        let acc = g ? tf.mul(g, w0) : tf.zeros(shape);
        theirs.forEach((t, i) => {
          acc = tf.add(acc, tf.mul(tf.tensor(t.grads.subarray(off, off + size), shape), (rows[i + 1] as number) / b.batchSize));
        });
        return acc;
      }));
      g?.dispose();
      off += size;
    }
    theirs.forEach((t, i) => {
      loss += t.loss * ((rows[i + 1] as number) / b.batchSize);
    });
    return { loss, grads: out };
  }
}
