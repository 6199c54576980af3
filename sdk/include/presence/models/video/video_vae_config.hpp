// The Wan2.2 video VAE (wan/modules/vae2_2.py): its config as data, presets, and the state-dict
// manifest computed from the config alone. No LibTorch.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "presence/models/spec/state_dict_report.hpp"

namespace presence::models::video {

struct WanVaeConfig {
  std::string name = "wan22";
  int64_t encoderDim = 160;  ///< base width of Encoder3d
  int64_t decoderDim = 256;  ///< base width of Decoder3d
  int64_t zDim = 48;         ///< latent channels
  std::vector<int64_t> dimMult = {1, 2, 4, 4};
  int64_t numResBlocks = 2;  ///< per encoder level; the decoder has one more
  /// Per encoder level below the last: halve time as well as space. The decoder uses it reversed.
  std::vector<bool> temporalDownsample = {false, true, true};
  int64_t patchSize = 2;  ///< the inner patchify (space only)
  /// Per-channel latent statistics: latents are (mu − mean) / std. Empty means 0 / 1.
  std::vector<double> latentMean;
  std::vector<double> latentStd;

  /// Throws core::InputError naming the bad field.
  void validate() const;
  int64_t levels() const { return static_cast<int64_t>(dimMult.size()); }
  /// 2^(number of true temporalDownsample entries): 4 for wan22.
  int64_t temporalCompression() const;
  /// patchSize · 2^(levels − 1): 16 for wan22.
  int64_t spatialCompression() const;
  /// RGB channels after patchify: 3 · patchSize².
  int64_t patchChannels() const { return 3 * patchSize * patchSize; }
  /// Encoder widths [dim, dim·m0, dim·m1, ...] and decoder widths [dec·m_last, dec·m_last, ..., dec·m0].
  std::vector<int64_t> encoderDims() const;
  std::vector<int64_t> decoderDims() const;
};

/// Presets: "wan22" (the public Wan2.2_VAE file, with its 48 latent means and stds), "small"
/// (encoder 16, decoder 24, z 16: trainable on a 2-core CPU at ~128×128), "tiny" (widths 8, one
/// block a level, z 4: unit tests). Throws core::InputError for an unknown name.
WanVaeConfig videoVaePreset(const std::string& name);
std::vector<std::string> videoVaePresetNames();

struct VideoVaeTensorSpec {
  std::string name;
  std::vector<int64_t> shape;
  std::string dtype = "f32";
  int64_t numel() const;
};

/// The state dict in the public file's names and order (`encoder.*`, `conv1`, `conv2`,
/// `decoder.*`, no prefix). Every tensor is an nn.Parameter.
struct VideoVaeManifest {
  std::vector<VideoVaeTensorSpec> tensors;
  int64_t tensorCount() const { return static_cast<int64_t>(tensors.size()); }
  /// 704,688,668 for the public file.
  int64_t parameterCount() const;
  /// Index of a name, or -1.
  int64_t find(const std::string& name) const;
};

VideoVaeManifest buildVideoVaeManifest(const WanVaeConfig& config);

/// One tensor a line: "name<TAB>[d0, d1, ...]<TAB>dtype".
std::string formatVideoVaeManifest(const VideoVaeManifest& manifest);

/// One line describing a preset: widths, compression, tensor and parameter counts.
std::string videoVaeSummary(const WanVaeConfig& config);

/// What a checkpoint holds compared with a config's manifest (the shared strict-loading report).
using VideoVaeLoadReport = spec::StateDictReport;

/// Compares names and shapes (name → shape) with the config's manifest.
VideoVaeLoadReport checkVideoVaeShapes(const WanVaeConfig& config,
                                       const std::map<std::string, std::vector<int64_t>>& shapes);

}  // namespace presence::models::video
