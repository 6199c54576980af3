// Where a clip's faces lie on its video latents: the manifest's face boxes, carried through the
// crop load_dataset applies to the frames, as shares of each latent position.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <vector>

#include "presence/data/dataset.hpp"

namespace presence::nodes::train {

/// [1, 1, 1, cropHeight / compression, cropWidth / compression]: the share (0..1) of each latent
/// position's pixels inside any subject's face box, the boxes given on frames of `width` x
/// `height` that io::centerCrop turns into `cropWidth` x `cropHeight`. Undefined when no subject
/// has a box. The crop must be a multiple of `compression`.
at::Tensor faceCover(const std::vector<presence::data::Subject>& subjects, int width, int height, int cropWidth,
                     int cropHeight, int64_t compression);

}  // namespace presence::nodes::train
