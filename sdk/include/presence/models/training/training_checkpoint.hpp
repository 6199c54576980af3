// Training checkpoints: a folder `step-<8 digits>` under the run's checkpoint folder holding
// state.safetensors (weights "model/<name>", AdamW moments "adam/exp_avg/<name>" and
// "adam/exp_avg_sq/<name>") and trainer.json (step, config, loss history, the state file's size
// and FNV-1a checksum).
//
// Atomic as a unit: both files are written into a hidden `.tmp-step-*` folder, fsynced, and the
// folder is renamed into place (then the parent is fsynced); older checkpoints are deleted only
// after that. A process killed at any point leaves either the new complete folder or none
// (plus a stale temporary folder that the next save removes and loaders ignore).
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "presence/models/training/loss_curve.hpp"

namespace presence::models::training {

struct TrainingCheckpoint {
  int64_t step = 0;
  std::map<std::string, at::Tensor> tensors;  ///< "model/..." and "adam/..." entries
  std::vector<LossRecord> history;
  nlohmann::json config;  ///< the trainer's options (stage, seed, AdamW, ...)
};

/// Called at named points of the save ("checkpoint.staged": files complete in the temporary
/// folder, not yet renamed). Tests use it to kill the process there.
using CheckpointHook = std::function<void(std::string_view point, int64_t step)>;

/// Writes `checkpoint` as `folder`/step-<step> and keeps the newest `keep` (>= 1) checkpoints.
/// Returns the checkpoint folder. Throws core::InputError on I/O failure, naming the path.
std::filesystem::path saveTrainingCheckpoint(const std::filesystem::path& folder, const TrainingCheckpoint& checkpoint,
                                             int64_t keep = 2, const CheckpointHook& hook = {});

/// The complete checkpoint folders under `folder`, oldest first (temporary folders ignored).
std::vector<std::filesystem::path> listTrainingCheckpoints(const std::filesystem::path& folder);
/// The newest, or nothing.
std::optional<std::filesystem::path> latestTrainingCheckpoint(const std::filesystem::path& folder);

/// Loads and validates a checkpoint folder: trainer.json parses and has every field, the state
/// file has the recorded size and checksum and a valid safetensors header. Throws
/// core::InputError naming the offending file ("... is incomplete or corrupt").
TrainingCheckpoint loadTrainingCheckpoint(const std::filesystem::path& checkpointFolder);

}  // namespace presence::models::training
