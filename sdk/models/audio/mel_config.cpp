#include "presence/models/audio/mel_config.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "presence/core/error.hpp"

namespace presence::models::audio {

namespace {

constexpr double kLinearHzPerMel = 200.0 / 3.0;
constexpr double kBreakHz = 1000.0;
constexpr double kBreakMel = kBreakHz / kLinearHzPerMel;  // 15

double logStep() { return std::log(6.4) / 27.0; }

void require(bool ok, const std::string& what) {
  if (!ok) {
    throw core::InputError("mel front end: " + what);
  }
}

}  // namespace

MelConfig MelConfig::mmaudio16k() { return MelConfig{}; }

void MelConfig::validate() const {
  require(sampleRate > 0, "sampleRate must be positive");
  require(nFft >= 2, "nFft must be at least 2");
  require(numMels > 0, "numMels must be positive");
  require(hopLength > 0 && hopLength <= nFft, "hopLength must be in 1..nFft");
  require(winLength > 0 && winLength <= nFft, "winLength must be in 1..nFft");
  require(fmin >= 0.0 && fmin < fmax, "need 0 <= fmin < fmax");
  require(fmax <= static_cast<double>(sampleRate) / 2.0 + 1e-9, "fmax must not exceed sampleRate / 2");
  require(clampMin > 0.0, "clampMin must be positive");
  require(magnitudeEps >= 0.0, "magnitudeEps must not be negative");
}

int64_t MelConfig::frameCount(int64_t samples) const {
  const int64_t padded = samples + 2 * padding();
  if (samples <= padding() || padded < nFft) {
    return 0;
  }
  return (padded - nFft) / hopLength + 1;
}

double MelConfig::logFloor() const { return log == MelLog::Log10 ? std::log10(clampMin) : std::log(clampMin); }

std::string MelConfig::describe() const {
  std::ostringstream out;
  out << "log-mel " << sampleRate << " Hz, n_fft " << nFft << ", " << numMels << " mels, hop " << hopLength
      << ", window " << winLength << ", " << fmin << "-" << fmax << " Hz, "
      << (log == MelLog::Log10 ? "log10" : "ln") << " (floor " << clampMin << ")";
  return out.str();
}

double hzToMelSlaney(double hz) {
  if (hz < kBreakHz) {
    return hz / kLinearHzPerMel;
  }
  return kBreakMel + std::log(hz / kBreakHz) / logStep();
}

double melToHzSlaney(double mel) {
  if (mel < kBreakMel) {
    return mel * kLinearHzPerMel;
  }
  return kBreakHz * std::exp(logStep() * (mel - kBreakMel));
}

std::vector<double> slaneyMelFilterBank(const MelConfig& config) {
  config.validate();
  const int64_t bins = config.frequencyBins();
  const int64_t mels = config.numMels;

  // Edges: numMels + 2 points equally spaced on the mel scale, back in Hz.
  const double lo = hzToMelSlaney(config.fmin);
  const double hi = hzToMelSlaney(config.fmax);
  std::vector<double> edgesHz(static_cast<size_t>(mels + 2));
  for (int64_t i = 0; i < mels + 2; ++i) {
    const double m = lo + (hi - lo) * static_cast<double>(i) / static_cast<double>(mels + 1);
    edgesHz[static_cast<size_t>(i)] = melToHzSlaney(m);
  }

  std::vector<double> bank(static_cast<size_t>(mels * bins), 0.0);
  // librosa's fft_frequencies: linspace(0, sr / 2, bins).
  const double nyquist = static_cast<double>(config.sampleRate) / 2.0;
  for (int64_t m = 0; m < mels; ++m) {
    const double left = edgesHz[static_cast<size_t>(m)];
    const double centre = edgesHz[static_cast<size_t>(m + 1)];
    const double right = edgesHz[static_cast<size_t>(m + 2)];
    const double scale = 2.0 / (right - left);
    for (int64_t k = 0; k < bins; ++k) {
      const double f = nyquist * static_cast<double>(k) / static_cast<double>(bins - 1);
      const double rising = (f - left) / (centre - left);
      const double falling = (right - f) / (right - centre);
      const double w = std::max(0.0, std::min(rising, falling));
      bank[static_cast<size_t>(m * bins + k)] = w * scale;
    }
  }
  return bank;
}

}  // namespace presence::models::audio
