#!/usr/bin/env bash
# Linear-probe benchmark in one run: which engine evaluates the objective fastest, then our probe
# fit against scikit-learn's LogisticRegression on the same exported problem (same split, same
# λ grid), printing the Markdown tables for bench/RESULTS.md.
# usage: bash bench/probes/run.sh ACTS [SITE LAYER MODULE STREAM MAX_TOKENS] 
#   env: DIR (export folder, default /tmp/hcprobe-probe-bench), SKIP_EXPORT=1 (reuse DIR),
#        PYTHON (needs numpy + scikit-learn; default /usr/bin/python3, the Debian python3-sklearn),
#        THREADS (BLAS threads for scikit-learn, default "1"; e.g. "1 16")
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
ACTS="${1:?usage: run.sh ACTS [SITE LAYER MODULE STREAM MAX_TOKENS]}"
SITE="${2:-resid_post}" LAYER="${3:-1}" MODULE="${4:-mlp}" STREAM="${5:-0}" MAX_TOKENS="${6:-20000}"
DIR="${DIR:-/tmp/hcprobe-probe-bench}"
PYTHON="${PYTHON:-/usr/bin/python3}"
echo "machine: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores; node $(node --version); $("$PYTHON" -c 'import sklearn, numpy; print("scikit-learn", sklearn.__version__, "numpy", numpy.__version__)')"
echo
node --import tsx bench/probes/solver-choice.ts
echo
[ "${SKIP_EXPORT:-0}" = 1 ] || node --import tsx bench/probes/export.ts "$ACTS" "$SITE" "$LAYER" "$MODULE" "$STREAM" "$MAX_TOKENS" "$DIR"
node --import tsx bench/probes/fit-ours.ts "$DIR" 3
for t in ${THREADS:-1}; do
  echo
  "$PYTHON" bench/probes/sklearn_compare.py "$DIR" "$t"
done
