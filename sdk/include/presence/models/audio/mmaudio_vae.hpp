// MMAudio's 1-D convolutional audio VAE (16 kHz: mel 80 → 20 latent channels at 31.25 Hz), in ATen.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "presence/models/audio/mel_frontend.hpp"
#include "presence/models/audio/vae_config.hpp"
#include "presence/models/interfaces/audio_vae.hpp"

namespace presence::models::audio {

/// The diagonal Gaussian the encoder predicts, channel-first `[B, embedDim, L]`.
struct AudioVaePosterior {
  at::Tensor mean;
  at::Tensor logvar;  ///< clamped to [−30, 20]
  /// mean + exp(logvar / 2) · ε, ε drawn on the CPU from `generator` (runtime::randn).
  at::Tensor sample(at::Generator& generator) const;
};

/// The MMAudio VAE with its weights.
///
/// Weights: the file's raw convolution weights are normalised per output channel on
/// construction, w / (1e-4·sqrt(fan_in) + ||w_o||) with fan_in = in_channels · kernel (MMAudio's
/// remove_weight_norm), and each conv_out is scaled by learnable_gain + 1. `data_mean`/`data_std`
/// come from the state dict.
///
/// Forward (per vae_modules.py / edm2_utils.py): magnitude-preserving SiLU (silu / 0.596), pixel
/// norm over channels (x / (1e-4 + ||x|| / sqrt(C))), residual blocks mixed as
/// lerp(x, h, 0.3) / sqrt(0.7² + 0.3²), one-head attention on channel-normalised q, k, v,
/// activations clamped to ±clipAct, 2× downsample as conv1 → average pool → conv2 and 2×
/// upsample as nearest → conv.
///
/// Threading: one call at a time per instance. Errors: core::InputError for a bad shape or a
/// state dict that does not match the config (names the tensor), core::Error otherwise.
class MmaudioVae : public presence::models::AudioVae {
 public:
  /// `stateDict` in the public file's names (see buildAudioVaeManifest); it must hold exactly the
  /// manifest's tensors with their shapes.
  MmaudioVae(AudioVaeConfig config, const std::map<std::string, at::Tensor>& stateDict,
             MelConfig mel = MelConfig::mmaudio16k(), c10::Device device = c10::Device(c10::DeviceType::CPU),
             c10::ScalarType dtype = c10::ScalarType::Float);

  /// Reads a safetensors file (or sharded index) with the public names.
  static std::unique_ptr<MmaudioVae> fromCheckpoint(const std::filesystem::path& path,
                                                    AudioVaeConfig config = audioVaePreset("mmaudio16k"),
                                                    c10::Device device = c10::Device(c10::DeviceType::CPU),
                                                    c10::ScalarType dtype = c10::ScalarType::Float);

  /// Raw random weights of the manifest's shapes (standard normal convolutions, zero gains,
  /// data_mean 0, data_std 1), float32 on the CPU: for tests and untrained small models.
  static std::map<std::string, at::Tensor> randomStateDict(const AudioVaeConfig& config, uint64_t seed);

  /// MMAudio's per-output-channel weight normalisation of a raw `[out, in, kernel]` weight
  /// (computed in float32, returned in float32).
  static at::Tensor normalizeWeight(const at::Tensor& weight);

  int64_t sampleRate() const override { return mel_.config().sampleRate; }
  int64_t latentChannels() const override { return config_.embedDim; }
  double latentsPerSecond() const override;
  presence::models::AudioVaeOutput outputKind() const override { return presence::models::AudioVaeOutput::Mel; }
  int64_t melBins() const override { return config_.dataDim; }

  /// Waveform `[T]` or `[B, T]` → posterior mean latents `[B, L, embedDim]`.
  at::Tensor encode(const at::Tensor& waveform) override;
  /// Latents `[B, L, embedDim]` → log-mel `[B, dataDim, L · temporalDownsample]`.
  at::Tensor decode(const at::Tensor& latents) override;

  /// Log-mel `[B, dataDim, frames]` (unnormalised, the front end's scale) → posterior.
  AudioVaePosterior encodeMel(const at::Tensor& mel);
  /// Latents channel-first `[B, embedDim, L]` → log-mel `[B, dataDim, frames]`.
  at::Tensor decodeMel(const at::Tensor& latents);

  /// encodeMel()/decodeMel() with gradients (no inference guard), for training: construct the
  /// VAE from raw weights that require gradients and the folding above stays in the graph.
  AudioVaePosterior encodeMelDifferentiable(const at::Tensor& mel) const;
  at::Tensor decodeMelDifferentiable(const at::Tensor& latents) const;

  const AudioVaeConfig& config() const { return config_; }
  const MelFrontEnd& frontEnd() const { return mel_; }
  /// A folded (normalised, gain-scaled) weight, or data_mean / data_std.
  const at::Tensor& weight(const std::string& name) const;

 private:
  at::Tensor conv(const at::Tensor& x, const std::string& name) const;
  at::Tensor resnet(const at::Tensor& x, const std::string& name) const;
  at::Tensor attention(const at::Tensor& x, const std::string& name) const;
  at::Tensor encoderForward(const at::Tensor& x) const;
  at::Tensor decoderForward(const at::Tensor& z) const;

  AudioVaeConfig config_;
  MelFrontEnd mel_;
  c10::Device device_;
  c10::ScalarType dtype_;
  std::map<std::string, at::Tensor> weights_;
};

}  // namespace presence::models::audio
