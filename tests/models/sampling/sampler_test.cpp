// The joint sampler: towers present or absent, callbacks, cancellation, errors, determinism.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <presence/core/cancel_token.hpp>
#include <presence/core/error.hpp>
#include <presence/models/sampling/sampler.hpp>
#include <vector>

#include "analytic_flows.hpp"

namespace pc = presence::core;
namespace pm = presence::models;
namespace ps = presence::models::sampling;
using ps::testing::GaussianFlow;
using ps::testing::GaussianJointDenoiser;

namespace {

pm::JointLatent jointNoise(uint64_t seed, at::ScalarType dtype = at::kFloat, int64_t batch = 1) {
  auto gen = at::detail::createCPUGenerator(seed);
  const auto options = at::TensorOptions().dtype(dtype);
  pm::JointLatent noise;
  noise.video = at::randn({batch, 4, 3, 4, 4}, gen, options);
  noise.audio = at::randn({batch, 10, 5}, gen, options);
  return noise;
}

const GaussianFlow kVideoFlow{0.5, 0.6};
const GaussianFlow kAudioFlow{-0.2, 1.3};

}  // namespace

TEST(Sampler, BothTowersReachTheirExactSolutions) {
  ps::SamplerSettings s;  // UniPC, released schedule, 50 steps, guided
  const auto noise = jointNoise(1, at::kDouble);
  GaussianJointDenoiser d(kVideoFlow, kAudioFlow);
  const auto out = ps::sample(d, noise, s);
  // cond and uncond agree, so guidance changes nothing. 50 steps at shift 5 leave an error of
  // ~1e-2 on these flows (dominated by the final first-order step from sigma ~0.1).
  const double sigma0 = ps::makeSchedule(s).sigmas.front();
  EXPECT_LT((out.video - kVideoFlow.solve(noise.video, sigma0)).abs().max().item<double>(), 3e-2);
  EXPECT_LT((out.audio - kAudioFlow.solve(noise.audio, sigma0)).abs().max().item<double>(), 3e-2);
  EXPECT_EQ(d.calls.size(), 100u);
}

TEST(Sampler, AudioOnlyAndVideoOnly) {
  for (auto solver : {ps::Solver::UniPC, ps::Solver::Euler, ps::Solver::DpmPlusPlus}) {
    ps::SamplerSettings s;
    s.solver = solver;
    s.steps = 12;
    auto noise = jointNoise(2, at::kDouble);

    GaussianJointDenoiser audioOnly(kVideoFlow, kAudioFlow);
    const auto a = ps::sample(audioOnly, {at::Tensor(), noise.audio}, s);
    EXPECT_FALSE(a.hasVideo());
    ASSERT_TRUE(a.hasAudio());
    for (const auto& call : audioOnly.calls) {
      EXPECT_FALSE(call.hadVideo);
      EXPECT_TRUE(call.hadAudio);
    }

    GaussianJointDenoiser videoOnly(kVideoFlow, kAudioFlow);
    const auto v = ps::sample(videoOnly, {noise.video, at::Tensor()}, s);
    ASSERT_TRUE(v.hasVideo());
    EXPECT_FALSE(v.hasAudio());

    // Towers are independent here, so each matches the joint run.
    GaussianJointDenoiser joint(kVideoFlow, kAudioFlow);
    const auto both = ps::sample(joint, noise, s);
    EXPECT_TRUE(at::equal(both.audio, a.audio)) << ps::solverName(solver);
    EXPECT_TRUE(at::equal(both.video, v.video)) << ps::solverName(solver);
  }
}

TEST(Sampler, SameInputsGiveIdenticalBits) {
  for (auto solver : {ps::Solver::UniPC, ps::Solver::Euler, ps::Solver::DpmPlusPlus}) {
    ps::SamplerSettings s;
    s.solver = solver;
    s.steps = 20;
    GaussianJointDenoiser d1(kVideoFlow, kAudioFlow);
    GaussianJointDenoiser d2(kVideoFlow, kAudioFlow);
    const auto a = ps::sample(d1, jointNoise(5), s);
    const auto b = ps::sample(d2, jointNoise(5), s);
    EXPECT_TRUE(at::equal(a.video, b.video));
    EXPECT_TRUE(at::equal(a.audio, b.audio));
    EXPECT_EQ(a.video.scalar_type(), at::kFloat);
  }
}

TEST(Sampler, ModelSeesScheduleTimestepsAndSigmas) {
  ps::SamplerSettings s;
  s.steps = 10;
  s.videoGuidance = 1.0;
  s.audioGuidance = 1.0;
  GaussianJointDenoiser d(kVideoFlow, kAudioFlow);
  ps::sample(d, jointNoise(3), s);
  const auto schedule = ps::makeSchedule(s);
  ASSERT_EQ(d.calls.size(), 10u);
  for (size_t i = 0; i < 10; ++i) {
    EXPECT_EQ(d.calls[i].step.timestep, schedule.timesteps[i]);
    EXPECT_EQ(d.calls[i].step.sigma, schedule.sigmas[i]);
    EXPECT_EQ(d.calls[i].step.timestep, std::trunc(d.calls[i].step.timestep));  // released UniPC: integers
  }
}

TEST(Sampler, CallbackSeesEveryStep) {
  ps::SamplerSettings s;
  s.steps = 9;
  GaussianJointDenoiser d(kVideoFlow, kAudioFlow);
  std::vector<ps::StepInfo> seen;
  const auto out =
      ps::sample(d, jointNoise(4, at::kDouble), s, [&](const ps::StepInfo& info) { seen.push_back(info); });
  const auto schedule = ps::makeSchedule(s);
  ASSERT_EQ(seen.size(), 9u);
  for (size_t i = 0; i < seen.size(); ++i) {
    EXPECT_EQ(seen[i].step, static_cast<int>(i));
    EXPECT_EQ(seen[i].total, 9);
    EXPECT_EQ(seen[i].sigma, schedule.sigmas[i]);
    EXPECT_EQ(seen[i].sigmaNext, schedule.sigmas[i + 1]);
    EXPECT_EQ(seen[i].timestep, schedule.timesteps[i]);
    EXPECT_DOUBLE_EQ(seen[i].progress(), static_cast<double>(i + 1) / 9.0);
    ASSERT_TRUE(seen[i].x0.hasVideo());
    ASSERT_TRUE(seen[i].x0.hasAudio());
    EXPECT_EQ(seen[i].x0.video.sizes(), out.video.sizes());
  }
  EXPECT_TRUE(at::equal(seen.back().latent.video, out.video));
  EXPECT_TRUE(at::equal(seen.back().latent.audio, out.audio));
  // UniPC's last step lands on the data prediction.
  EXPECT_TRUE(at::equal(seen.back().x0.audio, out.audio));
}

TEST(Sampler, PreviewOfAPointMassIsThePoint) {
  ps::SamplerSettings s;
  s.steps = 6;
  const GaussianFlow point{2.0, 0.0};
  GaussianJointDenoiser d(point, point);
  ps::sample(d, jointNoise(8, at::kDouble), s, [&](const ps::StepInfo& info) {
    EXPECT_LT((info.x0.video - 2.0).abs().max().item<double>(), 1e-12);
    EXPECT_LT((info.x0.audio - 2.0).abs().max().item<double>(), 1e-12);
  });
}

TEST(Sampler, CancelBetweenSteps) {
  ps::SamplerSettings s;
  s.steps = 10;
  pc::CancelToken cancel;
  GaussianJointDenoiser d(kVideoFlow, kAudioFlow);
  std::vector<int> steps;
  auto onStep = [&](const ps::StepInfo& info) {
    steps.push_back(info.step);
    if (info.step == 3) cancel.cancel();
  };
  EXPECT_THROW(ps::sample(d, jointNoise(6), s, onStep, &cancel), pc::Cancelled);
  EXPECT_EQ(steps, (std::vector<int>{0, 1, 2, 3}));
  EXPECT_EQ(d.calls.size(), 8u);  // two passes for each of four steps, nothing after
}

TEST(Sampler, CancelBetweenPasses) {
  ps::SamplerSettings s;
  s.steps = 10;
  pc::CancelToken cancel;
  GaussianJointDenoiser d(kVideoFlow, kAudioFlow);
  d.onCall = [&](const GaussianJointDenoiser::Call& call) {
    if (call.step.index == 2 && call.pass.kind == pm::GuidanceKind::Conditional) cancel.cancel();
  };
  int callbacks = 0;
  EXPECT_THROW(ps::sample(
                   d, jointNoise(6), s, [&](const ps::StepInfo&) { ++callbacks; }, &cancel),
               pc::Cancelled);
  EXPECT_EQ(callbacks, 2);
  ASSERT_EQ(d.calls.size(), 5u);  // steps 0, 1 in full, then only step 2's conditional pass
  EXPECT_EQ(d.calls.back().pass.kind, pm::GuidanceKind::Conditional);
}

TEST(Sampler, CancelledBeforeStartCallsNothing) {
  pc::CancelToken cancel;
  cancel.cancel();
  GaussianJointDenoiser d(kVideoFlow, kAudioFlow);
  EXPECT_THROW(ps::sample(d, jointNoise(6), ps::SamplerSettings{}, {}, &cancel), pc::Cancelled);
  EXPECT_TRUE(d.calls.empty());
}

TEST(Sampler, StepwiseApiMatchesSample) {
  ps::SamplerSettings s;
  s.steps = 8;
  GaussianJointDenoiser d1(kVideoFlow, kAudioFlow);
  GaussianJointDenoiser d2(kVideoFlow, kAudioFlow);
  const auto expected = ps::sample(d1, jointNoise(9), s);
  ps::JointSampler sampler(jointNoise(9), s);
  EXPECT_EQ(sampler.schedule().steps(), 8);
  EXPECT_TRUE(sampler.plan().guided());
  while (!sampler.done()) sampler.step(d2);
  EXPECT_EQ(sampler.stepIndex(), 8);
  EXPECT_TRUE(at::equal(sampler.latent().video, expected.video));
  EXPECT_THROW(sampler.step(d2), pc::Error);
}

TEST(Sampler, RejectsBadNoise) {
  GaussianJointDenoiser d(kVideoFlow, kAudioFlow);
  const ps::SamplerSettings s;
  EXPECT_THROW(ps::sample(d, {}, s), pc::InputError);
  EXPECT_THROW(ps::sample(d, {at::zeros({1, 4, 4, 4}), at::Tensor()}, s), pc::InputError);
  EXPECT_THROW(ps::sample(d, {at::Tensor(), at::zeros({1, 4})}, s), pc::InputError);
  EXPECT_THROW(ps::sample(d, {at::zeros({2, 4, 1, 2, 2}), at::zeros({1, 4, 3})}, s), pc::InputError);
  EXPECT_THROW(ps::sample(d, {at::Tensor(), at::zeros({1, 4, 3}, at::kLong)}, s), pc::InputError);
  ps::SamplerSettings bad;
  bad.steps = 0;
  EXPECT_THROW(ps::sample(d, jointNoise(1), bad), pc::ParamError);
}

namespace {

// Misbehaving denoisers.
class DropsAudio : public pm::JointDenoiser {
 public:
  pm::JointLatent velocity(const pm::JointLatent& x, const pm::DenoiseStep&,
                           const pm::GuidancePass&) override {
    return {x.video, at::Tensor()};
  }
};
class WrongShape : public pm::JointDenoiser {
 public:
  pm::JointLatent velocity(const pm::JointLatent& x, const pm::DenoiseStep&,
                           const pm::GuidancePass&) override {
    return {x.video, x.audio.narrow(1, 0, 2)};
  }
};

}  // namespace

TEST(Sampler, RejectsBadDenoiserOutputs) {
  const ps::SamplerSettings s;
  DropsAudio drops;
  EXPECT_THROW(ps::sample(drops, jointNoise(1), s), pc::Error);
  WrongShape wrong;
  try {
    ps::sample(wrong, jointNoise(1), s);
    ADD_FAILURE() << "no error";
  } catch (const pc::Error& e) {
    EXPECT_NE(std::string(e.what()).find("audio"), std::string::npos) << e.what();
  }
}

TEST(Sampler, ReducedPrecisionNoiseIsSampledInFloat32) {
  ps::SamplerSettings s;
  s.steps = 4;
  GaussianJointDenoiser d(kVideoFlow, kAudioFlow);
  const auto noise = jointNoise(10, at::kBFloat16);
  const auto out = ps::sample(d, noise, s);
  EXPECT_EQ(out.video.scalar_type(), at::kFloat);
  EXPECT_EQ(out.audio.scalar_type(), at::kFloat);
}

TEST(Sampler, BatchesAreIndependent) {
  ps::SamplerSettings s;
  s.steps = 10;
  const auto batch = jointNoise(11, at::kDouble, 3);
  GaussianJointDenoiser d(kVideoFlow, kAudioFlow);
  const auto all = ps::sample(d, batch, s);
  GaussianJointDenoiser d1(kVideoFlow, kAudioFlow);
  const auto second = ps::sample(d1, {batch.video.narrow(0, 1, 1), batch.audio.narrow(0, 1, 1)}, s);
  EXPECT_TRUE(at::allclose(all.video.narrow(0, 1, 1), second.video, 0, 1e-14));
  EXPECT_TRUE(at::allclose(all.audio.narrow(0, 1, 1), second.audio, 0, 1e-14));
}
