#!/usr/bin/env python3
"""Pools the interleaved runs of run.sh into results.json and results.md (median and best ms/step)."""

from __future__ import annotations

import glob
import json
import os
import statistics
import sys

TOKENS_PER_STEP = 8 * 128  # batch × seq of run.sh's config


def median(xs: list[float]) -> float:
    return statistics.median(xs)


def main(out: str) -> None:
    machine = dict(line.rstrip("\n").split("=", 1) for line in open(os.path.join(out, "machine.txt")) if "=" in line)
    rows = []
    # every connection run.sh timed, in its order (KINDS)
    kinds = [k for k in ("hc", "mhc-lite", "mhc") if glob.glob(os.path.join(out, "raw", f"ours-{k}-r*.json"))]
    for kind in kinds:
        side: dict[str, dict] = {}
        for who in ("ours", "ref"):
            paths = sorted(glob.glob(os.path.join(out, "raw", f"{who}-{kind}-r*.json")))
            runs = [json.load(open(p)) for p in paths]
            loads = []
            for p in paths:
                lp = p[: -len(".json")] + ".load"
                loads.append(float(open(lp).read()) if os.path.exists(lp) else None)
            if not runs:
                raise SystemExit(f"no {who} runs for {kind} in {out}/raw")
            steps = [t for r in runs for t in r["step_ms"]]
            ms = median(steps)
            side[who] = {
                "ms_per_step": ms,
                "tokens_per_s": TOKENS_PER_STEP / (ms / 1000),
                "best_ms_per_step": min(steps),
                "run_medians_ms": [median(r["step_ms"]) for r in runs],
                "run_load1": loads,
                "timed_steps": len(steps),
            }
        rows.append({
            "connection": kind,
            "ours": side["ours"],
            "reference": side["ref"],
            "ratio_ours_over_reference": side["ours"]["tokens_per_s"] / side["ref"]["tokens_per_s"],
            # The fastest step of each side: what each gets when the machine leaves it alone.
            "ratio_best_step": side["ref"]["best_ms_per_step"] / side["ours"]["best_ms_per_step"],
            # Round by round, the two runs that ran next to each other.
            "ratio_per_round": [t / o for o, t in zip(side["ours"]["run_medians_ms"], side["ref"]["run_medians_ms"])],
        })
    result = {
        "config": {"vocab": 256, "d_model": 128, "layers": 4, "heads": 4, "seq": 128, "batch": 8, "streams": 4,
                   "dtype": "float32", "bias": False, "optimizer": "AdamW, clip 1.0",
                   "ours_backend": "wasm, main thread + data-parallel workers (bench-step default)",
                   "reference_threads": 2},
        "machine": machine,
        "results": rows,
    }
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    lines = [
        "| connection | ours ms/step | ours tokens/s | reference ms/step | reference tokens/s | ours / reference | best step: ours / reference ms | ratio of best steps |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        o, t = r["ours"], r["reference"]
        lines.append(
            f"| {r['connection']} | {o['ms_per_step']:.0f} | {o['tokens_per_s']:.0f} | {t['ms_per_step']:.0f} | "
            f"{t['tokens_per_s']:.0f} | {r['ratio_ours_over_reference']:.2f}× | "
            f"{o['best_ms_per_step']:.0f} / {t['best_ms_per_step']:.0f} | {r['ratio_best_step']:.2f}× |"
        )
    lines.append("")
    lines.append("Per round (ms/step, median of the run; 1-minute load average when it started; ours / reference):")
    for r in rows:
        o, t = r["ours"], r["reference"]
        cells = []
        for i, ratio in enumerate(r["ratio_per_round"]):
            lo, lt = o["run_load1"][i], t["run_load1"][i]
            load = "" if lo is None else f" (load {lo:.1f} / {lt:.1f})"
            cells.append(f"{o['run_medians_ms'][i]:.0f} vs {t['run_medians_ms'][i]:.0f}{load}: {ratio:.2f}×")
        lines.append(f"- {r['connection']}: " + "; ".join(cells))
    lines.append("")
    lines.append("Machine: " + "; ".join(f"{k} {v}" for k, v in machine.items()))
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
