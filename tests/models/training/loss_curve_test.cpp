// The loss-curve CSV and the rasterised plot.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "presence/models/training/loss_curve.hpp"

namespace presence::models::training {
namespace {

std::vector<LossRecord> history() {
  std::vector<LossRecord> h;
  for (int64_t s = 1; s <= 20; ++s) {
    LossRecord r;
    r.step = s;
    r.trainLoss = 2.0 / static_cast<double>(s);
    r.valLoss = s % 5 == 0 ? 2.2 / static_cast<double>(s) : std::numeric_limits<double>::quiet_NaN();
    r.learningRate = 1e-4;
    r.seconds = 0.5 * static_cast<double>(s);
    if (s % 5 == 0) r.valVideoLoss = 2.0 / static_cast<double>(s);  // a video stage: no audio term
    h.push_back(r);
  }
  return h;
}

int64_t countColour(const at::Tensor& img, const float* c) {
  const at::Tensor ref = at::tensor({c[0], c[1], c[2]});
  return ((img - ref).abs().amax(-1) < 1e-6).sum().item<int64_t>();
}

TEST(LossCurve, CsvHasHeaderAndEmptyValWhereNotEvaluated) {
  const std::string csv = lossCurveCsv(history());
  EXPECT_EQ(csv.rfind("step,train_loss,val_loss,learning_rate,seconds,val_video_loss,val_audio_loss\n"
                      "1,2,,0.0001,0.500,,\n",
                      0),
            0u)
      << csv;
  // Each tower's validation loss where evaluated; empty for the tower the stage does not run.
  EXPECT_NE(csv.find("\n5,0.4,0.44,0.0001,2.500,0.4,\n"), std::string::npos) << csv;
}

TEST(LossCurve, PlotHasAxesAndBothCurves) {
  const at::Tensor img = renderLossPlot(history(), 120, 200);
  ASSERT_EQ(img.sizes(), (at::IntArrayRef{120, 200, 3}));
  EXPECT_EQ(img.scalar_type(), at::kFloat);
  EXPECT_GE(img.min().item<float>(), 0.0f);
  EXPECT_LE(img.max().item<float>(), 1.0f);
  const float black[3] = {0, 0, 0};
  EXPECT_GT(countColour(img, black), 100 + 200);  // two axes
  EXPECT_GT(countColour(img, kTrainColour), 150);
  EXPECT_GT(countColour(img, kValColour), 20);
  // Falling loss: the train curve starts high (small row) on the left, ends low on the right.
  const at::Tensor isTrain = ((img - at::tensor({kTrainColour[0], kTrainColour[1], kTrainColour[2]})).abs().amax(-1) < 1e-6);
  const at::Tensor rows = at::arange(120).unsqueeze(1).expand({120, 200});
  const double leftRow = rows.narrow(1, 14, 10).masked_select(isTrain.narrow(1, 14, 10)).to(at::kDouble).mean().item<double>();
  const double rightRow = rows.narrow(1, 180, 12).masked_select(isTrain.narrow(1, 180, 12)).to(at::kDouble).mean().item<double>();
  EXPECT_LT(leftRow, rightRow - 50);
}

TEST(LossCurve, PlotOfEmptyHistoryIsAxesOnlyAndTinySizesAreRefused) {
  const at::Tensor img = renderLossPlot({}, 64, 64);
  EXPECT_EQ(countColour(img, kTrainColour), 0);
  EXPECT_THROW(renderLossPlot(history(), 16, 64), std::exception);
}

}  // namespace
}  // namespace presence::models::training
