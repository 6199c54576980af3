// Classifier-free guidance: which passes run, what they carry, how they combine.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <presence/models/sampling/guidance.hpp>
#include <presence/models/sampling/sampler.hpp>
#include <vector>

namespace pm = presence::models;
namespace ps = presence::models::sampling;

namespace {

// Returns constant velocities: `cond` in the conditional pass and `uncond` in the negative one,
// per tower, and records every pass.
class ConstantDenoiser : public pm::JointDenoiser {
 public:
  double condVideo = 2.0, uncondVideo = 0.5;
  double condAudio = -1.0, uncondAudio = 3.0;
  std::vector<pm::GuidancePass> passes;
  std::vector<pm::DenoiseStep> steps;

  pm::JointLatent velocity(const pm::JointLatent& latent, const pm::DenoiseStep& step,
                           const pm::GuidancePass& pass) override {
    passes.push_back(pass);
    steps.push_back(step);
    const bool cond = pass.kind == pm::GuidanceKind::Conditional;
    pm::JointLatent v;
    if (latent.hasVideo()) v.video = at::full_like(latent.video, cond ? condVideo : uncondVideo);
    if (latent.hasAudio()) v.audio = at::full_like(latent.audio, cond ? condAudio : uncondAudio);
    return v;
  }
};

pm::JointLatent zeros(bool video = true, bool audio = true) {
  return {video ? at::zeros({1, 4, 2, 3, 3}, at::kDouble) : at::Tensor(),
          audio ? at::zeros({1, 6, 5}, at::kDouble) : at::Tensor()};
}

// One Euler step from sigma 1 to 0 on the uniform schedule: x1 = x0 − v, so the result is −v.
ps::SamplerSettings oneEulerStep(double gVideo, double gAudio) {
  ps::SamplerSettings s;
  s.solver = ps::Solver::Euler;
  s.schedule = ps::ScheduleConvention::Uniform;
  s.steps = 1;
  s.videoGuidance = gVideo;
  s.audioGuidance = gAudio;
  return s;
}

}  // namespace

TEST(Guidance, PlanFromSettings) {
  ps::SamplerSettings s;  // 4.0 / 3.0, slg {11}, voices dropped
  auto plan = ps::makeGuidancePlan(s, true, true);
  ASSERT_EQ(plan.passes.size(), 2u);
  EXPECT_TRUE(plan.guided());
  EXPECT_EQ(plan.passes[0].kind, pm::GuidanceKind::Conditional);
  EXPECT_TRUE(plan.passes[0].skipLayers.empty());
  EXPECT_FALSE(plan.passes[0].dropVoiceReferences);
  EXPECT_EQ(plan.passes[1].kind, pm::GuidanceKind::Unconditional);
  EXPECT_EQ(plan.passes[1].skipLayers, std::vector<int>{11});
  EXPECT_TRUE(plan.passes[1].dropVoiceReferences);
  EXPECT_FALSE(plan.passes[1].dropFaceReferences);  // released: the negative pass keeps the faces
  EXPECT_EQ(plan.videoScale, 4.0);
  EXPECT_EQ(plan.audioScale, 3.0);

  s.skipLayers = {2, 9};
  s.negativeDropsVoiceReferences = false;
  plan = ps::makeGuidancePlan(s, true, true);
  EXPECT_EQ(plan.passes[1].skipLayers, (std::vector<int>{2, 9}));
  EXPECT_FALSE(plan.passes[1].dropVoiceReferences);
  s.negativeDropsFaceReferences = true;
  plan = ps::makeGuidancePlan(s, true, true);
  EXPECT_TRUE(plan.passes[1].dropFaceReferences);
  EXPECT_FALSE(plan.passes[0].dropFaceReferences);

  s.videoGuidance = 1.0;
  s.audioGuidance = 1.0;
  EXPECT_FALSE(ps::makeGuidancePlan(s, true, true).guided());

  // Only the present towers' scales matter.
  s.videoGuidance = 4.0;
  EXPECT_FALSE(ps::makeGuidancePlan(s, false, true).guided());
  EXPECT_TRUE(ps::makeGuidancePlan(s, true, false).guided());
}

TEST(Guidance, ApplyGuidanceFormula) {
  const at::Tensor cond = at::tensor({2.0, -1.0}, at::kDouble);
  const at::Tensor uncond = at::tensor({0.5, 3.0}, at::kDouble);
  const at::Tensor g = ps::applyGuidance(cond, uncond, 4.0);
  EXPECT_DOUBLE_EQ(g[0].item<double>(), 0.5 + 4.0 * 1.5);
  EXPECT_DOUBLE_EQ(g[1].item<double>(), 3.0 + 4.0 * -4.0);
  EXPECT_TRUE(ps::applyGuidance(cond, uncond, 1.0).is_same(cond));
  EXPECT_TRUE(ps::applyGuidance(cond, at::Tensor(), 4.0).is_same(cond));
}

TEST(Guidance, SamplerCombinesPerTowerScales) {
  ConstantDenoiser d;
  const auto out = ps::sample(d, zeros(), oneEulerStep(4.0, 3.0));
  // v = uncond + g·(cond − uncond); one Euler step from sigma 1 to 0 gives −v.
  const double videoV = 0.5 + 4.0 * (2.0 - 0.5);
  const double audioV = 3.0 + 3.0 * (-1.0 - 3.0);
  EXPECT_TRUE(at::allclose(out.video, at::full_like(out.video, -videoV), 0, 1e-12));
  EXPECT_TRUE(at::allclose(out.audio, at::full_like(out.audio, -audioV), 0, 1e-12));
  ASSERT_EQ(d.passes.size(), 2u);
  EXPECT_EQ(d.passes[0].kind, pm::GuidanceKind::Conditional);
  EXPECT_EQ(d.passes[1].kind, pm::GuidanceKind::Unconditional);
  EXPECT_EQ(d.passes[1].skipLayers, std::vector<int>{11});
  EXPECT_TRUE(d.passes[1].dropVoiceReferences);
}

TEST(Guidance, NegativePassCarriesSkipLayersAndDropsVoicesEveryStep) {
  ConstantDenoiser d;
  ps::SamplerSettings s;
  s.steps = 5;
  s.skipLayers = {11, 12};
  ps::sample(d, zeros(), s);
  ASSERT_EQ(d.passes.size(), 10u);
  for (size_t i = 0; i < d.passes.size(); ++i) {
    const bool negative = i % 2 == 1;
    EXPECT_EQ(d.passes[i].kind, negative ? pm::GuidanceKind::Unconditional : pm::GuidanceKind::Conditional);
    EXPECT_EQ(d.passes[i].skipLayers, negative ? (std::vector<int>{11, 12}) : std::vector<int>{});
    EXPECT_EQ(d.passes[i].dropVoiceReferences, negative);
    EXPECT_EQ(d.steps[i].index, static_cast<int>(i / 2));
    EXPECT_EQ(d.steps[i].count, 5);
  }
  // Both passes of a step see the same time.
  for (size_t i = 0; i < d.steps.size(); i += 2) EXPECT_EQ(d.steps[i].timestep, d.steps[i + 1].timestep);
}

TEST(Guidance, ScaleOneRunsOnePass) {
  ConstantDenoiser d;
  ps::SamplerSettings s;
  s.steps = 7;
  s.videoGuidance = 1.0;
  s.audioGuidance = 1.0;
  ps::sample(d, zeros(), s);
  EXPECT_EQ(d.passes.size(), 7u);
  for (const auto& p : d.passes) EXPECT_EQ(p.kind, pm::GuidanceKind::Conditional);

  ConstantDenoiser one;
  const auto out = ps::sample(one, zeros(), oneEulerStep(1.0, 1.0));
  EXPECT_TRUE(at::allclose(out.video, at::full_like(out.video, -2.0)));
  EXPECT_TRUE(at::allclose(out.audio, at::full_like(out.audio, 1.0)));
}

TEST(Guidance, OneTowerUnguidedUsesTheConditionalOutputExactly) {
  ConstantDenoiser d;
  const auto out = ps::sample(d, zeros(), oneEulerStep(1.0, 3.0));
  EXPECT_EQ(d.passes.size(), 2u);  // the audio tower still needs the negative pass
  EXPECT_TRUE(at::equal(out.video, at::full_like(out.video, -2.0)));
  EXPECT_TRUE(at::allclose(out.audio, at::full_like(out.audio, -(3.0 + 3.0 * -4.0)), 0, 1e-12));
}

TEST(Guidance, AudioOnlyIgnoresTheVideoScale) {
  ConstantDenoiser d;
  const auto out = ps::sample(d, zeros(false, true), oneEulerStep(4.0, 1.0));
  EXPECT_EQ(d.passes.size(), 1u);
  EXPECT_FALSE(out.hasVideo());
  EXPECT_TRUE(at::allclose(out.audio, at::full_like(out.audio, 1.0)));
}
