#!/usr/bin/env bash
# Installs what cairn needs from Debian's packages (when missing), builds it with
# meson + ninja into build/, and installs the `cairn` kernelspec for this user.
# Used by both README commands: kernelspec/quickstart.sh and tests/run.sh.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential meson ninja-build pkg-config
  libzmq3-dev libsodium-dev libjansson-dev libopenblas-dev liblapacke-dev
  libcairo2-dev libtcc-dev tcc zlib1g-dev fonts-dejavu-core
  python3-jupyter-client jupyter-client python3-nbconvert jupyter-nbconvert python3-jupyter-kernel-test python3-ipykernel
  python3-numpy python3-sklearn python3-matplotlib jupyter-notebook
  dataset-fashion-mnist clang libclang-rt-14-dev python3-torch
  libdeflate0 valgrind
  libzstd1 libsqlite3-0
  chromium
  openmpi-bin libopenmpi-dev libscalapack-openmpi-dev
  libprotobuf-c-dev protobuf-c-compiler libonnx-dev python3-onnx
)
# The browser test (tests/browser) needs node and npm; keep a node the image already has.
command -v npm >/dev/null || PACKAGES+=(nodejs npm)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q "${missing[@]}"
fi

# playwright-core for the browser test, from tests/browser/package-lock.json (once).
if [ ! -f tests/browser/node_modules/playwright-core/package.json ] && command -v npm >/dev/null; then
  (cd tests/browser && npm ci --no-audit --no-fund) || echo "setup: npm ci failed; tests/browser/run.sh retries"
fi

BUILD=${CAIRN_BUILD_DIR:-build}
if [ ! -f "$BUILD/build.ninja" ]; then
  meson setup "$BUILD" -Dwerror=true
fi
ninja -C "$BUILD"
"$BUILD/kernel/cairn-kernel" install --user
