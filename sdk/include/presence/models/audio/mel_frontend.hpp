// The log-mel front end of MMAudio's audio VAE, in ATen.
#pragma once

#include <ATen/ATen.h>

#include "presence/models/audio/mel_config.hpp"

namespace presence::models::audio {

/// Waveform → log-mel spectrogram as MMAudio's MelConverter computes it (see MelConfig).
///
/// Computes in float32 on the waveform's device. Threading: immutable after construction; the
/// const members may be called from several threads. Errors: core::InputError for a bad shape.
class MelFrontEnd {
 public:
  explicit MelFrontEnd(MelConfig config = MelConfig::mmaudio16k());

  const MelConfig& config() const { return config_; }
  /// The filter bank `[numMels, frequencyBins]`, float32 on the CPU.
  const at::Tensor& melBasis() const { return melBasis_; }
  /// The periodic Hann window of winLength, float32 on the CPU.
  const at::Tensor& window() const { return window_; }

  /// Waveform `[T]` or `[B, T]` → complex STFT `[B, frequencyBins, frames]` of the clamped,
  /// reflect-padded waveform (centre=False).
  at::Tensor spectrum(const at::Tensor& waveform) const;
  /// The same signal without clamping to −1..1 (Griffin-Lim's re-analysis).
  at::Tensor spectrumUnclamped(const at::Tensor& waveform) const;
  /// Waveform → magnitude `[B, frequencyBins, frames]`: sqrt(re² + im² + magnitudeEps).
  at::Tensor magnitude(const at::Tensor& waveform) const;
  /// Waveform → log-mel `[B, numMels, frames]`.
  at::Tensor logMel(const at::Tensor& waveform) const;
  /// Magnitude `[B, frequencyBins, frames]` → log-mel `[B, numMels, frames]`.
  at::Tensor magnitudeToLogMel(const at::Tensor& magnitude) const;

 private:
  at::Tensor batched(const at::Tensor& waveform) const;

  MelConfig config_;
  at::Tensor melBasis_;
  at::Tensor window_;
};

}  // namespace presence::models::audio
