// Shared helpers of the DiT tests: tiny configs, weights that exercise every tensor, inputs.
#pragma once

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <memory>

#include "presence/models/dit/dit_presets.hpp"
#include "presence/models/dit/dit_weights.hpp"
#include "presence/models/dit/dual_tower_dit.hpp"

namespace presence::models::dit::test {

/// The `tiny` preset with `layers` blocks per tower.
inline DitConfig tinyConfig(int64_t layers = 2) {
  DitConfig c = preset("tiny");
  c.video.numLayers = c.audio.numLayers = layers;
  return c;
}

/// A preset's config at tiny width: one block, dim 64, its structure and flags kept.
inline DitConfig tinySized(const std::string& name) {
  DitConfig c = preset(name);
  for (TowerConfig* t : {&c.video, &c.audio}) {
    t->dim = 64;
    t->numHeads = 2;
    t->ffnDim = 128;
    t->numLayers = 1;
    t->textDim = 32;
    t->textLen = 16;
    t->freqDim = 32;
    t->convMlpMultipleOf = 32;
  }
  return c;
}

/// Weights where no tensor is degenerate: zero-initialised tensors (biases, head.head) get small
/// noise and ones-initialised ones (norm weights) get 1 + noise, so every weight matters. The
/// identity table stays zero unless `identity` is set.
inline std::shared_ptr<DitWeights> testWeights(const DitConfig& config, uint64_t seed = 7,
                                               bool identity = false) {
  auto w = std::make_shared<DitWeights>(DitWeights::allocate(config, at::kCPU, at::kFloat, seed));
  for (const auto& spec : w->manifest().parameters) {
    if (!w->contains(spec.name)) continue;
    if (spec.name == "identity_embeddings" && !identity) continue;
    // Per-name generator: a tensor's value does not depend on the other tensors of the config.
    uint64_t h = 1469598103934665603ULL + seed;
    for (unsigned char ch : spec.name) h = (h ^ ch) * 1099511628211ULL;
    auto gen = at::make_generator<at::CPUGeneratorImpl>(h);
    const at::Tensor& t = w->get(spec.name);
    if (spec.init == "zeros") {
      w->set(spec.name, at::empty(t.sizes(), t.options())
                            .normal_(0.0, spec.name == "identity_embeddings" ? 0.5 : 0.05, gen));
    } else if (spec.init == "ones") {
      w->set(spec.name, 1.0 + at::empty(t.sizes(), t.options()).normal_(0.0, 0.1, gen));
    }
  }
  return w;
}

inline at::Tensor randn(at::IntArrayRef shape, uint64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  return at::empty(shape, at::TensorOptions().dtype(at::kFloat)).normal_(0.0, 1.0, gen);
}

/// A joint input: video [B, Cv, F, H, W], audio [B, L, Ca], t, text of `textTokens` tokens.
inline DitInputs testInputs(const DitConfig& c, int64_t batch, int64_t frames, int64_t height, int64_t width,
                            int64_t audioLen, int64_t textTokens, uint64_t seed = 11) {
  DitInputs in;
  if (frames > 0) in.video = randn({batch, c.video.inDim, frames, height, width}, seed);
  if (audioLen > 0) in.audio = randn({batch, audioLen, c.audio.inDim}, seed + 1);
  in.t = at::full({batch}, 700.0, at::TensorOptions().dtype(at::kFloat));
  in.videoText = randn({batch, textTokens, c.video.textDim}, seed + 2);
  in.audioText = randn({batch, textTokens, c.audio.textDim}, seed + 3);
  return in;
}

inline double maxAbsDiff(const at::Tensor& a, const at::Tensor& b) {
  return (a.to(at::kDouble) - b.to(at::kDouble)).abs().max().item<double>();
}

}  // namespace presence::models::dit::test
