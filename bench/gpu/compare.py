#!/usr/bin/env python3
"""Parity of `hcprobe forward --json` outputs against a fixture's reference logits.

usage: compare.py FIXTURE.json NAME=forward.json [NAME=forward.json ...]
Prints one JSON object: for each run, max |logit diff| vs the reference and the loss, and the
max |diff| between every pair of runs. Plain Python (no numpy) so it runs anywhere.
"""
import json
import sys


def flat(x):
    if isinstance(x, list):
        for v in x:
            yield from flat(v)
    else:
        yield x


def maxdiff(a, b):
    fa, fb = list(flat(a)), list(flat(b))
    if len(fa) != len(fb):
        return None
    return max(abs(p - q) for p, q in zip(fa, fb))


def main():
    fx = json.load(open(sys.argv[1]))
    ref = fx["logits"]
    runs = {}
    out = {"case": fx.get("case"), "runs": {}}
    for arg in sys.argv[2:]:
        name, path = arg.split("=", 1)
        try:
            r = json.load(open(path))
            runs[name] = r
            out["runs"][name] = {"max_abs_vs_ref": maxdiff(r["logits"], ref), "loss": r.get("loss")}
        except Exception as e:  # a failed run leaves no or bad JSON
            out["runs"][name] = {"error": f"{type(e).__name__}: {e}"}
    names = list(runs)
    out["pairs"] = {f"{a}_vs_{b}": maxdiff(runs[a]["logits"], runs[b]["logits"]) for i, a in enumerate(names) for b in names[i + 1:]}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
