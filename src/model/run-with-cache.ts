// runWithCache, after TransformerLens' `run_with_cache`: one forward whose hooks copy out the
// named activations, so that readers of activations need not hand-roll observer hooks. Its own
// file because it calls forward, and transformer.ts already imports hooks.ts.
import { tf, type Tensor } from '../engine/tf.ts';
import { ConfigError, shown } from '../errors.ts';
import type { ModelConfig } from './config.ts';
import { type HookFn, type HookSite, parseHookName } from './hooks.ts';
import type { Params } from './params.ts';
import { forward, residualStreams } from './transformer.ts';

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
  const { wanted, cache, hooks } = cacheHooks(names);
  const [logits] = tf.tidy(() => [forward(params, config, tokens, { hooks }), ...cache.values()]) as Tensor[];
  const run = { logits: logits as Tensor, cache };
  checkReached(run, wanted, config);
  return run;
}

/**
 * The activations at `names` alone, as runWithCache's cache (the caller disposes them): the
 * forward runs only through the last block a name lies in, and computes no logits unless a name
 * needs them (ln_final). What capture uses: it records activations, never logits.
 */
export function cacheActivations(params: Params, config: ModelConfig, tokens: Tensor, names: Iterable<string>): Map<string, Tensor> {
  const { wanted, sites, cache, hooks } = cacheHooks(names);
  const run = sites.some((s) => s.kind === 'ln_final')
    ? () => forward(params, config, tokens, { hooks })
    : () => residualStreams(params, config, tokens, Math.max(0, ...sites.map((s) => ('layer' in s ? s.layer + 1 : 0))), { hooks });
  const [last] = tf.tidy(() => [run(), ...cache.values()]) as Tensor[];
  (last as Tensor).dispose();
  checkReached({ logits: undefined, cache }, wanted, config);
  return cache;
}

/** The hooks that clone each wanted activation into `cache`; every name checked (parsed into its site) first. */
function cacheHooks(names: Iterable<string>): { wanted: string[]; sites: HookSite[]; cache: Map<string, Tensor>; hooks: Map<string, HookFn> } {
  const wanted = [...new Set(names)];
  const sites = wanted.map((name) => parseHookName(name));
  const cache = new Map<string, Tensor>();
  // tf.clone shares the data (no copy) but is a tensor of its own, kept by returning it from tidy.
  const hooks = new Map<string, HookFn>(wanted.map((name) => [name, (x) => void cache.set(name, tf.clone(x))]));
  return { wanted, sites, cache, hooks };
}

/** A ConfigError naming the names the forward never reached, after freeing what it made. */
function checkReached(run: { logits: Tensor | undefined; cache: Map<string, Tensor> }, wanted: string[], config: ModelConfig): void {
  const missing = wanted.filter((name) => !run.cache.has(name));
  if (missing.length === 0) return;
  run.logits?.dispose();
  for (const t of run.cache.values()) t.dispose();
  run.cache.clear();
  const model = `${config.connection.kind}, ${config.nLayers} layers, ${config.nStreams} streams`;
  throw new ConfigError(`no activation at hook ${missing.map((m) => shown(m)).join(', ')}: this model (${model}) has no such site`);
}

/** Frees the logits and every cached activation of a runWithCache result. */
export function disposeCachedRun(run: CachedRun): void {
  run.logits.dispose();
  for (const t of run.cache.values()) t.dispose();
  run.cache.clear();
}
