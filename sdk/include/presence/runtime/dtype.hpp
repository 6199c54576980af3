// Element types: their names (ours and safetensors') and the policy that picks a compute dtype.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include "presence/runtime/safetensors_header.hpp"

namespace presence::runtime {

/// Our short names: "f32", "bf16", "f16", "f64", "i64", "i32", "i16", "i8", "u8", "bool".
/// Throws core::InputError for a type that has none (complex, quantised).
std::string dtypeName(c10::ScalarType type);

/// Accepts the short names, their long forms ("float32", "bfloat16", "float16", "half", "float",
/// "double", "int64", ...), and the safetensors names ("F32", "BF16", ...), case-insensitively.
/// Throws core::InputError naming the text and the accepted names.
c10::ScalarType parseDtype(std::string_view name);

/// Safetensors' names: "F32", "BF16", "F16", "F64", "I64", "I32", "I16", "I8", "U8", "BOOL".
/// Throws core::InputError for a type safetensors cannot hold here.
std::string_view safetensorsDtypeName(c10::ScalarType type);
/// nullopt for a name not in the list above.
std::optional<c10::ScalarType> scalarTypeFromSafetensors(std::string_view name);

c10::ScalarType toScalarType(StDtype dtype);
/// Throws core::InputError for a type safetensors cannot hold here.
StDtype toStDtype(c10::ScalarType type);

/// Which floating dtype a model computes in. CUDA always uses bf16 (unless a caller overrides);
/// on CPU each model's config says f32 or bf16 (f32 is the safe default: many CPU kernels are
/// slow or missing in bf16). A plain value; copy it freely.
struct DtypePolicy {
  c10::ScalarType cpu = c10::ScalarType::Float;
  c10::ScalarType cuda = c10::ScalarType::BFloat16;

  /// The policy a model config asks for: `cpuDtype` is "f32" or "bf16" (any name parseDtype
  /// accepts that means one of them); throws core::InputError for anything else.
  static DtypePolicy forModel(std::string_view cpuDtype);

  /// The dtype to compute in on `device`.
  c10::ScalarType computeDtype(const c10::Device& device) const;
  /// "auto" (or empty) -> computeDtype(device); otherwise the named floating dtype (f32, bf16,
  /// f16), which lets a user override the policy. Throws core::InputError for other names.
  c10::ScalarType resolve(const c10::Device& device, std::string_view requested) const;
};

}  // namespace presence::runtime
