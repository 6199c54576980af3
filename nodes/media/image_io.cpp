// Images through OpenImageIO: reading one or several images, writing PNG sequences.
#include <OpenImageIO/imageio.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <system_error>

#include "media_util.hpp"
#include "presence/core/atomic_file.hpp"
#include "presence/core/error.hpp"

namespace presence::media {

namespace fs = std::filesystem;
using namespace detail;

ImageBatch readImage(const fs::path& path) {
  checkReadable(path, "image");
  // Unassociated alpha: colours are read as stored, not multiplied by alpha (alpha is dropped).
  OIIO::ImageSpec config;
  config.attribute("oiio:UnassociatedAlpha", 1);
  auto input = OIIO::ImageInput::open(path.string(), &config);
  if (!input) {
    std::string cause = oiioCause(OIIO::geterror());
    if (cause.find("could not find a format reader") != std::string::npos)
      cause = "not an image format OpenImageIO knows";
    else
      cause += " (corrupt or truncated)";
    fail("read", "image", path, cause);
  }
  const OIIO::ImageSpec spec = input->spec();
  if (spec.width <= 0 || spec.height <= 0 || spec.nchannels <= 0)
    fail("read", "image", path, "the image has zero size");
  if (spec.depth > 1) fail("read", "image", path, "volume (3D) images are not supported");
  const std::size_t pixels = static_cast<std::size_t>(spec.width) * static_cast<std::size_t>(spec.height);
  if (pixels > (std::size_t(1) << 28) / std::max(1, spec.nchannels) * 4)
    fail("read", "image", path,
         "the image is too large (" + std::to_string(spec.width) + "x" + std::to_string(spec.height) + ")");

  std::vector<float> buffer(pixels * spec.nchannels);
  if (!input->read_image(0, 0, 0, spec.nchannels, OIIO::TypeDesc::FLOAT, buffer.data())) {
    std::string cause = oiioCause(input->geterror());
    fail("read", "image", path, cause + " (corrupt or truncated)");
  }
  input->close();

  ImageBatch image(1, spec.height, spec.width, 3);
  const int c = spec.nchannels;
  // Grey (+alpha) is copied into R, G and B; alpha and extra channels are dropped.
  for (std::size_t p = 0; p < pixels; ++p) {
    const float* s = buffer.data() + p * c;
    float* d = image.pixels.data() + p * 3;
    if (c >= 3) {
      d[0] = s[0];
      d[1] = s[1];
      d[2] = s[2];
    } else {
      d[0] = d[1] = d[2] = s[0];
    }
  }
  return image;
}

FitMode parseFitMode(std::string_view text) {
  if (text == "error") return FitMode::Error;
  if (text == "resize") return FitMode::Resize;
  throw core::InputError("unknown fit mode '" + std::string(text) + "' (expected 'error' or 'resize')");
}

ImageBatch readImages(const std::vector<fs::path>& paths, FitMode fit, const ProgressFn& progress,
                      const CancelFn& cancelled) {
  if (paths.empty()) throw core::InputError("cannot read images: no file given");
  ImageBatch first = readImage(paths[0]);
  if (progress) progress(1.0 / paths.size());
  if (paths.size() == 1) return first;

  ImageBatch batch(static_cast<int>(paths.size()), first.height, first.width, 3);
  std::copy(first.pixels.begin(), first.pixels.end(), batch.frame(0));
  for (std::size_t i = 1; i < paths.size(); ++i) {
    if (cancelled && cancelled()) throw core::Cancelled();
    ImageBatch view = readImage(paths[i]);
    if (view.width != first.width || view.height != first.height) {
      if (fit == FitMode::Error)
        throw core::InputError(
            "cannot combine images '" + paths[0].string() + "' (" + std::to_string(first.width) + "x" +
            std::to_string(first.height) + ") and '" + paths[i].string() + "' (" +
            std::to_string(view.width) + "x" + std::to_string(view.height) +
            "): the views differ in size (fit 'resize' resizes them to the first one's size)");
      view = resize(view, first.width, first.height);
    }
    std::copy(view.pixels.begin(), view.pixels.end(), batch.frame(static_cast<int>(i)));
    if (progress) progress(double(i + 1) / paths.size());
  }
  return batch;
}

std::string sequenceFileName(std::string_view prefix, int index, std::string_view extension) {
  char number[32];
  std::snprintf(number, sizeof number, "_%05d.", index);
  std::string name(prefix);
  name += number;
  name += extension;
  return name;
}

std::vector<std::string> writePng(const ImageBatch& frames, const fs::path& folder, std::string_view prefix,
                                  int bitsPerChannel, const ProgressFn& progress, const CancelFn& cancelled) {
  checkBatch(frames, "cannot write PNG images");
  if (bitsPerChannel != 8 && bitsPerChannel != 16)
    throw core::InputError("cannot write PNG images: bits per channel must be 8 or 16, not " +
                           std::to_string(bitsPerChannel));
  if (prefix.empty()) throw core::InputError("cannot write PNG images: the file name prefix is empty");

  core::AtomicFileSet files;
  std::vector<float> rgb;
  const auto format = bitsPerChannel == 16 ? OIIO::TypeDesc::UINT16 : OIIO::TypeDesc::UINT8;
  for (int i = 0; i < frames.count; ++i) {
    if (cancelled && cancelled()) throw core::Cancelled();
    const fs::path target = folder / sequenceFileName(prefix, i, "png");
    const fs::path& temp = files.add(target);
    frameRgb(frames, i, rgb);
    for (float& v : rgb) v = std::isnan(v) ? 0.0f : std::clamp(v, 0.0f, 1.0f);

    auto output = OIIO::ImageOutput::create("png");
    if (!output) fail("write", "image", target, oiioCause(OIIO::geterror()));
    OIIO::ImageSpec spec(frames.width, frames.height, 3, format);
    spec.attribute("Software", "Presence");
    if (!output->open(temp.string(), spec) || !output->write_image(OIIO::TypeDesc::FLOAT, rgb.data()) ||
        !output->close())
      fail("write", "image", target, oiioCause(output->geterror()));
    if (progress) progress(double(i + 1) / frames.count);
  }
  files.commitAll();
  return files.targets();
}

}  // namespace presence::media
