// DiT forward throughput on the CPU with the `small` preset (dim 256, 6 blocks per tower).
//
//   dit_bench                                  all benchmarks
//   dit_bench --benchmark_filter=Forward       achieved GFLOP/s vs. a plain at::matmul of the FFN's shape
//   dit_bench --benchmark_filter=Step          step time with 0, 1, 4 subjects, reference cache on/off
//
// Sizes: video latent [1, 48, 8, 16, 16] (8 x 8 x 8 = 512 tokens), audio 40 latents (the same
// ~1.3 s), 32 text tokens. FLOPs are counted analytically (2·m·n·k per matmul, attention
// included, elementwise work not), so GFLOP/s compares directly with the matmul rate; the
// `vs_matmul` counter is the DiT's rate divided by the plain matmul's, measured in the same run.
//
// glibc's allocator returns the large activation buffers to the kernel and faults them back in on
// every call, which costs a lot in a VM; with LibTorch 1.13 on 2 cores the f32 forward runs about
// 1.6x faster when it keeps them:
//   MALLOC_MMAP_THRESHOLD_=1073741824 MALLOC_TRIM_THRESHOLD_=1073741824 dit_bench
#include <benchmark/benchmark.h>

#include <chrono>
#include <memory>

#include "dit_flops.hpp"
#include "presence/models/dit/dit_presets.hpp"
#include "presence/models/dit/dual_tower_dit.hpp"

namespace presence::models::dit {
namespace {

constexpr int64_t kFrames = 8, kHeight = 16, kWidth = 16, kAudio = 40, kText = 32;
constexpr int64_t kFaceSide = 16, kVoice = 50;

struct Fixture {
  DitConfig config = preset("small");
  std::unique_ptr<DualTowerDit> model;
  DitInputs inputs;
  Sizes sizes;

  Fixture(at::ScalarType dtype, int64_t subjects) {
    auto weights = std::make_shared<DitWeights>(DitWeights::allocate(config, at::kCPU, dtype, 1));
    model = std::make_unique<DualTowerDit>(weights, dtype);
    const auto f32 = at::TensorOptions().dtype(at::kFloat);
    inputs.video = at::randn({1, config.video.inDim, kFrames, kHeight, kWidth}, f32);
    inputs.audio = at::randn({1, kAudio, config.audio.inDim}, f32);
    inputs.t = at::full({1}, 500.0, f32);
    inputs.videoText = at::randn({1, kText, config.video.textDim}, f32);
    inputs.audioText = at::randn({1, kText, config.audio.textDim}, f32);
    if (subjects > 0) {
      inputs.references.faces = at::randn({1, config.video.inDim, subjects, kFaceSide, kFaceSide}, f32);
      for (int64_t k = 0; k < subjects; ++k)
        inputs.references.voices.push_back(at::randn({1, kVoice, config.audio.inDim}, f32));
    }
    const auto [pt, ph, pw] = config.video.patchSize;
    sizes = {kFrames / pt * (kHeight / ph) * (kWidth / pw), kAudio, kText,
             subjects * (kFaceSide / ph) * (kFaceSide / pw), subjects * kVoice};
  }
};

// GFLOP/s of at::matmul at the FFN's first projection shape ([tokens, dim] x [dim, ffn]).
double matmulGflops(at::ScalarType dtype, int64_t m, int64_t k, int64_t n) {
  const auto opts = at::TensorOptions().dtype(dtype);
  const at::Tensor a = at::randn({m, k}, opts), b = at::randn({k, n}, opts);
  at::matmul(a, b);  // warm up
  int64_t reps = 0;
  const auto start = std::chrono::steady_clock::now();
  double seconds = 0;
  while (seconds < 0.3) {
    benchmark::DoNotOptimize(at::matmul(a, b));
    ++reps;
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  return 2.0 * static_cast<double>(m * k * n) * static_cast<double>(reps) / seconds / 1e9;
}

void reportRate(benchmark::State& state, double flopsPerCall, double seconds, double matmulRate) {
  const double rate = flopsPerCall * static_cast<double>(state.iterations()) / seconds / 1e9;
  state.counters["GFLOP"] = flopsPerCall / 1e9;
  state.counters["GFLOP/s"] = rate;
  state.counters["matmul_GFLOP/s"] = matmulRate;
  state.counters["vs_matmul"] = rate / matmulRate;
}

// Joint forward without references: achieved GFLOP/s and the matmul rate in the same run.
void BM_DitForward(benchmark::State& state) {
  const at::ScalarType dtype = state.range(0) ? at::kBFloat16 : at::kFloat;
  Fixture fx(dtype, 0);
  fx.model->infer(fx.inputs);  // warm up
  double seconds = 0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(fx.model->infer(fx.inputs));
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  const double matmulRate = matmulGflops(dtype, fx.sizes.video, fx.config.video.dim, fx.config.video.ffnDim);
  reportRate(state, forwardFlops(fx.config, fx.sizes, true), seconds, matmulRate);
  state.SetLabel(dtype == at::kFloat ? "f32" : "bf16");
}
BENCHMARK(BM_DitForward)->ArgName("bf16")->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

// A sampling step's forward with 0, 1 or 4 subjects, with the reference cache on or off.
void BM_DitStep(benchmark::State& state) {
  const int64_t subjects = state.range(0);
  const bool useCache = state.range(1) != 0;
  Fixture fx(at::kFloat, subjects);
  ReferenceCache cache;
  fx.model->infer(fx.inputs, {}, useCache ? &cache : nullptr);  // warm up (fills the cache)
  double seconds = 0;
  for (auto _ : state) {
    const auto start = std::chrono::steady_clock::now();
    benchmark::DoNotOptimize(fx.model->infer(fx.inputs, {}, useCache ? &cache : nullptr));
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  const double flops = forwardFlops(fx.config, fx.sizes, !(useCache && subjects > 0));
  state.counters["GFLOP"] = flops / 1e9;
  state.counters["GFLOP/s"] = flops * static_cast<double>(state.iterations()) / seconds / 1e9;
  state.counters["ref_tokens"] = static_cast<double>(fx.sizes.faceTokens + fx.sizes.voiceTokens);
}
BENCHMARK(BM_DitStep)
    ->ArgNames({"subjects", "cache"})
    ->ArgsProduct({{0, 1, 4}, {0, 1}})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// The plain matmul rates on their own, for reference.
void BM_Matmul(benchmark::State& state) {
  const at::ScalarType dtype = state.range(0) ? at::kBFloat16 : at::kFloat;
  const int64_t m = 512, k = 256, n = 1024;
  const auto opts = at::TensorOptions().dtype(dtype);
  const at::Tensor a = at::randn({m, k}, opts), b = at::randn({k, n}, opts);
  for (auto _ : state) benchmark::DoNotOptimize(at::matmul(a, b));
  state.counters["GFLOP/s"] = benchmark::Counter(2.0 * static_cast<double>(m * k * n) / 1e9,
                                                 benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(dtype == at::kFloat ? "f32 512x256x1024" : "bf16 512x256x1024");
}
BENCHMARK(BM_Matmul)->ArgName("bf16")->Arg(0)->Arg(1)->UseRealTime();

}  // namespace
}  // namespace presence::models::dit

BENCHMARK_MAIN();
