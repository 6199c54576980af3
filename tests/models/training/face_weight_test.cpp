// The face loss weight: the video term becomes a weighted mean over the latent positions, with
// face-box positions weighted more; validation stays unweighted.
#include <gtest/gtest.h>

#include <cmath>

#include "training_test_util.hpp"

namespace presence::models::training {
namespace {

using test::tinyBatch;
using test::tinyWeights;

// [B, 1, 1, H, W]: 1 on the left half of each frame, 0 on the right (or its complement).
at::Tensor halfCover(const TrainingBatch& b, bool left) {
  at::Tensor c = at::zeros({b.video.size(0), 1, 1, b.video.size(3), b.video.size(4)});
  const int64_t half = b.video.size(4) / 2;
  if (left)
    c.narrow(4, 0, half).fill_(1.0);
  else
    c.narrow(4, half, b.video.size(4) - half).fill_(1.0);
  return c;
}

double videoLoss(const dit::DualTowerDit& model, const TrainingBatch& b, double faceWeight) {
  LossOptions o;
  o.faceWeight = faceWeight;
  return flowMatchingLoss(model, b, o, 11).video.item<double>();
}

// With the noise fixed, the left half's mean error mL and the right half's mR (equal counts) give
// every weighting: w on the left is (w mL + mR) / (w + 1). Two losses fix mL and mR; the rest
// must follow from them.
TEST(FaceWeight, TheVideoTermIsAWeightedMeanOverPositions) {
  auto w = tinyWeights();
  const dit::DualTowerDit model(w, at::kFloat);
  at::NoGradGuard noGrad;
  TrainingBatch b = tinyBatch(w->config(), 2, 5);
  ASSERT_EQ(b.video.size(4) % 2, 0);
  const double plain = videoLoss(model, b, 1.0);
  b.faceCover = halfCover(b, true);
  EXPECT_DOUBLE_EQ(videoLoss(model, b, 1.0), plain) << "weight 1 is the plain mean";
  const double left3 = videoLoss(model, b, 3.0);
  EXPECT_NE(left3, plain);
  // plain = (mL + mR) / 2, left3 = (3 mL + mR) / 4.
  const double mL = 2.0 * left3 - plain, mR = 2.0 * plain - mL;
  EXPECT_NEAR(videoLoss(model, b, 7.0), (7 * mL + mR) / 8, 1e-5 * plain);
  EXPECT_NEAR(videoLoss(model, b, 0.5), (0.5 * mL + mR) / 1.5, 1e-5 * plain);
  b.faceCover = halfCover(b, false);
  EXPECT_NEAR(videoLoss(model, b, 3.0), (mL + 3 * mR) / 4, 1e-5 * plain);
  // A cover of zeros (no faces located) or of ones (all face) leaves the plain mean.
  b.faceCover = at::zeros_like(b.faceCover);
  EXPECT_NEAR(videoLoss(model, b, 5.0), plain, 1e-6 * plain);
  b.faceCover = at::ones_like(b.faceCover);
  EXPECT_NEAR(videoLoss(model, b, 5.0), plain, 1e-6 * plain);
  EXPECT_THROW(videoLoss(model, b, 0.0), core::InputError);
}

// Training steps use the weight, validation does not; a cover of the wrong shape is refused.
TEST(FaceWeight, TrainsWeightedValidatesPlainAndChecksTheCover) {
  auto w = tinyWeights();
  TrainingBatch b = tinyBatch(w->config(), 2, 5);
  b.faceCover = halfCover(b, true);
  TrainerOptions o;
  o.stage = Stage::Stage2Joint;
  o.steps = 1;
  o.seed = 3;
  TrainerOptions weighted = o;
  weighted.faceLossWeight = 6.0;
  Trainer plain(tinyWeights(), o), face(tinyWeights(), weighted);
  EXPECT_DOUBLE_EQ(plain.validationLoss({b}), face.validationLoss({b}));
  EXPECT_NE(plain.trainStep(cyclingBatchSource({b})), face.trainStep(cyclingBatchSource({b})));
  TrainingBatch wrong = b;
  wrong.faceCover = at::zeros({2, 1, 1, b.video.size(3), b.video.size(4) + 1});
  try {
    validateBatch(w->config(), wrong, Stage::Stage2Joint, "batch 0");
    FAIL() << "accepted a cover of another size";
  } catch (const core::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("batch 0: face cover is [2, 1, 1, "), std::string::npos) << e.what();
  }
  weighted.faceLossWeight = 0.0;
  EXPECT_THROW(Trainer(tinyWeights(), weighted), core::InputError);
}

}  // namespace
}  // namespace presence::models::training
