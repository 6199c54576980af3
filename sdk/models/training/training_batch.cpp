#include "presence/models/training/training_batch.hpp"

#include <tuple>

#include "presence/core/error.hpp"
#include "presence/runtime/rng.hpp"

namespace presence::models::training {
namespace {

std::string shapeOf(const at::Tensor& t) {
  std::string s = "[";
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + "]";
}

}  // namespace

int64_t TrainingBatch::batchSize() const {
  if (video.defined()) return video.size(0);
  if (audio.defined()) return audio.size(0);
  return text.defined() ? text.size(0) : 0;
}

std::string stageName(Stage stage) {
  switch (stage) {
    case Stage::Stage1Audio: return "stage1-audio";
    case Stage::Stage1Video: return "stage1-video";
    case Stage::Stage2Joint: return "stage2";
    case Stage::Stage3MultiView: return "stage3";
  }
  return "?";
}

Stage stageFromName(const std::string& name) {
  for (Stage s : {Stage::Stage1Audio, Stage::Stage1Video, Stage::Stage2Joint, Stage::Stage3MultiView})
    if (stageName(s) == name) return s;
  throw core::InputError("unknown training stage '" + name + "' (known: stage1-audio, stage1-video, stage2, stage3)");
}

bool stageUsesVideo(Stage stage) { return stage != Stage::Stage1Audio; }
bool stageUsesAudio(Stage stage) { return stage != Stage::Stage1Video; }
bool stageUsesFusion(Stage stage) { return stage == Stage::Stage2Joint || stage == Stage::Stage3MultiView; }
double defaultLearningRate(Stage stage) { return stage == Stage::Stage3MultiView ? 1e-5 : 1e-4; }

std::vector<std::string> trainableParameterNames(const dit::DitWeights& weights, Stage stage) {
  std::vector<std::string> out;
  const auto& cfg = weights.config();
  const std::string tower = stage == Stage::Stage1Audio ? cfg.audio.prefix + "." : cfg.video.prefix + ".";
  for (const auto& name : weights.names()) {
    if (stageUsesFusion(stage)) {
      out.push_back(name);
    } else if (name == "identity_embeddings" ||
               (name.rfind(tower, 0) == 0 && name.find("_fusion") == std::string::npos)) {
      out.push_back(name);
    }
  }
  return out;
}

void validateBatch(const dit::DitConfig& cfg, const TrainingBatch& b, Stage stage, const std::string& where) {
  const std::string at = where.empty() ? "" : where + ": ";
  auto fail = [&](const std::string& m) { throw core::InputError(at + m); };
  if (stageUsesVideo(stage) && !b.video.defined())
    fail(stageName(stage) + " trains the video tower but the batch has no video latents");
  if (stageUsesAudio(stage) && !b.audio.defined())
    fail(stageName(stage) + " trains the audio tower but the batch has no audio latents");
  const int64_t n = b.batchSize();
  if (n < 1) fail("empty batch");
  if (stageUsesVideo(stage)) {
    if (b.video.dim() != 5 || b.video.size(1) != cfg.video.inDim)
      fail("video latents are " + shapeOf(b.video) + "; the model takes [B, " + std::to_string(cfg.video.inDim) +
           ", F, H, W]");
    if (b.video.size(3) % cfg.video.patchSize[1] || b.video.size(4) % cfg.video.patchSize[2])
      fail("video latents " + shapeOf(b.video) + " are not a multiple of the patch size");
    if (b.video.size(0) != n) fail("video and audio batch sizes differ");
    if (b.faceCover.defined() &&
        (b.faceCover.dim() != 5 || b.faceCover.size(0) != n || b.faceCover.size(1) != 1 || b.faceCover.size(2) != 1 ||
         b.faceCover.size(3) != b.video.size(3) || b.faceCover.size(4) != b.video.size(4)))
      fail("face cover is " + shapeOf(b.faceCover) + "; expected [B, 1, 1, H, W] of the video latents " +
           shapeOf(b.video));
  }
  if (stageUsesAudio(stage)) {
    if (b.audio.dim() != 3 || b.audio.size(2) != cfg.audio.inDim)
      fail("audio latents are " + shapeOf(b.audio) + "; the model takes [B, L, " + std::to_string(cfg.audio.inDim) +
           "] (channel-last)");
    if (b.audio.size(0) != n) fail("video and audio batch sizes differ");
  }
  if (!b.text.defined() || b.text.dim() != 3 || b.text.size(0) != n)
    fail("text embeddings must be [B, Lt, textDim] with B = " + std::to_string(n) +
         (b.text.defined() ? ", got " + shapeOf(b.text) : ", got none"));
  for (const dit::TowerConfig* t : {&cfg.video, &cfg.audio}) {
    if (b.text.size(2) != t->textDim)
      fail("text embeddings are " + shapeOf(b.text) + "; the " + t->prefix + " takes width " +
           std::to_string(t->textDim));
    if (b.text.size(1) > t->textLen)
      fail("text has " + std::to_string(b.text.size(1)) + " tokens; the model takes at most " +
           std::to_string(t->textLen));
  }
  if (!b.textLengths.empty() && static_cast<int64_t>(b.textLengths.size()) != n)
    fail("textLengths has " + std::to_string(b.textLengths.size()) + " entries for " + std::to_string(n) + " items");
  if (b.references.hasFaces() &&
      (b.references.faces.dim() != 5 || b.references.faces.size(1) != cfg.video.inDim || b.references.faces.size(0) != n))
    fail("face references are " + shapeOf(b.references.faces) + "; expected [B, " + std::to_string(cfg.video.inDim) +
         ", faces, h, w]");
  for (const auto& v : b.references.voices)
    if (v.dim() != 3 || v.size(2) != cfg.audio.inDim || v.size(0) != n)
      fail("a voice reference is " + shapeOf(v) + "; expected [B, Ls, " + std::to_string(cfg.audio.inDim) + "]");
  if (stage == Stage::Stage3MultiView && !b.references.hasFaces())
    fail("stage3 fine-tunes on multi-view face references but the batch has none");
}

void GuidanceDropout::validate(const dit::DitConfig& config) const {
  auto fail = [](const std::string& m) { throw core::InputError("guidance dropout: " + m); };
  if (!(share >= 0.0 && share <= 1.0)) fail("share must be in [0, 1]");
  if (!(faceShare >= 0.0 && faceShare <= 1.0)) fail("face share must be in [0, 1]");
  if (share <= 0.0) return;
  auto check = [&](const at::Tensor& t, int64_t tokens, const dit::TowerConfig& tower, const char* which) {
    if (!t.defined() || t.dim() != 3 || t.size(0) != 1)
      fail(std::string("needs both negative prompts as [1, Ln, textDim] embeddings; the ") + which + " one is " +
           (t.defined() ? shapeOf(t) : "missing"));
    if (tokens < 1 || tokens > t.size(1))
      fail(std::string("the ") + which + " negative prompt's token count " + std::to_string(tokens) +
           " is outside its embeddings " + shapeOf(t));
    if (t.size(2) != tower.textDim || t.size(1) > tower.textLen)
      fail(std::string("the ") + which + " negative prompt is " + shapeOf(t) + "; the " + tower.prefix +
           " takes width " + std::to_string(tower.textDim) + " and at most " + std::to_string(tower.textLen) +
           " tokens");
    if (t.is_inference())
      fail(std::string("the ") + which +
           " negative prompt is an inference-mode tensor, which autograd cannot save; clone it outside "
           "c10::InferenceMode");
  };
  check(negativeVideo, negativeVideoTokens, config.video, "video");
  check(negativeAudio, negativeAudioTokens, config.audio, "audio");
}

Conditioning drawConditioning(const GuidanceDropout& dropout, uint64_t seed, int64_t firstSample) {
  if (dropout.share <= 0.0) return Conditioning::Full;
  // Its own stream: the per-sample generators of the noise never see these draws.
  constexpr uint64_t kGuidanceStream = 0x6775696465ULL;
  const uint64_t h = runtime::deriveSeed(runtime::deriveSeed(seed, kGuidanceStream), static_cast<uint64_t>(firstSample));
  auto unit = [](uint64_t v) { return static_cast<double>(v >> 11) * 0x1.0p-53; };
  if (unit(h) >= dropout.share) return Conditioning::Full;
  return unit(runtime::deriveSeed(h, 1)) < dropout.faceShare ? Conditioning::NegativePassWithoutFaces
                                                             : Conditioning::NegativePass;
}

LossTerms flowMatchingLoss(const dit::DualTowerDit& model, const TrainingBatch& b, const LossOptions& options,
                           uint64_t seed, int64_t firstSample) {
  const bool useVideo = stageUsesVideo(options.stage), useAudio = stageUsesAudio(options.stage);
  const int64_t n = b.batchSize();
  // Noise is drawn on the CPU (same bits everywhere) and the loss computed on the model's device.
  const at::Device dev = model.device();
  std::vector<at::Tensor> sigmas, videoNoise, audioNoise;
  for (int64_t i = 0; i < n; ++i) {
    at::Generator gen = runtime::makeGenerator(runtime::deriveSeed(seed, static_cast<uint64_t>(firstSample + i)));
    sigmas.push_back(sampling::flowMatchingTrainingSigmas(1, options.time, gen));
    if (useVideo) videoNoise.push_back(runtime::randn(b.video[i].unsqueeze(0).sizes(), gen, at::kFloat, dev));
    if (useAudio) audioNoise.push_back(runtime::randn(b.audio[i].unsqueeze(0).sizes(), gen, at::kFloat, dev));
  }
  if (options.sigma) {
    const double level = *options.sigma;
    if (!(level >= 0.0 && level <= 1.0))
      throw core::InputError("flow matching: a fixed noise level must lie in [0, 1], got " + std::to_string(level));
    for (auto& s : sigmas) s.fill_(level);  // drawn all the same, so the noise is that of a drawn run
  }
  const at::Tensor sigma = at::cat(sigmas).to(dev);
  dit::DitInputs in;
  in.t = sampling::timestepsFromSigmas(sigma);
  // Each tower's clean latents and noise; the references of a tower that does not run stay out.
  at::Tensor v0, a0, ev, ea;
  auto noisy = [&](const at::Tensor& clean, const std::vector<at::Tensor>& noise, at::Tensor& x0, at::Tensor& eps) {
    x0 = clean.to(dev, at::kFloat);
    eps = at::cat(noise);
    return sampling::noisyLatent(x0, eps, sigma);
  };
  const dit::DitReferences& r = b.references;
  const Conditioning cond = drawConditioning(options.guidanceDropout, seed, firstSample);
  const bool negativePass = cond != Conditioning::Full;
  if (negativePass) options.guidanceDropout.validate(model.config());
  // The negative pass's text: each tower its own negative prompt, as DitDenoiser gives it.
  auto negativeText = [n](const at::Tensor& t, int64_t tokens, at::Tensor& text, std::vector<int64_t>& lengths) {
    text = t.expand({n, t.size(1), t.size(2)});
    lengths.assign(static_cast<size_t>(n), tokens);
  };
  if (useVideo) {
    in.video = noisy(b.video, videoNoise, v0, ev);
    if (negativePass) {
      negativeText(options.guidanceDropout.negativeVideo, options.guidanceDropout.negativeVideoTokens, in.videoText,
                   in.videoTextLengths);
    } else {
      std::tie(in.videoText, in.videoTextLengths) = std::tie(b.text, b.textLengths);
    }
    if (cond != Conditioning::NegativePassWithoutFaces)
      std::tie(in.references.faces, in.references.faceMask, in.references.faceSubjects) =
          std::tie(r.faces, r.faceMask, r.faceSubjects);
  }
  if (useAudio) {
    in.audio = noisy(b.audio, audioNoise, a0, ea);
    if (negativePass) {
      negativeText(options.guidanceDropout.negativeAudio, options.guidanceDropout.negativeAudioTokens, in.audioText,
                   in.audioTextLengths);
    } else {
      std::tie(in.audioText, in.audioTextLengths) = std::tie(b.text, b.textLengths);
      std::tie(in.references.voices, in.references.voiceLengths, in.references.voiceSubjects) =
          std::tie(r.voices, r.voiceLengths, r.voiceSubjects);
    }
  }
  dit::DitForwardOptions fo;
  fo.fusion = stageUsesFusion(options.stage);
  const dit::DitOutputs out = model.forward(in, fo);
  LossTerms terms;
  auto squaredError = [](const at::Tensor& u, const at::Tensor& x0, const at::Tensor& eps) {
    return (u.to(at::kFloat) - sampling::velocityTarget(x0, eps)).pow(2);
  };
  if (useVideo) {
    const at::Tensor e2 = squaredError(out.video, v0, ev);
    if (options.faceWeight != 1.0 && b.faceCover.defined()) {
      if (!(options.faceWeight > 0.0))
        throw core::InputError("flow matching: the face loss weight must be > 0, got " +
                               std::to_string(options.faceWeight));
      // Weighted mean: 1 outside faces, faceWeight inside, blended by the position's share.
      const at::Tensor w = (1.0 + (options.faceWeight - 1.0) * b.faceCover.to(dev, at::kFloat)).expand_as(e2);
      terms.video = (w * e2).sum() / w.sum();
    } else {
      terms.video = e2.mean();
    }
  }
  if (useAudio) terms.audio = squaredError(out.audio, a0, ea).mean();
  if (useVideo && useAudio) {
    terms.total = terms.video + options.audioWeight * terms.audio;
  } else {
    terms.total = useVideo ? terms.video : terms.audio;
  }
  return terms;
}

}  // namespace presence::models::training
