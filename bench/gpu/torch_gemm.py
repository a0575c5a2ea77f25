"""cuBLAS fp32 (TF32 off) at the shapes of bench/engine/gemm-time.ts, one JSON line per shape.

    python3 bench/gpu/torch_gemm.py [REPS=20] [--quick]

Each product in the layout the engine's GEMM variant computes (op(A) op(B) with the same
transposes), timed over REPS calls between two CUDA synchronisations after a warm-up; on a
machine without CUDA it runs on the CPU (for checking the script).
"""
import json
import sys
import time

import torch

reps = int(next((a for a in sys.argv[1:] if a.isdigit()), 20))
quick = "--quick" in sys.argv
dev = "cuda" if torch.cuda.is_available() else "cpu"
if dev == "cuda":
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
T, d, V = (256, 64, 1000) if quick else (4096, 512, 50304)
sq = 256 if quick else 4096
shapes = [
    ("square", False, False, sq, sq, sq),
    ("c_fc (x Wᵀ)", False, True, T, 4 * d, d),
    ("c_proj dx (dy W)", False, False, T, 4 * d, d),
    ("c_fc dW (dyᵀ x)", True, False, 4 * d, d, T),
    ("logits (x wteᵀ)", False, True, 64 if quick else 256, V, d),
]


def sync():
    if dev == "cuda":
        torch.cuda.synchronize()


for name, ta, tb, M, N, K in shapes:
    a = torch.randn(K, M, device=dev).t() if ta else torch.randn(M, K, device=dev)
    b = torch.randn(N, K, device=dev).t() if tb else torch.randn(K, N, device=dev)
    for _ in range(3):
        torch.matmul(a, b)
    sync()
    t0 = time.perf_counter()
    for _ in range(reps):
        torch.matmul(a, b)
    sync()
    ms = (time.perf_counter() - t0) * 1000 / reps
    print(json.dumps({"shape": name, "M": M, "N": N, "K": K, "transA": ta, "transB": tb, "reps": reps, "ms_per_gemm": round(ms, 4),
                      "tflops": round(2 * M * N * K / (ms / 1000) / 1e12, 3), "device": torch.cuda.get_device_name() if dev == "cuda" else "cpu"}), flush=True)
