// Guidance dropout: batches trained as the sampler's negative pass sees them, drawn from a
// stream of their own, and never in validation.
#include <ATen/core/grad_mode.h>
#include <gtest/gtest.h>

#include <map>

#include "presence/models/dit/dit_denoiser.hpp"
#include "presence/runtime/rng.hpp"
#include "training_test_util.hpp"

namespace presence::models::training {
namespace {

using test::tinyBatch;
using test::tinyWeights;

GuidanceDropout dropout(const dit::DitConfig& c, double share, double faceShare, uint64_t seed = 50) {
  GuidanceDropout d;
  d.share = share;
  d.faceShare = faceShare;
  d.negativeVideo = test::randn({1, 4, c.video.textDim}, seed);
  d.negativeVideoTokens = 3;
  d.negativeAudio = test::randn({1, 5, c.audio.textDim}, seed + 1);
  d.negativeAudioTokens = 5;
  return d;
}

double loss(const dit::DualTowerDit& model, const TrainingBatch& b, Stage stage, const GuidanceDropout& d,
            uint64_t seed = 11) {
  at::NoGradGuard noGrad;
  LossOptions o;
  o.stage = stage;
  o.guidanceDropout = d;
  return flowMatchingLoss(model, b, o, seed).total.item<double>();
}

TEST(GuidanceDropout, DrawsTheSharesAskedForDeterministically) {
  const auto cfg = dit::test::tinyConfig(2);
  std::map<Conditioning, int> counts;
  const int n = 4000;
  for (int i = 0; i < n; ++i) ++counts[drawConditioning(dropout(cfg, 0.25, 0.4), 9, i)];
  // Binomial standard errors: about 0.007 for the share, 0.016 for the face share of ~1000.
  const double negative = counts[Conditioning::NegativePass] + counts[Conditioning::NegativePassWithoutFaces];
  EXPECT_NEAR(negative / n, 0.25, 0.03);
  EXPECT_NEAR(counts[Conditioning::NegativePassWithoutFaces] / negative, 0.4, 0.06);
  int same = 0, differs = 0;
  for (int i = 0; i < 200; ++i) {
    same += drawConditioning(dropout(cfg, 0.5, 0.5), 9, i) == drawConditioning(dropout(cfg, 0.5, 0.5), 9, i);
    differs += drawConditioning(dropout(cfg, 0.5, 0.5), 9, i) != drawConditioning(dropout(cfg, 0.5, 0.5), 10, i);
  }
  EXPECT_EQ(same, 200);
  EXPECT_GT(differs, 50);  // another step seed draws afresh (about 120 of 200 differ)
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(drawConditioning(dropout(cfg, 0.0, 1.0), 9, i), Conditioning::Full);
    EXPECT_EQ(drawConditioning(dropout(cfg, 1.0, 0.0), 9, i), Conditioning::NegativePass);
    EXPECT_EQ(drawConditioning(dropout(cfg, 1.0, 1.0), 9, i), Conditioning::NegativePassWithoutFaces);
  }
}

// A batch drawn for the negative pass is trained on exactly what DitDenoiser's negative pass
// gives the model: each tower its negative prompt, no voices, faces kept or dropped; the noise
// is that of the conditioned batch.
TEST(GuidanceDropout, TrainsTheNegativePassInput) {
  const auto w = tinyWeights();
  const auto cfg = w->config();
  const dit::DualTowerDit model(w, at::kFloat);
  const TrainingBatch b = tinyBatch(cfg, 2, 70);
  const GuidanceDropout d = dropout(cfg, 1.0, 0.0);

  // The same negative prompt for both towers, so the hand-built batch can carry it as its text.
  GuidanceDropout shared = d;
  shared.negativeAudio = d.negativeVideo;
  shared.negativeAudioTokens = d.negativeVideoTokens;
  TrainingBatch byHand = b;
  byHand.text = d.negativeVideo.expand({2, -1, -1}).contiguous();
  byHand.textLengths = {d.negativeVideoTokens, d.negativeVideoTokens};
  byHand.references.voices.clear();
  EXPECT_DOUBLE_EQ(loss(model, b, Stage::Stage2Joint, shared), loss(model, byHand, Stage::Stage2Joint, {}));
  GuidanceDropout noFaces = shared;
  noFaces.faceShare = 1.0;
  byHand.references.faces = at::Tensor();
  EXPECT_DOUBLE_EQ(loss(model, b, Stage::Stage2Joint, noFaces), loss(model, byHand, Stage::Stage2Joint, {}));
  EXPECT_NE(loss(model, b, Stage::Stage2Joint, shared), loss(model, byHand, Stage::Stage2Joint, {}));
  EXPECT_NE(loss(model, b, Stage::Stage2Joint, shared), loss(model, b, Stage::Stage2Joint, {}));

  // Each tower reads its own negative prompt and no other.
  GuidanceDropout otherAudio = d;
  otherAudio.negativeAudio = test::randn({1, 5, cfg.audio.textDim}, 99);
  const TrainingBatch videoOnly = tinyBatch(cfg, 2, 70, true, false), audioOnly = tinyBatch(cfg, 2, 70, false, true);
  EXPECT_DOUBLE_EQ(loss(model, videoOnly, Stage::Stage1Video, d), loss(model, videoOnly, Stage::Stage1Video, otherAudio));
  EXPECT_NE(loss(model, audioOnly, Stage::Stage1Audio, d), loss(model, audioOnly, Stage::Stage1Audio, otherAudio));
}

// The same, against the sampler's own negative pass: a two-subject clip whose references sit in
// swapped identity slots, with a padded voice and caption, trained as dropped equals the loss of
// DitDenoiser's unconditional velocity (voices dropped, faces kept or dropped, no skipped block)
// at the training draw's noise and time.
TEST(GuidanceDropout, MatchesTheSamplersNegativePass) {
  const auto w = tinyWeights();
  const auto cfg = w->config();
  auto model = std::make_shared<const dit::DualTowerDit>(w, at::kFloat);
  TrainingBatch b = tinyBatch(cfg, 1, 90);
  b.textLengths = {4};
  b.references.faces = test::randn({1, cfg.video.inDim, 2, 4, 4}, 91);
  b.references.faceSubjects = {1, 0};
  b.references.voices = {test::randn({1, 5, cfg.audio.inDim}, 92), test::randn({1, 4, cfg.audio.inDim}, 93)};
  b.references.voiceLengths = {{5}, {3}};
  b.references.voiceSubjects = {1, 0};
  const uint64_t seed = 17;
  for (const bool withoutFaces : {false, true}) {
    const GuidanceDropout d = dropout(cfg, 1.0, withoutFaces ? 1.0 : 0.0);
    const double trained = loss(*model, b, Stage::Stage2Joint, d, seed);

    // The training draw of sample 0, as flowMatchingLoss documents it.
    at::Generator gen = runtime::makeGenerator(runtime::deriveSeed(seed, 0));
    const at::Tensor sigma = sampling::flowMatchingTrainingSigmas(1, LossOptions{}.time, gen);
    const at::Tensor ev = runtime::randn(b.video.sizes(), gen, at::kFloat, at::kCPU);
    const at::Tensor ea = runtime::randn(b.audio.sizes(), gen, at::kFloat, at::kCPU);
    dit::DitConditioning conditioning;
    conditioning.prompt = {b.text, b.textLengths, b.text, b.textLengths};
    conditioning.negative = {d.negativeVideo, {d.negativeVideoTokens}, d.negativeAudio, {d.negativeAudioTokens}};
    conditioning.references = b.references;
    dit::DitDenoiser denoiser(model, conditioning, {}, false);
    DenoiseStep step;
    step.timestep = sampling::timestepsFromSigmas(sigma)[0].item<double>();
    step.sigma = sigma[0].item<double>();
    GuidancePass negative;
    negative.kind = GuidanceKind::Unconditional;
    negative.dropVoiceReferences = true;
    negative.dropFaceReferences = withoutFaces;
    at::NoGradGuard noGrad;
    const JointLatent v = denoiser.velocity(
        {sampling::noisyLatent(b.video, ev, sigma), sampling::noisyLatent(b.audio, ea, sigma)}, step, negative);
    const double expected = (v.video - sampling::velocityTarget(b.video, ev)).pow(2).mean().item<double>() +
                            (v.audio - sampling::velocityTarget(b.audio, ea)).pow(2).mean().item<double>();
    EXPECT_NEAR(trained, expected, 1e-5 * expected) << (withoutFaces ? "without faces" : "with faces");
  }
}

TEST(GuidanceDropout, ValidationStaysConditionedAndTrainingDiffers) {
  const auto cfg = dit::test::tinyConfig(2);
  const TrainingBatch b = tinyBatch(cfg, 2, 80);
  TrainerOptions plain;
  plain.steps = 6;
  plain.adam.learningRate = 5e-3;
  plain.seed = 4;
  TrainerOptions dropped = plain;
  dropped.guidanceDropout = dropout(cfg, 0.5, 0.5);
  auto w1 = tinyWeights(), w2 = tinyWeights();
  Trainer a(w1, plain), c(w2, dropped);
  {
    // Share 1 would turn every batch into the negative pass if validation used it.
    TrainerOptions always = plain;
    always.guidanceDropout = dropout(cfg, 1.0, 0.5);
    Trainer v(tinyWeights(), always);
    EXPECT_DOUBLE_EQ(a.validationLoss({b}), v.validationLoss({b}));
  }
  // Steps 0..5 with share 0.5: some are drawn for the negative pass, so the losses part.
  int negativeSteps = 0;
  for (int64_t s = 0; s < 6; ++s) {
    const uint64_t stepSeed = runtime::deriveSeed(4, static_cast<uint64_t>(s));
    negativeSteps += drawConditioning(dropped.guidanceDropout, stepSeed, 0) != Conditioning::Full;
  }
  ASSERT_GT(negativeSteps, 0) << "seed 4 should draw a negative-pass step in six";
  a.run(cyclingBatchSource({b}), {});
  c.run(cyclingBatchSource({b}), {});
  int differ = 0;
  for (int64_t s = 0; s < 6; ++s) differ += a.history()[s].trainLoss != c.history()[s].trainLoss;
  EXPECT_GT(differ, 0);
}

TEST(GuidanceDropout, BadOptionsAreClear) {
  const auto cfg = dit::test::tinyConfig(2);
  auto expectError = [](const GuidanceDropout& d, const std::string& needle) {
    TrainerOptions o;
    o.guidanceDropout = d;
    try {
      Trainer t(tinyWeights(), o);
      FAIL() << "accepted: " << needle;
    } catch (const core::InputError& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
  };
  expectError(dropout(cfg, 1.5, 0.5), "share must be in [0, 1]");
  expectError(dropout(cfg, 0.5, -0.1), "face share must be in [0, 1]");
  GuidanceDropout noPrompts;
  noPrompts.share = 0.1;
  expectError(noPrompts, "needs both negative prompts");
  GuidanceDropout badTokens = dropout(cfg, 0.1, 0.5);
  badTokens.negativeVideoTokens = 9;
  expectError(badTokens, "token count");
  GuidanceDropout wide = dropout(cfg, 0.1, 0.5);
  wide.negativeAudio = test::randn({1, 5, cfg.audio.textDim + 1}, 3);
  expectError(wide, "takes width");
  GuidanceDropout inference = dropout(cfg, 0.1, 0.5);
  {
    c10::InferenceMode mode;
    inference.negativeVideo = inference.negativeVideo.clone();
  }
  expectError(inference, "inference-mode");
}

}  // namespace
}  // namespace presence::models::training
