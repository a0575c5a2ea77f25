// What a connection kind's streams are (docs/model.md, "Streams of every kind"): their count and
// width, and whether per-token coefficients (A_m, A_r, B) exist to be hooked and captured.
import type { ConnectionKind, ModelConfig } from './config.ts';

/**
 * Width of one stream: Frac-connections split d into m fractions of d/m; every other kind's
 * streams (HC copies, ResiDual's two streams, AltUp's K sub-blocks) are d wide.
 */
export function streamWidth(c: ModelConfig): number {
  return c.connection.kind === 'frac' ? c.dModel / c.nStreams : c.dModel;
}

/** Kinds whose modules produce read / mixing / write coefficients per token (the `coeffs` site). */
export function hasCoefficients(kind: ConnectionKind): boolean {
  return kind === 'hc' || kind === 'mhc' || kind === 'mhc-lite' || kind === 'frac';
}

/** Kinds whose modules read one init-chosen stream (docs/model.md, "Which stream a module reads at init"). */
export function drawsReadStreams(kind: ConnectionKind): boolean {
  return kind === 'hc' || kind === 'mhc' || kind === 'mhc-lite';
}

/** Kinds whose streams start as the embedding itself: no stream-init scheme applies (only `copy`). */
export function copyInitOnly(kind: ConnectionKind): boolean {
  return kind === 'residual' || kind === 'post-norm' || kind === 'residual-dual' || kind === 'frac';
}

/**
 * A module's read weights as one number per stream: A_m itself for the HC family; for frac, whose
 * read is a matrix Γ [m, m] (flattened row-major), each fraction's read mass Σ_j Γ[s, j].
 */
export function readPerStream(c: ModelConfig, read: readonly number[]): number[] {
  if (c.connection.kind !== 'frac') return [...read];
  const m = c.nStreams;
  return Array.from({ length: m }, (_, s) => read.slice(s * m, (s + 1) * m).reduce((a, b) => a + b, 0));
}
