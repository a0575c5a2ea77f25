#!/bin/bash
# Issue 14's two measurements that need no GPU, each against the tfjs-webgpu path in the same run:
#  1. compute dispatches per training step at the reference's S dims (6 layers, d 512, 8 heads,
#     seq 256, vocab 50,304, mHC-lite n 4 + LSS, batch 1), on lavapipe: the engine's recorded
#     count (bench-step runs one step), tfjs-webgpu's every dispatchWorkgroups of one step
#     (bench/gpu/step-check.mjs profile);
#  2. host milliseconds per step on Dawn's null backend (it executes nothing, so a step costs
#     what the host spends on it), structure of bench/RESULTS.md's earlier figure (6 layers,
#     d 128, seq 64, vocab 512, batch 4, mHC-lite n 4 + LSS), ROUNDS interleaved rounds.
# Usage: bash bench/engine/run.sh [ROUNDS=3]; writes bench/engine/out/*.json and prints a summary.
# Needs lavapipe (bash scripts/lavapipe.sh; HCPROBE_TEST_VULKAN names its folder, default .cache/lavapipe).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-3}
OUT=bench/engine/out
mkdir -p "$OUT"
LAVA=${HCPROBE_TEST_VULKAN:-.cache/lavapipe}
S="--layers 6 --heads 8 --d-model 512 --seq 256 --vocab 50304 --batch 1 --connection mhc-lite --stream-init lss --streams 4"
SMALL="--layers 6 --heads 8 --d-model 128 --seq 64 --vocab 512 --batch 4 --connection mhc-lite --stream-init lss --streams 4"
quiet() { grep -v 'artificially reduced' || true; }
{ echo "date: $(date -u +%FT%TZ)"; echo "node: $(node --version)"; nproc; uptime; } > "$OUT/machine.txt"
(
  export LD_LIBRARY_PATH="$LAVA/lib" VK_ICD_FILENAMES="$LAVA/icd.json"
  node bin/hcprobe.mjs bench-step --backend webgpu $S --steps 1 --warmup 1 --json 2> >(quiet >&2) > "$OUT/s-engine.json"
  node --require ./bench/gpu/preload.cjs bench/gpu/step-check.mjs profile --backend webgpu $S --warmup 1 2> >(quiet >&2) > "$OUT/s-tfjs.json"
)
for r in $(seq 1 "$ROUNDS"); do
  HCPROBE_DAWN_FLAGS=backend=null node bin/hcprobe.mjs bench-step --backend webgpu $SMALL --steps 30 --warmup 5 --json > "$OUT/null-engine-$r.json"
  HCPROBE_DAWN_FLAGS=backend=null node bin/hcprobe.mjs bench-step --backend webgpu --tfjs-webgpu $SMALL --steps 10 --warmup 3 --json > "$OUT/null-tfjs-$r.json"
done
node -e '
const fs = require("fs");
const out = process.argv[1], rounds = Number(process.argv[2]);
const read = (f) => JSON.parse(fs.readFileSync(`${out}/${f}`, "utf8").trim().split("\n").at(-1));
const eng = read("s-engine.json"), tfjs = read("s-tfjs.json");
console.log(`dispatches per step at S: engine ${eng.dispatches}, tfjs-webgpu ${tfjs.dispatches}`);
const med = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const e = [], t = [];
for (let r = 1; r <= rounds; r++) {
  e.push(read(`null-engine-${r}.json`).ms_per_step);
  t.push(read(`null-tfjs-${r}.json`).ms_per_step);
  console.log(`round ${r}: engine ${e.at(-1).toFixed(2)} ms/step, tfjs-webgpu ${t.at(-1).toFixed(1)} ms/step`);
}
console.log(`median: engine ${med(e).toFixed(2)} ms, tfjs-webgpu ${med(t).toFixed(1)} ms (${(med(t) / med(e)).toFixed(0)}x less host time)`);
' "$OUT" "$ROUNDS" | tee "$OUT/summary.txt"
