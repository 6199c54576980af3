// The synthetic identity-labelled audio-video world (namespace presence::nodes::data): writes a
// dataset folder in the format of docs/dataset-format.md (read back by presence::data::readDataset).
//
// Deterministic by seed: the same options give the same manifest, identities, WAV and PNG bytes
// (the MP4s too as far as x264 is deterministic). Atomic: everything is written into a hidden
// temporary folder beside the target, which is renamed into place at the end; a failure or a
// cancellation removes it and leaves any previous dataset untouched.
// Threading: may run on any thread; espeak-ng calls are serialised inside voice_synth.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "media_io.hpp"

namespace presence::nodes::data {

struct SynthOptions {
  int identities = 4;
  int clipsPerIdentity = 4;
  std::uint64_t seed = 0;
  int width = 128, height = 128;  ///< even (H.264)
  double fps = 25.0;
  double clipSeconds = 2.0;  ///< mean clip length; clips vary by +-20 % (for length bucketing)
  double twoSubjectShare = 0.25;
  double speechOnlyShare = 0.15;
  double videoOnlyShare = 0.15;
  double valFraction = 0.1;
  /// Two-subject clips put subject 1 on the left or the right at random and their captions say
  /// which ("Subject 1, on the right, ..."). Off: subject 1 always stands on the left and the
  /// captions say nothing of places (the world the shipped default model was first trained on).
  bool randomSides = false;
  int crf = 8;  ///< x264 quality; low = nearly lossless
};

struct SynthReport {
  std::filesystem::path folder;
  int clips = 0, av = 0, speech = 0, video = 0, twoSubject = 0, val = 0;
  std::vector<std::string> files;  ///< every file written, absolute
};

/// Validates the options (throws core::InputError naming the option) and writes the dataset to
/// `folder`, replacing a previous one only once the new one is complete.
SynthReport generateSynthDataset(const SynthOptions& options, const std::filesystem::path& folder,
                                 const presence::media::ProgressFn& progress = {},
                                 const presence::media::CancelFn& cancelled = {});

}  // namespace presence::nodes::data
