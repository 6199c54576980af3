// The few LibTorch APIs that differ between 1.13 (Debian's CPU build) and 2.x (CUDA builds).
// Everything version-dependent goes through here, so the rest of the SDK compiles unchanged
// against either.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <ATen/core/Tensor.h>
#include <c10/core/InferenceMode.h>
#include <c10/util/Optional.h>
#include <torch/version.h>

namespace presence::runtime {

/// LibTorch's major version at compile time (1 or 2).
inline constexpr int kTorchVersionMajor = TORCH_VERSION_MAJOR;
/// "1.13.0" etc., the headers' version.
inline std::string torchVersion() { return TORCH_VERSION; }

/// RAII guard for inference: no autograd graph, no version counters. c10::InferenceMode exists
/// in 1.13 and 2.x with the same meaning. Thread-local: guards only the thread that holds it.
/// Tensors created under it are inference tensors and cannot later be used in autograd.
using InferenceGuard = c10::InferenceMode;

/// Scaled dot-product attention: softmax(q k^T / sqrt(D) + mask) v.
/// q [B, H, Lq, D], k [B, H, Lk, D], v [B, H, Lk, Dv] -> [B, H, Lq, Dv] in q's dtype.
/// `mask` broadcasts to [B, H, Lq, Lk]: a bool mask keeps the positions that are true; a
/// floating mask is added to the scores (use -inf to exclude). A row with every key masked
/// has no defined result: callers must leave at least one key per query.
/// k and v may have another dtype than q; they are converted to q's.
/// With LibTorch >= 2 this is at::scaled_dot_product_attention (fused kernels where available);
/// with 1.13 explicit math over blocks of queries (the score matrix stays small), in bf16 for bf16
/// inputs on the CPU (float32 accumulation inside the matrix products and the softmax), in
/// float32 for other reduced types. Differentiable.
/// Throws core::Error on mismatched shapes. Thread-safe (no state).
at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                     const std::optional<at::Tensor>& mask = std::nullopt);

/// The explicit implementation, on every version, in float32 for reduced types (the reference
/// that tests compare with).
at::Tensor attentionMath(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                         const std::optional<at::Tensor>& mask = std::nullopt);

/// Initialises LibTorch's CUDA state (the driver, the caching allocator) if it has not been yet;
/// allocator statistics need it before the first CUDA tensor exists. Needs a CUDA build of
/// LibTorch and a device (throws c10::Error otherwise).
void lazyInitCuda();

/// Which fused kernels attention() tries first on a GPU, process-wide (LibTorch keeps one global
/// choice). "auto": LibTorch's own order (FlashAttention-2, then memory-efficient, then math);
/// "cudnn": cuDNN's fused attention first, then that order; "fa3": FlashAttention-3 for the flash
/// kernels (Hopper GPUs, where this LibTorch was built with it). Inputs a preferred kernel cannot
/// take fall through to the next. With LibTorch older than 2.11 only "auto" is accepted; other
/// choices, and unknown names, throw core::InputError naming the choice. Thread-safe.
void setAttentionPreference(std::string_view name);
/// The last choice set ("auto" at start).
std::string attentionPreference();

/// std::optional -> c10::optional (distinct types in 1.13, the same type in recent 2.x).
template <class T>
c10::optional<T> toC10Optional(const std::optional<T>& value) {
  return value ? c10::optional<T>(*value) : c10::optional<T>();
}

}  // namespace presence::runtime
