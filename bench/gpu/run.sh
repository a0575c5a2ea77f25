#!/usr/bin/env bash
# GPU training throughput and parity: hcprobe on TensorFlow.js webgpu (Dawn over Vulkan) against
# the reference PyTorch code, on a machine with an NVIDIA GPU, no Node.js and no network.
# Runs THERE, from the repository root, after bench/gpu/pack.sh has built .gpu/ HERE:
#   bash bench/gpu/run.sh [OUTDIR]          (OUTDIR default: $OUT, else .gpu/results)
# Writes to OUTDIR (at most 9 files): run.log, env.json, parity.json, bench_webgpu.json,
# torch_ref.json, gemm.jsonl, profile.json (tf.profile kernels + V8 host profiles), summary.json, probe.tgz.
# env: BATCHES="16 32" (the first is the headline; webgpu falls back to 8, 4, 2 if it fails),
#      STEPS=10 WARMUP=3, QUICK=1 (tiny model: a check of the script itself, GPU or not),
#      PYTHON=python3, DAWN_FLAGS (space separated, for webgpu's create()), NO_PROFILE=1,
#      PROBE=0 (skip the shared gpu-probe in .gpu/probe; it runs last, QUICK=1, if time is left),
#      DEADLINE=560 (seconds from the start after which nothing optional is started),
#      PARTS="parity bench gemm tfjs unfused profile hostprof probe" (which parts run; the environment
#      always runs; 'bench' times hcprobe's own engine, 'gemm' its GEMM against cuBLAS (gemm.jsonl), 'tfjs' the tfjs-webgpu step with the fused
#      WGSL programs, 'unfused' tfjs-webgpu with HCPROBE_FUSED=0;
#      'submit' and 'gradshim' are further, opt-in parts),
#      SUBMIT_BATCHES="100" (WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE values tried in part 'submit').
set -u
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
G="$ROOT/.gpu"
OUTDIR="${1:-${OUT:-$G/results}}"
mkdir -p "$OUTDIR"
OUTDIR="$(cd "$OUTDIR" && pwd)"
WORK="$(mktemp -d /tmp/hcprobe-gpu.XXXXXX)"
exec > >(tee -a "$OUTDIR/run.log") 2>&1
PY="${PYTHON:-python3}"
QUICK="${QUICK:-0}"
STEPS="${STEPS:-10}"
WARMUP="${WARMUP:-3}"
BATCHES="${BATCHES:-16 32}"
T_START=$(date +%s)
elapsed() { echo "$(( $(date +%s) - T_START ))s"; }
echo "== hcprobe GPU bench $(date -u +%FT%TZ) on $(uname -srm), work dir $WORK"

# --- Node.js: the one on PATH if >= 20, else the carried binary ---------------------------------
if command -v node >/dev/null && node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)' 2>/dev/null; then
  echo "node: $(command -v node) $(node --version)"
else
  mkdir -p /tmp/hcprobe-node
  if [ ! -x /tmp/hcprobe-node/node ]; then
    xz -dc "$G/node.xz" > /tmp/hcprobe-node/node.tmp && chmod +x /tmp/hcprobe-node/node.tmp && mv /tmp/hcprobe-node/node.tmp /tmp/hcprobe-node/node
  fi
  export PATH="/tmp/hcprobe-node:$PATH"
  echo "node: carried $(node --version)"
fi

# --- node_modules: the carried, pruned copy when the checkout has none -------------------------
if [ ! -e node_modules ]; then
  if [ ! -d "$G/node_modules" ]; then
    tar -C "$G" -xJf "$G/node_modules.tar.xz" || { echo "FATAL: cannot unpack $G/node_modules.tar.xz"; exit 1; }
  fi
  ln -s .gpu/node_modules node_modules
  echo "node_modules: -> .gpu/node_modules"
fi

# --- Vulkan loader + NVIDIA ICD ------------------------------------------------------------------
# The NVIDIA ICD (libGLX_nvidia.so.0) needs libGLdispatch (libglvnd0) and X11 libraries; the
# carried Debian packages are unpacked into a private dir on LD_LIBRARY_PATH, loader included.
VK="/tmp/hcprobe-vk"
if [ "${SYSTEM_VK:-0}" != 1 ] && ls "$G"/debs/*.deb >/dev/null 2>&1; then
  mkdir -p "$VK"
  for d in "$G"/debs/*.deb; do dpkg-deb -x "$d" "$VK" 2>/dev/null || (cd "$VK" && ar p "$d" data.tar.xz | tar xJ); done
  export LD_LIBRARY_PATH="$VK/usr/lib/x86_64-linux-gnu:$VK/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  echo "vulkan loader + glvnd: carried ($(ls "$G"/debs/*.deb | wc -l) packages in $VK)"
else
  echo "vulkan loader: $(ldconfig -p | grep 'libvulkan.so.1' | head -1)"
fi
if [ -z "${VK_ICD_FILENAMES:-}${VK_DRIVER_FILES:-}" ]; then
  for f in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json \
           /etc/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.x86_64.json; do
    if [ -f "$f" ]; then export VK_ICD_FILENAMES="$f" VK_DRIVER_FILES="$f"; break; fi
  done
fi
if [ -n "${VK_ICD_FILENAMES:-}" ] && [ -f "$VK_ICD_FILENAMES" ]; then
  icdlib="$("$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["ICD"]["library_path"])' "$VK_ICD_FILENAMES" 2>/dev/null)"
  icdpath="$(ldconfig -p | grep -F "$icdlib" | head -1 | sed 's/.*=> //')"
  [ -z "$icdpath" ] && [ -f "$icdlib" ] && icdpath="$icdlib"
  echo "ICD library: $icdlib -> ${icdpath:-not found by ldconfig}"
  [ -n "$icdpath" ] && { ldd "$icdpath" 2>&1 | grep -E 'not found' && echo "(missing libraries above)"; }
fi
echo "VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-<unset>}"
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-/tmp/hcprobe-xdg}"
mkdir -p -m 700 "$XDG_RUNTIME_DIR"

# preload: tfjs flags, a synchronous read for webgpu in Node, chunked AddN (see preload.cjs)
NODE=(node --require ./bench/gpu/preload.cjs)
CLI=("${NODE[@]}" bin/hcprobe.mjs)
DF=()
for f in ${DAWN_FLAGS:-}; do DF+=("$f"); done
want() { [[ " ${PARTS:-parity bench gemm tfjs unfused profile hostprof probe} " == *" $1 "* ]]; }
quiet() { grep -v -E 'maxDynamic(Uniform|Storage)Buffers|performance of synchronously reading|^HCPROBE_SHIM_STATS|^Setting feature override from URL'; }
showerr() { local t; t="$(quiet < "$1" | head -c "${2:-700}")"; [ -n "$t" ] && printf -- '-- %s:\n%s\n' "$(basename "$1")" "$t"; return 0; }

# --- (a) environment: GPU, driver, adapter, versions --------------------------------------------
echo "== (a) environment  [$(elapsed)]"
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem,power.limit,pstate --format=csv | tee "$WORK/nvidia-smi.csv"
  nvidia-smi > "$WORK/nvidia-smi.txt" 2>&1
else
  echo "no nvidia-smi"
fi
timeout 120 node bench/gpu/adapter.mjs "${DF[@]}" 2> "$WORK/adapter.err" | tee "$WORK/adapter.json"; quiet < "$WORK/adapter.err"
if ! grep -q '"ok":true' "$WORK/adapter.json" && [ "$(id -u)" = 0 ] && ls "$G"/debs/*.deb >/dev/null 2>&1 && [ "${NO_ROOT_VK:-0}" != 1 ]; then
  # the device README's recipe: unpack the loader/glvnd packages into / and run ldconfig
  echo "-- no adapter with the private dir; unpacking the Vulkan/glvnd packages into / (device README recipe)"
  for d in "$G"/debs/*.deb; do dpkg -x "$d" /; done; ldconfig
  export LD_LIBRARY_PATH="${LD_LIBRARY_PATH#"$VK/usr/lib/x86_64-linux-gnu:$VK/lib/x86_64-linux-gnu"}"
  export LD_LIBRARY_PATH="${LD_LIBRARY_PATH#:}"
  timeout 120 node bench/gpu/adapter.mjs "${DF[@]}" 2> "$WORK/adapter.err" | tee "$WORK/adapter.json"; quiet < "$WORK/adapter.err"
fi
echo

# --- (b) parity: forward logits on every fixture, webgpu vs the reference and vs wasm ----------
: > "$WORK/parity.jsonl"
if want parity; then
echo "== (b) parity  [$(elapsed)]"
for fx in test/fixtures/parity/*.json; do
  c="$(basename "$fx" .json)"
  "$PY" -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["tokens"]))' "$fx" > "$WORK/$c.tokens.json"
  args=(forward --checkpoint "test/fixtures/parity/$c.safetensors" --tokens "@$WORK/$c.tokens.json" --json)
  timeout 120 "${CLI[@]}" "${args[@]}" --backend webgpu > "$WORK/$c.webgpu.json" 2> "$WORK/$c.webgpu.err"
  HCPROBE_TFJS_FLAGS=WEBGPU_CPU_FORWARD=false timeout 120 "${CLI[@]}" "${args[@]}" --backend webgpu > "$WORK/$c.webgpu_nocpu.json" 2> "$WORK/$c.webgpu_nocpu.err"
  timeout 120 "${CLI[@]}" "${args[@]}" --backend wasm > "$WORK/$c.wasm.json" 2> "$WORK/$c.wasm.err"
  "$PY" bench/gpu/compare.py "$fx" webgpu="$WORK/$c.webgpu.json" webgpu_nocpu="$WORK/$c.webgpu_nocpu.json" wasm="$WORK/$c.wasm.json" | tee -a "$WORK/parity.jsonl"
  for e in "$WORK/$c".*.err; do showerr "$e"; done
done
echo "-- training-step check (small model, 4 steps): loss and grad norm, webgpu vs wasm"
SMALL=(--vocab 64 --d-model 32 --layers 2 --heads 2 --seq 16 --batch 2 --connection mhc-lite --stream-init lss --streams 4)
timeout 120 "${NODE[@]}" bench/gpu/step-check.mjs check --backend wasm --steps 4 "${SMALL[@]}" > "$WORK/check_wasm.json" 2> "$WORK/check_wasm.err"
timeout 120 "${NODE[@]}" bench/gpu/step-check.mjs check --backend webgpu --steps 4 "${SMALL[@]}" > "$WORK/check_webgpu.json" 2> "$WORK/check_webgpu.err"
HCPROBE_ADDN_SHIM=0 timeout 120 "${NODE[@]}" bench/gpu/step-check.mjs check --backend webgpu --steps 4 "${SMALL[@]}" > "$WORK/check_webgpu_noaddn.json" 2> "$WORK/check_webgpu_noaddn.err"
for e in "$WORK"/check_*.err; do showerr "$e" 800; done
fi

# --- (c) + (d) training throughput: hcprobe bench-step (webgpu) and the reference (PyTorch) ----
if [ "$QUICK" = 1 ]; then
  MODEL=(--layers 2 --heads 2 --d-model 64 --seq 32 --vocab 256)
  TORCH_ENV=(QUICK=1)
  BATCHES="${BATCHES_QUICK:-2}"
else
  MODEL=(--layers 6 --heads 8 --d-model 512 --seq 256 --vocab 50304)
  TORCH_ENV=()
fi
MODEL+=(--connection mhc-lite --stream-init lss --streams 4)
: > "$WORK/bench.jsonl"
: > "$WORK/torch.jsonl"
HEAD_BATCH=""
first=1
want bench || BATCHES=""
for B in $BATCHES; do
  tries="$B"
  [ "$first" = 1 ] && for f in 8 4 2; do [ "$f" -lt "$B" ] && tries="$tries $f"; done
  ok=""
  for b in $tries; do
    echo "== (c) hcprobe bench-step --backend webgpu (hcprobe's engine), batch $b  [$(elapsed)]"
    HCPROBE_SHIM_STATS=1 timeout 300 "${CLI[@]}" bench-step --backend webgpu "${MODEL[@]}" --batch "$b" --steps "$STEPS" --warmup "$WARMUP" --json \
      > "$WORK/bench_$b.json" 2> "$WORK/bench_$b.err"
    rc=$?
    cat "$WORK/bench_$b.json"
    showerr "$WORK/bench_$b.err" 2000
    "$PY" - "$b" "$rc" "$WORK/bench_$b.json" "$WORK/bench_$b.err" "${MODEL[*]}" "$STEPS" "$WARMUP" >> "$WORK/bench.jsonl" <<'EOF'
import json, sys
b, rc, out, err, model, steps, warmup = sys.argv[1:]
r = {"batch": int(b), "rc": int(rc), "model_args": model, "steps": int(steps), "warmup": int(warmup)}
try:
    r["result"] = json.loads(open(out).read().strip().splitlines()[-1])
except Exception as e:
    r["error"] = f"no JSON: {e}"
for line in open(err, errors="replace"):
    if line.startswith("HCPROBE_SHIM_STATS "):
        w = json.loads(line.split(" ", 1)[1])["waits"]
        r["readsync_wait_ms"] = w
print(json.dumps(r))
EOF
    if [ "$rc" = 0 ] && [ -s "$WORK/bench_$b.json" ]; then ok="$b"; break; fi
  done
  if [ -z "$ok" ]; then
    [ "$first" = 1 ] || continue
    ok="$B"   # webgpu failed: still time the reference at the requested batch
  fi
  [ "$first" = 1 ] && HEAD_BATCH="$ok"
  echo "== (d) reference PyTorch, batch $ok  [$(elapsed)]"
  modes="fp32,tf32"; mm=1
  [ "$first" = 1 ] || { mm=0; }
  env "${TORCH_ENV[@]}" BATCH="$ok" MODES="$modes" MATMUL="$mm" STEPS=20 WARMUP=5 PYTHONUNBUFFERED=1 PYTHONPATH="$G/ref:$G/pylib${PYTHONPATH:+:$PYTHONPATH}" \
    timeout 300 "$PY" bench/gpu/torch_ref.py > "$WORK/torch_$ok.json" 2> "$WORK/torch_$ok.err"
  echo "rc=$? $(tail -c 600 "$WORK/torch_$ok.err")"
  tail -n 1 "$WORK/torch_$ok.json" >> "$WORK/torch.jsonl"
  first=0
done

HEAD_BATCH="${HEAD_BATCH:-${BATCHES_HEAD:-16}}"
[ "$QUICK" = 1 ] && HEAD_BATCH=2

# bench-step at the headline batch under extra environment (VAR=VALUE ...), as a row of
# bench.jsonl labelled FLAGS: variant NAME FLAGS STEPS WARMUP VAR=VALUE...
# These variants time tfjs-webgpu (--tfjs-webgpu); part (c) above times hcprobe's own engine.
variant() {
  local name="$1" flags="$2" steps="$3" warmup="$4"
  shift 4
  echo "== bench-step --backend webgpu --tfjs-webgpu, batch $HEAD_BATCH, $flags  [$(elapsed)]"
  env "$@" timeout 300 "${CLI[@]}" bench-step --backend webgpu --tfjs-webgpu "${MODEL[@]}" --batch "$HEAD_BATCH" \
    --steps "$steps" --warmup "$warmup" --json > "$WORK/bench_$name.json" 2> "$WORK/bench_$name.err"
  local rc=$?
  cat "$WORK/bench_$name.json"; showerr "$WORK/bench_$name.err"
  "$PY" -c 'import json,sys; r={"batch":int(sys.argv[1]),"rc":int(sys.argv[2]),"flags":sys.argv[3],"steps":int(sys.argv[5]),"warmup":int(sys.argv[6])}
try: r["result"]=json.loads(open(sys.argv[4]).read().strip().splitlines()[-1])
except Exception as e: r["error"]=str(e)
for line in open(sys.argv[7], errors="replace"):
    if line.startswith("HCPROBE_SHIM_STATS "): r["readsync_wait_ms"]=json.loads(line.split(" ",1)[1])["waits"]
print(json.dumps(r))' "$HEAD_BATCH" "$rc" "$flags" "$WORK/bench_$name.json" "$steps" "$warmup" "$WORK/bench_$name.err" >> "$WORK/bench.jsonl"
}

# --- (c5) the engine's fp32 GEMM against cuBLAS (fp32, TF32 off) at 4096³ and the S step's shapes --
if want gemm; then
  q=""; [ "$QUICK" = 1 ] && q="--quick"
  echo "== (c5) GEMM: hcprobe's engine, then torch.matmul  [$(elapsed)]"
  timeout 240 node --import tsx bench/engine/gemm-time.ts 20 $q > "$WORK/gemm_engine.jsonl" 2> "$WORK/gemm_engine.err"; showerr "$WORK/gemm_engine.err" 800
  timeout 120 "$PY" bench/gpu/torch_gemm.py 20 $q > "$WORK/gemm_torch.jsonl" 2> "$WORK/gemm_torch.err"; showerr "$WORK/gemm_torch.err" 800
  cat "$WORK/gemm_engine.jsonl" "$WORK/gemm_torch.jsonl" | tee "$OUTDIR/gemm.jsonl"
fi

# --- (c2) tfjs-webgpu's command batching: WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE (default 15) -------
if want submit; then
  for sb in ${SUBMIT_BATCHES:-100}; do
    variant "sb$sb" "WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE=$sb" 5 2 HCPROBE_TFJS_FLAGS="WEBGPU_DEFERRED_SUBMIT_BATCH_SIZE=$sb"
  done
fi

# --- (c4) the same step with hcprobe's fused WGSL programs off (HCPROBE_FUSED=0) ----------------
want tfjs && variant tfjs "tfjs-webgpu" "$STEPS" "$WARMUP" HCPROBE_FUSED=1
want unfused && variant unfused "HCPROBE_FUSED=0" "$STEPS" "$WARMUP" HCPROBE_FUSED=0

# --- (c3) experiment: Sum/Mean gradients without tf.ones on the host (preload HCPROBE_GRAD_SHIM=1) --
if want gradshim; then
  variant gs "HCPROBE_GRAD_SHIM=1" "$STEPS" "$WARMUP" HCPROBE_GRAD_SHIM=1 HCPROBE_SHIM_STATS=1
  SMALL=(--vocab 64 --d-model 32 --layers 2 --heads 2 --seq 16 --batch 2 --connection mhc-lite --stream-init lss --streams 4)
  HCPROBE_GRAD_SHIM=1 timeout 120 "${NODE[@]}" bench/gpu/step-check.mjs check --backend webgpu --steps 4 "${SMALL[@]}" > "$WORK/check_webgpu_gradshim.json" 2> "$WORK/check_webgpu_gradshim.err"
  [ -s "$WORK/check_wasm.json" ] || timeout 120 "${NODE[@]}" bench/gpu/step-check.mjs check --backend wasm --steps 4 "${SMALL[@]}" > "$WORK/check_wasm.json" 2> "$WORK/check_wasm.err"
  showerr "$WORK/check_webgpu_gradshim.err"
  if want hostprof; then
    echo "== (h2) V8 CPU profile of 2 webgpu steps with HCPROBE_GRAD_SHIM=1  [$(elapsed)]"
    HCPROBE_GRAD_SHIM=1 timeout 240 "${NODE[@]}" bench/gpu/step-check.mjs cpuprof --backend webgpu "${MODEL[@]}" --batch "$HEAD_BATCH" --warmup 2 --steps 2 \
      --out "$WORK/step_gs.cpuprofile" > "$WORK/hostprof_gs_run.json" 2> "$WORK/hostprof_gs.err"
    echo "rc=$?"; showerr "$WORK/hostprof_gs.err"
    [ -s "$WORK/step_gs.cpuprofile" ] && node bench/gpu/cpuprof.mjs "$WORK/step_gs.cpuprofile" 30 > "$WORK/hostprof_gs.json"
  fi
fi

# --- (h) host (JS) CPU profile of two webgpu steps ------------------------------------------------
if want hostprof; then
  echo "== (h) V8 CPU profile of 2 webgpu training steps, batch $HEAD_BATCH  [$(elapsed)]"
  timeout 240 "${NODE[@]}" bench/gpu/step-check.mjs cpuprof --backend webgpu "${MODEL[@]}" --batch "$HEAD_BATCH" --warmup 2 --steps 2 \
    --out "$WORK/step.cpuprofile" > "$WORK/hostprof_run.json" 2> "$WORK/hostprof.err"
  echo "rc=$?"; showerr "$WORK/hostprof.err"
  [ -s "$WORK/step.cpuprofile" ] && node bench/gpu/cpuprof.mjs "$WORK/step.cpuprofile" 30 > "$WORK/hostprof.json"
fi

# --- (f) kernel profile of one webgpu step (optional) -------------------------------------------
if want profile && [ "${NO_PROFILE:-0}" != 1 ]; then
  echo "== (f) tf.profile of one webgpu training step, batch $HEAD_BATCH  [$(elapsed)]"
  timeout 240 "${NODE[@]}" bench/gpu/step-check.mjs profile --backend webgpu "${MODEL[@]}" --batch "$HEAD_BATCH" --warmup 2 \
    > "$OUTDIR/profile.json" 2> "$WORK/profile.err"
  echo "rc=$?"; showerr "$WORK/profile.err"
fi

# --- (e) summary ----------------------------------------------------------------------------------
echo "== (e) summary  [$(elapsed)]"
"$PY" bench/gpu/summarize.py "$WORK" "$OUTDIR" "$HEAD_BATCH"

# --- (g) the shared gpu-probe, QUICK (tfjs + jax-js on the same WebGPU device), if time is left --
left=$(( ${DEADLINE:-560} - ($(date +%s) - T_START) ))
if want probe && [ "${PROBE:-1}" = 1 ] && [ -f "$G/probe/run.sh" ] && [ "$left" -gt 90 ]; then
  echo "== (g) shared gpu-probe, QUICK=1, at most ${left}s  [$(elapsed)]"
  mkdir -p "$WORK/probe"
  (cd "$G/probe" && QUICK=1 timeout "$left" bash run.sh "$WORK/probe" > "$WORK/probe/stdout.txt" 2>&1)
  echo "rc=$?"; tail -n 25 "$WORK/probe/stdout.txt" | quiet
  tar -C "$WORK" -czf "$OUTDIR/probe.tgz" probe
else
  echo "== (g) shared gpu-probe skipped (PROBE=${PROBE:-1}, ${left}s left)"
fi
echo "== done in $(elapsed): $OUTDIR"
