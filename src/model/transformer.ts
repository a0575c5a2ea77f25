// The GPT-2 decoder with hyper-connection residual streams (docs/model.md): embed, expand to n
// streams, 2L connection modules around attention and MLP, ln_f per stream, sum, tied unembed.
import { mm } from '../engine/matmul.ts';
import { embeddingLookup } from '../engine/ops/embedding-lookup.ts';
import { tf, type Tensor } from '../engine/tf.ts';
import { attentionBranch, mlpBranch } from './branches.ts';
import type { ModelConfig } from './config.ts';
import type { Coefficients, LogitsHook } from './connections/coefficients.ts';
import { hcCoefficients } from './connections/hc.ts';
import { mhcLiteCoefficients } from './connections/mhc-lite.ts';
import { mhcCoefficients } from './connections/mhc.ts';
import { altupBlock } from './connections/altup.ts';
import { fracModule } from './connections/frac.ts';
import { postNormModule } from './connections/post-norm.ts';
import { readoutTerms, reduceTerms } from './connections/readout.ts';
import { residualDualModule } from './connections/residual-dual.ts';
import { depthConnection, widthConnection } from './connections/width-depth.ts';
import { type HookSite, type Hooks, type Sublayer, hookName } from './hooks.ts';
import { modulePrefix, param, type Params } from './params.ts';
import { expandStreams } from './stream-init.ts';

export interface ForwardOptions {
  hooks?: Hooks;
}

/** tokens: int32 [B, T] → logits [B, T, vocab]. */
export function forward(p: Params, c: ModelConfig, tokens: Tensor, opts: ForwardOptions = {}): Tensor {
  const at = hookRunner(opts.hooks);
  const H = blocksForward(p, c, tokens, at, c.nLayers); // [B, T, n, d]
  const [B, T] = H.shape as [number, number];
  const normed = at({ kind: 'ln_final' }, readoutTerms(p, c, H)); // [B, T, n, w]
  const reduced = reduceTerms(c, normed); // [B*T, d]
  return tf.reshape(mm(reduced, wte(p), false, true), [B, T, c.vocabSize]); // [B, T, vocab]
}

/**
 * tokens: int32 [B, T] → the residual streams [B, T, n, d] after the first `layers` blocks, hooks
 * run on the way: the part of forward that a reader of activations up to that layer needs, without
 * the later blocks and the unembedding.
 */
export function residualStreams(p: Params, c: ModelConfig, tokens: Tensor, layers: number, opts: ForwardOptions = {}): Tensor {
  return blocksForward(p, c, tokens, hookRunner(opts.hooks), Math.min(layers, c.nLayers));
}

const wte = (p: Params) => param(p, 'transformer.wte.weight');

function blocksForward(p: Params, c: ModelConfig, tokens: Tensor, at: At, layers: number): Tensor {
  const T = tokens.shape[1] as number;
  if (T > c.blockSize) throw new Error(`sequence of ${T} tokens is longer than the block size ${c.blockSize}`);
  const tok = at({ kind: 'embed' }, embeddingLookup(wte(p), tokens)); // [B, T, d]
  const pos = at({ kind: 'pos_embed' }, tf.slice(param(p, 'transformer.wpe.weight'), [0, 0], [T, -1])); // [T, d]
  let H = expandStreams(p, c, tf.add(tok, pos)); // [B, T, n, d]
  for (let l = 0; l < layers; l++) {
    H = at({ kind: 'resid_pre', layer: l }, H);
    if (c.connection.kind === 'altup') {
      H = altupBlock(p, c, l, H, at); // predicts, computes and corrects a whole block (resid_mid inside)
    } else {
      H = connectionModule(p, c, l, 'attn', H, at);
      H = at({ kind: 'resid_mid', layer: l }, H);
      H = connectionModule(p, c, l, 'mlp', H, at);
    }
    H = at({ kind: 'resid_post', layer: l }, H);
  }
  return H;
}

/** Mean next-token cross-entropy; logits [B, T, V], targets int32 [B, T]. */
export function crossEntropy(logits: Tensor, targets: Tensor): Tensor {
  const V = logits.shape[2] as number;
  const logp = tf.logSoftmax(tf.reshape(logits, [-1, V])); // [B*T, V]
  const picked = tf.sum(tf.mul(logp, tf.oneHot(tf.reshape(targets, [-1]), V)), -1); // [B*T]
  return tf.neg(tf.mean(picked)); // []
}

export function lossFn(p: Params, c: ModelConfig, tokens: Tensor, targets: Tensor, opts: ForwardOptions = {}): Tensor {
  return crossEntropy(forward(p, c, tokens, opts), targets);
}

interface At {
  (site: HookSite, x: Tensor): Tensor;
  hooked(site: HookSite): boolean;
}

function connectionModule(p: Params, c: ModelConfig, layer: number, module: Sublayer, H: Tensor, at: At): Tensor {
  const branch = module === 'attn' ? attentionBranch : mlpBranch;
  if (c.connection.kind === 'post-norm') return postNormModule(p, c, layer, module, H, at);
  if (c.connection.kind === 'residual-dual') return residualDualModule(p, c, layer, module, H, at);
  if (c.connection.kind === 'frac') return fracModule(p, c, layer, module, H, at);
  if (c.connection.kind === 'residual') {
    const [B, T, , d] = H.shape as [number, number, number, number];
    const x = at({ kind: 'branch_in', layer, module }, tf.reshape(H, [B, T, d]));
    const y = at({ kind: 'branch_out', layer, module }, branch(p, c, layer, x));
    return tf.reshape(tf.add(x, y), [B, T, 1, d]); // [B, T, 1, d]
  }
  const logitsSite: HookSite = { kind: 'mixing_logits', layer, module };
  const hookLogits: LogitsHook | undefined = at.hooked(logitsSite) ? (r) => at(logitsSite, r) : undefined;
  const coeffs = hookCoefficients(coefficients(p, c, modulePrefix(layer, module), H, hookLogits), layer, module, at);
  const { branchIn, mixed } = widthConnection(H, coeffs.alpha);
  const x = at({ kind: 'branch_in', layer, module }, branchIn); // [B, T, d]
  const y = at({ kind: 'branch_out', layer, module }, branch(p, c, layer, x)); // [B, T, d]
  return depthConnection(mixed, y, coeffs.write); // [B, T, n, d]
}

/** `hookLogits` reaches A_r's logits before the constraint (mhc, mhc-lite); hc's A_r has no constraint. */
function coefficients(p: Params, c: ModelConfig, prefix: string, H: Tensor, hookLogits?: LogitsHook): Coefficients {
  switch (c.connection.kind) {
    case 'hc':
      return hcCoefficients(p, c, prefix, H);
    case 'mhc':
      return mhcCoefficients(p, c, prefix, H, hookLogits);
    case 'mhc-lite':
      return mhcLiteCoefficients(p, c, prefix, H, hookLogits);
    case 'residual':
    case 'post-norm':
    case 'residual-dual':
    case 'altup':
    case 'frac':
      throw new Error(`connection ${c.connection.kind} has no HC coefficients`);
  }
}

/** Exposes A_m, A_r and B at their hook sites; alpha is split and rejoined only when hooked. */
function hookCoefficients(k: Coefficients, layer: number, module: Sublayer, at: At): Coefficients {
  const write = at({ kind: 'write', layer, module }, k.write);
  const readSite: HookSite = { kind: 'read', layer, module };
  const mixingSite: HookSite = { kind: 'mixing', layer, module };
  if (!at.hooked(readSite) && !at.hooked(mixingSite)) return { alpha: k.alpha, write };
  const n = k.write.shape[2] as number;
  const read = tf.squeeze(tf.slice(k.alpha, [0, 0, 0, 0], [-1, -1, -1, 1]), [3]); // [B, T, n]
  const mixing = tf.slice(k.alpha, [0, 0, 0, 1], [-1, -1, -1, n]); // [B, T, n, n]
  const [readOut, mixingOut] = [at(readSite, read), at(mixingSite, mixing)];
  // Hooks that only observe leave alpha as it was; one that replaces A_m or A_r rebuilds it.
  if (readOut === read && mixingOut === mixing) return { alpha: k.alpha, write };
  return { alpha: tf.concat([tf.expandDims(readOut, 3), mixingOut], 3), write };
}

/** Runs the hook of a site (whole tensor), then those of its streams (one slice each). */
function hookRunner(hooks: Hooks | undefined): At {
  if (!hooks || hooks.size === 0) return Object.assign((_site: HookSite, x: Tensor) => x, { hooked: () => false });
  const run = (site: HookSite, x: Tensor): Tensor => {
    const name = hookName(site);
    let out = apply(hooks, name, x);
    if (site.kind === 'resid_pre' || site.kind === 'resid_mid' || site.kind === 'resid_post' || site.kind === 'ln_final') {
      const n = out.shape[2] as number;
      for (let s = 0; s < n; s++) {
        const streamName = hookName({ ...site, stream: s });
        if (!hooks.has(streamName)) continue;
        const streams = tf.unstack(out, 2); // n × [B, T, d]
        streams[s] = apply(hooks, streamName, streams[s] as Tensor);
        out = tf.stack(streams, 2);
      }
    }
    return out;
  };
  return Object.assign(run, { hooked: (site: HookSite) => hooks.has(hookName(site)) });
}

function apply(hooks: Hooks, name: string, x: Tensor): Tensor {
  const fn = hooks.get(name);
  if (!fn) return x;
  const r = fn(x, name);
  if (!r) return x;
  if (r.shape.join() !== x.shape.join()) {
    throw new Error(`hook ${name} returned shape [${r.shape}] for an activation of shape [${x.shape}]`);
  }
  return r;
}
