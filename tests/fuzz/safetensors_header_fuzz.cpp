// libFuzzer target: the safetensors header parser on arbitrary bytes taken as a whole file.
// The parser must either return a header whose every tensor lies inside the data buffer, or
// throw FormatError; anything else (a crash, another exception, a sanitizer report) is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>

#include "presence/runtime/format_error.hpp"
#include "presence/runtime/safetensors_header.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> file(reinterpret_cast<const std::byte*>(data), size);
  try {
    const auto header = presence::runtime::parseSafetensorsHeader(file, "fuzz.safetensors");
    // What the parser promises: ranges inside the data buffer, consistent with shape and dtype.
    if (header.dataOffset != 8 + header.headerBytes || header.dataOffset + header.dataBytes != size) std::abort();
    for (const auto& t : header.tensors) {
      if (t.begin > t.end || t.end > header.dataBytes) std::abort();
      if (t.byteSize() != t.numel() * presence::runtime::stDtypeSize(t.dtype)) std::abort();
    }
  } catch (const presence::runtime::FormatError&) {
    // A clean rejection.
  }
  return 0;
}
