// Reading one safetensors file into LibTorch tensors.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include "presence/runtime/format_error.hpp"
#include "presence/runtime/mapped_file.hpp"
#include "presence/runtime/safetensors_header.hpp"

namespace presence::runtime {

/// A tensor's description without its data.
struct TensorSpec {
  std::string name;
  c10::ScalarType dtype = c10::ScalarType::Float;
  std::vector<std::int64_t> shape;
  std::uint64_t bytes = 0;
};

/// One safetensors file, memory-mapped and validated on open (see parseSafetensorsHeader for
/// what is checked). Listing names and shapes reads only the header; tensors are either views
/// over the mapping (no copy, no load time: pages are read on first touch) or copies on a
/// chosen device and dtype.
///
/// Ownership: hold it by std::shared_ptr. A view keeps the mapping alive after the file object
/// is gone. Views share the mapping's private pages: writing into a view changes neither the
/// file nor another reader's view of it, but does change what later views of the same tensor from
/// this object show. Use load() for a tensor you will modify.
/// Threading: immutable after open(); every const member may be called from any thread.
/// Errors: open() throws FormatError naming the file and the problem; asking for a tensor the
/// file does not have throws FormatError naming both. If another process truncates the file
/// while it is mapped, touching the lost pages raises SIGBUS (the nature of mmap).
class SafetensorsFile {
 public:
  static std::shared_ptr<const SafetensorsFile> open(const std::filesystem::path& path);

  const std::filesystem::path& path() const { return mapping_->path(); }
  const SafetensorsHeader& header() const { return header_; }
  const std::map<std::string, std::string>& metadata() const { return header_.metadata; }

  /// Sorted tensor names.
  std::vector<std::string> names() const;
  bool contains(std::string_view name) const { return header_.find(name) != nullptr; }
  std::size_t size() const { return header_.tensors.size(); }
  /// Name, dtype, shape and size of one tensor / of all (sorted by name).
  TensorSpec spec(std::string_view name) const;
  std::vector<TensorSpec> specs() const;
  /// The header's entry for `name`; throws FormatError when absent.
  const StTensorInfo& info(std::string_view name) const;
  /// The tensor's raw little-endian bytes inside the mapping.
  std::span<const std::byte> rawBytes(std::string_view name) const;

  /// A CPU tensor over the mapping, without copying. Falls back to a copy when the data is not
  /// aligned to its element size (files from writers that do not pad), when the tensor has no
  /// elements, and for BOOL (whose bytes are normalised to 0/1).
  at::Tensor view(std::string_view name) const;
  /// A copy on `device`, converted to `dtype` when given. The result owns its memory.
  at::Tensor load(std::string_view name, c10::Device device = c10::Device(c10::DeviceType::CPU),
                  std::optional<c10::ScalarType> dtype = std::nullopt) const;

 private:
  SafetensorsFile(std::shared_ptr<const MappedFile> mapping, SafetensorsHeader header)
      : mapping_(std::move(mapping)), header_(std::move(header)) {}
  std::shared_ptr<const MappedFile> mapping_;
  SafetensorsHeader header_;
};

}  // namespace presence::runtime
