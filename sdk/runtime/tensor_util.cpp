#include "presence/runtime/tensor_util.hpp"

#include <cstdio>
#include <cstring>

#include <ATen/ATen.h>
#include <xxhash.h>

#include "presence/runtime/device.hpp"
#include "presence/runtime/dtype.hpp"
#include "presence/runtime/safetensors_header.hpp"

namespace presence::runtime {

std::size_t tensorBytes(const at::Tensor& tensor) {
  if (!tensor.defined()) return 0;
  return static_cast<std::size_t>(tensor.numel()) * tensor.element_size();
}

std::size_t tensorBytes(const std::map<std::string, at::Tensor>& tensors) {
  std::size_t total = 0;
  for (const auto& [name, t] : tensors) total += tensorBytes(t);
  return total;
}

std::string describeTensor(const at::Tensor& tensor) {
  if (!tensor.defined()) return "undefined";
  std::string type;
  try {
    type = dtypeName(tensor.scalar_type());
  } catch (const std::exception&) {
    type = c10::toString(tensor.scalar_type());
  }
  const auto sizes = tensor.sizes();
  return type + " " + shapeToString(std::span<const std::int64_t>(sizes.data(), sizes.size())) + " on " +
         deviceName(tensor.device());
}

at::Tensor toDtype(const at::Tensor& tensor, std::string_view name) { return tensor.to(parseDtype(name)); }

bool sameBits(const at::Tensor& a, const at::Tensor& b) {
  if (!a.defined() || !b.defined()) return a.defined() == b.defined();
  if (a.scalar_type() != b.scalar_type() || a.sizes() != b.sizes()) return false;
  if (a.numel() == 0) return true;
  const at::Tensor ca = a.to(at::kCPU).contiguous(), cb = b.to(at::kCPU).contiguous();
  return std::memcmp(ca.data_ptr(), cb.data_ptr(), tensorBytes(ca)) == 0;
}

std::string contentFingerprint(const std::map<std::string, at::Tensor>& tensors) {
  XXH3_state_t* state = XXH3_createState();
  if (state == nullptr) throw std::bad_alloc();
  XXH3_64bits_reset(state);
  auto update = [&](const void* data, std::size_t size) { XXH3_64bits_update(state, data, size); };
  auto text = [&](std::string_view s) {
    const std::uint64_t n = s.size();  // length first: "ab"+"c" and "a"+"bc" differ
    update(&n, sizeof n);
    update(s.data(), s.size());
  };
  for (const auto& [name, t] : tensors) {
    text(name);
    text(t.defined() ? c10::toString(t.scalar_type()) : "undefined");
    if (!t.defined()) continue;
    const std::uint64_t rank = static_cast<std::uint64_t>(t.dim());
    update(&rank, sizeof rank);
    for (const auto d : t.sizes()) update(&d, sizeof d);
    const at::Tensor cpu = t.detach().to(at::kCPU).contiguous();
    update(cpu.data_ptr(), tensorBytes(cpu));
  }
  const XXH64_hash_t hash = XXH3_64bits_digest(state);
  XXH3_freeState(state);
  char out[17];
  std::snprintf(out, sizeof out, "%016llx", static_cast<unsigned long long>(hash));
  return out;
}

}  // namespace presence::runtime
