// What the nodes and the sampler expect of an audio VAE (MMAudio's 16 kHz VAE at full size).
#pragma once

#include <ATen/ATen.h>

#include <cstdint>

namespace presence::models {

/// What AudioVae::decode produces.
enum class AudioVaeOutput {
  Mel,       ///< `[B, melBins(), frames]` log-mel spectrogram; a Vocoder turns it into a waveform
  Waveform,  ///< `[B, T]` float waveform in −1..1 at sampleRate()
};

/// Encodes mono waveforms to channel-last audio latents and decodes them back.
///
/// Latents are `[B, L, latentChannels()]` (channel-last, what the audio tower consumes), L ≈
/// seconds · latentsPerSecond() (31.25 per second at full size: 157 for 5 s).
///
/// Threading: one call at a time per instance. Errors: presence::core::InputError for a bad
/// shape, presence::core::Error for model failures.
class AudioVae {
 public:
  virtual ~AudioVae() = default;

  virtual int64_t sampleRate() const = 0;       ///< waveform rate this VAE expects: 16000
  virtual int64_t latentChannels() const = 0;   ///< C: 20 for MMAudio
  virtual double latentsPerSecond() const = 0;  ///< 16000 / 512 = 31.25 for MMAudio
  virtual AudioVaeOutput outputKind() const = 0;
  virtual int64_t melBins() const = 0;  ///< mel bins of a Mel output (80 for MMAudio); 0 for Waveform

  /// Mono waveform `[T]` or `[B, T]`, float in −1..1 at sampleRate() (resample first) → latents
  /// `[B, L, C]`. Deterministic (the posterior mean).
  virtual at::Tensor encode(const at::Tensor& waveform) = 0;
  /// Latents `[B, L, C]` → mel `[B, melBins(), frames]` or waveform `[B, T]` (see outputKind()).
  virtual at::Tensor decode(const at::Tensor& latents) = 0;

  /// Latent positions for a clip of `seconds`, as the released pipeline sizes its audio noise:
  /// floor(seconds · sampleRate() / (sampleRate() / latentsPerSecond())).
  int64_t latentLength(double seconds) const {
    const double hop = static_cast<double>(sampleRate()) / latentsPerSecond();
    return static_cast<int64_t>(seconds * static_cast<double>(sampleRate()) / hop);
  }
};

}  // namespace presence::models
