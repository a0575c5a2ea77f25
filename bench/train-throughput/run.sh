#!/usr/bin/env bash
# Training throughput on CPU: `hcprobe bench-step --backend wasm` against the reference PyTorch
# code on the same config, for hc, mhc-lite and mhc, in one run, interleaved (ours, theirs, ours,
# theirs, ...) so that machine noise falls on both. Writes results.json and results.md.
#
#   HC_REF=/tmp/hcref EINOPS=/tmp/einops bench/train-throughput/run.sh
#
# HC_REF: a checkout of brain-lab-research/hc-stream-collapse (model.py, hyper_conn/);
# EINOPS: a checkout of arogozhnikov/einops. See README.md for how to get both.
# Optional: KINDS ("hc mhc-lite mhc"), ROUNDS (3), STEPS (21 timed steps per run), WARMUP (3), THREADS (2),
# PYTHON (/usr/bin/python3, Debian's python3-torch), OUT (bench/train-throughput/out),
# QUIET_LOAD and QUIET_WAIT: before each pair of runs, wait up to QUIET_WAIT seconds (0: no
# wait) for the 1-minute load average to fall below QUIET_LOAD (1.5), on a shared machine.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
: "${HC_REF:?set HC_REF to a checkout of brain-lab-research/hc-stream-collapse (see bench/train-throughput/README.md)}"
: "${EINOPS:?set EINOPS to a checkout of arogozhnikov/einops (see bench/train-throughput/README.md)}"
[[ -f "$HC_REF/model.py" && -d "$HC_REF/hyper_conn" ]] || { echo "HC_REF=$HC_REF has no model.py and hyper_conn/" >&2; exit 2; }
[[ -d "$EINOPS/einops" ]] || { echo "EINOPS=$EINOPS has no einops/ package" >&2; exit 2; }
PYTHON="${PYTHON:-/usr/bin/python3}"
ROUNDS="${ROUNDS:-3}"
STEPS="${STEPS:-21}"
WARMUP="${WARMUP:-3}"
THREADS="${THREADS:-2}"
OUT="${OUT:-$HERE/out}"
QUIET_LOAD="${QUIET_LOAD:-1.5}"
QUIET_WAIT="${QUIET_WAIT:-0}"
mkdir -p "$OUT/raw"
rm -f "$OUT"/raw/*

# The issue's config: vocab 256, d 128, 4 layers, 4 heads, seq 128, batch 8, n 4, fp32.
MODEL=(--streams 4 --layers 4 --heads 4 --d-model 128 --seq 128 --batch 8 --vocab 256)
read -r -a KINDS <<< "${KINDS:-hc mhc-lite mhc}"
ref_type() { [[ "$1" == mhc-lite ]] && echo mhc_lite || echo "$1"; }

load1() { cut -d' ' -f1 /proc/loadavg; }
wait_quiet() {
  local waited=0
  while (( waited < QUIET_WAIT )) && awk -v l="$(load1)" -v q="$QUIET_LOAD" 'BEGIN { exit !(l >= q) }'; do
    sleep 5; waited=$((waited + 5))
  done
}
ours() { # kind round
  echo "$(load1)" > "$OUT/raw/ours-$1-r$2.load"
  node "$ROOT/bin/hcprobe.mjs" bench-step --connection "$1" "${MODEL[@]}" --steps "$STEPS" --warmup "$WARMUP" --backend wasm --json \
    > "$OUT/raw/ours-$1-r$2.json"
}
theirs() { # kind round
  echo "$(load1)" > "$OUT/raw/ref-$1-r$2.load"
  (cd "$HC_REF" && PYTHONPATH="$EINOPS:$HC_REF" "$PYTHON" "$HERE/torch_step.py" --type "$(ref_type "$1")" "${MODEL[@]}" \
    --steps "$STEPS" --warmup "$WARMUP" --threads "$THREADS") > "$OUT/raw/ref-$1-r$2.json" 2> "$OUT/raw/ref-$1-r$2.log"
}

{
  echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "nproc=$(nproc)"
  echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "node=$(node --version)"
  echo "tfjs=$(node -p "require('$ROOT/node_modules/@tensorflow/tfjs-backend-wasm/package.json').version")"
  echo "torch=$("$PYTHON" -c 'import torch; print(torch.__version__)')"
  echo "python=$("$PYTHON" -c 'import platform; print(platform.python_version())')"
  # Debian's torch links the libblas.so.3 alternative; the reference BLAS makes it ~4x slower
  echo "blas=$(readlink -f /etc/alternatives/libblas.so.3-x86_64-linux-gnu 2>/dev/null || echo unknown)"
  echo "hc_ref=${HC_REF_COMMIT:-$(git -C "$HC_REF" rev-parse HEAD 2>/dev/null || echo "(not a git checkout; set HC_REF_COMMIT)")}"
  echo "load_before=$(cut -d' ' -f1-3 /proc/loadavg)"
} > "$OUT/machine.txt"

for r in $(seq 1 "$ROUNDS"); do
  for kind in "${KINDS[@]}"; do
    wait_quiet
    # Alternate who goes first, so neither side always runs on a warmer or quieter machine.
    if (( r % 2 == 1 )); then ours "$kind" "$r"; theirs "$kind" "$r"; else theirs "$kind" "$r"; ours "$kind" "$r"; fi
    echo "round $r/$ROUNDS $kind: ours $(grep -o '"ms_per_step":[0-9.]*' "$OUT/raw/ours-$kind-r$r.json") ref $(grep -o '"ms_per_step": [0-9.]*' "$OUT/raw/ref-$kind-r$r.json")" >&2
  done
done
echo "load_after=$(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/machine.txt"

"$PYTHON" "$HERE/summarize.py" "$OUT"
cat "$OUT/results.md"
