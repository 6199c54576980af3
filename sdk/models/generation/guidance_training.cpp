#include "presence/models/generation/guidance_training.hpp"

#include <nlohmann/json.hpp>

#include "presence/core/error.hpp"

namespace presence::models::generation {

std::string GuidanceTraining::toMetadata() const {
  return nlohmann::ordered_json{{"negative_without_faces", negativeWithoutFaces}}.dump();
}

GuidanceTraining GuidanceTraining::fromMetadata(const std::map<std::string, std::string>& metadata,
                                                const std::string& file) {
  GuidanceTraining training;
  const auto it = metadata.find(kMetadataKey);
  if (it == metadata.end()) return training;
  const auto j = nlohmann::json::parse(it->second, nullptr, /*allow_exceptions=*/false);
  const auto field = j.is_object() ? j.find("negative_without_faces") : j.end();
  if (!j.is_object() || field == j.end() || !field->is_boolean())
    throw core::InputError(file + ": metadata '" + kMetadataKey + "' is " + it->second +
                           ", expected {\"negative_without_faces\": true or false}");
  training.negativeWithoutFaces = field->get<bool>();
  return training;
}

}  // namespace presence::models::generation
