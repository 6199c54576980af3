// Converting the media payloads (IMAGE, AUDIO) to and from the tensors the models read.
#pragma once

#include <ATen/ATen.h>

#include "presence/core/media.hpp"

namespace presence::nodes::generate {

/// IMAGE [N, H, W, C] → float32 tensor [N, H, W, C] (a copy).
at::Tensor toTensor(const core::ImageBatch& images);
/// Float tensor [N, H, W, C] (any device) → IMAGE, values clamped to 0..1.
core::ImageBatch toImageBatch(const at::Tensor& frames);
/// Mono waveform [T] → AUDIO with one channel at `sampleRate`.
core::Audio toAudio(const at::Tensor& waveform, int sampleRate);

}  // namespace presence::nodes::generate
