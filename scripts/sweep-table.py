#!/usr/bin/env python3
"""One markdown table from several `hcprobe sweep` outputs (their summary.json files).

    scripts/sweep-table.py BASELINE_CELL DIR [DIR ...] > table.md

Each DIR is a sweep's --out folder. Every run of every grid becomes part of its cell (a cell is
"connection-init" plus the stream count when grids differ only in --streams, e.g. hc n=1/2/4/8).
Per cell: final validation loss, last-layer dominance and N_eff as mean ± half-width of the
two-sided 95% Student-t interval over seeds (n − 1 degrees of freedom), and the validation-loss
difference to BASELINE_CELL paired by seed (the same seed draws the same data order and, where
shapes agree, the same initial weights), with its own interval.
"""

from __future__ import annotations

import json
import math
import os
import statistics
import sys

# two-sided 95% Student-t quantiles, by degrees of freedom
T95 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228}


def interval(xs: list[float]) -> tuple[float, float]:
    """Mean and the half-width of its 95% t-interval (NaN for fewer than two values)."""
    m = statistics.fmean(xs)
    if len(xs) < 2:
        return m, math.nan
    return m, T95.get(len(xs) - 1, 1.96) * statistics.stdev(xs) / math.sqrt(len(xs))


def fmt(m: float, h: float, digits: int = 3) -> str:
    return f"{m:.{digits}f}" if math.isnan(h) else f"{m:.{digits}f} ± {h:.{digits}f}"


def main() -> None:
    if len(sys.argv) < 3:
        raise SystemExit(__doc__)
    baseline, dirs = sys.argv[1], sys.argv[2:]
    cells: dict[str, dict[int, dict]] = {}
    order: list[str] = []
    for d in dirs:
        path = os.path.join(d, "summary.json")
        if not os.path.exists(path):
            raise SystemExit(f"{path}: no summary.json (has that sweep finished?)")
        summary = json.load(open(path))
        streams = summary["grid"].get("config", {}).get("streams")
        for run in summary["runs"]:
            name = run["cell"] if streams is None else f"{run['cell']} n={streams}"
            if name not in cells:
                cells[name] = {}
                order.append(name)
            cells[name][run["seed"]] = run
    if baseline not in cells:
        raise SystemExit(f"baseline cell {baseline!r} is not among {order}")
    base = cells[baseline]
    print("| cell | streams | seeds | final val loss | Δ val loss vs " + baseline + ", paired | last-layer dominance | last-layer N_eff |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for name in order:
        runs = cells[name]
        seeds = sorted(runs)
        loss = interval([runs[s]["finalValLoss"] for s in seeds])
        dom = interval([runs[s]["lastLayerDominance"] for s in seeds])
        neff = interval([runs[s]["lastLayerNEff"] for s in seeds])
        shared = [s for s in seeds if s in base]
        if name == baseline:
            delta = "(baseline)"
        elif len(shared) >= 2:
            m, h = interval([runs[s]["finalValLoss"] - base[s]["finalValLoss"] for s in shared])
            delta = f"{m:+.3f} ± {h:.3f}{' *' if abs(m) > h else ''}"
        else:
            delta = "(fewer than two shared seeds)"
        n_streams = runs[seeds[0]]["nStreams"]
        print(f"| {name} | {n_streams} | {','.join(map(str, seeds))} | {fmt(*loss)} | {delta} | {fmt(*dom)} | {fmt(*neff)} |")
    print()
    print("± is the half-width of the two-sided 95% Student-t interval over seeds; * marks a paired "
          "difference whose interval excludes zero.")


if __name__ == "__main__":
    main()
