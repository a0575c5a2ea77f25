#!/usr/bin/env bash
# A software WebGPU adapter for machines without a GPU: Mesa's lavapipe Vulkan driver from
# bookworm-backports (Dawn rejects Debian 12's own Mesa 22) and the Vulkan loader, unpacked into
# DIR with a private apt state; the system's packages and apt sources are left as they are.
# Then, for the webgpu backend and its tests:
#   export LD_LIBRARY_PATH=DIR/lib VK_ICD_FILENAMES=DIR/icd.json   (or HCPROBE_TEST_VULKAN=DIR)
# Usage: bash scripts/lavapipe.sh [DIR]     (default .cache/lavapipe; needs apt-get and network
# access to deb.debian.org; a DIR that already holds icd.json is reused)
set -euo pipefail
DIR="$(mkdir -p "${1:-.cache/lavapipe}" && cd "${1:-.cache/lavapipe}" && pwd)"
if [ -f "$DIR/icd.json" ] && [ -e "$DIR/lib/libvulkan.so.1" ]; then echo "lavapipe: $DIR (present)"; exit 0; fi
A="$DIR/apt"
mkdir -p "$A/lists/partial" "$A/cache/archives/partial" "$DIR/debs" "$DIR/root" "$DIR/lib"
cat > "$A/sources.list" <<SRC
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm-backports main
SRC
o=(-o "Dir::Etc::SourceList=$A/sources.list" -o Dir::Etc::SourceParts=/dev/null -o "Dir::State::Lists=$A/lists"
   -o "Dir::Cache=$A/cache" -o Dir::State::status=/var/lib/dpkg/status -o APT::Architecture=amd64)
apt-get "${o[@]}" -qq update
(cd "$DIR/debs" && apt-get "${o[@]}" -qq download libvulkan1 mesa-vulkan-drivers/bookworm-backports)
for d in "$DIR"/debs/*.deb; do dpkg-deb -x "$d" "$DIR/root"; done
lib="$DIR/root/usr/lib/x86_64-linux-gnu"
ln -sf "$lib/libvulkan.so.1" "$DIR/lib/libvulkan.so.1"
printf '{"file_format_version":"1.0.0","ICD":{"library_path":"%s","api_version":"1.3.0"}}\n' "$lib/libvulkan_lvp.so" > "$DIR/icd.json.tmp"
mv "$DIR/icd.json.tmp" "$DIR/icd.json"
echo "lavapipe: $DIR ($(ls "$DIR"/debs))"
