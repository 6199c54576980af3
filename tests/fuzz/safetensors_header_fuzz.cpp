// libFuzzer target: the safetensors header parser on arbitrary bytes taken as a whole file.
// The parser must either return a header whose every tensor lies inside the data buffer, or
// throw FormatError; anything else (a crash, another exception, a sanitizer report) is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>
#include <string_view>

#include "presence/runtime/format_error.hpp"
#include "presence/runtime/safetensors_header.hpp"

namespace {

[[noreturn]] void broken(const char* what) {
  std::fprintf(stderr, "safetensors header fuzz: broken promise: %s\n", what);
  std::abort();
}

/// What the parser promises about a header it accepts.
void checkAccepted(const presence::runtime::SafetensorsHeader& header, std::size_t size) {
  using presence::runtime::StTensorInfo;
  if (header.dataOffset != 8 + header.headerBytes || header.dataOffset + header.dataBytes != size)
    broken("header and data sizes do not add up to the file");
  const StTensorInfo* previous = nullptr;
  for (const auto& t : header.tensors) {
    if (previous != nullptr && !(previous->name < t.name)) broken("tensors not sorted by unique name");
    previous = &t;
    if (t.begin > t.end || t.end > header.dataBytes) broken("a tensor lies outside the data buffer");
    std::uint64_t bytes = presence::runtime::stDtypeSize(t.dtype);
    for (const auto d : t.shape)
      if (d < 0 || __builtin_mul_overflow(bytes, static_cast<std::uint64_t>(d), &bytes))
        broken("a negative or overflowing shape was accepted");
    if (bytes != t.byteSize()) broken("a tensor's bytes do not match its shape and dtype");
    if (header.find(t.name) != &t) broken("find() misses a tensor");
  }
  // Overlaps, quadratically: affordable for the small inputs a fuzzer makes.
  if (header.tensors.size() <= 256)
    for (const auto& a : header.tensors)
      for (const auto& b : header.tensors)
        if (&a != &b && a.byteSize() > 0 && b.byteSize() > 0 && a.begin < b.end && b.begin < a.end)
          broken("overlapping tensors were accepted");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> file(reinterpret_cast<const std::byte*>(data), size);
  try {
    checkAccepted(presence::runtime::parseSafetensorsHeader(file, "fuzz.safetensors"), size);
  } catch (const presence::runtime::FormatError& e) {
    // A clean rejection, with a message for a person: it names the file and stays short even
    // when the input holds huge or binary names.
    const std::string_view what = e.what();
    if (what.rfind("fuzz.safetensors: ", 0) != 0) broken("the message does not start with the file name");
    if (what.size() > 1000) broken("the message is longer than 1000 characters");
  }
  return 0;
}
