// The safetensors header: parsing and validation, without LibTorch.
//
// File layout: an 8-byte little-endian u64 N, then N bytes of JSON
//   {"name": {"dtype": "BF16", "shape": [2, 3], "data_offsets": [begin, end]}, ...,
//    "__metadata__": {"key": "value"}}
// then the data buffer; offsets are relative to the start of the data buffer.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace presence::runtime {

/// Element types a safetensors file may hold (the subset LibTorch can represent everywhere).
enum class StDtype : std::uint8_t { Bool, U8, I8, I16, I32, I64, F16, BF16, F32, F64 };

/// "F32" -> StDtype::F32; nullopt for a name not in the list above (names are case-sensitive).
std::optional<StDtype> stDtypeFromName(std::string_view name);
/// StDtype::BF16 -> "BF16".
std::string_view stDtypeName(StDtype dtype);
/// Bytes per element.
std::size_t stDtypeSize(StDtype dtype);

/// One tensor as the header describes it.
struct StTensorInfo {
  std::string name;
  StDtype dtype = StDtype::F32;
  std::vector<std::int64_t> shape;  ///< empty for a 0-d tensor
  std::uint64_t begin = 0, end = 0;  ///< byte range in the data buffer

  std::uint64_t numel() const;
  std::uint64_t byteSize() const { return end - begin; }
};

/// A validated header. Every tensor's range lies inside the data buffer, matches its shape and
/// dtype, and overlaps no other tensor.
struct SafetensorsHeader {
  std::uint64_t headerBytes = 0;  ///< N, the JSON's length including padding
  std::uint64_t dataOffset = 0;   ///< 8 + N: where the data buffer starts in the file
  std::uint64_t dataBytes = 0;    ///< length of the data buffer (file size - 8 - N)
  std::vector<StTensorInfo> tensors;  ///< sorted by name
  std::map<std::string, std::string> metadata;  ///< "__metadata__", if present

  /// The tensor called `name`, or nullptr.
  const StTensorInfo* find(std::string_view name) const;
};

/// Largest header this parser accepts (the reference implementation's limit).
inline constexpr std::uint64_t kMaxSafetensorsHeaderBytes = 100'000'000;

/// Validates the start of a safetensors file and parses its header. `file` must be the whole
/// file (or at least its first 8 + N bytes) and `fileSize` the file's full size. Nothing in the
/// header is trusted before it is checked.
/// Errors: throws FormatError("<label>: <problem>") for every malformed input; never crashes,
/// never reads outside `file`, never allocates in proportion to a claimed (unchecked) size.
/// Threading: a pure function.
SafetensorsHeader parseSafetensorsHeader(std::span<const std::byte> file, std::uint64_t fileSize,
                                         const std::string& label);

/// The same, for a whole file held in memory.
inline SafetensorsHeader parseSafetensorsHeader(std::span<const std::byte> wholeFile,
                                                const std::string& label) {
  return parseSafetensorsHeader(wholeFile, wholeFile.size(), label);
}

/// Parses and validates just the JSON part given the data buffer's length (for the fuzzer and
/// for callers that read the header themselves). Same error behaviour.
SafetensorsHeader parseSafetensorsHeaderJson(std::string_view json, std::uint64_t dataBytes,
                                             const std::string& label);

/// "[2, 3]" (and "[]" for a 0-d shape), as used in error messages.
std::string shapeToString(std::span<const std::int64_t> shape);

}  // namespace presence::runtime
