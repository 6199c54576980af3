#include "presence/models/training/autoencoder_training.hpp"

#include <ATen/core/grad_mode.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>

#include "presence/core/error.hpp"
#include "presence/models/audio/mel_frontend.hpp"
#include "presence/models/audio/mmaudio_vae.hpp"
#include "presence/models/training/cpu_autocast.hpp"
#include "presence/models/training/training_checkpoint.hpp"
#include "presence/models/video/wan_video_vae.hpp"
#include "presence/runtime/rng.hpp"

namespace presence::models::training {
namespace {

using TensorMap = std::map<std::string, at::Tensor>;

// Post-training measurements use a stream of their own, never a training step's.
constexpr uint64_t kMeasureStream = 0x6D65617375ULL;
// The motion term's data scale is drawn from one of its own too.
constexpr uint64_t kMotionScaleStream = 0x6D6F74696F6EULL;

double secondsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// KL(N(mu, exp(logvar)) || N(0, 1)) per latent element, averaged.
at::Tensor klTerm(const at::Tensor& mu, const at::Tensor& logvar) {
  return 0.5 * (mu * mu + at::exp(logvar) - 1.0 - logvar).mean();
}

at::Tensor sampleLatents(const at::Tensor& mu, const at::Tensor& logvar, at::Generator& generator) {
  return mu + at::exp(0.5 * logvar) * runtime::randn(mu.sizes(), generator).to(mu.scalar_type());
}

void validateOptions(const AutoencoderTrainOptions& o, const char* what) {
  if (o.steps < 1) throw core::InputError(std::string(what) + ": steps must be at least 1");
  if (o.batchSize < 1) throw core::InputError(std::string(what) + ": batch size must be at least 1");
  if (!(o.adam.learningRate > 0.0)) throw core::InputError(std::string(what) + ": learning rate must be positive");
  if (o.klWeight < 0.0) throw core::InputError(std::string(what) + ": KL weight must not be negative");
  if (o.harmonicWeight < 0.0) throw core::InputError(std::string(what) + ": harmonic weight must not be negative");
  if (o.colourWeight < 0.0) throw core::InputError(std::string(what) + ": colour weight must not be negative");
  if (o.motionWeight < 0.0) throw core::InputError(std::string(what) + ": motion weight must not be negative");
  if (o.colourBlock < 1) throw core::InputError(std::string(what) + ": colour block must be at least 1 pixel");
}

// Means of block × block pixel tiles of frames [B, N, H, W, 3] (H and W multiples of block).
at::Tensor blockColours(const at::Tensor& frames, int64_t block) {
  const auto s = frames.sizes();
  return frames.reshape({s[0], s[1], s[2] / block, block, s[3] / block, block, s[4]}).mean({3, 5});
}

std::string shapeText(const at::Tensor& t) {
  std::string s = "[";
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + "]";
}

// Frame-to-frame change of frames [B, N, H, W, 3]: [B, N - 1, H, W, 3].
at::Tensor frameSteps(const at::Tensor& frames) {
  const int64_t n = frames.size(1);
  return frames.narrow(1, 1, n - 1) - frames.narrow(1, 0, n - 1);
}

// Mel bins whose centre lies below `maxHz`: where the bins are narrow enough (about 37 Hz below
// 1 kHz for MMAudio's 80 Slaney bins) to resolve a voice's harmonics one by one.
int64_t harmonicBins(const audio::MelConfig& mel, double maxHz) {
  const double lo = audio::hzToMelSlaney(mel.fmin), hi = audio::hzToMelSlaney(mel.fmax);
  int64_t bins = 0;
  while (bins < mel.numMels &&
         audio::melToHzSlaney(lo + (hi - lo) * static_cast<double>(bins + 1) / static_cast<double>(mel.numMels + 1)) < maxHz)
    ++bins;
  return bins;
}

// The log-mel's steps from bin to bin over the first `bins` bins of [B, bins, frames]: the
// harmonic ripple, with the slow spectral envelope mostly cancelled.
at::Tensor harmonicRipple(const at::Tensor& mel, int64_t bins) {
  const at::Tensor low = mel.narrow(1, 0, bins);
  return low.narrow(1, 1, bins - 1) - low.narrow(1, 0, bins - 1);
}

double pearson(const at::Tensor& a, const at::Tensor& b) {
  const at::Tensor x = a.flatten().to(at::kDouble), y = b.flatten().to(at::kDouble);
  const at::Tensor dx = x - x.mean(), dy = y - y.mean();
  const double denom = std::sqrt((dx * dx).sum().item<double>() * (dy * dy).sum().item<double>());
  return denom > 0.0 ? (dx * dy).sum().item<double>() / denom : 0.0;
}

// The optimisation loop shared by both VAEs: `loss(step)` builds the step's differentiable loss
// from the parameters; checkpoints hold "model/<name>" and "adam/..." like the DiT trainer's.
class AutoencoderLoop {
 public:
  AutoencoderLoop(std::string kind, TensorMap parameters, const AutoencoderTrainOptions& options)
      : kind_(std::move(kind)), params_(std::move(parameters)), options_(options) {
    std::vector<std::string> names;
    std::vector<at::Tensor> tensors;
    for (auto& [name, t] : params_) {
      t = t.detach().to(at::kFloat).contiguous().requires_grad_(true);
      names.push_back(name);
      tensors.push_back(t);
    }
    list_ = tensors;
    adam_ = std::make_unique<AdamW>(std::move(names), std::move(tensors), options.adam);
  }

  const TensorMap& parameters() const { return params_; }

  AutoencoderTrainResult run(const std::function<at::Tensor(int64_t step)>& loss) {
    AutoencoderTrainResult result;
    resume();
    result.startStep = step_;
    const auto start = std::chrono::steady_clock::now();
    const double before = seconds_;
    while (step_ < options_.steps) {
      if (options_.cancel && options_.cancel->cancelled()) {
        result.cancelled = true;
        break;
      }
      adam_->zeroGrad();
      at::Tensor value;
      {
        CpuAutocast autocast(options_.bf16Autocast);
        value = loss(step_);  // the losses take their terms in float32
      }
      value.backward();
      clipGradNorm(list_, options_.maxGradNorm);
      adam_->step(options_.adam.learningRate);
      ++step_;
      seconds_ = before + secondsSince(start);
      LossRecord rec;
      rec.step = step_;
      rec.trainLoss = value.item<double>();
      rec.learningRate = options_.adam.learningRate;
      rec.seconds = seconds_;
      history_.push_back(rec);
      const bool last = step_ == options_.steps;
      if (!options_.checkpointDir.empty() &&
          (last || (options_.checkpointEvery > 0 && step_ % options_.checkpointEvery == 0)))
        save();
      if (options_.progress) {
        AutoencoderProgress p;
        p.step = step_;
        p.totalSteps = options_.steps;
        p.loss = rec.trainLoss;
        p.elapsedSeconds = seconds_;
        p.etaSeconds = secondsSince(start) / static_cast<double>(step_ - result.startStep) *
                       static_cast<double>(options_.steps - step_);
        if (options_.progress(p)) {
          result.cancelled = step_ < options_.steps;
          break;
        }
      }
    }
    for (auto& [name, t] : params_) t.requires_grad_(false);
    result.step = step_;
    result.history = history_;
    return result;
  }

 private:
  nlohmann::json config() const {
    return {{"stage", kind_},
            {"seed", options_.seed},
            {"steps", options_.steps},
            {"batch_size", options_.batchSize},
            {"learning_rate", options_.adam.learningRate},
            {"kl_weight", options_.klWeight},
            {"harmonic_weight", options_.harmonicWeight},
            {"harmonic_max_hz", options_.harmonicMaxHz},
            {"colour_weight", options_.colourWeight},
            {"colour_block", options_.colourBlock},
            {"motion_weight", options_.motionWeight},
            {"crop_size", options_.cropSize},
            {"crop_frames", options_.cropFrames},
            {"crop_latents", options_.cropLatents},
            {"bf16_autocast", options_.bf16Autocast},
            {"seconds", seconds_}};
  }

  void save() {
    TrainingCheckpoint ck;
    ck.step = step_;
    ck.history = history_;
    ck.config = config();
    for (const auto& [name, t] : params_) ck.tensors["model/" + name] = t.detach();
    for (const auto& [name, t] : adam_->state()) ck.tensors["adam/" + name] = t;
    saveTrainingCheckpoint(options_.checkpointDir, ck, 2);
    writeLossCurveCsv(options_.checkpointDir / "loss_curve.csv", history_);
  }

  void resume() {
    if (options_.checkpointDir.empty()) return;
    const auto latest = latestTrainingCheckpoint(options_.checkpointDir);
    if (!latest) return;
    const TrainingCheckpoint ck = loadTrainingCheckpoint(*latest);
    if (ck.config.value("stage", "") != kind_)
      throw core::InputError("checkpoint " + latest->string() + " is of a '" + ck.config.value("stage", "") +
                             "' run, not " + kind_ + " (use another checkpoint folder)");
    // Precision changes every step after the resume: the run would match neither setting's.
    if (ck.config.value("bf16_autocast", false) != options_.bf16Autocast)
      throw core::ParamError("bf16", "checkpoint " + latest->string() + " was trained with bf16 autocast " +
                             (options_.bf16Autocast ? "off" : "on") + "; resume it with the same setting or use "
                             "another checkpoint folder");
    at::NoGradGuard noGrad;
    std::map<std::string, at::Tensor> adamState;
    for (const auto& [key, t] : ck.tensors)
      if (key.rfind("adam/", 0) == 0) adamState[key.substr(5)] = t;
    for (auto& [name, t] : params_) {
      const auto it = ck.tensors.find("model/" + name);
      if (it == ck.tensors.end() || it->second.sizes() != t.sizes())
        throw core::InputError("checkpoint " + latest->string() + " lacks or mis-shapes " + name +
                               " (was it written for another preset?)");
      t.copy_(it->second);
    }
    adam_->loadState(adamState, ck.step);
    step_ = ck.step;
    history_ = ck.history;
    seconds_ = ck.config.value("seconds", 0.0);
  }

  std::string kind_;
  TensorMap params_;
  std::vector<at::Tensor> list_;
  AutoencoderTrainOptions options_;
  std::unique_ptr<AdamW> adam_;
  int64_t step_ = 0;
  double seconds_ = 0.0;
  std::vector<LossRecord> history_;
};

// ---- video ----

struct VideoCrops {
  const std::vector<at::Tensor>& clips;
  int64_t size, frames;

  // `count` crops [count, frames, size, size, 3] drawn from `rng`.
  at::Tensor draw(std::mt19937_64& rng, int64_t count) const {
    std::vector<at::Tensor> out;
    for (int64_t i = 0; i < count; ++i) {
      const at::Tensor& clip = clips[rng() % clips.size()];
      const int64_t t = static_cast<int64_t>(rng() % static_cast<uint64_t>(clip.size(0) - frames + 1));
      const int64_t y = static_cast<int64_t>(rng() % static_cast<uint64_t>(clip.size(1) - size + 1));
      const int64_t x = static_cast<int64_t>(rng() % static_cast<uint64_t>(clip.size(2) - size + 1));
      at::Tensor crop = clip.slice(0, t, t + frames).slice(1, y, y + size).slice(2, x, x + size);
      if (rng() % 2 == 1) crop = crop.flip({2});  // mirrored faces are faces too
      out.push_back(crop);
    }
    return at::stack(out).to(at::kFloat).contiguous();
  }
};

// (mu − m) / s folded into conv1's first z outputs, and z · s + m into conv2's inputs (both are
// 1×1×1 convolutions, so the fold is exact).
void foldVideoLatentStatistics(TensorMap& sd, const at::Tensor& mean, const at::Tensor& stdev) {
  const int64_t z = mean.size(0);
  at::Tensor w1 = sd.at("conv1.weight").clone(), b1 = sd.at("conv1.bias").clone();
  w1.narrow(0, 0, z).div_(stdev.view({z, 1, 1, 1, 1}));
  b1.narrow(0, 0, z).sub_(mean).div_(stdev);
  const at::Tensor w2 = sd.at("conv2.weight");
  const at::Tensor b2 = sd.at("conv2.bias") + at::matmul(w2.flatten(1), mean);
  sd["conv1.weight"] = w1;
  sd["conv1.bias"] = b1;
  sd["conv2.weight"] = w2 * stdev.view({1, z, 1, 1, 1});
  sd["conv2.bias"] = b2;
}

double psnr(const at::Tensor& a, const at::Tensor& b, double peak) {
  const double mse = (a - b).pow(2).mean().item<double>();
  return 10.0 * std::log10(peak * peak / std::max(mse, 1e-12));
}

}  // namespace

double motionCorrelation(const at::Tensor& recon, const at::Tensor& input) {
  if (recon.dim() != 5 || recon.sizes() != input.sizes() || recon.size(1) < 2)
    throw core::InputError("motion correlation: needs two [B, N, H, W, 3] clips of one shape with N >= 2, got " +
                           shapeText(recon) + " and " + shapeText(input));
  return pearson(frameSteps(recon), frameSteps(input));
}

int64_t videoSteadyCropFrames(const video::WanVaeConfig& config) {
  // The decoder's first time upsample leaves the stream's first latent frame out of its 3-tap
  // window, so its oldest tap first meets a real latent at latent frame 3: four latent frames.
  return 1 + 3 * config.temporalCompression();
}

std::optional<VideoClipCheck> videoClipCheck(VideoVae& vae, const std::vector<at::Tensor>& clips, int64_t maxClips,
                                             int64_t maxFrames, int64_t maxSide) {
  const int64_t s = vae.spatialCompression(), tc = vae.temporalCompression();
  if (maxClips < 1) throw core::InputError("clip check: maxClips must be at least 1, got " + std::to_string(maxClips));
  if (maxFrames < 1 + tc)
    throw core::InputError("clip check: maxFrames must be at least " + std::to_string(1 + tc) + ", got " +
                           std::to_string(maxFrames));
  if (maxSide < s)
    throw core::InputError("clip check: maxSide must be at least " + std::to_string(s) + ", got " + std::to_string(maxSide));
  // One clip at a time (memory), summing what PSNR and the Pearson correlation of the
  // frame-to-frame changes need.
  double squared = 0.0, values = 0.0;
  double sx = 0.0, sy = 0.0, sxx = 0.0, syy = 0.0, sxy = 0.0, steps = 0.0;
  VideoClipCheck check;
  at::NoGradGuard noGrad;
  for (const auto& c : clips) {
    if (check.clips == maxClips) break;
    if (c.dim() != 4 || c.size(3) != 3 || c.size(0) < 1 + tc || c.size(1) < s || c.size(2) < s) continue;
    const int64_t frames = 1 + (std::min(maxFrames, c.size(0)) - 1) / tc * tc;
    const int64_t height = std::min(c.size(1), maxSide) / s * s, width = std::min(c.size(2), maxSide) / s * s;
    const at::Tensor input = c.narrow(0, 0, frames)
                                 .narrow(1, (c.size(1) - height) / 2, height)
                                 .narrow(2, (c.size(2) - width) / 2, width)
                                 .to(at::kCPU, at::kFloat)
                                 .unsqueeze(0)
                                 .contiguous();
    const at::Tensor recon = vae.decode(vae.encode(input)).to(at::kCPU, at::kFloat);
    squared += (recon - input).to(at::kDouble).pow(2).sum().item<double>();
    values += static_cast<double>(input.numel());
    const at::Tensor x = frameSteps(recon).flatten().to(at::kDouble), y = frameSteps(input).flatten().to(at::kDouble);
    sx += x.sum().item<double>();
    sy += y.sum().item<double>();
    sxx += (x * x).sum().item<double>();
    syy += (y * y).sum().item<double>();
    sxy += (x * y).sum().item<double>();
    steps += static_cast<double>(x.numel());
    ++check.clips;
    check.frames += frames;
  }
  if (check.clips == 0) return std::nullopt;
  check.psnr = 10.0 * std::log10(1.0 / std::max(squared / values, 1e-12));
  const double cov = sxy - sx * sy / steps, vx = sxx - sx * sx / steps, vy = syy - sy * sy / steps;
  check.motionCorrelation = vx > 0.0 && vy > 0.0 ? cov / std::sqrt(vx * vy) : 0.0;
  return check;
}

AutoencoderTrainResult trainVideoVae(const video::WanVaeConfig& config, const std::vector<at::Tensor>& clips,
                                     const AutoencoderTrainOptions& options) {
  validateOptions(options, "video VAE training");
  config.validate();
  if (clips.empty()) throw core::InputError("video VAE training: no video clips");
  const int64_t s = config.spatialCompression(), tc = config.temporalCompression();
  int64_t size = options.cropSize;
  for (const auto& c : clips) {
    if (c.dim() != 4 || c.size(3) != 3)
      throw core::InputError("video VAE training: a clip is not [N, H, W, 3] frames");
    if (options.cropSize == 0) size = std::min(c.size(1), c.size(2)) / s * s;
  }
  if (size < s || size % s != 0)
    throw core::InputError("video VAE training: crop size " + std::to_string(size) + " is not a positive multiple of " +
                           std::to_string(s));
  if (size % options.colourBlock != 0)
    throw core::InputError("video VAE training: crop size " + std::to_string(size) + " is not a multiple of the colour block " +
                           std::to_string(options.colourBlock));
  if (options.cropFrames < 1 || (options.cropFrames - 1) % tc != 0)
    throw core::InputError("video VAE training: crop frames must be 1 + k·" + std::to_string(tc));
  std::vector<at::Tensor> usable;
  for (const auto& c : clips)
    if (c.size(0) >= options.cropFrames && c.size(1) >= size && c.size(2) >= size) usable.push_back(c);
  if (usable.empty())
    throw core::InputError("video VAE training: no clip has " + std::to_string(options.cropFrames) + " frames of " +
                           std::to_string(size) + "×" + std::to_string(size) + " pixels");
  const VideoCrops crops{usable, size, options.cropFrames};
  const int64_t z = config.zDim;
  if (options.motionWeight > 0.0 && options.cropFrames < 2)
    throw core::InputError("video VAE training: a motion weight needs crops of at least 2 frames");
  // The data's mean frame-to-frame change in target units (-1..1), from crops of a stream of
  // their own, so the motion term's weight means the same on any footage.
  double motionScale = 1.0;
  if (options.motionWeight > 0.0) {
    std::mt19937_64 rng(runtime::deriveSeed(options.seed, kMotionScaleStream));
    motionScale = frameSteps(crops.draw(rng, 64) * 2.0).abs().mean().item<double>();
    // Still footage would multiply the term by ~1/0 and blow the training up without saying why.
    if (motionScale < 1e-4)
      throw core::InputError("video VAE training: a motion weight needs footage that moves; the crops' mean "
                             "frame-to-frame change is " + std::to_string(motionScale) + " (in -1..1 units)");
  }

  AutoencoderLoop loop("video_vae:" + config.name, video::WanVideoVae::randomStateDict(config, options.seed), options);
  AutoencoderTrainResult result = loop.run([&](int64_t step) {
    const uint64_t stepSeed = runtime::deriveSeed(options.seed, static_cast<uint64_t>(step));
    std::mt19937_64 rng(stepSeed);
    at::Generator noise = runtime::makeGenerator(stepSeed ^ 0x9E3779B97F4A7C15ULL);
    const at::Tensor x = crops.draw(rng, options.batchSize);
    // Under bf16 autocast the convolutions return bf16; the loss terms are taken in float32.
    const at::Tensor moments = video::WanVideoVae::trainingMoments(config, loop.parameters(), x).to(at::kFloat);
    const at::Tensor mu = moments.narrow(1, 0, z), logvar = moments.narrow(1, z, z).clamp(-30.0, 20.0);
    const at::Tensor recon =
        video::WanVideoVae::trainingDecode(config, loop.parameters(), sampleLatents(mu, logvar, noise)).to(at::kFloat);
    const at::Tensor target = x * 2.0 - 1.0;
    at::Tensor value = (recon - target).abs().mean() + options.klWeight * klTerm(mu, logvar);
    if (options.colourWeight > 0.0)
      value = value + options.colourWeight *
                          (blockColours(recon, options.colourBlock) - blockColours(target, options.colourBlock)).abs().mean();
    if (options.motionWeight > 0.0)
      value = value + options.motionWeight / motionScale * (frameSteps(recon) - frameSteps(target)).abs().mean();
    return value;
  });

  // Latent statistics and reconstruction quality on fixed crops, then the fold.
  at::NoGradGuard noGrad;
  std::mt19937_64 rng(runtime::deriveSeed(options.seed, kMeasureStream));
  const at::Tensor x = crops.draw(rng, std::max<int64_t>(8, options.batchSize));
  const at::Tensor mu = video::WanVideoVae::trainingMoments(config, loop.parameters(), x).narrow(1, 0, z);
  const at::Tensor perChannel = mu.transpose(0, 1).reshape({z, -1});
  const at::Tensor mean = perChannel.mean(1), stdev = perChannel.std(1).clamp_min(1e-4);
  const at::Tensor recon = video::WanVideoVae::trainingDecode(config, loop.parameters(), mu).clamp(-1.0, 1.0);
  result.psnr = psnr((recon + 1.0) * 0.5, x, 1.0);
  result.colourError =
      (blockColours((recon + 1.0) * 0.5, options.colourBlock) - blockColours(x, options.colourBlock)).abs().mean().item<double>();
  if (x.size(1) > 1) result.motionCorrelation = motionCorrelation(recon, x * 2.0 - 1.0);
  for (int64_t c = 0; c < z; ++c) {
    result.latentMean.push_back(mean[c].item<double>());
    result.latentStd.push_back(stdev[c].item<double>());
  }
  for (const auto& [name, t] : loop.parameters()) result.stateDict[name] = t.detach().clone();
  foldVideoLatentStatistics(result.stateDict, mean, stdev);
  // The clip check of what was trained, through the inference path (chunked); empty when no clip
  // has a chunk after its first frame.
  video::WanVideoVae trained(config, result.stateDict);
  result.clipCheck = videoClipCheck(trained, usable);
  return result;
}

AutoencoderTrainResult trainAudioVae(const audio::AudioVaeConfig& config, const std::vector<at::Tensor>& waveforms,
                                     const AutoencoderTrainOptions& options) {
  validateOptions(options, "audio VAE training");
  config.validate();
  if (waveforms.empty()) throw core::InputError("audio VAE training: no audio");
  const audio::MelConfig melConfig = audio::MelConfig::mmaudio16k();
  if (melConfig.numMels != config.dataDim)
    throw core::InputError("audio VAE training: the VAE reads " + std::to_string(config.dataDim) + " mel bins, the front end gives " +
                           std::to_string(melConfig.numMels));
  const audio::MelFrontEnd front(melConfig);
  const int64_t cropMel = options.cropLatents * config.temporalDownsample();
  if (options.cropLatents < 1) throw core::InputError("audio VAE training: crop length must be at least one latent");

  std::vector<at::Tensor> mels;
  {
    at::NoGradGuard noGrad;
    for (const auto& w : waveforms) {
      if (w.dim() != 1) throw core::InputError("audio VAE training: a waveform is not mono [T]");
      const at::Tensor mel = front.logMel(w.to(at::kFloat)).squeeze(0);  // [bins, frames]
      if (mel.size(1) >= cropMel) mels.push_back(mel);
    }
  }
  if (mels.empty())
    throw core::InputError("audio VAE training: no clip is long enough for a crop of " + std::to_string(cropMel) +
                           " mel frames");
  const at::Tensor all = at::cat(mels, 1);
  const at::Tensor dataMean = all.mean(1).view({1, config.dataDim, 1});
  const at::Tensor dataStd = all.std(1).clamp_min(1e-3).view({1, config.dataDim, 1});
  const int64_t rippleBins = harmonicBins(melConfig, options.harmonicMaxHz);
  if (options.harmonicWeight > 0.0 && rippleBins < 2)
    throw core::InputError("audio VAE training: fewer than two mel bins lie below the harmonic limit of " +
                           std::to_string(options.harmonicMaxHz) + " Hz");
  const double rippleScale =
      rippleBins < 2 ? 1.0 : std::max(harmonicRipple(all.unsqueeze(0), rippleBins).abs().mean().item<double>(), 1e-6);

  auto draw = [&](std::mt19937_64& rng, int64_t count) {
    std::vector<at::Tensor> out;
    for (int64_t i = 0; i < count; ++i) {
      const at::Tensor& mel = mels[rng() % mels.size()];
      const int64_t t = static_cast<int64_t>(rng() % static_cast<uint64_t>(mel.size(1) - cropMel + 1));
      out.push_back(mel.slice(1, t, t + cropMel));
    }
    return at::stack(out).contiguous();
  };
  TensorMap init = audio::MmaudioVae::randomStateDict(config, options.seed);
  init.erase("data_mean");
  init.erase("data_std");
  auto vaeOf = [&](const TensorMap& params) {
    TensorMap sd = params;
    sd["data_mean"] = dataMean;
    sd["data_std"] = dataStd;
    return audio::MmaudioVae(config, sd, melConfig);
  };
  const int64_t e = config.embedDim;

  AutoencoderLoop loop("audio_vae:" + config.name, std::move(init), options);
  AutoencoderTrainResult result = loop.run([&](int64_t step) {
    const uint64_t stepSeed = runtime::deriveSeed(options.seed, static_cast<uint64_t>(step));
    std::mt19937_64 rng(stepSeed);
    at::Generator noise = runtime::makeGenerator(stepSeed ^ 0x9E3779B97F4A7C15ULL);
    const at::Tensor mel = draw(rng, options.batchSize);
    const audio::MmaudioVae vae = vaeOf(loop.parameters());
    const audio::AudioVaePosterior post = vae.encodeMelDifferentiable(mel);
    const at::Tensor mean = post.mean.to(at::kFloat), logvar = post.logvar.to(at::kFloat);
    const at::Tensor recon = vae.decodeMelDifferentiable(sampleLatents(mean, logvar, noise)).to(at::kFloat);
    at::Tensor value = ((recon - mel) / dataStd).abs().mean() + options.klWeight * klTerm(mean, logvar);
    if (options.harmonicWeight > 0.0)
      value = value + options.harmonicWeight / rippleScale *
                          (harmonicRipple(recon, rippleBins) - harmonicRipple(mel, rippleBins)).abs().mean();
    return value;
  });

  at::NoGradGuard noGrad;
  std::mt19937_64 rng(runtime::deriveSeed(options.seed, kMeasureStream));
  const at::Tensor mel = draw(rng, std::max<int64_t>(8, options.batchSize));
  const audio::MmaudioVae vae = vaeOf(loop.parameters());
  const at::Tensor mu = vae.encodeMelDifferentiable(mel).mean;
  const at::Tensor recon = vae.decodeMelDifferentiable(mu);
  result.psnr = psnr((recon - mel) / dataStd, at::zeros_like(mel), 1.0);
  if (rippleBins >= 2) result.harmonicCorrelation = pearson(harmonicRipple(recon, rippleBins), harmonicRipple(mel, rippleBins));
  const at::Tensor perChannel = mu.transpose(0, 1).reshape({e, -1});
  for (int64_t c = 0; c < e; ++c) {
    result.latentMean.push_back(perChannel[c].mean().item<double>());
    result.latentStd.push_back(perChannel[c].std().item<double>());
  }
  for (const auto& [name, t] : loop.parameters()) result.stateDict[name] = t.detach().clone();
  result.stateDict["data_mean"] = dataMean.clone();
  result.stateDict["data_std"] = dataStd.clone();
  return result;
}

}  // namespace presence::models::training
