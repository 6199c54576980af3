// What the generation types carry along a graph's links (MODEL, IDENTITIES, CAPTION, LATENT_AV),
// so that any plugin, ours or a studio's, can produce and consume them.
#pragma once

#include <cstddef>
#include <memory>

#include "presence/models/generation/generation.hpp"
#include "presence/models/generation/generation_model.hpp"
#include "presence/models/generation/identity_set.hpp"

namespace presence::models::generation {

/// MODEL: a shared handle to a loaded generation model (the model cache keeps one copy).
struct ModelHandle {
  std::shared_ptr<GenerationModel> model;
};

/// Bytes the executor's result cache counts for each payload (the model itself is counted by the
/// model cache, not by the graphs that hold handles to it).
inline std::size_t tensorBytes(const at::Tensor& t) {
  return t.defined() ? static_cast<std::size_t>(t.numel()) * t.element_size() : 0;
}
inline std::size_t payloadBytes(const ModelHandle&) { return sizeof(ModelHandle); }
inline std::size_t payloadBytes(const IdentitySet& v) {
  std::size_t n = 0;
  for (const auto& s : v.subjects) n += tensorBytes(s.face) + tensorBytes(s.voice);
  return n;
}
inline std::size_t payloadBytes(const EncodedCaption& v) {
  return tensorBytes(v.prompt.embeddings) + tensorBytes(v.negativeVideo.embeddings) +
         tensorBytes(v.negativeAudio.embeddings) + v.text.size();
}
inline std::size_t payloadBytes(const GeneratedLatents& v) {
  return tensorBytes(v.latent.video) + tensorBytes(v.latent.audio);
}

}  // namespace presence::models::generation
