// The Wan2.2 video VAE (wan/modules/vae2_2.py) in ATen: causal 3-D convolutions, the inner 2×2
// patchify, chunked encode and decode with the causal cache.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "presence/models/interfaces/video_vae.hpp"
#include "presence/models/video/video_vae_config.hpp"

namespace presence::models::video {

/// The Wan2.2 VAE with its weights (public names: `encoder.*`, `conv1`, `conv2`, `decoder.*`).
///
/// Forward, per vae2_2.py: frames → [−1, 1] → 2×2 patchify (12 channels) → Encoder3d → conv1 →
/// the first zDim channels (the posterior mean) → (mu − mean) / std. Decoding undoes the
/// normalisation, applies conv2 and Decoder3d, unpatchifies and maps [−1, 1] back to 0..1.
///
/// Causality: every temporal convolution sees only the current and earlier frames (two zero
/// frames before the first). The public code runs the encoder on the first frame and then on
/// chunks of four frames, and the decoder on one latent frame at a time, carrying the last input
/// frames of each causal convolution between chunks. encode()/decode() do the same, so decoding
/// memory does not grow with the clip (besides the output); encodeWhole()/decodeWhole() run the
/// whole clip in one pass with the same causal semantics (same result, memory grows with length).
///
/// Threading: one call at a time per instance. Errors: core::InputError for bad shapes, frame
/// counts, or a state dict that does not match the config (the message names every bad tensor);
/// core::Error otherwise.
class WanVideoVae : public presence::models::VideoVae {
 public:
  /// `stateDict` must hold exactly the manifest's tensors with their shapes.
  WanVideoVae(WanVaeConfig config, const std::map<std::string, at::Tensor>& stateDict,
              c10::Device device = c10::Device(c10::DeviceType::CPU),
              c10::ScalarType dtype = c10::ScalarType::Float);

  /// Reads a safetensors file (or sharded index) with the public names (e.g. a safetensors
  /// conversion of Wan2.2_VAE.pth).
  static std::unique_ptr<WanVideoVae> fromCheckpoint(const std::filesystem::path& path,
                                                     WanVaeConfig config = videoVaePreset("wan22"),
                                                     c10::Device device = c10::Device(c10::DeviceType::CPU),
                                                     c10::ScalarType dtype = c10::ScalarType::Float);

  /// Random weights of the manifest's shapes (normal convolutions scaled by 1/sqrt(fan_in), zero
  /// biases, unit gammas), float32 on the CPU: for tests and untrained small models.
  static std::map<std::string, at::Tensor> randomStateDict(const WanVaeConfig& config, uint64_t seed);

  /// Names and shapes of `stateDict` against the config's manifest.
  static VideoVaeLoadReport checkStateDict(const WanVaeConfig& config,
                                           const std::map<std::string, at::Tensor>& stateDict);

  int64_t latentChannels() const override { return config_.zDim; }
  int64_t temporalCompression() const override { return config_.temporalCompression(); }
  int64_t spatialCompression() const override { return config_.spatialCompression(); }

  /// Frames `[N, H, W, 3]` or `[B, N, H, W, 3]` in 0..1 → normalised latents `[B, z, F', H', W']`
  /// (first frame, then chunks of temporalCompression() frames).
  at::Tensor encode(const at::Tensor& frames) override;
  /// Normalised latents → frames `[B, N, H, W, 3]` in 0..1 on the CPU, one latent frame at a time.
  at::Tensor decode(const at::Tensor& latents) override;

  /// The same as encode()/decode(), the whole clip in one pass (for comparison and short clips).
  at::Tensor encodeWhole(const at::Tensor& frames);
  at::Tensor decodeWhole(const at::Tensor& latents);

  /// Differentiable whole-clip passes for training on `weights` (public names; they may require
  /// gradients), without the inference guard or the latent normalisation:
  /// frames `[B, N, H, W, 3]` in 0..1 → the encoder's moments `[B, 2z, F', h, w]` (posterior mean,
  /// then log-variance), and latents `[B, z, F', h, w]` → frames `[B, N, H, W, 3]` in −1..1
  /// (unclamped). Shapes are the caller's responsibility (the trainer checks them).
  static at::Tensor trainingMoments(const WanVaeConfig& config, const std::map<std::string, at::Tensor>& weights,
                                    const at::Tensor& frames);
  static at::Tensor trainingDecode(const WanVaeConfig& config, const std::map<std::string, at::Tensor>& weights,
                                   const at::Tensor& latents);

  const WanVaeConfig& config() const { return config_; }
  /// A loaded tensor by its public name.
  const at::Tensor& weight(const std::string& name) const;

 private:
  at::Tensor encodeImpl(const at::Tensor& frames, bool chunked);
  at::Tensor decodeImpl(const at::Tensor& latents, bool chunked);

  WanVaeConfig config_;
  c10::Device device_;
  c10::ScalarType dtype_;
  std::map<std::string, at::Tensor> weights_;
  at::Tensor mean_;  ///< [1, z, 1, 1, 1]
  at::Tensor std_;   ///< [1, z, 1, 1, 1]
};

}  // namespace presence::models::video
