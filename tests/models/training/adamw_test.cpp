// AdamW against a direct double-precision computation; gradient clipping by global norm.
#include <gtest/gtest.h>

#include <cmath>

#include "presence/models/training/adamw.hpp"

namespace presence::models::training {
namespace {

TEST(AdamW, MatchesDirectComputation) {
  const std::vector<double> p0 = {0.5, -1.0, 2.0, 0.0, 3.0};
  const std::vector<std::vector<double>> grads = {
      {0.1, -0.2, 0.3, 0.0, 1.0}, {-0.4, 0.5, 0.1, 0.2, -1.0}, {0.05, 0.05, -0.3, 0.1, 2.0}};
  AdamWOptions o{0.01, 0.8, 0.95, 1e-6, 0.1};
  at::Tensor p = at::tensor(p0, at::kDouble).requires_grad_(true);
  AdamW adam({"p"}, {p}, o);
  std::vector<double> ref = p0, m(5, 0.0), v(5, 0.0);
  for (size_t t = 1; t <= grads.size(); ++t) {
    p.mutable_grad() = at::tensor(grads[t - 1], at::kDouble);
    adam.step(o.learningRate);
    for (size_t i = 0; i < 5; ++i) {
      const double g = grads[t - 1][i];
      ref[i] *= 1 - o.learningRate * o.weightDecay;
      m[i] = o.beta1 * m[i] + (1 - o.beta1) * g;
      v[i] = o.beta2 * v[i] + (1 - o.beta2) * g * g;
      const double mh = m[i] / (1 - std::pow(o.beta1, t)), vh = v[i] / (1 - std::pow(o.beta2, t));
      ref[i] -= o.learningRate * mh / (std::sqrt(vh) + o.eps);
    }
    for (size_t i = 0; i < 5; ++i) EXPECT_NEAR(p[i].item<double>(), ref[i], 1e-12) << "step " << t << " item " << i;
  }
  EXPECT_EQ(adam.stepCount(), 3);
}

TEST(AdamW, StateRoundTripContinuesIdentically) {
  auto run = [](int64_t split) {
    at::Tensor p = at::linspace(-1, 1, 7, at::kFloat).requires_grad_(true);
    auto adam = std::make_unique<AdamW>(std::vector<std::string>{"p"}, std::vector<at::Tensor>{p}, AdamWOptions{});
    for (int64_t s = 0; s < 4; ++s) {
      if (s == split) {  // a new optimiser restored from the old one's state, as after a resume
        auto state = adam->state();
        std::map<std::string, at::Tensor> copy;
        for (auto& [k, t] : state) copy[k] = t.clone();
        const int64_t steps = adam->stepCount();
        adam = std::make_unique<AdamW>(std::vector<std::string>{"p"}, std::vector<at::Tensor>{p}, AdamWOptions{});
        adam->loadState(copy, steps);
      }
      p.mutable_grad() = at::sin(p.detach() * (s + 1));
      adam->step(1e-2);
    }
    return p.detach().clone();
  };
  EXPECT_TRUE(at::equal(run(-1), run(2)));
}

TEST(AdamW, LoadStateRefusesMissingMoment) {
  at::Tensor p = at::zeros({3}).requires_grad_(true);
  AdamW adam({"w"}, {p}, {});
  try {
    adam.loadState({}, 1);
    FAIL() << "no error";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("exp_avg/w"), std::string::npos) << e.what();
  }
}

TEST(GradClip, BoundsTheGlobalNorm) {
  at::Tensor a = at::zeros({3}).requires_grad_(true), b = at::zeros({2, 2}).requires_grad_(true);
  a.mutable_grad() = at::tensor({3.0f, 0.0f, 4.0f});
  b.mutable_grad() = at::full({2, 2}, 6.0f);  // global norm sqrt(25 + 144) = 13
  EXPECT_NEAR(clipGradNorm({a, b}, 0.0), 13.0, 1e-6);  // 0: measure only
  EXPECT_NEAR(a.grad()[2].item<float>(), 4.0f, 1e-6);
  EXPECT_NEAR(clipGradNorm({a, b}, 1.0), 13.0, 1e-6);
  const double after = std::sqrt(a.grad().pow(2).sum().item<double>() + b.grad().pow(2).sum().item<double>());
  EXPECT_LE(after, 1.0);
  EXPECT_GT(after, 0.999);
  // Direction kept.
  EXPECT_NEAR(a.grad()[0].item<float>() / b.grad()[0][0].item<float>(), 0.5, 1e-5);
  // Below the bound: untouched.
  EXPECT_NEAR(clipGradNorm({a, b}, 5.0), after, 1e-5);
  EXPECT_NEAR(a.grad()[0].item<float>(), 3.0f / 13.0f, 1e-5);
}

}  // namespace
}  // namespace presence::models::training
