// The log-mel front end's parameters as data, and the Slaney mel filter bank computed from them.
// No LibTorch: the `presence` command can describe the front end without loading anything.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace presence::models::audio {

/// Logarithm applied to the mel energies after clamping.
enum class MelLog {
  Log10,    ///< MMAudio 16 kHz
  Natural,  ///< MMAudio 44.1 kHz
};

/// A log-mel spectrogram as MMAudio computes it (mmaudio/ext/mel_converter.py):
/// clamp the waveform to −1..1, reflect-pad (nFft − hopLength) / 2 on both sides, STFT with a
/// periodic Hann window of winLength (centre=False, onesided), magnitude sqrt(re² + im² + 1e-9),
/// Slaney mel filter bank (librosa htk=False, norm='slaney'), log(max(mel, clampMin)).
struct MelConfig {
  int64_t sampleRate = 16000;
  int64_t nFft = 1024;
  int64_t numMels = 80;
  int64_t hopLength = 256;
  int64_t winLength = 1024;
  double fmin = 0.0;
  double fmax = 8000.0;
  MelLog log = MelLog::Log10;
  double clampMin = 1e-5;      ///< floor of the mel energy before the logarithm
  double magnitudeEps = 1e-9;  ///< added to re² + im² before the square root

  /// The parameters of MMAudio's 16 kHz VAE.
  static MelConfig mmaudio16k();

  /// Throws core::InputError naming the bad field.
  void validate() const;

  int64_t frequencyBins() const { return nFft / 2 + 1; }
  /// Reflect padding on each side: (nFft − hopLength) / 2 (truncated).
  int64_t padding() const { return (nFft - hopLength) / 2; }
  /// Mel frames for `samples` waveform samples (0 when too short to pad).
  int64_t frameCount(int64_t samples) const;
  /// The floor of the log-mel scale: log(clampMin) (−5 for MMAudio 16 kHz).
  double logFloor() const;

  std::string describe() const;
};

/// librosa's Slaney mel scale (htk=False): linear below 1 kHz (200/3 Hz per mel), logarithmic above.
double hzToMelSlaney(double hz);
double melToHzSlaney(double mel);

/// The mel filter bank `[numMels, frequencyBins()]`, row-major, in double precision, per
/// librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax, htk=False, norm='slaney'): triangles between
/// numMels + 2 points equally spaced in Slaney mel, each scaled by 2 / (upper − lower edge in Hz).
std::vector<double> slaneyMelFilterBank(const MelConfig& config);

}  // namespace presence::models::audio
