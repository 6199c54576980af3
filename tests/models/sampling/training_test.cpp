// Training-side helpers share the samplers' conventions.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <presence/core/error.hpp>
#include <presence/models/sampling/training.hpp>

namespace ps = presence::models::sampling;

TEST(Training, UniformSigmasAreSeededAndInRange) {
  ps::TrainingTimeSpec spec;
  const auto a = ps::flowMatchingTrainingSigmas(20000, spec, at::detail::createCPUGenerator(3));
  const auto b = ps::flowMatchingTrainingSigmas(20000, spec, at::detail::createCPUGenerator(3));
  EXPECT_TRUE(at::equal(a, b));
  EXPECT_EQ(a.scalar_type(), at::kFloat);
  EXPECT_EQ(a.sizes(), (std::vector<int64_t>{20000}));
  EXPECT_GE(a.min().item<double>(), 0.0);
  EXPECT_LE(a.max().item<double>(), 1.0);
  EXPECT_NEAR(a.mean().item<double>(), 0.5, 0.01);
}

TEST(Training, ShiftWarpsTheDraws) {
  ps::TrainingTimeSpec plain;
  ps::TrainingTimeSpec shifted;
  shifted.shift = 5.0;
  const auto u =
      ps::flowMatchingTrainingSigmas(1000, plain, at::detail::createCPUGenerator(4)).to(at::kDouble);
  const auto s =
      ps::flowMatchingTrainingSigmas(1000, shifted, at::detail::createCPUGenerator(4)).to(at::kDouble);
  const auto expected = u * 5.0 / (1.0 + 4.0 * u);
  EXPECT_TRUE(at::allclose(s, expected, 1e-5, 1e-6));
  EXPECT_GT(s.mean().item<double>(), u.mean().item<double>());
}

TEST(Training, LogitNormal) {
  ps::TrainingTimeSpec spec;
  spec.sampling = ps::TimeSampling::LogitNormal;
  spec.logitMean = 0.0;
  spec.logitStd = 1.0;
  const auto t =
      ps::flowMatchingTrainingSigmas(20000, spec, at::detail::createCPUGenerator(5)).to(at::kDouble);
  EXPECT_GT(t.min().item<double>(), 0.0);
  EXPECT_LT(t.max().item<double>(), 1.0);
  EXPECT_NEAR(t.median().item<double>(), 0.5, 0.02);
  const auto logits = at::log(t / (1.0 - t));
  EXPECT_NEAR(logits.std().item<double>(), 1.0, 0.03);

  spec.logitMean = 1.0;
  const auto shifted =
      ps::flowMatchingTrainingSigmas(20000, spec, at::detail::createCPUGenerator(5)).to(at::kDouble);
  EXPECT_NEAR(shifted.median().item<double>(), 1.0 / (1.0 + std::exp(-1.0)), 0.02);
}

TEST(Training, InterpolationTargetAndDataPrediction) {
  auto gen = at::detail::createCPUGenerator(6);
  const auto x0 = at::randn({3, 4, 2, 5}, gen, at::kDouble);
  const auto noise = at::randn({3, 4, 2, 5}, gen, at::kDouble);
  const auto sigmas = at::tensor({0.1, 0.5, 0.9}, at::kDouble);
  const auto xt = ps::noisyLatent(x0, noise, sigmas);
  for (int b = 0; b < 3; ++b) {
    const double s = sigmas[b].item<double>();
    EXPECT_TRUE(at::allclose(xt[b], x0[b] * (1.0 - s) + noise[b] * s, 0, 1e-14));
  }
  const auto v = ps::velocityTarget(x0, noise);
  EXPECT_TRUE(at::allclose(v, noise - x0));
  EXPECT_TRUE(at::allclose(ps::dataPrediction(xt, v, sigmas), x0, 0, 1e-12));
  // A scalar sigma broadcasts too; t = σ·1000.
  const auto half = at::scalar_tensor(0.5, at::kDouble);
  EXPECT_TRUE(at::allclose(ps::noisyLatent(x0, noise, half), (x0 + noise) * 0.5));
  EXPECT_DOUBLE_EQ(ps::timestepsFromSigmas(sigmas)[1].item<double>(), 500.0);
}

TEST(Training, RejectsBadInputs) {
  const auto x = at::zeros({2, 3});
  EXPECT_THROW(ps::noisyLatent(x, at::zeros({2, 4}), at::zeros({2})), presence::core::InputError);
  EXPECT_THROW(ps::noisyLatent(x, x, at::zeros({3})), presence::core::InputError);
  EXPECT_THROW(ps::flowMatchingTrainingSigmas(0, {}), presence::core::InputError);
  ps::TrainingTimeSpec bad;
  bad.shift = 0.0;
  EXPECT_THROW(ps::flowMatchingTrainingSigmas(4, bad), presence::core::InputError);
  bad.shift = 1.0;
  bad.sampling = ps::TimeSampling::LogitNormal;
  bad.logitStd = 0.0;
  EXPECT_THROW(ps::flowMatchingTrainingSigmas(4, bad), presence::core::InputError);
}
