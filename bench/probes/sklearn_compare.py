"""Fits scikit-learn's LogisticRegression on an exported probe problem (bench/probes/export.ts)
with the same split and the same L2 grid (C = 1 / (lambda * n_train)), chosen by validation log
loss, and compares test accuracy and time with ours.json (bench/probes/fit-ours.ts).
usage: python3 bench/probes/sklearn_compare.py DIR [THREADS]   (prints a Markdown table)"""
import json
import sys
import time
import warnings

import numpy as np
import sklearn
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from threadpoolctl import threadpool_limits

warnings.filterwarnings("ignore", category=ConvergenceWarning)
d = sys.argv[1]
threads = int(sys.argv[2]) if len(sys.argv) > 2 else 1
meta = json.load(open(f"{d}/meta.json"))
ours = json.load(open(f"{d}/ours.json"))
X = {p: np.load(f"{d}/x_{p}.npy") for p in ("train", "val", "test")}


def fit_target(i, t, grid, max_iter=1000):
    y = {p: np.load(f"{d}/y{i}_{p}.npy") for p in ("train", "val", "test")}
    m = {p: y[p] >= 0 for p in y}
    xt, yt = X["train"][m["train"]], y["train"][m["train"]]
    classes = np.arange(t["n_classes"])
    best = None
    for lam in grid:
        clf = LogisticRegression(C=1.0 / (lam * len(yt)), max_iter=max_iter, tol=1e-4)
        clf.fit(xt, yt)
        p = clf.predict_proba(X["val"][m["val"]])
        full = np.zeros((len(p), len(classes)))
        full[:, clf.classes_] = p
        full = np.clip(full, 1e-15, 1)
        vl = log_loss(y["val"][m["val"]], full / full.sum(axis=1, keepdims=True), labels=classes)
        if best is None or vl < best[0] - 1e-9:
            best = (vl, lam, clf)
    acc = float((best[2].predict(X["test"][m["test"]]) == y["test"][m["test"]]).mean())
    return acc, best[1]


with threadpool_limits(limits=threads):
    t0 = time.perf_counter()
    sk = [fit_target(i, t, meta["l2_grid"]) if "accuracy" in o else None for i, (t, o) in enumerate(zip(meta["targets"], ours["targets"]))]
    sk_seconds = time.perf_counter() - t0
    same_c = [fit_target(i, t, [o["l2"]])[0] if "accuracy" in o else None for i, (t, o) in enumerate(zip(meta["targets"], ours["targets"]))]

rows = []
worst = 0.0
for t, o, s, sc in zip(meta["targets"], ours["targets"], sk, same_c):
    if s is None:
        rows.append(f"| {t['name']} | skipped: {o.get('skipped')} | | | | |")
        continue
    diff = 100 * (o["accuracy"] - s[0])
    worst = max(worst, abs(diff))
    rows.append(f"| {t['name']} | {o['accuracy']:.4f} (λ {o['l2']:g}) | {s[0]:.4f} (λ {s[1]:g}) | {sc:.4f} | {diff:+.2f} | {o['chance']:.4f} |")
n = {p: len(X[p]) for p in X}
print(f"Problem: {meta['acts']} {meta['site']} layer {meta['layer']} {meta['module']} stream {meta['stream']}, "
      f"{n['train']}/{n['val']}/{n['test']} train/val/test tokens × {meta['dim']} features, {len(meta['targets'])} targets "
      f"(7 labels + their control tasks), λ grid {meta['l2_grid']}.\n")
print("| target | ours: test acc (λ) | sklearn: test acc (λ) | sklearn at our λ | Δ points (ours − sklearn) | chance |")
print("| --- | --- | --- | --- | --- | --- |")
print("\n".join(rows))
print(f"\nWorst |Δ| {worst:.2f} points. Time for the whole grid over all targets: ours {ours['seconds']:.2f} s "
      f"({ours['backend']}), scikit-learn {sklearn.__version__} lbfgs {sk_seconds:.2f} s ({threads} BLAS thread{'s' if threads > 1 else ''}): "
      f"ours is {sk_seconds / ours['seconds']:.2f}× sklearn's speed.")
json.dump({"sklearn_seconds": sk_seconds, "ours_seconds": ours["seconds"], "threads": threads, "worst_abs_diff_points": worst}, open(f"{d}/compare-{threads}.json", "w"))
