// Checkpoint-name mapping: an Ovi checkpoint's names load into the `iap` model with every
// `_prime` weight filled from its twin, and every problem is reported by name.
#include <gtest/gtest.h>

#include <algorithm>

#include "presence/models/dit/checkpoint_names.hpp"
#include "presence/models/dit/dit_presets.hpp"

namespace presence::models::dit {
namespace {

// The tensor list of a file written in Ovi's own spelling: the `ovi` manifest with each block
// modulation stored as `blocks.N.modulation.modulation`.
std::vector<CheckpointTensorInfo> oviFile() {
  std::vector<CheckpointTensorInfo> tensors;
  for (const auto& p : buildManifest(preset("ovi")).parameters) {
    std::string name = p.name;
    if (name.size() > 11 && name.compare(name.size() - 11, 11, ".modulation") == 0 &&
        name.find(".blocks.") != std::string::npos)
      name += ".modulation";
    tensors.push_back({name, p.shape, "BF16"});
  }
  return tensors;
}

std::vector<CheckpointTensorInfo> fileOf(const Manifest& m) {
  std::vector<CheckpointTensorInfo> tensors;
  for (const auto& p : m.parameters)
    if (p.role != ParameterRole::Extension) tensors.push_back({p.name, p.shape, "BF16"});
  return tensors;
}

TEST(CheckpointNames, CanonicalSpelling) {
  EXPECT_EQ(canonicalCheckpointName("video_model.blocks.3.modulation.modulation"), "video_model.blocks.3.modulation");
  EXPECT_EQ(canonicalCheckpointName("module.audio_model.head.modulation"), "audio_model.head.modulation");
  EXPECT_EQ(canonicalCheckpointName("model.video_model.blocks.0.ffn.0.weight"), "video_model.blocks.0.ffn.0.weight");
  EXPECT_EQ(canonicalCheckpointName("video_model.blocks.0.modulation_prime"), "video_model.blocks.0.modulation_prime");
}

TEST(CheckpointNames, OviCheckpointLoadsIntoIapWithEveryPrimeFromItsTwin) {
  const Manifest iap = buildManifest(preset("iap"));
  const CheckpointPlan plan = planCheckpointLoad(iap, oviFile());
  EXPECT_TRUE(plan.ok()) << plan.report();
  EXPECT_EQ(plan.assignments.size(), 2073u);
  // Only the primes the forward pass reads are copied: modulation, self-attention and FFN of the
  // video tower (15 per block).
  EXPECT_EQ(plan.copiedFromTwin.size(), 15u * 30u);
  for (const auto& [param, twin] : plan.copiedFromTwin) {
    EXPECT_EQ(iap.parameters[param].twin, iap.parameters[twin].name);
    EXPECT_EQ(iap.parameters[param].shape, iap.parameters[twin].shape);
  }
  ASSERT_EQ(plan.initialised.size(), 1u);
  EXPECT_EQ(iap.parameters[plan.initialised[0]].name, "identity_embeddings");
  EXPECT_TRUE(plan.ignored.empty());

  // Asked for the full official layout (to save it again), every stored-only prime is copied too.
  const CheckpointPlan full = planCheckpointLoad(iap, oviFile(), true);
  EXPECT_TRUE(full.ok()) << full.report();
  EXPECT_EQ(full.copiedFromTwin.size(), 27u * 30u * 2u);
}

TEST(CheckpointNames, IapCheckpointLoadsAndReportsUnreadPrimesAsIgnored) {
  const Manifest iap = buildManifest(preset("iap"));
  const CheckpointPlan plan = planCheckpointLoad(iap, fileOf(iap));
  EXPECT_TRUE(plan.ok()) << plan.report();
  EXPECT_EQ(plan.assignments.size(), static_cast<size_t>(iap.forwardTensorCount() - 1));
  EXPECT_EQ(plan.ignored.size(), 3693u - plan.assignments.size());
  EXPECT_TRUE(plan.copiedFromTwin.empty());
  EXPECT_NE(plan.report().find("ignored (never read)"), std::string::npos);
}

TEST(CheckpointNames, MissingUnexpectedAndMisshapedAreEachNamed) {
  const Manifest tiny = buildManifest(preset("tiny"));
  auto file = fileOf(tiny);
  // Drop a weight with no twin, reshape another, add an unknown one, and spell one twice.
  file.erase(std::remove_if(file.begin(), file.end(),
                            [](const auto& t) { return t.name == "audio_model.blocks.1.ffn.2.bias"; }),
             file.end());
  for (auto& t : file)
    if (t.name == "video_model.head.head.weight") t.shape = {12, 64};
  file.push_back({"video_model.blocks.0.lora_A.weight", {4, 64}, "BF16"});
  file.push_back({"video_model.blocks.0.modulation.modulation", {1, 6, 64}, "BF16"});

  const CheckpointPlan plan = planCheckpointLoad(tiny, file);
  EXPECT_FALSE(plan.ok());
  EXPECT_FALSE(plan.ok(false));
  ASSERT_EQ(plan.missing, std::vector<std::string>{"audio_model.blocks.1.ffn.2.bias"});
  ASSERT_EQ(plan.misshaped.size(), 1u);
  EXPECT_EQ(plan.misshaped[0], "video_model.head.head.weight: file [12, 64] but the model expects [16, 64]");
  ASSERT_EQ(plan.unexpected.size(), 2u);
  EXPECT_EQ(plan.unexpected[0], "video_model.blocks.0.lora_A.weight");
  EXPECT_NE(plan.unexpected[1].find("a second spelling of video_model.blocks.0.modulation"), std::string::npos);
  const std::string report = plan.report();
  EXPECT_NE(report.find("missing (1):\n  audio_model.blocks.1.ffn.2.bias"), std::string::npos) << report;
  EXPECT_NE(report.find("mis-shaped (1)"), std::string::npos) << report;
  EXPECT_NE(report.find("unexpected (2)"), std::string::npos) << report;

  // A missing prime whose twin is also missing is missing, not copied.
  auto noTwin = fileOf(tiny);
  noTwin.erase(std::remove_if(noTwin.begin(), noTwin.end(),
                              [](const auto& t) {
                                return t.name == "video_model.blocks.0.ffn.0.weight" ||
                                       t.name == "video_model.blocks.0.ffn_prime.0.weight";
                              }),
               noTwin.end());
  const CheckpointPlan broken = planCheckpointLoad(tiny, noTwin);
  EXPECT_EQ(broken.missing.size(), 2u);
}

TEST(CheckpointNames, ReportListsAtMostTheLimit) {
  const Manifest tiny = buildManifest(preset("tiny"));
  const CheckpointPlan plan = planCheckpointLoad(tiny, {});
  EXPECT_FALSE(plan.ok());
  const std::string report = plan.report(3);
  EXPECT_NE(report.find("... and "), std::string::npos) << report;
}

}  // namespace
}  // namespace presence::models::dit
