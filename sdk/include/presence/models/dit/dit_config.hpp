// The dual-tower diffusion transformer's configuration: plain data, no LibTorch.
//
// A DitConfig fully determines every parameter's name and shape (see dit_manifest.hpp), so a
// host can describe a model, and a loader can check a checkpoint, without allocating weights.
// Presets are looked up by name (dit_presets.hpp). Validation throws presence::core::Error with
// a message naming the field and the cause.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace presence::models::dit {

/// How a tower turns latents into tokens.
enum class PatchEmbedding {
  Conv3d,     ///< video: Conv3d(in -> dim, kernel = stride = patch), tokens in f·Hp·Wp + h·Wp + w order
  ConvMlp1d,  ///< audio: Sequential(ChannelLastConv1d(in -> dim, k, p), SiLU, ConvMLP(dim, 4·dim, k, p))
};

/// One tower (video or audio): a Wan-style DiT.
struct TowerConfig {
  std::string prefix;  ///< state-dict prefix: "video_model" or "audio_model"
  PatchEmbedding patchEmbedding = PatchEmbedding::Conv3d;
  std::array<int64_t, 3> patchSize{1, 2, 2};  ///< (t, h, w); (1, 1, 1) for audio
  int64_t inDim = 48;   ///< latent channels in
  int64_t outDim = 48;  ///< latent channels out
  int64_t dim = 3072;
  int64_t ffnDim = 14336;
  int64_t freqDim = 256;
  int64_t numHeads = 24;
  int64_t numLayers = 30;
  int64_t textDim = 4096;
  int64_t textLen = 512;
  double eps = 1e-6;
  bool qkNorm = true;         ///< RMSNorm over the full dim on queries and keys
  bool crossAttnNorm = true;  ///< LayerNorm with affine (norm3) before the text cross-attention
  int64_t convKernel = 7;         ///< audio patch-embedding kernel (padding = kernel / 2)
  int64_t convMlpMultipleOf = 256;  ///< ConvMLP hidden size is rounded up to a multiple of this
  double ropeTheta = 10000.0;
  /// Scales the time frequencies of a 1-D (audio) RoPE so audio and video share one time axis
  /// (0.19676 ≈ video latent frames / audio latent frames in the released model).
  double temporalRopeScale = 1.0;
  /// The checkpoint stores `_prime` copies of each block's weights (Identity-as-Presence).
  bool primeWeightsStored = false;
  /// Reference tokens run through the `_prime` weights (the released video tower) instead of the
  /// ordinary ones (the released audio tower).
  bool primeWeightsUsed = false;

  int64_t headDim() const { return dim / numHeads; }
  /// Complex RoPE pairs per head (head dim / 2), split time / height / width for video.
  int64_t ropePairs() const { return headDim() / 2; }
  int64_t ropeTimePairs() const { return ropePairs() - 2 * (ropePairs() / 3); }
  int64_t ropeSpacePairs() const { return ropePairs() / 3; }
  /// SwiGLU hidden size of the audio patch embedding's ConvMLP: int(2·4·dim/3) rounded up.
  int64_t convMlpHidden() const;
  /// Output features of head.head: prod(patchSize) · outDim.
  int64_t headOutFeatures() const { return patchSize[0] * patchSize[1] * patchSize[2] * outDim; }
  bool isVideo() const { return patchEmbedding == PatchEmbedding::Conv3d; }
};

/// The paper's identity injection (section 3.3).
struct IdentityConfig {
  /// Identity slots in the shared identity-embedding table (0 = no table). Not in the public
  /// checkpoint: a loaded public model gets a zero table and behaves exactly as released.
  int64_t maxSubjects = 4;
  /// First 1-D position of the voice references (630 in the released config); the k-th voice sits
  /// at offset + k·L with L the longest voice reference.
  int64_t audioReferenceOffset = 630;
};

struct DitConfig {
  std::string name;
  TowerConfig video;
  TowerConfig audio;
  IdentityConfig identity;
  /// Cross-modal fusion projections in every block (Ovi). Off gives two independent towers.
  bool fusion = true;
  /// dtype the weights are stored in ("bf16", "f32", "f16"); the official files are bf16.
  std::string weightDtype = "bf16";
  /// Preferred compute dtype on CPU ("f32" or "bf16"); CUDA always computes in bf16.
  std::string cpuComputeDtype = "f32";
  /// Round the 1-D RoPE result to bf16 as the released code does (compatibility option).
  bool audioRopeBf16Compat = false;

  /// Throws presence::core::Error naming the first inconsistent field.
  void validate() const;
};

}  // namespace presence::models::dit
