// hcprobe as a TypeScript library (`import … from 'hcprobe'`): the same code the CLI runs, as a
// small surface — load a checkpoint, run the model (with a cache of activations), train, read a
// capture, fit probes, train and apply an SAE, render a report. README, "Library".
import { ConfigError } from '../src/errors.ts';
import { readSafetensorsFile } from '../src/io/safetensors.ts';
import { configFromCheckpoint, paramsFromCheckpoint, readStreamsOf } from '../src/model/checkpoint.ts';
import type { ModelConfig } from '../src/model/config.ts';
import type { Params } from '../src/model/params.ts';

// Engine: pick the tensor backend before anything runs a model.
export { type BackendName, initBackend } from '../src/engine/backend.ts';
export { tf } from '../src/engine/tf.ts';
export { ConfigError };

// Model: configs, parameters, forward, hooks.
export type { Connection, ModelConfig, StreamInit } from '../src/model/config.ts';
export { disposeParams, initParams, type Params } from '../src/model/params.ts';
export { crossEntropy, forward, lossFn, residualStreams } from '../src/model/transformer.ts';
export { hookName, parseHookName } from '../src/model/hooks.ts';
export { type CachedRun, cacheActivations, disposeCachedRun, runWithCache } from '../src/model/run-with-cache.ts';

// Training: the trainer of `hcprobe train`, writing a run directory.
export { runTraining as train, type SessionOptions as TrainOptions } from '../src/train/session.ts';
export type { FlatTrainConfig } from '../src/train/train-config.ts';

// Captures: the manifest (verified against its shards) and one site's activations.
export { openCapture, readManifest } from '../src/capture/read.ts';
export type { Manifest } from '../src/capture/schema.ts';
export { loadCoefficients, loadStreamSite } from '../probes/load-site.ts';

// Analyses: stream diagnostics and linear probes of a capture.
export { diagnose } from '../probes/diagnose.ts';
export { runProbes } from '../probes/linear-probes.ts';
export type { DiagnosticsResult, ProbesResult } from '../probes/results-schema.ts';

// Sparse autoencoders: train on any rows, apply a trained one, read one `hcprobe sae` wrote.
export { saeTrainConfig } from '../sae/config.ts';
export { trainSae } from '../sae/train.ts';
export { SaeRunner } from '../sae/apply.ts';
export { readSae } from '../sae/save.ts';

// Reports: the HTML report of a run (or of a checkpoint) and its results.
export { renderReportFor as renderReport, writeReport } from './report-files.ts';

export interface LoadedCheckpoint {
  config: ModelConfig;
  params: Params;
  /** The stream each module read at init, when the checkpoint records it (hcprobe runs do). */
  readStreams: number[] | undefined;
}

/**
 * A checkpoint of hcprobe or of the reference code (converted with scripts/pt2safetensors.py):
 * its model config, inferred from the tensors and metadata, and its parameters as tfjs variables
 * on the current backend (call initBackend first; disposeParams when done).
 */
export function loadCheckpoint(path: string): LoadedCheckpoint {
  const file = readSafetensorsFile(path);
  const config = configFromCheckpoint(file, path);
  return { config, params: paramsFromCheckpoint(file, config, path), readStreams: readStreamsOf(file, config, path) };
}
