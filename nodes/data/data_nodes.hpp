// The dataset nodes (namespace presence::nodes::data): synth_dataset. The plugin
// (data_plugin.cpp) registers them; tests register them into their own registry.
#pragma once

#include <string>

#include "presence/core/registry.hpp"

namespace presence::nodes::data {

void registerSynthDatasetNode(core::NodeRegistry& registry, const std::string& origin);

inline void registerDataNodes(core::NodeRegistry& registry, const std::string& origin = "presence-data") {
  registerSynthDatasetNode(registry, origin);
}

}  // namespace presence::nodes::data
