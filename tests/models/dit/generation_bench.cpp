// A timed sample run: one whole generation with the `small` preset on the CPU, as the sampler
// node will run it, printing its figures (wall time per step, peak resident memory).
//
//   generation_bench [STEPS] [SUBJECTS]      defaults: 10 steps, 2 subjects
//
// Latents: video [1, 48, 8, 16, 16] (512 tokens), audio [1, 40, 20], 32 text tokens; each
// subject has one face (a 16 x 16 latent frame, 64 tokens) and one voice (50 latents). UniPC with
// classifier-free guidance (two passes a step, the negative one skipping block 3 and the voices)
// and the reference cache on. Weights are random: the cost does not depend on their values.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "presence/models/dit/dit_denoiser.hpp"
#include "presence/models/dit/dit_presets.hpp"
#include "presence/models/sampling/sampler.hpp"
#include <ATen/CPUGeneratorImpl.h>

namespace {

double peakRssMiB() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

at::Tensor noise(at::IntArrayRef shape, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  return at::empty(shape, at::kFloat).normal_(0.0, 1.0, gen);
}

}  // namespace

int main(int argc, char** argv) {
  using namespace presence::models;
  using namespace presence::models::dit;
  const int steps = argc > 1 ? std::atoi(argv[1]) : 10;
  const int subjects = argc > 2 ? std::atoi(argv[2]) : 2;
  const double rssStart = peakRssMiB();

  const DitConfig config = preset("small");
  auto weights = std::make_shared<DitWeights>(DitWeights::allocate(config, at::kCPU, at::kFloat, 1));
  auto model = std::make_shared<const DualTowerDit>(weights);
  const double weightMiB = static_cast<double>(weights->parameterCount()) * 4.0 / (1024.0 * 1024.0);

  DitConditioning cond;
  cond.prompt = {noise({1, 32, config.video.textDim}, 2), {}, noise({1, 32, config.audio.textDim}, 3), {}};
  cond.negative = {noise({1, 8, config.video.textDim}, 4), {}, noise({1, 8, config.audio.textDim}, 5), {}};
  if (subjects > 0) {
    cond.references.faces = noise({1, config.video.inDim, subjects, 16, 16}, 6);
    for (int k = 0; k < subjects; ++k) cond.references.voices.push_back(noise({1, 50, config.audio.inDim}, 7 + k));
  }
  DitDenoiser denoiser(model, cond);

  sampling::SamplerSettings settings;
  settings.steps = steps;
  settings.skipLayers = {3};
  const JointLatent start{noise({1, config.video.inDim, 8, 16, 16}, 20), noise({1, 40, config.audio.inDim}, 21)};
  const double rssBefore = peakRssMiB();
  const auto t0 = std::chrono::steady_clock::now();
  const JointLatent out = sampling::sample(denoiser, start, settings);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  std::printf("generation_bench: preset small, %d steps, %d subjects, %lld forward passes\n", steps, subjects,
              static_cast<long long>(denoiser.calls()));
  std::printf("  total %.2f s, %.3f s per step (both guidance passes), %.3f s per forward\n", seconds, seconds / steps,
              seconds / static_cast<double>(denoiser.calls()));
  std::printf("  weights %.1f MiB (f32); reference cache %.2f MiB, %lld hits, %lld misses\n", weightMiB,
              static_cast<double>(denoiser.referenceCache().bytes()) / (1024.0 * 1024.0),
              static_cast<long long>(denoiser.referenceCache().hits()),
              static_cast<long long>(denoiser.referenceCache().misses()));
  std::printf("  peak RSS %.1f MiB (process start %.1f MiB, after loading the model %.1f MiB)\n", peakRssMiB(),
              rssStart, rssBefore);
  return at::isfinite(out.video).all().item<bool>() && at::isfinite(out.audio).all().item<bool>() ? 0 : 1;
}
