/// <reference types="@webgpu/types" />
// One training step on the WebGPU engine: the recorded forward and backward (engine-forward.ts,
// engine-backward.ts), then global-norm clipping and AdamW over the params, grads, m and v arenas
// in one pass (engine/program/adamw.ts; the arenas share the optimizer's layout, decay group
// first). The same update as train/step.ts' TrainStep with one micro-batch: its parity test runs
// both from the same parameters (test/train/engine-step-webgpu.test.ts).
import { type AdamwSpec, adamwHyper, recordAdamw } from '../engine/program/adamw.ts';
import { GpuArena } from '../engine/program/gpu-arena.ts';
import { StepProgram } from '../engine/program/step-program.ts';
import type { ModelConfig } from '../model/config.ts';
import type { Params } from '../model/params.ts';
import { EngineBackward } from './engine-backward.ts';
import { EngineForward } from './engine-forward.ts';
import type { AdamWConfig } from './optimizer.ts';

export class EngineTrainStep {
  /** Updates taken; bias correction uses it. */
  t = 0;

  private constructor(
    readonly forward: EngineForward,
    readonly backward: EngineBackward,
    private readonly update: StepProgram,
    private readonly moments: GpuArena[],
    private readonly scratch: GpuArena,
    private readonly spec: AdamwSpec,
  ) {}

  static build(device: GPUDevice, c: ModelConfig, params: Params, batch: number, seqLen: number, adam: AdamWConfig, maxNorm: number): EngineTrainStep {
    const forward = EngineForward.build(device, c, params, batch, seqLen);
    const backward = EngineBackward.build(forward);
    const slices = forward.optimizer.slices;
    const moments = ['m', 'v'].map((name) => new GpuArena(device, name, slices));
    const scratch = new GpuArena(device, 'adamw', [
      { name: 'hyper', length: 8 },
      { name: 'partial', length: 64 },
      { name: 'stats', length: 2 },
    ]);
    const spec: AdamwSpec = { length: forward.params.layout.bytes / 4, decayEnd: forward.optimizer.decayEnd, ...adam, maxNorm };
    const update = new StepProgram(device);
    const [m, v] = moments as [GpuArena, GpuArena];
    recordAdamw(update, 'adamw', spec, { params: forward.params.binding('whole'), grads: backward.grads.binding('whole'), m: m.binding('whole'), v: v.binding('whole'), partial: scratch.binding('partial'), stats: scratch.binding('stats'), hyper: scratch.binding('hyper') });
    return new EngineTrainStep(forward, backward, update, moments, scratch, spec);
  }

  /** One update at learning rate lr: the loss before it and the gradient norm before clipping. */
  async run(ids: Int32Array, targets: Int32Array, lr: number): Promise<{ loss: number; gradNorm: number }> {
    this.backward.setBatch(ids, targets);
    this.t++;
    this.scratch.write('hyper', adamwHyper(this.spec, this.t, lr));
    // forward, backward and update encoded into one command buffer: one submit per step
    this.forward.program.run((encoder) => {
      this.backward.program.encode(encoder);
      this.update.encode(encoder);
    });
    const loss = await this.backward.meanLoss();
    const [stats] = (await this.scratch.read(['stats'])) as [Float32Array];
    return { loss, gradNorm: stats[0] as number };
  }

  destroy(): void {
    this.forward.destroy();
    this.backward.destroy();
    for (const a of [...this.moments, this.scratch]) a.destroy();
  }
}
