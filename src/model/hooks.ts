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
  // A_r before its constraint: mhc [B, T, n, n], the logits R[s, t] entering Sinkhorn; mhc-lite
  // [B, T, n!], the permutation logits entering the softmax (identity first). hc has none.
  | { kind: 'mixing_logits'; layer: number; module: Sublayer }
  | { kind: 'ln_final'; stream?: number }; // [B, T, n, d] ln_f of each stream

/**
 * Observes an activation, or replaces it by returning a tensor of the same shape. A hook on a
 * stream-indexed name sees that stream's slice [B, T, d] and may replace only that slice.
 */
// biome-ignore lint/suspicious/noConfusingVoidType: an observing hook is any function that returns nothing
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
    case 'mixing_logits':
      return `blocks.${site.layer}.hc_${site.module}.hook_${site.kind}`;
    case 'ln_final':
      return `ln_final.hook_normalized${streamSuffix(site.stream)}`;
  }
}

/** Every site kind; at most one of them spells a given name, so their order does not matter. */
const SITE_KINDS = ['embed', 'pos_embed', 'resid_pre', 'resid_mid', 'resid_post', 'branch_in', 'branch_out', 'read', 'write', 'mixing', 'mixing_logits', 'ln_final'] as const;

/** The site of `kind` carrying whichever of layer, module and stream that kind has. */
function siteOfKind(kind: HookSite['kind'], layer: number, module: Sublayer, stream: number | undefined): HookSite {
  const s = stream === undefined ? {} : { stream };
  switch (kind) {
    case 'embed':
    case 'pos_embed':
      return { kind };
    case 'resid_pre':
    case 'resid_mid':
    case 'resid_post':
      return { kind, layer, ...s };
    case 'branch_in':
    case 'branch_out':
    case 'read':
    case 'write':
    case 'mixing':
    case 'mixing_logits':
      return { kind, layer, module };
    case 'ln_final':
      return { kind, ...s };
  }
}

/**
 * The inverse of hookName: the one site whose name is `name`. It reads the numbers and module
 * out of the name, builds each kind's candidate and keeps the one that hookName spells back
 * exactly, so that no name parses unless the builder would write it (no `blocks.01.`, no `[02]`).
 */
export function parseHookName(name: string): HookSite {
  const layer = Number(/^blocks\.(\d{1,9})\./.exec(name)?.[1] ?? 0);
  const stream = /\[(\d{1,9})\]$/.exec(name)?.[1];
  const module: Sublayer = name.includes('mlp') ? 'mlp' : 'attn';
  for (const kind of SITE_KINDS) {
    const site = siteOfKind(kind, layer, module, stream === undefined ? undefined : Number(stream));
    if (hookName(site) === name) return site;
  }
  throw new ConfigError(`unknown hook name ${shown(name)} (expected e.g. "blocks.3.hook_resid_post" or "blocks.3.hook_resid_post[2]")`);
}
