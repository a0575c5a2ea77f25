// Is the dominant stream the one the init favoured? At init each connection module reads one
// stream (and mhc/mhc-lite also write most into it): the reference draws it at random per module,
// so a stream that many modules drew starts with an advantage that has nothing to do with learning.
import type { Sublayer } from '../src/model/hooks.ts';
import type { InitReadBias, ModuleCoefficientDiagnostics, StreamSiteDiagnostics } from './results-schema.ts';

/**
 * `readStreams`: the init read stream of every module in forward order (attn 0, mlp 0, attn 1, …);
 * the dominant stream is that of the signal shares at resid_post after the last captured MLP.
 */
export function initReadBias(readStreams: readonly number[], nStreams: number, streams: readonly StreamSiteDiagnostics[], coefficients: readonly ModuleCoefficientDiagnostics[]): InitReadBias {
  const counts = Array.from({ length: nStreams }, (_, s) => readStreams.filter((r) => r === s).length);
  const most = Math.max(...counts);
  const favoured = counts.flatMap((c, s) => (c === most ? [s] : []));
  const last = streams.filter((s) => s.site === 'resid_post' && s.module === 'mlp').sort((a, b) => a.layer - b.layer).at(-1);
  const dominant = last ? last.signal.dominant : null;
  const modules = coefficients
    .map((k) => ({ k, init: readStreams[2 * k.layer + (k.module === 'attn' ? 0 : 1)] }))
    .filter((x): x is { k: ModuleCoefficientDiagnostics; init: number } => x.init !== undefined)
    .sort((a, b) => a.k.index - b.k.index)
    .map(({ k, init }) => ({ module: moduleName(k.layer, k.module), init, now: k.read.dominant, same: k.read.dominant === init }));
  return {
    read_streams: [...readStreams],
    counts,
    favoured,
    dominant,
    dominant_layer: last ? last.layer : null,
    dominant_is_favoured: dominant === null ? null : favoured.includes(dominant),
    dominant_read_by: dominant === null ? [] : readStreams.flatMap((r, k) => (r === dominant ? [moduleName(Math.floor(k / 2), k % 2 === 0 ? 'attn' : 'mlp')] : [])),
    chance: favoured.length / nStreams,
    modules,
  };
}

function moduleName(layer: number, module: Sublayer): string {
  return `${layer}.${module}`;
}
