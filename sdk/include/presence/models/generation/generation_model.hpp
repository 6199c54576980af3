// A generation model: the dual-tower DiT with the text encoder, video VAE, audio VAE and vocoder
// it was trained with, loaded once per process through the runtime's model cache and shared by
// every node that asks for the same weights and settings.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "presence/models/dit/dual_tower_dit.hpp"
#include "presence/models/generation/guidance_training.hpp"
#include "presence/models/generation/structured_caption.hpp"
#include "presence/models/interfaces/audio_vae.hpp"
#include "presence/models/interfaces/text_encoder.hpp"
#include "presence/models/interfaces/video_vae.hpp"
#include "presence/models/interfaces/vocoder.hpp"
#include "presence/runtime/model_cache.hpp"

namespace presence::models::generation {

/// Which preset of each component a generation preset combines.
struct GenerationPreset {
  std::string name;
  std::string dit, text, videoVae, audioVae, vocoder;  ///< preset names in each family
  CaptionSyntax syntax = CaptionSyntax::AudioSuffix;
  /// Public sizes: every component needs its checkpoint (random weights are refused).
  bool needsCheckpoints = false;
  std::string summary;
};

/// "iap" (public Identity-as-Presence components: every checkpoint required), "small" (the
/// built-in model's sizes, seeded random weights for what no checkpoint is given), "tiny" (tests).
GenerationPreset generationPreset(const std::string& name);
std::vector<std::string> generationPresetNames();

/// What to load. Empty checkpoint paths mean seeded random weights (refused for public presets).
struct GenerationModelSpec {
  std::string preset = "small";
  std::filesystem::path ditCheckpoint;
  std::filesystem::path textCheckpoint;
  std::filesystem::path tokenizer;  ///< empty: the bundled caption tokenizer (small and tiny)
  std::filesystem::path videoVaeCheckpoint;
  std::filesystem::path audioVaeCheckpoint;
  std::filesystem::path vocoderCheckpoint;
  std::string device = "auto";  ///< "auto", "cpu", "cuda", "cuda:N"
  std::string dtype = "auto";   ///< "auto" (the runtime's policy), "f32", "bf16"
  uint64_t seed = 0;            ///< for random weights
};

/// The bundled sentencepiece model of the small presets: $PRESENCE_DATA_DIR/tokenizer/..., else
/// the installed share/presence/models folder, else the source tree's samples/models.
std::filesystem::path bundledTokenizerPath();

/// The loaded components. Encoders and decoders are called through the members below, which
/// serialise calls per component (the interfaces allow one call at a time per instance), so
/// nodes on parallel branches may share one model.
///
/// Ownership: shared (std::shared_ptr from the model cache); immutable after loading.
/// Threading: every member is thread-safe. Errors: what the components throw.
class GenerationModel : public runtime::CacheEntry {
 public:
  GenerationModel(GenerationModelSpec spec, GenerationPreset preset, std::string key,
                  std::shared_ptr<const dit::DualTowerDit> dit, std::shared_ptr<TextEncoder> text,
                  std::shared_ptr<VideoVae> videoVae, std::shared_ptr<AudioVae> audioVae,
                  std::shared_ptr<Vocoder> vocoder, std::vector<std::string> randomComponents,
                  GuidanceTraining guidanceTraining = {});

  const GenerationModelSpec& spec() const { return spec_; }
  const GenerationPreset& preset() const { return preset_; }
  /// The model cache key: identifies these weights and settings.
  const std::string& key() const { return key_; }
  /// Identifies the encoders: the loaded model's key, kept by models made from it with
  /// withDitWeights (they share its encoders), so latents and references encoded by one are
  /// valid for the others.
  const std::string& encoderKey() const { return encoderKey_; }
  const std::shared_ptr<const dit::DualTowerDit>& dit() const { return dit_; }
  const dit::DitConfig& ditConfig() const { return dit_->config(); }
  CaptionSyntax captionSyntax() const { return preset_.syntax; }
  /// Components running on seeded random weights ("dit", "text", ...); empty for a trained model.
  const std::vector<std::string>& randomComponents() const { return random_; }
  /// What the DiT's training taught guidance's negative pass (from its checkpoint's metadata).
  const GuidanceTraining& guidanceTraining() const { return guidanceTraining_; }
  /// One line for logs: preset, device, dtype, and which weights are random ("RANDOM WEIGHTS ...
  /// not a trained model" when the DiT is; "seeded random, frozen" for encoders under a trained
  /// DiT, such as the built-in model's text encoder).
  std::string describe() const;

  int64_t maxSubjects() const { return ditConfig().identity.maxSubjects; }
  int64_t textLength() const { return text_->maxLength(); }
  int64_t videoLatentChannels() const { return videoVae_->latentChannels(); }
  int64_t temporalCompression() const { return videoVae_->temporalCompression(); }
  int64_t spatialCompression() const { return videoVae_->spatialCompression(); }
  int64_t latentFrames(int64_t frames) const { return videoVae_->latentFrames(frames); }
  /// Pixels per latent pixel times the DiT's patch: width and height must be multiples of this.
  int64_t sizeMultiple() const;
  int64_t audioSampleRate() const { return audioVae_->sampleRate(); }
  int64_t audioLatentChannels() const { return audioVae_->latentChannels(); }
  double audioLatentsPerSecond() const { return audioVae_->latentsPerSecond(); }
  int64_t audioLatentLength(double seconds) const { return audioVae_->latentLength(seconds); }
  bool isValidFrameCount(int64_t frames) const { return videoVae_->isValidFrameCount(frames); }

  TextEmbeddings encodeText(const std::vector<std::string>& prompts) const;
  /// Frames `[N, H, W, 3]` in 0..1 → normalised latents `[1, z, F', H', W']`.
  at::Tensor encodeFrames(const at::Tensor& frames) const;
  /// Latents `[B, z, F', H', W']` → frames `[B, N, H, W, 3]` in 0..1.
  at::Tensor decodeFrames(const at::Tensor& latents) const;
  /// Mono waveform `[T]` at audioSampleRate() → latents `[1, L, Ca]`.
  at::Tensor encodeWaveform(const at::Tensor& waveform) const;
  /// Latents `[B, L, Ca]` → waveform `[B, T]` in −1..1 at audioSampleRate() (through the vocoder
  /// when the audio VAE decodes to mel).
  at::Tensor decodeWaveform(const at::Tensor& latents) const;

  std::size_t bytes() const override { return bytes_; }

 private:
  GenerationModelSpec spec_;
  GenerationPreset preset_;
  std::string key_;
  std::string encoderKey_;
  std::shared_ptr<const dit::DualTowerDit> dit_;
  std::shared_ptr<TextEncoder> text_;
  std::shared_ptr<VideoVae> videoVae_;
  std::shared_ptr<AudioVae> audioVae_;
  std::shared_ptr<Vocoder> vocoder_;
  std::vector<std::string> random_;
  GuidanceTraining guidanceTraining_;
  std::size_t bytes_ = 0;
  mutable std::mutex textLock_, videoLock_, audioLock_;

  friend std::shared_ptr<GenerationModel> withDitWeights(const GenerationModel&, std::shared_ptr<dit::DitWeights>,
                                                         const std::string&, const GuidanceTraining&);
};

/// A model sharing `base`'s encoders, decoders and settings with a DiT on `weights` (trained
/// weights, what `guidanceTraining` says their training taught the negative pass). `keySuffix`
/// is appended to the key; "dit" leaves the random components.
std::shared_ptr<GenerationModel> withDitWeights(const GenerationModel& base, std::shared_ptr<dit::DitWeights> weights,
                                                const std::string& keySuffix, const GuidanceTraining& guidanceTraining);

/// The model `spec` names, from `cache` (loaded on the first request; later requests with the
/// same files and settings share it). Throws core::InputError naming the preset, the file or the
/// setting that is wrong (an unknown preset, a missing checkpoint for a public preset, a
/// checkpoint whose tensors do not match, components that do not fit together).
std::shared_ptr<GenerationModel> loadGenerationModel(const GenerationModelSpec& spec,
                                                     runtime::ModelCache& cache = runtime::ModelCache::global());

}  // namespace presence::models::generation
