// The three stages on the `tiny` preset: loss falls, the right weights train, accumulation,
// autocast, progress and cancellation, and clear errors for bad batches.
#include <gtest/gtest.h>

#include <cmath>

#include "presence/models/training/cpu_autocast.hpp"
#include "training_test_util.hpp"

namespace presence::models::training {
namespace {

using test::tinyBatch;
using test::tinyWeights;

TrainerOptions fastOptions(Stage stage, int64_t steps) {
  TrainerOptions o;
  o.stage = stage;
  o.steps = steps;
  o.adam.learningRate = 5e-3;
  o.seed = 3;
  return o;
}

void expectLossFalls(Stage stage) {
  auto w = tinyWeights();
  const auto cfg = w->config();
  const TrainingBatch batch = tinyBatch(cfg, 2, 100, stageUsesVideo(stage), stageUsesAudio(stage));
  Trainer trainer(w, fastOptions(stage, 30));
  const double before = trainer.validationLoss({batch});
  const auto result = trainer.run(cyclingBatchSource({batch}), {batch});
  EXPECT_EQ(result.step, 30);
  const double after = trainer.validationLoss({batch});
  // Random latents are hard to memorise in 30 steps; a 10 % fall on fixed seeds is well outside noise.
  EXPECT_LT(after, 0.9 * before) << stageName(stage) << ": " << before << " -> " << after;
  double first = 0, last = 0;
  for (int i = 0; i < 5; ++i) first += trainer.history()[i].trainLoss, last += trainer.history()[25 + i].trainLoss;
  EXPECT_LT(last, first) << stageName(stage);
  EXPECT_DOUBLE_EQ(trainer.history().back().valLoss, after);  // fixed validation seeds
  // Each tower's term is recorded beside the total; NaN for a tower the stage does not run.
  const ValidationLosses towers = trainer.validationLosses({batch});
  const LossRecord& rec = trainer.history().back();
  if (stageUsesVideo(stage)) {
    EXPECT_DOUBLE_EQ(rec.valVideoLoss, towers.video);
    EXPECT_GT(rec.valVideoLoss, 0.0);
  } else {
    EXPECT_TRUE(std::isnan(rec.valVideoLoss));
  }
  if (stageUsesAudio(stage)) {
    EXPECT_DOUBLE_EQ(rec.valAudioLoss, towers.audio);
    EXPECT_GT(rec.valAudioLoss, 0.0);
  } else {
    EXPECT_TRUE(std::isnan(rec.valAudioLoss));
  }
  EXPECT_TRUE(std::isnan(trainer.history().front().valVideoLoss)) << "not evaluated at step 1";
}

TEST(TrainerLoss, FallsStage1Audio) { expectLossFalls(Stage::Stage1Audio); }
TEST(TrainerLoss, FallsStage1Video) { expectLossFalls(Stage::Stage1Video); }
TEST(TrainerLoss, FallsStage2) { expectLossFalls(Stage::Stage2Joint); }
TEST(TrainerLoss, FallsStage3) { expectLossFalls(Stage::Stage3MultiView); }

// validationLosses: the total and each tower's term; with a fixed noise level every sample is
// evaluated there whatever the time sampling, with the noise of the drawn evaluation.
TEST(TrainerLoss, ValidationLossesPerTowerAndAtAFixedNoiseLevel) {
  auto w = tinyWeights();
  const auto cfg = w->config();
  const TrainingBatch batch = tinyBatch(cfg, 2, 100);
  TrainerOptions o = fastOptions(Stage::Stage2Joint, 1);
  o.audioWeight = 0.5;
  const Trainer trainer(w, o);
  const ValidationLosses drawn = trainer.validationLosses({batch});
  EXPECT_DOUBLE_EQ(drawn.total, trainer.validationLoss({batch}));
  EXPECT_NEAR(drawn.total, drawn.video + 0.5 * drawn.audio, 1e-6);
  const ValidationLosses low = trainer.validationLosses({batch}, 0.25), high = trainer.validationLosses({batch}, 1.0);
  EXPECT_NEAR(high.total, high.video + 0.5 * high.audio, 1e-6);
  EXPECT_NE(low.video, high.video);
  EXPECT_NE(low.audio, high.audio);
  // Another time sampling moves the drawn levels, not a fixed one.
  TrainerOptions shifted = o;
  shifted.time.shift = 5.0;
  const Trainer other(w, shifted);
  EXPECT_NE(other.validationLosses({batch}).total, drawn.total);
  EXPECT_DOUBLE_EQ(other.validationLosses({batch}, 0.25).total, low.total);
  // A one-tower stage has no term for the other tower.
  const Trainer audioOnly(w, fastOptions(Stage::Stage1Audio, 1));
  const ValidationLosses a = audioOnly.validationLosses({tinyBatch(cfg, 2, 100, false, true)}, 0.5);
  EXPECT_TRUE(std::isnan(a.video));
  EXPECT_DOUBLE_EQ(a.audio, a.total);
  EXPECT_THROW(trainer.validationLosses({batch}, 1.5), core::InputError);
}

TEST(TrainerStages, TrainableNamesPerStage) {
  auto w = tinyWeights();
  const auto all = w->names();
  EXPECT_EQ(trainableParameterNames(*w, Stage::Stage2Joint), all);
  EXPECT_EQ(trainableParameterNames(*w, Stage::Stage3MultiView), all);
  for (Stage s : {Stage::Stage1Video, Stage::Stage1Audio}) {
    const std::string tower = s == Stage::Stage1Video ? "video_model." : "audio_model.";
    const auto names = trainableParameterNames(*w, s);
    size_t towerCount = 0;
    for (const auto& n : all)
      if (n.rfind(tower, 0) == 0 && n.find("_fusion") == std::string::npos) ++towerCount;
    EXPECT_EQ(names.size(), towerCount + 1) << stageName(s);  // + the identity table
    for (const auto& n : names) {
      EXPECT_EQ(n.find("_fusion"), std::string::npos) << n;
      EXPECT_TRUE(n.rfind(tower, 0) == 0 || n == "identity_embeddings") << n;
    }
  }
  // The trainer marks exactly those as requiring grad.
  Trainer trainer(w, fastOptions(Stage::Stage1Audio, 1));
  for (const auto& n : all) {
    const bool expected = std::find(trainer.trainableNames().begin(), trainer.trainableNames().end(), n) !=
                          trainer.trainableNames().end();
    EXPECT_EQ(w->get(n).requires_grad(), expected) << n;
  }
}

// Which weights moved after 3 steps of `stage` (weight decay on, so frozen-but-listed would move).
std::map<std::string, bool> changedAfter(Stage stage) {
  auto w = tinyWeights();
  const auto before = test::snapshot(*w);
  auto o = fastOptions(stage, 3);
  o.adam.weightDecay = 0.1;
  Trainer trainer(w, o);
  trainer.run(cyclingBatchSource({tinyBatch(w->config(), 1, 5)}));
  std::map<std::string, bool> changed;
  for (const auto& [n, t] : before) changed[n] = !at::equal(t, w->get(n));
  return changed;
}

TEST(TrainerStages, Stage1FreezesFusionAndTheOtherTower) {
  for (Stage s : {Stage::Stage1Video, Stage::Stage1Audio}) {
    const std::string trained = s == Stage::Stage1Video ? "video_model." : "audio_model.";
    int64_t trainedChanged = 0, fusion = 0;
    for (const auto& [n, changed] : changedAfter(s)) {
      const bool isFusion = n.find("_fusion") != std::string::npos;
      fusion += isFusion;
      if (isFusion || (n.rfind(trained, 0) != 0 && n != "identity_embeddings")) {
        EXPECT_FALSE(changed) << stageName(s) << " changed frozen " << n;
      } else {
        trainedChanged += changed;
      }
    }
    EXPECT_GT(fusion, 0);
    EXPECT_GT(trainedChanged, 10) << stageName(s);
  }
}

TEST(TrainerStages, Stage2TrainsFusionAndBothTowers) {
  int64_t fusion = 0, fusionChanged = 0, video = 0, audio = 0;
  for (const auto& [n, changed] : changedAfter(Stage::Stage2Joint)) {
    if (n.find("_fusion") != std::string::npos) {
      ++fusion;
      fusionChanged += changed;
    }
    if (changed && n.rfind("video_model.", 0) == 0) ++video;
    if (changed && n.rfind("audio_model.", 0) == 0) ++audio;
  }
  EXPECT_GT(fusion, 0);
  EXPECT_EQ(fusionChanged, fusion);
  EXPECT_GT(video, 10);
  EXPECT_GT(audio, 10);
}

TEST(TrainerAccumulation, TwoMicroBatchesEqualOneBatchOfTwo) {
  const auto cfg = dit::test::tinyConfig(2);
  const TrainingBatch both = tinyBatch(cfg, 2, 40);
  // A large eps makes the AdamW update ~linear in the gradient, so gradient differences show.
  auto o = fastOptions(Stage::Stage2Joint, 1);
  o.adam.eps = 1.0;
  o.adam.learningRate = 1e-1;
  auto w1 = tinyWeights(), w2 = tinyWeights();
  const auto init = test::snapshot(*w1);
  Trainer one(w1, o), two(w2, o);
  const double l1 = one.trainStep(cyclingBatchSource({both}));
  const double l2 = two.trainStep(cyclingBatchSource({test::slice(both, 0, 1), test::slice(both, 1, 1)}, 2));
  EXPECT_NEAR(l1, l2, 1e-5 * std::abs(l1));
  double maxDiff = 0, maxMove = 0;
  for (const auto& n : w1->names()) {
    maxDiff = std::max(maxDiff, (w1->get(n) - w2->get(n)).abs().max().item<double>());
    maxMove = std::max(maxMove, (w1->get(n) - init.at(n)).abs().max().item<double>());
  }
  EXPECT_GT(maxMove, 1e-4);
  EXPECT_LT(maxDiff, 1e-4 * maxMove);
}

TEST(TrainerAccumulation, ClippingBoundsTheUpdate) {
  // With clipping to 1e-3 and a huge eps (update = lr·g), no weight moves more than lr·1e-3.
  auto w = tinyWeights();
  const auto init = test::snapshot(*w);
  auto o = fastOptions(Stage::Stage2Joint, 1);
  o.adam.eps = 1e3;
  o.adam.beta1 = 0.0;
  o.adam.learningRate = 1e3;
  o.maxGradNorm = 1e-3;
  double reported = 0;
  o.progress = [&](const TrainingProgress& p) {
    reported = p.gradNorm;
    return false;
  };
  Trainer trainer(w, o);
  trainer.run(cyclingBatchSource({tinyBatch(w->config(), 1, 9)}));
  EXPECT_GT(reported, 1e-2);  // the gradient was larger than the bound
  double sq = 0;
  for (const auto& n : w->names()) sq += (w->get(n) - init.at(n)).pow(2).sum().item<double>();
  // Update ≈ lr·g/(eps·sqrt(1−β2)) with |g| ≤ 1e-3: a global step of at most ~1e-3/sqrt(1e-3).
  EXPECT_LE(std::sqrt(sq), 1.0e-3 / std::sqrt(1e-3) * 1.01);
  EXPECT_GT(std::sqrt(sq), 0.0);
}

TEST(TrainerRun, DeterministicAndBf16AutocastDiffers) {
  auto step = [](bool bf16) {
    auto w = tinyWeights();
    auto o = fastOptions(Stage::Stage2Joint, 2);
    o.bf16Autocast = bf16;
    Trainer trainer(w, o);
    trainer.run(cyclingBatchSource({tinyBatch(w->config(), 1, 2)}));
    return std::pair{trainer.history().back().trainLoss, w->get("video_model.head.head.weight").clone()};
  };
  const auto a = step(false), b = step(false), c = step(true);
  EXPECT_EQ(a.first, b.first);
  EXPECT_TRUE(at::equal(a.second, b.second));
  EXPECT_NE(a.first, c.first);  // bf16 really ran
  EXPECT_NEAR(a.first, c.first, 0.05 * a.first);
  EXPECT_FALSE(CpuAutocast::enabled());  // restored after the step
}

TEST(TrainerRun, ProgressEtaAndCancellation) {
  auto w = tinyWeights();
  auto o = fastOptions(Stage::Stage1Video, 10);
  std::vector<TrainingProgress> seen;
  o.progress = [&](const TrainingProgress& p) {
    seen.push_back(p);
    return p.step == 3;
  };
  Trainer trainer(w, o);
  const auto batch = tinyBatch(w->config(), 1, 2, true, false);
  auto r = trainer.run(cyclingBatchSource({batch}));
  EXPECT_TRUE(r.cancelled);
  EXPECT_EQ(r.step, 3);
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[1].totalSteps, 10);
  EXPECT_GT(seen[1].loss, 0.0);
  EXPECT_GT(seen[1].etaSeconds, 0.0);
  core::CancelToken token;
  token.cancel();
  auto o2 = fastOptions(Stage::Stage1Video, 10);
  o2.cancel = &token;
  Trainer cancelled(tinyWeights(), o2);
  r = cancelled.run(cyclingBatchSource({batch}));
  EXPECT_TRUE(r.cancelled);
  EXPECT_EQ(r.step, 0);
}

void expectError(Stage stage, const TrainingBatch& batch, const std::string& needle) {
  Trainer trainer(tinyWeights(), fastOptions(stage, 1));
  try {
    trainer.trainStep(cyclingBatchSource({batch}));
    FAIL() << "no error for " << needle;
  } catch (const core::InputError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(TrainerErrors, BadBatchesAreClear) {
  const auto cfg = dit::test::tinyConfig(2);
  TrainingBatch wrong = tinyBatch(cfg, 1, 1);
  wrong.video = test::randn({1, cfg.video.inDim + 3, 2, 4, 4}, 1);
  expectError(Stage::Stage2Joint, wrong, "video latents are [1, 7, 2, 4, 4]; the model takes [B, 4, F, H, W]");
  wrong = tinyBatch(cfg, 1, 1);
  wrong.audio = test::randn({1, 8, 3}, 1);
  expectError(Stage::Stage1Audio, wrong, "audio latents are [1, 8, 3]");
  expectError(Stage::Stage1Audio, tinyBatch(cfg, 1, 1, true, false),
              "micro-batch 0 of step 0: stage1-audio trains the audio tower but the batch has no audio latents");
  expectError(Stage::Stage2Joint, tinyBatch(cfg, 1, 1, false, true), "has no video latents");
  TrainingBatch noFaces = tinyBatch(cfg, 1, 1);
  noFaces.references.faces = at::Tensor();
  expectError(Stage::Stage3MultiView, noFaces, "stage3 fine-tunes on multi-view face references");
  TrainingBatch text = tinyBatch(cfg, 1, 1);
  text.text = test::randn({1, 6, 5}, 1);
  expectError(Stage::Stage2Joint, text, "takes width 32");
}

TEST(TrainerErrors, NonFloatWeightsAndBadOptions) {
  auto w = tinyWeights();
  w->to(at::kCPU, at::kBFloat16);
  EXPECT_THROW(Trainer(w, fastOptions(Stage::Stage2Joint, 1)), core::InputError);
  auto o = fastOptions(Stage::Stage2Joint, 1);
  o.maxGradNorm = -1;
  EXPECT_THROW(Trainer(tinyWeights(), o), core::InputError);
  EXPECT_THROW(stageFromName("stage4"), core::InputError);
  EXPECT_EQ(stageFromName("stage1-audio"), Stage::Stage1Audio);
  EXPECT_LT(defaultLearningRate(Stage::Stage3MultiView), defaultLearningRate(Stage::Stage2Joint));
}

}  // namespace
}  // namespace presence::models::training
