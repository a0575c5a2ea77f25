// Sparse autoencoder configuration (docs/metrics.md): the kinds as a tagged union, the training
// defaults with their reasons, and the learning-rate rule lr = 2e-4 / √(m / 16384).
import { ConfigError, shown } from '../src/errors.ts';
import type { SaeKindName } from './results-schema.ts';

/**
 * `topk` keeps k per token; `batchtopk` k·B per batch (θ at inference); `relu` + L1, whose
 * penalty weight is ‖W_dec,i‖ or, with `streamBlocks` n, the crosscoder's Σ_s ‖W_dec[i, block s]‖;
 * `jumprelu` a learned threshold per latent with an L0 penalty λ (straight-through, bandwidth ε);
 * `matryoshka` BatchTopK whose nested prefixes of `prefixes` latents each reconstruct the input.
 */
export type SaeKind =
  | { kind: 'topk'; k: number }
  | { kind: 'batchtopk'; k: number }
  | { kind: 'relu'; l1: number; streamBlocks?: number }
  | { kind: 'jumprelu'; l0: number; bandwidth: number }
  | { kind: 'matryoshka'; k: number; prefixes: number[] };

/** The kinds whose sparsity is a fixed k per token (or per batch). */
export function kOf(act: SaeKind): number | null {
  return act.kind === 'topk' || act.kind === 'batchtopk' || act.kind === 'matryoshka' ? act.k : null;
}

export interface SaeTrainConfig {
  act: SaeKind;
  /** Input width d. */
  dIn: number;
  /** Number of latents m. */
  dSae: number;
  /** Training tokens (rows); steps = ⌈tokens / batch⌉. */
  tokens: number;
  batch: number;
  /** Adam step size; undefined → the rule 2e-4/√(m/16384) (docs/metrics.md). */
  lr?: number;
  seed: number;
  auxkCoef: number;
  /** Latents the AuxK loss may use per token; d/2 (docs/metrics.md). */
  kAux: number;
  /** Tokens without firing after which a latent counts as dead (capped by the run length). */
  deadTokens: number;
  gradClip: number;
  beta1: number;
  beta2: number;
  eps: number;
}

/** Defaults, each with its reason. */
export const SAE_DEFAULTS = {
  kind: 'topk' as SaeKindName, // Gao et al. 2024: no L1 tuning, L0 fixed by construction
  k: 32, // Gao et al.'s common setting; small models still reconstruct well at 32
  l1: 5, // Anthropic (April 2024 update) with inputs scaled to E‖x‖² = d
  l0: 0.1, // JumpReLU λ per firing, in squared-error units of inputs with E‖x‖² = d; eval L0 ≈ 60 after 48 steps on the tiny mHC-lite demo capture (n 4, d 64, m 1024)
  bandwidth: 0.1, // JumpReLU ε in units of inputs with E‖x‖² = d, where pre-activations are O(1): a tenth of that (SAELens' 0.001 is for much smaller activations)
  threshold0: 1, // JumpReLU's θ before trainSae sets θ_i from the first batch (sae/train.ts, initThresholds)
  expansion: 8, // m = 8·d: wide enough to split planted features, cheap on a CPU
  batch: 4096, // tokens per step, as in SAELens and sparsify
  auxkCoef: 1 / 32, // Gao et al.
  deadTokens: 10_000_000, // Gao et al.: dead = no firing in the last 10M tokens
  gradClip: 1, // docs/metrics.md
  beta1: 0.9, // Adam's usual moments (Gao et al. use the same)
  beta2: 0.999,
  eps: 1e-8,
};

/** docs/metrics.md: Adam lr 2e-4 / √(m / 16384). */
export function defaultLr(dSae: number): number {
  return 2e-4 / Math.sqrt(dSae / 16384);
}

export function lrOf(c: SaeTrainConfig): number {
  return c.lr ?? defaultLr(c.dSae);
}

/** A full config from the essentials; throws ConfigError on values that cannot train. */
export function saeTrainConfig(o: { act: SaeKind; dIn: number; dSae: number; tokens: number; batch?: number; lr?: number; seed?: number; kAux?: number }): SaeTrainConfig {
  const c: SaeTrainConfig = {
    act: o.act,
    dIn: o.dIn,
    dSae: o.dSae,
    tokens: o.tokens,
    batch: o.batch ?? SAE_DEFAULTS.batch,
    seed: o.seed ?? 0,
    auxkCoef: SAE_DEFAULTS.auxkCoef,
    kAux: o.kAux ?? Math.max(1, Math.floor(o.dIn / 2)),
    deadTokens: SAE_DEFAULTS.deadTokens,
    gradClip: SAE_DEFAULTS.gradClip,
    beta1: SAE_DEFAULTS.beta1,
    beta2: SAE_DEFAULTS.beta2,
    eps: SAE_DEFAULTS.eps,
    ...(o.lr === undefined ? {} : { lr: o.lr }),
  };
  return validateSaeConfig(c);
}

export function validateSaeConfig(c: SaeTrainConfig): SaeTrainConfig {
  const int = (name: string, v: number) => {
    if (!Number.isInteger(v) || v < 1) throw new ConfigError(`${name} must be a positive integer, got ${shown(v)}`);
  };
  int('d_in', c.dIn);
  int('d_sae', c.dSae);
  int('tokens', c.tokens);
  int('batch', c.batch);
  const a = c.act;
  if (a.kind === 'relu') {
    if (!(a.l1 >= 0)) throw new ConfigError(`--l1 must be a number ≥ 0, got ${shown(a.l1)}`);
    if (a.streamBlocks !== undefined && (!Number.isInteger(a.streamBlocks) || a.streamBlocks < 1 || c.dIn % a.streamBlocks !== 0)) throw new ConfigError(`the stream-norms penalty needs the input width ${c.dIn} to split into ${shown(a.streamBlocks)} equal stream blocks`);
  } else if (a.kind === 'jumprelu') {
    if (!(a.l0 >= 0 && Number.isFinite(a.l0))) throw new ConfigError(`--l0-coef must be a number ≥ 0, got ${shown(a.l0)}`);
    if (!(a.bandwidth > 0 && Number.isFinite(a.bandwidth))) throw new ConfigError(`--bandwidth must be a positive number, got ${shown(a.bandwidth)}`);
  } else {
    int('--k', a.k);
    if (a.k > c.dSae) throw new ConfigError(`--k ${a.k} is larger than the SAE width ${c.dSae} (d_in ${c.dIn} × expansion)`);
    if (a.kind === 'matryoshka') checkPrefixes(a.prefixes, c.dSae);
  }
  if (c.lr !== undefined && !(c.lr > 0 && Number.isFinite(c.lr))) throw new ConfigError(`--lr must be a positive number, got ${shown(c.lr)}`);
  return { ...c, kAux: Math.min(c.kAux, c.dSae) };
}

/**
 * Matryoshka prefix sizes by default (our choice; Bussmann et al. 2025 nest a few sizes growing
 * geometrically): m/64, m/16, m/4 and m, keeping those ≥ 1, so the smallest prefix is a handful
 * of latents that must reconstruct the input alone.
 */
export function defaultPrefixes(dSae: number): number[] {
  const out = [64, 16, 4].map((q) => Math.floor(dSae / q)).filter((p) => p >= 1);
  return [...new Set([...out, dSae])];
}

/** Strictly increasing positive sizes ending at m. */
export function checkPrefixes(prefixes: readonly number[], dSae: number): void {
  const bad = prefixes.length === 0 || prefixes.some((p, i) => !Number.isInteger(p) || p < 1 || (i > 0 && p <= (prefixes[i - 1] as number)));
  if (bad || prefixes.at(-1) !== dSae) throw new ConfigError(`--prefixes must be increasing positive integers ending at the SAE width ${dSae}, got ${shown(prefixes.join(','))}`);
}
