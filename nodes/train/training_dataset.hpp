// DATASET: a dataset read and encoded once by a generation model, ready for the training stages.
#pragma once

#include <ATen/ATen.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "presence/data/dataset.hpp"

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

inline std::size_t clipBytes(const at::Tensor& t) {
  return t.defined() ? static_cast<std::size_t>(t.numel()) * t.element_size() : 0;
}
inline std::size_t payloadBytes(const TrainingDataset& v) {
  std::size_t n = 0;
  for (const auto& c : v.clips) {
    n += clipBytes(c.video) + clipBytes(c.audio) + clipBytes(c.text);
    for (const auto& f : c.faces) n += clipBytes(f);
    for (std::size_t k = 0; k < c.multiViewFaces.size(); ++k)
      if (k >= c.faces.size() || !c.multiViewFaces[k].is_same(c.faces[k])) n += clipBytes(c.multiViewFaces[k]);
    for (const auto& a : c.voices) n += clipBytes(a);
  }
  return n;
}

}  // namespace presence::nodes::train
