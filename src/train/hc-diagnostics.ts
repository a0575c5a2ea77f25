// Training-time HC diagnostics (docs/metrics.md) on a fixed validation batch: per module the
// token-averaged read/mixing/write coefficients and their metrics, per layer the signal shares.
import { tf, type Tensor } from '../engine/tf.ts';
import type { ModelConfig } from '../model/config.ts';
import { hookName, type Sublayer } from '../model/hooks.ts';
import type { Params } from '../model/params.ts';
import { disposeCachedRun, runWithCache } from '../model/run-with-cache.ts';
import { hasCoefficients as kindHasCoefficients, readPerStream } from '../model/stream-layout.ts';
import { amaxGains, eye, identityDistance, type Matrix, matmul, offDiagonalMass } from '../stats/mixing-metrics.ts';
import { summariseShares } from '../stats/stream-shares.ts';
import { unfoldedConnections } from '../stats/unfolded.ts';

export interface ModuleDiagnostics {
  layer: number;
  module: Sublayer;
  /** Token-averaged A_r, A_m and B. */
  mixing: Matrix;
  read: number[];
  write: number[];
  identity_distance: number;
  off_diagonal_mass: number;
  read_shares: number[];
  read_dominance: number;
  read_n_eff: number;
  write_shares: number[];
  write_dominance: number;
  write_n_eff: number;
  amax_forward: number;
  amax_backward: number;
}

export interface LayerDiagnostics {
  layer: number;
  /** Shares of E‖H_i‖² at resid_post. */
  signal_shares: number[];
  dominance: number;
  dominant: number;
  n_eff: number;
}

export interface HcDiagnostics {
  modules: ModuleDiagnostics[];
  layers: LayerDiagnostics[];
  /** Amax gains of the product of all modules' A_r. */
  product: { amax_forward: number; amax_backward: number };
  /** Unfolded connection matrix (HC paper Eqs. 27–29) of the token-averaged coefficients, modules in forward order. */
  unfolded?: { matrix: number[][]; embed: number[] };
}

const mean = (x: Tensor, axes: number[]) => Array.from(tf.mean(x, axes).dataSync());

/** What the diagnostics are computed from: token means over the diagnostic batch. */
export interface StreamMeans {
  /** Per layer, per stream: E‖H_s‖² at resid_post. */
  energies: number[][];
  /** Per module (layer, then attn before mlp): token means of A_m [n], A_r [n·n, row-major A_r[s, t]] and B [n]; empty for kinds without coefficients. */
  coefficients: { read: number[]; mixing: number[]; write: number[] }[];
}

/** The diagnostics of the tfjs model on `tokens` [B, T]. */
export function hcDiagnostics(p: Params, c: ModelConfig, tokens: Tensor): HcDiagnostics {
  return diagnosticsFromMeans(c, streamMeans(p, c, tokens));
}

/** Token means of the model on `tokens` through tfjs (runWithCache). */
export function streamMeans(p: Params, c: ModelConfig, tokens: Tensor): StreamMeans {
  const hasCoefficients = kindHasCoefficients(c.connection.kind);
  const layerIds = [...Array(c.nLayers).keys()];
  const sites = hasCoefficients ? layerIds.flatMap((layer) => (['attn', 'mlp'] as const).map((module) => ({ layer, module }))) : [];
  const coeffNames = sites.flatMap((s) => (['read', 'mixing', 'write'] as const).map((kind) => hookName({ kind, ...s })));
  const run = runWithCache(p, c, tokens, [...layerIds.map((layer) => hookName({ kind: 'resid_post', layer })), ...coeffNames]);
  const act = (name: string) => run.cache.get(name) as Tensor;
  try {
    return tf.tidy(() => ({
      energies: layerIds.map((layer) => mean(tf.sum(tf.square(act(hookName({ kind: 'resid_post', layer }))), -1), [0, 1])),
      coefficients: sites.map((s) => ({
        read: mean(act(hookName({ kind: 'read', ...s })), [0, 1]),
        mixing: mean(act(hookName({ kind: 'mixing', ...s })), [0, 1]),
        write: mean(act(hookName({ kind: 'write', ...s })), [0, 1]),
      })),
    }));
  } finally {
    disposeCachedRun(run);
  }
}

/** Every diagnostic from the token means (pure). */
export function diagnosticsFromMeans(c: ModelConfig, means: StreamMeans): HcDiagnostics {
  const n = c.nStreams;
  const hasCoefficients = means.coefficients.length > 0;
  const modules: ModuleDiagnostics[] = [];
  let product = eye(n);
  for (let layer = 0; layer < c.nLayers && hasCoefficients; layer++) {
    for (const module of ['attn', 'mlp'] as const) {
      const k = means.coefficients[2 * layer + (module === 'attn' ? 0 : 1)] as StreamMeans['coefficients'][number];
      const mixing = Array.from({ length: n }, (_, i) => k.mixing.slice(i * n, (i + 1) * n));
      const read = readPerStream(c, k.read);
      const write = k.write;
      // Unconstrained HC weights may be negative: shares use magnitudes.
      const r = summariseShares(read.map(Math.abs));
      const w = summariseShares(write.map(Math.abs));
      const gains = amaxGains(mixing);
      product = matmul(product, mixing);
      modules.push({
        layer, module, mixing, read, write,
        identity_distance: identityDistance(mixing),
        off_diagonal_mass: offDiagonalMass(mixing),
        read_shares: r.shares, read_dominance: r.dominance, read_n_eff: r.nEff,
        write_shares: w.shares, write_dominance: w.dominance, write_n_eff: w.nEff,
        amax_forward: gains.forward, amax_backward: gains.backward,
      });
    }
  }
  const layers = means.energies.map((e, layer) => {
    const s = summariseShares(e);
    return { layer, signal_shares: s.shares, dominance: s.dominance, dominant: s.dominant, n_eff: s.nEff };
  });
  const g = amaxGains(product);
  const u = unfoldedConnections(modules.map((m) => ({ read: m.read, mixing: m.mixing, write: m.write })));
  return { modules, layers, product: { amax_forward: g.forward, amax_backward: g.backward }, unfolded: { matrix: u.matrix, embed: u.embed } };
}
