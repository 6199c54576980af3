// What the nodes expect of a vocoder (BigVGAN for real checkpoints, Griffin-Lim without weights).
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <string>

namespace presence::models {

/// Turns the mel spectrograms an AudioVae decodes into waveforms.
///
/// Threading: one call at a time per instance. Errors: presence::core::InputError when the mel
/// has the wrong number of bins, presence::core::Error for model failures.
class Vocoder {
 public:
  virtual ~Vocoder() = default;

  virtual std::string name() const = 0;    ///< e.g. "bigvgan-16k", "griffin-lim"
  virtual int64_t sampleRate() const = 0;  ///< of the waveform produced: 16000
  virtual int64_t melBins() const = 0;     ///< bins expected: 80
  virtual int64_t hopLength() const = 0;   ///< waveform samples per mel frame: 256

  /// Mel `[B, melBins(), frames]` (or `[melBins(), frames]`, B = 1), in the AudioVae's log-mel
  /// scale → waveform `[B, frames · hopLength()]` float in −1..1 at sampleRate().
  virtual at::Tensor vocode(const at::Tensor& mel) = 0;
};

}  // namespace presence::models
