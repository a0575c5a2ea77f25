// The JSON that `hcprobe diagnose` and `hcprobe probe` write (schema_version 1): the contract
// with the report. Matrices are nested arrays, row index first; streams are 0-based.
import type { CaptureSite } from '../src/capture/schema.ts';
import type { Sublayer } from '../src/model/hooks.ts';
import type { PreConstraintDiagnostics } from './pre-constraint.ts';

export type { PreConstraintDiagnostics } from './pre-constraint.ts';

export const SCHEMA_VERSION = 1;

export type StreamSite = Exclude<CaptureSite, 'coeffs'>;

/** Shares that sum to one, with their concentration (docs/metrics.md). */
export interface ShareStats {
  shares: number[];
  dominance: number;
  dominant: number;
  n_eff: number;
  n_eff_simpson: number;
}

/** One stream site (resid_pre, resid_post, branch_in, branch_out) at one layer and module. */
export interface StreamSiteDiagnostics {
  site: StreamSite;
  layer: number;
  module: Sublayer;
  tokens: number;
  /** E‖H_i‖² per stream. */
  energy: number[];
  /** Signal shares s_i = E‖H_i‖² / Σ_j E‖H_j‖². */
  signal: ShareStats;
  /** [n][n] mean over tokens of cos(H_i, H_j); 1 on the diagonal. */
  cosine: number[][];
  /** Mean of the off-diagonal cosines (i < j); null with one stream. */
  mean_pairwise_cosine: number | null;
  /** [n][n] linear CKA between streams over tokens. */
  cka: number[][];
  mean_pairwise_cka: number | null;
  /** [n][n] test R² of a ridge regression predicting stream j (column) from stream i (row); 1 on the diagonal. */
  ridge_r2: number[][];
  /** [n][n] ridge strength α chosen on the validation split (λ = α·tr Cov_i / d). */
  ridge_alpha: number[][];
}

/** Mean and standard deviation over tokens, per stream. */
export interface TokenSpread {
  mean: number[];
  std: number[];
}

/** The HC coefficients of one module (captured per token at site `coeffs`). */
export interface ModuleCoefficientDiagnostics {
  layer: number;
  module: Sublayer;
  /** Forward index k = 2·layer + (mlp ? 1 : 0). */
  index: number;
  tokens: number;
  /** Token means of A_m, A_r ([s][t] mixes s into t) and B, and their spread. */
  read_mean: number[];
  read_std: number[];
  mixing_mean: number[][];
  mixing_std: number[][];
  write_mean: number[];
  write_std: number[];
  /** Shares of the token-averaged A_m and B (negative weights count as zero). */
  read: ShareStats;
  write: ShareStats;
  /** Per-token shares p_i = A_m[i]/Σ A_m and q_i = B[i]/Σ B over tokens. */
  read_share_tokens: TokenSpread;
  write_share_tokens: TokenSpread;
  /** ‖Ā_r − I‖_F/√n and 1 − tr(Ā_r)/n of the token-averaged A_r. */
  identity_distance: number;
  off_diagonal_mass: number;
  /** The same metrics per token, then averaged. */
  identity_distance_token_mean: number;
  off_diagonal_mass_token_mean: number;
  /** mHC Amax gains of Ā_r: max row |sum| and max column |sum|. */
  amax: { forward: number; backward: number };
}

export interface DominanceConsistency {
  /** Signal shares of a stream site and module, or read/write shares of a module. */
  what: 'signal' | 'read' | 'write';
  site: CaptureSite;
  module: Sublayer;
  layers: number[];
  /** argmax stream per layer, in `layers` order. */
  dominant: number[];
  /** Whether one stream is dominant at every layer. */
  same: boolean;
}

export interface CausalDiagnostics {
  checkpoint: string;
  tokens: number;
  /** Validation CE of the unmodified model. */
  loss: number;
  /** [layer][stream] CE minus `loss` when stream i is zeroed / replaced by its mean at blocks.l.hook_resid_post[i]. */
  ablation_zero: number[][];
  ablation_mean: number[][];
  /** [layer][stream] CE of unembedding ln_f(H_i) alone (H at blocks.l.hook_resid_post). */
  logit_lens: number[][];
  /** [layer] CE of Σ_i ln_f(H_i): the model's own readout applied after layer l; the last equals `loss`. */
  logit_lens_sum: number[];
  /** CE change when every module's mixing is replaced (probes/mixing-interventions.ts); absent in older files. */
  mixing_interventions?: MixingIntervention[];
  /** Pair ablation and stream rescue after every layer (probes/ablate-rescue.ts); absent for one stream, with --no-rescue, and in older files. */
  ablate_rescue?: AblateRescue;
  /** Correct-token logit split over (source, final stream) (probes/direct-logit-attribution.ts); absent in older files. */
  direct_logit_attribution?: DirectLogitAttribution;
}

/** 'mean_logit': the logit of the target minus the mean logit over the vocabulary; 'none': the raw logit. */
export type DlaBaseline = 'mean_logit' | 'none';

/**
 * Direct logit attribution along the unfolded paths, per token with ln_f's scale frozen at the
 * token's own (exact for that token), then averaged over `tokens`. Sources: 'embed', '0.attn', …
 */
export interface DirectLogitAttribution {
  baseline: DlaBaseline;
  tokens: number;
  sources: string[];
  /** [source][stream] token mean of what the source carries through final stream i to the logit. */
  matrix: number[][];
  /** [stream] Σ over sources: the DLA carried by final stream i. */
  per_stream: number[];
  /** [source] Σ over streams. */
  per_source: number[];
  /** Token mean of Σ_i b·u, the ln_f bias' part of the logit, which no source carries. */
  ln_bias: number;
  /** Token mean of the model's logit (as `baseline` says); Σ matrix + ln_bias equals it. */
  logit: number;
  /** Largest |Σ pieces + ln_bias − logit| over tokens: the decomposition's float error. */
  max_abs_error: number;
}

/** One adjacent pair of modules in the unfolded matrix: how much `reader` (k+1) reads `writer` (k). */
export interface ArrangementPair {
  writer: string;
  reader: string;
  /** c_{k+1,k}. */
  weight: number;
  /** |c_{k+1,k}| / Σ_j |c_{k+1,j}| (embedding included): the share of the reader's input. */
  share: number;
  /** share × entries in the row: 1 when every entry is equal, as in a plain residual network. */
  relative: number;
  arrangement: 'sequential' | 'parallel';
}

/** The HC paper's reading of the unfolded matrix (§ visualization): sequential vs parallel modules. */
export interface LayerArrangement {
  /** A connection is absent ("≈ 0") when its relative weight is below this. */
  threshold: number;
  pairs: ArrangementPair[];
  /** Maximal runs of ≥ 2 consecutive modules none of which reads another's output (relative < threshold). */
  parallel_blocks: { start: number; end: number; modules: string[] }[];
  /** [module] the embedding's share and relative weight in each module's input. */
  embed_share: number[];
  embed_relative: number[];
  /** The first module from which on no module reads the embedding (relative < threshold); null if the last still does. */
  embed_eliminated_from: string | null;
  /** One or two sentences per finding, in the report's words. */
  sentences: string[];
}

/**
 * Can one stream stand in for another? At blocks.l.hook_resid_post (the output of layer l), on
 * `tokens` validation tokens of their own (--rescue-tokens, the first windows of the validation
 * split): Δ CE = CE(intervened) − CE(clean), the CE of each batch compared with the same batch
 * unmodified and the differences averaged over `batches`. Matrices are [layer][i][j], streams 0-based.
 */
export interface AblateRescue {
  tokens: number;
  batches: number;
  /** Clean CE on these tokens, each batch's mean CE averaged over batches. */
  loss: number;
  /** [layer][stream] E‖H_i‖² over the tokens. */
  energy: number[][];
  /** [layer] the stream with the largest E‖H_i‖²: the row rescue[l][·][dominant[l]] copies it in. */
  dominant: number[];
  /** [layer][stream] Δ CE when stream i alone is zeroed (no rescue), and its paired 95% t-interval (null with one batch). */
  ablate: number[][];
  ablate_ci_low: (number | null)[][];
  ablate_ci_high: (number | null)[][];
  /** [layer][i][j] Δ CE when streams i and j are both zeroed; symmetric, the diagonal is `ablate`. */
  pair_ablation: number[][][];
  /**
   * [layer][i][j] Δ CE when stream i is zeroed and stream j's clean content is put in its slot
   * ("can stream j stand in for i?"). j = i restores i from the clean run: exactly 0, a check.
   */
  rescue: number[][][];
  /** [layer][i][j] 1 − rescue / ablate: 1 a full rescue, 0 none, negative worse than zeroing; null when |ablate[l][i]| < min_ablate_delta. */
  rescued_fraction: (number | null)[][][];
  /** Nats: the smallest |ablate| for which a rescued fraction is given. */
  min_ablate_delta: number;
}

export type MixingInterventionName = 'identity' | 'no_off_diagonal' | 'token_mean' | 'permuted';

export interface MixingIntervention {
  name: MixingInterventionName;
  /** Mean over evaluation batches of CE(intervened) − CE(clean), and its paired 95% t-interval (null with one batch). */
  delta_ce: number;
  ci_low: number | null;
  ci_high: number | null;
  batches: number;
}

/** Whether the dominant stream is the one the init favoured (probes/init-bias.ts). */
export interface InitReadBias {
  /** The stream each module read at init, forward order (attn 0, mlp 0, attn 1, …). */
  read_streams: number[];
  /** How many modules read each stream at init. */
  counts: number[];
  /** The stream(s) most modules read at init. */
  favoured: number[];
  /** Dominant stream (signal shares) of resid_post after the last captured layer's MLP. */
  dominant: number | null;
  dominant_layer: number | null;
  dominant_is_favoured: boolean | null;
  /** The modules ("0.mlp", …) that read the dominant stream at init. */
  dominant_read_by: string[];
  /** Probability that a stream picked uniformly at random is favoured: |favoured| / n. */
  chance: number;
  /** Per module with captured coeffs: its init read stream and the stream it reads most now. */
  modules: { module: string; init: number; now: number; same: boolean }[];
}

export interface DiagnosticsResult {
  schema_version: 1;
  kind: 'diagnostics';
  created: string;
  acts: string;
  run: string | null;
  model: { connection: string; n_streams: number; n_layers: number; d_model: number; model_hash: string };
  tokens: number;
  streams: StreamSiteDiagnostics[];
  coefficients: ModuleCoefficientDiagnostics[];
  /** Amax gains of Π_k Ā_r^k over the captured modules in forward order. */
  mixing_product: { modules: number; matrix: number[][]; amax: { forward: number; backward: number } } | null;
  /** HC paper Eqs. 27–29 from token-averaged coefficients; null unless every layer's coeffs were captured. */
  unfolded: { modules: string[]; matrix: number[][]; embed: number[]; output: number[] } | null;
  dominance: DominanceConsistency[];
  causal: CausalDiagnostics | null;
  /** Null when the capture does not record the init read streams (e.g. a reference checkpoint). */
  init_read_bias?: InitReadBias | null;
  /** ν of A_r's logits before the constraint, column sums of A_r and of their per-token product, mHC-lite permutation entropy (probes/pre-constraint.ts); null without the run, for the residual model, or when switched off; absent in older files. */
  pre_constraint?: PreConstraintDiagnostics | null;
  /** Sequential vs parallel arrangement read off `unfolded` (probes/layer-arrangement.ts); absent without it and in older files. */
  layer_arrangement?: LayerArrangement;
  /** Why `causal` (or other parts) are null. */
  notes: string[];
}

export interface ProbeRecord {
  label: string;
  site: StreamSite;
  layer: number;
  module: Sublayer;
  stream: number | 'sum';
  /** Test accuracy of the task probe. */
  accuracy: number;
  /** Test accuracy of the same procedure on the Hewitt–Liang control task. */
  control_accuracy: number;
  selectivity: number;
  /** Test rate of the training split's majority class. */
  chance: number;
  /** Chosen L2 strength λ of mean CE + λ/2‖W‖² (scikit-learn's C = 1 / (λ·n_train)). */
  l2: number;
  control_l2: number;
  n_train: number;
  n_test: number;
}

export interface ProbesResult {
  schema_version: 1;
  kind: 'probes';
  created: string;
  acts: string;
  model: { connection: string; n_streams: number; n_layers: number; d_model: number; model_hash: string };
  /** The labels probed, with their class names. */
  labels: { name: string; values: string[] }[];
  split: { seed: number; train: number; val: number; test: number; sequences: { train: number; val: number; test: number } };
  l2_grid: number[];
  max_tokens: number | null;
  probes: ProbeRecord[];
  /** Labels or sites that could not be probed, with the reason. */
  skipped: { label: string; site?: StreamSite; layer?: number; module?: Sublayer; reason: string }[];
}
