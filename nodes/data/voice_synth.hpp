// Speech from espeak-ng's C library with its word and phoneme timings (namespace
// presence::nodes::data). espeak-ng keeps global state and is not thread-safe: every call takes
// one process-wide mutex, and each utterance runs in a forked child with a fresh espeak-ng (its
// hidden state would otherwise make the samples depend on earlier utterances).
// Throws core::Error when espeak-ng cannot start or synthesise.
#pragma once

#include <random>
#include <string>
#include <vector>

#include "presence/core/media.hpp"

namespace presence::nodes::data {

/// One identity's voice: an espeak-ng voice name with a variant ("en-us+f3") and prosody.
struct VoiceParams {
  std::string voice = "en-us+m3";
  int pitch = 50;           ///< espeakPITCH 0..100
  int range = 50;           ///< espeakRANGE 0..100
  int rate = 170;           ///< espeakRATE, words per minute
  std::string description;  ///< "a high female voice, speaking fast"

  /// Identity `index` of `count`: pitch spread over the identities, male and female variants.
  static VoiceParams random(std::mt19937_64& rng, int index, int count);
};

struct Timed {
  std::string label;
  double start = 0.0, end = 0.0;  ///< seconds from the start of the utterance
};

struct Utterance {
  core::Audio audio;  ///< mono at espeak-ng's rate (22050 Hz)
  std::vector<Timed> words, phonemes;
};

/// Synthesises `text` with `voice`.
Utterance synthesise(const std::string& text, const VoiceParams& voice);

/// How far the mouth opens for an espeak-ng phoneme mnemonic: vowels open, bilabials (p, b, m)
/// closed, pauses closed, other consonants half.
float mouthOpenness(const std::string& phoneme);

}  // namespace presence::nodes::data
