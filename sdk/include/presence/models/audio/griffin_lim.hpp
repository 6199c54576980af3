// A vocoder without weights: mel → linear magnitude (pseudo-inverse of the filter bank) → phase
// by (fast) Griffin-Lim.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <string>

#include "presence/models/audio/mel_frontend.hpp"
#include "presence/models/interfaces/vocoder.hpp"

namespace presence::models::audio {

struct GriffinLimConfig {
  MelConfig mel = MelConfig::mmaudio16k();
  int64_t iterations = 32;
  /// Fast Griffin-Lim (Perraudin et al. 2013) momentum; 0 gives the classic algorithm.
  double momentum = 0.99;
  /// Magnitudes whose mel energy is at the log floor are set to zero (silence stays silent).
  bool zeroAtFloor = true;

  /// Throws core::InputError naming the bad field.
  void validate() const;
};

/// Griffin-Lim vocoder. Deterministic: the phase starts at zero.
///
/// Inversion: 10^mel (or e^mel) → pinv(melBasis) · mel, clamped ≥ 0 → iterations of
/// x ← OLA-ISTFT(|S| · e^{iφ}); φ ← angle(STFT(x) − m/(1+m) · previous STFT), with the same
/// reflect-padded, centre=False framing as the front end; the output is the padded signal's
/// middle, frames · hopLength samples, clamped to −1..1.
///
/// Threading: one call at a time per instance. Errors: core::InputError for a bad mel shape.
class GriffinLimVocoder : public presence::models::Vocoder {
 public:
  explicit GriffinLimVocoder(GriffinLimConfig config = {});

  std::string name() const override { return "griffin-lim"; }
  int64_t sampleRate() const override { return config_.mel.sampleRate; }
  int64_t melBins() const override { return config_.mel.numMels; }
  int64_t hopLength() const override { return config_.mel.hopLength; }

  at::Tensor vocode(const at::Tensor& mel) override;

  const GriffinLimConfig& config() const { return config_; }
  /// Log-mel `[B, numMels, frames]` → non-negative linear magnitude `[B, frequencyBins, frames]`.
  at::Tensor melToMagnitude(const at::Tensor& mel) const;
  /// Magnitude `[B, frequencyBins, frames]` → waveform `[B, frames · hopLength]` (unclamped).
  at::Tensor griffinLim(const at::Tensor& magnitude) const;
  /// Complex spectrum `[B, frequencyBins, frames]` → waveform `[B, frames · hopLength]` by
  /// windowed overlap-add normalised by the summed squared window (least-squares ISTFT).
  at::Tensor inverseStft(const at::Tensor& spectrum) const;

 private:
  GriffinLimConfig config_;
  MelFrontEnd frontEnd_;
  at::Tensor pinvBasis_;  ///< [frequencyBins, numMels] float32, CPU
  at::Tensor window_;     ///< nFft long (winLength Hann centred in zeros), float32, CPU
};

}  // namespace presence::models::audio
