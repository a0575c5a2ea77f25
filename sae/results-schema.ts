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
export const SAE_KINDS = ['topk', 'batchtopk', 'relu'] as const;
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
  /** BatchTopK: the inference threshold θ on activations. */
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
}

export interface SaeMetricsFile extends SaeIdentity {
  schema_version: typeof SAE_SCHEMA_VERSION;
  kind: SaeKindName;
  k: number | null;
  l1: number | null;
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
}
