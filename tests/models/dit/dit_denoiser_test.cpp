// The DiT through the samplers: each guidance pass gets its own conditioning, and a whole
// generation with the reference cache gives the result of one without it.
#include <gtest/gtest.h>

#include "dit_test_util.hpp"
#include "presence/models/dit/dit_denoiser.hpp"
#include "presence/models/sampling/sampler.hpp"

namespace presence::models::dit {
namespace {

using namespace test;

DitConditioning conditioning(const DitConfig& c, bool negativeText) {
  DitConditioning cond;
  cond.prompt.video = randn({1, 5, c.video.textDim}, 21);
  cond.prompt.audio = randn({1, 5, c.audio.textDim}, 22);
  if (negativeText) {
    cond.negative.video = randn({1, 3, c.video.textDim}, 23);
    cond.negative.audio = randn({1, 3, c.audio.textDim}, 24);
  }
  cond.references.faces = randn({1, c.video.inDim, 2, 4, 4}, 25);
  cond.references.voices = {randn({1, 6, c.audio.inDim}, 26), randn({1, 4, c.audio.inDim}, 27)};
  return cond;
}

sampling::SamplerSettings settings(int steps) {
  sampling::SamplerSettings s;
  s.steps = steps;
  s.skipLayers = {1};
  return s;
}

JointLatent noise(const DitConfig& c) {
  return {randn({1, c.video.inDim, 2, 4, 4}, 31), randn({1, 8, c.audio.inDim}, 32)};
}

TEST(DitDenoiser, PassesMapOntoTheirConditioning) {
  const DitConfig c = tinyConfig();
  auto model = std::make_shared<const DualTowerDit>(testWeights(c, 3, true));
  DitDenoiser denoiser(model, conditioning(c, true));
  const JointLatent x = noise(c);
  const DenoiseStep step{800.0, 0.8, 0, 4};
  const JointLatent pos = denoiser.velocity(x, step, {});
  GuidancePass neg;
  neg.kind = GuidanceKind::Unconditional;
  neg.skipLayers = {1};
  neg.dropVoiceReferences = true;
  const JointLatent un = denoiser.velocity(x, step, neg);
  EXPECT_GT(maxAbsDiff(pos.video, un.video), 1e-4);
  EXPECT_GT(maxAbsDiff(pos.audio, un.audio), 1e-4);

  // The negative pass is exactly the model called with the negative text, the faces only and
  // block 1 skipped.
  DitConditioning cond = conditioning(c, true);
  DitInputs in;
  in.video = x.video;
  in.audio = x.audio;
  in.t = at::full({1}, 800.0);
  in.videoText = cond.negative.video;
  in.audioText = cond.negative.audio;
  in.references.faces = cond.references.faces;
  DitForwardOptions options;
  options.skipLayers = {1};
  const DitOutputs direct = model->infer(in, options);
  EXPECT_LT(maxAbsDiff(direct.video, un.video), 1e-5);
  EXPECT_LT(maxAbsDiff(direct.audio, un.audio), 1e-5);

  // Dropping the faces too: exactly the model called without any reference.
  neg.dropFaceReferences = true;
  const JointLatent bare = denoiser.velocity(x, step, neg);
  EXPECT_GT(maxAbsDiff(bare.video, un.video), 1e-4);  // the faces mattered
  in.references = {};
  const DitOutputs noRefs = model->infer(in, options);
  EXPECT_LT(maxAbsDiff(noRefs.video, bare.video), 1e-5);
  EXPECT_LT(maxAbsDiff(noRefs.audio, bare.audio), 1e-5);
}

TEST(DitDenoiser, AGenerationWithTheReferenceCacheMatchesOneWithout) {
  const DitConfig c = tinyConfig();
  auto model = std::make_shared<const DualTowerDit>(testWeights(c, 5, true));
  DitDenoiser cached(model, conditioning(c, true), {}, true);
  DitDenoiser uncached(model, conditioning(c, true), {}, false);
  const JointLatent a = sampling::sample(cached, noise(c), settings(4));
  const JointLatent b = sampling::sample(uncached, noise(c), settings(4));
  EXPECT_LT(maxAbsDiff(a.video, b.video), 1e-4);
  EXPECT_LT(maxAbsDiff(a.audio, b.audio), 1e-4);
  EXPECT_TRUE(at::isfinite(a.video).all().item<bool>());
  // Two passes a step; the cache computed each pass configuration once and then only hit.
  EXPECT_EQ(cached.calls(), 8);
  EXPECT_GT(cached.referenceCache().hits(), 0);
  EXPECT_LE(cached.referenceCache().misses(), 4);
  EXPECT_EQ(uncached.referenceCache().size(), 0u);
}

TEST(DitDenoiser, SameSeedSameBits) {
  const DitConfig c = tinyConfig();
  auto model = std::make_shared<const DualTowerDit>(testWeights(c, 5, true));
  DitDenoiser first(model, conditioning(c, false));
  DitDenoiser second(model, conditioning(c, false));
  const JointLatent a = sampling::sample(first, noise(c), settings(3));
  const JointLatent b = sampling::sample(second, noise(c), settings(3));
  EXPECT_TRUE(at::equal(a.video, b.video));
  EXPECT_TRUE(at::equal(a.audio, b.audio));
}

}  // namespace
}  // namespace presence::models::dit
