#include "presence/models/training/loss_curve.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "presence/core/atomic_file.hpp"
#include "presence/core/error.hpp"

namespace presence::models::training {

std::string lossCurveCsv(const std::vector<LossRecord>& history) {
  std::string out = "step,train_loss,val_loss,learning_rate,seconds,val_video_loss,val_audio_loss\n";
  char line[320];
  struct Cell {
    char text[32] = "";
    explicit Cell(double v) {
      if (std::isfinite(v)) std::snprintf(text, sizeof text, "%.9g", v);
    }
  };
  for (const auto& r : history) {
    std::snprintf(line, sizeof line, "%lld,%.9g,%s,%.9g,%.3f,%s,%s\n", static_cast<long long>(r.step), r.trainLoss,
                  Cell(r.valLoss).text, r.learningRate, r.seconds, Cell(r.valVideoLoss).text,
                  Cell(r.valAudioLoss).text);
    out += line;
  }
  return out;
}

void writeLossCurveCsv(const std::filesystem::path& path, const std::vector<LossRecord>& history) {
  core::writeFileAtomically(path, lossCurveCsv(history));
}

namespace {

struct Canvas {
  int64_t h, w;
  std::vector<float> px;
  void set(int64_t x, int64_t y, const float* c) {
    if (x < 0 || y < 0 || x >= w || y >= h) return;
    for (int k = 0; k < 3; ++k) px[(y * w + x) * 3 + k] = c[k];
  }
  // Bresenham, two pixels thick so curves stay visible when downscaled.
  void line(int64_t x0, int64_t y0, int64_t x1, int64_t y1, const float* c) {
    const int64_t dx = std::abs(x1 - x0), dy = -std::abs(y1 - y0), sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
    int64_t err = dx + dy;
    for (;;) {
      set(x0, y0, c);
      set(x0, y0 + 1, c);
      if (x0 == x1 && y0 == y1) break;
      const int64_t e2 = 2 * err;
      if (e2 >= dy) { err += dy; x0 += sx; }
      if (e2 <= dx) { err += dx; y0 += sy; }
    }
  }
};

}  // namespace

at::Tensor renderLossPlot(const std::vector<LossRecord>& history, int64_t height, int64_t width) {
  if (height < 32 || width < 32) throw core::InputError("loss plot must be at least 32x32 pixels");
  Canvas cv{height, width, std::vector<float>(static_cast<size_t>(height * width * 3), 1.0f)};
  const float black[3] = {0, 0, 0};
  const int64_t left = 12, right = width - 6, top = 6, bottom = height - 12;
  cv.line(left, top, left, bottom, black);
  cv.line(left, bottom, right, bottom, black);
  for (int k = 0; k <= 4; ++k) {  // ticks at quarters
    const int64_t x = left + (right - left) * k / 4, y = bottom - (bottom - top) * k / 4;
    cv.line(x, bottom, x, bottom + 4, black);
    cv.line(left - 4, y, left, y, black);
  }
  double lo = INFINITY, hi = -INFINITY;
  for (const auto& r : history)
    for (double v : {r.trainLoss, r.valLoss})
      if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
  if (history.empty() || !std::isfinite(lo)) return at::from_blob(cv.px.data(), {height, width, 3}, at::kFloat).clone();
  if (hi - lo < 1e-12) hi = lo + 1.0;
  const double s0 = static_cast<double>(history.front().step), s1 = std::max(s0 + 1, double(history.back().step));
  auto px = [&](const LossRecord& r) { return left + 2 + std::lround((r.step - s0) / (s1 - s0) * (right - left - 4)); };
  auto py = [&](double v) { return bottom - 2 - std::lround((v - lo) / (hi - lo) * (bottom - top - 4)); };
  const LossRecord* prevTrain = nullptr;
  const LossRecord* prevVal = nullptr;
  for (const auto& r : history) {
    if (std::isfinite(r.trainLoss)) {
      if (prevTrain) cv.line(px(*prevTrain), py(prevTrain->trainLoss), px(r), py(r.trainLoss), kTrainColour);
      else cv.line(px(r), py(r.trainLoss), px(r), py(r.trainLoss), kTrainColour);
      prevTrain = &r;
    }
    if (std::isfinite(r.valLoss)) {
      if (prevVal) cv.line(px(*prevVal), py(prevVal->valLoss), px(r), py(r.valLoss), kValColour);
      for (int64_t d = -2; d <= 2; ++d) cv.line(px(r) - 2, py(r.valLoss) + d, px(r) + 2, py(r.valLoss) + d, kValColour);
      prevVal = &r;
    }
  }
  return at::from_blob(cv.px.data(), {height, width, 3}, at::kFloat).clone();
}

}  // namespace presence::models::training
