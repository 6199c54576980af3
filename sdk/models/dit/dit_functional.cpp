#include "presence/models/dit/dit_functional.hpp"

#include <ATen/core/grad_mode.h>
#include <torch/version.h>

#include <cmath>
#include <string>
#include <vector>

#include "presence/core/error.hpp"

#ifdef PRESENCE_WITH_CUDA
#include "cuda/rope_cuda.hpp"
#endif

namespace presence::models::dit {
namespace {

[[noreturn]] void fail(const std::string& what) { throw core::Error("DiT: " + what); }

}  // namespace

at::Tensor sinusoidalEmbedding(int64_t dim, const at::Tensor& t) {
  if (dim <= 0 || dim % 2 != 0)
    fail("sinusoidal embedding dim must be positive and even, got " + std::to_string(dim));
  const int64_t half = dim / 2;
  const auto f64 = at::TensorOptions().dtype(at::kDouble).device(t.device());
  const at::Tensor position = t.reshape({-1}).to(at::kDouble);
  // torch.pow(10000, -arange(half) / half)
  const at::Tensor freqs = at::pow(10000.0, -at::arange(half, f64).div(static_cast<double>(half)));
  const at::Tensor sinusoid = at::outer(position, freqs);
  return at::cat({at::cos(sinusoid), at::sin(sinusoid)}, 1);
}

at::Tensor ropeFrequencies(int64_t pairs, double theta) {
  if (pairs <= 0) fail("RoPE needs at least one pair");
  // rope_params(max_len, dim = 2·pairs): 1 / theta^(arange(0, dim, 2) / dim)
  const auto f64 = at::TensorOptions().dtype(at::kDouble);
  const at::Tensor exponent = at::arange(0, 2 * pairs, 2, f64).div(static_cast<double>(2 * pairs));
  return at::pow(theta, exponent).reciprocal();
}

at::Tensor ropeAngles(const TowerConfig& tower, const at::Tensor& positions) {
  const int64_t pairs = tower.ropePairs();
  const int64_t tPairs = tower.ropeTimePairs();
  const at::Tensor pos = positions.to(at::kDouble);
  const at::Tensor ft = ropeFrequencies(tPairs, tower.ropeTheta).to(pos.device());
  if (tower.isVideo()) {
    if (pos.dim() < 1 || pos.size(-1) != 3) fail("video RoPE positions must end in (f, h, w)");
    const int64_t sPairs = tower.ropeSpacePairs();
    const at::Tensor fs = ropeFrequencies(sPairs, tower.ropeTheta).to(pos.device());
    return at::cat({pos.select(-1, 0).unsqueeze(-1) * ft, pos.select(-1, 1).unsqueeze(-1) * fs,
                    pos.select(-1, 2).unsqueeze(-1) * fs},
                   -1);
  }
  at::Tensor rotated = pos.unsqueeze(-1) * (ft * tower.temporalRopeScale);
  if (pairs == tPairs) return rotated;
  std::vector<int64_t> restShape(pos.sizes().begin(), pos.sizes().end());
  restShape.push_back(pairs - tPairs);
  return at::cat({rotated, at::zeros(restShape, rotated.options())}, -1);
}

at::Tensor gridPositions(int64_t frames, int64_t height, int64_t width, int64_t frameOffset) {
  const auto f64 = at::TensorOptions().dtype(at::kDouble);
  const at::Tensor f =
      at::arange(frameOffset, frameOffset + frames, f64).view({frames, 1, 1}).expand({frames, height, width});
  const at::Tensor h = at::arange(height, f64).view({1, height, 1}).expand({frames, height, width});
  const at::Tensor w = at::arange(width, f64).view({1, 1, width}).expand({frames, height, width});
  return at::stack({f, h, w}, -1).reshape({frames * height * width, 3});
}

RopeTable ropeTable(const at::Tensor& angles, const at::Device& device, bool roundResultToBf16) {
  at::Tensor a = angles.to(at::kDouble);
  if (a.dim() == 2) a = a.unsqueeze(0);
  if (a.dim() != 3) fail("RoPE angles must be [L, P] or [B, L, P]");
  RopeTable table;
  // torch.polar(ones, angles) in float64, then complex64 for the multiply.
  table.rotation = at::polar(at::ones_like(a), a).to(at::kComplexFloat).to(device).unsqueeze(2);
  table.roundResultToBf16 = roundResultToBf16;
  return table;
}

at::Tensor applyRope(const at::Tensor& x, const RopeTable& table) {
  if (x.dim() != 4) fail("RoPE input must be [B, L, heads, headDim]");
  const int64_t pairs = x.size(3) / 2;
  if (x.size(3) % 2 != 0 || table.rotation.size(3) != pairs || table.rotation.size(1) != x.size(1))
    fail("RoPE table [" + std::to_string(table.rotation.size(1)) + " tokens, " +
         std::to_string(table.rotation.size(3)) + " pairs] does not fit input of " +
         std::to_string(x.size(1)) + " tokens, head dim " + std::to_string(x.size(3)));
#ifdef PRESENCE_WITH_CUDA
  // One kernel instead of three passes; it has no backward, so not where a graph is recorded.
  if (x.is_cuda() && table.rotation.is_cuda() && !(at::GradMode::is_enabled() && x.requires_grad()))
    return cuda::applyRope(x, table.rotation, table.roundResultToBf16);
#endif
  // view_as_complex(x.float().reshape(..., pairs, 2)) * exp(i·angle), as rope_apply does.
  const at::Tensor z =
      at::view_as_complex(x.to(at::kFloat).reshape({x.size(0), x.size(1), x.size(2), pairs, 2}).contiguous());
  at::Tensor out = at::view_as_real(z * table.rotation).flatten(3);
  if (table.roundResultToBf16) out = out.to(at::kBFloat16);
  return out.to(x.scalar_type());
}

at::Tensor layerNorm(const at::Tensor& x, double eps, const at::Tensor& weight, const at::Tensor& bias) {
  const int64_t d = x.size(-1);
  const bool reduced = x.scalar_type() != at::kFloat && x.scalar_type() != at::kDouble;
#if TORCH_VERSION_MAJOR >= 2
  // LibTorch 2's CUDA kernel accumulates reduced inputs in float32 and rounds its output once.
  if (!reduced || x.is_cuda()) {
    const auto same = [&](const at::Tensor& t) { return t.defined() ? t.to(x.scalar_type()) : t; };
    return at::layer_norm(x, {d}, same(weight), same(bias), eps);
  }
#else
  if (!reduced) return at::layer_norm(x, {d}, weight, bias, eps);
#endif
  const auto f32 = [](const at::Tensor& t) { return t.defined() ? t.to(at::kFloat) : t; };
  return at::layer_norm(x.to(at::kFloat), {d}, f32(weight), f32(bias), eps).to(x.scalar_type());
}

at::Tensor rmsNorm(const at::Tensor& x, const at::Tensor& weight, double eps) {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
  if (x.is_cuda()) return at::rms_norm(x, {x.size(-1)}, std::nullopt, eps) * weight;
#endif
  const at::Tensor xf = x.scalar_type() == at::kFloat ? x : x.to(at::kFloat);
  const at::Tensor normed = xf * at::rsqrt(xf.pow(2).mean(-1, true) + eps);
  return (x.scalar_type() == at::kFloat ? normed : normed.to(x.scalar_type())) * weight;
}

at::Tensor geluTanh(const at::Tensor& x) {
#if TORCH_VERSION_MAJOR < 2
  if (x.device().is_cpu() && x.is_floating_point() && !(at::GradMode::is_enabled() && x.requires_grad())) {
    // 0.5·(1 + tanh z) = sigmoid(2z); every step in place on one float32 buffer.
    constexpr double kTwoSqrtTwoOverPi = 2.0 * 0.7978845608028654;
    const bool reduced = x.scalar_type() != at::kFloat && x.scalar_type() != at::kDouble;
    const at::Tensor xf = reduced ? x.to(at::kFloat) : x;
    at::Tensor u = xf * xf;
    u.mul_(0.044715 * kTwoSqrtTwoOverPi).add_(kTwoSqrtTwoOverPi).mul_(xf).sigmoid_().mul_(xf);
    return reduced ? u.to(x.scalar_type()) : u;
  }
#endif
  return at::gelu(x, "tanh");
}

at::Tensor patchify(const at::Tensor& video, const std::array<int64_t, 3>& patch) {
  if (video.dim() != 5) fail("patchify needs [B, C, F, H, W]");
  const int64_t b = video.size(0), c = video.size(1);
  const auto [pt, ph, pw] = patch;
  if (video.size(2) % pt || video.size(3) % ph || video.size(4) % pw)
    fail("latent size is not a multiple of the patch");
  const int64_t f = video.size(2) / pt, h = video.size(3) / ph, w = video.size(4) / pw;
  // [B, C, f, p, h, q, w, r] -> [B, f, h, w, p, q, r, C]
  return video.reshape({b, c, f, pt, h, ph, w, pw})
      .permute({0, 2, 4, 6, 3, 5, 7, 1})
      .reshape({b, f * h * w, pt * ph * pw * c});
}

at::Tensor unpatchify(const at::Tensor& tokens, const std::array<int64_t, 3>& grid,
                      const std::array<int64_t, 3>& patch, int64_t channels) {
  const auto [f, h, w] = grid;
  const auto [pt, ph, pw] = patch;
  if (tokens.dim() != 3 || tokens.size(1) < f * h * w || tokens.size(2) != pt * ph * pw * channels)
    fail("unpatchify: tokens do not match the grid and patch");
  const int64_t b = tokens.size(0);
  // u[:prod(grid)].view(f, h, w, p, q, r, c); einsum('fhwpqrc->cfphqwr')
  return tokens.narrow(1, 0, f * h * w)
      .reshape({b, f, h, w, pt, ph, pw, channels})
      .permute({0, 7, 1, 4, 2, 5, 3, 6})
      .reshape({b, channels, f * pt, h * ph, w * pw});
}

}  // namespace presence::models::dit
