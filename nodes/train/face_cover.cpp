#include "face_cover.hpp"

#include <algorithm>
#include <cmath>

#include "media_io.hpp"
#include "presence/core/error.hpp"

namespace presence::nodes::train {

namespace io = presence::media;

at::Tensor faceCover(const std::vector<presence::data::Subject>& subjects, int width, int height, int cropWidth,
                     int cropHeight, int64_t compression) {
  if (compression < 1 || cropWidth % compression != 0 || cropHeight % compression != 0)
    throw core::InputError("face cover: a " + std::to_string(cropWidth) + "x" + std::to_string(cropHeight) +
                           " crop is not a multiple of the latent compression " + std::to_string(compression));
  // A one-channel picture of the boxes at the frames' size (pixel centres inside a box), cropped
  // and resized exactly as the frames are, then averaged over each latent position's pixels.
  core::ImageBatch mask(1, height, width, 1);
  bool any = false;
  for (const auto& s : subjects) {
    if (!s.faceBox) continue;
    any = true;
    const auto& b = *s.faceBox;
    for (int y = 0; y < height; ++y) {
      const double cy = (y + 0.5) / height;
      if (cy < b.y0 || cy > b.y1) continue;
      for (int x = 0; x < width; ++x) {
        const double cx = (x + 0.5) / width;
        if (cx >= b.x0 && cx <= b.x1) mask.at(0, y, x, 0) = 1.0f;
      }
    }
  }
  if (!any) return {};
  const core::ImageBatch cropped = io::centerCrop(mask, cropWidth, cropHeight);
  const int64_t h = cropHeight / compression, w = cropWidth / compression;
  at::Tensor pixels = at::from_blob(const_cast<float*>(cropped.pixels.data()), {h, compression, w, compression},
                                    at::TensorOptions().dtype(at::kFloat))
                          .clone();
  return pixels.mean({1, 3}).clamp(0.0, 1.0).reshape({1, 1, 1, h, w});
}

}  // namespace presence::nodes::train
