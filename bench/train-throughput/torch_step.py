#!/usr/bin/env python3
"""Times full training steps of the reference PyTorch model (ours, not the reference's bench.py).

One step = forward with targets, backward, clip_grad_norm_(1.0), AdamW step (the reference's
own configure_optimizers: decay 0.1 on >= 2-D parameters, betas 0.9/0.95), zero_grad, on
fresh random tokens each step, float32 on CPU, exactly as `hcprobe bench-step` times ours.
Prints one JSON line {"ms_per_step", "tokens_per_s", "step_ms", ...} on stdout; the
reference's own prints go to stderr.

Needs the reference code and einops on the import path (see README.md):
    PYTHONPATH=$EINOPS:$HC_REF /usr/bin/python3 torch_step.py --type mhc_lite
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import statistics
import sys
import time

import torch


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--type", required=True, help="reference hyper_conn_type: none|hc|mhc|mhc_lite|mhc_lite_lss")
    ap.add_argument("--streams", type=int, default=4)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--d-model", type=int, default=128)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--vocab", type=int, default=256)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    # hcprobe bench-step builds its model without biases, as the reference's train.py runs
    ap.add_argument("--bias", action="store_true", help="biases in Linear and LayerNorm (default: none, as bench-step)")
    a = ap.parse_args()

    torch.set_num_threads(a.threads)
    random.seed(a.seed)
    torch.manual_seed(a.seed)
    with contextlib.redirect_stdout(sys.stderr):
        import model as ref  # the reference model.py, from $HC_REF

        cfg = ref.GPTConfig(
            block_size=a.seq, vocab_size=a.vocab, n_layer=a.layers, n_head=a.heads, n_embd=a.d_model,
            dropout=0.0, bias=a.bias, hyper_conn_n=a.streams, hyper_conn_type=a.type,
        )
        net = ref.GPT(cfg)
        net.train()
        opt = net.configure_optimizers(weight_decay=0.1, learning_rate=1e-4, betas=(0.9, 0.95), device_type="cpu")

    gen = torch.Generator().manual_seed(a.seed)
    times: list[float] = []
    for i in range(a.warmup + a.steps):
        x = torch.randint(a.vocab, (a.batch, a.seq), generator=gen)
        y = torch.randint(a.vocab, (a.batch, a.seq), generator=gen)
        t0 = time.perf_counter()
        _, loss = net(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        loss_value = loss.item()  # synchronous on CPU; read back as ours reads its loss
        dt = (time.perf_counter() - t0) * 1000
        if i >= a.warmup:
            times.append(dt)
    if not torch.isfinite(torch.tensor(loss_value)):
        raise SystemExit(f"loss became {loss_value}")
    median = statistics.median_low(times)  # the same order statistic as bench-step's
    print(json.dumps({
        "ms_per_step": median,
        "tokens_per_s": a.batch * a.seq / (median / 1000),
        "step_ms": times,
        "threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "type": a.type,
        "bias": a.bias,
        "blas": blas_library(),
    }))


def blas_library() -> str:
    """The BLAS the dynamic linker gives torch (Debian's torch uses the libblas.so.3 alternative:
    the reference BLAS is ~4x slower than OpenBLAS here, which would flatter any comparison)."""
    try:
        with open("/proc/self/maps") as maps:
            libs = {line.split()[-1] for line in maps if "blas" in line.lower() and line.split()[-1].startswith("/")}
        return ", ".join(sorted(libs)) or "(none mapped)"
    except OSError:
        return "(unknown)"


if __name__ == "__main__":
    main()
