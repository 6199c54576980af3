// Every solver integrates flows whose exact solutions are known in closed form.
#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <presence/core/error.hpp>
#include <presence/models/sampling/dpm_solver.hpp>
#include <presence/models/sampling/sampler.hpp>
#include <presence/models/sampling/unipc_solver.hpp>
#include <string>
#include <vector>

#include "analytic_flows.hpp"

namespace pm = presence::models;
namespace ps = presence::models::sampling;
using ps::testing::GaussianFlow;
using ps::testing::GaussianJointDenoiser;

namespace {

constexpr std::array<ps::Solver, 3> kSolvers{ps::Solver::UniPC, ps::Solver::Euler, ps::Solver::DpmPlusPlus};

at::Tensor seededNoise(at::IntArrayRef shape, uint64_t seed, at::ScalarType dtype = at::kDouble) {
  auto gen = at::detail::createCPUGenerator(seed);
  return at::randn(shape, gen, at::TensorOptions().dtype(dtype));
}

ps::SamplerSettings unguided(ps::Solver solver, int steps, double shift,
                             ps::ScheduleConvention convention = ps::ScheduleConvention::Uniform) {
  ps::SamplerSettings s;
  s.solver = solver;
  s.steps = steps;
  s.shift = shift;
  s.schedule = convention;
  s.videoGuidance = 1.0;
  s.audioGuidance = 1.0;
  return s;
}

// Max abs error of sampling the audio tower of `flow` from `noise` against the exact solution.
double solveError(const GaussianFlow& flow, const at::Tensor& noise, const ps::SamplerSettings& settings) {
  GaussianJointDenoiser denoiser(flow, flow);
  pm::JointLatent x{at::Tensor(), noise.reshape({1, -1, 1})};
  const auto out = ps::sample(denoiser, x, settings);
  const double sigma0 = ps::makeSchedule(settings).sigmas.front();
  return (out.audio.flatten() - flow.solve(noise, sigma0)).abs().max().item<double>();
}

// ---- Independent scalar transcriptions of the public schedulers' algorithms -------------------

double lambdaOf(double sigma) { return std::log(1.0 - sigma) - std::log(sigma); }

// Solves the K×K system a·x = b by Gaussian elimination with partial pivoting (K <= 3).
std::vector<double> solveLinear(std::vector<std::vector<double>> a, std::vector<double> b) {
  const size_t n = b.size();
  for (size_t c = 0; c < n; ++c) {
    size_t p = c;
    for (size_t r = c + 1; r < n; ++r)
      if (std::abs(a[r][c]) > std::abs(a[p][c])) p = r;
    std::swap(a[c], a[p]);
    std::swap(b[c], b[p]);
    for (size_t r = c + 1; r < n; ++r) {
      const double f = a[r][c] / a[c][c];
      for (size_t k = c; k < n; ++k) a[r][k] -= f * a[c][k];
      b[r] -= f * b[c];
    }
  }
  std::vector<double> x(n);
  for (size_t i = n; i-- > 0;) {
    double s = b[i];
    for (size_t k = i + 1; k < n; ++k) s -= a[i][k] * x[k];
    x[i] = s / a[i][i];
  }
  return x;
}

// UniPC-p with B(h) = expm1(−h), flow prediction turned into data prediction, written from the
// algorithm (Zhao et al. 2023, and the public FlowUniPCMultistepScheduler's bookkeeping): a list
// of past data predictions, a corrector using the previous predictor's order, lower_order_final.
struct ReferenceUniPC {
  std::vector<double> sigmas;
  int solverOrder = 2;

  struct Terms {
    double h, hh, hPhi1, bh;
    std::vector<double> rks;
    std::vector<double> b;
  };
  // Shared by UniP and UniC: rks from earlier sigmas, the b vector of the order-p system.
  Terms terms(double sigmaS0, double sigmaT, const std::vector<double>& earlierSigmas, int order) const {
    Terms t;
    t.h = lambdaOf(sigmaT) - lambdaOf(sigmaS0);
    for (double s : earlierSigmas) t.rks.push_back((lambdaOf(s) - lambdaOf(sigmaS0)) / t.h);
    t.rks.push_back(1.0);
    t.hh = -t.h;
    t.hPhi1 = std::expm1(t.hh);
    double hPhiK = t.hPhi1 / t.hh - 1.0;
    double factorial = 1.0;
    t.bh = std::expm1(t.hh);
    for (int i = 1; i <= order; ++i) {
      t.b.push_back(hPhiK * factorial / t.bh);
      factorial *= i + 1;
      hPhiK = hPhiK / t.hh - 1.0 / factorial;
    }
    return t;
  }
  std::vector<std::vector<double>> matrix(const std::vector<double>& rks, size_t n) const {
    std::vector<std::vector<double>> r(n, std::vector<double>(n));
    for (size_t row = 0; row < n; ++row)
      for (size_t col = 0; col < n; ++col) r[row][col] = std::pow(rks[col], static_cast<double>(row));
    return r;
  }

  double run(double x, const GaussianFlow& flow) const {
    const int n = static_cast<int>(sigmas.size()) - 1;
    std::vector<double> outputs;  // data predictions, oldest first
    double lastSample = 0.0;
    bool haveLast = false;
    int thisOrder = 1;
    int lowerOrderNums = 0;
    for (int i = 0; i < n; ++i) {
      const double sigma = sigmas[static_cast<size_t>(i)];
      const at::Tensor xt = at::full({1}, x, at::kDouble);
      const double m = x - sigma * flow.velocity(xt, sigma).item<double>();
      if (i > 0 && haveLast) {  // UniC
        const double sigmaT = sigmas[static_cast<size_t>(i)];
        const double sigmaS0 = sigmas[static_cast<size_t>(i) - 1];
        const double m0 = outputs.back();
        std::vector<double> earlier, d1s;
        for (int k = 1; k < thisOrder; ++k) {
          earlier.push_back(sigmas[static_cast<size_t>(i - (k + 1))]);
        }
        const Terms t = terms(sigmaS0, sigmaT, earlier, thisOrder);
        for (int k = 1; k < thisOrder; ++k)
          d1s.push_back((outputs[outputs.size() - 1 - static_cast<size_t>(k)] - m0) /
                        t.rks[static_cast<size_t>(k - 1)]);
        std::vector<double> rhos =
            thisOrder == 1 ? std::vector<double>{0.5} : solveLinear(matrix(t.rks, t.b.size()), t.b);
        double corr = 0.0;
        for (size_t k = 0; k < d1s.size(); ++k) corr += rhos[k] * d1s[k];
        const double alphaT = 1.0 - sigmaT;
        x = sigmaT / sigmaS0 * lastSample - alphaT * t.hPhi1 * m0 -
            alphaT * t.bh * (corr + rhos.back() * (m - m0));
      }
      outputs.push_back(m);
      thisOrder = std::min(solverOrder, n - i);
      thisOrder = std::min(thisOrder, lowerOrderNums + 1);
      lastSample = x;
      haveLast = true;
      {  // UniP
        const double sigmaT = sigmas[static_cast<size_t>(i) + 1];
        const double sigmaS0 = sigma;
        const double m0 = outputs.back();
        std::vector<double> earlier, d1s;
        for (int k = 1; k < thisOrder; ++k) earlier.push_back(sigmas[static_cast<size_t>(i - k)]);
        const Terms t = terms(sigmaS0, sigmaT, earlier, thisOrder);
        for (int k = 1; k < thisOrder; ++k)
          d1s.push_back((outputs[outputs.size() - 1 - static_cast<size_t>(k)] - m0) /
                        t.rks[static_cast<size_t>(k - 1)]);
        double pred = 0.0;
        if (!d1s.empty()) {
          std::vector<double> rhos;
          if (thisOrder == 2) {
            rhos = {0.5};
          } else {
            std::vector<std::vector<double>> r = matrix(t.rks, t.b.size() - 1);
            rhos = solveLinear(r, std::vector<double>(t.b.begin(), t.b.end() - 1));
          }
          for (size_t k = 0; k < d1s.size(); ++k) pred += rhos[k] * d1s[k];
        }
        const double alphaT = 1.0 - sigmaT;
        x = sigmaT / sigmaS0 * x - alphaT * t.hPhi1 * m0 - alphaT * t.bh * pred;
      }
      lowerOrderNums = std::min(lowerOrderNums + 1, solverOrder);
    }
    return x;
  }
};

// DPM-Solver++(2M), midpoint, lower order at the first and the final step, written with the
// log-SNR formulas of Lu et al. 2022.
double referenceDpm(const std::vector<double>& sigmas, double x, const GaussianFlow& flow) {
  const int n = static_cast<int>(sigmas.size()) - 1;
  double previous = 0.0;
  for (int i = 0; i < n; ++i) {
    const double s = sigmas[static_cast<size_t>(i)];
    const double t = sigmas[static_cast<size_t>(i) + 1];
    const at::Tensor xt = at::full({1}, x, at::kDouble);
    const double m = x - s * flow.velocity(xt, s).item<double>();
    const double h = lambdaOf(t) - lambdaOf(s);
    const double alphaT = 1.0 - t;
    if (i == 0 || i == n - 1) {
      x = t / s * x - alphaT * (std::exp(-h) - 1.0) * m;
    } else {
      const double h0 = lambdaOf(s) - lambdaOf(sigmas[static_cast<size_t>(i) - 1]);
      const double r0 = h0 / h;
      const double d1 = (1.0 / r0) * (m - previous);
      x = t / s * x - alphaT * (std::exp(-h) - 1.0) * m - 0.5 * alphaT * (std::exp(-h) - 1.0) * d1;
    }
    previous = m;
  }
  return x;
}

}  // namespace

TEST(Solvers, PointMassIsReachedExactlyByEverySolver) {
  // All x0 = c: every path is a straight line, which every solver integrates without error.
  const GaussianFlow flow{1.25, 0.0};
  const at::Tensor noise = seededNoise({3, 17, 2}, 7);
  for (auto solver : kSolvers) {
    for (auto convention : {ps::ScheduleConvention::Released, ps::ScheduleConvention::Uniform}) {
      for (int steps : {1, 2, 3, 5, 10, 50}) {
        const auto settings = unguided(solver, steps, 5.0, convention);
        GaussianJointDenoiser denoiser(flow, flow);
        const auto out = ps::sample(denoiser, {at::Tensor(), noise}, settings);
        EXPECT_LT((out.audio - 1.25).abs().max().item<double>(), 1e-12)
            << ps::solverName(solver) << " steps " << steps;
      }
    }
  }
}

TEST(Solvers, GaussianFlowErrorShrinksWithSteps) {
  // With shift 5 the second-order solvers' error is not monotone at low step counts (error terms of
  // opposite sign cancel), so compare step counts a factor 4 apart.
  const GaussianFlow flow{-0.3, 1.8};
  const at::Tensor noise = seededNoise({512}, 11);
  for (auto solver : kSolvers) {
    for (double shift : {1.0, 5.0}) {
      double previous = INFINITY;
      for (int steps : {16, 64, 256}) {
        const double err = solveError(flow, noise, unguided(solver, steps, shift));
        EXPECT_LT(err, previous) << ps::solverName(solver) << " shift " << shift << " steps " << steps;
        previous = err;
      }
      EXPECT_LT(previous, solver == ps::Solver::Euler ? 5e-2 : 5e-3)
          << ps::solverName(solver) << " shift " << shift;
    }
  }
}

TEST(Solvers, ConvergenceOrders) {
  // Doubling the steps halves Euler's error and divides the second-order solvers' by ~4 (DPM++
  // approaches 4 more slowly: its first two steps from sigma 1 and its last are first order).
  const GaussianFlow flow{-0.3, 1.8};
  const at::Tensor noise = seededNoise({512}, 12);
  for (double shift : {1.0, 5.0}) {
    const double euler1 = solveError(flow, noise, unguided(ps::Solver::Euler, 128, shift));
    const double euler2 = solveError(flow, noise, unguided(ps::Solver::Euler, 256, shift));
    EXPECT_GT(euler1 / euler2, 1.8) << shift;
    EXPECT_LT(euler1 / euler2, 2.2) << shift;
    const double unipc1 = solveError(flow, noise, unguided(ps::Solver::UniPC, 128, shift));
    const double unipc2 = solveError(flow, noise, unguided(ps::Solver::UniPC, 256, shift));
    EXPECT_GT(unipc1 / unipc2, 3.6) << shift;
    const double dpm1 = solveError(flow, noise, unguided(ps::Solver::DpmPlusPlus, 128, shift));
    const double dpm2 = solveError(flow, noise, unguided(ps::Solver::DpmPlusPlus, 256, shift));
    EXPECT_GT(dpm1 / dpm2, 3.0) << shift;
  }
}

TEST(Solvers, UniPCBeatsEulerAtEqualSteps) {
  const GaussianFlow flow{-0.3, 1.8};
  const at::Tensor noise = seededNoise({512}, 13);
  for (auto convention : {ps::ScheduleConvention::Released, ps::ScheduleConvention::Uniform}) {
    for (int steps : {10, 25, 50}) {
      const double unipc = solveError(flow, noise, unguided(ps::Solver::UniPC, steps, 5.0, convention));
      const double dpm = solveError(flow, noise, unguided(ps::Solver::DpmPlusPlus, steps, 5.0, convention));
      const double euler = solveError(flow, noise, unguided(ps::Solver::Euler, steps, 5.0, convention));
      EXPECT_LT(unipc, euler / 5.0) << steps;
      EXPECT_LT(dpm, euler) << steps;
    }
  }
}

TEST(Solvers, UniPCMatchesTheReferenceAlgorithm) {
  const GaussianFlow flow{0.7, 0.4};
  // The released schedule only: the public UniPC never starts at sigma 1, where its linear solve
  // would meet −inf (ours takes the limit; see GaussianFlowErrorShrinksWithSteps).
  for (double shift : {1.0, 3.0, 5.0}) {
    for (int steps : {1, 2, 3, 4, 7, 20, 50}) {
      const auto settings = unguided(ps::Solver::UniPC, steps, shift, ps::ScheduleConvention::Released);
      const auto schedule = ps::makeSchedule(settings);
      const at::Tensor noise = at::tensor({-1.3, 0.2, 2.1}, at::kDouble);
      GaussianJointDenoiser denoiser(flow, flow);
      const auto out =
          ps::sample(denoiser, {at::Tensor(), noise.reshape({1, 3, 1})}, settings).audio.flatten();
      const ReferenceUniPC reference{schedule.sigmas, 2};
      for (int64_t k = 0; k < noise.size(0); ++k) {
        const double expected = reference.run(noise[k].item<double>(), flow);
        EXPECT_NEAR(out[k].item<double>(), expected, 1e-12 * (1.0 + std::abs(expected))) << steps;
      }
    }
  }
}

TEST(Solvers, DpmPlusPlusMatchesTheReferenceAlgorithm) {
  const GaussianFlow flow{0.7, 0.4};
  for (auto convention : {ps::ScheduleConvention::Released, ps::ScheduleConvention::Uniform}) {
    for (int steps : {1, 2, 3, 4, 7, 20, 50}) {
      const auto settings = unguided(ps::Solver::DpmPlusPlus, steps, 5.0, convention);
      const auto schedule = ps::makeSchedule(settings);
      const at::Tensor noise = at::tensor({-1.3, 0.2, 2.1}, at::kDouble);
      GaussianJointDenoiser denoiser(flow, flow);
      const auto out =
          ps::sample(denoiser, {at::Tensor(), noise.reshape({1, 3, 1})}, settings).audio.flatten();
      for (int64_t k = 0; k < noise.size(0); ++k) {
        const double expected = referenceDpm(schedule.sigmas, noise[k].item<double>(), flow);
        EXPECT_NEAR(out[k].item<double>(), expected, 1e-12 * (1.0 + std::abs(expected))) << steps;
      }
    }
  }
}

TEST(Solvers, LastUniPCStepReturnsTheDataPrediction) {
  const GaussianFlow flow{0.7, 0.4};
  const auto schedule =
      ps::makeSchedule(unguided(ps::Solver::UniPC, 6, 5.0, ps::ScheduleConvention::Released));
  ps::UniPCSolver solver(schedule);
  at::Tensor x = seededNoise({64}, 3);
  ps::SolverStep step;
  for (int i = 0; i < schedule.steps(); ++i) {
    step = solver.step(i, x, flow.velocity(x, schedule.sigmas[static_cast<size_t>(i)]));
    x = step.next;
  }
  EXPECT_TRUE(at::equal(step.next, step.x0));
}

TEST(Solvers, StepsMustBeTakenInOrder) {
  const auto schedule = ps::makeSchedule(unguided(ps::Solver::DpmPlusPlus, 4, 5.0));
  for (auto kind : kSolvers) {
    auto solver = ps::makeSolver(kind, schedule);
    EXPECT_EQ(solver->kind(), kind);
    const at::Tensor x = at::zeros({4}, at::kFloat);
    EXPECT_THROW(solver->step(1, x, x), presence::core::Error);
    solver->step(0, x, x);
    EXPECT_EQ(solver->nextIndex(), 1);
    EXPECT_THROW(solver->step(0, x, x), presence::core::Error);
    EXPECT_THROW(solver->step(1, x, at::zeros({5})), presence::core::Error);
    solver->reset();
    EXPECT_NO_THROW(solver->step(0, x, x));
  }
}

TEST(Solvers, ReducedPrecisionInputsWorkInFloat32) {
  const auto schedule = ps::makeSchedule(unguided(ps::Solver::UniPC, 4, 5.0));
  auto solver = ps::makeSolver(ps::Solver::UniPC, schedule);
  const at::Tensor x = at::ones({4}, at::kBFloat16);
  const auto step = solver->step(0, x, x);
  EXPECT_EQ(step.next.scalar_type(), at::kFloat);
  EXPECT_EQ(step.x0.scalar_type(), at::kFloat);
  EXPECT_EQ(ps::workingDtype(at::kHalf), at::kFloat);
  EXPECT_EQ(ps::workingDtype(at::kDouble), at::kDouble);
}
