// presence::data: the identity-labelled audio-video dataset format (docs/dataset-format.md) and
// its reader, plus the sampling helpers a trainer needs (filter, seeded shuffle, length-bucketed
// batches, a held-out split). No LibTorch.
//
// Errors: readDataset throws core::InputError naming the file, the line and the field
// ("manifest.jsonl:3: field 'duration': expected a number, got a string").
// Threading: every function is reentrant; a DatasetManifest is a plain value.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace presence::data {

inline constexpr std::string_view kDatasetFormat = "presence-dataset";
inline constexpr int kDatasetVersion = 1;

/// One speaker/face: references point to it by id. `voice` and `face` are free-form parameter
/// objects (the synthetic generator's espeak-ng and drawing parameters; anything for real data).
struct Identity {
  std::string id;
  std::string name;
  std::string appearance;  ///< caption text describing the face ("a person with short red hair")
  nlohmann::json voice = nlohmann::json::object();
  nlohmann::json face = nlohmann::json::object();
};

/// A face reference image and the pose and expression it shows.
struct FaceRef {
  std::filesystem::path path;  ///< absolute (resolved against the dataset folder)
  std::string view;            ///< "front", "left", "right", ...
  double yaw = 0.0, pitch = 0.0;
  std::string expression;
};

struct TimedUnit {
  std::string label;  ///< a word or a phoneme
  double start = 0.0, end = 0.0;
};

/// One line of speech, with its timings in seconds from the start of the clip.
struct SpeechLine {
  std::string text;
  double start = 0.0, end = 0.0;
  std::vector<TimedUnit> words, phonemes;
};

/// Where a face lies in the clip's frames, as shares of the frame's width and height (0..1,
/// x0 < x1, y0 < y1): the smallest box holding the head in every frame. A dataset gets it from
/// a face detector; the trainer can weight the loss of the latent tokens it covers.
struct FaceBox {
  double x0 = 0.0, y0 = 0.0, x1 = 1.0, y1 = 1.0;
};

struct Subject {
  std::string identity;
  int slot = 0;
  std::string appearance;
  double yaw = 0.0, pitch = 0.0;
  std::string expression;
  std::string position;  ///< where the face stands: "left", "right", "center"; empty when unknown
  std::optional<FaceBox> faceBox;  ///< where the head lies in the frames; absent when unknown
  std::vector<FaceRef> faceRefs;
  std::optional<std::filesystem::path> voiceRef;  ///< absolute
  std::string voiceRefText;
  std::vector<SpeechLine> speech;
  std::vector<double> mouthOpen;  ///< per video frame, 0 (closed) .. 1; empty when unknown
};

struct Caption {
  std::string scene, camera, ambience, soundEffects;
  std::string text;  ///< the composed caption in the model's syntax
};

enum class ClipKind { AudioVideo, Speech, Video };
enum class Split { Train, Val };

std::string_view toString(ClipKind kind);  ///< "av", "speech", "video"
std::string_view toString(Split split);    ///< "train", "val"

struct Clip {
  std::string id;
  Split split = Split::Train;
  ClipKind kind = ClipKind::AudioVideo;
  double duration = 0.0;
  double fps = 0.0;  ///< 0 for speech clips
  int frames = 0, width = 0, height = 0;
  int sampleRate = 0;                          ///< 0 when there is no audio
  std::optional<std::filesystem::path> video;  ///< absolute; required for av and video
  std::optional<std::filesystem::path> audio;  ///< absolute; required for av and speech
  std::vector<Subject> subjects;
  Caption caption;
  int line = 0;  ///< the manifest line it came from (1-based), for messages
};

struct DatasetManifest {
  std::filesystem::path root;
  nlohmann::json descriptor;  ///< dataset.json as read
  std::vector<Identity> identities;
  std::vector<Clip> clips;

  const Identity* findIdentity(std::string_view id) const;
};

/// Reads and validates a dataset folder: dataset.json (format and version), identities.jsonl,
/// manifest.jsonl, and that every media file a record names exists. Throws core::InputError.
DatasetManifest readDataset(const std::filesystem::path& folder);

// --- sampling helpers: they work on indices into DatasetManifest::clips ---

/// The clips of that kind and/or split, in manifest order.
std::vector<std::size_t> filterClips(const DatasetManifest& dataset, std::optional<ClipKind> kind = {},
                                     std::optional<Split> split = {});

/// A seeded permutation (own Fisher-Yates on mt19937_64, so the order is the same on every
/// standard library).
std::vector<std::size_t> shuffled(std::vector<std::size_t> indices, std::uint64_t seed);

/// Batches of up to `batchSize` clips of similar duration: the clips are shuffled, sorted by
/// duration (stable), cut into consecutive batches, and the batch order is shuffled. Every clip
/// appears exactly once. Throws InputError for batchSize < 1.
std::vector<std::vector<std::size_t>> bucketedBatches(const DatasetManifest& dataset,
                                                      const std::vector<std::size_t>& indices, int batchSize,
                                                      std::uint64_t seed);

struct HeldOut {
  std::vector<std::size_t> train, val;
};
/// The manifest's own split when it has val clips among `indices`; otherwise a seeded random
/// `fraction` of them (at least one when fraction > 0 and there are two or more clips).
HeldOut heldOutSplit(const DatasetManifest& dataset, const std::vector<std::size_t>& indices, double fraction,
                     std::uint64_t seed);

}  // namespace presence::data
