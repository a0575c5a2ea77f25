// Saved SAEs in SAELens' layout: W_enc [d, m], W_dec [m, d], b_enc [m], b_dec [d] (BatchTopK adds
// JumpReLU's `threshold` [m]) with the input scale folded in, and cfg.json. SAELens reads the weights
// as sae_weights.safetensors; sparsify cannot load them (nn.Linear encoder [m, d], strict load).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, shown } from '../src/errors.ts';
import { writeFileAtomic } from '../src/io/atomic-write.ts';
import { readSafetensorsFile, writeSafetensorsFile } from '../src/io/safetensors.ts';
import type { SaeKind } from './config.ts';
import { foldScale, paramsFromWeights, type SaeParams, type SaeWeights } from './sae-params.ts';

export interface SaeCfgContext {
  hookName: string;
  layer: number;
  seqLen: number;
  modelName: string;
  datasetPath: string;
  extra: Record<string, unknown>;
}

export function saeCfg(p: SaeParams, c: SaeCfgContext): Record<string, unknown> {
  const k = p.act.kind === 'relu' ? null : p.act.k;
  return {
    // SAELens fields
    architecture: p.act.kind === 'topk' ? 'topk' : p.act.kind === 'batchtopk' ? 'jumprelu' : 'standard',
    d_in: p.dIn,
    d_sae: p.dSae,
    activation_fn: p.act.kind === 'topk' ? 'topk' : 'relu',
    activation_fn_kwargs: k === null || p.act.kind !== 'topk' ? {} : { k },
    apply_b_dec_to_input: true,
    normalize_activations: 'none',
    dtype: 'float32',
    device: 'cpu',
    hook_name: c.hookName,
    hook_layer: c.layer,
    hook_head_index: null,
    context_size: c.seqLen,
    prepend_bos: false,
    model_name: c.modelName,
    dataset_path: c.datasetPath,
    // sparsify's config names, for readers that look for them (sparsify cannot load the weights)
    num_latents: p.dSae,
    k,
    expansion_factor: p.dSae / p.dIn,
    normalize_decoder: true,
    multi_topk: false,
    // ours
    kind: p.act.kind,
    l1: p.act.kind === 'relu' ? p.act.l1 : null,
    threshold: p.threshold,
    input_scale_folded: p.scale,
    ...c.extra,
  };
}

/** Writes sae.safetensors and cfg.json into dir (the caller checked --force). */
export function writeSae(dir: string, p: SaeParams, ctx: SaeCfgContext): void {
  const w = foldScale(p);
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>([
    ['W_enc', { shape: [w.dIn, w.dSae], data: w.W_enc }],
    ['W_dec', { shape: [w.dSae, w.dIn], data: w.W_dec }],
    ['b_enc', { shape: [w.dSae], data: w.b_enc }],
    ['b_dec', { shape: [w.dIn], data: w.b_dec }],
  ]);
  if (w.threshold !== null) tensors.set('threshold', { shape: [w.dSae], data: new Float32Array(w.dSae).fill(w.threshold) });
  writeSafetensorsFile(join(dir, 'sae.safetensors'), tensors, { format: 'pt', hcprobe_kind: p.act.kind }, { force: true });
  writeJson(join(dir, 'cfg.json'), saeCfg(p, ctx));
}

/** Reads an SAE written by writeSae, as parameters on raw inputs (scale 1). */
export function readSae(dir: string): SaeParams {
  const path = join(dir, 'cfg.json');
  let cfg: Record<string, unknown>;
  try {
    cfg = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch {
    throw new ConfigError(`${shown(path)} is missing or not JSON`);
  }
  const file = readSafetensorsFile(join(dir, 'sae.safetensors'));
  const get = (name: string) => {
    const t = file.tensors.get(name);
    if (!t) throw new ConfigError(`${dir}/sae.safetensors has no tensor ${shown(name)}`);
    return t.data as Float32Array;
  };
  const kind = cfg.kind as SaeKind['kind'];
  const act: SaeKind = kind === 'relu' ? { kind, l1: Number(cfg.l1) } : { kind, k: Number(cfg.k) };
  const w: SaeWeights = {
    dIn: Number(cfg.d_in),
    dSae: Number(cfg.d_sae),
    act,
    W_enc: get('W_enc'),
    W_dec: get('W_dec'),
    b_enc: get('b_enc'),
    b_dec: get('b_dec'),
    threshold: typeof cfg.threshold === 'number' ? cfg.threshold : null,
  };
  return paramsFromWeights(w);
}

/** JSON with NaN/±Infinity as null, written atomically; `compact` drops the indentation (dashboards). */
export function writeJson(path: string, value: unknown, compact = false): void {
  const text = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), compact ? undefined : 2);
  writeFileAtomic(path, `${text}\n`, { force: true });
}
