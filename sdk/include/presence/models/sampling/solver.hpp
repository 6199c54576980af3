// Flow-matching ODE solvers: the per-step update rules of Euler, DPM++ 2M and UniPC.
//
// The model predicts the velocity v = noise − x0; its data prediction is x0 = x − sigma·v. A
// solver advances one latent tensor along a FlowSchedule; the sampler keeps one solver per tower
// (both on the same schedule). Solvers are stateful (multistep history), not thread-safe, and
// deterministic: the same inputs give the same bits.
#pragma once

#include <ATen/ATen.h>

#include <memory>
#include <presence/models/sampling/schedule.hpp>
#include <string>
#include <string_view>

namespace presence::models::sampling {

enum class Solver {
  UniPC,        ///< UniPC order 2, B(h) = e^h − 1 (bh2), data prediction, predictor + corrector
  Euler,        ///< first-order Euler on the velocity
  DpmPlusPlus,  ///< DPM-Solver++ 2M (multistep, order 2, midpoint), data prediction
};

/// "unipc", "euler", "dpm++".
std::string_view solverName(Solver solver);
/// Parses solverName() spellings (case-insensitive; also "dpmpp", "dpm++2m", "uni_pc").
/// Throws presence::core::InputError naming the accepted values.
Solver parseSolver(std::string_view name);

/// The result of one solver step.
struct SolverStep {
  at::Tensor next;  ///< the latent at sigmas[index + 1]; the final latent after the last step
  at::Tensor x0;    ///< the data prediction x − sigma·v at this step (for previews)
};

/// One tensor's solver state along one schedule.
///
/// Call step() for index 0, 1, ..., steps() − 1 in order (anything else throws
/// presence::core::Error); reset() starts over. Arithmetic happens in the sample's dtype promoted
/// to at least float32 (bf16 and f16 inputs are upcast; float64 stays float64); the velocity is
/// converted to that dtype and the sample's device. Scalar coefficients are computed in double.
class FlowSolver {
 public:
  explicit FlowSolver(FlowSchedule schedule);
  virtual ~FlowSolver() = default;
  FlowSolver(const FlowSolver&) = delete;
  FlowSolver& operator=(const FlowSolver&) = delete;

  virtual Solver kind() const = 0;
  const FlowSchedule& schedule() const { return schedule_; }
  /// The index the next step() call must pass.
  int nextIndex() const { return next_; }

  /// Advances `sample` (at sigmas[index]) given the model's velocity at it.
  SolverStep step(int index, const at::Tensor& sample, const at::Tensor& velocity);
  void reset();

 protected:
  /// `sample` and `velocity` are already in the working dtype; `x0` is sample − sigma·velocity.
  virtual at::Tensor advance(int index, const at::Tensor& sample, const at::Tensor& velocity,
                             const at::Tensor& x0) = 0;
  virtual void resetState() = 0;

  FlowSchedule schedule_;

 private:
  int next_ = 0;
};

/// A solver of `kind` on `schedule`.
std::unique_ptr<FlowSolver> makeSolver(Solver kind, const FlowSchedule& schedule);

/// The working dtype for a latent of `dtype`: float32 for reduced-precision types, float64 kept.
at::ScalarType workingDtype(at::ScalarType dtype);

}  // namespace presence::models::sampling
