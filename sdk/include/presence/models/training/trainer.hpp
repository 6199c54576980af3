// The three-stage trainer of the dual-tower DiT (MODEL.md "Training", paper section 3.4).
//
// A Trainer owns the optimiser state of one run and updates the shared DitWeights in place.
// Each optimiser step takes its micro-batches from a BatchSource (gradients accumulate over
// them, each micro-batch weighted by its share of the step's samples), clips the global
// gradient norm, and applies AdamW. Every random draw of a step comes from
// (seed, step, sample index), so a run resumed from a checkpoint continues bit-identically
// (CPU, same thread count). Errors: core::InputError for bad options or batches.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "presence/core/cancel_token.hpp"
#include "presence/models/dit/dual_tower_dit.hpp"
#include "presence/models/training/adamw.hpp"
#include "presence/models/training/loss_curve.hpp"
#include "presence/models/training/training_batch.hpp"
#include "presence/models/training/training_checkpoint.hpp"

namespace presence::models::training {

/// The micro-batches of optimiser step `step` (0-based). Must be deterministic in `step` for
/// resumed runs to match uninterrupted ones.
using BatchSource = std::function<std::vector<TrainingBatch>(int64_t step)>;

/// Cycles through `batches`, `accumulation` micro-batches per step.
BatchSource cyclingBatchSource(std::vector<TrainingBatch> batches, int64_t accumulation = 1);

struct TrainingProgress {
  int64_t step = 0;        ///< steps completed
  int64_t totalSteps = 0;
  double loss = 0.0;
  double gradNorm = 0.0;   ///< before clipping
  double learningRate = 0.0;
  double valLoss = std::numeric_limits<double>::quiet_NaN();
  double elapsedSeconds = 0.0;
  double etaSeconds = 0.0;
};

struct TrainerOptions {
  Stage stage = Stage::Stage2Joint;
  AdamWOptions adam;           ///< learningRate <= 0: defaultLearningRate(stage)
  int64_t steps = 100;         ///< total optimiser steps of the run (resumed runs count from 0)
  int64_t warmupSteps = 0;     ///< linear learning-rate warm-up
  double audioWeight = 1.0;    ///< λ
  double faceLossWeight = 1.0; ///< LossOptions::faceWeight of training steps (> 0); validation stays unweighted
  double maxGradNorm = 0.0;    ///< 0: no clipping
  bool bf16Autocast = false;   ///< forward under CPU autocast to bfloat16 (weights stay float32)
  uint64_t seed = 0;
  sampling::TrainingTimeSpec time;
  GuidanceDropout guidanceDropout;      ///< training steps only; validation is always conditioned
  std::filesystem::path checkpointDir;  ///< empty: no checkpoints, no resume
  int64_t checkpointEvery = 0;          ///< steps; 0: only at the end (when a folder is set)
  int64_t keepCheckpoints = 2;
  bool resume = true;                   ///< run() continues from the newest checkpoint
  int64_t validateEvery = 0;            ///< steps; 0: only at the end (when batches are given)
  /// Per completed step; returning true cancels before the next step.
  std::function<bool(const TrainingProgress&)> progress;
  const core::CancelToken* cancel = nullptr;
  /// Test hook: called at "step.accumulated" (a step's gradients complete, weights not yet
  /// updated) and at the checkpoint points (CheckpointHook).
  std::function<void(std::string_view point, int64_t step)> testHook;
};

struct TrainingResult {
  int64_t startStep = 0;  ///< where this session began (> 0 after a resume)
  int64_t step = 0;       ///< steps completed
  bool cancelled = false;
  std::optional<std::filesystem::path> lastCheckpoint;
};

struct ValidationLosses {
  double total = 0.0, video = 0.0, audio = 0.0;
};

class Trainer {
 public:
  /// The weights must be float32 master weights (the model computes in float32; bf16 through
  /// autocast). Marks exactly the stage's trainable weights requires_grad, the rest not.
  Trainer(std::shared_ptr<dit::DitWeights> weights, TrainerOptions options);

  const TrainerOptions& options() const { return options_; }
  const std::vector<std::string>& trainableNames() const { return names_; }
  int64_t step() const { return step_; }
  const std::vector<LossRecord>& history() const { return history_; }
  const dit::DualTowerDit& model() const { return *model_; }
  double learningRate(int64_t step) const;

  /// One optimiser step; returns its loss (the weighted mean over its micro-batches).
  double trainStep(const BatchSource& source);
  /// Mean loss over `batches` with fixed seeds (the same at every step), no gradients.
  double validationLoss(const std::vector<TrainingBatch>& batches) const;
  /// The same means, of the total and of each tower's term (NaN for a tower the stage does not
  /// run), with every sample at noise level `sigma` when it is set.
  ValidationLosses validationLosses(const std::vector<TrainingBatch>& batches,
                                    std::optional<double> sigma = std::nullopt) const;

  /// Loads the newest checkpoint of options().checkpointDir (weights, moments, step, history).
  /// Returns false when there is none. Throws core::InputError when it does not match this run:
  /// another stage, other weight names, or training that started from other weights than this
  /// trainer's (checkpoints record runtime::contentFingerprint of their starting weights).
  bool resume();
  /// Writes a checkpoint of the current step, and `loss_curve.csv` beside it.
  std::filesystem::path saveCheckpoint();

  /// Runs to options().steps: resume (if asked), steps, validation, checkpoints, progress.
  TrainingResult run(const BatchSource& source, const std::vector<TrainingBatch>& validation = {});

 private:
  nlohmann::json configJson() const;

  std::shared_ptr<dit::DitWeights> weights_;
  std::unique_ptr<dit::DualTowerDit> model_;
  TrainerOptions options_;
  std::vector<std::string> names_;
  std::vector<at::Tensor> params_;
  std::unique_ptr<AdamW> adam_;
  int64_t step_ = 0;
  double lastGradNorm_ = 0.0;
  double seconds_ = 0.0;  // training time of earlier sessions + this one
  std::vector<LossRecord> history_;
  /// runtime::contentFingerprint of the weights the run started from (before any resume): a
  /// checkpoint made from other starting weights is not this run's to continue.
  std::string startWeights_;
};

/// Copies a checkpoint's "model/..." weights into `weights` (stage 2 starting from stage 1).
void loadCheckpointWeights(const std::filesystem::path& checkpointFolder, dit::DitWeights& weights);

}  // namespace presence::models::training
