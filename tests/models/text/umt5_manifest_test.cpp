#include "presence/models/text/umt5_manifest.hpp"

#include <gtest/gtest.h>

#include <set>

#include "presence/core/error.hpp"
#include "presence/models/text/umt5_presets.hpp"

namespace presence::models::text {
namespace {

TEST(Umt5Manifest, PublicXxlCounts) {
  const auto config = umt5Preset("umt5-xxl");
  EXPECT_EQ(config.vocabSize, 256384);
  EXPECT_EQ(config.dim, 4096);
  EXPECT_EQ(config.ffnDim, 10240);
  EXPECT_EQ(config.numHeads, 64);
  EXPECT_EQ(config.numLayers, 24);
  EXPECT_EQ(config.textLen, 512);
  const auto m = buildUmt5Manifest(config);
  EXPECT_EQ(m.tensorCount(), 242);
  EXPECT_EQ(m.parameterCount(), 5'680'910'336LL);
}

TEST(Umt5Manifest, PublicNamesAndShapes) {
  const auto m = buildUmt5Manifest(umt5Preset("umt5-xxl"));
  auto shapeOf = [&m](const std::string& name) {
    const auto i = m.find(name);
    EXPECT_GE(i, 0) << name;
    return i < 0 ? std::vector<int64_t>{} : m.parameters[static_cast<std::size_t>(i)].shape;
  };
  using S = std::vector<int64_t>;
  EXPECT_EQ(shapeOf("token_embedding.weight"), (S{256384, 4096}));
  EXPECT_EQ(shapeOf("norm.weight"), (S{4096}));
  for (const char* block : {"blocks.0.", "blocks.23."}) {
    const std::string b = block;
    EXPECT_EQ(shapeOf(b + "norm1.weight"), (S{4096}));
    EXPECT_EQ(shapeOf(b + "norm2.weight"), (S{4096}));
    EXPECT_EQ(shapeOf(b + "attn.q.weight"), (S{4096, 4096}));
    EXPECT_EQ(shapeOf(b + "attn.k.weight"), (S{4096, 4096}));
    EXPECT_EQ(shapeOf(b + "attn.v.weight"), (S{4096, 4096}));
    EXPECT_EQ(shapeOf(b + "attn.o.weight"), (S{4096, 4096}));
    EXPECT_EQ(shapeOf(b + "ffn.gate.0.weight"), (S{10240, 4096}));
    EXPECT_EQ(shapeOf(b + "ffn.fc1.weight"), (S{10240, 4096}));
    EXPECT_EQ(shapeOf(b + "ffn.fc2.weight"), (S{4096, 10240}));
    EXPECT_EQ(shapeOf(b + "pos_embedding.embedding.weight"), (S{32, 64}));
  }
  EXPECT_EQ(m.find("blocks.24.norm1.weight"), -1);
  EXPECT_EQ(m.find("pos_embedding.embedding.weight"), -1);  // per block in UMT5
  std::set<std::string> names;
  for (const auto& p : m.parameters) {
    EXPECT_TRUE(names.insert(p.name).second) << "duplicate " << p.name;
    EXPECT_EQ(p.name.find("bias"), std::string::npos) << p.name;
  }
  EXPECT_EQ(m.parameters.front().name, "token_embedding.weight");
  EXPECT_EQ(m.parameters.back().name, "norm.weight");
}

TEST(Umt5Manifest, SharedPositionTable) {
  auto config = umt5Preset("tiny");
  config.sharedPos = true;
  const auto m = buildUmt5Manifest(config);
  EXPECT_GE(m.find("pos_embedding.embedding.weight"), 0);
  EXPECT_EQ(m.find("blocks.0.pos_embedding.embedding.weight"), -1);
  EXPECT_EQ(m.tensorCount(), 1 + 1 + 9 * config.numLayers + 1);
}

TEST(Umt5Presets, AllBuildAndUnknownIsNamed) {
  for (const auto& name : umt5PresetNames()) {
    EXPECT_NO_THROW(buildUmt5Manifest(umt5Preset(name))) << name;
    EXPECT_FALSE(umt5PresetSummary(name).empty());
  }
  const auto tiny = umt5Preset("tiny");
  EXPECT_GE(tiny.vocabSize, 200);  // covers the test tokenizer
  try {
    umt5Preset("umt5-huge");
    FAIL();
  } catch (const core::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("umt5-huge"), std::string::npos);
  }
}

TEST(Umt5Config, ValidationNamesTheField) {
  auto config = umt5Preset("tiny");
  config.dimAttn = 30;  // not a multiple of 4 heads
  try {
    config.validate();
    FAIL();
  } catch (const core::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("dimAttn"), std::string::npos);
  }
  config = umt5Preset("tiny");
  config.numBuckets = 7;
  EXPECT_THROW(config.validate(), core::InputError);
  EXPECT_NE(formatUmt5Manifest(buildUmt5Manifest(umt5Preset("tiny"))).find("norm.weight\t[32]"),
            std::string::npos);
}

}  // namespace
}  // namespace presence::models::text
