#!/usr/bin/env bash
# The README's two commands:
#   bash scripts/presence.sh main   install Debian packages, build, run the main job
#   bash scripts/presence.sh test   install Debian packages, build, run every test
# Run as root on Debian 12 (or as a user with the packages already installed).
set -euo pipefail

mode=${1:-}
case "$mode" in
  main|test) ;;
  *) echo "usage: bash scripts/presence.sh main|test" >&2; exit 2 ;;
esac
cd "$(dirname "$0")/.."

packages=(
  # toolchain
  cmake ninja-build g++ ccache pkg-config
  # sdk/core
  nlohmann-json3-dev libtbb-dev libxxhash-dev libcli11-dev
  # nodes/media
  libopenimageio-dev libopenexr-dev libavformat-dev libavcodec-dev libavutil-dev libswresample-dev
  libswscale-dev
  # OpenImageIO's CMake package lists its command-line tools (/usr/bin/iconvert ...) as imported
  # targets and fails find_package without them; Debian ships them apart, only recommended
  openimageio-tools
  # sdk/runtime, sdk/models (LibTorch; OpenBLAS's threaded build, or float32 matrix products
  # fall back to the reference BLAS and run about 30x slower)
  libtorch-dev libopenblas0-pthread
  # sdk/models/text (UMT5 tokenizer)
  libsentencepiece-dev
  # sdk/data, nodes/data (synthetic voices)
  libespeak-ng-dev espeak-ng-data
  # tests and benchmarks
  libgtest-dev libgmock-dev libbenchmark-dev
  # real recorded speech the audio tests read (GPL-2, used from the package, never copied)
  alsa-utils
  # the model card's measurements (scripts/measure_identity.py) and their test
  ffmpeg python3-numpy
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${#missing[@]} Debian packages: ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    echo "error: missing packages and not root; run as root or install them: ${missing[*]}" >&2
    exit 2
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

echo "== configuring and building (build/release)"
# A cold build takes about 2 GB here (build/release 1.9 GB with two 344 MB precompiled headers,
# plus the compiler cache); say so up front rather than after a "No space left on device".
free_kb=$(df -Pk . | awk 'NR == 2 {print $4}')
if [ "${free_kb:-0}" -lt $((3 * 1024 * 1024)) ]; then
  echo "warning: only $((free_kb / 1024)) MB free on $(df -P . | awk 'NR == 2 {print $6}'); a cold build needs about 2 GB" >&2
fi
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache}
# Paths below the clone are hashed relative to it, so a second clone (or CI's fresh one) compiles
# from the cache the first one filled; the debug information then names the first clone's folder.
export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
cmake --preset release >/dev/null
cmake --build --preset release -- -j"$(nproc)"

if [ "$mode" = main ]; then
  out=out
  echo "== main job: build/release/bin/presence run samples/graphs/generate_two_subjects.json --out $out"
  exec build/release/bin/presence run samples/graphs/generate_two_subjects.json --out "$out"
else
  echo "== tests"
  exec ctest --preset release
fi
