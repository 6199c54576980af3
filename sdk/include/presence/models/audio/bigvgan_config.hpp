// BigVGAN (v1 generator, as MMAudio's mmaudio/ext/bigvgan/ uses it for 16 kHz): its config as
// data, presets, and the generator's state-dict manifest computed from the config alone.
// No LibTorch.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace presence::models::audio {

/// Snake variant of the AMP blocks: x + 1/a · sin²(a·x) ("snake") or x + 1/b · sin²(a·x)
/// ("snakebeta"), per channel.
enum class BigVganActivation { Snake, SnakeBeta };

/// The generator's hyper-parameters (the names of the public config in parentheses). Only the
/// AMPBlock1 residual block (`resblock: '1'`) exists: three dilated convolutions, each followed
/// by an undilated one, every convolution preceded by an anti-aliased snake.
struct BigVganConfig {
  std::string name = "bigvgan16k";
  int64_t sampleRate = 16000;             ///< of the waveform (metadata: not in the weights)
  int64_t numMels = 80;                   ///< (num_mels)
  int64_t upsampleInitialChannel = 1536;  ///< (upsample_initial_channel), halved by each stage
  std::vector<int64_t> upsampleRates = {4, 4, 2, 2, 2, 2};        ///< (upsample_rates)
  std::vector<int64_t> upsampleKernelSizes = {8, 8, 4, 4, 4, 4};  ///< (upsample_kernel_sizes)
  std::vector<int64_t> resblockKernelSizes = {3, 7, 11};          ///< (resblock_kernel_sizes)
  /// (resblock_dilation_sizes) three dilations per AMP block.
  std::vector<std::vector<int64_t>> resblockDilationSizes = {{1, 3, 5}, {1, 3, 5}, {1, 3, 5}};
  BigVganActivation activation = BigVganActivation::SnakeBeta;  ///< (activation)
  bool snakeLogscale = true;  ///< (snake_logscale) alpha/beta are stored as logarithms
  // Fixed in the public code (Activation1d's defaults): 2× up, snake, 2× down, 12-tap filters.
  int64_t resampleRatio = 2;
  int64_t filterSize = 12;

  /// Throws core::InputError naming the bad field.
  void validate() const;
  /// Waveform samples per mel frame: the product of the upsample rates (256).
  int64_t hopLength() const;
  int64_t stageCount() const { return static_cast<int64_t>(upsampleRates.size()); }
  /// Channels after upsample stage `stage`: upsampleInitialChannel / 2^(stage + 1).
  int64_t stageChannels(int64_t stage) const;
};

/// Presets: "bigvgan16k" (the public 16 kHz generator, 112,231,250 parameters), "small"
/// (128 initial channels, fast on a CPU), "tiny" (64 initial channels, two AMP kernels, for tests).
/// All keep the upsample rates, so a mel frame is 256 samples. Throws core::InputError otherwise.
BigVganConfig bigVganPreset(const std::string& name);
std::vector<std::string> bigVganPresetNames();

/// One line: preset, mels → rate, hop and rates, channels, kernels, activation, parameters.
std::string describeBigVgan(const BigVganConfig& config);

struct BigVganTensorSpec {
  std::string name;
  std::vector<int64_t> shape;
  std::string dtype = "f32";
  bool buffer = false;  ///< a registered buffer (the low-pass filters), not an nn.Parameter
  int64_t numel() const;
};

/// The generator's state dict (the `generator` entry of the public file) in its names and order:
/// conv_pre, ups.i.0, resblocks.j (convs1.*, convs2.*, activations.*), activation_post,
/// conv_post. Each convolution is weight-normalised and listed as `bias`, `weight_g`, `weight_v`
/// (weight_g is [dim 0 of the weight, 1, 1]: output channels for Conv1d, input channels for
/// ConvTranspose1d); each Activation1d as `act.alpha`, `act.beta` (snakebeta only),
/// `upsample.filter`, `downsample.lowpass.filter` ([1, 1, filterSize] buffers).
struct BigVganManifest {
  std::vector<BigVganTensorSpec> tensors;
  /// The weight-normalised convolutions' prefixes ("conv_pre", "ups.0.0", ...), in order.
  std::vector<std::string> convolutions;
  int64_t tensorCount() const { return static_cast<int64_t>(tensors.size()); }
  /// Elements of the nn.Parameters (buffers excluded).
  int64_t parameterCount() const;
  /// Elements of every tensor, buffers included.
  int64_t elementCount() const;
  /// Index of a name, or -1.
  int64_t find(const std::string& name) const;
};

BigVganManifest buildBigVganManifest(const BigVganConfig& config);

/// One tensor a line: "name<TAB>[d0, d1, ...]<TAB>dtype" (+ "<TAB>buffer" for buffers).
std::string formatBigVganManifest(const BigVganManifest& manifest);

}  // namespace presence::models::audio
