// Pure parsers for command-line values: each returns the value or throws a ConfigError that
// names the flag and what it received.
import { CAPTURE_SITES, type CaptureSite, siteOfHook } from '../src/capture/schema.ts';
import { ConfigError, shown, shownJson } from '../src/errors.ts';
import { type HookSite, parseHookName, type Sublayer } from '../src/model/hooks.ts';

export function parseIntFlag(flag: string, value: string, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `an integer ≥ ${min}` : `an integer from ${min} to ${max}`;
    throw new ConfigError(`${flag} must be ${range}, got ${shown(value)}`);
  }
  return n;
}

export function parseNumberFlag(flag: string, value: string, min = -Infinity, max = Infinity): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
    throw new ConfigError(`${flag} must be a number${Number.isFinite(min) ? ` ≥ ${min}` : ''}${Number.isFinite(max) ? ` and ≤ ${max}` : ''}, got ${shown(value)}`);
  }
  return n;
}

export function parseChoice<T extends string>(flag: string, value: string, choices: readonly T[]): T {
  if ((choices as readonly string[]).includes(value)) return value as T;
  throw new ConfigError(`${flag} must be one of ${choices.join(', ')}, got ${shown(value)}`);
}

/** A comma-separated list of integers, e.g. "0,3,5". */
export function parseIntList(flag: string, value: string, min = 0): number[] {
  return value.split(',').map((v) => parseIntFlag(flag, v.trim(), min));
}

/** One item of a site list: a capture site, or a hook name, which also names a layer and module. */
export interface SiteRef<S extends CaptureSite> {
  value: string;
  site: S;
  layer?: number;
  module?: Sublayer;
}

/**
 * A comma-separated list of capture sites (`resid_post`) or TransformerLens-style hook names
 * (`blocks.1.hook_resid_post` → resid_post of layer 1's mlp; see siteOfHook), each one of
 * `allowed`. A capture holds every stream, so a stream-indexed name is refused, not widened.
 */
export function parseSiteList<S extends CaptureSite>(flag: string, value: string, allowed: readonly S[]): SiteRef<S>[] {
  const takes = (s: string): s is S => (allowed as readonly string[]).includes(s);
  const expected = `expected ${allowed.join(', ')}, or a hook name such as blocks.1.hook_resid_post`;
  return value.split(',').map((item) => {
    const v = item.trim();
    if (takes(v)) return { value: v, site: v };
    if ((CAPTURE_SITES as readonly string[]).includes(v)) throw new ConfigError(`${flag}: site ${shown(v)} is not one ${flag} takes (${expected})`);
    let hook: HookSite;
    try {
      hook = parseHookName(v);
    } catch {
      throw new ConfigError(`${flag}: unknown site ${shown(v)} (${expected})`);
    }
    if ('stream' in hook && hook.stream !== undefined) {
      throw new ConfigError(`${flag}: ${shown(v)} names one stream, but captures hold every stream: give ${shown(v.replace(/\[\d+\]$/, ''))}`);
    }
    const key = siteOfHook(hook);
    if (!key) throw new ConfigError(`${flag}: hook ${shown(v)} is not a capture site (${expected})`);
    if (!takes(key.site)) throw new ConfigError(`${flag}: hook ${shown(v)} is site ${key.site}, which ${flag} does not take (${expected})`);
    return { value: v, site: key.site, layer: key.layer, module: key.module };
  });
}

/** The distinct defined values, in first-seen order. */
export function distinct<T>(values: readonly (T | undefined)[]): T[] {
  return [...new Set(values.filter((v): v is T => v !== undefined))];
}

/**
 * Token sequences as a JSON array of arrays of non-negative integers, or `@file` holding one.
 * Sequences may differ in length.
 */
export function parseTokenSequences(flag: string, json: string): number[][] {
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new ConfigError(`${flag} is not valid JSON: ${shown(json)}`);
  }
  if (!Array.isArray(value) || value.length === 0) throw new ConfigError(`${flag} must be a non-empty JSON array of token arrays, got ${shown(json)}`);
  return value.map((seq, i) => {
    if (!Array.isArray(seq) || seq.length === 0) throw new ConfigError(`${flag}: sequence ${i} must be a non-empty array of token ids, got ${shownJson(seq)}`);
    return seq.map((t, j) => {
      if (!Number.isInteger(t) || (t as number) < 0) throw new ConfigError(`${flag}: token ${j} of sequence ${i} must be a non-negative integer, got ${shownJson(t)}`);
      return t as number;
    });
  });
}
