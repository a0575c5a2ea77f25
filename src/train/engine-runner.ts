// The training loop's updates on the WebGPU engine (engine-step.ts): `train --backend webgpu`.
// The engine holds the parameters and AdamW's moments on the device; tfjs (on wasm) keeps copies
// for what reads them (the LSS record at log steps, checkpoints), refreshed by `sync` only at
// those steps. Validation runs on the engine with the batches validationLoss uses.
/// <reference types="@webgpu/types" />
import type { Corpus } from '../data/corpus.ts';
import { type BackendInfo, type BackendName, hardwareGpu, initBackend } from '../engine/backend.ts';
import { buildChecked, type EngineDevice, requestEngineDevice } from '../engine/program/engine-device.ts';
import { assignValues, type Variable } from '../engine/tf.ts';
import { ConfigError } from '../errors.ts';
import { ENGINE_KINDS, EngineForward } from './engine-forward.ts';
import { EngineTrainStep } from './engine-step.ts';
import { diagnosticIds, type StepRunner, validationBatch } from './loop.ts';
import { diagnosticsFromMeans } from './hc-diagnostics.ts';
import type { AdamW } from './optimizer.ts';
import type { ModelConfig } from '../model/config.ts';
import type { Params } from '../model/params.ts';
import type { TrainConfig } from './train-config.ts';

/**
 * The engine's device when this run trains on it: `--backend webgpu`, or `auto` on a hardware GPU,
 * for the connection kinds its kernels cover. Other kinds train on tfjs-webgpu (with a note), and
 * `--backend webgpu` without an adapter is a ConfigError.
 */
export async function engineDeviceFor(backend: BackendName, model: ModelConfig, what = 'trains'): Promise<EngineDevice | undefined> {
  if (backend !== 'webgpu' && backend !== 'auto') return undefined;
  if (!ENGINE_KINDS.includes(model.connection.kind)) {
    if (backend === 'webgpu') process.stderr.write(`note: the WebGPU engine covers ${ENGINE_KINDS.join(', ')}; ${model.connection.kind} ${what} on tfjs-webgpu (slower)\n`);
    return undefined;
  }
  if (backend === 'auto' && !(await hardwareGpu())) return undefined;
  const engine = await requestEngineDevice();
  if (!engine) throw new ConfigError('backend "webgpu": no WebGPU adapter found (is a Vulkan driver installed? see README, Backends)');
  return engine;
}

/** tfjs on wasm beside the engine, for what reads the parameters on the host; the run's backend record. */
export async function engineBackend(engine: EngineDevice): Promise<BackendInfo> {
  await initBackend('wasm');
  return { requested: 'webgpu', active: 'webgpu-engine', device: `${engine.description} (hcprobe's WebGPU engine; tfjs on wasm holds the checkpoint copy)` };
}

export async function engineRunner(device: GPUDevice, cfg: TrainConfig, corpus: Corpus, params: Params, opt: AdamW): Promise<StepRunner> {
  const adam = { beta1: cfg.beta1, beta2: cfg.beta2, eps: 1e-8, weightDecay: cfg.weightDecay };
  const engine = await EngineTrainStep.create(device, cfg.model, params, { batch: cfg.batchSize, seqLen: cfg.model.blockSize, accum: cfg.gradAccum }, adam, cfg.gradClip);
  // a resumed run: AdamW's moments and update count from the checkpoint
  if (opt.t > 0) {
    const { m, v } = opt.moments();
    engine.loadOptimizer(opt.t, m, v);
  }
  const diagIds = diagnosticIds(cfg, corpus);
  const assign = async (names?: readonly string[]) => {
    for (const [name, x] of await engine.params(names)) assignValues(params.get(name) as Variable, x);
  };
  return {
    depth: 2,
    submit: (micro, lr) => engine.submit(micro.map((b) => ({ ids: b.tokens, targets: b.targets })), lr),
    async sync(what) {
      if (what !== 'all') return assign(what);
      await assign();
      const { m, v } = await engine.moments();
      opt.setMoments(engine.t, m, v, 'the WebGPU engine');
    },
    async validationLoss() {
      let sum = 0;
      for (let i = 0; i < cfg.evalBatches; i++) {
        const b = validationBatch(cfg, corpus, i);
        sum += await engine.loss({ ids: b.tokens, targets: b.targets });
      }
      return sum / cfg.evalBatches;
    },
    diagnostics: async () => diagnosticsFromMeans(cfg.model, await engine.streamMeans(diagIds)),
    async close() {
      await device.queue.onSubmittedWorkDone();
      engine.destroy();
    },
  };
}

/**
 * The engine's forward as capture's HookedForward (capture/capture.ts; `capture --backend
 * webgpu`): batches of `batch` sequences, the hook sites read from its activation arena. Built
 * under error scopes, so a model the adapter cannot hold is a ConfigError.
 */
export async function engineCaptureForward(
  device: GPUDevice,
  c: ModelConfig,
  params: Params,
  batch: number,
): Promise<{ batch: number; hookValues(ids: Int32Array, names: readonly string[]): Promise<Map<string, Float32Array> | undefined>; destroy(): void }> {
  const f = await buildChecked(device, "this model's forward", 'try a smaller --batch, or --backend wasm', () => EngineForward.build(device, c, params, batch, c.blockSize));
  return {
    batch,
    async hookValues(ids, names) {
      f.setIds(ids);
      f.program.run();
      return f.hookValues(names);
    },
    destroy: () => f.destroy(),
  };
}
