// Import of ComfyUI API-format prompts whose class_type names are our nodes' ComfyUI names.
#pragma once

#include <nlohmann/json.hpp>

#include "presence/core/graph.hpp"
#include "presence/core/registry.hpp"

namespace presence::core {

/// `{"id": {"class_type": "PresenceLoadImage", "inputs": {"path": "a.png",
/// "image": ["other", 0]}}}` → a Graph. Literal inputs become parameters, `[node, index]`
/// pairs become links to the index-th output. Unknown classes and inputs are reported.
GraphLoadResult importComfyPrompt(const nlohmann::json& prompt, const NodeRegistry& registry);
GraphLoadResult importComfyPromptText(std::string_view text, const NodeRegistry& registry,
                                      const std::string& fileName = "<prompt>");

}  // namespace presence::core
