// A small anti-aliased 2-D rasteriser that draws procedural faces (namespace
// presence::nodes::data). Shapes are signed-distance functions; a pixel's coverage is
// clamp(0.5 - distance, 0, 1), which gives one pixel of anti-aliasing at any scale.
// Reentrant; no global state.
#pragma once

#include <array>
#include <random>
#include <string>
#include <vector>

#include "presence/core/media.hpp"

namespace presence::nodes::data {

using Rgb = std::array<float, 3>;

enum class Hairstyle { Short, Long, Bald, Fringe, Bun };
enum class Expression { Neutral, Smile, Raised };

const char* toString(Hairstyle h);
const char* toString(Expression e);

/// What makes one identity's face: drawn the same in every clip.
struct FaceParams {
  float width = 0.34f, height = 0.44f;  ///< head ellipse radii as a share of the frame height
  Rgb skin{}, hair{}, eyes{};
  Hairstyle hairstyle = Hairstyle::Short;
  bool glasses = false, hat = false, earrings = false;
  Rgb accessory{};           ///< hat / glasses / earrings colour
  float eyeSpacing = 0.38f;  ///< share of the head width
  float mouthWidth = 0.36f;  ///< share of the head width
  std::string skinName, hairName, eyeName;

  /// Identity `index` of a world: palette entries and styles step with the index (from the
  /// world's `offset`) so neighbouring identities differ; shape details come from `rng`.
  static FaceParams random(std::mt19937_64& rng, int index, std::size_t offset);
  /// "a person with short black hair, brown eyes, round glasses and a hat".
  std::string appearance() const;
};

/// How the head is held and what it expresses in one frame.
struct FacePose {
  float yaw = 0.0f;    ///< -1 (turned to its right, we see the left cheek) .. 1
  float pitch = 0.0f;  ///< -1 (looking up) .. 1 (looking down)
  Expression expression = Expression::Neutral;
  float mouthOpen = 0.0f;  ///< 0 closed .. 1 wide open
};

/// Where the virtual camera looks: scene units are frame heights of the un-zoomed view, the
/// scene centre is (0, 0). Pan moves the window, zoom > 1 shows less of the scene.
struct CameraWindow {
  float centerX = 0.0f, centerY = 0.0f, zoom = 1.0f;
};

/// A face placed in the scene: centre in scene units, scale 1 = a full-size head.
struct PlacedFace {
  const FaceParams* face = nullptr;
  FacePose pose;
  float x = 0.0f, y = 0.0f, scale = 1.0f;
};

/// Draws a background (vertical gradient from `top` to `bottom`) and the faces into frame
/// `index` of `out` (3 channels) as seen through `camera`.
void renderScene(core::ImageBatch& out, int index, const Rgb& top, const Rgb& bottom,
                 const std::vector<PlacedFace>& faces, const CameraWindow& camera);

/// Where the head's ellipse lands in a frame of `width` x `height` pixels seen through `camera`,
/// as shares of the frame {x0, y0, x1, y1}, clipped to it (x0 >= x1 or y0 >= y1: not in view).
std::array<float, 4> headBoxInFrame(const PlacedFace& face, const CameraWindow& camera, int width, int height);

/// The mean RGB of the mouth region of a face drawn at (x, y, scale) in a frame rendered with
/// `camera` (for tests and diagnostics): darker means more open.
Rgb mouthRegionMean(const core::ImageBatch& frames, int index, const PlacedFace& face,
                    const CameraWindow& camera);

}  // namespace presence::nodes::data
