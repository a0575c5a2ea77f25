#!/usr/bin/env bash
# Capture benchmark (issue 4, §7): for the tiny preset and two token counts, capture time against
# forward-only time over the same windows and batches, MB/s written, and the CLI's peak RSS.
# Modes of bench.ts run interleaved, ROUNDS times, so machine noise falls on all of them.
# Writes $OUT/raw.jsonl, $OUT/rss-*.txt and $OUT/results.md (the table in bench/RESULTS.md).
#
#   bench/capture/run.sh                      # SIZES="20000 200000" ROUNDS=2
#
# Optional: CONNECTION (the tiny preset's mhc-lite; e.g. hc or mhc to train that kind instead),
# SIZES, ROUNDS, BATCH (8), SITES (resid_post,coeffs: the CLI's default),
# RSS_SIZES (SIZES: the token counts of the CLI's peak-RSS runs), MODES (all of bench.ts' but pair),
# PAIR (5: for each size, one process alternating forward and capture, PAIR captures; 0: none),
# WORK (/tmp/hcprobe-bench-capture: the trained run and the captures), OUT ($WORK/out).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
SIZES="${SIZES:-20000 200000}"
ROUNDS="${ROUNDS:-2}"
BATCH="${BATCH:-8}"
SITES="${SITES:-resid_post,coeffs}"
RSS_SIZES="${RSS_SIZES:-$SIZES}"
PAIR="${PAIR:-5}"
MODES="${MODES:-forward hooks hooked capture capture-cold capture-inline write}"
CONNECTION="${CONNECTION:-}"
WORK="${WORK:-/tmp/hcprobe-bench-capture${CONNECTION:+-$CONNECTION}}"
OUT="${OUT:-$WORK/out}"
TIME=/usr/bin/time
[[ -x "$TIME" ]] || { echo "needs GNU time at $TIME (Debian: apt-get install time)" >&2; exit 2; }
mkdir -p "$WORK" "$OUT"
rm -f "$OUT/raw.jsonl" "$OUT/raw-pair.jsonl" "$OUT"/rss-*.txt
HC=(node "$ROOT/bin/hcprobe.mjs")
BENCH=(node --import tsx "$HERE/bench.ts")

# The tiny preset (2 layers, d 64, seq 64, mhc-lite with 4 streams), trained once.
if ! ls "$WORK/run/checkpoints/"*.safetensors >/dev/null 2>&1; then
  (cd "$ROOT" && "${HC[@]}" train --preset tiny ${CONNECTION:+--connection "$CONNECTION"} --out "$WORK/run" --backend wasm --force 2>/dev/null)
fi

{
  echo "date=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "nproc=$(nproc)"
  echo "cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
  echo "node=$(node --version)"
  echo "load=$(cut -d' ' -f1-3 /proc/loadavg)"
} > "$OUT/machine.txt"

# The split is train: the synthetic validation split has 100k tokens, fewer than the larger size.
common=(--run "$WORK/run" --batch "$BATCH" --sites "$SITES" --split train --backend wasm)
for round in $(seq "$ROUNDS"); do
  for n in $SIZES; do
    for mode in $MODES; do
      (cd "$ROOT" && "${BENCH[@]}" "$mode" "${common[@]}" --tokens "$n" --out "$WORK/acts-$n") | sed "s/^{/{\"round\":$round,\"load1\":$(cut -d' ' -f1 /proc/loadavg),/" >> "$OUT/raw.jsonl"
      rm -rf "$WORK/acts-$n"
    done
  done
done

# Capture against the forwards just before and after it, in one process (bench.ts pair).
if [[ "$PAIR" -gt 0 ]]; then
  for n in $SIZES; do
    (cd "$ROOT" && "${BENCH[@]}" pair "${common[@]}" --tokens "$n" --out "$WORK/acts-$n" --repeat "$PAIR") | sed "s/^{/{\"load1\":$(cut -d' ' -f1 /proc/loadavg),/" >> "$OUT/raw-pair.jsonl"
    rm -rf "$WORK/acts-$n"
  done
fi

# Peak RSS of the real command, start-up included, with the writer thread (rss-N) and without (rss-inline-N).
for n in $RSS_SIZES; do
  for wt in true false; do
    file="$OUT/rss-$n.txt"; [[ $wt == true ]] || file="$OUT/rss-inline-$n.txt"
    (cd "$ROOT" && "$TIME" -v "${HC[@]}" capture --run "$WORK/run" --out "$WORK/cli-$n" --tokens "$n" --batch "$BATCH" \
      --sites "$SITES" --split train --backend wasm --writer-thread "$wt" --force) 2> "$file" >/dev/null
    rm -rf "$WORK/cli-$n"
  done
done
echo "load_after=$(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/machine.txt"

(cd "$ROOT" && node --import tsx "$HERE/summarize.ts" "$OUT") | tee "$OUT/results.md"
