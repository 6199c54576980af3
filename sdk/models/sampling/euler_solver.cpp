#include <presence/models/sampling/euler_solver.hpp>

namespace presence::models::sampling {

at::Tensor EulerSolver::advance(int index, const at::Tensor& sample, const at::Tensor& velocity,
                                const at::Tensor& /*x0*/) {
  const auto i = static_cast<size_t>(index);
  const double dt = schedule_.sigmas[i + 1] - schedule_.sigmas[i];
  return at::add(sample, velocity, dt);
}

}  // namespace presence::models::sampling
