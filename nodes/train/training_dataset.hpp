// DATASET: a dataset read and encoded once by a generation model, ready for the training stages.
#pragma once

#include <ATen/ATen.h>

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "presence/data/dataset.hpp"
#include "presence/runtime/rng.hpp"

namespace presence::nodes::train {

/// One clip's latents and references (batch dimension 1, CPU float32).
struct EncodedClip {
  std::string id;
  presence::data::Split split = presence::data::Split::Train;
  presence::data::ClipKind kind = presence::data::ClipKind::AudioVideo;
  at::Tensor video;  ///< [1, Cv, F, H, W], undefined for speech clips
  at::Tensor audio;  ///< [1, L, Ca], undefined for video clips
  at::Tensor text;   ///< [1, textLength, textDim] caption embeddings (zero padded)
  int64_t textTokens = 0;
  /// Per subject with a face: its first view alone, [1, Cv, 1, h, w] (one-shot: stages 1 and 2,
  /// and what a user gives at generation).
  std::vector<at::Tensor> faces;
  /// Per subject with a face: all its views packed into one grid image (stage 3's multi-view
  /// fine-tuning); the same tensor as `faces` where the subject has one view.
  std::vector<at::Tensor> multiViewFaces;
  std::vector<int64_t> faceSlots;   ///< identity slot of each face
  std::vector<std::string> faceIdentities;  ///< the manifest identity of each face
  std::vector<int64_t> faceViews;   ///< views the subject has (packed into multiViewFaces)
  std::vector<at::Tensor> voices;   ///< per subject with a voice: [1, Ls, Ca]
  std::vector<int64_t> voiceSlots;  ///< identity slot of each voice
  std::vector<std::string> voiceIdentities;  ///< the manifest identity of each voice
  /// [1, 1, 1, H, W]: share of each video latent position inside a face box (faceCover), for the
  /// stages' face_loss_weight; undefined when the manifest locates none of the clip's faces.
  at::Tensor faceCover;

  /// The clip's pictures with their hues turned alike (load_dataset check_hue_turn): what the
  /// reference check's colour variant shows the model, for validation clips that show faces.
  struct HueTurned {
    double radians = 0.0;
    at::Tensor video;                         ///< the frames turned, as `video`
    std::vector<at::Tensor> faces;            ///< each face reference turned, as `faces`
    std::vector<at::Tensor> multiViewFaces;   ///< ... as `multiViewFaces`
  };
  std::optional<HueTurned> hueTurned;

  bool multiView() const {
    for (const auto v : faceViews)
      if (v > 1) return true;
    return false;
  }
  /// The face references a stage trains on: multi-view grids in stage 3, one-shot faces otherwise.
  const std::vector<at::Tensor>& facesFor(bool multiViewStage) const { return multiViewStage ? multiViewFaces : faces; }
};

struct TrainingDataset {
  std::string modelKey;  ///< encoderKey() of the model that encoded it
  std::filesystem::path root;
  std::vector<EncodedClip> clips;

  std::size_t count(std::optional<presence::data::ClipKind> kind = {}, std::optional<presence::data::Split> split = {}) const {
    std::size_t n = 0;
    for (const auto& c : clips)
      if ((!kind || c.kind == *kind) && (!split || c.split == *split)) ++n;
    return n;
  }
};

/// The hue turn (radians) of the k-th (1-based) of `copies` recoloured copies load_dataset makes
/// of a training clip: drawn from (seed, clip id, k) alone, so the same manifest gives the same
/// copies in any order, and kept within the k-th of copies + 1 equal sectors of the colour circle
/// (the 0th, centred on no turn, is the clip as it is), so that no copy lies within half a sector
/// of the original; two copies may lie close at the border of their sectors.
inline double recolouredCopyHue(uint64_t seed, const std::string& clipId, int64_t k, int64_t copies) {
  uint64_t id = 0xCBF29CE484222325ull;  // FNV-1a of the clip id: the stream of the clip
  for (const unsigned char ch : clipId) id = (id ^ ch) * 0x100000001B3ull;
  const uint64_t h = presence::runtime::deriveSeed(presence::runtime::deriveSeed(seed, id), static_cast<uint64_t>(k));
  const double u = static_cast<double>(h >> 11) * 0x1.0p-53;  // uniform in [0, 1)
  return 2.0 * M_PI * (static_cast<double>(k) - 0.5 + u) / static_cast<double>(copies + 1);
}

/// Bytes the dataset holds, each tensor storage counted once and whole (recoloured copies share
/// their original's sound, caption and voices; a one-view face is its own grid; a caption's
/// embeddings may be a view of a longer encoder output).
inline std::size_t payloadBytes(const TrainingDataset& v) {
  std::unordered_set<const void*> seen;
  std::size_t n = 0;
  auto add = [&](const at::Tensor& t) {
    if (t.defined() && seen.insert(t.storage().data()).second) n += static_cast<std::size_t>(t.storage().nbytes());
  };
  for (const auto& c : v.clips) {
    add(c.video);
    add(c.audio);
    add(c.text);
    for (const auto& f : c.faces) add(f);
    for (const auto& f : c.multiViewFaces) add(f);
    for (const auto& a : c.voices) add(a);
    if (c.hueTurned) {
      add(c.hueTurned->video);
      for (const auto& f : c.hueTurned->faces) add(f);
      for (const auto& f : c.hueTurned->multiViewFaces) add(f);
    }
  }
  return n;
}

}  // namespace presence::nodes::train
