#!/usr/bin/env python3
"""Training-step throughput of the reference PyTorch model (our own timing script).

Imports the reference `model.GPT` / `GPTConfig` from a local copy of the reference code
(put it on PYTHONPATH; bench/gpu/pack.sh places one in .gpu/ref, never committed) and times
full training steps: forward + cross-entropy, backward, grad-norm clip 1.0, AdamW (the
reference's own configure_optimizers: fused on CUDA, weight decay 0.1 on >= 2-D tensors,
betas 0.9/0.95), zero_grad(set_to_none=True). Random tokens each step, dropout 0, bias True.

Precision modes: "fp32" = float32 with TF32 disabled for matmul and cuDNN (true fp32 on
CUDA cores), "tf32" = float32 storage with TF32 tensor-core matmuls allowed. No autocast.

FLOPs per step follow the reference's own estimate_mfu (nanoGPT / PaLM appendix B):
  6 * N * tokens  +  12 * L * H * Q * T * tokens
N = non-embedding parameter count (wpe excluded; wte counted once as it is the lm_head),
L layers, H heads, Q head size, T sequence length; full T x T attention, not halved for the
causal mask. Hyper-connection parameters are in N, so they are counted as 6 FLOPs/param/token.

Prints one JSON object on stdout (progress on stderr).
env: QUICK=1  -> tiny config on CPU (a check that the script runs; no GPU needed)
     BATCH, SEQ, VOCAB, LAYERS, HEADS, D_MODEL, STREAMS, HC_TYPE, STEPS, WARMUP, MODES (fp32,tf32)
"""
import contextlib
import json
import os
import sys
import time


def env_int(name, default):
    return int(os.environ.get(name, default))


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# fp32 (CUDA-core FMA) and dense TF32 tensor-core peaks, TFLOP/s, from NVIDIA's H100/H200 datasheets
PEAKS = [
    ("H100 PCIe", 51.2, 378.0),
    ("H100 NVL", 60.0, 417.5),
    ("H100", 66.9, 494.7),  # SXM5 (e.g. "NVIDIA H100 80GB HBM3")
    ("H200", 66.9, 494.7),
]


def peak_for(name):
    for key, fp32, tf32 in PEAKS:
        if key in name:
            return {"fp32_tflops": fp32, "tf32_dense_tflops": tf32, "matched": key}
    return {"fp32_tflops": None, "tf32_dense_tflops": None, "matched": None}


def main():
    import torch  # noqa: F401  (here, so that summarize.py can import peak_for without torch)

    quick = os.environ.get("QUICK", "0") == "1"

    dev = "cuda" if torch.cuda.is_available() and not quick else "cpu"
    cfg = dict(
        batch=env_int("BATCH", 2 if quick else 16),
        seq=env_int("SEQ", 32 if quick else 256),
        vocab=env_int("VOCAB", 256 if quick else 50304),
        layers=env_int("LAYERS", 2 if quick else 6),
        heads=env_int("HEADS", 2 if quick else 8),
        d_model=env_int("D_MODEL", 64 if quick else 512),
        streams=env_int("STREAMS", 4),
        hc_type=os.environ.get("HC_TYPE", "mhc_lite_lss"),
    )
    steps = env_int("STEPS", 3 if quick else 20)
    warmup = env_int("WARMUP", 1 if quick else 5)
    modes = os.environ.get("MODES", "fp32" if quick else "fp32,tf32").split(",")

    with contextlib.redirect_stdout(sys.stderr):
        from model import GPT, GPTConfig  # the reference, from PYTHONPATH

    torch.manual_seed(1337)
    gconf = GPTConfig(
        block_size=cfg["seq"], vocab_size=cfg["vocab"], n_layer=cfg["layers"], n_head=cfg["heads"],
        n_embd=cfg["d_model"], dropout=0.0, bias=True, hyper_conn_n=cfg["streams"],
        hyper_conn_type=cfg["hc_type"],
    )
    with contextlib.redirect_stdout(sys.stderr):  # the reference prints; keep stdout for our JSON
        model = GPT(gconf).to(dev)
        model.train()
        optimizer = model.configure_optimizers(weight_decay=0.1, learning_rate=1e-4, betas=(0.9, 0.95), device_type="cuda" if dev == "cuda" else "cpu")
    fused = any(g.get("fused", False) for g in optimizer.param_groups) or bool(getattr(optimizer, "defaults", {}).get("fused", False))

    n_params = model.get_num_params()
    n_params_all = sum(p.numel() for p in model.parameters())
    B, T = cfg["batch"], cfg["seq"]
    L, H, Q = cfg["layers"], cfg["heads"], cfg["d_model"] // cfg["heads"]
    tokens = B * T
    flops_per_token = 6 * n_params + 12 * L * H * Q * T
    flops_per_step = flops_per_token * tokens

    def sync():
        if dev == "cuda":
            torch.cuda.synchronize()

    def step():
        x = torch.randint(cfg["vocab"], (B, T), device=dev)
        y = torch.randint(cfg["vocab"], (B, T), device=dev)
        _, loss = model(x, y)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss

    gpu_name = torch.cuda.get_device_name(0) if dev == "cuda" else "cpu"
    peak = peak_for(gpu_name)
    results = {}
    for mode in modes:
        if dev == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = mode == "tf32"
            torch.backends.cudnn.allow_tf32 = mode == "tf32"
            if hasattr(torch, "set_float32_matmul_precision"):
                torch.set_float32_matmul_precision("high" if mode == "tf32" else "highest")
            torch.cuda.reset_peak_memory_stats()
        times = []
        loss = None
        for i in range(warmup + steps):
            sync()
            t0 = time.perf_counter()
            loss = step()
            sync()
            dt = (time.perf_counter() - t0) * 1000
            if i >= warmup:
                times.append(dt)
        times.sort()
        med = times[len(times) // 2]
        r = {
            "ms_per_step": med,
            "tokens_per_s": tokens / (med / 1000),
            "tflops": flops_per_step / (med / 1000) / 1e12,
            "step_ms_min": times[0],
            "step_ms_max": times[-1],
            "last_loss": float(loss.item()),
        }
        pk = peak["fp32_tflops"] if mode == "fp32" else peak["tf32_dense_tflops"]
        r["pct_of_peak"] = 100 * r["tflops"] / pk if pk else None
        if dev == "cuda":
            r["max_mem_gib"] = torch.cuda.max_memory_allocated() / 2**30
        results[mode] = r
        log(f"torch {mode}: {med:.2f} ms/step, {r['tokens_per_s']:.0f} tok/s, {r['tflops']:.2f} TFLOP/s")

    # the fp32 matmul rate this GPU reaches through cuBLAS (TF32 off): a practical ceiling
    mm = None
    if dev == "cuda" and os.environ.get("MATMUL", "1") == "1":
        torch.backends.cuda.matmul.allow_tf32 = False
        if hasattr(torch, "set_float32_matmul_precision"):
            torch.set_float32_matmul_precision("highest")
        mm = {}
        for n in (4096, 8192):
            a = torch.randn(n, n, device=dev)
            b = torch.randn(n, n, device=dev)
            for _ in range(3):
                a @ b
            sync()
            reps = 10
            t0 = time.perf_counter()
            for _ in range(reps):
                a @ b
            sync()
            dt = (time.perf_counter() - t0) / reps
            mm[str(n)] = 2 * n**3 / dt / 1e12
        log(f"torch fp32 matmul TFLOP/s: {mm}")

    out = {
        "impl": "reference PyTorch (model.GPT), eager",
        "device": dev,
        "gpu": gpu_name,
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "cudnn": torch.backends.cudnn.version() if dev == "cuda" else None,
        "config": dict(cfg, dropout=0.0, bias=True),
        "steps": steps,
        "warmup": warmup,
        "optimizer": "AdamW (reference configure_optimizers, wd 0.1, betas 0.9/0.95)" + (", fused" if fused else ""),
        "grad_clip": 1.0,
        "flash_sdpa": hasattr(torch.nn.functional, "scaled_dot_product_attention"),
        "n_params_non_embedding": n_params,
        "n_params_total": n_params_all,
        "tokens_per_step": tokens,
        "flops_per_step": flops_per_step,
        "flops_formula": "6*N*tokens + 12*L*H*Q*T*tokens (reference estimate_mfu; N = non-embedding params incl. tied lm_head)",
        "peak": peak,
        "modes": results,
        "fp32_matmul_tflops": mm,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
