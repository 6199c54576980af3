// The joint audio-video flow-matching sampler: integrates a JointDenoiser's velocity from noise
// to data with one solver per tower on one shared schedule, with classifier-free guidance,
// per-step callbacks and cooperative cancellation.
#pragma once

#include <functional>
#include <memory>
#include <presence/core/cancel_token.hpp>
#include <presence/models/interfaces/joint_denoiser.hpp>
#include <presence/models/sampling/guidance.hpp>
#include <presence/models/sampling/sampler_settings.hpp>

namespace presence::models::sampling {

/// What a step callback sees, after the step's update.
struct StepInfo {
  int step = 0;              ///< 0-based index of the step just taken
  int total = 0;             ///< steps in the run
  double sigma = 1.0;        ///< noise level the step started from
  double sigmaNext = 0.0;    ///< noise level reached
  double timestep = 1000.0;  ///< what the model was given
  JointLatent x0;            ///< the guided data prediction x − sigma·v at this step (preview)
  JointLatent latent;        ///< the latent after the step (the final result after the last step)

  /// Fraction of the run done, (step + 1) / total, in (0, 1].
  double progress() const { return total > 0 ? static_cast<double>(step + 1) / total : 1.0; }
};

/// Called on the sampling thread after every step. The tensors are shared with the sampler:
/// read or clone them, do not modify them in place. An exception thrown here ends the run and
/// propagates out of sample().
using StepCallback = std::function<void(const StepInfo&)>;

/// Step-by-step sampling, for callers that drive the loop themselves (trainers' validation,
/// hosts that interleave work). sample() is a loop over step().
///
/// The noise is taken as the latent at the schedule's first sigma (as the public pipelines do,
/// also when that sigma is 0.9998 rather than 1). The state is kept in the noise's working dtype
/// (float32, or float64 for float64 noise) on the noise's device. Not thread-safe.
class JointSampler {
 public:
  /// Validates settings (presence::core::ParamError) and the noise (presence::core::InputError:
  /// no tower, a tower with the wrong rank, differing batch sizes).
  JointSampler(const JointLatent& noise, const SamplerSettings& settings);
  ~JointSampler();
  JointSampler(const JointSampler&) = delete;
  JointSampler& operator=(const JointSampler&) = delete;

  const FlowSchedule& schedule() const { return schedule_; }
  const GuidancePlan& plan() const { return plan_; }
  const JointLatent& latent() const { return latent_; }
  int stepIndex() const { return index_; }
  bool done() const { return index_ >= schedule_.steps(); }

  /// Runs the passes of the next step and advances both towers. Checks `cancel` before each
  /// pass and throws presence::core::Cancelled when set (the state is then left before that
  /// step). Throws presence::core::Error when the denoiser returns a tower missing or with the
  /// wrong shape, and when called after done().
  StepInfo step(JointDenoiser& denoiser, const core::CancelToken* cancel = nullptr);

 private:
  FlowSchedule schedule_;
  GuidancePlan plan_;
  JointLatent latent_;
  std::unique_ptr<FlowSolver> videoSolver_;
  std::unique_ptr<FlowSolver> audioSolver_;
  int index_ = 0;
};

/// Samples a joint latent from `noise` (a defined member per tower to generate). Returns the
/// final latent (working dtype, see JointSampler). Calls `onStep` after every step and checks
/// `cancel` between steps and between passes, throwing presence::core::Cancelled. The same
/// inputs and a deterministic denoiser give the same bits.
JointLatent sample(JointDenoiser& denoiser, const JointLatent& noise, const SamplerSettings& settings,
                   const StepCallback& onStep = {}, const core::CancelToken* cancel = nullptr);

}  // namespace presence::models::sampling
