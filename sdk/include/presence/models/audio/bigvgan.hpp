// The BigVGAN vocoder (v1 generator, MMAudio's 16 kHz vocoder): log-mel → waveform, in ATen.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "presence/models/audio/bigvgan_config.hpp"
#include "presence/models/interfaces/vocoder.hpp"

namespace presence::models::audio {

/// BigVGAN with its weights.
///
/// Input: the mel in the scale the vocoder was trained on. For MMAudio's 16 kHz generator that is
/// the AudioVae's own scale (log10 of the Slaney mel magnitude, floor 1e-5): MMAudio hands the VAE's
/// decoded mel to the vocoder unchanged, so no conversion happens here.
///
/// Weights: every convolution is weight-normalised in the file; it is folded on construction,
/// w = g · v / ||v|| with the norm over all dimensions but the first (for ConvTranspose1d the
/// first is the input channel). Both spellings are accepted: `X.weight_g`/`X.weight_v` and
/// `X.parametrizations.weight.original0`/`original1`; so is an already folded `X.weight`. The
/// low-pass filters are taken from the state dict's buffers, as the public module does.
///
/// Forward (bigvgan models.py): conv_pre (k 7) → per stage: ConvTranspose1d(rate, padding
/// (k − rate)/2), the mean of the stage's AMP blocks → anti-aliased snake → conv_post (k 7) → tanh.
/// An AMP block adds, per dilation d: conv(act(conv_d(act(x)))) to x. The anti-aliased activation
/// (Activation1d) is: replicate-pad, 2× upsample by a depthwise transposed convolution with the
/// kaiser-sinc filter (scaled by 2), snake, replicate-pad, low-pass and 2× downsample by a strided
/// depthwise convolution.
///
/// Precision: `dtype` on CUDA; on the CPU bf16 and f16 are computed in float32 (LibTorch 1.13's CPU
/// transposed convolution rejects them). The waveform is returned in float32 either way.
///
/// Threading: one call at a time per instance. Errors: core::InputError for a bad mel or a state
/// dict that does not match the config (naming the tensors), core::Error otherwise.
class BigVgan : public presence::models::Vocoder {
 public:
  /// `stateDict` in the public names (see buildBigVganManifest); exactly the manifest's tensors
  /// (modulo the weight-norm spelling) with their shapes.
  BigVgan(BigVganConfig config, const std::map<std::string, at::Tensor>& stateDict,
          c10::Device device = c10::Device(c10::DeviceType::CPU),
          c10::ScalarType dtype = c10::ScalarType::Float);

  /// Reads a safetensors file (or sharded index) holding the generator's state dict.
  static std::unique_ptr<BigVgan> fromCheckpoint(const std::filesystem::path& path,
                                                 BigVganConfig config = bigVganPreset("bigvgan16k"),
                                                 c10::Device device = c10::Device(c10::DeviceType::CPU),
                                                 c10::ScalarType dtype = c10::ScalarType::Float);

  /// A state dict of the manifest's names and shapes, float32 on the CPU, initialised as the
  /// public code does: v ~ N(0, 0.01²), g = ||v|| (so the folded weight is v), zero biases, snake
  /// parameters at 1 (stored as log 1 = 0 with snakeLogscale), the kaiser-sinc filters.
  static std::map<std::string, at::Tensor> randomStateDict(const BigVganConfig& config, uint64_t seed);

  /// Weight norm folded: g · v / ||v||, the norm over every dimension but 0; g is [v.size(0), 1, ...].
  /// Computed in float32, returned in float32.
  static at::Tensor foldWeightNorm(const at::Tensor& g, const at::Tensor& v);
  /// The kaiser-windowed sinc low-pass filter [1, 1, kernelSize] (float32, sum 1) of
  /// alias_free_torch's kaiser_sinc_filter1d; `cutoff` and `halfWidth` in cycles per sample.
  static at::Tensor kaiserSincFilter(double cutoff, double halfWidth, int64_t kernelSize);
  /// Snake on x [B, C, T] with per-channel alpha [C] (and beta [C], or undefined for plain snake):
  /// x + 1/(b + 1e-9) · sin²(a·x), a = exp(alpha), b = exp(beta) when `logscale`, b = a for snake.
  static at::Tensor snake(const at::Tensor& x, const at::Tensor& alpha, const at::Tensor& beta,
                          bool logscale);
  /// UpSample1d: x [B, C, T] → [B, C, ratio·T] with `filter` [1, 1, K].
  static at::Tensor upsample(const at::Tensor& x, const at::Tensor& filter, int64_t ratio);
  /// DownSample1d: x [B, C, T] → [B, C, ceil(T / ratio)] with `filter` [1, 1, K].
  static at::Tensor downsample(const at::Tensor& x, const at::Tensor& filter, int64_t ratio);

  std::string name() const override;
  int64_t sampleRate() const override { return config_.sampleRate; }
  int64_t melBins() const override { return config_.numMels; }
  int64_t hopLength() const override { return config_.hopLength(); }

  /// Mel [B, numMels, frames] or [numMels, frames] → waveform [B, frames · hopLength] float32.
  at::Tensor vocode(const at::Tensor& mel) override;

  /// The loaded Activation1d named `prefix` ("activation_post", "resblocks.0.activations.3") on
  /// x [B, channels, T], in the model's dtype and device.
  at::Tensor activation1d(const at::Tensor& x, const std::string& prefix) const;

  const BigVganConfig& config() const { return config_; }
  /// A loaded tensor by public name: folded "X.weight", "X.bias", the snake parameters as stored
  /// ("X.act.alpha"), the filters.
  const at::Tensor& weight(const std::string& name) const;

 private:
  struct Conv {
    at::Tensor weight;
    at::Tensor bias;
    int64_t stride = 1;
    int64_t padding = 0;
    int64_t dilation = 1;
    bool transposed = false;
  };
  struct Activation {
    at::Tensor alpha;           ///< effective a, [1, C, 1]
    at::Tensor invScale;        ///< 1 / (b + 1e-9), [1, C, 1]
    at::Tensor up;              ///< [C, 1, K], the upsample filter · ratio, expanded per channel
    at::Tensor down;            ///< [C, 1, K]
    std::vector<float> upTaps;  ///< ratio · the upsample filter, for the float CPU path
  };

  at::Tensor applyConv(const at::Tensor& x, const Conv& conv) const;
  at::Tensor applyActivation(const at::Tensor& x, const Activation& act) const;
  at::Tensor ampBlock(const at::Tensor& x, int64_t block) const;
  at::Tensor forward(const at::Tensor& mel) const;

  BigVganConfig config_;
  c10::Device device_;
  c10::ScalarType dtype_;
  std::map<std::string, at::Tensor> weights_;
  std::map<std::string, Conv> convs_;
  std::map<std::string, Activation> activations_;
};

}  // namespace presence::models::audio
