// The samplers' own cost per step at the released model's latent sizes (704×1280, 121 frames:
// video [1, 48, 31, 44, 80], audio [1, 157, 20]), with a denoiser that costs nothing: guidance
// combination, the solver update and the x0 preview. The DiT's forward pass dominates a real step
// by orders of magnitude; this shows the sampler adds no noticeable overhead.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <benchmark/benchmark.h>

#include <presence/models/sampling/sampler.hpp>

namespace {

namespace pm = presence::models;
namespace ps = presence::models::sampling;

// Returns fixed velocities (different for the two passes) without computing anything.
class FreeDenoiser : public pm::JointDenoiser {
 public:
  explicit FreeDenoiser(const pm::JointLatent& like)
      : cond_{at::full_like(like.video, 0.5), at::full_like(like.audio, 0.5)},
        uncond_{at::full_like(like.video, 0.25), at::full_like(like.audio, 0.25)} {}
  pm::JointLatent velocity(const pm::JointLatent&, const pm::DenoiseStep&,
                           const pm::GuidancePass& pass) override {
    return pass.kind == pm::GuidanceKind::Conditional ? cond_ : uncond_;
  }

 private:
  pm::JointLatent cond_;
  pm::JointLatent uncond_;
};

void samplerRun(benchmark::State& state) {
  at::set_num_threads(1);
  const auto solver = static_cast<ps::Solver>(state.range(0));
  ps::SamplerSettings settings;
  settings.solver = solver;
  settings.steps = 10;
  const pm::JointLatent noise{at::randn({1, 48, 31, 44, 80}), at::randn({1, 157, 20})};
  FreeDenoiser denoiser(noise);
  for (auto _ : state) {
    auto out = ps::sample(denoiser, noise, settings);
    benchmark::DoNotOptimize(out.video.data_ptr());
  }
  state.SetLabel(std::string(ps::solverName(solver)) + ", per run of 10 steps, 1 thread");
  // Seconds per step (printed with an SI prefix: 12.3m = 12.3 ms).
  state.counters["s_per_step"] =
      benchmark::Counter(10.0, benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
}

}  // namespace

BENCHMARK(samplerRun)
    ->Arg(static_cast<int>(ps::Solver::UniPC))
    ->Arg(static_cast<int>(ps::Solver::Euler))
    ->Arg(static_cast<int>(ps::Solver::DpmPlusPlus))
    ->Unit(benchmark::kMillisecond);

BENCHMARK_MAIN();
