// A timed BigVGAN run on the CPU, printing seconds of audio generated per wall-clock second.
//
//   bigvgan_bench [SECONDS] [threads=N] [full]
//
// SECONDS of audio (default 5) with `tiny` and `small`; "full" also times the public-size generator
// (random weights) on 1 s of audio; threads=N sets ATen's intra-op threads (default: ATen's own).
//
// Weights are random: the cost does not depend on their values.
#include <ATen/Parallel.h>
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "presence/models/audio/bigvgan.hpp"

namespace {

double peakRssMiB() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;  // KiB on Linux
}

double seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

void run(const std::string& preset, double audioSeconds, int repeats) {
  using namespace presence::models::audio;
  const BigVganConfig config = bigVganPreset(preset);
  auto start = std::chrono::steady_clock::now();
  BigVgan model(config, BigVgan::randomStateDict(config, 1));
  const double loadSeconds = seconds(start);
  const auto frames = static_cast<int64_t>(
      audioSeconds * static_cast<double>(config.sampleRate) / static_cast<double>(config.hopLength()) + 0.5);
  const at::Tensor mel = at::randn({1, config.numMels, frames}) - 2.0;
  model.vocode(mel);  // warm-up: allocator, thread pool
  start = std::chrono::steady_clock::now();
  for (int i = 0; i < repeats; ++i) {
    model.vocode(mel);
  }
  const double perRun = seconds(start) / repeats;
  const double produced =
      static_cast<double>(frames * config.hopLength()) / static_cast<double>(config.sampleRate);
  std::printf(
      "%-10s %6.2f M params  %4lld frames (%.2f s audio)  %.3f s a run  %7.2f s audio / s  "
      "(build %.1f s, peak RSS %.0f MiB)\n",
      preset.c_str(), static_cast<double>(buildBigVganManifest(config).parameterCount()) / 1e6,
      static_cast<long long>(frames), produced, perRun, produced / perRun, loadSeconds, peakRssMiB());
}

}  // namespace

int main(int argc, char** argv) {
  double audioSeconds = 5.0;
  bool full = false;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "full") {
      full = true;
    } else if (arg.rfind("threads=", 0) == 0) {
      at::set_num_threads(std::atoi(arg.c_str() + 8));
    } else {
      audioSeconds = std::atof(arg.c_str());
    }
  }
  std::printf("BigVGAN on the CPU, %d intra-op threads\n", at::get_num_threads());
  run("tiny", audioSeconds, 3);
  run("small", audioSeconds, 3);
  if (full) {
    run("bigvgan16k", 1.0, 1);
  }
  return 0;
}
