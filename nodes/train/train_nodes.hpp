// The training nodes (namespace presence::nodes::train): load_dataset and the three stages.
#pragma once

#include <string>

#include "presence/core/registry.hpp"

namespace presence::nodes::train {

void registerLoadDatasetNode(core::NodeRegistry& registry, const std::string& origin);
void registerTrainStageNodes(core::NodeRegistry& registry, const std::string& origin);

inline void registerTrainNodes(core::NodeRegistry& registry, const std::string& origin = "presence-train") {
  registerLoadDatasetNode(registry, origin);
  registerTrainStageNodes(registry, origin);
}

}  // namespace presence::nodes::train
