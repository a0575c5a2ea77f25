// Pure parsers for command-line values: each returns the value or throws a ConfigError that
// names the flag and what it received.
import { ConfigError, shown, shownJson } from '../src/errors.ts';

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
