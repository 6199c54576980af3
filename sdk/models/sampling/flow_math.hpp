// Scalar and tensor helpers shared by the solvers (private to presence_sampling).
#pragma once

#include <ATen/ATen.h>

#include <cmath>
#include <initializer_list>
#include <utility>

namespace presence::models::sampling::detail {

/// alpha of a flow-matching noise level: x = alpha·x0 + sigma·noise.
inline double alphaOf(double sigma) { return 1.0 - sigma; }

/// Half log signal-to-noise ratio, log(alpha / sigma): −inf at sigma 1, +inf at sigma 0.
inline double lambdaOf(double sigma) { return std::log(alphaOf(sigma)) - std::log(sigma); }

/// Σ c_k·t_k as a new tensor, one pass over memory per term (terms with c_k = 0 after the first
/// are skipped). The solvers' updates are short linear combinations of latents.
inline at::Tensor linearCombination(std::initializer_list<std::pair<double, at::Tensor>> terms) {
  auto it = terms.begin();
  at::Tensor out = it->second * it->first;
  for (++it; it != terms.end(); ++it) {
    if (it->first != 0.0) out.add_(it->second, it->first);
  }
  return out;
}

}  // namespace presence::models::sampling::detail
