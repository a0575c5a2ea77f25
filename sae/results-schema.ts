// The JSON files `hcprobe sae` writes, as types: the contract with the report. Layout:
//   <out>/<mode>/summary.json                 SaeSummary (every SAE of the run)
//   <out>/<mode>/layer=L[/stream=i]/metrics.json     SaeMetricsFile
//   <out>/<mode>/layer=L[/stream=i]/dashboards.json  FeatureDashboards
//   <out>/<mode>/layer=L[/stream=i]/sae.safetensors + cfg.json (see save.ts)
// Numbers are plain JSON numbers; NaN and ±Infinity are written as null.

export const SAE_SCHEMA_VERSION = 1;

/** How an SAE sees the streams: one SAE per stream, one on their concatenation, one on their sum. */
export const SAE_MODES = ['per-stream', 'concat', 'summed'] as const;
export type SaeModeName = (typeof SAE_MODES)[number];
/** The activation of an SAE (sae/config.ts's SaeKind holds each kind's parameters). */
export const SAE_KINDS = ['topk', 'batchtopk', 'relu', 'jumprelu', 'matryoshka'] as const;
export type SaeKindName = (typeof SAE_KINDS)[number];

/** Which SAE: what it was trained on. */
export interface SaeIdentity {
  mode: SaeModeName;
  site: string;
  module: 'attn' | 'mlp';
  layer: number;
  /** per-stream: the stream; concat and summed: null. */
  stream: number | null;
  /** TransformerLens-style hook the input comes from, e.g. `blocks.1.hook_resid_post[2]`. */
  hook_name: string;
  /** Folder relative to <out>/<mode>/. */
  path: string;
}

export interface CeMetrics {
  /** Next-token cross-entropy of the unmodified model on the held-out sequences. */
  orig: number;
  /** With the SAE's reconstruction spliced in at the hook. */
  sae: number;
  /** With the activation zero-ablated (docs/metrics.md baseline). */
  zero: number;
  /** (zero − sae) / (zero − orig). */
  recovered: number | null;
  /** sae − orig. */
  delta: number;
  tokens: number;
  /** How the reconstruction was spliced in (summed mode spreads x̂ − x evenly over streams). */
  splice: string;
  /** KL(clean ‖ spliced) of the next-token distributions, nats per token, over the same positions. */
  kl?: number;
}

/** Decoder directions: per latent the largest cosine to another latent's decoder row. */
export interface DecoderSimilarity {
  /** Mean over latents of max_{j ≠ i} cos(W_dec,i, W_dec,j). */
  mean_max_cos: number;
  /** Fraction of latents whose max cosine exceeds `threshold` ("near-duplicate latents"). */
  near_duplicate: number;
  threshold: number;
}

export interface EvalMetrics {
  tokens: number;
  l0: number;
  ev: number | null;
  fvu: number | null;
  /** E‖x − x̂‖² per token, raw units. */
  mse: number;
  /** Latents with density 0 on the held-out tokens. */
  dead_fraction_eval: number;
  dense_1pct: number;
  dense_10pct: number;
  ce: CeMetrics | null;
  /** Why ce is null, when it is. */
  ce_note?: string;
  /** Mean over tokens of ‖x̂‖/‖x‖ (1: no shrinkage; below 1: the SAE shrinks its reconstructions). */
  shrinkage?: number;
  decoder?: DecoderSimilarity;
  /** matryoshka: EV of each prefix's reconstruction alone. */
  prefix_ev?: { size: number; ev: number | null }[];
}

export interface TrainingSummary {
  tokens: number;
  steps: number;
  seconds: number;
  tokens_per_s: number;
  final_loss: number;
  final_fvu: number;
  final_l0: number;
  /** docs/metrics.md: no firing in the last 10M training tokens, or the whole run if shorter. */
  dead_fraction: number;
  input_scale: number;
  lr: number;
  /** BatchTopK, Matryoshka: the inference threshold θ on activations; JumpReLU: the mean θ_i. */
  threshold: number | null;
}

export interface LabelMatch {
  label: string;
  value: string;
  latent: number;
  corr: number;
  /** The stream the latent lives in: per-stream its SAE's stream, concat its top share; summed null. */
  stream: number | null;
  /** concat: the latent's share in that stream. */
  share?: number;
  /** per-stream: the SAE (path) holding the latent. */
  sae?: string;
}

export interface ConcentrationSummary {
  live: number;
  concentrated: number;
  threshold: number;
  by_stream: number[];
  mean_shares: number[];
  dominant: number;
  dominance: number;
  n_eff: number;
  /** Per stream: fraction of live features whose largest share is in that stream (sums to 1). */
  top_stream?: number[];
  /** Mean over live features of the largest share. */
  mean_top_share?: number;
  /** argmax of top_stream: the stream most live features live in. */
  majority?: number;
}

export interface SaeMetricsFile extends SaeIdentity {
  schema_version: typeof SAE_SCHEMA_VERSION;
  kind: SaeKindName;
  k: number | null;
  l1: number | null;
  /** relu: `row-norm` (‖W_dec,i‖) or the crosscoder's `stream-norms` (Σ_s ‖W_dec[i, block s]‖). */
  decoder_penalty?: 'row-norm' | 'stream-norms';
  /** jumprelu: λ and ε. */
  l0_coef?: number;
  bandwidth?: number;
  /** matryoshka: the nested prefix sizes. */
  prefixes?: number[];
  d_in: number;
  d_sae: number;
  training: TrainingSummary;
  eval: EvalMetrics;
  /** concat only. */
  attribution: ConcentrationSummary | null;
  /** Planted-label match within this SAE (corpora with labels). */
  labels: LabelMatch[];
}

export interface FeatureContext {
  activation: number;
  seq: number;
  pos: number;
  /** Token ids of the window; `mark` indexes the activating token. */
  tokens: number[];
  text: string[];
  mark: number;
}

export interface FeatureCard {
  latent: number;
  density: number;
  mean_activation: number;
  max_activation: number;
  /** Counts of non-zero activations in `histogram_bins` equal bins over (0, max_activation]. */
  histogram: number[];
  /** concat only: share per stream, and the top stream. */
  stream_shares?: number[];
  top_stream?: number;
  contexts: FeatureContext[];
  labels: { label: string; value: string; corr: number }[];
}

export interface FeatureDashboards extends SaeIdentity {
  schema_version: typeof SAE_SCHEMA_VERSION;
  histogram_bins: number;
  context: { before: number; after: number };
  /** Why these features: planted-label matches first, then the densest live ones. */
  selection: string;
  features: FeatureCard[];
}

/** mean, sample standard deviation (n − 1; 0 for one value), min and max over seeds. */
export interface Spread {
  mean: number;
  std: number;
  min: number;
  max: number;
}

/** One seed's concat SAE: how its live latents are attributed to streams. */
export interface SeedAttribution {
  seed: number;
  /** Folder relative to <out>/<mode>/. */
  path: string;
  live: number;
  /** Per stream: fraction of live latents whose largest share is in that stream (sums to 1). */
  top_stream: number[];
  /** Per stream: fraction of live latents concentrated there (top share > threshold), as attribution.by_stream. */
  by_stream: number[];
  /** Mean over live latents of the largest share: 1/n spread evenly, 1 one stream each. */
  mean_top_share: number;
  /** The stream with the most live latents (argmax of top_stream). */
  majority: number;
  ev: number | null;
}

/** Stream attribution over several SAE seeds (`hcprobe sae --seeds`), per layer. */
export interface SeedStability {
  layer: number;
  seeds: number[];
  per_seed: SeedAttribution[];
  /** Per stream, across seeds. */
  top_stream: Spread[];
  by_stream: Spread[];
  mean_top_share: Spread;
  /** True when every seed has the same majority stream: "features live in stream i" is stable. */
  stable: boolean;
  /** That stream when stable, else null. */
  majority: number | null;
}

export interface SaeSummary {
  schema_version: typeof SAE_SCHEMA_VERSION;
  acts: string;
  run: string | null;
  checkpoint: string;
  mode: SaeModeName;
  site: string;
  module: 'attn' | 'mlp';
  layers: number[];
  n_streams: number;
  d_model: number;
  kind: SaeKindName;
  k: number | null;
  expansion: number;
  tokens: number;
  seed: number;
  command: string[];
  saes: (SaeIdentity & { d_in: number; d_sae: number; eval: EvalMetrics; dead_fraction: number; attribution: ConcentrationSummary | null })[];
  /** Per layer: for each label value, the best latent over the layer's SAEs, and its stream. */
  planted: { layer: number; matches: LabelMatch[]; mean_abs_corr: number }[];
  /** concat with --seeds: attribution per seed and across seeds, per layer; `saes` holds the first seed's. */
  seed_stability?: SeedStability[];
}
