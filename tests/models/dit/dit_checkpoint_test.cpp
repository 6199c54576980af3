// DiT checkpoints through real safetensors files: an Ovi-spelled file loads into the IaP layout
// with every `_prime` weight filled from its twin; our saves round-trip bit-exactly and keep the
// full official layout; files that do not fit are refused with a report naming each problem.
#include <gtest/gtest.h>

#include <filesystem>

#include "presence/core/error.hpp"
#include "presence/models/dit/dit_checkpoint.hpp"
#include "presence/models/dit/dit_presets.hpp"
#include "presence/runtime/checkpoint_reader.hpp"
#include "presence/runtime/safetensors_writer.hpp"

namespace presence::models::dit {
namespace {

namespace fs = std::filesystem;

class DitCheckpoint : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("presence-dit-ckpt-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // A tiny model written the way Ovi's files spell it: no `_prime` tensors, no identity table,
  // block modulation as `blocks.N.modulation.modulation`, stored as bf16.
  fs::path writeOviStyle(const DitConfig& iapLike, std::map<std::string, at::Tensor>* written = nullptr) {
    DitConfig ovi = iapLike;
    ovi.video.primeWeightsStored = ovi.video.primeWeightsUsed = false;
    ovi.audio.primeWeightsStored = ovi.audio.primeWeightsUsed = false;
    ovi.identity.maxSubjects = 0;
    const DitWeights w = DitWeights::allocate(ovi, at::kCPU, at::kFloat, 7);
    std::map<std::string, at::Tensor> tensors;
    for (const auto& name : w.names()) {
      std::string key = name;
      if (key.find(".blocks.") != std::string::npos && key.size() > 11 &&
          key.compare(key.size() - 11, 11, ".modulation") == 0)
        key += ".modulation";
      tensors.emplace(key, w.get(name).to(at::kBFloat16));
    }
    const fs::path file = dir_ / "ovi.safetensors";
    runtime::saveSafetensors(file, tensors);
    if (written) *written = tensors;
    return file;
  }

  fs::path dir_;
};

TEST_F(DitCheckpoint, OviFileLoadsWithEveryPrimeFromItsTwin) {
  const DitConfig config = preset("tiny");
  std::map<std::string, at::Tensor> written;
  const fs::path file = writeOviStyle(config, &written);
  const LoadedDit loaded = loadDitCheckpoint(config, file);
  EXPECT_TRUE(loaded.plan.ok()) << loaded.plan.report();
  EXPECT_TRUE(loaded.weights.missing().empty());
  EXPECT_FALSE(loaded.plan.copiedFromTwin.empty());
  for (const auto& [param, twin] : loaded.plan.copiedFromTwin) {
    const auto& p = loaded.weights.manifest().parameters[param];
    EXPECT_TRUE(at::equal(loaded.weights.get(p.name), loaded.weights.get(p.twin))) << p.name;
  }
  EXPECT_TRUE(at::equal(loaded.weights.get("video_model.blocks.1.modulation"),
                        written.at("video_model.blocks.1.modulation.modulation")));
  EXPECT_EQ(loaded.weights.get("identity_embeddings").abs().sum().item<float>(), 0.0f);
}

TEST_F(DitCheckpoint, SaveLoadRoundTripIsBitExactAndWritesTheFullLayout) {
  const DitConfig config = preset("tiny");
  DitWeights w = DitWeights::allocate(config, at::kCPU, at::kFloat, 3);
  const fs::path file = dir_ / "ours.safetensors";
  saveDitCheckpoint(w, file);
  const runtime::CheckpointReader reader(file);
  // Every manifest tensor, the stored-only primes included (copied from their twins).
  EXPECT_EQ(static_cast<int64_t>(reader.size()), w.manifest().tensorCount());
  const LoadedDit loaded = loadDitCheckpoint(config, file);
  EXPECT_TRUE(loaded.plan.copiedFromTwin.empty());
  for (const auto& name : w.names()) EXPECT_TRUE(at::equal(loaded.weights.get(name), w.get(name))) << name;
  EXPECT_EQ(loaded.plan.ignored.size(), loaded.weights.ignoredStoredOnly().size());

  // Saving the loaded weights again copies the ignored tensors from the source file.
  const fs::path again = dir_ / "again.safetensors";
  saveDitCheckpoint(loaded.weights, again, {}, loaded.source.get());
  const runtime::CheckpointReader second(again);
  for (const auto& name : reader.names())
    EXPECT_TRUE(at::equal(second.load(name), reader.load(name))) << name;

  // The public tensor set only: no identity table.
  DitSaveOptions publicOnly;
  publicOnly.includeExtensions = false;
  saveDitCheckpoint(w, dir_ / "public.safetensors", publicOnly);
  EXPECT_FALSE(runtime::CheckpointReader(dir_ / "public.safetensors").contains("identity_embeddings"));
}

TEST_F(DitCheckpoint, ShardedSaveLoads) {
  const DitConfig config = preset("tiny");
  const DitWeights w = DitWeights::allocate(config, at::kCPU, at::kFloat, 5);
  DitSaveOptions options;
  options.maxShardBytes = 512 * 1024;
  const fs::path index = saveDitCheckpoint(w, dir_ / "sharded", options);
  EXPECT_TRUE(runtime::CheckpointReader::isIndexPath(index)) << index;
  EXPECT_GT(runtime::CheckpointReader(index).shards().size(), 1u);
  const LoadedDit loaded = loadDitCheckpoint(config, index);
  for (const auto& name : w.names()) EXPECT_TRUE(at::equal(loaded.weights.get(name), w.get(name))) << name;
}

TEST_F(DitCheckpoint, FilesThatDoNotFitAreRefusedNamingTheFileAndEachProblem) {
  const DitConfig tiny = preset("tiny");
  const fs::path file = writeOviStyle(tiny);
  DitConfig wider = tiny;
  wider.video.dim = wider.audio.dim = 128;
  try {
    loadDitCheckpoint(wider, file);
    FAIL() << "a file of another width loaded";
  } catch (const core::InputError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find(file.string()), std::string::npos) << message;
    EXPECT_NE(message.find("mis-shaped"), std::string::npos) << message;
    EXPECT_NE(message.find("):\n  video_model.patch_embedding.weight: file [64, 4, 1, 2, 2] but the model expects "
                           "[128, 4, 1, 2, 2]\n"),
              std::string::npos)
        << message;
  }
  // An unexpected tensor is refused when strict and reported otherwise.
  std::map<std::string, at::Tensor> extra{{"video_model.blocks.0.lora.weight", at::zeros({2, 2})}};
  runtime::CheckpointReader reader(file);
  for (const auto& name : reader.names()) extra.emplace(name, reader.load(name));
  const fs::path withExtra = dir_ / "extra.safetensors";
  runtime::saveSafetensors(withExtra, extra);
  EXPECT_THROW(loadDitCheckpoint(tiny, withExtra), core::InputError);
  DitLoadOptions lenient;
  lenient.strict = false;
  const LoadedDit loaded = loadDitCheckpoint(tiny, withExtra, lenient);
  ASSERT_EQ(loaded.plan.unexpected.size(), 1u);
  EXPECT_EQ(loaded.plan.unexpected[0], "video_model.blocks.0.lora.weight");
}

}  // namespace
}  // namespace presence::models::dit
