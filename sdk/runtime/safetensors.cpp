#include "presence/runtime/safetensors.hpp"

#include <cstring>

#include <ATen/ATen.h>

#include "presence/runtime/dtype.hpp"

namespace presence::runtime {

std::shared_ptr<const SafetensorsFile> SafetensorsFile::open(const std::filesystem::path& path) {
  auto mapping = MappedFile::open(path);
  auto header = parseSafetensorsHeader(mapping->bytes(), path.string());
  return std::shared_ptr<const SafetensorsFile>(new SafetensorsFile(std::move(mapping), std::move(header)));
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  out.reserve(header_.tensors.size());
  for (const auto& t : header_.tensors) out.push_back(t.name);
  return out;
}

const StTensorInfo& SafetensorsFile::info(std::string_view name) const {
  if (const auto* t = header_.find(name)) return *t;
  throw FormatError(path().string(), "no tensor named '" + std::string(name) + "'");
}

TensorSpec SafetensorsFile::spec(std::string_view name) const {
  const auto& t = info(name);
  return {t.name, toScalarType(t.dtype), t.shape, t.byteSize()};
}

std::vector<TensorSpec> SafetensorsFile::specs() const {
  std::vector<TensorSpec> out;
  out.reserve(header_.tensors.size());
  for (const auto& t : header_.tensors) out.push_back({t.name, toScalarType(t.dtype), t.shape, t.byteSize()});
  return out;
}

std::span<const std::byte> SafetensorsFile::rawBytes(std::string_view name) const {
  const auto& t = info(name);
  return mapping_->bytes().subspan(static_cast<std::size_t>(header_.dataOffset + t.begin),
                                   static_cast<std::size_t>(t.byteSize()));
}

at::Tensor SafetensorsFile::view(std::string_view name) const {
  const auto& t = info(name);
  const auto type = toScalarType(t.dtype);
  const at::IntArrayRef shape(t.shape);
  const auto options = at::TensorOptions().dtype(type).device(at::kCPU);
  if (t.byteSize() == 0) return at::empty(shape, options);
  std::byte* data = mapping_->mutableData() + header_.dataOffset + t.begin;
  if (t.dtype == StDtype::Bool) {
    // A byte other than 0 or 1 in a bool tensor is undefined behaviour in LibTorch's kernels.
    auto bytes = at::from_blob(data, shape, at::TensorOptions().dtype(at::kByte));
    return bytes.ne(0);
  }
  if (reinterpret_cast<std::uintptr_t>(data) % stDtypeSize(t.dtype) != 0) {
    auto copy = at::empty(shape, options);
    std::memcpy(copy.data_ptr(), data, static_cast<std::size_t>(t.byteSize()));
    return copy;
  }
  auto keep = mapping_;
  return at::from_blob(data, shape, [keep](void*) {}, options);
}

at::Tensor SafetensorsFile::load(std::string_view name, c10::Device device, std::optional<c10::ScalarType> dtype) const {
  const at::Tensor source = view(name);
  const auto target = dtype.value_or(source.scalar_type());
  if (device.is_cpu()) return source.to(target, /*non_blocking=*/false, /*copy=*/true);
  // Move the stored (often smaller) dtype across, then convert on the device.
  return source.to(device, source.scalar_type(), /*non_blocking=*/false, /*copy=*/true).to(target);
}

}  // namespace presence::runtime
