// Euler on the velocity: x_{i+1} = x_i + (sigma_{i+1} − sigma_i)·v_i.
#pragma once

#include <presence/models/sampling/solver.hpp>

namespace presence::models::sampling {

/// The update of diffusers' FlowMatchEulerDiscreteScheduler.step. Stateless between steps;
/// the last step (to sigma 0) lands on the data prediction x − sigma·v.
class EulerSolver final : public FlowSolver {
 public:
  using FlowSolver::FlowSolver;
  Solver kind() const override { return Solver::Euler; }

 protected:
  at::Tensor advance(int index, const at::Tensor& sample, const at::Tensor& velocity,
                     const at::Tensor& x0) override;
  void resetState() override {}
};

}  // namespace presence::models::sampling
