// How each connection kind fills the capture sites (docs/model.md, "Streams of every kind"): which
// sites exist for it, where their tensors come from, and the fixed read/write weights of kinds
// that have no per-token coefficients.
import { ConfigError } from '../errors.ts';
import type { ModelConfig } from '../model/config.ts';
import { hookName, type Sublayer } from '../model/hooks.ts';
import { hasCoefficients } from '../model/stream-layout.ts';
import { type CaptureSite, type SiteSources, siteSources } from './schema.ts';

/** Why `site` cannot be captured for this model, or null when it can. */
export function siteUnavailable(site: CaptureSite, c: ModelConfig): string | null {
  const kind = c.connection.kind;
  if (site === 'coeffs' && kind !== 'residual' && !hasCoefficients(kind)) {
    return `connection ${kind} has no per-token read/mixing/write coefficients (its streams are combined by norms or by AltUp's prediction and correction)`;
  }
  if ((site === 'branch_in' || site === 'branch_out') && kind === 'altup') {
    return "connection altup reads and writes its sub-blocks through the learned prediction and correction weights, not per-stream coefficients; capture the branch's input and output by hook name instead (blocks.l.hook_attn_in, blocks.l.hook_attn_out)";
  }
  return null;
}

/** ConfigError naming the first site this model lacks. */
export function checkSites(sites: readonly CaptureSite[], c: ModelConfig): void {
  for (const site of sites) {
    const why = siteUnavailable(site, c);
    if (why) throw new ConfigError(`capture site ${site} is not available: ${why}`);
  }
}

/** The sites to capture when none are named: the default, less those this model lacks. */
export function availableSites(sites: readonly CaptureSite[], c: ModelConfig): CaptureSite[] {
  return sites.filter((s) => siteUnavailable(s, c) === null);
}

/**
 * siteSources for this kind. Frac's branch_in is the branch input itself, split into its m
 * fractions (stream_j = slot j of x = Σ_s Γ[s,j] H_s), not a per-stream scaling of H.
 */
export function kindSiteSources(site: CaptureSite, layer: number, module: Sublayer, c: ModelConfig): SiteSources {
  if (c.connection.kind === 'frac' && site === 'branch_in') return { tensor: hookName({ kind: 'branch_in', layer, module }), scale: null, coeffs: [] };
  return siteSources(site, layer, module);
}

/**
 * Per-stream read (A_m) or write (B) weights of kinds without coefficients, one row: the
 * residual and Post-Norm stream is read and written with 1; ResiDual's branch reads x_a only
 * and writes into both streams (x_a before its norm).
 */
export function fixedWeights(c: ModelConfig, which: 'read' | 'write' | 'mixing'): number[] {
  if (c.connection.kind === 'residual-dual') return which === 'read' ? [1, 0] : which === 'write' ? [1, 1] : [1, 0, 0, 1];
  return [1];
}
