// The VAE trainers on the tiny presets: the loss falls on a fixed synthetic set, the trained
// weights load into the VAE classes, the video VAE's folded latent statistics are zero-mean and
// unit-variance on the measurement crops, and a resumed run ends with the same weights as an
// uninterrupted one; bf16 autocast trains as well.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <functional>

#include "presence/core/error.hpp"
#include "presence/models/audio/mmaudio_vae.hpp"
#include "presence/models/training/autoencoder_training.hpp"
#include "presence/models/training/cpu_autocast.hpp"
#include "presence/models/video/wan_video_vae.hpp"

namespace presence::models::training {
namespace {

namespace fs = std::filesystem;

// Moving coloured squares on a gradient: smooth enough for a tiny VAE to learn in a few steps.
std::vector<at::Tensor> movingSquares(int count) {
  std::vector<at::Tensor> clips;
  for (int c = 0; c < count; ++c) {
    at::Tensor clip = at::zeros({9, 32, 32, 3});
    const auto ramp = at::linspace(0.1, 0.6, 32).view({1, 32, 1});
    clip.select(3, 2).copy_(ramp.expand({9, 32, 32}));
    for (int f = 0; f < 9; ++f) {
      const int y = 4 + (c * 5 + f) % 16, x = 6 + (c * 3 + 2 * f) % 14;
      clip[f].slice(0, y, y + 10).slice(1, x, x + 10).select(2, 0).fill_(0.2 + 0.1 * c);
    }
    clips.push_back(clip);
  }
  return clips;
}

// Tones with a slow vibrato, 0.6 s at 16 kHz.
std::vector<at::Tensor> tones(int count) {
  std::vector<at::Tensor> out;
  const auto t = at::arange(9600, at::kDouble) / 16000.0;
  for (int c = 0; c < count; ++c) {
    const double f = 150.0 + 60.0 * c;
    out.push_back((0.3 * at::sin(2 * M_PI * f * t + 3.0 * at::sin(2 * M_PI * 3.0 * t))).to(at::kFloat));
  }
  return out;
}

// Voiced-like sounds: eight harmonics of a gliding fundamental, 0.6 s at 16 kHz.
std::vector<at::Tensor> harmonicVoices(int count) {
  std::vector<at::Tensor> out;
  const auto t = at::arange(9600, at::kDouble) / 16000.0;
  for (int c = 0; c < count; ++c) {
    const double f0 = 110.0 + 35.0 * c;
    const at::Tensor phase = 2 * M_PI * (f0 * t + 20.0 * t * t);
    at::Tensor x = at::zeros_like(t);
    for (int h = 1; h <= 8; ++h) x += at::sin(phase * h) / h;
    out.push_back((0.2 * x).to(at::kFloat));
  }
  return out;
}

double meanLoss(const std::vector<LossRecord>& h, size_t from, size_t to) {
  double s = 0.0;
  for (size_t i = from; i < to; ++i) s += h[i].trainLoss;
  return s / static_cast<double>(to - from);
}

AutoencoderTrainOptions videoOptions(int64_t steps) {
  AutoencoderTrainOptions o;
  o.steps = steps;
  o.batchSize = 2;
  o.cropSize = 16;
  o.cropFrames = 5;
  o.adam.learningRate = 2e-3;
  o.seed = 11;
  return o;
}

AutoencoderTrainOptions audioOptions(int64_t steps, uint64_t seed) {
  AutoencoderTrainOptions o;
  o.steps = steps;
  o.batchSize = 4;
  o.cropLatents = 8;
  o.adam.learningRate = 2e-3;
  o.seed = seed;
  return o;
}

struct TempFolder {
  fs::path path = fs::temp_directory_path() / ("presence-ae-" + std::to_string(::getpid()) + "-" +
                                               std::to_string(reinterpret_cast<uintptr_t>(this)));
  ~TempFolder() { fs::remove_all(path); }
};

TEST(VideoVaeTraining, LossFallsAndTheFoldedLatentsAreNormalised) {
  const auto config = video::videoVaePreset("tiny");
  const auto result = trainVideoVae(config, movingSquares(3), videoOptions(40));
  ASSERT_EQ(result.history.size(), 40u);
  EXPECT_LT(meanLoss(result.history, 30, 40), 0.7 * meanLoss(result.history, 0, 5));
  EXPECT_GT(result.psnr, 10.0);

  // The trained weights load; with the fold, latents of the training clips have about zero mean
  // and unit spread per channel (the measurement crops are a sample of the same clips).
  video::WanVideoVae vae(config, result.stateDict);
  ASSERT_EQ(result.latentStd.size(), static_cast<size_t>(config.zDim));
  std::vector<at::Tensor> latents;
  for (const auto& clip : movingSquares(3)) latents.push_back(vae.encodeWhole(clip.slice(0, 0, 5)));
  const at::Tensor perChannel = at::cat(latents, 0).transpose(0, 1).reshape({config.zDim, -1});
  EXPECT_LT(perChannel.mean(1).abs().mean().item<double>(), 0.5);
  const double spread = perChannel.std(1).mean().item<double>();
  EXPECT_GT(spread, 0.5);
  EXPECT_LT(spread, 2.0);
  // The folded encoder's conv1 output is the normalised latent itself.
  const at::Tensor frames = movingSquares(1)[0].slice(0, 0, 5).unsqueeze(0);
  const at::Tensor moments = video::WanVideoVae::trainingMoments(config, result.stateDict, frames);
  EXPECT_TRUE(at::allclose(moments.narrow(1, 0, config.zDim), vae.encodeWhole(frames), 1e-3, 1e-3));
  EXPECT_EQ(vae.decodeWhole(vae.encodeWhole(frames)).sizes(), frames.sizes());
}

TEST(VideoVaeTraining, ResumedRunEndsWithTheSameWeights) {
  const auto config = video::videoVaePreset("tiny");
  const auto clips = movingSquares(2);
  TempFolder a, b;
  auto whole = videoOptions(6);
  whole.checkpointDir = a.path;
  const auto uninterrupted = trainVideoVae(config, clips, whole);

  auto first = videoOptions(3);
  first.checkpointDir = b.path;
  trainVideoVae(config, clips, first);
  auto second = videoOptions(6);
  second.checkpointDir = b.path;
  const auto resumed = trainVideoVae(config, clips, second);
  EXPECT_EQ(resumed.startStep, 3);
  EXPECT_EQ(resumed.step, 6);
  ASSERT_EQ(resumed.history.size(), 6u);
  for (const auto& [name, t] : uninterrupted.stateDict)
    EXPECT_TRUE(at::equal(t, resumed.stateDict.at(name))) << name;
}

// bf16 autocast really changes the arithmetic, still trains (the loss falls as in float32 and ends
// near it), leaves autocast off behind it, resumes to the same weights with the same setting and
// refuses a checkpoint of the other setting by naming the parameter.
TEST(VideoVaeTraining, Bf16AutocastTrainsAndResumesOnlyWithItsSetting) {
  const auto config = video::videoVaePreset("tiny");
  const auto clips = movingSquares(3);
  auto o = videoOptions(40);
  const auto f32 = trainVideoVae(config, clips, o);
  o.bf16Autocast = true;
  const auto bf16 = trainVideoVae(config, clips, o);
  EXPECT_FALSE(CpuAutocast::enabled());
  ASSERT_EQ(bf16.history.size(), 40u);
  EXPECT_NE(bf16.history.back().trainLoss, f32.history.back().trainLoss);
  EXPECT_LT(meanLoss(bf16.history, 30, 40), 0.7 * meanLoss(bf16.history, 0, 5));
  EXPECT_NEAR(meanLoss(bf16.history, 30, 40), meanLoss(f32.history, 30, 40), 0.15 * meanLoss(f32.history, 30, 40));
  EXPECT_GT(bf16.psnr, 10.0);
  for (const auto& [name, t] : bf16.stateDict) EXPECT_EQ(t.scalar_type(), at::kFloat) << name;

  TempFolder a, b;
  auto whole = videoOptions(6);
  whole.bf16Autocast = true;
  whole.checkpointDir = a.path;
  const auto uninterrupted = trainVideoVae(config, clips, whole);
  auto first = whole;
  first.steps = 3;
  first.checkpointDir = b.path;
  trainVideoVae(config, clips, first);
  auto other = videoOptions(6);  // float32 on the bf16 run's checkpoint
  other.checkpointDir = b.path;
  try {
    trainVideoVae(config, clips, other);
    ADD_FAILURE() << "a bf16 checkpoint resumed in float32";
  } catch (const core::ParamError& e) {
    EXPECT_EQ(e.param(), "bf16");
    EXPECT_NE(std::string(e.what()).find("bf16 autocast on"), std::string::npos) << e.what();
  }
  auto second = whole;
  second.checkpointDir = b.path;
  const auto resumed = trainVideoVae(config, clips, second);
  EXPECT_EQ(resumed.startStep, 3);
  for (const auto& [name, t] : uninterrupted.stateDict)
    EXPECT_TRUE(at::equal(t, resumed.stateDict.at(name))) << name;
}

TEST(VideoVaeTraining, RefusesUnusableInput) {
  const auto config = video::videoVaePreset("tiny");
  auto o = videoOptions(1);
  EXPECT_THROW(trainVideoVae(config, {}, o), core::InputError);
  o.cropSize = 20;  // not a multiple of 16
  EXPECT_THROW(trainVideoVae(config, movingSquares(1), o), core::InputError);
  o = videoOptions(1);
  o.cropFrames = 4;  // not 1 + 4k
  EXPECT_THROW(trainVideoVae(config, movingSquares(1), o), core::InputError);
  o = videoOptions(1);
  o.colourWeight = -1.0;
  EXPECT_THROW(trainVideoVae(config, movingSquares(1), o), core::InputError);
  o = videoOptions(1);
  o.motionWeight = -1.0;
  EXPECT_THROW(trainVideoVae(config, movingSquares(1), o), core::InputError);
  o = videoOptions(1);
  o.motionWeight = 1.0;
  o.cropFrames = 1;  // no frame-to-frame change to compare
  try {
    trainVideoVae(config, movingSquares(1), o);
    FAIL() << "no error";
  } catch (const core::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("motion"), std::string::npos) << e.what();
  }
  o = videoOptions(1);
  o.motionWeight = 1.0;  // footage that never moves: nothing to scale the term by
  auto still = movingSquares(1);
  still[0] = still[0].narrow(0, 0, 1).expand_as(still[0]).contiguous();
  try {
    trainVideoVae(config, still, o);
    FAIL() << "no error";
  } catch (const core::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("moves"), std::string::npos) << e.what();
  }
  o = videoOptions(1);
  o.colourBlock = 3;  // 16-pixel crops do not split into 3-pixel blocks
  EXPECT_THROW(trainVideoVae(config, movingSquares(1), o), core::InputError);
  o = videoOptions(1);
  o.cropSize = 64;  // larger than the clips
  try {
    trainVideoVae(config, movingSquares(1), o);
    FAIL() << "no error";
  } catch (const core::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("64×64"), std::string::npos) << e.what();
  }
}

// An optional video loss term set by `setWeight`: on the first step (same weights, crops and
// noise) it raises the tiny VAE's loss by an amount proportional to its weight.
void expectAddedInProportion(const std::function<void(AutoencoderTrainOptions&, double)>& setWeight) {
  const auto config = video::videoVaePreset("tiny");
  const auto clips = movingSquares(4);
  auto firstStepLoss = [&](double weight) {
    auto o = videoOptions(1);
    setWeight(o, weight);
    return trainVideoVae(config, clips, o).history.at(0).trainLoss;
  };
  const double plain = firstStepLoss(0.0), one = firstStepLoss(1.0), three = firstStepLoss(3.0);
  EXPECT_GT(one - plain, 1e-3);
  EXPECT_NEAR(three - plain, 3.0 * (one - plain), 1e-3 * (one - plain) + 1e-5);
}

// The colour term is an added, weighted L1 on 8×8 block means: on the first step (same weights,
// crops and noise) it raises the loss by an amount proportional to its weight. And the colour
// check tracks reconstruction quality: it falls as the VAE trains.
TEST(VideoVaeTraining, ColourTermAndColourCheck) {
  const auto config = video::videoVaePreset("tiny");
  const auto clips = movingSquares(4);
  expectAddedInProportion([](AutoencoderTrainOptions& o, double w) { o.colourWeight = w; });

  const auto early = trainVideoVae(config, clips, videoOptions(5));
  const auto later = trainVideoVae(config, clips, videoOptions(80));
  EXPECT_GT(later.colourError, 0.0);
  EXPECT_LT(later.colourError, 0.8 * early.colourError)
      << "after 5 steps " << early.colourError << ", after 80 " << later.colourError;
}

// The motion term is an added, weighted L1 on the frame-to-frame change: on the first step (same
// weights, crops and noise) it raises the loss in proportion to its weight.
TEST(VideoVaeTraining, MotionTermIsWeighted) {
  expectAddedInProportion([](AutoencoderTrainOptions& o, double w) { o.motionWeight = w; });
}

// The motion check compares frame-to-frame changes, not frames: the clip itself scores 1, a copy
// in another colour cast still 1, the clip held at its first frame 0, every change reversed -1; a
// trained VAE's result carries it (NaN when its crops have one frame: nothing to compare).
TEST(VideoVaeTraining, MotionCheck) {
  const at::Tensor clip = at::stack(movingSquares(2));  // [2, 9, 32, 32, 3]
  EXPECT_NEAR(motionCorrelation(clip, clip), 1.0, 1e-9);
  EXPECT_NEAR(motionCorrelation(clip * 0.5 + 0.2, clip), 1.0, 1e-9);
  const at::Tensor still = clip.narrow(1, 0, 1).expand_as(clip).contiguous();
  EXPECT_EQ(motionCorrelation(still, clip), 0.0);
  EXPECT_NEAR(motionCorrelation(2.0 * still - clip, clip), -1.0, 1e-9);  // every change undone
  EXPECT_THROW(motionCorrelation(clip.narrow(1, 0, 1), clip.narrow(1, 0, 1)), core::InputError);
  const auto result = trainVideoVae(video::videoVaePreset("tiny"), movingSquares(2), videoOptions(2));
  EXPECT_TRUE(std::isfinite(result.motionCorrelation));
  EXPECT_GT(result.motionCorrelation, -1.0);
  EXPECT_LT(result.motionCorrelation, 1.0);
  auto oneFrame = videoOptions(2);
  oneFrame.cropFrames = 1;
  EXPECT_TRUE(std::isnan(trainVideoVae(video::videoVaePreset("tiny"), movingSquares(2), oneFrame).motionCorrelation));
}

// A stand-in VAE for the clip check: decoding gives back the frames last encoded, exactly or with
// every frame after the first chunk (1 + 4) held at the last frame of that chunk.
class ReplayVae : public VideoVae {
 public:
  explicit ReplayVae(bool holdAfterFirstChunk) : hold_(holdAfterFirstChunk) {}
  int64_t latentChannels() const override { return 1; }
  int64_t temporalCompression() const override { return 4; }
  int64_t spatialCompression() const override { return 16; }
  at::Tensor encode(const at::Tensor& frames) override {
    seen.push_back(frames.clone());
    return at::zeros({frames.size(0), 1, latentFrames(frames.size(1)), frames.size(2) / 16, frames.size(3) / 16});
  }
  at::Tensor decode(const at::Tensor&) override { return replay(seen.back()); }
  at::Tensor replay(const at::Tensor& frames) const {
    at::Tensor out = frames.clone();
    if (hold_ && out.size(1) > 5)
      out.narrow(1, 5, out.size(1) - 5).copy_(out.narrow(1, 4, 1).expand({-1, out.size(1) - 5, -1, -1, -1}));
    return out;
  }
  std::vector<at::Tensor> seen;  ///< every encoded batch, in order

 private:
  bool hold_;
};

// The clip check encodes, clip by clip, each clip's first frames (up to maxFrames, cut to 1 + 4k)
// over its largest centred region of whole 16-pixel blocks (at most maxSide a side), and scores
// what decoding gives back over all of them; a trained VAE's result carries it, measured through
// the chunked inference path.
TEST(VideoVaeTraining, ClipCheck) {
  at::manual_seed(3);
  // Random frames that brighten over time, so the frame-to-frame changes have a mean to remove.
  const auto clip = [](int64_t n, int64_t h, int64_t w) {
    return at::rand({n, h, w, 3}) * 0.5 + at::linspace(0.0, 0.4, n).view({n, 1, 1, 1});
  };
  const std::vector<at::Tensor> clips = {clip(11, 40, 36), clip(7, 52, 70),
                                         clip(3, 64, 64),  // no chunk after its first frame
                                         clip(13, 32, 32)};
  ReplayVae exact(false);
  const auto perfect = videoClipCheck(exact, clips, 2, 17);
  ASSERT_TRUE(perfect.has_value());
  EXPECT_EQ(perfect->clips, 2);
  EXPECT_EQ(perfect->frames, 9 + 5);  // each clip its own 1 + 4k
  ASSERT_EQ(exact.seen.size(), 2u);
  EXPECT_TRUE(at::equal(exact.seen[0][0], clips[0].narrow(0, 0, 9).narrow(1, 4, 32).narrow(2, 2, 32)));
  EXPECT_TRUE(at::equal(exact.seen[1][0], clips[1].narrow(0, 0, 5).narrow(1, 2, 48).narrow(2, 3, 64)));
  EXPECT_GT(perfect->psnr, 100.0);
  EXPECT_NEAR(perfect->motionCorrelation, 1.0, 1e-9);
  ReplayVae capped(false);
  EXPECT_EQ(videoClipCheck(capped, clips, 4, 8, 16)->frames, 5 + 5 + 5);  // the 3-frame clip is skipped
  EXPECT_EQ(capped.seen[1].sizes(), (std::vector<int64_t>{1, 5, 16, 16, 3}));
  EXPECT_TRUE(at::equal(capped.seen[1][0], clips[1].narrow(0, 0, 5).narrow(1, 18, 16).narrow(2, 27, 16)));

  ReplayVae held(true);
  const auto frozen = videoClipCheck(held, clips, 4, 17);
  ASSERT_TRUE(frozen.has_value());
  EXPECT_EQ(frozen->clips, 3);
  double squared = 0.0, count = 0.0;
  std::vector<at::Tensor> reconSteps, inputSteps;  // pooled over the clips
  for (const auto& input : held.seen) {
    const at::Tensor recon = held.replay(input);
    squared += (recon - input).pow(2).sum().item<double>();
    count += static_cast<double>(input.numel());
    const int64_t n = input.size(1);
    reconSteps.push_back((recon.narrow(1, 1, n - 1) - recon.narrow(1, 0, n - 1)).flatten().to(at::kDouble));
    inputSteps.push_back((input.narrow(1, 1, n - 1) - input.narrow(1, 0, n - 1)).flatten().to(at::kDouble));
  }
  EXPECT_NEAR(frozen->psnr, 10.0 * std::log10(count / squared), 1e-4);
  const at::Tensor x = at::cat(reconSteps) - at::cat(reconSteps).mean(), y = at::cat(inputSteps) - at::cat(inputSteps).mean();
  const double pearson = (x * y).sum().item<double>() / std::sqrt((x * x).sum().item<double>() * (y * y).sum().item<double>());
  EXPECT_NEAR(frozen->motionCorrelation, pearson, 1e-9);
  EXPECT_LT(frozen->motionCorrelation, 0.9);

  EXPECT_FALSE(videoClipCheck(exact, {at::rand({4, 32, 32, 3})}).has_value());  // under 1 + 4 frames
  EXPECT_FALSE(videoClipCheck(exact, {at::rand({9, 12, 32, 3})}).has_value());  // under one block
  EXPECT_THROW(videoClipCheck(exact, clips, 0), core::InputError);
  EXPECT_THROW(videoClipCheck(exact, clips, 4, 4), core::InputError);
  EXPECT_THROW(videoClipCheck(exact, clips, 4, 17, 8), core::InputError);

  const auto config = video::videoVaePreset("tiny");
  const auto result = trainVideoVae(config, movingSquares(2), videoOptions(2));
  ASSERT_TRUE(result.clipCheck.has_value());
  EXPECT_EQ(result.clipCheck->clips, 2);
  EXPECT_EQ(result.clipCheck->frames, 18);
  video::WanVideoVae trained(config, result.stateDict);
  const at::Tensor frames = at::stack(movingSquares(2));
  const at::Tensor decoded = trained.decode(trained.encode(frames));
  EXPECT_NEAR(result.clipCheck->psnr, 10.0 * std::log10(1.0 / (decoded - frames).pow(2).mean().item<double>()), 1e-4);
  auto oneFrame = videoOptions(2);
  oneFrame.cropFrames = 1;
  std::vector<at::Tensor> stills;
  for (const auto& c : movingSquares(2)) stills.push_back(c.narrow(0, 0, 1));
  EXPECT_FALSE(trainVideoVae(config, stills, oneFrame).clipCheck.has_value());
}

// videoSteadyCropFrames from the architecture: the oldest tap of the decoder's first time
// upsample never touches a decode of one latent frame fewer, and does touch one of that many.
TEST(VideoVaeTraining, SteadyCropFramesIsWhereTheLastTapFirstCounts) {
  at::manual_seed(4);
  const auto config = video::videoVaePreset("tiny");
  const int64_t steady = videoSteadyCropFrames(config);
  EXPECT_EQ(steady, 13);
  auto weights = video::WanVideoVae::randomStateDict(config, 5);
  video::WanVideoVae original(config, weights);
  const std::string tap = "decoder.upsamples.0.upsamples." + std::to_string(config.numResBlocks + 1) + ".time_conv.weight";
  ASSERT_TRUE(weights.count(tap)) << tap;
  weights[tap] = weights[tap].clone();
  weights[tap].select(2, 0).zero_();
  video::WanVideoVae withoutOldestTap(config, weights);
  const int64_t latents = original.latentFrames(steady);
  at::Tensor z = at::randn({1, config.zDim, latents, 2, 2}, at::TensorOptions().dtype(at::kFloat));
  const at::Tensor shorter = z.narrow(2, 0, latents - 1);
  EXPECT_TRUE(at::allclose(original.decode(shorter), withoutOldestTap.decode(shorter), 0.0, 1e-6));
  EXPECT_FALSE(at::allclose(original.decode(z), withoutOldestTap.decode(z), 0.0, 1e-4));
}

TEST(AudioVaeTraining, LossFallsAndTheWeightsLoad) {
  const auto config = audio::audioVaePreset("tiny");
  AutoencoderTrainOptions o = audioOptions(40, 3);
  const auto result = trainAudioVae(config, tones(3), o);
  ASSERT_EQ(result.history.size(), 40u);
  EXPECT_LT(meanLoss(result.history, 30, 40), 0.8 * meanLoss(result.history, 0, 5));
  ASSERT_TRUE(result.stateDict.count("data_mean"));
  audio::MmaudioVae vae(config, result.stateDict);
  const at::Tensor z = vae.encode(tones(1)[0]);
  EXPECT_EQ(z.size(2), config.embedDim);
  EXPECT_EQ(vae.decode(z).size(1), config.dataDim);
  EXPECT_FALSE(result.stateDict.at("data_std").requires_grad());

  o.cropLatents = 1000;  // longer than every clip
  EXPECT_THROW(trainAudioVae(config, tones(1), o), core::InputError);
  o.cropLatents = 8;
  o.harmonicWeight = -1.0;
  EXPECT_THROW(trainAudioVae(config, tones(1), o), core::InputError);
  o.harmonicWeight = 1.0;
  o.harmonicMaxHz = 10.0;  // below the first bin's centre: no ripple to weigh
  EXPECT_THROW(trainAudioVae(config, tones(1), o), core::InputError);
}

TEST(AudioVaeTraining, Bf16AutocastTrains) {
  const auto config = audio::audioVaePreset("tiny");
  AutoencoderTrainOptions o = audioOptions(40, 3);
  const auto f32 = trainAudioVae(config, tones(3), o);
  o.bf16Autocast = true;
  const auto bf16 = trainAudioVae(config, tones(3), o);
  EXPECT_FALSE(CpuAutocast::enabled());
  EXPECT_NE(bf16.history.back().trainLoss, f32.history.back().trainLoss);
  EXPECT_LT(meanLoss(bf16.history, 30, 40), 0.8 * meanLoss(bf16.history, 0, 5));
  EXPECT_NEAR(meanLoss(bf16.history, 30, 40), meanLoss(f32.history, 30, 40), 0.15 * meanLoss(f32.history, 30, 40));
}

// The pitch check measures what the harmonic term trains: with the same seed, steps and data, the
// run that weighs the ripple below 1.5 kHz reconstructs it better than the plain L1 run.
TEST(AudioVaeTraining, HarmonicTermKeepsTheRippleThatCarriesPitch) {
  const auto config = audio::audioVaePreset("tiny");
  AutoencoderTrainOptions o = audioOptions(60, 5);
  o.harmonicWeight = 0.0;
  const auto voices = harmonicVoices(4);
  const auto plain = trainAudioVae(config, voices, o);
  o.harmonicWeight = 2.0;
  const auto weighted = trainAudioVae(config, voices, o);
  EXPECT_GT(plain.harmonicCorrelation, -1.0);
  EXPECT_LT(weighted.harmonicCorrelation, 1.0);
  EXPECT_GT(weighted.harmonicCorrelation, plain.harmonicCorrelation + 0.05)
      << "plain " << plain.harmonicCorrelation << ", weighted " << weighted.harmonicCorrelation;
}

}  // namespace
}  // namespace presence::models::training
