// Checkpoints as one file or as shards with an index.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "presence/core/error.hpp"
#include "presence/runtime/checkpoint_reader.hpp"
#include "presence/runtime/safetensors_writer.hpp"
#include "presence/runtime/tensor_util.hpp"
#include "test_util.hpp"

using namespace presence::runtime;
using namespace presence::runtime::test;

namespace {

std::map<std::string, at::Tensor> stateDict() {
  std::map<std::string, at::Tensor> t;
  for (int i = 0; i < 7; ++i)
    t["blocks." + std::to_string(i) + ".weight"] = at::arange(25 * (i + 1), at::kFloat).reshape({i + 1, 25});
  t["head.bias"] = at::ones({3}, at::kBFloat16);
  return t;
}

std::string errorOf(const std::filesystem::path& path) {
  try {
    CheckpointReader reader(path);
  } catch (const FormatError& e) {
    return e.what();
  }
  return "(accepted)";
}

}  // namespace

TEST(CheckpointReader, SingleFileBehavesLikeTheFile) {
  TempDir dir;
  SafetensorsWriteOptions options;
  options.metadata = {{"format", "pt"}};
  saveSafetensors(dir / "m.safetensors", stateDict(), options);
  CheckpointReader reader(dir / "m.safetensors");
  EXPECT_FALSE(reader.sharded());
  EXPECT_EQ(reader.size(), 8u);
  EXPECT_EQ(reader.metadata().at("format"), "pt");
  EXPECT_EQ(reader.files(), std::vector<std::filesystem::path>{dir / "m.safetensors"});
  EXPECT_TRUE(sameBits(reader.view("head.bias"), at::ones({3}, at::kBFloat16)));
}

TEST(CheckpointReader, ShardedRoundTrip) {
  TempDir dir;
  const auto tensors = stateDict();
  SafetensorsWriteOptions options;
  options.metadata = {{"preset", "tiny"}};
  // Tensors of 100..700 bytes (and 6) in 1200-byte shards: [100..400], [500, 600], [700, 6].
  const auto index = saveShardedSafetensors(dir.path(), "model", tensors, 1200, options);
  EXPECT_EQ(index, dir / "model.safetensors.index.json");

  CheckpointReader reader(index);
  EXPECT_TRUE(reader.sharded());
  EXPECT_EQ(reader.shards().size(), 3u);
  EXPECT_EQ(reader.files().size(), reader.shards().size() + 1);
  EXPECT_EQ(reader.names().size(), tensors.size());
  for (const auto& [name, t] : tensors) {
    EXPECT_TRUE(sameBits(reader.view(name), t)) << name;
    EXPECT_TRUE(sameBits(reader.load(name), t)) << name;
  }
  for (const auto& shard : reader.shards()) {
    std::uint64_t bytes = 0;
    for (const auto& t : shard->header().tensors) bytes += t.byteSize();
    EXPECT_TRUE(bytes <= 1200 || shard->size() == 1) << shard->path();
    EXPECT_EQ(shard->metadata().at("preset"), "tiny");
  }
  EXPECT_EQ(reader.metadata().at("total_size"), std::to_string(tensorBytes(tensors)));
  EXPECT_EQ(reader.metadata().at("preset"), "tiny");
  const auto all = reader.loadAll(c10::Device(c10::DeviceType::CPU), at::kFloat);
  EXPECT_EQ(all.at("head.bias").scalar_type(), at::kFloat);

  // Shard names follow the Hugging Face pattern.
  const auto n = reader.shards().size();
  char expected[64];
  std::snprintf(expected, sizeof expected, "model-00001-of-%05zu.safetensors", n);
  EXPECT_EQ(reader.shards().front()->path().filename(), expected);
  std::set<std::string> expectedEntries{"model.safetensors.index.json"};
  for (const auto& s : reader.shards()) expectedEntries.insert(s->path().filename().string());
  EXPECT_EQ(dir.entries(), expectedEntries);  // nothing else, no temporaries
}

TEST(CheckpointReader, ShardedWriteFailureLeavesNoFileOfTheSet) {
  TempDir dir;
  SafetensorsWriteOptions options;
  std::size_t calls = 0;
  options.progress = [&](std::string_view, std::size_t done, std::size_t) {
    ++calls;
    if (done == 6) throw presence::core::Cancelled();  // in a later shard
  };
  EXPECT_THROW(saveShardedSafetensors(dir.path(), "model", stateDict(), 1200, options), presence::core::Cancelled);
  EXPECT_EQ(calls, 7u);
  EXPECT_TRUE(dir.entries().empty());
}

TEST(CheckpointReader, IndexProblemsAreNamed) {
  TempDir dir;
  const auto index = saveShardedSafetensors(dir.path(), "model", stateDict(), 1200);
  const auto original = nlohmann::json::parse(readBytes(index));
  const std::string firstShard = original["weight_map"]["head.bias"];
  const std::string otherShard = original["weight_map"]["blocks.0.weight"];
  ASSERT_NE(firstShard, otherShard);

  auto withIndex = [&](const nlohmann::json& j) {
    writeBytes(index, j.dump());
    return errorOf(index);
  };
  auto expectError = [&](const std::string& message, const std::string& words) {
    EXPECT_NE(message.find(index.string() + ": "), std::string::npos) << message;
    EXPECT_NE(message.find(words), std::string::npos) << message;
  };

  writeBytes(index, "{not json");
  expectError(errorOf(index), "index is not valid JSON");

  expectError(withIndex(nlohmann::json::array()), "not a JSON object");
  expectError(withIndex({{"metadata", {}}}), "no 'weight_map'");

  auto j = original;
  j["weight_map"]["ghost"] = firstShard;
  expectError(withIndex(j), "weight_map puts tensor 'ghost' in '" + firstShard + "', which does not have it");

  j = original;
  j["weight_map"].erase("head.bias");
  expectError(withIndex(j), "holds tensor 'head.bias' that the weight_map does not list");

  j = original;
  j["weight_map"]["head.bias"] = otherShard;
  expectError(withIndex(j), "weight_map puts tensor 'head.bias' in '" + otherShard + "', which does not have it");

  j = original;
  j["weight_map"]["head.bias"] = "missing-00009.safetensors";
  expectError(withIndex(j), "shard 'missing-00009.safetensors' (holding 'head.bias') is missing");

  j = original;
  j["weight_map"]["head.bias"] = "../escape.safetensors";
  expectError(withIndex(j), "shards must be files beside the index");

  j = original;
  j["weight_map"]["head.bias"] = 3;
  expectError(withIndex(j), "is not a file name");
}

TEST(CheckpointReader, ATensorInTwoShardsIsAnError) {
  TempDir dir;
  saveSafetensors(dir / "a.safetensors", {{"x", at::ones({2})}, {"y", at::ones({2})}});
  saveSafetensors(dir / "b.safetensors", {{"y", at::zeros({2})}});
  const auto index = dir / "m.safetensors.index.json";
  writeBytes(index, R"({"weight_map": {"x": "a.safetensors", "y": "b.safetensors"}})");
  const auto message = errorOf(index);
  // Shard a holds 'y' too, which the index maps to b.
  EXPECT_NE(message.find("tensor 'y' is in shard 'a.safetensors' but the weight_map says 'b.safetensors'"),
            std::string::npos)
      << message;
}

TEST(CheckpointReader, ACorruptShardNamesTheShard) {
  TempDir dir;
  writeBytes(dir / "a.safetensors", "garbage!garbage!");
  const auto index = dir / "m.safetensors.index.json";
  writeBytes(index, R"({"weight_map": {"x": "a.safetensors"}})");
  const auto message = errorOf(index);
  EXPECT_NE(message.find((dir / "a.safetensors").string() + ": header length"), std::string::npos) << message;
}

// Real checkpoints have headers of tens of kilobytes (the small DiT's shard headers are ~16 KB);
// the small state dicts above never reach a page. Shards with long headers must read back too.
TEST(CheckpointReader, ShardedRoundTripWithHeadersLargerThanAPage) {
  TempDir dir;
  std::map<std::string, at::Tensor> tensors;
  for (int i = 0; i < 600; ++i)
    tensors["video_model.blocks." + std::to_string(i) + ".self_attn.norm_q.weight_with_a_long_name"] =
        at::full({64}, static_cast<float>(i), at::kFloat);
  const auto index = saveShardedSafetensors(dir.path(), "model", tensors, 200 * 64 * 4);
  CheckpointReader reader(index);
  ASSERT_EQ(reader.shards().size(), 3u);
  for (const auto& shard : reader.shards()) EXPECT_GT(shard->header().headerBytes, 16'384u) << shard->path();
  for (const auto& [name, t] : tensors) EXPECT_TRUE(sameBits(reader.load(name), t)) << name;
}
