// Flow-matching noise schedules: the sigmas a sampler visits and the timesteps the model sees.
//
// Flow matching interpolates x_sigma = (1 − sigma)·x0 + sigma·noise; sampling integrates the
// velocity from the first sigma down to 0. A schedule is built from evenly spaced sigmas, warped
// by the shift σ' = shift·σ / (1 + (shift − 1)·σ), which spends more steps at high noise.
//
// Plain data and pure functions: thread-safe. Invalid specs throw presence::core::InputError.
#pragma once

#include <string>
#include <vector>

namespace presence::models::sampling {

/// How the unshifted sigmas are spaced.
enum class SigmaSpacing {
  /// linspace(sigmaStart, 0, steps + 1) without its last point (the Wan2.2 / Ovi UniPC and DPM++
  /// schedules).
  DropLast,
  /// linspace(sigmaStart, sigmaEnd, steps), both ends included (diffusers'
  /// FlowMatchEulerDiscreteScheduler, which the released Euler path uses).
  Inclusive,
};

/// How the model timestep is derived from a sigma.
enum class TimestepRounding {
  Truncate,  ///< int(sigma·1000) of the unrounded sigma, as the released UniPC / DPM++ pipelines do
  Exact,     ///< sigma·1000 of the sigma the solver uses
};

/// Everything that determines a schedule.
struct ScheduleSpec {
  int steps = 50;
  double shift = 5.0;  ///< 1 disables the warp
  SigmaSpacing spacing = SigmaSpacing::DropLast;
  double sigmaStart = 1.0;  ///< first sigma before the shift, in (0, 1]
  double sigmaEnd = 0.0;    ///< last evaluated sigma before the shift (Inclusive spacing only)
  TimestepRounding rounding = TimestepRounding::Exact;
  /// Round the solver's sigmas to float32 (the public schedulers keep them as float32 tensors).
  bool float32Sigmas = false;
};

/// The sigmas and timesteps of one sampling run.
struct FlowSchedule {
  /// steps() + 1 values, strictly decreasing, sigmas.front() <= 1, sigmas.back() == 0.
  std::vector<double> sigmas;
  /// steps() values on the 0..1000 scale: what the model is given at each step.
  std::vector<double> timesteps;

  int steps() const { return static_cast<int>(timesteps.size()); }
};

/// σ' = shift·σ / (1 + (shift − 1)·σ). Maps 0 → 0 and 1 → 1; shift > 1 pushes sigmas up.
double shiftSigma(double sigma, double shift);

/// numpy.linspace(start, stop, count) with numpy's arithmetic (i·step + start, exact last point),
/// so schedules match the public Python code bit for bit before any float32 rounding.
std::vector<double> linspace(double start, double stop, int count);

/// Builds the schedule `spec` describes. Throws presence::core::InputError for steps < 1,
/// shift <= 0, sigmas outside [0, 1] or a schedule that is not strictly decreasing.
FlowSchedule makeSchedule(const ScheduleSpec& spec);

/// A one-line summary for logs, e.g. "50 steps, sigma 0.9998 -> 0, timesteps 999 -> 99".
std::string describe(const FlowSchedule& schedule);

}  // namespace presence::models::sampling
