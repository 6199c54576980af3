// Training batches of a stage from encoded clips: which clips stack together and how.
#pragma once

#include <cstdint>
#include <vector>

#include "presence/models/training/training_batch.hpp"
#include "training_dataset.hpp"

namespace presence::nodes::train {

/// One batch of `clips` for `stage`: their latents, captions and the references the stage uses
/// (one-shot faces, or multi-view grids in stage 3; voices when the audio tower runs). The clips
/// must share bucketKey(); the first clip's identity slots stand for all.
presence::models::training::TrainingBatch makeBatch(const std::vector<const EncodedClip*>& clips,
                                                    presence::models::training::Stage stage);

/// Clips grouped by bucketKey (equal latent shapes and reference layout, so they stack), each
/// group cut into batches of up to `batchSize`, in a deterministic order.
std::vector<std::vector<const EncodedClip*>> bucketed(const std::vector<const EncodedClip*>& clips,
                                                      presence::models::training::Stage stage, int64_t batchSize);

}  // namespace presence::nodes::train
