// The training nodes (namespace presence::nodes::train): load_dataset, the three stages, the VAE and
// tokenizer trainers of a built-in model, and save_model.
#pragma once

#include <string>

#include "presence/core/registry.hpp"

namespace presence::nodes::train {

void registerLoadDatasetNode(core::NodeRegistry& registry, const std::string& origin);
void registerTrainStageNodes(core::NodeRegistry& registry, const std::string& origin);
void registerTrainAutoencoderNodes(core::NodeRegistry& registry, const std::string& origin);
void registerTrainTokenizerNode(core::NodeRegistry& registry, const std::string& origin);
void registerSaveModelNode(core::NodeRegistry& registry, const std::string& origin);

inline void registerTrainNodes(core::NodeRegistry& registry, const std::string& origin = "presence-train") {
  registerLoadDatasetNode(registry, origin);
  registerTrainStageNodes(registry, origin);
  registerTrainAutoencoderNodes(registry, origin);
  registerTrainTokenizerNode(registry, origin);
  registerSaveModelNode(registry, origin);
}

}  // namespace presence::nodes::train
