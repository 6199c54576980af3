// The dual-tower DiT's forward pass: shapes, identity injection, asymmetric attention, the
// reference cache, fusion switching, batching, skip layers and autograd, on the `tiny` preset.
#include <gtest/gtest.h>

#include <string>

#include "dit_test_util.hpp"
#include "presence/core/error.hpp"

namespace presence::models::dit {
namespace {

using test::maxAbsDiff;
using test::randn;

// Video [B, 16, 2, 4, 4] (8 tokens), audio 10 latents, 6 text tokens.
DitInputs smallInputs(const DitConfig& c, int64_t batch = 1, uint64_t seed = 11) {
  return test::testInputs(c, batch, 2, 4, 4, 10, 6, seed);
}

// Two faces ([B, 16, 2, 2, 2]: one token each... 2x2 latent -> 1 token per face) and two voices.
DitReferences twoSubjects(const DitConfig& c, int64_t batch = 1, uint64_t seed = 21) {
  DitReferences r;
  r.faces = randn({batch, c.video.inDim, 2, 4, 4}, seed);  // 2 faces, 4 tokens each
  r.voices = {randn({batch, 5, c.audio.inDim}, seed + 1), randn({batch, 7, c.audio.inDim}, seed + 2)};
  return r;
}

TEST(DualTowerDit, EveryPresetRunsAtTinySize) {
  for (const std::string& name : presetNames()) {
    const DitConfig c = test::tinySized(name);
    const DualTowerDit model(test::testWeights(c), at::kFloat);
    DitInputs in = test::testInputs(c, 2, 3, 4, 6, 9, 5);
    in.references.faces = randn({2, c.video.inDim, 1, 4, 4}, 3);
    in.references.voices = {randn({2, 6, c.audio.inDim}, 4)};
    if (c.identity.maxSubjects == 0) in.references.faceSubjects = in.references.voiceSubjects = {0};
    const DitOutputs out = model.forward(in);
    EXPECT_EQ(out.video.sizes(), in.video.sizes()) << name;
    EXPECT_EQ(out.audio.sizes(), in.audio.sizes()) << name;
    EXPECT_TRUE(at::isfinite(out.video).all().item<bool>()) << name;
    EXPECT_TRUE(at::isfinite(out.audio).all().item<bool>()) << name;
  }
}

TEST(DualTowerDit, VideoOnlyAndAudioOnlyCallsMatchTheFusionOffPass) {
  const DitConfig c = test::tinyConfig();
  const DualTowerDit model(test::testWeights(c));
  DitInputs in = smallInputs(c);
  in.references = twoSubjects(c);
  DitForwardOptions noFusion;
  noFusion.fusion = false;
  const DitOutputs joint = model.forward(in, noFusion);

  DitInputs videoOnly = in;
  videoOnly.audio = at::Tensor();
  const DitOutputs v = model.forward(videoOnly);
  EXPECT_FALSE(v.audio.defined());
  EXPECT_EQ(v.video.sizes(), in.video.sizes());
  EXPECT_LT(maxAbsDiff(v.video, joint.video), 1e-6);

  DitInputs audioOnly = in;
  audioOnly.video = at::Tensor();
  const DitOutputs a = model.forward(audioOnly);
  EXPECT_FALSE(a.video.defined());
  EXPECT_EQ(a.audio.sizes(), in.audio.sizes());
  EXPECT_LT(maxAbsDiff(a.audio, joint.audio), 1e-6);
}

TEST(DualTowerDit, FusionCouplesTheTowersOnlyWhenOn) {
  const DitConfig c = test::tinyConfig();
  const DualTowerDit model(test::testWeights(c));
  const DitInputs in = smallInputs(c);
  DitInputs otherAudio = in;
  otherAudio.audio = randn(in.audio.sizes(), 99);
  DitInputs otherVideo = in;
  otherVideo.video = randn(in.video.sizes(), 98);

  DitForwardOptions off;
  off.fusion = false;
  EXPECT_TRUE(at::equal(model.forward(in, off).video, model.forward(otherAudio, off).video));
  EXPECT_TRUE(at::equal(model.forward(in, off).audio, model.forward(otherVideo, off).audio));
  EXPECT_GT(maxAbsDiff(model.forward(in).video, model.forward(otherAudio).video), 1e-4);
  EXPECT_GT(maxAbsDiff(model.forward(in).audio, model.forward(otherVideo).audio), 1e-4);
}

TEST(DualTowerDit, ReferenceTokensNeverSeeTheNoisyTokens) {
  const DitConfig c = test::tinyConfig(3);
  const DualTowerDit model(test::testWeights(c, 7, true));
  DitInputs a = smallInputs(c);
  a.references = twoSubjects(c);
  DitInputs b = smallInputs(c, 1, 55);  // other noisy latents, text
  b.references = a.references;
  b.t = at::full({1}, 150.0);

  DitTrace ta, tb;
  DitForwardOptions oa, ob;
  oa.trace = &ta;
  ob.trace = &tb;
  const DitOutputs outA = model.forward(a, oa);
  const DitOutputs outB = model.forward(b, ob);
  ASSERT_EQ(ta.videoReferences.size(), 4u);  // -1, 0, 1, 2
  ASSERT_EQ(ta.audioReferences.size(), 4u);
  for (const auto& [layer, state] : ta.videoReferences) {
    EXPECT_EQ(state.sizes(), (at::IntArrayRef{1, 8, c.video.dim}));
    EXPECT_TRUE(at::equal(state, tb.videoReferences.at(layer))) << "video layer " << layer;
  }
  for (const auto& [layer, state] : ta.audioReferences) {
    EXPECT_EQ(state.sizes(), (at::IntArrayRef{1, 12, c.audio.dim}));
    EXPECT_TRUE(at::equal(state, tb.audioReferences.at(layer))) << "audio layer " << layer;
  }
  // ...while the references do steer the noisy tokens.
  EXPECT_GT(maxAbsDiff(ta.video.at(2), tb.video.at(2)), 1e-3);
  DitInputs otherFace = a;
  otherFace.references.faces = randn(a.references.faces.sizes(), 77);
  EXPECT_GT(maxAbsDiff(model.forward(otherFace).video, outA.video), 1e-4);
  DitInputs otherVoice = a;
  otherVoice.references.voices[1] = randn(a.references.voices[1].sizes(), 78);
  EXPECT_GT(maxAbsDiff(model.forward(otherVoice).audio, outA.audio), 1e-4);
  // Without references the output differs too.
  DitInputs none = a;
  none.references = {};
  EXPECT_GT(maxAbsDiff(model.forward(none).video, outA.video), 1e-4);
}

TEST(DualTowerDit, ReferenceCacheMatchesRecomputationForEveryPass) {
  const DitConfig c = test::tinyConfig(3);
  const DualTowerDit model(test::testWeights(c, 7, true));
  DitInputs cond = smallInputs(c);
  cond.references = twoSubjects(c);
  // The negative pass: negative prompts, faces kept, voices dropped, block 1 skipped.
  DitInputs uncond = cond;
  uncond.videoText = randn(cond.videoText.sizes(), 301);
  uncond.audioText = randn(cond.audioText.sizes(), 302);
  uncond.references.voices.clear();
  DitForwardOptions slg;
  slg.skipLayers = {1};

  ReferenceCache cache;
  for (double t : {900.0, 400.0}) {
    cond.t = uncond.t = at::full({1}, t);
    cond.video = randn(cond.video.sizes(), static_cast<uint64_t>(t));  // the latent moves between steps
    uncond.video = cond.video;
    const DitOutputs fresh = model.infer(cond);
    const DitOutputs cached = model.infer(cond, {}, &cache);
    EXPECT_LT(maxAbsDiff(fresh.video, cached.video), 1e-5) << t;
    EXPECT_LT(maxAbsDiff(fresh.audio, cached.audio), 1e-5) << t;
    const DitOutputs freshNeg = model.infer(uncond, slg);
    const DitOutputs cachedNeg = model.infer(uncond, slg, &cache);
    EXPECT_LT(maxAbsDiff(freshNeg.video, cachedNeg.video), 1e-5) << t;
    EXPECT_LT(maxAbsDiff(freshNeg.audio, cachedNeg.audio), 1e-5) << t;
    // The skip-layer pass needs its own entry: the references' later layers differ.
    EXPECT_GT(maxAbsDiff(fresh.video, freshNeg.video), 1e-4);
  }
  EXPECT_EQ(cache.size(), 3u);  // video, audio, video with block 1 skipped
  EXPECT_EQ(cache.misses(), 3);
  EXPECT_EQ(cache.hits(), 3);
  EXPECT_GT(cache.bytes(), 0);

  // New references invalidate an entry instead of reading stale keys.
  DitInputs other = cond;
  other.references.faces = randn(cond.references.faces.sizes(), 404);
  EXPECT_LT(maxAbsDiff(model.infer(other).video, model.infer(other, {}, &cache).video), 1e-5);

  // With grad-requiring weights a cache is refused.
  auto w = test::testWeights(c);
  w->setRequiresGrad(true);
  const DualTowerDit trainable(w);
  EXPECT_THROW(trainable.forward(cond, {}, &cache), core::Error);
}

TEST(DualTowerDit, ZeroIdentityEmbeddingsReproduceTheModelWithout) {
  const DitConfig c = test::tinyConfig();
  const DualTowerDit model(test::testWeights(c, 7, false));  // identity table all zero
  DitInputs in = smallInputs(c);
  in.references = twoSubjects(c);
  DitForwardOptions without;
  without.identityEmbeddings = false;
  const DitOutputs a = model.forward(in), b = model.forward(in, without);
  EXPECT_TRUE(at::equal(a.video, b.video));
  EXPECT_TRUE(at::equal(a.audio, b.audio));
}

TEST(DualTowerDit, EachIdentitySlotAddsItsOwnVectorToItsSubjectsFaceAndVoice) {
  const DitConfig c = test::tinyConfig();
  auto w = test::testWeights(c, 7, true);  // four distinct rows
  const DualTowerDit model(w);
  DitInputs in = smallInputs(c);
  in.references = twoSubjects(c);
  in.references.faceSubjects = {2, 0};   // face 0 is subject 2, face 1 subject 0
  in.references.voiceSubjects = {0, 2};  // voice 0 is subject 0, voice 1 subject 2
  DitTrace with, without;
  DitForwardOptions o;
  o.trace = &with;
  model.forward(in, o);
  o.trace = &without;
  o.identityEmbeddings = false;
  model.forward(in, o);
  const at::Tensor table = w->get("identity_embeddings");
  const at::Tensor dv = with.videoReferences.at(-1) - without.videoReferences.at(-1);  // [1, 8, dim]
  const at::Tensor da = with.audioReferences.at(-1) - without.audioReferences.at(-1);  // [1, 12, dim]
  for (int64_t tok = 0; tok < 8; ++tok)
    EXPECT_LT(maxAbsDiff(dv[0][tok], table[tok < 4 ? 2 : 0]), 1e-6) << "face token " << tok;
  for (int64_t tok = 0; tok < 12; ++tok)
    EXPECT_LT(maxAbsDiff(da[0][tok], table[tok < 5 ? 0 : 2]), 1e-6) << "voice token " << tok;
  // Subject ids outside the table are refused.
  in.references.voiceSubjects = {0, 4};
  EXPECT_THROW(model.forward(in), core::InputError);
}

TEST(DualTowerDit, BatchOfTwoEqualsTwoBatchesOfOne) {
  const DitConfig c = test::tinyConfig();
  const DualTowerDit model(test::testWeights(c, 7, true));
  DitInputs batch = smallInputs(c, 2);
  batch.t = at::tensor({300.0f, 800.0f});
  batch.videoTextLengths = {4, 6};
  batch.audioTextLengths = {6, 3};
  // Item 0: two faces, voices of 4 and 7 latents. Item 1: one face, one voice of 5 latents.
  batch.references.faces = randn({2, c.video.inDim, 2, 4, 4}, 31);
  batch.references.faceMask = at::tensor({1, 1, 1, 0}).to(at::kBool).view({2, 2});
  batch.references.voices = {randn({2, 5, c.audio.inDim}, 32), randn({2, 7, c.audio.inDim}, 33)};
  batch.references.voiceLengths = {{4, 5}, {7, 0}};
  const DitOutputs both = model.forward(batch);

  auto item = [&](int64_t i) {
    DitInputs one;
    one.video = batch.video.narrow(0, i, 1);
    one.audio = batch.audio.narrow(0, i, 1);
    one.t = batch.t.narrow(0, i, 1);
    one.videoText = batch.videoText.narrow(0, i, 1).narrow(1, 0, batch.videoTextLengths[i]);
    one.audioText = batch.audioText.narrow(0, i, 1).narrow(1, 0, batch.audioTextLengths[i]);
    one.references.faces = batch.references.faces.narrow(0, i, 1).narrow(2, 0, i == 0 ? 2 : 1);
    one.references.voices = {batch.references.voices[0].narrow(0, i, 1).narrow(1, 0, i == 0 ? 4 : 5)};
    if (i == 0) one.references.voices.push_back(batch.references.voices[1].narrow(0, i, 1));
    return model.forward(one);
  };
  for (int64_t i = 0; i < 2; ++i) {
    const DitOutputs one = item(i);
    EXPECT_LT(maxAbsDiff(both.video.narrow(0, i, 1), one.video), 1e-5) << "item " << i;
    EXPECT_LT(maxAbsDiff(both.audio.narrow(0, i, 1), one.audio), 1e-5) << "item " << i;
  }
}

TEST(DualTowerDit, TextPaddingIsMaskedUnlessTheReleasedBehaviourIsAsked) {
  const DitConfig c = test::tinyConfig();
  const DualTowerDit model(test::testWeights(c));
  DitInputs in = smallInputs(c);
  in.videoTextLengths = in.audioTextLengths = {4};
  DitInputs garbage = in;  // different values past the length
  garbage.videoText = at::cat({in.videoText.narrow(1, 0, 4), randn({1, 2, c.video.textDim}, 5)}, 1);
  garbage.audioText = at::cat({in.audioText.narrow(1, 0, 4), randn({1, 2, c.audio.textDim}, 6)}, 1);
  const DitOutputs masked = model.forward(in);
  EXPECT_LT(maxAbsDiff(masked.video, model.forward(garbage).video), 1e-6);
  EXPECT_LT(maxAbsDiff(masked.audio, model.forward(garbage).audio), 1e-6);

  DitForwardOptions released;
  released.maskTextPadding = false;  // zero-padded to text_len, unmasked
  const DitOutputs unmasked = model.forward(in, released);
  EXPECT_GT(maxAbsDiff(masked.video, unmasked.video), 1e-4);
  EXPECT_LT(maxAbsDiff(unmasked.video, model.forward(garbage, released).video), 1e-6);
  // A context already text_len long and unpadded is the same either way.
  DitInputs full = smallInputs(c);
  full.videoText = randn({1, c.video.textLen, c.video.textDim}, 8);
  full.audioText = randn({1, c.audio.textLen, c.audio.textDim}, 9);
  EXPECT_LT(maxAbsDiff(model.forward(full).video, model.forward(full, released).video), 1e-6);
}

TEST(DualTowerDit, SkipLayersSkipWholeBlocks) {
  const DualTowerDit two(test::testWeights(test::tinyConfig(2)));
  const DualTowerDit one(test::testWeights(test::tinyConfig(1)));  // the same block 0
  DitInputs in = smallInputs(two.config());
  in.references = twoSubjects(two.config());
  DitForwardOptions skipLast;
  skipLast.skipLayers = {1};
  const DitOutputs a = two.forward(in, skipLast), b = one.forward(in);
  EXPECT_TRUE(at::equal(a.video, b.video));
  EXPECT_TRUE(at::equal(a.audio, b.audio));
  DitForwardOptions skipFirst;
  skipFirst.skipLayers = {0};
  EXPECT_GT(maxAbsDiff(two.forward(in, skipFirst).video, two.forward(in).video), 1e-4);
  DitForwardOptions bad;
  bad.skipLayers = {2};
  EXPECT_THROW(two.forward(in, bad), core::InputError);
}

TEST(DualTowerDit, PerTokenTimestepsAndInputChecks) {
  const DitConfig c = test::tinyConfig(1);
  const DualTowerDit model(test::testWeights(c));
  DitInputs in = smallInputs(c);
  DitInputs perToken = in;
  perToken.videoTimesteps = at::full({1, 8}, 700.0);
  perToken.audioTimesteps = at::full({1, 10}, 700.0);
  EXPECT_LT(maxAbsDiff(model.forward(in).video, model.forward(perToken).video), 1e-6);
  perToken.videoTimesteps[0][3] = 0.0;
  EXPECT_GT(maxAbsDiff(model.forward(in).video, model.forward(perToken).video), 1e-5);

  DitInputs bad = in;
  bad.video = randn({1, c.video.inDim, 2, 5, 4}, 1);
  try {
    model.forward(bad);
    FAIL() << "no throw";
  } catch (const core::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("video latent"), std::string::npos) << e.what();
  }
  bad = in;
  bad.audioText = at::Tensor();
  EXPECT_THROW(model.forward(bad), core::InputError);
  bad = in;
  bad.videoText = randn({1, c.video.textLen + 1, c.video.textDim}, 1);
  EXPECT_THROW(model.forward(bad), core::InputError);
  EXPECT_THROW(model.forward(DitInputs{}), core::InputError);
}

TEST(DualTowerDit, Bf16ComputeStaysCloseToFloat32) {
  const DitConfig c = test::tinyConfig();
  auto w = test::testWeights(c, 7, true);
  DitInputs in = smallInputs(c);
  in.references = twoSubjects(c);
  const DitOutputs f32 = DualTowerDit(w, at::kFloat).forward(in);
  const DitOutputs bf16 = DualTowerDit(w, at::kBFloat16).forward(in);
  EXPECT_EQ(bf16.video.scalar_type(), at::kFloat);  // back in the latent's dtype
  const double scale = f32.video.abs().max().item<double>();
  EXPECT_LT(maxAbsDiff(f32.video, bf16.video), 0.05 * scale + 0.02);
  EXPECT_LT(maxAbsDiff(f32.audio, bf16.audio), 0.05 * f32.audio.abs().max().item<double>() + 0.02);
}

// The same weights on a GPU: float32 there gives the CPU's outputs up to rounding (LibTorch runs
// cuDNN convolutions, here the audio patch embedding, in TF32 by default: relative errors of a few
// 1e-4 measured on an H200), the default bf16 compute stays as close as on the CPU, and the
// reference cache changes nothing.
TEST(DualTowerDit, CudaMatchesTheCpu) {
  if (!at::hasCUDA()) GTEST_SKIP() << "no CUDA device";
  const DitConfig c = test::tinyConfig();
  auto w = test::testWeights(c, 7, true);
  DitInputs in = smallInputs(c);
  in.references = twoSubjects(c);
  const DitOutputs cpu = DualTowerDit(w, at::kFloat).forward(in);
  auto onGpu = std::make_shared<DitWeights>(*w);
  onGpu->to(at::Device(at::kCUDA, 0), at::kFloat);
  const DitOutputs f32 = DualTowerDit(onGpu, at::kFloat).forward(in);  // inputs stay on the CPU
  ASSERT_TRUE(f32.video.is_cuda());
  const double vScale = cpu.video.abs().max().item<double>(), aScale = cpu.audio.abs().max().item<double>();
  EXPECT_LT(maxAbsDiff(f32.video.cpu(), cpu.video), 2e-3 * vScale);
  EXPECT_LT(maxAbsDiff(f32.audio.cpu(), cpu.audio), 2e-3 * aScale);

  const DualTowerDit bf16Model(onGpu);
  EXPECT_EQ(bf16Model.computeDtype(), at::kBFloat16);  // CUDA's default
  const DitOutputs bf16 = bf16Model.infer(in);
  EXPECT_LT(maxAbsDiff(bf16.video.cpu(), cpu.video), 0.05 * vScale + 0.02);
  EXPECT_LT(maxAbsDiff(bf16.audio.cpu(), cpu.audio), 0.05 * aScale + 0.02);
  ReferenceCache cache;
  (void)bf16Model.infer(in, {}, &cache);  // fills
  const DitOutputs cached = bf16Model.infer(in, {}, &cache);
  EXPECT_GT(cache.hits(), 0);
  EXPECT_LT(maxAbsDiff(cached.video, bf16.video), 1e-2 * vScale);
  EXPECT_LT(maxAbsDiff(cached.audio, bf16.audio), 1e-2 * aScale);
}

TEST(DualTowerDit, GradientsReachBlockWeightsAndTheIdentityTable) {
  const DitConfig c = test::tinyConfig();
  auto w = test::testWeights(c, 7, false);  // the identity table starts at zero, as released
  w->setRequiresGrad(true);
  const DualTowerDit model(w);
  DitInputs in = smallInputs(c);
  in.references = twoSubjects(c);
  const DitOutputs out = model.forward(in);
  (out.video.pow(2).mean() + out.audio.pow(2).mean()).backward();
  for (const char* name :
       {"video_model.blocks.0.self_attn.q.weight", "video_model.blocks.1.self_attn.k_prime.weight",
        "video_model.blocks.0.ffn_prime.0.weight", "audio_model.blocks.1.cross_attn.k_fusion.weight",
        "audio_model.patch_embedding.2.w2.weight", "video_model.head.modulation", "identity_embeddings"}) {
    const at::Tensor g = w->get(name).grad();
    ASSERT_TRUE(g.defined()) << name;
    EXPECT_TRUE(at::isfinite(g).all().item<bool>()) << name;
    EXPECT_GT(g.abs().max().item<double>(), 0.0) << name;
  }
  // Only the subjects present get a gradient in the identity table.
  const at::Tensor g = w->get("identity_embeddings").grad();
  EXPECT_EQ(g.narrow(0, 2, 2).abs().max().item<double>(), 0.0);
}

}  // namespace
}  // namespace presence::models::dit
