// The DiT's CUDA kernels (built with PRESENCE_BUILD_CUDA). Internal to presence_dit.
#pragma once

#include <ATen/core/Tensor.h>

namespace presence::models::dit::cuda {

/// dit_functional's applyRope in one kernel: x [B, L, heads, 2·pairs] (float32, float16 or bf16,
/// on CUDA) times complex64 rotations [B or 1, L, 1, pairs], each pair rotated in float32 (after a
/// bf16 rounding when asked), returned in x's dtype. No autograd: callers use it without a graph.
at::Tensor applyRope(const at::Tensor& x, const at::Tensor& rotation, bool roundResultToBf16);

}  // namespace presence::models::dit::cuda
