// runWithCache, after TransformerLens' `run_with_cache`: one forward whose hooks copy out the
// named activations, so that readers of activations need not hand-roll observer hooks. Its own
// file because it calls forward, and transformer.ts already imports hooks.ts.
import { tf, type Tensor } from '../engine/tf.ts';
import { ConfigError, shown } from '../errors.ts';
import type { ModelConfig } from './config.ts';
import { type HookFn, parseHookName } from './hooks.ts';
import type { Params } from './params.ts';
import { forward } from './transformer.ts';

export interface CachedRun {
  logits: Tensor; // [B, T, vocab]
  /** Hook name → the activation there, shaped as its HookSite says (a stream name: [B, T, d]). */
  cache: Map<string, Tensor>;
}

/**
 * Runs `tokens` (int32 [B, T]) through the model once and keeps the activations at `names`.
 *
 * Who disposes what: the caller owns `logits` and every tensor in `cache` (disposeCachedRun
 * frees them all); each is a tensor of its own, so disposing one never invalidates another,
 * even where two names hold the same activation (blocks.0.hook_resid_post and
 * blocks.1.hook_resid_pre). Every other tensor of the forward is freed before this returns;
 * `tokens` and `params` stay the caller's.
 *
 * The hooks only observe, so the logits equal an unhooked forward's. A name that is not a hook
 * name, or one this model never reaches (a layer it lacks, A_m of a residual model), is a
 * ConfigError naming it.
 */
export function runWithCache(params: Params, config: ModelConfig, tokens: Tensor, names: Iterable<string>): CachedRun {
  const wanted = [...new Set(names)];
  for (const name of wanted) parseHookName(name);
  const cache = new Map<string, Tensor>();
  // tf.clone shares the data (no copy) but is a tensor of its own, kept by returning it from tidy.
  const hooks = new Map<string, HookFn>(wanted.map((name) => [name, (x) => void cache.set(name, tf.clone(x))]));
  const [logits] = tf.tidy(() => [forward(params, config, tokens, { hooks }), ...cache.values()]) as Tensor[];
  const run = { logits: logits as Tensor, cache };
  const missing = wanted.filter((name) => !cache.has(name));
  if (missing.length > 0) {
    disposeCachedRun(run);
    const model = `${config.connection.kind}, ${config.nLayers} layers, ${config.nStreams} streams`;
    throw new ConfigError(`no activation at hook ${missing.map((m) => shown(m)).join(', ')}: this model (${model}) has no such site`);
  }
  return run;
}

/** Frees the logits and every cached activation of a runWithCache result. */
export function disposeCachedRun(run: CachedRun): void {
  run.logits.dispose();
  for (const t of run.cache.values()) t.dispose();
  run.cache.clear();
}
