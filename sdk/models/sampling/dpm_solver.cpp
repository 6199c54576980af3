#include <cmath>
#include <presence/models/sampling/dpm_solver.hpp>

#include "flow_math.hpp"

namespace presence::models::sampling {

using detail::alphaOf;
using detail::lambdaOf;
using detail::linearCombination;

at::Tensor DpmPlusPlusSolver::advance(int index, const at::Tensor& sample, const at::Tensor& /*velocity*/,
                                      const at::Tensor& x0) {
  const auto i = static_cast<size_t>(index);
  const int steps = schedule_.steps();
  const double sigmaS = schedule_.sigmas[i];
  const double sigmaT = schedule_.sigmas[i + 1];

  // x' = (σt/σs)·x − αt·(e^{−h} − 1)·D. With e^{−h} = αs·σt / (σs·αt) the data coefficient
  // −αt·(e^{−h} − 1) is αt − αs·σt/σs: finite also where λ is infinite (σs = 1 or σt = 0).
  const double a = sigmaT / sigmaS;
  const double b = alphaOf(sigmaT) - alphaOf(sigmaS) * sigmaT / sigmaS;

  // First order at the first step (no history) and at the last (final sigma 0), as released.
  const bool firstOrder = index == 0 || index == steps - 1 || !previousX0_.defined();
  at::Tensor next;
  if (firstOrder) {
    next = linearCombination({{a, sample}, {b, x0}});
  } else {
    // Midpoint 2M: D = m0 + ½·(m0 − m1)/r0, r0 = h0/h, h0 = λs − λs1, h = λt − λs.
    const double sigmaS1 = schedule_.sigmas[i - 1];
    const double lambdaS1 = lambdaOf(sigmaS1);
    const double lambdaS = lambdaOf(sigmaS);
    const double lambdaT = lambdaOf(sigmaT);
    const double r0 = (lambdaS - lambdaS1) / (lambdaT - lambdaS);
    // σs1 = 1 gives λs1 = −inf, r0 = inf: the correction vanishes (DDIM), as in the public code.
    const double c = std::isfinite(r0) ? 0.5 * b / r0 : 0.0;
    next = linearCombination({{a, sample}, {b + c, x0}, {-c, previousX0_}});
  }
  previousX0_ = x0;
  return next;
}

void DpmPlusPlusSolver::resetState() { previousX0_ = at::Tensor(); }

}  // namespace presence::models::sampling
