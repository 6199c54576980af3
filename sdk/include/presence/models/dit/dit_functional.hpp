// Stateless pieces of the dual-tower DiT: the time embedding's sinusoid, rotary position
// embeddings (RoPE), and the video token layout. They follow the public Wan2.2 / Ovi /
// Identity-as-Presence code (wan/modules/model.py, ovi/modules/model.py,
// identity_as_presence/models/iap_base_model.py) and are exposed so tests and other models can
// check them against their definitions.
//
// All functions are pure and thread-safe; they throw presence::core::Error on bad shapes.
#pragma once

#include <ATen/ATen.h>

#include <array>
#include <cstdint>

#include "presence/models/dit/dit_config.hpp"

namespace presence::models::dit {

/// sinusoidal_embedding_1d(dim, t): float64 [N, dim] = [cos(t·f_i), sin(t·f_i)] with
/// f_i = 10000^(-i/half), half = dim/2, computed in float64. `t` is any shape; it is flattened.
at::Tensor sinusoidalEmbedding(int64_t dim, const at::Tensor& t);

/// Frequencies of `pairs` complex RoPE pairs: f_i = 1 / theta^(2i / (2·pairs)), float64 [pairs].
at::Tensor ropeFrequencies(int64_t pairs, double theta);

/// Rotation angle of every complex pair of a head, float64 [..., headDim/2]:
/// - video (3-D) towers: `positions` is [..., 3] = (f, h, w); pairs [0, T) rotate by f·f_t,
///   the next S by h·f_s, the last S by w·f_s (T = ropeTimePairs, S = ropeSpacePairs);
/// - audio (1-D) towers: `positions` is [...]; pairs [0, T) rotate by pos·temporalRopeScale·f_t,
///   the remaining pairs are not rotated (angle 0).
/// Positions may be fractional; they are taken as float64.
at::Tensor ropeAngles(const TowerConfig& tower, const at::Tensor& positions);

/// (f, h, w) of each token of a frames × height × width token grid in token order
/// (f·H·W + h·W + w), with f starting at `frameOffset`: float64 [frames·height·width, 3].
at::Tensor gridPositions(int64_t frames, int64_t height, int64_t width, int64_t frameOffset = 0);

/// Unit complex rotations of a set of RoPE angles, ready to rotate [B, L, heads, headDim] tensors.
struct RopeTable {
  at::Tensor rotation;  ///< complex64 [B or 1, L, 1, headDim/2] = exp(i·angle), from float64 angles
  /// Round the rotated result to bf16 before returning it (the released 1-D RoPE does this).
  bool roundResultToBf16 = false;
  /// Tokens covered.
  int64_t length() const { return rotation.defined() ? rotation.size(1) : 0; }
};

/// Table of `angles` ([L, P] or [B, L, P], any floating dtype; cos and sin taken in float64).
RopeTable ropeTable(const at::Tensor& angles, const at::Device& device, bool roundResultToBf16 = false);

/// Rotates each adjacent pair (x[..., 2j], x[..., 2j+1]) of x [B, L, heads, headDim] as the
/// complex number x_2j + i·x_2j+1 times exp(i·angle_j). Computed in complex64 (float32 parts);
/// returns x's dtype (after a bf16 round trip when the table asks for it). Differentiable.
at::Tensor applyRope(const at::Tensor& x, const RopeTable& table);

/// LayerNorm over the last dim as Wan2.2's WanLayerNorm computes it: reduced-precision inputs are
/// normalised in float32 and the result rounded once to x's dtype; weight and bias are optional.
/// On CUDA with LibTorch 2.x one fused kernel does that (it accumulates in float32) instead of
/// the float32 copy, the float32 norm and the cast back. Differentiable.
at::Tensor layerNorm(const at::Tensor& x, double eps, const at::Tensor& weight = {},
                     const at::Tensor& bias = {});

/// WanRMSNorm over the last dim: (x / sqrt(mean(x²) + eps)) computed in float32, rounded to x's
/// dtype, then times `weight` in x's dtype. On CUDA with LibTorch 2.4 or newer the normalisation
/// is LibTorch's fused rms_norm (float32 accumulation, one rounding), as above. Differentiable.
at::Tensor rmsNorm(const at::Tensor& x, const at::Tensor& weight, double eps);

/// GELU with the tanh approximation (the FFN's and text embedding's nn.GELU(approximate='tanh')):
/// 0.5·x·(1 + tanh(z)) with z = sqrt(2/pi)·(x + 0.044715·x³). Differentiable. With LibTorch 1.x on
/// the CPU and no graph to record it computes x·sigmoid(2z) in place, in float32 for reduced
/// precision: the same function, and 1.7× (float32) to 2.2× (bf16) faster than that LibTorch's
/// own tanh-GELU kernel.
at::Tensor geluTanh(const at::Tensor& x);

/// Video latent [B, C, F, H, W] -> tokens [B, (F/pt)(H/ph)(W/pw), pt·ph·pw·C] with feature index
/// ((p·ph + q)·pw + r)·C + c: the layout of head.head's output (the inverse of unpatchify).
at::Tensor patchify(const at::Tensor& video, const std::array<int64_t, 3>& patch);

/// Head output [B, Lg, pt·ph·pw·C] (only the first prod(grid) tokens are read) -> latent
/// [B, C, F·pt, H·ph, W·pw], as WanModel.unpatchify (einsum 'fhwpqrc->cfphqwr').
at::Tensor unpatchify(const at::Tensor& tokens, const std::array<int64_t, 3>& grid,
                      const std::array<int64_t, 3>& patch, int64_t channels);

}  // namespace presence::models::dit
