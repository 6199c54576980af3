// Small tensor helpers used across the runtime, the models and the nodes.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <string_view>

#include <ATen/core/Tensor.h>

namespace presence::runtime {

/// Bytes of the tensor's elements (numel x element size; 0 for an undefined tensor). Views
/// count their own elements, not their storage.
std::size_t tensorBytes(const at::Tensor& tensor);
/// Sum of tensorBytes over a state dict.
std::size_t tensorBytes(const std::map<std::string, at::Tensor>& tensors);

/// "bf16 [2, 3] on cuda:0" ("undefined" for an undefined tensor), for messages.
std::string describeTensor(const at::Tensor& tensor);

/// The tensor converted to the dtype named as parseDtype() accepts ("f32", "bf16", ...); the
/// same tensor when it already has that dtype. Throws core::InputError for an unknown name.
at::Tensor toDtype(const at::Tensor& tensor, std::string_view dtypeName);

/// True when both are undefined, or have the same dtype, shape and element bytes (bit-exact:
/// NaNs with equal payloads are equal, +0 and -0 are not). Devices may differ.
bool sameBits(const at::Tensor& a, const at::Tensor& b);

/// A 64-bit content hash (XXH3) of a state dict as 16 hex digits: every name, dtype, shape and
/// element byte, in name order; devices and strides do not matter. Equal for bit-identical
/// weights, different (with overwhelming probability) when any element differs.
std::string contentFingerprint(const std::map<std::string, at::Tensor>& tensors);

}  // namespace presence::runtime
