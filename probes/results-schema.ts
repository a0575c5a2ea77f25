// The JSON that `hcprobe diagnose` and `hcprobe probe` write (schema_version 1): the contract
// with the report. Matrices are nested arrays, row index first; streams are 0-based.
import type { CaptureSite } from '../src/capture/schema.ts';
import type { Sublayer } from '../src/model/hooks.ts';

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
}

export type MixingInterventionName = 'identity' | 'no_off_diagonal' | 'token_mean';

export interface MixingIntervention {
  name: MixingInterventionName;
  /** Mean over evaluation batches of CE(intervened) − CE(clean), and its paired 95% t-interval. */
  delta_ce: number;
  ci_low: number;
  ci_high: number;
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
