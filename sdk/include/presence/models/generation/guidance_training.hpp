// What a DiT's training taught the negative pass of classifier-free guidance, recorded in its
// checkpoint's metadata so that sampling can use the pass the model learned by default.
#pragma once

#include <map>
#include <string>

namespace presence::models::generation {

struct GuidanceTraining {
  /// Metadata entry of a DiT checkpoint (a single file's "__metadata__", an index's "metadata").
  static constexpr const char* kMetadataKey = "presence.guidance_training";

  /// Some training steps ran the negative pass without the face references (the stages'
  /// guidance dropout with guidance_dropout_faces > 0), so guidance away from that pass is learned.
  bool negativeWithoutFaces = false;

  /// The metadata value: a JSON object.
  std::string toMetadata() const;
  /// Reads `metadata`'s entry; absent (every public checkpoint): nothing learned. Throws
  /// core::InputError naming `file` when the entry is not such an object.
  static GuidanceTraining fromMetadata(const std::map<std::string, std::string>& metadata, const std::string& file);
};

}  // namespace presence::models::generation
