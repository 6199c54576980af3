#!/usr/bin/env bash
# Fails when a build tree holds more precompiled headers than allowed (default 2: LibTorch's ATen
# for libraries and for executables, cmake/PresenceTorch.cmake). Each one is about 360 MB with
# debug information; one per target once filled a CI machine's disk.
#   bash scripts/check_precompiled_headers.sh <build-dir> [max-count]
set -euo pipefail
build=${1:?usage: check_precompiled_headers.sh <build-dir> [max-count]}
limit=${2:-2}
mapfile -t headers < <(find "$build" -name '*.gch' -type f | sort)
for header in "${headers[@]}"; do
  echo "$(du -m -- "$header" | cut -f1) MB  $header"
done
echo "${#headers[@]} precompiled headers in $build (at most $limit allowed)"
if (( ${#headers[@]} > limit )); then
  echo "FAIL: too many precompiled headers; reuse the shared ones (presence_use_torch)" >&2
  exit 1
fi
