// Saved SAEs in SAELens' layout: W_enc [d, m], W_dec [m, d], b_enc [m], b_dec [d] (JumpReLU, and
// BatchTopK and Matryoshka with their one θ, add `threshold` [m]) with the input scale folded in, and
// cfg.json. SAELens reads the weights as sae_weights.safetensors; sparsify cannot (strict nn.Linear load).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, shown } from '../src/errors.ts';
import { writeFileAtomic } from '../src/io/atomic-write.ts';
import { readSafetensorsFile, writeSafetensorsFile } from '../src/io/safetensors.ts';
import { kOf, type SaeKind } from './config.ts';
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
  const a = p.act;
  const k = kOf(a);
  return {
    // SAELens fields
    architecture: a.kind === 'topk' ? 'topk' : a.kind === 'relu' ? 'standard' : 'jumprelu',
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
    // SAELens' training-config name for ε
    jumprelu_bandwidth: a.kind === 'jumprelu' ? a.bandwidth : null,
    // ours
    kind: a.kind,
    l1: a.kind === 'relu' ? a.l1 : null,
    decoder_penalty: a.kind === 'relu' ? (a.streamBlocks === undefined ? 'row-norm' : 'stream-norms') : null,
    stream_blocks: a.kind === 'relu' ? (a.streamBlocks ?? null) : null,
    l0_coef: a.kind === 'jumprelu' ? a.l0 : null,
    matryoshka_prefixes: a.kind === 'matryoshka' ? a.prefixes : null,
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
  const theta = w.thresholds ?? (w.threshold === null ? null : new Float32Array(w.dSae).fill(w.threshold));
  if (theta) tensors.set('threshold', { shape: [w.dSae], data: theta });
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
  const act = kindOf(cfg);
  const w: SaeWeights = {
    dIn: Number(cfg.d_in),
    dSae: Number(cfg.d_sae),
    act,
    W_enc: get('W_enc'),
    W_dec: get('W_dec'),
    b_enc: get('b_enc'),
    b_dec: get('b_dec'),
    threshold: typeof cfg.threshold === 'number' ? cfg.threshold : null,
    thresholds: act.kind === 'jumprelu' ? get('threshold') : null,
  };
  return paramsFromWeights(w);
}

/** The kind and its parameters from cfg.json's own fields (saeCfg's inverse). */
function kindOf(cfg: Record<string, unknown>): SaeKind {
  const kind = cfg.kind as SaeKind['kind'];
  switch (kind) {
    case 'relu':
      return { kind, l1: Number(cfg.l1), ...(typeof cfg.stream_blocks === 'number' ? { streamBlocks: cfg.stream_blocks } : {}) };
    case 'jumprelu':
      return { kind, l0: Number(cfg.l0_coef), bandwidth: Number(cfg.jumprelu_bandwidth) };
    case 'matryoshka':
      return { kind, k: Number(cfg.k), prefixes: (cfg.matryoshka_prefixes as number[]).map(Number) };
    case 'topk':
    case 'batchtopk':
      return { kind, k: Number(cfg.k) };
    default:
      throw new ConfigError(`cfg.json names an unknown SAE kind ${shown(kind)}`);
  }
}

/** JSON with NaN/±Infinity as null, written atomically; `compact` drops the indentation (dashboards). */
export function writeJson(path: string, value: unknown, compact = false): void {
  const text = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), compact ? undefined : 2);
  writeFileAtomic(path, `${text}\n`, { force: true });
}
