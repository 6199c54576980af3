// Private to presence_dit: the attention kernel the DiT calls. Kept behind one function so it
// can be swapped for the runtime's shared SDPA helper later.
#pragma once

#include <ATen/ATen.h>

namespace presence::models::dit::detail {

/// Attention over heads: q [B, H, Lq, D], k and v [B, H, Lk, D], optional boolean `mask`
/// broadcastable to [B, H, Lq, Lk] (true = may attend; every query must keep at least one key).
/// Scale 1/sqrt(D). LibTorch >= 2: at::scaled_dot_product_attention; older: explicit softmax math
/// in float32, or in bf16 for bf16 queries on the CPU (float32 accumulation inside the matrix
/// products and the softmax). Returns [B, H, Lq, D] in q's dtype. Differentiable.
at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                     const at::Tensor& mask = {});

}  // namespace presence::models::dit::detail
