#include <cmath>
#include <presence/core/error.hpp>
#include <presence/models/sampling/sampler_settings.hpp>
#include <string>

namespace presence::models::sampling {

namespace {

constexpr int kMaxSteps = 10000;

// The public schedulers' sigma_max: 1 − 1/1000 held in a float32 tensor.
double releasedUniPCSigmaMax() { return static_cast<double>(static_cast<float>(1.0 - 1.0 / 1000.0)); }

// diffusers' FlowMatchEulerDiscreteScheduler.sigma_min: its training sigma 1/1000, shifted in float32.
double releasedEulerSigmaMin(double shift) {
  const float s = 1.0f / 1000.0f;
  const float f = static_cast<float>(shift);
  const float shifted = (f * s) / (1.0f + (f - 1.0f) * s);
  return static_cast<double>(shifted);
}

}  // namespace

void SamplerSettings::validate() const {
  if (steps < 1 || steps > kMaxSteps)
    throw core::ParamError(
        "steps", "steps must be in 1.." + std::to_string(kMaxSteps) + ", got " + std::to_string(steps));
  if (!std::isfinite(shift) || shift <= 0.0)
    throw core::ParamError("shift", "shift must be a positive number, got " + std::to_string(shift));
  if (!std::isfinite(videoGuidance))
    throw core::ParamError("video_guidance", "video guidance must be a finite number");
  if (!std::isfinite(audioGuidance))
    throw core::ParamError("audio_guidance", "audio guidance must be a finite number");
  for (int layer : skipLayers) {
    if (layer < 0)
      throw core::ParamError("skip_layers", "skip-layer indices must be >= 0, got " + std::to_string(layer));
  }
}

ScheduleSpec releasedScheduleSpec(Solver solver, int steps, double shift) {
  ScheduleSpec spec;
  spec.steps = steps;
  spec.shift = shift;
  spec.float32Sigmas = true;
  switch (solver) {
    case Solver::UniPC:
      spec.spacing = SigmaSpacing::DropLast;
      spec.sigmaStart = releasedUniPCSigmaMax();
      spec.rounding = TimestepRounding::Truncate;
      break;
    case Solver::DpmPlusPlus:
      spec.spacing = SigmaSpacing::DropLast;
      spec.sigmaStart = 1.0;
      spec.rounding = TimestepRounding::Truncate;
      break;
    case Solver::Euler:
      spec.spacing = SigmaSpacing::Inclusive;
      spec.sigmaStart = 1.0;  // shift(1) = 1
      spec.sigmaEnd = releasedEulerSigmaMin(shift);
      spec.rounding = TimestepRounding::Exact;
      break;
  }
  return spec;
}

ScheduleSpec scheduleSpec(const SamplerSettings& settings) {
  ScheduleSpec spec;
  if (settings.schedule == ScheduleConvention::Released) {
    spec = releasedScheduleSpec(settings.solver, settings.steps, settings.shift);
  } else {
    spec.steps = settings.steps;
    spec.shift = settings.shift;
    spec.spacing = SigmaSpacing::DropLast;
    spec.sigmaStart = 1.0;
    spec.rounding = TimestepRounding::Exact;
    spec.float32Sigmas = false;
  }
  if (settings.timestepRounding) spec.rounding = *settings.timestepRounding;
  return spec;
}

FlowSchedule makeSchedule(const SamplerSettings& settings) { return makeSchedule(scheduleSpec(settings)); }

}  // namespace presence::models::sampling
