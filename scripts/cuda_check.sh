#!/usr/bin/env bash
# Builds sdk/runtime, sdk/models and their tests against a CUDA build of LibTorch 2.x, runs those
# tests on the GPU, and times a sampler step of the public-size `iap` model (generation_bench).
# For a Linux machine with an NVIDIA GPU, nvcc, CMake >= 3.25, Ninja, g++ and a CUDA LibTorch:
# $LIBTORCH (an unpacked LibTorch) or else python3's torch package. The media nodes are not built
# (PRESENCE_BUILD_MEDIA=OFF): this checks the model runtime, not the FFmpeg/OpenImageIO layer.
#
#   bash scripts/cuda_check.sh [--deps DIR] [--out DIR] [--bench-only] [--no-bench]
#     --deps DIR   Debian .deb files of build dependencies the machine lacks (nlohmann-json3-dev,
#                  libtbb-dev, libxxhash-dev, libcli11-dev, libsentencepiece-dev, libgtest-dev,
#                  libbenchmark-dev and their libraries; pkgconf when there is no pkg-config).
#                  They are unpacked into build/cuda-deps, never into /.
#     --out DIR    where the logs go (build/cuda-logs)
#
# Environment: CUDA_ARCHITECTURES (90: H100/H200), JOBS (all cores).
# Exit status: 0 when everything built, every test passed and the benchmark ran.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
deps="" out="$root/build/cuda-logs" bench=1 tests=1
while [[ $# -gt 0 ]]; do
  case "$1" in
    --deps) deps=$(realpath "$2"); shift 2 ;;
    --out) out=$2; shift 2 ;;
    --bench-only) tests=0; shift ;;
    --no-bench) bench=0; shift ;;
    *) echo "cuda_check.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
mkdir -p "$out"
build="$root/build/cuda"
jobs=${JOBS:-$(nproc)}
status=0
log() { echo "[$(date +%T)] $*" | tee -a "$out/summary.txt"; }

# The machine, for the record.
{
  echo "date: $(date -u +%FT%TZ)"; uname -m; grep PRETTY_NAME /etc/os-release
  g++ --version | head -1; cmake --version | head -1; ninja --version
  (nvcc --version || /usr/local/cuda/bin/nvcc --version) 2>/dev/null | tail -2
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.sm --format=csv,noheader 2>&1
  nproc; grep MemTotal /proc/meminfo
} >"$out/machine.txt" 2>&1

# LibTorch: $LIBTORCH or python3's torch.
if [[ -n "${LIBTORCH:-}" ]]; then
  torch_cmake="$LIBTORCH/share/cmake"
else
  torch_cmake=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)') || {
    log "no LibTorch: set LIBTORCH or install python3's torch"; exit 1; }
fi
log "LibTorch CMake files: $torch_cmake"

prefix_path="$torch_cmake"
if [[ -n "$deps" ]]; then
  # Unpack into a private prefix; rewrite the pkg-config files, which name /usr absolutely.
  dep_root="$root/build/cuda-deps"
  rm -rf "$dep_root"; mkdir -p "$dep_root"
  for f in "$deps"/*.deb; do
    if command -v dpkg-deb >/dev/null; then
      dpkg-deb -x "$f" "$dep_root"
    else  # a .deb is an ar archive holding data.tar.*
      (cd "$dep_root" && ar x "$f" && tar -xf data.tar.* && rm -f data.tar.* control.tar.* debian-binary)
    fi
  done
  find "$dep_root" -name '*.pc' -exec sed -i "s|=/usr|=$dep_root/usr|; s|-I/usr|-I$dep_root/usr|g" {} +
  prefix_path="$prefix_path;$dep_root/usr"
  export PKG_CONFIG_PATH="$dep_root/usr/lib/x86_64-linux-gnu/pkgconfig:$dep_root/usr/share/pkgconfig${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}"
  export LD_LIBRARY_PATH="$dep_root/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  if ! command -v pkg-config >/dev/null && [[ -x "$dep_root/usr/bin/pkgconf" ]]; then
    export PKG_CONFIG="$dep_root/usr/bin/pkgconf"
  fi
fi

nvcc_path=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
log "configure"
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DPRESENCE_BUILD_CUDA=ON -DPRESENCE_BUILD_MEDIA=OFF \
  -DCMAKE_CUDA_COMPILER="$nvcc_path" -DCMAKE_CUDA_ARCHITECTURES="${CUDA_ARCHITECTURES:-90}" \
  -DCMAKE_PREFIX_PATH="$prefix_path" -DCMAKE_POLICY_VERSION_MINIMUM=3.5 >"$out/configure.log" 2>&1 || {
  log "configure FAILED"; tail -40 "$out/configure.log"; exit 1; }
grep -E "LibTorch|CUDA" "$out/configure.log" | head -5 | tee -a "$out/summary.txt"

targets=(generation_bench runtime_tests dit_tests)
if [[ $tests -eq 1 ]]; then
  targets+=(dit_spec_tests sampling_tests audio_model_tests video_model_tests text_model_tests generation_tests
            training_tests training_resume_helper)
fi
log "build ${targets[*]}"
ninja -C "$build" -k 0 -j "$jobs" "${targets[@]}" >"$out/build.log" 2>&1 || {
  status=1; log "build FAILED"; grep -E "error|FAILED" "$out/build.log" | head -40 >>"$out/summary.txt"; }

bench_run() {
  log "generation_bench $*"
  "$build/bin/generation_bench" "$@" 2>&1 | tee -a "$out/bench.txt" || status=1
}
if [[ $bench -eq 1 && -x "$build/bin/generation_bench" ]]; then
  # 704x704, 121 frames at 24 fps: latent 31 x 44 x 44 (Wan2.2 VAE), 157 audio latents (5.04 s).
  # One subject, with each choice of fused attention kernels; then none.
  iap=(--preset iap --device cuda --latent 31,44,44 --audio 157 --text 512 --voice 157)
  for attention in auto cudnn fa3; do bench_run 4 1 "${iap[@]}" --attention "$attention" --breakdown; done
  bench_run 3 0 "${iap[@]}"
fi

if [[ $tests -eq 1 ]]; then
  log "tests"
  # Every suite of the built test programs (the GPU tests skip themselves without a device); two
  # threads a test program, as on the CI machine, so parallel programs do not oversubscribe.
  (cd "$build" && OMP_NUM_THREADS=2 ctest -j "$(( jobs > 8 ? 8 : jobs ))" --output-on-failure --timeout 600 \
     -R '^(runtime|dit|sampling|audio|video|text|generation|training)\.|^Dit|^Checkpoint' >"$out/tests.log" 2>&1) ||
    status=1
  tail -15 "$out/tests.log" | tee -a "$out/summary.txt"
  for program in runtime_tests dit_tests; do
    [[ -x "$build/bin/$program" ]] && "$build/bin/$program" --gtest_filter='*Cuda*:*Device*:AttentionPreference*' 2>&1 |
      grep -E "^\[ +(OK|FAILED|SKIPPED) +\]" | tee -a "$out/summary.txt"
  done
fi
log "done, status $status"
exit $status
