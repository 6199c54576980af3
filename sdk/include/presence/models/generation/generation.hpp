// One generation with a GenerationModel: encoding the caption, sizing and seeding the noise,
// sampling the joint latent with the identity references, and decoding it to frames and sound.
// The generation nodes are thin wrappers over these functions; studios call them directly.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <string>

#include "presence/core/cancel_token.hpp"
#include "presence/models/generation/generation_model.hpp"
#include "presence/models/generation/identity_set.hpp"
#include "presence/models/sampling/sampler.hpp"

namespace presence::models::generation {

/// A caption encoded by one model's text encoder: the prompt (both towers read it) and the
/// negative prompts of the guidance pass (the video tower's and the audio tower's).
struct EncodedCaption {
  std::string modelKey;  ///< GenerationModel::encoderKey() of the text encoder's model
  std::string text;
  std::string negativeVideoText;
  std::string negativeAudioText;
  TextEmbeddings prompt;         ///< [1, Lt, D]
  TextEmbeddings negativeVideo;  ///< [1, Ln, D]
  TextEmbeddings negativeAudio;  ///< [1, Ln, D]
  int64_t promptTokens = 0;      ///< tokens the caption needs, before truncation
  bool truncated = false;        ///< the caption was cut to the model's text length
};

/// Encodes the caption and the two negative prompts in one batch. Errors: core::InputError for
/// an empty caption.
EncodedCaption encodeCaption(const GenerationModel& model, const std::string& text,
                             const std::string& negativeVideo, const std::string& negativeAudio);

struct GenerationSettings {
  int64_t width = 256;
  int64_t height = 256;
  int64_t frames = 49;  ///< 1 + k · temporal compression
  double fps = 24.0;
  uint64_t seed = 0;
  sampling::SamplerSettings sampler;
  bool referenceCache = true;

  /// Throws core::ParamError naming the parameter ("width", "height", "frames", "fps") when it
  /// does not fit `model` (sizes: multiples of model.sizeMultiple(); frames: a valid count).
  void validate(const GenerationModel& model) const;
  double seconds() const { return static_cast<double>(frames) / fps; }
};

/// The frame count nearest to `seconds` at `fps` that the model accepts (1 + k · compression,
/// at least 1 + compression).
int64_t framesForDuration(const GenerationModel& model, double seconds, double fps);

/// The sampled joint latent and what it stands for.
struct GeneratedLatents {
  std::string modelKey;  ///< GenerationModel::encoderKey(): the decoders that can decode them
  JointLatent latent;  ///< video [1, Cv, F', H', W'], audio [1, L, Ca], float32
  int64_t width = 0, height = 0, frames = 0;
  double fps = 0.0;
  double seconds() const { return fps > 0 ? static_cast<double>(frames) / fps : 0.0; }
};

/// What a generation did, for logs and benchmarks.
struct GenerationReport {
  int64_t forwardPasses = 0;
  int64_t referenceCacheHits = 0;
  int64_t referenceCacheMisses = 0;
};

/// Samples the latent: noise from `settings.seed` (video and audio from their own derived
/// streams, so the same seed gives the same bits on the CPU), the caption's prompt and negative
/// prompts, every subject's references. Calls `onStep` after every step; `cancel` is checked
/// between passes. Throws core::InputError when the caption or the identities were encoded by
/// another model, core::Cancelled when cancelled.
GeneratedLatents generate(const GenerationModel& model, const EncodedCaption& caption, const IdentitySet& identities,
                          const GenerationSettings& settings, const sampling::StepCallback& onStep = {},
                          const core::CancelToken* cancel = nullptr, GenerationReport* report = nullptr);

/// Decoded frames `[N, H, W, 3]` float in 0..1 (CPU) and the waveform `[T]` at the model's
/// audio rate, cut or padded to the clip's duration.
struct DecodedClip {
  at::Tensor frames;
  at::Tensor waveform;
  int64_t sampleRate = 0;
  double fps = 0.0;
};

/// Decodes both towers (the video VAE decodes in temporal chunks with its causal cache).
DecodedClip decode(const GenerationModel& model, const GeneratedLatents& latents);

/// The largest frame count not above `frames` that the model's video VAE accepts (1 + k ·
/// temporal compression); 0 when there is none.
int64_t framesAtMost(const GenerationModel& model, int64_t frames);

/// The joint latent of given frames and sound, which decode() turns back into them: the model's
/// VAE (and vocoder) round trip. `frames` [N, H, W, 3] float in 0..1 at `fps`, N a valid frame count,
/// H and W multiples of model.sizeMultiple(); `waveform` [T] mono at the model's audio rate, cut or
/// padded to the frames' duration, or undefined for frames without sound (the audio latent is then
/// left undefined). Throws core::InputError naming what does not fit.
GeneratedLatents encode(const GenerationModel& model, const at::Tensor& frames, double fps, const at::Tensor& waveform);

}  // namespace presence::models::generation
