// One optimizer update: gradients summed over micro-batches and averaged, clipped by global
// norm, applied by AdamW. Shared by the training loop and the throughput benchmark.
import { tf, type Scalar, type Tensor, type Variable } from '../engine/tf.ts';
import type { ModelConfig } from '../model/config.ts';
import type { Params } from '../model/params.ts';
import { lossFn } from '../model/transformer.ts';
import { type AdamW, clipByGlobalNorm } from './optimizer.ts';

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
  ) {
    this.names = [...opt.groups.decay, ...opt.groups.noDecay];
    this.vars = this.names.map((n) => params.get(n) as Variable);
    this.byVarName = new Map(this.vars.map((v, i) => [v.name, this.names[i] as string]));
  }

  run(micro: MicroBatch[], lr: number): StepResult {
    let lossSum = 0;
    let grads = new Map<string, Tensor>();
    for (const b of micro) {
      const { value, grads: g } = tf.tidy(() => {
        const tokens = tf.tensor2d(b.tokens, [b.batchSize, b.seqLen], 'int32');
        const targets = tf.tensor2d(b.targets, [b.batchSize, b.seqLen], 'int32');
        return tf.variableGrads(() => lossFn(this.params, this.model, tokens, targets) as Scalar, this.vars);
      });
      lossSum += value.dataSync()[0] as number;
      value.dispose();
      for (const [vn, t] of Object.entries(g)) {
        const name = this.byVarName.get(vn) as string;
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
    const clipped = clipByGlobalNorm(grads, this.gradClip);
    this.opt.step(clipped.grads, lr);
    for (const g of clipped.grads.values()) g.dispose();
    return { loss, gradNorm: clipped.norm };
  }
}
