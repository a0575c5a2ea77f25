// Hook sites, named like TransformerLens (`blocks.3.hook_resid_post`) with an optional stream
// index (`blocks.3.hook_resid_post[2]`). One builder and its inverse parser own the names.
import { ConfigError, shown } from '../errors.ts';
import type { Tensor } from '../engine/tf.ts';

export type Sublayer = 'attn' | 'mlp';

export type HookSite =
  | { kind: 'embed' } // [B, T, d] token embedding
  | { kind: 'pos_embed' } // [T, d]
  | { kind: 'resid_pre' | 'resid_mid' | 'resid_post'; layer: number; stream?: number } // [B, T, n, d]
  | { kind: 'branch_in' | 'branch_out'; layer: number; module: Sublayer } // [B, T, d]: x and T(x)
  | { kind: 'read' | 'write'; layer: number; module: Sublayer } // [B, T, n]: A_m, B
  | { kind: 'mixing'; layer: number; module: Sublayer } // [B, T, n, n]: A_r[s, t]
  | { kind: 'ln_final'; stream?: number }; // [B, T, n, d] ln_f of each stream

/**
 * Observes an activation, or replaces it by returning a tensor of the same shape. A hook on a
 * stream-indexed name sees that stream's slice [B, T, d] and may replace only that slice.
 */
export type HookFn = (activation: Tensor, name: string) => Tensor | undefined | void;
export type Hooks = ReadonlyMap<string, HookFn>;

const streamSuffix = (s: number | undefined) => (s === undefined ? '' : `[${s}]`);

export function hookName(site: HookSite): string {
  switch (site.kind) {
    case 'embed':
      return 'hook_embed';
    case 'pos_embed':
      return 'hook_pos_embed';
    case 'resid_pre':
    case 'resid_mid':
    case 'resid_post':
      return `blocks.${site.layer}.hook_${site.kind}${streamSuffix(site.stream)}`;
    case 'branch_in':
      return `blocks.${site.layer}.hook_${site.module}_in`;
    case 'branch_out':
      return `blocks.${site.layer}.hook_${site.module}_out`;
    case 'read':
    case 'write':
    case 'mixing':
      return `blocks.${site.layer}.hc_${site.module}.hook_${site.kind}`;
    case 'ln_final':
      return `ln_final.hook_normalized${streamSuffix(site.stream)}`;
  }
}

const PATTERNS: [RegExp, (m: RegExpMatchArray) => HookSite][] = [
  [/^hook_embed$/, () => ({ kind: 'embed' })],
  [/^hook_pos_embed$/, () => ({ kind: 'pos_embed' })],
  [/^blocks\.(\d+)\.hook_(resid_pre|resid_mid|resid_post)(?:\[(\d+)\])?$/, (m) => withStream({ kind: m[2] as 'resid_pre', layer: Number(m[1]) }, m[3])],
  [/^blocks\.(\d+)\.hook_(attn|mlp)_(in|out)$/, (m) => ({ kind: m[3] === 'in' ? 'branch_in' : 'branch_out', layer: Number(m[1]), module: m[2] as Sublayer })],
  [/^blocks\.(\d+)\.hc_(attn|mlp)\.hook_(read|write|mixing)$/, (m) => ({ kind: m[3] as 'read', layer: Number(m[1]), module: m[2] as Sublayer })],
  [/^ln_final\.hook_normalized(?:\[(\d+)\])?$/, (m) => withStream({ kind: 'ln_final' }, m[1])],
];

function withStream<S extends HookSite>(site: S, stream: string | undefined): S {
  return stream === undefined ? site : { ...site, stream: Number(stream) };
}

export function parseHookName(name: string): HookSite {
  for (const [re, build] of PATTERNS) {
    const m = name.match(re);
    if (m) return build(m);
  }
  throw new ConfigError(`unknown hook name ${shown(name)} (expected e.g. "blocks.3.hook_resid_post" or "blocks.3.hook_resid_post[2]")`);
}
