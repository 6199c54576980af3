#include "presence/models/generation/generation.hpp"

#include <cmath>

#include "presence/core/error.hpp"
#include "presence/models/dit/dit_denoiser.hpp"
#include "presence/runtime/rng.hpp"

namespace presence::models::generation {
namespace {

void requireSameModel(const GenerationModel& model, const std::string& key, const std::string& what) {
  if (key != model.encoderKey())
    throw core::InputError(what + " was encoded with another model than the one sampling; connect both to the same " +
                           "presence.load_model (or to models trained from it)");
}

}  // namespace

EncodedCaption encodeCaption(const GenerationModel& model, const std::string& text, const std::string& negativeVideo,
                             const std::string& negativeAudio) {
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) throw core::InputError("the caption is empty");
  const TextEmbeddings batch = model.encodeText({text, negativeVideo, negativeAudio});
  EncodedCaption out;
  out.modelKey = model.encoderKey();
  out.text = text;
  out.negativeVideoText = negativeVideo;
  out.negativeAudioText = negativeAudio;
  out.prompt = batch.row(0);
  out.negativeVideo = batch.row(1);
  out.negativeAudio = batch.row(2);
  out.promptTokens = out.prompt.lengths[0].item<int64_t>();
  out.truncated = out.promptTokens >= model.textLength();
  return out;
}

void GenerationSettings::validate(const GenerationModel& model) const {
  const int64_t m = model.sizeMultiple();
  if (width < m || width % m != 0)
    throw core::ParamError("width", std::to_string(width) + " is not a positive multiple of " + std::to_string(m) +
                                        " (the video VAE's " + std::to_string(model.spatialCompression()) +
                                        "x compression times the DiT's 2x2 patch)");
  if (height < m || height % m != 0)
    throw core::ParamError("height", std::to_string(height) + " is not a positive multiple of " + std::to_string(m));
  if (!model.isValidFrameCount(frames) || frames < 1 + model.temporalCompression())
    throw core::ParamError("frames", std::to_string(frames) + " frames: the video VAE needs 1 + k*" +
                                         std::to_string(model.temporalCompression()) + " frames with k >= 1 (e.g. " +
                                         std::to_string(1 + 4 * model.temporalCompression()) + ")");
  if (!(fps > 0.0) || fps > 240.0) throw core::ParamError("fps", "must be in (0, 240]");
  sampler.validate();
}

int64_t framesForDuration(const GenerationModel& model, double seconds, double fps) {
  const int64_t c = model.temporalCompression();
  const int64_t k = std::max<int64_t>(1, std::llround((seconds * fps - 1.0) / static_cast<double>(c)));
  return 1 + k * c;
}

GeneratedLatents generate(const GenerationModel& model, const EncodedCaption& caption, const IdentitySet& identities,
                          const GenerationSettings& settings, const sampling::StepCallback& onStep,
                          const core::CancelToken* cancel, GenerationReport* report) {
  settings.validate(model);
  requireSameModel(model, caption.modelKey, "the caption");
  if (!identities.subjects.empty()) requireSameModel(model, identities.modelKey, "the identities");

  dit::DitConditioning conditioning;
  conditioning.prompt = {caption.prompt.embeddings, {caption.prompt.lengths[0].item<int64_t>()},
                         caption.prompt.embeddings, {caption.prompt.lengths[0].item<int64_t>()}};
  conditioning.negative = {caption.negativeVideo.embeddings, {caption.negativeVideo.lengths[0].item<int64_t>()},
                           caption.negativeAudio.embeddings, {caption.negativeAudio.lengths[0].item<int64_t>()}};
  conditioning.references = identities.toDitReferences();
  dit::DitDenoiser denoiser(model.dit(), std::move(conditioning), {}, settings.referenceCache);

  const int64_t s = model.spatialCompression();
  const std::vector<int64_t> videoShape = {1, model.videoLatentChannels(), model.latentFrames(settings.frames),
                                           settings.height / s, settings.width / s};
  const std::vector<int64_t> audioShape = {1, model.audioLatentLength(settings.seconds()), model.audioLatentChannels()};
  // Video and audio noise from their own streams of the seed: the same seed gives the same bits.
  const JointLatent noise{runtime::randn(videoShape, runtime::deriveSeed(settings.seed, 1)),
                          runtime::randn(audioShape, runtime::deriveSeed(settings.seed, 2))};

  GeneratedLatents out;
  out.modelKey = model.encoderKey();
  out.latent = sampling::sample(denoiser, noise, settings.sampler, onStep, cancel);
  out.width = settings.width;
  out.height = settings.height;
  out.frames = settings.frames;
  out.fps = settings.fps;
  if (report != nullptr) {
    report->forwardPasses = denoiser.calls();
    report->referenceCacheHits = denoiser.referenceCache().hits();
    report->referenceCacheMisses = denoiser.referenceCache().misses();
  }
  return out;
}

DecodedClip decode(const GenerationModel& model, const GeneratedLatents& latents) {
  if (latents.modelKey != model.encoderKey())
    throw core::InputError("the latents were sampled with another model than the one decoding them");
  DecodedClip clip;
  clip.fps = latents.fps;
  clip.sampleRate = model.audioSampleRate();
  if (latents.latent.hasVideo()) {
    clip.frames = model.decodeFrames(latents.latent.video).select(0, 0).contiguous();
  }
  if (latents.latent.hasAudio()) {
    at::Tensor wave = model.decodeWaveform(latents.latent.audio).select(0, 0);
    // The clip's duration exactly: the latents cover floor(seconds · rate) samples or a little less.
    const auto samples = static_cast<int64_t>(std::llround(latents.seconds() * static_cast<double>(clip.sampleRate)));
    if (wave.size(0) > samples) wave = wave.narrow(0, 0, samples);
    if (wave.size(0) < samples) wave = at::constant_pad_nd(wave, {0, samples - wave.size(0)});
    clip.waveform = wave.contiguous();
  }
  return clip;
}

int64_t framesAtMost(const GenerationModel& model, int64_t frames) {
  const int64_t c = model.temporalCompression();
  return frames < 1 ? 0 : 1 + (frames - 1) / c * c;
}

GeneratedLatents encode(const GenerationModel& model, const at::Tensor& frames, double fps, const at::Tensor& waveform) {
  if (!frames.defined() || frames.dim() != 4 || frames.size(3) != 3)
    throw core::InputError("the frames must be a tensor [N, H, W, 3]");
  const int64_t n = frames.size(0), h = frames.size(1), w = frames.size(2), m = model.sizeMultiple();
  if (!model.isValidFrameCount(n))
    throw core::InputError(std::to_string(n) + " frames is not a count the video VAE accepts (1 + " +
                           std::to_string(model.temporalCompression()) + "k; " + std::to_string(framesAtMost(model, n)) +
                           " would be)");
  if (h % m != 0 || w % m != 0)
    throw core::InputError("frames of " + std::to_string(w) + "x" + std::to_string(h) + " are not multiples of " +
                           std::to_string(m) + " (the model's pixels per token)");
  if (!(fps > 0.0)) throw core::InputError("the frame rate must be positive");
  GeneratedLatents out;
  out.modelKey = model.encoderKey();
  out.width = w;
  out.height = h;
  out.frames = n;
  out.fps = fps;
  out.latent.video = model.encodeFrames(frames.to(at::kFloat)).to(at::kCPU, at::kFloat);
  if (waveform.defined()) {
    if (waveform.dim() != 1 || waveform.size(0) == 0) throw core::InputError("the waveform must be a tensor [T], T > 0");
    // The sound of the frames' duration, as generate() sizes its audio.
    const auto samples =
        static_cast<int64_t>(std::llround(out.seconds() * static_cast<double>(model.audioSampleRate())));
    at::Tensor wave = waveform.to(at::kFloat);
    if (wave.size(0) > samples) wave = wave.narrow(0, 0, samples);
    if (wave.size(0) < samples) wave = at::constant_pad_nd(wave, {0, samples - wave.size(0)});
    out.latent.audio = model.encodeWaveform(wave.contiguous()).to(at::kCPU, at::kFloat);
  }
  return out;
}

}  // namespace presence::models::generation
