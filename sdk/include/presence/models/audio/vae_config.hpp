// MMAudio's 1-D convolutional audio VAE (mmaudio/ext/autoencoder/vae.py, vae_modules.py,
// edm2_utils.py): its config as data, presets, and the state-dict manifest computed from the
// config alone. No LibTorch.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace presence::models::audio {

struct AudioVaeConfig {
  std::string name = "mmaudio16k";
  int64_t dataDim = 80;    ///< mel bins
  int64_t embedDim = 20;   ///< latent channels
  int64_t hiddenDim = 384;
  std::vector<int64_t> chMult = {1, 2, 4};
  int64_t numResBlocks = 2;      ///< per encoder level; the decoder has one more
  std::vector<int64_t> downLayers = {0};  ///< encoder levels followed by a 2× downsample
  std::vector<int64_t> attnLayers = {3};  ///< levels with attention after each block (3: none)
  int64_t kernelSize = 3;
  double clipAct = 256.0;

  /// Throws core::InputError naming the bad field.
  void validate() const;
  /// Mel frames per latent: 2^downLayers.
  int64_t temporalDownsample() const;
  /// Channels at the lowest resolution: hiddenDim · chMult.back().
  int64_t bottleneckDim() const { return hiddenDim * chMult.back(); }
};

/// Presets: "mmaudio16k" (the public 16 kHz file), "small" (hidden 64), "tiny" (hidden 16, one
/// block a level, for tests).
AudioVaeConfig audioVaePreset(const std::string& name);
std::vector<std::string> audioVaePresetNames();

struct AudioVaeTensorSpec {
  std::string name;
  std::vector<int64_t> shape;
  std::string dtype = "f32";
  bool buffer = false;  ///< a registered buffer (data_mean, data_std), not an nn.Parameter
  int64_t numel() const;
};

/// The state dict in the public file's names and order (`data_mean`, `data_std` `[1, dataDim, 1]`,
/// `encoder.*`, `decoder.*`; no biases; 0-d `learnable_gain`s).
struct AudioVaeManifest {
  std::vector<AudioVaeTensorSpec> tensors;
  int64_t tensorCount() const { return static_cast<int64_t>(tensors.size()); }
  /// Elements of the nn.Parameters (buffers excluded): 171,657,218 for the public file.
  int64_t parameterCount() const;
  /// Elements of every tensor, buffers included.
  int64_t elementCount() const;
  /// Index of a name, or -1.
  int64_t find(const std::string& name) const;
};

AudioVaeManifest buildAudioVaeManifest(const AudioVaeConfig& config);

/// One tensor a line: "name<TAB>[d0, d1, ...]<TAB>dtype".
std::string formatAudioVaeManifest(const AudioVaeManifest& manifest);

}  // namespace presence::models::audio
