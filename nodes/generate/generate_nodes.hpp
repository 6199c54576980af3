// The generation nodes (namespace presence::nodes::generate): load_model, identity_encode,
// caption_compose, sampler, vae_decode and vae_encode. The plugin (generate_plugin.cpp) registers them; tests
// register them into their own registry.
#pragma once

#include <string>

#include "presence/core/registry.hpp"

namespace presence::nodes::generate {

void registerLoadModelNode(core::NodeRegistry& registry, const std::string& origin);
void registerIdentityEncodeNode(core::NodeRegistry& registry, const std::string& origin);
void registerCaptionComposeNode(core::NodeRegistry& registry, const std::string& origin);
void registerSamplerNode(core::NodeRegistry& registry, const std::string& origin);
void registerVaeDecodeNode(core::NodeRegistry& registry, const std::string& origin);
void registerVaeEncodeNode(core::NodeRegistry& registry, const std::string& origin);

inline void registerGenerateNodes(core::NodeRegistry& registry, const std::string& origin = "presence-generate") {
  registerLoadModelNode(registry, origin);
  registerIdentityEncodeNode(registry, origin);
  registerCaptionComposeNode(registry, origin);
  registerSamplerNode(registry, origin);
  registerVaeDecodeNode(registry, origin);
  registerVaeEncodeNode(registry, origin);
}

}  // namespace presence::nodes::generate
