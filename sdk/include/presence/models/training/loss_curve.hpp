// The loss history of a training run: a CSV and a line plot as an IMAGE-style float buffer.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <limits>
#include <filesystem>
#include <string>
#include <vector>

namespace presence::models::training {

struct LossRecord {
  int64_t step = 0;          ///< optimiser steps completed
  double trainLoss = 0.0;
  double valLoss = std::numeric_limits<double>::quiet_NaN();  ///< NaN: not evaluated at this step
  double learningRate = 0.0;
  double seconds = 0.0;      ///< training time so far, across resumed sessions
  /// The validation loss of each tower where it was evaluated (a stage's loss is video + λ·audio);
  /// NaN where not evaluated or the tower takes no part. Shows which tower overfits.
  double valVideoLoss = std::numeric_limits<double>::quiet_NaN();
  double valAudioLoss = std::numeric_limits<double>::quiet_NaN();
};

/// "step,train_loss,val_loss,learning_rate,seconds,val_video_loss,val_audio_loss" then one line
/// per record (a loss left empty where NaN).
std::string lossCurveCsv(const std::vector<LossRecord>& history);
/// Writes lossCurveCsv atomically.
void writeLossCurveCsv(const std::filesystem::path& path, const std::vector<LossRecord>& history);

/// A line plot [height, width, 3] float32 in [0, 1] (an IMAGE without the batch dimension): white
/// background, black axes with tick marks, the train loss in blue, the validation loss (where
/// evaluated) in orange, linear axes from the first to the last step and over the loss range.
/// No text (no font): the CSV carries the numbers. Throws core::InputError for sizes < 32.
at::Tensor renderLossPlot(const std::vector<LossRecord>& history, int64_t height = 256, int64_t width = 384);

/// The plot colours (tests look for them).
inline constexpr float kTrainColour[3] = {0.12f, 0.47f, 0.71f};
inline constexpr float kValColour[3] = {1.0f, 0.50f, 0.05f};

}  // namespace presence::models::training
