// DPM-Solver++ 2M for flow matching (data prediction, midpoint second-order update).
#pragma once

#include <presence/models/sampling/solver.hpp>

namespace presence::models::sampling {

/// Follows the update rules of FlowDPMSolverMultistepScheduler (Wan2.2 wan/utils/fm_solvers.py)
/// with its pipeline's settings: solver_order 2, algorithm dpmsolver++, solver_type midpoint,
/// lower_order_final, final sigma 0. With alpha = 1 − sigma and lambda = log(alpha / sigma):
/// - first step and last step: first order (DDIM),
///   x' = (σ'/σ)·x − α'·(e^{−h} − 1)·m0, h = λ' − λ;
/// - other steps: x' = (σ'/σ)·x − α'·(e^{−h} − 1)·(m0 + ½·(m0 − m1)/r), r = (λ − λ_prev)/h,
/// where m0, m1 are this and the previous step's data predictions. The final step returns the
/// data prediction. A first sigma of 1 (lambda = −inf) is handled in closed form.
class DpmPlusPlusSolver final : public FlowSolver {
 public:
  using FlowSolver::FlowSolver;
  Solver kind() const override { return Solver::DpmPlusPlus; }

 protected:
  at::Tensor advance(int index, const at::Tensor& sample, const at::Tensor& velocity,
                     const at::Tensor& x0) override;
  void resetState() override;

 private:
  at::Tensor previousX0_;
};

}  // namespace presence::models::sampling
