// The statistics of a sweep (reports/ only draws them): per cell the mean and 95% t-interval over
// seeds of the final validation loss, last-layer dominance and N_eff, and the difference from the
// first cell paired by seed (same seed: same data order and init draws).
import { finite, type SweepRow, type SweepRun } from '../reports/sweep-summary.ts';
import { meanInterval } from '../src/stats/t-interval.ts';

export function summariseSweep(runs: readonly SweepRun[], cells: readonly string[]): SweepRow[] {
  const base = cells[0];
  const baseBySeed = new Map(runs.filter((r) => r.cell === base).map((r) => [r.seed, r.summary.finalValLoss]));
  return cells.map((cell) => {
    const rs = runs.filter((r) => r.cell === cell).sort((a, b) => a.seed - b.seed);
    const row: SweepRow = {
      cell,
      seeds: rs.map((r) => r.seed),
      valLoss: meanInterval(finite(rs.map((r) => r.summary.finalValLoss))),
      dominance: meanInterval(finite(rs.map((r) => r.summary.lastLayerDominance))),
      nEff: meanInterval(finite(rs.map((r) => r.summary.lastLayerNEff))),
    };
    if (cell !== base) {
      const d = finite(rs.map((r) => {
        const b = baseBySeed.get(r.seed);
        return b === undefined || r.summary.finalValLoss === undefined ? undefined : r.summary.finalValLoss - b;
      }));
      row.valLossDelta = meanInterval(d);
    }
    return row;
  });
}

