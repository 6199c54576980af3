#include "face_renderer.hpp"

#include <algorithm>
#include <cmath>

namespace presence::nodes::data {
namespace {

struct V2 {
  float x, y;
};
float len(V2 p) { return std::sqrt(p.x * p.x + p.y * p.y); }

// Signed distances in local head units (negative inside).
float sdEllipse(V2 p, V2 c, V2 r) {
  const V2 q{(p.x - c.x) / r.x, (p.y - c.y) / r.y};
  const float k0 = len(q);
  const float k1 = len({(p.x - c.x) / (r.x * r.x), (p.y - c.y) / (r.y * r.y)});
  if (k1 < 1e-6f) return -std::min(r.x, r.y);
  return k0 * (k0 - 1.0f) / k1;
}
float sdCircle(V2 p, V2 c, float r) { return len({p.x - c.x, p.y - c.y}) - r; }
float sdBox(V2 p, V2 c, V2 h) {
  const float qx = std::abs(p.x - c.x) - h.x, qy = std::abs(p.y - c.y) - h.y;
  return len({std::max(qx, 0.0f), std::max(qy, 0.0f)}) + std::min(std::max(qx, qy), 0.0f);
}
float sdCapsule(V2 p, V2 a, V2 b, float r) {
  const V2 pa{p.x - a.x, p.y - a.y}, ba{b.x - a.x, b.y - a.y};
  const float h = std::clamp((pa.x * ba.x + pa.y * ba.y) / (ba.x * ba.x + ba.y * ba.y), 0.0f, 1.0f);
  return len({pa.x - ba.x * h, pa.y - ba.y * h}) - r;
}

Rgb scaled(const Rgb& c, float k) { return {c[0] * k, c[1] * k, c[2] * k}; }
Rgb mixed(const Rgb& a, const Rgb& b, float t) {
  return {a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t, a[2] + (b[2] - a[2]) * t};
}

// Paints one face's layers over `px` at local point p; `aa` converts local units to pixels.
void paintFace(Rgb& px, V2 p, const FaceParams& f, const FacePose& pose, float aa) {
  auto paint = [&](float d, const Rgb& c) {
    const float cover = std::clamp(0.5f - d * aa, 0.0f, 1.0f);
    if (cover > 0.0f) px = mixed(px, c, cover);
  };
  const float W = f.width * (1.0f - 0.12f * std::abs(pose.yaw)), H = f.height;
  const float fx = pose.yaw * 0.28f * f.width;  // features follow the turn of the head
  const float fy = pose.pitch * 0.12f * H;
  const float squeeze = 1.0f - 0.35f * std::abs(pose.yaw);
  const Rgb dark = scaled(f.hair, 0.7f);

  if (f.hairstyle == Hairstyle::Long)
    paint(sdEllipse(p, {-fx * 0.2f, 0.14f * H}, {W * 1.22f, H * 1.08f}), f.hair);
  if (f.hairstyle == Hairstyle::Bun) paint(sdCircle(p, {-fx * 0.3f, -H * 1.02f}, 0.13f), f.hair);
  paint(sdBox(p, {fx * 0.2f, H * 1.05f}, {0.11f, H * 0.4f}), scaled(f.skin, 0.85f));  // neck
  for (int side : {-1, 1}) {
    const float ex = side * W * 0.98f - fx * 0.5f;
    if (side * pose.yaw < 0.5f) paint(sdEllipse(p, {ex, 0.02f}, {0.055f, 0.09f}), scaled(f.skin, 0.9f));
  }
  paint(sdEllipse(p, {0.0f, 0.0f}, {W, H}), f.skin);  // head

  // Hair on top: the hair ellipse cut by a line across the forehead.
  if (f.hairstyle != Hairstyle::Bald) {
    const float line = f.hairstyle == Hairstyle::Fringe ? -H * 0.22f : -H * 0.48f;
    const float d =
        std::max(sdEllipse(p, {-fx * 0.15f, -0.05f * H}, {W * 1.07f, H * 1.0f}), p.y - (line + fy * 0.5f));
    paint(d, f.hair);
  }

  // Eyes, brows.
  const float raise = pose.expression == Expression::Raised ? 0.045f : 0.0f;
  const float eyeOpen = pose.expression == Expression::Smile    ? 0.7f
                        : pose.expression == Expression::Raised ? 1.2f
                                                                : 1.0f;
  const float ey = -0.08f * H / 0.44f + fy;
  for (int side : {-1, 1}) {
    const float ex = fx + side * f.eyeSpacing * f.width * squeeze;
    const float k = std::clamp(1.0f - 0.3f * side * pose.yaw, 0.6f, 1.3f);  // the far eye looks smaller
    paint(sdCapsule(p, {ex - 0.06f * k, ey - 0.085f - raise},
                    {ex + 0.06f * k, ey - 0.095f - raise - side * 0.01f}, 0.016f),
          dark);
    paint(sdEllipse(p, {ex, ey}, {0.066f * k, 0.04f * eyeOpen}), {0.95f, 0.95f, 0.93f});
    paint(std::max(sdCircle(p, {ex + pose.yaw * 0.02f, ey}, 0.032f * k),
                   sdEllipse(p, {ex, ey}, {0.066f * k, 0.04f * eyeOpen})),
          f.eyes);
    paint(sdCircle(p, {ex + pose.yaw * 0.02f, ey}, 0.013f * k), {0.05f, 0.05f, 0.05f});
    if (f.glasses) {
      const float ring = std::abs(sdCircle(p, {ex, ey}, 0.09f * k)) - 0.012f;
      paint(ring, f.accessory);
    }
  }
  if (f.glasses)
    paint(sdCapsule(p, {fx - f.eyeSpacing * f.width * squeeze + 0.09f, ey},
                    {fx + f.eyeSpacing * f.width * squeeze - 0.09f, ey}, 0.01f),
          f.accessory);

  // Nose.
  paint(sdCapsule(p, {fx * 1.1f, ey + 0.05f}, {fx * 1.35f + 0.01f, 0.11f + fy}, 0.018f),
        scaled(f.skin, 0.8f));

  // Mouth: lips, then the open interior; a smile bends the centre line (corners up).
  const float my = 0.22f * H / 0.44f + fy, mw = f.mouthWidth * f.width * squeeze;
  const float bend = pose.expression == Expression::Smile ? 2.2f : 0.0f;
  const V2 q{p.x, p.y + bend * (p.x - fx) * (p.x - fx)};
  const float open = std::clamp(pose.mouthOpen, 0.0f, 1.0f);
  const Rgb lips = mixed(f.skin, {0.75f, 0.2f, 0.25f}, 0.6f);
  paint(sdEllipse(q, {fx, my}, {mw * (1.0f + 0.15f * bend / 2.2f), 0.018f + 0.075f * open}), lips);
  if (open > 0.02f) paint(sdEllipse(q, {fx, my}, {mw * 0.82f, 0.07f * open}), {0.18f, 0.04f, 0.06f});

  if (f.earrings)
    for (int side : {-1, 1})
      if (side * pose.yaw < 0.5f)
        paint(sdCircle(p, {side * W * 0.98f - fx * 0.5f, 0.13f}, 0.024f), f.accessory);
  if (f.hat) {
    paint(sdBox(p, {-fx * 0.1f, -H * 0.98f}, {W * 0.78f, H * 0.26f}), f.accessory);
    paint(sdBox(p, {-fx * 0.1f, -H * 0.72f}, {W * 1.25f, 0.03f}), scaled(f.accessory, 0.8f));
  }
}

struct Palette {
  const char* name;
  Rgb colour;
};
constexpr Palette kSkins[] = {{"pale", {0.96f, 0.84f, 0.76f}},  {"fair", {0.92f, 0.76f, 0.62f}},
                              {"olive", {0.78f, 0.62f, 0.45f}}, {"tan", {0.69f, 0.5f, 0.35f}},
                              {"brown", {0.52f, 0.35f, 0.24f}}, {"dark", {0.35f, 0.23f, 0.16f}}};
constexpr Palette kHairs[] = {{"black", {0.08f, 0.07f, 0.07f}}, {"brown", {0.38f, 0.23f, 0.12f}},
                              {"blond", {0.9f, 0.78f, 0.45f}},  {"red", {0.72f, 0.25f, 0.1f}},
                              {"grey", {0.65f, 0.65f, 0.67f}},  {"blue", {0.15f, 0.35f, 0.8f}},
                              {"white", {0.93f, 0.93f, 0.9f}}};
constexpr Palette kEyes[] = {{"brown", {0.4f, 0.24f, 0.1f}},
                             {"blue", {0.2f, 0.45f, 0.85f}},
                             {"green", {0.2f, 0.6f, 0.3f}},
                             {"grey", {0.5f, 0.55f, 0.6f}},
                             {"amber", {0.8f, 0.55f, 0.15f}}};
constexpr Palette kAccessories[] = {{"black", {0.1f, 0.1f, 0.12f}},
                                    {"red", {0.8f, 0.12f, 0.12f}},
                                    {"gold", {0.85f, 0.7f, 0.2f}},
                                    {"green", {0.15f, 0.55f, 0.25f}}};

template <std::size_t N>
const Palette& pick(const Palette (&p)[N], std::size_t i) {
  return p[i % N];
}

}  // namespace

const char* toString(Hairstyle h) {
  switch (h) {
    case Hairstyle::Short:
      return "short";
    case Hairstyle::Long:
      return "long";
    case Hairstyle::Bald:
      return "bald";
    case Hairstyle::Fringe:
      return "fringe";
    default:
      return "bun";
  }
}
const char* toString(Expression e) {
  return e == Expression::Smile ? "smile" : e == Expression::Raised ? "raised_eyebrows" : "neutral";
}

FaceParams FaceParams::random(std::mt19937_64& rng, int index, std::size_t off) {
  std::uniform_real_distribution<float> u(0.0f, 1.0f);
  FaceParams f;
  // Index-driven choices with different strides make neighbouring identities differ in every
  // attribute; the world's offset makes each seed a different world.
  const auto& skin = pick(kSkins, index * 1 + off);
  const auto& hair = pick(kHairs, index * 3 + off / 2);
  const auto& eyes = pick(kEyes, index * 2 + off / 3);
  f.skin = skin.colour;
  f.hair = hair.colour;
  f.eyes = eyes.colour;
  f.skinName = skin.name;
  f.hairName = hair.name;
  f.eyeName = eyes.name;
  f.hairstyle = static_cast<Hairstyle>((index + off / 5) % 5);
  f.width = 0.29f + 0.09f * u(rng);
  f.height = 0.4f + 0.06f * u(rng);
  f.eyeSpacing = 0.34f + 0.08f * u(rng);
  f.mouthWidth = 0.3f + 0.12f * u(rng);
  const unsigned bits = static_cast<unsigned>(index * 3 + off / 7) % 8;
  f.glasses = bits & 1u;
  f.hat = (bits & 2u) && f.hairstyle != Hairstyle::Bun;
  f.earrings = bits & 4u;
  f.accessory = pick(kAccessories, index + off).colour;
  return f;
}

std::string FaceParams::appearance() const {
  std::string s = "a person with ";
  switch (hairstyle) {
    case Hairstyle::Bald:
      s += "a bald head";
      break;
    case Hairstyle::Fringe:
      s += hairName + " hair with a fringe";
      break;
    case Hairstyle::Bun:
      s += hairName + " hair in a bun";
      break;
    default:
      s += std::string(toString(hairstyle)) + " " + hairName + " hair";
  }
  s += ", " + skinName + " skin and " + eyeName + " eyes";
  std::vector<std::string> extras;
  if (glasses) extras.push_back("glasses");
  if (hat) extras.push_back("a hat");
  if (earrings) extras.push_back("earrings");
  for (std::size_t i = 0; i < extras.size(); ++i)
    s += (i == 0 ? ", wearing " : i + 1 == extras.size() ? " and " : ", ") + extras[i];
  return s;
}

void renderScene(core::ImageBatch& out, int index, const Rgb& top, const Rgb& bottom,
                 const std::vector<PlacedFace>& faces, const CameraWindow& camera) {
  const int W = out.width, H = out.height;
  const float unit = 1.0f / (H * camera.zoom);  // scene units per pixel
  for (int y = 0; y < H; ++y) {
    const float t = float(y) / std::max(1, H - 1);
    for (int x = 0; x < W; ++x) {
      const float sx = camera.centerX + (x + 0.5f - W * 0.5f) * unit;
      const float sy = camera.centerY + (y + 0.5f - H * 0.5f) * unit;
      Rgb px = mixed(top, bottom, t);
      for (const auto& f : faces) {
        const V2 p{(sx - f.x) / f.scale, (sy - f.y) / f.scale};
        if (std::abs(p.x) > 0.75f || p.y < -0.8f || p.y > 0.8f) continue;  // outside this face's box
        paintFace(px, p, *f.face, f.pose, f.scale / unit);
      }
      for (int c = 0; c < 3; ++c) out.at(index, y, x, c) = std::clamp(px[c], 0.0f, 1.0f);
    }
  }
}

std::array<float, 4> headBoxInFrame(const PlacedFace& face, const CameraWindow& camera, int width, int height) {
  // The inverse of renderScene's pixel-to-scene mapping, at pixel edges.
  const float unit = 1.0f / (height * camera.zoom);
  const float rx = face.face->width * face.scale, ry = face.face->height * face.scale;
  auto shareX = [&](float sx) { return std::clamp(((sx - camera.centerX) / unit + width * 0.5f) / width, 0.0f, 1.0f); };
  auto shareY = [&](float sy) { return std::clamp(((sy - camera.centerY) / unit + height * 0.5f) / height, 0.0f, 1.0f); };
  return {shareX(face.x - rx), shareY(face.y - ry), shareX(face.x + rx), shareY(face.y + ry)};
}

Rgb mouthRegionMean(const core::ImageBatch& frames, int index, const PlacedFace& face,
                    const CameraWindow& camera) {
  const int W = frames.width, H = frames.height;
  const float unit = 1.0f / (H * camera.zoom);
  const FaceParams& f = *face.face;
  const float fx = face.pose.yaw * 0.28f * f.width,
              my = 0.22f * f.height / 0.44f + face.pose.pitch * 0.12f * f.height;
  const float hw = f.mouthWidth * f.width * 0.7f, hh = 0.06f;
  Rgb sum{0, 0, 0};
  int n = 0;
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) {
      const float lx = ((camera.centerX + (x + 0.5f - W * 0.5f) * unit) - face.x) / face.scale;
      const float ly = ((camera.centerY + (y + 0.5f - H * 0.5f) * unit) - face.y) / face.scale;
      if (std::abs(lx - fx) > hw || std::abs(ly - my) > hh) continue;
      for (int c = 0; c < 3; ++c) sum[c] += frames.at(index, y, x, c);
      ++n;
    }
  return n == 0 ? sum : scaled(sum, 1.0f / n);
}

}  // namespace presence::nodes::data
