// Image operations for identity references: resize, centre crop, dense near-square view grid,
// frame repetition, hue rotation.
#include <OpenImageIO/imagebuf.h>
#include <OpenImageIO/imagebufalgo.h>

#include <algorithm>
#include <cmath>
#include <cstring>

#include "media_util.hpp"
#include "presence/core/error.hpp"

namespace presence::media {

using namespace detail;

namespace {

constexpr int kMaxSide = 65536;

void checkSize(int width, int height, std::string_view what) {
  if (width < 1 || height < 1 || width > kMaxSide || height > kMaxSide)
    throw core::InputError(std::string(what) + ": the target size " + std::to_string(width) + "x" +
                           std::to_string(height) + " is out of range (1.." + std::to_string(kMaxSide) + ")");
}

/// One frame of `images`, copied into a batch of its own.
ImageBatch singleFrame(const ImageBatch& images, int index) {
  ImageBatch one(1, images.height, images.width, images.channels);
  std::memcpy(one.pixels.data(), images.frame(index), images.frameSize() * sizeof(float));
  return one;
}

}  // namespace

ImageBatch resize(const ImageBatch& images, int width, int height) {
  checkBatch(images, "cannot resize images");
  checkSize(width, height, "cannot resize images");
  if (width == images.width && height == images.height) return images;

  ImageBatch out(images.count, height, width, images.channels);
  const OIIO::ImageSpec srcSpec(images.width, images.height, images.channels, OIIO::TypeDesc::FLOAT);
  const OIIO::ImageSpec dstSpec(width, height, images.channels, OIIO::TypeDesc::FLOAT);
  for (int i = 0; i < images.count; ++i) {
    // Both buffers are wrapped, not copied; OpenImageIO only reads from `src`.
    OIIO::ImageBuf src(srcSpec, const_cast<float*>(images.frame(i)));
    OIIO::ImageBuf dst(dstSpec, out.frame(i));
    if (!OIIO::ImageBufAlgo::resize(dst, src))
      throw core::InputError("cannot resize images: " + oiioCause(dst.geterror()));
  }
  return out;
}

ImageBatch centerCrop(const ImageBatch& images, int width, int height) {
  checkBatch(images, "cannot crop images");
  checkSize(width, height, "cannot crop images");
  const int srcW = images.width, srcH = images.height;
  int cropW = srcW, cropH = srcH;
  // Largest centred region with the target's aspect ratio (64-bit products: no overflow).
  if (static_cast<std::int64_t>(srcW) * height > static_cast<std::int64_t>(width) * srcH)
    cropW = std::clamp(static_cast<int>(std::lround(double(srcH) * width / height)), 1, srcW);
  else
    cropH = std::clamp(static_cast<int>(std::lround(double(srcW) * height / width)), 1, srcH);
  if (cropW == srcW && cropH == srcH) return resize(images, width, height);

  const int x0 = (srcW - cropW) / 2, y0 = (srcH - cropH) / 2;
  const int c = images.channels;
  ImageBatch cropped(images.count, cropH, cropW, c);
  for (int i = 0; i < images.count; ++i)
    for (int y = 0; y < cropH; ++y)
      std::memcpy(&cropped.at(i, y, 0, 0),
                  images.frame(i) + (static_cast<std::size_t>(y0 + y) * srcW + x0) * c,
                  static_cast<std::size_t>(cropW) * c * sizeof(float));
  return resize(cropped, width, height);
}

GridLayout gridLayout(int n, int width, int height) {
  if (n < 1) throw core::InputError("cannot pack views: no views given");
  checkSize(width, height, "cannot pack views");
  GridLayout layout;
  layout.cols = 1;
  while (layout.cols * layout.cols < n) ++layout.cols;  // ceil(sqrt(n)), exactly
  layout.rows = (n + layout.cols - 1) / layout.cols;
  if (width < layout.cols || height < layout.rows)
    throw core::InputError("cannot pack " + std::to_string(n) + " views into " + std::to_string(width) + "x" +
                           std::to_string(height) + ": the grid is " + std::to_string(layout.cols) + "x" +
                           std::to_string(layout.rows) + " cells");
  const int cellW = width / layout.cols, cellH = height / layout.rows;
  for (int k = 0; k < n; ++k) {
    const int row = k / layout.cols, col = k % layout.cols;
    Rect r;
    r.x = col * cellW;
    r.y = row * cellH;
    r.width = col == layout.cols - 1 ? width - r.x : cellW;
    r.height = row == layout.rows - 1 ? height - r.y : cellH;
    layout.cells.push_back(r);
  }
  return layout;
}

PackedViews packViewsGrid(const ImageBatch& views, int width, int height) {
  checkBatch(views, "cannot pack views");
  PackedViews packed;
  packed.layout = gridLayout(views.count, width, height);
  packed.image = ImageBatch(1, height, width, views.channels);
  const int c = views.channels;
  for (int k = 0; k < views.count; ++k) {
    const Rect& r = packed.layout.cells[k];
    ImageBatch cell = centerCrop(singleFrame(views, k), r.width, r.height);
    for (int y = 0; y < r.height; ++y)
      std::memcpy(&packed.image.at(0, r.y + y, r.x, 0), &cell.at(0, y, 0, 0),
                  static_cast<std::size_t>(r.width) * c * sizeof(float));
  }
  return packed;
}

ImageBatch repeatFrames(const ImageBatch& images, int count) {
  checkBatch(images, "cannot repeat frames");
  if (count < 1) throw core::InputError("cannot repeat frames: the count must be at least 1");
  if (static_cast<std::int64_t>(images.count) * count > 1000000)
    throw core::InputError("cannot repeat frames: " + std::to_string(images.count) + " x " +
                           std::to_string(count) + " frames is too many");
  ImageBatch out(images.count * count, images.height, images.width, images.channels);
  const std::size_t bytes = images.pixels.size() * sizeof(float);
  for (int r = 0; r < count; ++r)
    std::memcpy(out.pixels.data() + images.pixels.size() * r, images.pixels.data(), bytes);
  return out;
}

ImageBatch toRgb(const ImageBatch& images) {
  if (images.channels == 3) return images;
  checkBatch(images, "cannot convert images to RGB");
  ImageBatch out(images.count, images.height, images.width, 3);
  std::vector<float> rgb;
  for (int i = 0; i < images.count; ++i) {
    frameRgb(images, i, rgb);
    std::copy(rgb.begin(), rgb.end(), out.frame(i));
  }
  return out;
}

ImageBatch rotateHue(const ImageBatch& images, double radians) {
  checkBatch(images, "cannot rotate hues");
  if (images.channels != 3)
    throw core::InputError("cannot rotate hues: the images have " + std::to_string(images.channels) +
                           " channels, not 3 (RGB)");
  if (!std::isfinite(radians)) throw core::InputError("cannot rotate hues: the angle is not a finite number");
  // Rodrigues' rotation about the unit vector (1,1,1)/sqrt(3): R = cI + (1-c) uu^T + s[u]x.
  const double c = std::cos(radians), s = std::sin(radians) / std::sqrt(3.0), t = (1.0 - c) / 3.0;
  const float m[3][3] = {{float(c + t), float(t - s), float(t + s)},
                         {float(t + s), float(c + t), float(t - s)},
                         {float(t - s), float(t + s), float(c + t)}};
  ImageBatch out = images;
  float* p = out.pixels.data();
  for (std::size_t i = 0, n = out.pixels.size(); i < n; i += 3, p += 3) {
    const float r = p[0], g = p[1], b = p[2];
    for (int k = 0; k < 3; ++k) p[k] = std::clamp(m[k][0] * r + m[k][1] * g + m[k][2] * b, 0.0f, 1.0f);
  }
  return out;
}

}  // namespace presence::media
