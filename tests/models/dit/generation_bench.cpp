// A timed sample run: one whole generation as the sampler node runs it, printing its figures
// (time per step, achieved matrix-product rate against a plain matrix product timed in the same
// run, peak memory).
//
//   generation_bench [STEPS] [SUBJECTS] [options]        defaults: 10 steps, 2 subjects
//     --preset NAME     DiT preset (small)
//     --device DEV      cpu, cuda, cuda:N or auto (cpu)
//     --latent F,H,W    video latent frames, height, width (8,16,16)
//     --audio N         audio latents (40)
//     --text N          prompt tokens (32); the negative prompt has a quarter of them, at least 8
//     --voice N         latents of each voice reference (50)
//     --no-cache        recompute the references every pass
//     --attention NAME  fused attention kernels tried first on a GPU: auto, cudnn, fa3 (auto)
//     --breakdown       also time the pieces of one video block at these sizes (each alone, the
//                       best of several runs), to show where a step's time goes
//
// Defaults: the `small` preset on the CPU in float32, video [1, 48, 8, 16, 16] (512 tokens),
// audio [1, 40, 20]; each subject has one face (one latent frame of the video's height and width)
// and one voice. UniPC with classifier-free guidance: two passes a step, the negative one skipping
// block 11 (the last block when there are fewer) and the voices, as released; reference cache on.
// On CUDA the weights are bf16, drawn on the device (RandomSource::Device), and every step is
// synchronised before it is timed. Weights are random: the cost does not depend on their values.
//
// The public model at 704x704, 121 frames (Wan2.2 VAE: 16x spatial, 4x temporal; MMAudio: 157
// latents for 5 s):  generation_bench 4 1 --preset iap --device cuda --latent 31,44,44 --audio 157 --text 512
#include <ATen/CPUGeneratorImpl.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <vector>

#include "dit_flops.hpp"
#include "presence/models/dit/dit_denoiser.hpp"
#include "presence/models/dit/dit_functional.hpp"
#include "presence/models/dit/dit_presets.hpp"
#include "presence/models/sampling/sampler.hpp"
#include "presence/runtime/device.hpp"
#include "presence/runtime/device_memory.hpp"
#include "presence/runtime/torch_compat.hpp"

namespace {

namespace rt = presence::runtime;

double peakRssMiB() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // ru_maxrss is in KiB on Linux
}

double gib(int64_t bytes) { return static_cast<double>(bytes) / (1024.0 * 1024.0 * 1024.0); }

using Clock = std::chrono::steady_clock;
double secondsSince(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Drawn on the CPU (the same numbers on every device), then moved.
at::Tensor noise(at::IntArrayRef shape, uint64_t seed, const at::Device& device) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  return at::empty(shape, at::kFloat).normal_(0.0, 1.0, gen).to(device);
}

struct Options {
  int steps = 10;
  int subjects = 2;
  std::string preset = "small";
  std::string device = "cpu";
  int64_t frames = 8, height = 16, width = 16;
  int64_t audio = 40, text = 32, voice = 50;
  bool cache = true;
  std::string attention = "auto";
  bool breakdown = false;
};

int64_t positive(const std::string& flag, const std::string& text) {
  size_t used = 0;
  long long v = 0;
  try {
    v = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != text.size() || v <= 0)
    throw std::invalid_argument(flag + ": expected a positive integer, got '" + text + "'");
  return v;
}

Options parse(int argc, char** argv) {
  Options o;
  std::vector<std::string> positional;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(a + " needs a value");
      return argv[++i];
    };
    if (a == "--preset") {
      o.preset = value();
    } else if (a == "--device") {
      o.device = value();
    } else if (a == "--latent") {
      const std::string v = value();
      const size_t c1 = v.find(','), c2 = v.find(',', c1 == std::string::npos ? c1 : c1 + 1);
      if (c1 == std::string::npos || c2 == std::string::npos)
        throw std::invalid_argument("--latent: expected F,H,W, got '" + v + "'");
      o.frames = positive("--latent", v.substr(0, c1));
      o.height = positive("--latent", v.substr(c1 + 1, c2 - c1 - 1));
      o.width = positive("--latent", v.substr(c2 + 1));
    } else if (a == "--audio") {
      o.audio = positive(a, value());
    } else if (a == "--text") {
      o.text = positive(a, value());
    } else if (a == "--voice") {
      o.voice = positive(a, value());
    } else if (a == "--attention") {
      o.attention = value();
    } else if (a == "--breakdown") {
      o.breakdown = true;
    } else if (a == "--no-cache") {
      o.cache = false;
    } else if (a.rfind("--", 0) == 0) {
      throw std::invalid_argument("unknown option " + a);
    } else {
      positional.push_back(a);
    }
  }
  if (positional.size() > 2) throw std::invalid_argument("at most two positional arguments: STEPS SUBJECTS");
  if (!positional.empty()) o.steps = static_cast<int>(positive("STEPS", positional[0]));
  if (positional.size() > 1) {
    o.subjects = std::atoi(positional[1].c_str());
    if (o.subjects < 0 || std::to_string(o.subjects) != positional[1])
      throw std::invalid_argument("SUBJECTS: expected 0 or more, got '" + positional[1] + "'");
  }
  return o;
}

// Seconds of `work` on `device`, the best of a few synchronised runs.
template <class Work>
double bestSeconds(const at::Device& device, Work&& work) {
  double best = 1e30;
  for (int rep = 0; rep < 5; ++rep) {
    rt::synchronizeDevice(device);
    const auto t0 = Clock::now();
    work();
    rt::synchronizeDevice(device);
    best = std::min(best, secondsSince(t0));
  }
  return best;
}

// Seconds of one at::matmul of [m, k] x [k, n] in `dtype` on `device` (five in a row, the best run).
double matmulSeconds(const at::Device& device, at::ScalarType dtype, int64_t m, int64_t k, int64_t n) {
  const auto opts = at::TensorOptions().dtype(dtype).device(device);
  const at::Tensor a = at::randn({m, k}, opts), b = at::randn({k, n}, opts);
  return bestSeconds(device,
                     [&] {
                       for (int i = 0; i < 5; ++i) (void)at::matmul(a, b);
                     }) /
         5;
}

// The pieces of one joint block that scale with the video tokens (as dual_tower_dit.cpp computes
// them; the audio tower's fusion projects the video tokens too) at `tokens` noisy tokens
// attending to `refs` more, in the compute dtype: matrix products, attention, RoPE, the norms,
// GELU. Printed in milliseconds with their sum, to compare with the measured
// time of a block (a pass's time over its blocks).
void printBlockBreakdown(const presence::models::dit::TowerConfig& t, int64_t tokens, int64_t refs,
                         int64_t text, const at::Device& device, at::ScalarType dtype) {
  namespace pd = presence::models::dit;
  const auto opts = at::TensorOptions().dtype(dtype).device(device);
  const int64_t d = t.dim, heads = t.numHeads, hd = t.headDim();
  const at::Tensor x = at::randn({1, tokens, d}, opts), wdd = at::randn({d, d}, opts) * 0.02;
  const at::Tensor w1 = at::randn({t.ffnDim, d}, opts) * 0.02, w2 = at::randn({d, t.ffnDim}, opts) * 0.02;
  const at::Tensor ctx = at::randn({1, text, d}, opts);
  const at::Tensor q = at::randn({1, heads, tokens, hd}, opts),
                   kv = at::randn({1, heads, tokens + refs, hd}, opts);
  const at::Tensor kt = at::randn({1, heads, text, hd}, opts);
  const at::Tensor mod = at::randn({1, 1, d}, opts) * 0.1;
  // Positions do not change the cost: one row of `tokens`.
  const pd::RopeTable rope = pd::ropeTable(pd::ropeAngles(t, pd::gridPositions(1, 1, tokens)), device);
  const at::Tensor xh = x.view({1, tokens, heads, hd});
  struct Piece {
    const char* name;
    int count;  // times a block does it
    double seconds;
  };
  std::vector<Piece> pieces{
      {"linear dim x dim (+ the audio tower's fusion k, v)", 8,
       bestSeconds(device, [&] { (void)at::linear(x, wdd); })},
      {"linear text (cross k, v)", 2, bestSeconds(device, [&] { (void)at::linear(ctx, wdd); })},
      {"FFN (two products and tanh-GELU)", 1,
       bestSeconds(device, [&] { (void)at::linear(pd::geluTanh(at::linear(x, w1)), w2); })},
      {"  of which tanh-GELU", 0,
       [&] {
         const at::Tensor h = at::linear(x, w1);
         return bestSeconds(device, [&] { (void)pd::geluTanh(h); });
       }()},
      {"self-attention (noisy + reference keys)", 1,
       bestSeconds(device, [&] { (void)rt::attention(q, kv, kv); })},
      {"text cross-attention", 1, bestSeconds(device, [&] { (void)rt::attention(q, kt, kt); })},
      {"RoPE (q, k, fusion q; audio fusion k)", 4,
       bestSeconds(device, [&] { (void)pd::applyRope(xh, rope); })},
      {"LayerNorm (+ modulation; audio fusion norm)", 4,
       bestSeconds(device, [&] { (void)at::addcmul(mod, pd::layerNorm(x, t.eps), 1 + mod); })},
      {"RMSNorm (q, k, cross q; audio fusion k)", 4,
       bestSeconds(device, [&] { (void)pd::rmsNorm(x, wdd[0], t.eps); })},
  };
  double sum = 0;
  std::printf("  one video block, %lld tokens (+%lld reference keys), %s, each piece alone:\n",
              static_cast<long long>(tokens), static_cast<long long>(refs),
              std::string(c10::toString(dtype)).c_str());
  for (const Piece& p : pieces) {
    std::printf("    %-50s %2dx %8.3f ms\n", p.name, p.count, p.seconds * 1e3);
    sum += p.count * p.seconds;
  }
  std::printf("    %-50s     %8.3f ms a block\n", "sum", sum * 1e3);
}

int run(const Options& o) {
  using namespace presence::models;
  using namespace presence::models::dit;
  const double rssStart = peakRssMiB();
  const at::Device device = rt::resolveDevice(o.device);
  rt::setAttentionPreference(o.attention);
  const DitConfig config = preset(o.preset);
  const at::ScalarType weightDtype = device.is_cuda() ? at::kBFloat16 : at::kFloat;

  auto t0 = Clock::now();
  auto weights = std::make_shared<DitWeights>(
      DitWeights::allocate(config, device, weightDtype, 1, false, RandomSource::Device));
  auto model = std::make_shared<const DualTowerDit>(weights);
  rt::synchronizeDevice(device);
  const double loadSeconds = secondsSince(t0);
  const double weightGiB =
      gib(weights->parameterCount() * static_cast<int64_t>(c10::elementSize(weightDtype)));

  const int64_t negativeText = std::max<int64_t>(8, o.text / 4);
  DitConditioning cond;
  cond.prompt = {noise({1, o.text, config.video.textDim}, 2, device),
                 {},
                 noise({1, o.text, config.audio.textDim}, 3, device),
                 {}};
  cond.negative = {noise({1, negativeText, config.video.textDim}, 4, device),
                   {},
                   noise({1, negativeText, config.audio.textDim}, 5, device),
                   {}};
  if (o.subjects > 0) {
    cond.references.faces = noise({1, config.video.inDim, o.subjects, o.height, o.width}, 6, device);
    for (int k = 0; k < o.subjects; ++k)
      cond.references.voices.push_back(noise({1, o.voice, config.audio.inDim}, 7 + k, device));
  }
  DitDenoiser denoiser(model, cond, {}, o.cache);

  sampling::SamplerSettings settings;
  settings.steps = o.steps;
  settings.skipLayers = {static_cast<int>(std::min<int64_t>(11, config.video.numLayers - 1))};
  const JointLatent start{noise({1, config.video.inDim, o.frames, o.height, o.width}, 20, device),
                          noise({1, o.audio, config.audio.inDim}, 21, device)};

  // Analytic matrix-product FLOPs of a step: the positive pass with every reference, the negative
  // one with the faces only, the negative prompt and one block fewer (skip-layer guidance).
  const auto [pt, ph, pw] = config.video.patchSize;
  const int64_t videoTokens = (o.frames / pt) * (o.height / ph) * (o.width / pw);
  const int64_t faceTokens = o.subjects * (o.height / ph) * (o.width / pw);
  const Sizes positivePass{videoTokens, o.audio, o.text, faceTokens, o.subjects * o.voice};
  const Sizes negativePass{videoTokens, o.audio, negativeText, faceTokens, 0};
  auto stepFlops = [&](bool refsComputed) {
    DitConfig skipped = config;
    skipped.video.numLayers -= 1;
    skipped.audio.numLayers -= 1;
    return forwardFlops(config, positivePass, refsComputed) +
           forwardFlops(skipped, negativePass, refsComputed);
  };

  rt::synchronizeDevice(device);
  rt::resetPeakDeviceMemory(device);
  const double rssBefore = peakRssMiB();
  std::vector<double> stepSeconds;
  sampling::JointSampler sampler(start, settings);
  const auto runStart = Clock::now();
  while (!sampler.done()) {
    const auto s0 = Clock::now();
    (void)sampler.step(denoiser);
    rt::synchronizeDevice(device);
    stepSeconds.push_back(secondsSince(s0));
  }
  const double seconds = secondsSince(runStart);
  const auto memory = rt::deviceMemoryStats(device);
  const JointLatent& out = sampler.latent();
  const bool finite =
      at::isfinite(out.video).all().item<bool>() && at::isfinite(out.audio).all().item<bool>();

  // The plain matrix product of the video FFN's first projection, in the compute dtype, same run.
  const at::ScalarType computeDtype = model->computeDtype();
  const double mmSeconds =
      matmulSeconds(device, computeDtype, videoTokens, config.video.dim, config.video.ffnDim);
  const double mmRate =
      2.0 * static_cast<double>(videoTokens * config.video.dim * config.video.ffnDim) / mmSeconds;

  std::printf(
      "generation_bench: preset %s on %s (%s compute, attention %s), %d steps, %d subjects, %lld forward "
      "passes%s\n",
      o.preset.c_str(), rt::deviceName(device).c_str(), std::string(c10::toString(computeDtype)).c_str(),
      o.attention.c_str(), o.steps, o.subjects, static_cast<long long>(denoiser.calls()),
      finite ? "" : "  NON-FINITE OUTPUT");
  std::printf(
      "  tokens: video %lld (latent %lldx%lldx%lld), audio %lld, text %lld / %lld, references %lld "
      "face + %lld voice\n",
      static_cast<long long>(videoTokens), static_cast<long long>(o.frames), static_cast<long long>(o.height),
      static_cast<long long>(o.width), static_cast<long long>(o.audio), static_cast<long long>(o.text),
      static_cast<long long>(negativeText), static_cast<long long>(faceTokens),
      static_cast<long long>(o.subjects * o.voice));
  std::printf("  weights %.2f GiB (%s), allocated and drawn in %.1f s\n", weightGiB,
              std::string(c10::toString(weightDtype)).c_str(), loadSeconds);
  std::printf("  total %.2f s, %.3f s per step (both guidance passes), %.3f s per forward\n", seconds,
              seconds / o.steps, seconds / static_cast<double>(denoiser.calls()));
  std::vector<double> later(stepSeconds.begin() + (stepSeconds.size() > 1 ? 1 : 0), stepSeconds.end());
  std::sort(later.begin(), later.end());
  const double median = later[later.size() / 2];
  std::printf(
      "  first step %.3f s (fills the reference cache, warms the kernels); later steps median %.3f s, "
      "min %.3f s\n",
      stepSeconds.front(), median, later.front());
  const double flops = stepFlops(!(o.cache && o.subjects > 0));
  // GFLOP on a CPU, TFLOP on a GPU.
  const double unit = flops >= 1e12 ? 1e12 : 1e9;
  const char* unitName = flops >= 1e12 ? "TFLOP" : "GFLOP";
  std::printf(
      "  %.1f %s per later step: %.1f %s/s; plain %s matmul [%lld x %lld] x [%lld x %lld] %.1f %s/s; ratio "
      "%.2f\n",
      flops / unit, unitName, flops / median / unit, unitName,
      std::string(c10::toString(computeDtype)).c_str(), static_cast<long long>(videoTokens),
      static_cast<long long>(config.video.dim), static_cast<long long>(config.video.dim),
      static_cast<long long>(config.video.ffnDim), mmRate / unit, unitName, flops / median / mmRate);
  std::printf("  reference cache %.2f MiB, %lld hits, %lld misses\n",
              static_cast<double>(denoiser.referenceCache().bytes()) / (1024.0 * 1024.0),
              static_cast<long long>(denoiser.referenceCache().hits()),
              static_cast<long long>(denoiser.referenceCache().misses()));
  if (o.breakdown) {
    printBlockBreakdown(config.video, videoTokens, faceTokens, o.text, device, computeDtype);
    std::printf(
        "    measured: %.3f ms a block (a later step over its %lld blocks, both passes, both towers)\n",
        median * 1e3 / static_cast<double>(2 * config.video.numLayers - 1),
        static_cast<long long>(2 * config.video.numLayers - 1));
  }
  if (memory)
    std::printf("  device memory: peak allocated %.2f GiB, peak reserved %.2f GiB (weights %.2f GiB)\n",
                gib(memory->peakAllocatedBytes), gib(memory->peakReservedBytes), weightGiB);
  std::printf("  peak RSS %.1f MiB (process start %.1f MiB, after loading the model %.1f MiB)\n",
              peakRssMiB(), rssStart, rssBefore);
  return finite ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(parse(argc, argv));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "generation_bench: %s\n", e.what());
    return 2;
  }
}
