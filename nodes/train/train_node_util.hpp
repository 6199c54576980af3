// Shared by the training nodes: the dataset folder a node reads, the loss plot as an IMAGE, and
// durations for progress messages.
#pragma once

#include <ATen/ATen.h>

#include <filesystem>
#include <string>

#include "presence/core/media.hpp"
#include "presence/core/node.hpp"

namespace presence::nodes::train {

/// The dataset folder: the 'path' input when connected (e.g. synth_dataset's), else the 'folder'
/// parameter resolved against the graph's folder. Fails 'folder' when neither names an existing
/// folder.
std::filesystem::path datasetFolder(core::NodeContext& ctx);

/// A rendered loss plot [H, W, 3] (training::renderLossPlot) as a one-image batch.
core::ImageBatch plotImage(const at::Tensor& plot);

/// "0.42 s", "12 s".
std::string secondsText(double seconds);

}  // namespace presence::nodes::train
