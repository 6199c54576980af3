// What the nodes and the sampler expect of a video VAE (the Wan2.2 VAE at full size).
#pragma once

#include <ATen/ATen.h>

#include <cstdint>

namespace presence::models {

/// Encodes frames to normalised video latents and decodes them back.
///
/// Frames follow the IMAGE layout: `[N, H, W, C]` float in 0..1, C = 3 (RGB). A causal VAE
/// keeps the first frame and compresses the rest by temporalCompression(), so a valid frame count
/// is N = 1 + k·temporalCompression() (121 → 31 latent frames at full size); H and W must be
/// multiples of spatialCompression().
///
/// Latents are `[B, latentChannels(), F', H', W']` with F' = 1 + (N − 1) / temporalCompression(),
/// H' = H / spatialCompression(), W' = W / spatialCompression(), already normalised with the
/// model's per-channel mean and std (what the DiT consumes and the sampler's noise matches).
///
/// Threading: one call at a time per instance. Errors: presence::core::InputError for a bad
/// shape, frame count or value type (the message names the rule), presence::core::Error for model
/// failures.
class VideoVae {
 public:
  virtual ~VideoVae() = default;

  virtual int64_t latentChannels() const = 0;       ///< z: 48 for the Wan2.2 VAE
  virtual int64_t temporalCompression() const = 0;  ///< 4 for the Wan2.2 VAE
  virtual int64_t spatialCompression() const = 0;   ///< 16 for the Wan2.2 VAE

  /// Frames `[N, H, W, C]` (one clip, B = 1) or `[B, N, H, W, C]` → latents `[B, z, F', H', W']`
  /// (the posterior mean; deterministic).
  virtual at::Tensor encode(const at::Tensor& frames) = 0;
  /// Latents `[B, z, F', H', W']` → frames `[B, N, H, W, 3]` float in 0..1 (clamped), N = 1 + (F' −
  /// 1)·temporalCompression(), on the CPU.
  virtual at::Tensor decode(const at::Tensor& latents) = 0;

  /// True when `frames` is a frame count this VAE accepts (1 + k·temporalCompression()).
  bool isValidFrameCount(int64_t frames) const {
    return frames >= 1 && (frames - 1) % temporalCompression() == 0;
  }
  /// Latent frames for `frames` input frames (valid counts only).
  int64_t latentFrames(int64_t frames) const { return 1 + (frames - 1) / temporalCompression(); }
  /// Output frames of decoding `latentFrames` latent frames.
  int64_t decodedFrames(int64_t latentFrames) const { return 1 + (latentFrames - 1) * temporalCompression(); }
};

}  // namespace presence::models
