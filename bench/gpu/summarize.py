#!/usr/bin/env python3
"""Collects bench/gpu/run.sh's intermediate files into OUTDIR: env.json, parity.json,
bench_webgpu.json, torch_ref.json and summary.json (ours vs torch, achieved TFLOP/s).

usage: summarize.py WORKDIR OUTDIR HEAD_BATCH      (plain Python 3, no numpy)
"""
import glob
import json
import os
import platform
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_ref import peak_for  # noqa: E402  (same folder; imports nothing heavy)


def read_json(path, default=None):
    try:
        with open(path) as f:
            text = f.read().strip()
        return json.loads(text.splitlines()[-1]) if text else default
    except Exception:
        return default


def read_jsonl(path):
    out = []
    try:
        for line in open(path):
            line = line.strip()
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
    except OSError:
        pass
    return out


def pkg_version(name):
    j = read_json(os.path.join("node_modules", name, "package.json"))
    if j is None:
        try:
            j = json.load(open(os.path.join("node_modules", name, "package.json")))
        except Exception:
            return None
    return j.get("version")


def cmd(*args):
    try:
        return subprocess.run(args, capture_output=True, text=True, timeout=30).stdout.strip()
    except Exception:
        return None


def main():
    work, outdir, head = sys.argv[1], sys.argv[2], (sys.argv[3] if len(sys.argv) > 3 else "")
    head_batch = int(head) if head.strip() else None

    # --- environment
    smi = {}
    try:
        lines = open(os.path.join(work, "nvidia-smi.csv")).read().strip().splitlines()
        keys = [k.strip() for k in lines[0].split(",")]
        vals = [v.strip() for v in lines[1].split(",")]
        smi = dict(zip(keys, vals))
    except Exception:
        pass
    adapter = read_json(os.path.join(work, "adapter.json"), {})
    torch_runs = {r["config"]["batch"]: r for r in read_jsonl(os.path.join(work, "torch.jsonl")) if "config" in r}
    any_torch = next(iter(torch_runs.values()), {})
    gpu_name = smi.get("name") or any_torch.get("gpu") or "unknown"
    env = {
        "uname": " ".join(platform.uname()),
        "nvidia_smi": smi,
        "webgpu_adapter": adapter,
        "node": cmd("node", "--version"),
        "npm_packages": {p: pkg_version(p) for p in ["@tensorflow/tfjs", "@tensorflow/tfjs-core", "@tensorflow/tfjs-backend-webgpu", "@tensorflow/tfjs-backend-wasm", "webgpu", "tsx"]},
        "torch": any_torch.get("torch"),
        "cuda": any_torch.get("cuda"),
        "cudnn": any_torch.get("cudnn"),
        "reference_commit": (open(".gpu/ref/COMMIT").read().strip() if os.path.exists(".gpu/ref/COMMIT") else None),
    }
    json.dump(env, open(os.path.join(outdir, "env.json"), "w"), indent=1)

    # --- parity
    cases = read_jsonl(os.path.join(work, "parity.jsonl"))
    chk = {n: read_json(os.path.join(work, f"check_{n}.json")) for n in ("wasm", "webgpu", "webgpu_noaddn", "webgpu_gradshim")}

    def steps_diff(a, b):
        if not a or not b or "steps" not in a or "steps" not in b:
            return None
        return {
            "max_abs_loss_diff": max(abs(x["loss"] - y["loss"]) for x, y in zip(a["steps"], b["steps"])),
            "max_rel_gradnorm_diff": max(abs(x["gradNorm"] - y["gradNorm"]) / abs(y["gradNorm"]) for x, y in zip(a["steps"], b["steps"])),
        }

    train_check = {
        "config": "vocab 64, d 32, 2 layers, 2 heads, seq 16, batch 2, mhc-lite n4 lss; 4 AdamW steps (clip 1.0)",
        "webgpu_vs_wasm": steps_diff(chk["webgpu"], chk["wasm"]),
        "webgpu_without_addn_shim_vs_wasm": steps_diff(chk["webgpu_noaddn"], chk["wasm"]),
        "webgpu_with_grad_shim_vs_wasm": steps_diff(chk["webgpu_gradshim"], chk["wasm"]),
        "runs": chk,
    }
    parity = {"fixtures": cases, "train_check": train_check,
              "note": "max_abs_vs_ref: max |logit difference| against the fixture's reference PyTorch logits; "
                      "webgpu = tfjs default flags (WEBGPU_CPU_FORWARD on), webgpu_nocpu = WEBGPU_CPU_FORWARD=false; "
                      "'loss' is hcprobe forward's next-token loss over the given 16 tokens, not the fixture's loss (17 targets)"}
    json.dump(parity, open(os.path.join(outdir, "parity.json"), "w"), indent=1)

    # --- throughput
    bench = read_jsonl(os.path.join(work, "bench.jsonl"))
    json.dump(bench, open(os.path.join(outdir, "bench_webgpu.json"), "w"), indent=1)
    json.dump(list(torch_runs.values()), open(os.path.join(outdir, "torch_ref.json"), "w"), indent=1)

    peak = peak_for(gpu_name)
    rows = []
    for b in bench:
        if "result" not in b:
            continue
        B = b["batch"]
        r = b["result"]
        t = torch_runs.get(B)
        row = {"batch": B, "tokens_per_step": None, "ours_webgpu": {"ms_per_step": r["ms_per_step"], "tokens_per_s": r["tokens_per_s"], "step_ms": r.get("step_ms")}}
        if b.get("flags"):
            row["tfjs_flags"] = b["flags"]
        waits = b.get("readsync_wait_ms")
        n_all = b["steps"] + b["warmup"]
        if waits and len(waits) == 2 * n_all:
            per_step = sorted(waits[2 * i] + waits[2 * i + 1] for i in range(b["warmup"], n_all))
            row["ours_webgpu"]["gpu_wait_ms_per_step_median"] = per_step[len(per_step) // 2]
            row["ours_webgpu"]["note_wait"] = "time the two synchronous reads per step (loss, grad norm) spent waiting for the GPU after JS had queued the work; step minus wait = host (JS) time"
        if t:
            row["tokens_per_step"] = t["tokens_per_step"]
            fl = t["flops_per_step"]
            row["flops_per_step"] = fl
            o = row["ours_webgpu"]
            o["tflops"] = fl / (o["ms_per_step"] / 1000) / 1e12
            if peak["fp32_tflops"]:
                o["pct_fp32_peak"] = 100 * o["tflops"] / peak["fp32_tflops"]
            for mode, m in t["modes"].items():
                row[f"torch_{mode}"] = {k: m.get(k) for k in ("ms_per_step", "tokens_per_s", "tflops", "pct_of_peak", "max_mem_gib", "last_loss")}
                row[f"ratio_ms_ours_over_torch_{mode}"] = o["ms_per_step"] / m["ms_per_step"]
                row[f"ratio_throughput_ours_over_torch_{mode}"] = o["tokens_per_s"] / m["tokens_per_s"]
        rows.append(row)

    summary = {
        "gpu": gpu_name,
        "driver": smi.get("driver_version"),
        "webgpu_adapter": (adapter.get("info") or {}).get("description") if isinstance(adapter, dict) else None,
        "peak_used": peak,
        "headline_batch": head_batch,
        "config": "GPT, 6 layers, d 512, 8 heads, seq 256, vocab 50304, bias, dropout 0; hyper-connections mhc-lite, 4 streams, LSS stream init; AdamW + grad clip 1.0; fp32",
        "flops_formula": any_torch.get("flops_formula"),
        "versions": {"node": env["node"], **env["npm_packages"], "torch": env["torch"], "cuda": env["cuda"]},
        "throughput": rows,
        "parity_max_abs_vs_ref": {c.get("case"): {k: v.get("max_abs_vs_ref") for k, v in c.get("runs", {}).items()} for c in cases},
        "parity_max_abs_webgpu_vs_wasm": {c.get("case"): c.get("pairs", {}).get("webgpu_vs_wasm") for c in cases},
        "train_check_webgpu_vs_wasm": train_check["webgpu_vs_wasm"],
        "torch_fp32_matmul_tflops": any_torch.get("fp32_matmul_tflops"),
    }
    host = read_json(os.path.join(work, "hostprof.json"))
    for tag, hp, hr in (("host_profile", "hostprof.json", "hostprof_run.json"), ("host_profile_grad_shim", "hostprof_gs.json", "hostprof_gs_run.json")):
        h = read_json(os.path.join(work, hp))
        if h:
            summary[tag] = {
                "steps_ms": (read_json(os.path.join(work, hr)) or {}).get("step_ms"),
                "profiled_ms": h.get("total_ms"),
                "by_package": h.get("by_package", [])[:10],
                "native_by_caller": h.get("native_by_caller", [])[:10],
                "top_functions": h.get("top_functions", [])[:10],
            }
    prof = read_json(os.path.join(outdir, "profile.json"))
    host_gs = read_json(os.path.join(work, "hostprof_gs.json"))
    if host or host_gs:
        merged = dict(prof or {})
        if host:
            merged["host_cpu_profile"] = host
        if host_gs:
            merged["host_cpu_profile_grad_shim"] = host_gs
        json.dump(merged, open(os.path.join(outdir, "profile.json"), "w"))
    if prof and "by_kernel" in prof:
        summary["profile"] = {k: prof.get(k) for k in ("wall_ms", "kernels", "kernel_gpu_ms_total", "matmul_gpu_ms", "matmul_tflop", "matmul_tflops_achieved")}
        summary["profile"]["top_kernels"] = prof["by_kernel"][:8]
    json.dump(summary, open(os.path.join(outdir, "summary.json"), "w"), indent=1)

    # human-readable lines for the log
    print(f"GPU: {gpu_name}, driver {smi.get('driver_version')}; adapter: {summary['webgpu_adapter']}; peak fp32 {peak['fp32_tflops']} TFLOP/s")
    for c in cases:
        runs = c.get("runs", {})
        print(f"parity {c.get('case'):14s} " + "  ".join(f"{k}: {v.get('max_abs_vs_ref', v.get('error'))}" for k, v in runs.items()) + f"  webgpu-wasm: {c.get('pairs', {}).get('webgpu_vs_wasm')}")
    print(f"train check webgpu vs wasm: {train_check['webgpu_vs_wasm']}; without AddN shim: {train_check['webgpu_without_addn_shim_vs_wasm']}; with grad shim: {train_check['webgpu_with_grad_shim_vs_wasm']}")
    for r in rows:
        o = r["ours_webgpu"]
        line = f"batch {r['batch']}{' [' + r['tfjs_flags'] + ']' if r.get('tfjs_flags') else ''}: ours {o['ms_per_step']:.1f} ms/step {o['tokens_per_s']:.0f} tok/s"
        if "tflops" in o:
            line += f" {o['tflops']:.2f} TFLOP/s"
        for mode in ("fp32", "tf32"):
            m = r.get(f"torch_{mode}")
            if m:
                line += f" | torch {mode} {m['ms_per_step']:.1f} ms {m['tokens_per_s']:.0f} tok/s {m['tflops']:.2f} TFLOP/s, ours/torch ms x{r[f'ratio_ms_ours_over_torch_{mode}']:.2f}"
        print(line)
    for tag in ("host_profile", "host_profile_grad_shim"):
        if tag in summary:
            h = summary[tag]
            print(f"{tag} ({h['profiled_ms']} ms sampled, steps {h['steps_ms']}): " + ", ".join(f"{x['where']} {x['pct']}%" for x in h["by_package"][:6]))
            print("  native by caller: " + "; ".join(f"{x['fn']} {x['pct']}%" for x in h["native_by_caller"][:5]))
            print("  top: " + "; ".join(f"{x['fn']} {x['pct']}%" for x in h["top_functions"][:5]))
    if "profile" in summary:
        p = summary["profile"]
        print(f"profile: {p['kernels']} kernels, GPU {p['kernel_gpu_ms_total']:.1f} ms of {p['wall_ms']:.1f} ms wall (profiled step); "
              f"matmuls {p.get('matmul_gpu_ms') or 0:.1f} ms GPU for {p.get('matmul_tflop') or 0:.3f} TFLOP = {p.get('matmul_tflops_achieved') or 0:.2f} TFLOP/s")


if __name__ == "__main__":
    main()
