// Helpers of the generation node tests: a registry with the media and generation nodes, and the
// sample graphs shrunk to the tiny preset (64 x 64, half a second, two steps).
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <string>

#include "generate_nodes.hpp"
#include "media_nodes.hpp"
#include "presence/core/graph.hpp"
#include "presence/core/registry.hpp"

namespace presence::generate::testing {

namespace fs = std::filesystem;
using namespace presence::core;

inline NodeRegistry& registry() {
  static NodeRegistry* r = [] {
    auto* reg = new NodeRegistry;  // never destroyed: nodes may outlive static destruction order
    nodes::media::registerMediaNodes(*reg);
    nodes::generate::registerGenerateNodes(*reg);
    return reg;
  }();
  return *r;
}

inline fs::path sampleGraph(const std::string& name) {
  return fs::path(PRESENCE_SOURCE_DIR) / "samples" / "graphs" / name;
}

/// Every node of `type` gets `param` = `value`.
inline void setAll(Graph& g, const std::string& type, const std::string& param, nlohmann::json value) {
  for (auto& n : g.nodes)
    if (n.type == type) n.params[param] = value;
}

/// Shrinks what a generation graph's sampler makes: 64 x 64 frames, 13 frames (0.5 s at 24 fps),
/// two steps; the model stays the graph's.
inline void shrinkSampling(Graph& g) {
  setAll(g, "presence.sampler", "width", 64);
  setAll(g, "presence.sampler", "height", 64);
  setAll(g, "presence.sampler", "duration", 0.5);
  setAll(g, "presence.sampler", "steps", 2);
}

/// Shrinks a generation graph to the tiny model (random weights, bundled tokenizer) and
/// shrinkSampling's clip, with a preview every step.
inline void shrinkToTiny(Graph& g) {
  setAll(g, "presence.load_model", "preset", "tiny");
  // The built-in model's files have the small shapes: the tiny preset runs on random weights.
  for (const char* file : {"dit_checkpoint", "video_vae_checkpoint", "audio_vae_checkpoint", "tokenizer"})
    setAll(g, "presence.load_model", file, "");
  setAll(g, "presence.load_model", "device", "cpu");
  setAll(g, "presence.identity_encode", "reference_size", 64);
  shrinkSampling(g);
  setAll(g, "presence.sampler", "preview_every", 1);
}

/// A sample graph file, shrunk to the tiny model.
inline Graph tinyGraph(const fs::path& file) {
  GraphLoadResult loaded = loadGraphFile(file);
  for (const auto& d : loaded.diagnostics) ADD_FAILURE() << d.format();
  Graph g = loaded.graph;
  shrinkToTiny(g);
  return g;
}

}  // namespace presence::generate::testing
