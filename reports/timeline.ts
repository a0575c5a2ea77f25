// The "over training" timeline: per checkpoint, the numbers the report draws against the step,
// read from that checkpoint's results (diagnose, probe, sae --checkpoints): last-layer dominance,
// mean identity distance of A_r, probe accuracy per stream, SAE attribution per stream (pure).
import type { DiagnosticsResult, ProbeRecord, ProbesResult } from '../probes/results-schema.ts';
import type { SaeSummary } from '../sae/results-schema.ts';

/** What one checkpoint's results folder held; absent parts stay absent. */
export interface CheckpointResults {
  step: number;
  diagnostics?: DiagnosticsResult;
  probes?: ProbesResult;
  /** The concat-mode SAE summary: the only mode with a stream attribution. */
  sae?: SaeSummary;
}

/** Per label: test accuracy of the probe on each stream alone (null where not probed) and on their sum. */
export interface ProbeByStream {
  label: string;
  site: string;
  layer: number;
  module: string;
  accuracy: (number | null)[];
  sum: number | null;
  chance: number;
}

export interface TimelineRow {
  step: number;
  /** Signal shares of resid_post after the last captured layer's MLP (the block's output). */
  layer: number | null;
  dominance: number | null;
  dominant: number | null;
  n_eff: number | null;
  /** Mean over modules of ‖Ā_r − I‖_F/√n (the token-averaged mixing), and each module's. */
  identity_distance: number | null;
  identity_by_module: { module: string; value: number }[];
  probes: ProbeByStream[];
  /**
   * Last SAE layer of the concat mode: fraction of live latents concentrated (top share > threshold)
   * in each stream, and each stream's decoder share averaged over live latents.
   */
  sae: { layer: number; by_stream: number[]; concentrated: number; live: number; threshold: number; mean_shares: number[] } | null;
}

export interface Timeline {
  nStreams: number;
  rows: TimelineRow[];
  /** Labels probed at any checkpoint, in first-seen order. */
  labels: string[];
}

const mean = (xs: readonly number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);

function dominanceOf(d: DiagnosticsResult | undefined): Pick<TimelineRow, 'layer' | 'dominance' | 'dominant' | 'n_eff'> {
  const post = (d?.streams ?? []).filter((s) => s.site === 'resid_post');
  const last = Math.max(...post.map((s) => s.layer));
  const at = post.filter((s) => s.layer === last);
  const row = at.find((s) => s.module === 'mlp') ?? at[0];
  return row ? { layer: row.layer, dominance: row.signal.dominance, dominant: row.signal.dominant, n_eff: row.signal.n_eff } : { layer: null, dominance: null, dominant: null, n_eff: null };
}

/**
 * Per label, the probes at one place: site resid_post (else the first probed site), module mlp
 * (else attn), the last probed layer — the place that matches the dominance above.
 */
export function probesByStream(p: ProbesResult | undefined, nStreams: number): ProbeByStream[] {
  if (!p) return [];
  const out: ProbeByStream[] = [];
  for (const { name } of p.labels) {
    const recs = p.probes.filter((r) => r.label === name);
    const site = recs.some((r) => r.site === 'resid_post') ? 'resid_post' : recs[0]?.site;
    const atSite = recs.filter((r) => r.site === site);
    const module = atSite.some((r) => r.module === 'mlp') ? 'mlp' : 'attn';
    const atModule = atSite.filter((r) => r.module === module);
    if (atModule.length === 0 || site === undefined) continue;
    const layer = Math.max(...atModule.map((r) => r.layer));
    const here = atModule.filter((r) => r.layer === layer);
    const find = (s: ProbeRecord['stream']) => here.find((r) => r.stream === s);
    out.push({
      label: name, site, layer, module,
      accuracy: Array.from({ length: nStreams }, (_, i) => find(i)?.accuracy ?? null),
      sum: find('sum')?.accuracy ?? null,
      chance: (here[0] as ProbeRecord).chance,
    });
  }
  return out;
}

function saeOf(s: SaeSummary | undefined): TimelineRow['sae'] {
  const withAttribution = (s?.saes ?? []).filter((x) => x.attribution !== null);
  const last = withAttribution.reduce<(typeof withAttribution)[number] | undefined>((a, x) => (a === undefined || x.layer > a.layer ? x : a), undefined);
  const a = last?.attribution;
  return last && a ? { layer: last.layer, by_stream: a.by_stream, concentrated: a.concentrated, live: a.live, threshold: a.threshold, mean_shares: a.mean_shares } : null;
}

/** One row per checkpoint, in step order. */
export function buildTimeline(checkpoints: readonly CheckpointResults[], nStreams: number): Timeline {
  const rows = [...checkpoints].sort((a, b) => a.step - b.step).map((c): TimelineRow => {
    const coeffs = c.diagnostics?.coefficients ?? [];
    return {
      step: c.step,
      ...dominanceOf(c.diagnostics),
      identity_distance: mean(coeffs.map((k) => k.identity_distance)),
      identity_by_module: [...coeffs].sort((a, b) => a.index - b.index).map((k) => ({ module: `L${k.layer} ${k.module}`, value: k.identity_distance })),
      probes: probesByStream(c.probes, nStreams),
      sae: saeOf(c.sae),
    };
  });
  const labels = [...new Set(rows.flatMap((r) => r.probes.map((p) => p.label)))];
  return { nStreams, rows, labels };
}
