// Internal helpers shared by the media readers, writers and operations. Not installed.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "media_io.hpp"

namespace presence::media::detail {

/// Throws core::InputError("cannot <verb> <what> '<path>': <cause>").
[[noreturn]] void fail(std::string_view verb, std::string_view what, const std::filesystem::path& path,
                       std::string_view cause);

/// Throws InputError when `path` is empty, missing, a folder or an empty file.
void checkReadable(const std::filesystem::path& path, std::string_view what);

/// Throws InputError("<what>: ...") when the batch is empty or its pixel count is inconsistent.
void checkBatch(const ImageBatch& images, std::string_view what);

/// Frame `index` as interleaved RGB (grey replicated, extra channels dropped) into `out`.
void frameRgb(const ImageBatch& images, int index, std::vector<float>& out);

/// The useful part of an OpenImageIO error message.
std::string oiioCause(std::string error);

}  // namespace presence::media::detail
