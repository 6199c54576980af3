// Shared by the training nodes: the dataset folder a node reads, the loss plot as an IMAGE,
// durations for progress messages, and the intra-op thread count a trainer runs with.
#pragma once

#include <ATen/ATen.h>

#include <filesystem>
#include <string>

#include "presence/core/media.hpp"
#include "presence/core/node.hpp"
#include "presence/runtime/intra_op_threads.hpp"

namespace presence::nodes::train {

/// The dataset folder: the 'path' input when connected (e.g. synth_dataset's), else the 'folder'
/// parameter resolved against the graph's folder. Fails 'folder' when neither names an existing
/// folder.
std::filesystem::path datasetFolder(core::NodeContext& ctx);

/// A rendered loss plot [H, W, 3] (training::renderLossPlot) as a one-image batch.
core::ImageBatch plotImage(const at::Tensor& plot);

/// "0.42 s", "12 s".
std::string secondsText(double seconds);

/// The 'threads' parameter of a trainer node.
core::ParamSpec threadsParam();

/// The node's 'threads', for runtime::runWithIntraOpThreads around its training. Warns about more
/// than one thread where the matrix products run in float32 through OpenBLAS (the DiT stages
/// without bf16), whose own threads then contend with OpenMP's.
int trainingThreads(core::NodeContext& ctx, bool float32MatrixProducts);

}  // namespace presence::nodes::train
