// A timed run of the MMAudio VAE and the Griffin-Lim vocoder on the CPU, printing seconds of audio
// per wall-clock second for encoding (waveform → latents, front end included), decoding (latents →
// mel) and vocoding (mel → waveform).
//
//   audio_vae_bench [SECONDS] [PRESET...]      defaults: 10 s; small and mmaudio16k
//
// Weights are random: the cost does not depend on their values.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "presence/models/audio/griffin_lim.hpp"
#include "presence/models/audio/mmaudio_vae.hpp"

namespace {

double since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Best of three: the machine may be shared.
template <class F>
double best(F&& f) {
  double t = 1e30;
  for (int i = 0; i < 3; ++i) {
    const auto start = std::chrono::steady_clock::now();
    f();
    t = std::min(t, since(start));
  }
  return t;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace presence::models::audio;
  const double seconds = argc > 1 ? std::atof(argv[1]) : 10.0;
  std::vector<std::string> presets;
  for (int i = 2; i < argc; ++i) presets.emplace_back(argv[i]);
  if (presets.empty()) presets = {"small", "mmaudio16k"};

  const auto samples = static_cast<int64_t>(seconds * 16000);
  const at::Tensor t = at::arange(samples, at::kFloat) / 16000.0;
  const at::Tensor wave = 0.3 * at::sin(t * 2 * M_PI * 220.0) + 0.1 * at::sin(t * 2 * M_PI * 1375.0);
  std::printf("audio_vae_bench: %.1f s of 16 kHz audio, best of 3\n", seconds);
  for (const auto& name : presets) {
    const AudioVaeConfig config = audioVaePreset(name);
    MmaudioVae vae(config, MmaudioVae::randomStateDict(config, 1));
    at::Tensor latents;
    vae.encode(wave);  // warm-up
    const double enc = best([&] { latents = vae.encode(wave); });
    at::Tensor mel;
    const double dec = best([&] { mel = vae.decode(latents); });
    std::printf("  %-10s encode %6.3f s (%6.1f s of audio per second), decode %6.3f s (%6.1f s/s); %lld latents\n",
                name.c_str(), enc, seconds / enc, dec, seconds / dec, static_cast<long long>(latents.size(1)));
  }
  GriffinLimVocoder vocoder;
  const at::Tensor mel = MelFrontEnd(MelConfig::mmaudio16k()).logMel(wave.unsqueeze(0));
  const double gl = best([&] { vocoder.vocode(mel); });
  std::printf("  griffin-lim (%lld iterations) %6.3f s (%6.1f s of audio per second)\n",
              static_cast<long long>(vocoder.config().iterations), gl, seconds / gl);
  return 0;
}
