// Configs, presets and manifests: the full-size manifest must match the public checkpoints
// (MODEL.md) without allocating anything.
#include <gtest/gtest.h>

#include <set>

#include "presence/core/error.hpp"
#include "presence/models/dit/dit_manifest.hpp"
#include "presence/models/dit/dit_presets.hpp"

namespace presence::models::dit {
namespace {

TEST(DitManifest, IapMatchesThePublicCheckpoint) {
  const Manifest m = buildManifest(preset("iap"));
  EXPECT_EQ(m.tensorCount(false), 3693);
  EXPECT_EQ(m.parameterCount(false), 21480155348LL);
  // Plus the zero-initialised identity table, ours.
  EXPECT_EQ(m.tensorCount(true), 3694);
  EXPECT_EQ(m.parameterCount(true) - m.parameterCount(false), 4 * 3072);
}

TEST(DitManifest, OviMatchesThePublicCheckpoint) {
  const Manifest m = buildManifest(preset("ovi"));
  EXPECT_EQ(m.tensorCount(), 2073);
  EXPECT_EQ(m.parameterCount(), 11660753108LL);
  EXPECT_EQ(m.forwardTensorCount(), 2073);
}

TEST(DitManifest, NamesAndShapesFollowTheOfficialLayout) {
  const Manifest m = buildManifest(preset("iap"));
  auto shapeOf = [&](const std::string& name) {
    const int64_t i = m.find(name);
    EXPECT_GE(i, 0) << name;
    return i >= 0 ? m.parameters[i].shape : std::vector<int64_t>{};
  };
  using S = std::vector<int64_t>;
  EXPECT_EQ(shapeOf("video_model.patch_embedding.weight"), (S{3072, 48, 1, 2, 2}));
  EXPECT_EQ(shapeOf("video_model.head.head.weight"), (S{192, 3072}));
  EXPECT_EQ(shapeOf("audio_model.head.head.weight"), (S{20, 3072}));
  EXPECT_EQ(shapeOf("audio_model.patch_embedding.0.weight"), (S{3072, 20, 7}));
  EXPECT_EQ(shapeOf("audio_model.patch_embedding.2.w1.weight"), (S{8192, 3072, 7}));
  EXPECT_EQ(shapeOf("audio_model.patch_embedding.2.w2.weight"), (S{3072, 8192, 7}));
  EXPECT_EQ(shapeOf("video_model.text_embedding.0.weight"), (S{3072, 4096}));
  EXPECT_EQ(shapeOf("video_model.time_projection.1.weight"), (S{18432, 3072}));
  EXPECT_EQ(shapeOf("video_model.blocks.29.modulation"), (S{1, 6, 3072}));
  EXPECT_EQ(shapeOf("video_model.blocks.0.ffn.0.weight"), (S{14336, 3072}));
  EXPECT_EQ(shapeOf("audio_model.blocks.7.cross_attn.k_fusion.weight"), (S{3072, 3072}));
  EXPECT_EQ(shapeOf("audio_model.blocks.7.cross_attn.norm_k_fusion.weight"), (S{3072}));
  EXPECT_EQ(shapeOf("video_model.blocks.3.self_attn.q_prime.weight"), (S{3072, 3072}));
  EXPECT_EQ(shapeOf("video_model.blocks.3.self_attn.norm_k_prime.weight"), (S{3072}));
  EXPECT_EQ(shapeOf("video_model.blocks.3.cross_attn_prime.o.bias"), (S{3072}));
  EXPECT_EQ(shapeOf("video_model.blocks.3.norm3_prime.weight"), (S{3072}));
  EXPECT_EQ(shapeOf("video_model.blocks.3.ffn_prime.2.weight"), (S{3072, 14336}));
  EXPECT_EQ(shapeOf("video_model.head.modulation"), (S{1, 2, 3072}));
  EXPECT_EQ(shapeOf("identity_embeddings"), (S{4, 3072}));

  std::set<std::string> names;
  for (const auto& p : m.parameters) {
    EXPECT_TRUE(names.insert(p.name).second) << "duplicate " << p.name;
    EXPECT_EQ(p.dtype, "bf16");
    if (p.name.find("_prime") != std::string::npos) {
      EXPECT_GE(m.find(p.twin), 0) << p.name << " has no twin " << p.twin;
      EXPECT_EQ(m.parameters[m.find(p.twin)].shape, p.shape) << p.name;
    } else {
      EXPECT_TRUE(p.twin.empty()) << p.name;
    }
  }
}

TEST(DitManifest, OnlyTheVideoTowersSelfAttentionModulationAndFfnPrimesAreRead) {
  const Manifest m = buildManifest(preset("iap"));
  int64_t forwardPrimes = 0;
  for (const auto& p : m.parameters) {
    if (p.name.find("_prime") == std::string::npos) {
      EXPECT_NE(p.role, ParameterRole::StoredOnly) << p.name;
      continue;
    }
    const bool read = p.name.rfind("video_model.", 0) == 0 && p.name.find("cross_attn_prime") == std::string::npos &&
                      p.name.find("norm3_prime") == std::string::npos;
    EXPECT_EQ(p.role == ParameterRole::Forward, read) << p.name;
    forwardPrimes += p.role == ParameterRole::Forward;
  }
  // modulation 1 + self-attention 10 + ffn 4 per block, 30 blocks.
  EXPECT_EQ(forwardPrimes, 15 * 30);
  EXPECT_EQ(m.forwardTensorCount(), 2073 + 450 + 1);
}

TEST(DitManifest, SmallPresetsUseTheSameLayout) {
  for (const std::string name : {"small", "tiny"}) {
    const DitConfig c = preset(name);
    const Manifest m = buildManifest(c);
    const Manifest full = buildManifest(preset("iap"));
    // Same names per block and outside the blocks, fewer blocks.
    // Video tower with its `_prime` copies, audio tower without (it reuses its own weights).
    EXPECT_EQ(m.tensorCount(false), 15 + (34 + 27) * c.video.numLayers + 18 + 34 * c.audio.numLayers) << name;
    EXPECT_GE(m.find("video_model.blocks.0.self_attn.q_prime.weight"), 0);
    EXPECT_EQ(m.find("audio_model.blocks.0.self_attn.q_prime.weight"), -1);
    EXPECT_LT(m.parameterCount(), full.parameterCount() / 500) << name;
    EXPECT_EQ(m.parameters.front().dtype, "f32");
  }
  const Manifest tiny = buildManifest(preset("tiny"));
  // tiny: dim 64, ConvMLP hidden int(2*256/3) = 170 rounded up to a multiple of 32 = 192.
  EXPECT_EQ(tiny.parameters[tiny.find("audio_model.patch_embedding.2.w1.weight")].shape,
            (std::vector<int64_t>{192, 64, 7}));
}

TEST(DitManifest, FormatsOneParameterALine) {
  const std::string text = formatManifest(buildManifest(preset("tiny")));
  EXPECT_NE(text.find("video_model.patch_embedding.weight\t[64, 4, 1, 2, 2]\tf32\tforward\n"), std::string::npos);
  EXPECT_NE(text.find("identity_embeddings\t[4, 64]\tf32\textension\n"), std::string::npos);
  EXPECT_NE(text.find("video_model.blocks.1.cross_attn_prime.q.weight\t[64, 64]\tf32\tstored-only\n"),
            std::string::npos);
}

TEST(DitConfig, RopeSplitsAndDerivedSizes) {
  const DitConfig c = preset("iap");
  EXPECT_EQ(c.video.headDim(), 128);
  EXPECT_EQ(c.video.ropeTimePairs(), 22);
  EXPECT_EQ(c.video.ropeSpacePairs(), 21);
  EXPECT_EQ(c.audio.convMlpHidden(), 8192);
  EXPECT_EQ(c.video.headOutFeatures(), 192);
  EXPECT_DOUBLE_EQ(c.audio.temporalRopeScale, 0.19676);
  EXPECT_TRUE(c.video.primeWeightsUsed);
  EXPECT_FALSE(c.audio.primeWeightsUsed);
}

TEST(DitConfig, InvalidConfigsNameTheField) {
  auto expectError = [](DitConfig c, const std::string& needle) {
    try {
      c.validate();
      ADD_FAILURE() << "no error for " << needle;
    } catch (const core::InputError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  DitConfig c = preset("tiny");
  c.video.numHeads = 3;
  expectError(c, "video.dim: 64 is not divisible by num_heads 3");
  c = preset("tiny");
  c.audio.numLayers = 3;
  expectError(c, "num_layers");
  c = preset("tiny");
  c.audio.dim = 128;
  c.audio.numHeads = 4;
  expectError(c, "equal tower widths");
  c = preset("tiny");
  c.weightDtype = "f64";
  expectError(c, "weight_dtype");
  c = preset("tiny");
  c.audio.primeWeightsStored = false;
  c.audio.primeWeightsUsed = true;
  expectError(c, "audio.prime_weights_used");
  c = preset("tiny");
  c.video.freqDim = 33;
  expectError(c, "video.freq_dim");
  EXPECT_THROW(preset("huge"), core::InputError);
  try {
    preset("huge");
  } catch (const core::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("known: iap, ovi, small, tiny"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace presence::models::dit
