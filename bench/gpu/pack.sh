#!/usr/bin/env bash
# Builds .gpu/ (git-ignored) for bench/gpu/run.sh on a GPU machine that has no Node.js and no
# network. Runs HERE, in a checkout with node_modules installed (npm ci) and network for apt.
#   .gpu/node.xz                 the Node binary in use here, xz-compressed
#   .gpu/node_modules.tar.xz     node_modules pruned to what `node bin/hcprobe.mjs` needs on
#                                linux-x64 (tfjs Node bundles + wasm, Dawn linux-x64, tsx, esbuild)
#   .gpu/debs/*.deb              Vulkan loader + libglvnd/X11 libs the NVIDIA ICD needs (Debian 12),
#                                unpacked there into a private dir (LD_LIBRARY_PATH)
#   .gpu/ref/                    the reference PyTorch code (model.py, hyper_conn/), from the local
#                                git mirror; third-party code, only ever inside the ignored .gpu/
#   .gpu/pylib/einops/           einops, which the reference imports (same: ignored, never committed)
# usage: bash bench/gpu/pack.sh        (FORCE=1 rebuilds everything; total must stay < ~45 MiB)
# env: REF_GIT, EINOPS_GIT (git dirs of the mirrors), NODE_BIN (default: node on PATH)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$ROOT"
G=.gpu
REF_GIT="${REF_GIT:-/work/.mirror/brain-lab-research+hc-stream-collapse/repo}"
EINOPS_GIT="${EINOPS_GIT:-/work/.mirror/arogozhnikov+einops/repo}"
NODE_BIN="${NODE_BIN:-$(command -v node)}"
[ "${FORCE:-0}" = 1 ] && rm -rf "$G"
mkdir -p "$G"
git check-ignore -q "$G/x" || { echo "pack.sh: $G is not git-ignored; refusing" >&2; exit 1; }

# --- Node binary -------------------------------------------------------------------------------
if [ ! -s "$G/node.xz" ] || [ "$NODE_BIN" -nt "$G/node.xz" ]; then
  echo "node: compressing $NODE_BIN ($("$NODE_BIN" --version))"
  xz -T2 -6 -c "$NODE_BIN" > "$G/node.xz.tmp" && mv "$G/node.xz.tmp" "$G/node.xz"
fi
"$NODE_BIN" --version > "$G/node.version"

# --- node_modules, pruned ----------------------------------------------------------------------
[ -d node_modules/@tensorflow/tfjs ] || { echo "pack.sh: run npm ci first" >&2; exit 1; }
[ -f node_modules/webgpu/dist/linux-x64/dawn.node ] || { echo "pack.sh: optional dependency webgpu (linux-x64 dawn.node) is missing" >&2; exit 1; }
if [ ! -s "$G/node_modules.tar.xz" ] || [ package-lock.json -nt "$G/node_modules.tar.xz" ] || [ node_modules/.package-lock.json -nt "$G/node_modules.tar.xz" ] || [ bench/gpu/pack.sh -nt "$G/node_modules.tar.xz" ]; then
  STAGE="$(mktemp -d)"
  trap 'rm -rf "$STAGE"' EXIT
  # production dependencies only (optional ones included: webgpu), as npm resolves them
  npm ls --omit=dev --parseable --all 2>/dev/null | sed "s#^$ROOT/##" | grep -E '^node_modules/(@[^/]+/)?[^/]+$' | sort -u > "$STAGE/list"
  grep -qx 'node_modules/webgpu' "$STAGE/list" || { echo "pack.sh: npm ls does not list webgpu" >&2; exit 1; }
  tar -C . -cf - -T "$STAGE/list" | tar -C "$STAGE" -xf -
  # type declarations are build-time only
  find "$STAGE/node_modules" -depth -type d \( -name '@types' -o -path '*/@webgpu/types' \) -exec rm -rf {} +
  (
    cd "$STAGE/node_modules"
    # Dawn: linux-x64 only (other platforms ~110 MB)
    find webgpu/dist -mindepth 1 -maxdepth 1 ! -name 'linux-x64*' ! -name '*.js' ! -name '*.json' -exec rm -rf {} +
    # TensorFlow.js: keep the Node CJS bundles, the wasm binaries and package.json files
    for d in @tensorflow/*/; do
      [ -d "$d/dist" ] || continue
      find "$d/dist" -type f ! -name '*.node.js' ! -name '*.wasm' -delete
      rm -rf "$d/src" "$d/scripts" "$d/wasm-out"
    done
    # the CLI needs neither webgl nor the converter/data/layers sources beyond their node bundles
    rm -rf @tensorflow/tfjs-backend-webgl/dist/*.wasm
    # js-tiktoken: the 'lite' entry only (the full bundle embeds every BPE table, 11 MB)
    rm -rf js-tiktoken/dist/index.js js-tiktoken/dist/index.cjs js-tiktoken/dist/ranks
    # core-js is required by nothing at run time in the node bundles
    rm -rf core-js
    # apache-arrow: Node resolves Arrow.node.(m)js and the per-module files; drop the browser
    # bundles and TypeScript sources
    if [ -d apache-arrow ]; then
      rm -f apache-arrow/*.min.js && rm -rf apache-arrow/src
    fi
    # source maps, declarations, docs
    find . -type f \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.md' -o -name '*.markdown' \) ! -name 'LICENSE*' -delete
    find . -type d -empty -delete
  )
  echo "node_modules pruned: $(du -sh "$STAGE/node_modules" | cut -f1) ($(find "$STAGE/node_modules" -type f | wc -l) files)"
  tar -C "$STAGE" -cf - node_modules | xz -T2 -6 -c > "$G/node_modules.tar.xz.tmp"
  mv "$G/node_modules.tar.xz.tmp" "$G/node_modules.tar.xz"
  rm -rf "$STAGE"
  trap - EXIT
fi

# --- Vulkan loader + GL vendor-neutral dispatch (Debian 12 packages, amd64, private apt lists) ---
# NVIDIA's Vulkan ICD is libGLX_nvidia.so.0, which needs libGLdispatch (libglvnd0) and X11 libs;
# without them the loader says "Could not get 'vkCreateInstance' via 'vk_icdGetInstanceProcAddr'".
DEBS="libvulkan1 libglvnd0 libglx0 libgl1 libegl1 libgles2 libopengl0 libx11-6 libxext6 libxcb1 libxau6 libxdmcp6 libbsd0 libmd0"
if [ ! -f "$G/debs/.done" ] || [ "$(cat "$G/debs/.done")" != "$DEBS" ]; then
  rm -rf "$G/debs" && mkdir -p "$G/debs"
  rm -f "$G"/libvulkan1_*.deb
  L="$(mktemp -d)"
  mkdir -p "$L/partial"
  o=(-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 "-oDir::State::Lists=$L")
  apt-get "${o[@]}" update >/dev/null 2>&1
  # shellcheck disable=SC2086
  (cd "$G/debs" && apt-get "${o[@]}" download $DEBS 2>&1 | grep -v -E 'unsandboxed|^Get:|^Fetched' || true)
  rm -rf "$L"
  [ "$(ls "$G"/debs/*.deb | wc -l)" -eq "$(echo $DEBS | wc -w)" ] || { echo "pack.sh: some .deb downloads failed" >&2; exit 1; }
  echo "$DEBS" > "$G/debs/.done"
fi

# --- reference PyTorch code + einops (third-party, ignored; never committed) -------------------
if [ ! -f "$G/ref/model.py" ]; then
  rm -rf "$G/ref" && mkdir -p "$G/ref"
  git --git-dir="$REF_GIT" archive HEAD model.py hyper_conn LICENSE licenses | tar -x -C "$G/ref"
  git --git-dir="$REF_GIT" rev-parse HEAD > "$G/ref/COMMIT"
fi
if [ ! -f "$G/pylib/einops/__init__.py" ]; then
  rm -rf "$G/pylib" && mkdir -p "$G/pylib"
  git --git-dir="$EINOPS_GIT" archive HEAD einops LICENSE | tar -x -C "$G/pylib"
  git --git-dir="$EINOPS_GIT" rev-parse HEAD > "$G/pylib/EINOPS_COMMIT"
fi

# --- optional: the shared gpu-probe (jax-js and tfjs microbenchmarks), run after ours ----------
# Its tfjs/webgpu come from .gpu/node_modules (Node looks in parent folders); @jax-js/jax is
# added from the registry with `npm pack`. PROBE=0 skips it.
PROBE_SRC="${PROBE_SRC:-$ROOT/../shared/gpu-probe}"
[ -d "$PROBE_SRC" ] || PROBE_SRC=/work/shared/gpu-probe
if [ "${PROBE:-1}" = 1 ] && [ -f "$PROBE_SRC/run.sh" ] && [ ! -f "$G/probe/node_modules/@jax-js/jax/package.json" ]; then
  rm -rf "$G/probe" && mkdir -p "$G/probe"
  (cd "$PROBE_SRC" && tar --exclude=node_modules --exclude=vendor --exclude=results --exclude=.run -cf - .) | tar -C "$G/probe" -xf -
  JV="$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).dependencies["@jax-js/jax"])' "$G/probe/package.json")"
  T="$(mktemp -d)"
  if (cd "$T" && npm pack --silent "@jax-js/jax@$JV" >/dev/null 2>&1); then
    mkdir -p "$G/probe/node_modules/@jax-js/jax"
    tar -C "$G/probe/node_modules/@jax-js/jax" --strip-components=1 -xzf "$T"/*.tgz
  else
    echo "probe: npm pack @jax-js/jax@$JV failed; the probe's jax-js parts will fail" >&2
  fi
  rm -rf "$T"
fi

# --- sizes -------------------------------------------------------------------------------------
du -sh "$G"/* | sed 's/^/  /'
total=$(du -sb "$G" | cut -f1)
tree=$(git ls-files -co --exclude-standard -z | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
echo ".gpu: $((total / 1048576)) MiB; working tree that travels with it: $((tree / 1048576)) MiB (limit 64 MiB together)"
[ "$total" -lt $((45 * 1048576)) ] || echo "WARNING: .gpu is over 45 MiB" >&2
