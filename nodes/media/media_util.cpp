#include "media_util.hpp"

#include <algorithm>
#include <cctype>
#include <system_error>

#include "presence/core/error.hpp"

namespace presence::media {

namespace fs = std::filesystem;

namespace detail {

void fail(std::string_view verb, std::string_view what, const fs::path& path, std::string_view cause) {
  std::string message = "cannot ";
  message.append(verb).append(" ").append(what).append(" '").append(path.string()).append("': ");
  message.append(cause);
  throw core::InputError(message);
}

void checkReadable(const fs::path& path, std::string_view what) {
  std::error_code ec;
  if (path.empty())
    throw core::InputError(std::string("cannot read ") + std::string(what) + ": no file given");
  if (!fs::exists(path, ec)) fail("read", what, path, "no such file");
  if (fs::is_directory(path, ec)) fail("read", what, path, "it is a folder, not a file");
  if (fs::file_size(path, ec) == 0 && !ec) fail("read", what, path, "the file is empty");
}

void checkBatch(const ImageBatch& images, std::string_view what) {
  if (images.empty()) throw core::InputError(std::string(what) + ": the image batch is empty");
  if (images.pixels.size() != static_cast<std::size_t>(images.count) * images.frameSize())
    throw core::InputError(std::string(what) + ": the image batch's pixel count does not match its shape");
}

void frameRgb(const ImageBatch& images, int index, std::vector<float>& out) {
  const std::size_t pixels = static_cast<std::size_t>(images.width) * images.height;
  out.resize(pixels * 3);
  const float* src = images.frame(index);
  const int c = images.channels;
  for (std::size_t p = 0; p < pixels; ++p) {
    const float* s = src + p * c;
    float* d = out.data() + p * 3;
    if (c >= 3) {
      d[0] = s[0];
      d[1] = s[1];
      d[2] = s[2];
    } else {
      d[0] = d[1] = d[2] = s[0];
    }
  }
}

std::string oiioCause(std::string error) {
  // "OpenImageIO could not open "x.png" as png: Not a PNG file" -> "Not a PNG file"
  while (!error.empty() && (error.back() == '\n' || error.back() == ' ')) error.pop_back();
  auto as = error.find("\" as ");
  if (as != std::string::npos) {
    auto colon = error.find(": ", as);
    if (colon != std::string::npos) error = error.substr(colon + 2);
  }
  // Several lines (one per plugin tried): keep the first.
  auto newline = error.find('\n');
  if (newline != std::string::npos) error = error.substr(0, newline);
  if (error.empty()) error = "unknown OpenImageIO error";
  // "Not a PNG file" -> "not a PNG file" (but "PNG ..." stays as it is).
  if (error.size() > 1 && std::isupper(static_cast<unsigned char>(error[0])) &&
      std::islower(static_cast<unsigned char>(error[1])))
    error[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(error[0])));
  return error;
}

}  // namespace detail

}  // namespace presence::media
