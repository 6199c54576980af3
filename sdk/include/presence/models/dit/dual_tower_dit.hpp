// The dual-tower diffusion transformer (Ovi fusion of two Wan-style towers) with the
// Identity-as-Presence identity injection (paper sections 3.1-3.4, MODEL.md).
//
// DualTowerDit runs the forward pass of the public code (Ovi's FusionModel.forward and
// Identity-as-Presence's FusionModelIDAV.forward) on weights named exactly as the official
// checkpoints (DitWeights), with these deliberate differences, each one an option or a strict
// superset of the released behaviour:
//  - batches of any size (the released code is only right for batch 1); reference and text
//    padding is masked per item;
//  - each tower runs alone (video-only or audio-only inputs), and fusion can be switched off per
//    call (stage-1 training);
//  - text padding keys are masked by default (`maskTextPadding = false` reproduces the released
//    unmasked attention over the zero-padded 512 tokens);
//  - RoPE tables are sized to the input (no 1024-position limit) and computed in full precision
//    (`DitConfig::audioRopeBf16Compat` reproduces the released bf16 rounding of the 1-D RoPE);
//  - the shared identity-embedding table (eq. 4), zero-initialised so a public checkpoint
//    behaves as released.
//
// Ownership: a DualTowerDit shares its DitWeights (shared_ptr); the tensors are read, never
// modified, so a trainer may update them in place between calls. Threading: forward is const and
// may run concurrently on different inputs; a ReferenceCache may not be shared between threads.
// Errors: presence::core::InputError for inputs that do not fit the model (naming the input and
// the expected shape), presence::core::Error for missing weights.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "presence/models/dit/dit_config.hpp"
#include "presence/models/dit/dit_weights.hpp"
#include "presence/models/dit/reference_cache.hpp"

namespace presence::models::dit {

/// Identity references of one call (paper section 3.3). Reference k of a tower belongs to the
/// identity slot faceSubjects[k] / voiceSubjects[k]; by default face k and voice k are subject k.
struct DitReferences {
  /// Face references as video latents [B, Cv, nFaces·pt, h, w]: each face (one-shot, or several
  /// views already packed into one image) is one latent frame. Undefined: no faces.
  at::Tensor faces;
  /// [B, nFaces] bool, false where an item has no face k (its tokens are masked). Undefined: all present.
  at::Tensor faceMask;
  /// Identity slot of each face; empty means 0, 1, 2, ...
  std::vector<int64_t> faceSubjects;
  /// Voice references, one tensor per voice: audio latents [B, Ls_k, Ca] (channel-last),
  /// zero-padded past each item's length.
  std::vector<at::Tensor> voices;
  /// Per voice, the valid latents of each batch item (0: the item has no such voice). Empty: all of Ls_k.
  std::vector<std::vector<int64_t>> voiceLengths;
  /// Identity slot of each voice; empty means 0, 1, 2, ...
  std::vector<int64_t> voiceSubjects;

  bool hasFaces() const { return faces.defined(); }
  bool hasVoices() const { return !voices.empty(); }
};

/// One call's inputs. Latents may be any floating dtype; they are moved to the model's device and
/// compute dtype, and the outputs come back in the latents' dtype.
struct DitInputs {
  at::Tensor video;  ///< [B, Cv, F, H, W] video latent, or undefined for an audio-only call
  at::Tensor audio;  ///< [B, L, Ca] audio latent (channel-last), or undefined for a video-only call
  at::Tensor t;      ///< [B] (or a scalar) timestep on the 0..1000 scale, shared by both towers
  /// Optional per-token timesteps ([B, video tokens] / [B, L]) that override `t` for a tower.
  at::Tensor videoTimesteps;
  at::Tensor audioTimesteps;
  /// Text encoder output per tower [B, Lt, textDim] (Lt <= textLen) and each item's token count
  /// (empty: all Lt). Required for each tower that runs.
  at::Tensor videoText;
  std::vector<int64_t> videoTextLengths;
  at::Tensor audioText;
  std::vector<int64_t> audioTextLengths;
  DitReferences references;
};

/// Per-layer hidden states recorded for tests and debugging (DitForwardOptions::trace).
struct DitTrace {
  /// After block i (skipped blocks are absent; -1: the embedded tokens entering block 0, identity
  /// embeddings included): noisy tokens [B, L, dim] and reference tokens [B, Lr, dim] (the faces'
  /// tokens in face order in the video tower, the voices' in voice order in the audio tower).
  /// Reference states are only recorded when they are computed, not read from a ReferenceCache.
  std::map<int64_t, at::Tensor> video, audio, videoReferences, audioReferences;
};

struct DitForwardOptions {
  /// Cross-modal fusion in every block when both towers run (and the config has it). Off: two
  /// independent towers (stage-1 training masks the fusion this way).
  bool fusion = true;
  /// Skip-layer guidance: these blocks are skipped entirely, in both towers and for the
  /// reference tokens, as the released negative pass does (`if i == slg_layer: continue`).
  std::set<int64_t> skipLayers;
  /// Mask text keys past each item's length (ours). False reproduces the released code: text
  /// zero-padded to text_len and attended unmasked.
  bool maskTextPadding = true;
  /// Add identity_embeddings[subject] to every reference token (paper eq. 4). Off: as released.
  bool identityEmbeddings = true;
  /// Temporal RoPE index of face 0; face k sits at this + k with its own h, w grid from 0.
  /// -1: the generated latent frames F (the released config's fixed 31 for 121 frames).
  int64_t faceFrameOffset = -1;
  /// First 1-D RoPE position of the voices; voice k token j sits at this + k·stride + j.
  /// -1: DitConfig::identity.audioReferenceOffset.
  int64_t voicePositionOffset = -1;
  /// Voice slot stride; 0: each item's longest voice (the released code pads voices to one length).
  int64_t voiceSlotStride = 0;
  /// Records per-layer hidden states when set.
  DitTrace* trace = nullptr;
};

struct DitOutputs {
  at::Tensor video;  ///< velocity [B, Cv, F, H, W], or undefined
  at::Tensor audio;  ///< velocity [B, L, Ca], or undefined
};

class DualTowerDit {
 public:
  /// Throws core::Error naming the first missing weight (see DitWeights::missing). The compute
  /// dtype defaults to bf16 on CUDA and to the config's cpuComputeDtype on the CPU.
  explicit DualTowerDit(std::shared_ptr<const DitWeights> weights,
                        std::optional<at::ScalarType> computeDtype = std::nullopt);

  const DitConfig& config() const { return weights_->config(); }
  const DitWeights& weights() const { return *weights_; }
  at::ScalarType computeDtype() const { return computeDtype_; }
  at::Device device() const { return device_; }

  /// The velocity of each tower that has an input. Differentiable with respect to the weights
  /// and inputs (no grad guard inside). With a `cache`, each tower's reference keys and values
  /// are read from it, or computed and stored on a miss; a cache needs grad mode off or weights
  /// that do not require grad.
  DitOutputs forward(const DitInputs& inputs, const DitForwardOptions& options = {},
                     ReferenceCache* cache = nullptr) const;

  /// forward() under at::NoGradGuard (sampling).
  DitOutputs infer(const DitInputs& inputs, const DitForwardOptions& options = {},
                   ReferenceCache* cache = nullptr) const;

 private:
  std::shared_ptr<const DitWeights> weights_;
  at::Device device_ = at::kCPU;
  at::ScalarType computeDtype_ = at::kFloat;
};

}  // namespace presence::models::dit
