// Shared helpers of the trainer tests: tiny batches for the `tiny` DiT preset.
#pragma once

#include <ATen/ATen.h>

#include "../dit/dit_test_util.hpp"
#include "presence/core/error.hpp"
#include "presence/models/training/trainer.hpp"

namespace presence::models::training::test {

using dit::test::randn;

/// A batch of `b` items: video [b, Cv, 2, 4, 4], audio [b, 8, Ca], 6 text tokens, one face
/// [b, Cv, 1, 4, 4] and one voice [b, 5, Ca]. `video`/`audio` false leave that tower's data out.
inline TrainingBatch tinyBatch(const dit::DitConfig& c, int64_t b, uint64_t seed, bool video = true, bool audio = true) {
  TrainingBatch batch;
  if (video) batch.video = randn({b, c.video.inDim, 2, 4, 4}, seed);
  if (audio) batch.audio = randn({b, 8, c.audio.inDim}, seed + 1);
  batch.text = randn({b, 6, c.video.textDim}, seed + 2);
  batch.references.faces = randn({b, c.video.inDim, 1, 4, 4}, seed + 3);
  batch.references.voices = {randn({b, 5, c.audio.inDim}, seed + 4)};
  return batch;
}

/// Items [from, from + n) of a batch.
inline TrainingBatch slice(const TrainingBatch& b, int64_t from, int64_t n) {
  TrainingBatch out = b;
  auto cut = [&](const at::Tensor& t) { return t.defined() ? t.narrow(0, from, n).contiguous() : t; };
  out.video = cut(b.video);
  out.audio = cut(b.audio);
  out.text = cut(b.text);
  out.references.faces = cut(b.references.faces);
  for (auto& v : out.references.voices) v = cut(v);
  return out;
}

/// Fresh float32 test weights (every tensor non-degenerate) of the 2-block tiny preset.
inline std::shared_ptr<dit::DitWeights> tinyWeights(uint64_t seed = 7) {
  return dit::test::testWeights(dit::test::tinyConfig(2), seed);
}

/// Detached copies of every weight.
inline std::map<std::string, at::Tensor> snapshot(const dit::DitWeights& w) {
  std::map<std::string, at::Tensor> out;
  for (const auto& n : w.names()) out[n] = w.get(n).detach().clone();
  return out;
}

}  // namespace presence::models::training::test
