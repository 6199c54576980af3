#include "presence/models/generation/generation_model.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include "presence/core/error.hpp"
#include "presence/models/audio/bigvgan.hpp"
#include "presence/models/audio/griffin_lim.hpp"
#include "presence/models/audio/mmaudio_vae.hpp"
#include "presence/models/dit/dit_checkpoint.hpp"
#include "presence/models/dit/dit_presets.hpp"
#include "presence/models/text/umt5_encoder.hpp"
#include "presence/models/text/umt5_presets.hpp"
#include "presence/models/video/wan_video_vae.hpp"
#include "presence/runtime/checkpoint_reader.hpp"
#include "presence/runtime/device.hpp"
#include "presence/runtime/dtype.hpp"
#include "presence/runtime/model_key.hpp"

namespace presence::models::generation {
namespace fs = std::filesystem;

GenerationPreset generationPreset(const std::string& name) {
  if (name == "iap")
    return {"iap", "iap", "umt5-xxl", "wan22", "mmaudio16k", "bigvgan16k", CaptionSyntax::AudioSuffix, true,
            "Identity-as-Presence at public sizes (DiT iap, UMT5-XXL, Wan2.2 VAE, MMAudio VAE, BigVGAN): "
            "every checkpoint must be given"};
  if (name == "small")
    return {"small", "small", "small", "small", "small", "griffin-lim", CaptionSyntax::AudioSuffix, false,
            "the built-in model's sizes (DiT small, small encoders, Griffin-Lim vocoder)"};
  if (name == "tiny")
    return {"tiny", "tiny", "tiny", "tiny", "tiny", "griffin-lim", CaptionSyntax::AudioSuffix, false,
            "for tests: every component at its tiny preset"};
  throw core::InputError("unknown generation preset '" + name + "' (known: iap, small, tiny)");
}

std::vector<std::string> generationPresetNames() { return {"iap", "small", "tiny"}; }

fs::path bundledTokenizerPath() {
  const fs::path relative = fs::path("tokenizer") / "captions-1k.model";
  if (const char* dir = std::getenv("PRESENCE_DATA_DIR"); dir != nullptr && *dir != '\0') return fs::path(dir) / relative;
  // Installed: <prefix>/lib/libpresence_generation.so → <prefix>/share/presence/models.
  Dl_info info{};
  if (dladdr(reinterpret_cast<const void*>(&bundledTokenizerPath), &info) != 0 && info.dli_fname != nullptr) {
    const fs::path installed = fs::path(info.dli_fname).parent_path().parent_path() / "share" / "presence" / "models";
    if (fs::exists(installed / relative)) return installed / relative;
  }
  return fs::path(PRESENCE_SOURCE_MODELS_DIR) / relative;
}

GenerationModel::GenerationModel(GenerationModelSpec spec, GenerationPreset preset, std::string key,
                                 std::shared_ptr<const dit::DualTowerDit> dit, std::shared_ptr<TextEncoder> text,
                                 std::shared_ptr<VideoVae> videoVae, std::shared_ptr<AudioVae> audioVae,
                                 std::shared_ptr<Vocoder> vocoder, std::vector<std::string> randomComponents,
                                 GuidanceTraining guidanceTraining)
    : spec_(std::move(spec)),
      preset_(std::move(preset)),
      key_(std::move(key)),
      encoderKey_(key_),
      dit_(std::move(dit)),
      text_(std::move(text)),
      videoVae_(std::move(videoVae)),
      audioVae_(std::move(audioVae)),
      vocoder_(std::move(vocoder)),
      random_(std::move(randomComponents)),
      guidanceTraining_(guidanceTraining) {
  for (const auto& name : dit_->weights().names()) {
    const auto& t = dit_->weights().get(name);
    bytes_ += static_cast<std::size_t>(t.numel()) * t.element_size();
  }
}

std::shared_ptr<GenerationModel> withDitWeights(const GenerationModel& base, std::shared_ptr<dit::DitWeights> weights,
                                                const std::string& keySuffix, const GuidanceTraining& guidanceTraining) {
  auto dit = std::make_shared<const dit::DualTowerDit>(std::move(weights), base.dit_->computeDtype());
  std::vector<std::string> random;
  for (const auto& c : base.random_)
    if (c != "dit") random.push_back(c);
  auto model = std::make_shared<GenerationModel>(base.spec_, base.preset_, base.key_ + keySuffix, std::move(dit),
                                                 base.text_, base.videoVae_, base.audioVae_, base.vocoder_,
                                                 std::move(random), guidanceTraining);
  model->encoderKey_ = base.encoderKey_;
  return model;
}

std::string GenerationModel::describe() const {
  std::ostringstream out;
  out << "model '" << preset_.name << "' on " << runtime::deviceName(dit_->device()) << " ("
      << runtime::dtypeName(dit_->computeDtype()) << "), vocoder " << vocoder_->name();
  const bool ditRandom = std::find(random_.begin(), random_.end(), "dit") != random_.end();
  if (ditRandom) {
    out << "; RANDOM WEIGHTS (seed " << spec_.seed << ") for:";
    for (const auto& c : random_) out << ' ' << c;
    out << " - the output shows the pipeline working, not a trained model";
  } else if (!random_.empty()) {
    // A DiT trained on top of seeded random encoders (the built-in model's frozen text encoder)
    // needs those same encoders: same seed, same weights.
    out << "; seeded random, frozen (seed " << spec_.seed << "):";
    for (const auto& c : random_) out << ' ' << c;
  }
  return out.str();
}

int64_t GenerationModel::sizeMultiple() const {
  const auto& v = ditConfig().video;
  return videoVae_->spatialCompression() * std::max(v.patchSize[1], v.patchSize[2]);
}

TextEmbeddings GenerationModel::encodeText(const std::vector<std::string>& prompts) const {
  std::lock_guard lock(textLock_);
  return text_->encode(prompts);
}

at::Tensor GenerationModel::encodeFrames(const at::Tensor& frames) const {
  std::lock_guard lock(videoLock_);
  return videoVae_->encode(frames);
}

at::Tensor GenerationModel::decodeFrames(const at::Tensor& latents) const {
  std::lock_guard lock(videoLock_);
  return videoVae_->decode(latents);
}

at::Tensor GenerationModel::encodeWaveform(const at::Tensor& waveform) const {
  std::lock_guard lock(audioLock_);
  return audioVae_->encode(waveform);
}

at::Tensor GenerationModel::decodeWaveform(const at::Tensor& latents) const {
  std::lock_guard lock(audioLock_);
  at::Tensor out = audioVae_->decode(latents);
  if (audioVae_->outputKind() == AudioVaeOutput::Waveform) return out.to(at::kCPU, at::kFloat);
  return vocoder_->vocode(out.to(at::kFloat)).to(at::kCPU, at::kFloat);
}

namespace {

// Runs a component loader; an InputError gets the component's name in front.
template <class F>
auto component(const std::string& what, F&& load) -> decltype(load()) {
  try {
    return load();
  } catch (const core::InputError& e) {
    throw core::InputError(what + ": " + e.what());
  }
}

void requireFile(const std::string& what, const fs::path& path) {
  if (!fs::exists(path)) throw core::InputError(what + ": file not found: " + path.string());
}

std::shared_ptr<GenerationModel> load(const GenerationModelSpec& spec, const GenerationPreset& preset,
                                      const std::string& key) {
  const c10::Device device = runtime::resolveDevice(spec.device);
  std::vector<std::string> random;
  auto needs = [&](const std::string& what, const fs::path& path) {
    if (!path.empty()) {
      requireFile(what, path);
      return true;
    }
    if (preset.needsCheckpoints)
      throw core::InputError(what + ": preset '" + preset.name +
                             "' has public sizes and needs its checkpoint (random weights are only for the "
                             "small presets)");
    random.push_back(what);
    return false;
  };

  // DiT.
  const dit::DitConfig ditConfig = dit::preset(preset.dit);
  const auto ditDtype = runtime::DtypePolicy::forModel(ditConfig.cpuComputeDtype).resolve(device, spec.dtype);
  std::shared_ptr<dit::DitWeights> ditWeights;
  GuidanceTraining guidanceTraining;
  if (needs("dit", spec.ditCheckpoint)) {
    dit::DitLoadOptions options;
    options.device = device;
    options.dtype = ditDtype;
    options.seed = spec.seed;
    ditWeights = std::make_shared<dit::DitWeights>(component("dit", [&] {
      auto loaded = dit::loadDitCheckpoint(ditConfig, spec.ditCheckpoint, options);
      guidanceTraining = GuidanceTraining::fromMetadata(loaded.source->metadata(), spec.ditCheckpoint.string());
      return std::move(loaded.weights);
    }));
  } else {
    ditWeights = std::make_shared<dit::DitWeights>(dit::DitWeights::allocate(ditConfig, device, ditDtype, spec.seed));
  }
  auto ditModel = std::make_shared<const dit::DualTowerDit>(ditWeights, ditDtype);

  // Text encoder and tokenizer (truncating to the DiT's text length).
  const text::Umt5Config textConfig = text::umt5Preset(preset.text);
  const fs::path tokenizerPath = spec.tokenizer.empty() ? bundledTokenizerPath() : spec.tokenizer;
  if (spec.tokenizer.empty() && preset.needsCheckpoints)
    throw core::InputError("tokenizer: preset '" + preset.name + "' needs the model's sentencepiece file");
  requireFile("tokenizer", tokenizerPath);
  text::TokenizerOptions tokenizerOptions;
  tokenizerOptions.maxLength = std::min(textConfig.textLen, ditConfig.video.textLen);
  auto tokenizer = std::make_shared<const text::Tokenizer>(
      component("tokenizer", [&] { return text::Tokenizer(tokenizerPath, tokenizerOptions); }));
  if (tokenizer->vocabSize() > textConfig.vocabSize)
    throw core::InputError("tokenizer: " + tokenizerPath.string() + " has " + std::to_string(tokenizer->vocabSize()) +
                           " pieces, more than the text encoder's " + std::to_string(textConfig.vocabSize) +
                           " embeddings");
  text::Umt5Weights textWeights;
  if (needs("text", spec.textCheckpoint)) {
    text::Umt5LoadOptions options;
    options.device = device;
    textWeights = component("text", [&] { return text::loadUmt5Weights(textConfig, spec.textCheckpoint, options); });
  } else {
    textWeights = text::randomUmt5Weights(textConfig, spec.seed + 1, at::kFloat, device);
  }
  auto textEncoder = std::make_shared<text::Umt5Encoder>(std::move(textWeights), tokenizer);
  if (textEncoder->embeddingDim() != ditConfig.video.textDim || textEncoder->embeddingDim() != ditConfig.audio.textDim)
    throw core::InputError("text encoder '" + preset.text + "' gives " + std::to_string(textEncoder->embeddingDim()) +
                           "-wide embeddings; the DiT reads " + std::to_string(ditConfig.video.textDim));

  // Video VAE.
  const video::WanVaeConfig videoConfig = video::videoVaePreset(preset.videoVae);
  std::shared_ptr<VideoVae> videoVae;
  if (needs("video_vae", spec.videoVaeCheckpoint)) {
    videoVae = component("video_vae", [&] {
      return std::shared_ptr<VideoVae>(
          video::WanVideoVae::fromCheckpoint(spec.videoVaeCheckpoint, videoConfig, device, at::kFloat));
    });
  } else {
    videoVae = std::make_shared<video::WanVideoVae>(videoConfig, video::WanVideoVae::randomStateDict(videoConfig, spec.seed + 2),
                                                    device, at::kFloat);
  }
  if (videoVae->latentChannels() != ditConfig.video.inDim)
    throw core::InputError("video VAE '" + preset.videoVae + "' has " + std::to_string(videoVae->latentChannels()) +
                           " latent channels; the DiT's video tower takes " + std::to_string(ditConfig.video.inDim));

  // Audio VAE.
  const audio::AudioVaeConfig audioConfig = audio::audioVaePreset(preset.audioVae);
  std::shared_ptr<AudioVae> audioVae;
  if (needs("audio_vae", spec.audioVaeCheckpoint)) {
    audioVae = component("audio_vae", [&] {
      return std::shared_ptr<AudioVae>(
          audio::MmaudioVae::fromCheckpoint(spec.audioVaeCheckpoint, audioConfig, device, at::kFloat));
    });
  } else {
    audioVae = std::make_shared<audio::MmaudioVae>(audioConfig, audio::MmaudioVae::randomStateDict(audioConfig, spec.seed + 3),
                                                   audio::MelConfig::mmaudio16k(), device, at::kFloat);
  }
  if (audioVae->latentChannels() != ditConfig.audio.inDim)
    throw core::InputError("audio VAE '" + preset.audioVae + "' has " + std::to_string(audioVae->latentChannels()) +
                           " latent channels; the DiT's audio tower takes " + std::to_string(ditConfig.audio.inDim));

  // Vocoder.
  std::shared_ptr<Vocoder> vocoder;
  if (preset.vocoder == "griffin-lim") {
    vocoder = std::make_shared<audio::GriffinLimVocoder>();
  } else {
    const audio::BigVganConfig vocoderConfig = audio::bigVganPreset(preset.vocoder);
    if (needs("vocoder", spec.vocoderCheckpoint)) {
      vocoder = component("vocoder", [&] {
        return std::shared_ptr<Vocoder>(
            audio::BigVgan::fromCheckpoint(spec.vocoderCheckpoint, vocoderConfig, device, at::kFloat));
      });
    } else {
      vocoder = std::make_shared<audio::BigVgan>(vocoderConfig, audio::BigVgan::randomStateDict(vocoderConfig, spec.seed + 4),
                                                 device, at::kFloat);
    }
  }
  if (vocoder->sampleRate() != audioVae->sampleRate() || vocoder->melBins() != audioVae->melBins())
    throw core::InputError("vocoder '" + vocoder->name() + "' does not fit the audio VAE (sample rate or mel bins)");

  return std::make_shared<GenerationModel>(spec, preset, key, std::move(ditModel), std::move(textEncoder),
                                           std::move(videoVae), std::move(audioVae), std::move(vocoder),
                                           std::move(random), guidanceTraining);
}

}  // namespace

std::shared_ptr<GenerationModel> loadGenerationModel(const GenerationModelSpec& spec, runtime::ModelCache& cache) {
  const GenerationPreset preset = generationPreset(spec.preset);
  const c10::Device device = runtime::resolveDevice(spec.device);
  runtime::ModelKey key("generation");
  key.set("preset", preset.name).set("device", runtime::deviceName(device)).set("dtype", spec.dtype);
  key.set("seed", std::to_string(spec.seed));
  const std::pair<const char*, const fs::path*> files[] = {
      {"dit", &spec.ditCheckpoint},           {"text", &spec.textCheckpoint},
      {"tokenizer", &spec.tokenizer},         {"video_vae", &spec.videoVaeCheckpoint},
      {"audio_vae", &spec.audioVaeCheckpoint}, {"vocoder", &spec.vocoderCheckpoint}};
  for (const auto& [what, path] : files) {
    if (path->empty()) continue;
    requireFile(what, *path);
    key.set(what, path->string()).file(*path);
  }
  const std::string keyText = key.str();
  // Estimate: the DiT's parameters in its weight dtype (the encoders are small next to it).
  const std::size_t estimate = 0;
  return cache.getOrLoad<GenerationModel>(keyText, estimate, [&] { return load(spec, preset, keyText); });
}

}  // namespace presence::models::generation
