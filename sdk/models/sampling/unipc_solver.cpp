#include <algorithm>
#include <cmath>
#include <presence/models/sampling/unipc_solver.hpp>

#include "flow_math.hpp"

namespace presence::models::sampling {

using detail::alphaOf;
using detail::lambdaOf;
using detail::linearCombination;

namespace {

// Coefficients of one UniPC (B(h) = e^{hh} − 1, "bh2") update from sigma s0 to sigma t in data-
// prediction form, hh = −h, h = λt − λs0:
//   x_t = (σt/σs0)·x − αt·φ1·m0 − αt·B·(correction),  φ1 = e^{hh} − 1.
struct UniCoefficients {
  double ratio = 0.0;  // σt / σs0
  double alphaT = 0.0;
  double h = 0.0;
  double hh = 0.0;
  double phi1 = 0.0;  // h·φ1(h) = expm1(hh)
  double bh = 0.0;    // B(h)
};

UniCoefficients uniCoefficients(double sigmaS0, double sigmaT) {
  UniCoefficients k;
  k.ratio = sigmaT / sigmaS0;
  k.alphaT = alphaOf(sigmaT);
  k.h = lambdaOf(sigmaT) - lambdaOf(sigmaS0);  // +inf when σt = 0 or σs0 = 1
  k.hh = -k.h;
  k.phi1 = std::expm1(k.hh);  // −1 in the limit h → inf
  k.bh = std::expm1(k.hh);
  return k;
}

// The right-hand side b of UniPC's order-2 system R·ρ = b, by the public scheduler's recursion:
// g1 = φ1/hh − 1, b1 = 1!·g1/B; g2 = g1/hh − 1/2!, b2 = 2!·g2/B.
void uniRhs(const UniCoefficients& k, double& b1, double& b2) {
  double hPhiK = k.phi1 / k.hh - 1.0;
  b1 = hPhiK * 1.0 / k.bh;
  hPhiK = hPhiK / k.hh - 1.0 / 2.0;
  b2 = hPhiK * 2.0 / k.bh;
}

}  // namespace

at::Tensor UniPCSolver::advance(int index, const at::Tensor& sample, const at::Tensor& /*velocity*/,
                                const at::Tensor& x0) {
  const auto i = static_cast<size_t>(index);
  const int steps = schedule_.steps();
  const auto& sigmas = schedule_.sigmas;

  // Predictor order: 1 at the first step (warm-up) and the last (lower_order_final), else 2.
  const int order = std::min({2, steps - index, index + 1});
  const bool landsOnData = sigmas[i + 1] == 0.0 && order == 1;

  // 1. Corrector (UniC) of the previous step's prediction, with this step's data prediction.
  //    It cannot change a last step that lands on the data prediction: skip it there.
  at::Tensor x = sample;
  if (index > 0 && lastSample_.defined() && !landsOnData) {
    const double sigmaS0 = sigmas[i - 1];
    const double sigmaT = sigmas[i];
    const UniCoefficients k = uniCoefficients(sigmaS0, sigmaT);
    const at::Tensor& m0 = previousX0_;  // m_{i−1}
    double rhoLast = 0.5;                // order 1: ρ = ½
    double rhoPrev = 0.0;                // weight of D1 = (m_{i−2} − m_{i−1}) / rk
    double rk = 0.0;
    if (lastOrder_ >= 2 && previous2X0_.defined()) {
      rk = (lambdaOf(sigmas[i - 2]) - lambdaOf(sigmaS0)) / k.h;
      double b1 = 0.0;
      double b2 = 0.0;
      uniRhs(k, b1, b2);
      if (std::isfinite(rk)) {
        // Solve [[1, 1], [rk, 1]]·[ρ0, ρ1] = [b1, b2].
        rhoPrev = (b1 - b2) / (1.0 - rk);
        rhoLast = b1 - rhoPrev;
      } else {
        // σ_{i−2} = 1 (λ = −inf): rk → −inf, ρ0 → 0, ρ1 → b1, and D1 → 0.
        rhoPrev = 0.0;
        rhoLast = b1;
      }
    }
    // x_c = (σt/σs0)·x_{i−1} − αt·φ1·m_{i−1} − αt·B·(ρ0·D1 + ρ1·(m_i − m_{i−1})),
    // D1 = (m_{i−2} − m_{i−1}) / rk, expanded into one weight per tensor.
    const double scale = k.alphaT * k.bh;
    const double wLast = scale * rhoLast;
    const double wPrev = rhoPrev != 0.0 ? scale * rhoPrev / rk : 0.0;
    if (wPrev != 0.0) {
      x = linearCombination({{k.ratio, lastSample_},
                             {-k.alphaT * k.phi1 + wLast + wPrev, m0},
                             {-wLast, x0},
                             {-wPrev, previous2X0_}});
    } else {
      x = linearCombination({{k.ratio, lastSample_}, {-k.alphaT * k.phi1 + wLast, m0}, {-wLast, x0}});
    }
  }

  // History: m_{i−1} becomes m_{i−2}, this step's m_i becomes m_{i−1}.
  previous2X0_ = previousX0_;
  previousX0_ = x0;
  lastSample_ = x;
  lastOrder_ = order;

  if (landsOnData) return x0;

  // 2. Predictor (UniP) from σ_i to σ_{i+1}.
  const UniCoefficients k = uniCoefficients(sigmas[i], sigmas[i + 1]);
  // x_{i+1} = (σt/σs0)·x_i − αt·φ1·m_i − αt·B·ρ·D1, order 2 only: ρ = ½, D1 = (m_{i−1} − m_i) / rk,
  // rk = (λ_{i−1} − λ_i) / h (rk = −inf, D1 = 0 when σ_{i−1} = 1).
  double w = 0.0;
  if (order == 2) {
    const double rk = (lambdaOf(sigmas[i - 1]) - lambdaOf(sigmas[i])) / k.h;
    if (std::isfinite(rk)) w = k.alphaT * k.bh * 0.5 / rk;
  }
  if (w == 0.0) return linearCombination({{k.ratio, x}, {-k.alphaT * k.phi1, x0}});
  return linearCombination({{k.ratio, x}, {-k.alphaT * k.phi1 + w, x0}, {-w, previous2X0_}});
}

void UniPCSolver::resetState() {
  lastSample_ = at::Tensor();
  previousX0_ = at::Tensor();
  previous2X0_ = at::Tensor();
  lastOrder_ = 0;
}

}  // namespace presence::models::sampling
