// UniPC (order 2, bh2, data prediction) for flow matching: a predictor with a corrector.
#pragma once

#include <presence/models/sampling/solver.hpp>

namespace presence::models::sampling {

/// Follows the update rules of FlowUniPCMultistepScheduler (Wan2.2 wan/utils/fm_solvers_unipc.py,
/// also vendored by Ovi and Identity-as-Presence) with its pipelines' settings: solver_order 2,
/// flow_prediction, predict_x0, solver_type bh2, lower_order_final, no disabled correctors, final
/// sigma 0. At step i, with m_i = x_i − σ_i·v_i:
/// 1. corrector (i > 0): re-estimate x_i from the previous step's input x_{i−1} with the UniC
///    update of the previous predictor's order, using m_i (computed from the uncorrected x_i,
///    which is not re-evaluated);
/// 2. predictor: x_{i+1} from the corrected x_i with the UniP update, order 1 at the first and the
///    last step and 2 otherwise. The last step (to sigma 0) therefore returns m_{N−1}.
class UniPCSolver final : public FlowSolver {
 public:
  using FlowSolver::FlowSolver;
  Solver kind() const override { return Solver::UniPC; }

 protected:
  at::Tensor advance(int index, const at::Tensor& sample, const at::Tensor& velocity,
                     const at::Tensor& x0) override;
  void resetState() override;

 private:
  at::Tensor lastSample_;   ///< the corrected input of the previous step
  at::Tensor previousX0_;   ///< m_{i−1}
  at::Tensor previous2X0_;  ///< m_{i−2}
  int lastOrder_ = 0;       ///< order of the previous predictor
};

}  // namespace presence::models::sampling
