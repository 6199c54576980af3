// The settings of a joint audio-video sampling run, with the released pipeline's defaults.
#pragma once

#include <optional>
#include <presence/models/sampling/schedule.hpp>
#include <presence/models/sampling/solver.hpp>
#include <vector>

namespace presence::models::sampling {

/// Which sigmas a sampler visits.
enum class ScheduleConvention {
  /// What the public Ovi / Identity-as-Presence pipeline builds for the chosen solver:
  /// - UniPC: linspace(0.999, 0, N + 1)[:-1] (0.999 = the scheduler's float32 sigma_max), shifted,
  ///   float32 sigmas, timesteps int(σ·1000);
  /// - DPM++: linspace(1, 0, N + 1)[:-1], shifted, float32 sigmas, timesteps int(σ·1000);
  /// - Euler (diffusers FlowMatchEulerDiscreteScheduler(shift)): linspace(1, shift(0.001), N),
  ///   shifted (so its low end is shifted twice, as in diffusers), float32 sigmas, timesteps σ·1000.
  Released,
  /// linspace(1, 0, N + 1)[:-1], shifted, double sigmas, timesteps σ·1000, for every solver.
  Uniform,
};

/// Settings of sample(). Plain data; validate() reports the first bad field.
struct SamplerSettings {
  Solver solver = Solver::UniPC;
  int steps = 50;
  double shift = 5.0;
  ScheduleConvention schedule = ScheduleConvention::Released;
  /// Overrides how timesteps are rounded; empty: as the convention does.
  std::optional<TimestepRounding> timestepRounding;

  /// Classifier-free guidance scale per tower: pred = uncond + g·(cond − uncond). 1 disables it
  /// for that tower; when every present tower has 1, the negative pass is not run at all.
  double videoGuidance = 4.0;
  double audioGuidance = 3.0;
  /// Blocks whose cross-modal fusion the negative pass skips (skip-layer guidance).
  std::vector<int> skipLayers{11};
  /// The negative pass runs without voice references, as released.
  bool negativeDropsVoiceReferences = true;
  /// The negative pass also runs without face references (the released one keeps them).
  bool negativeDropsFaceReferences = false;

  /// Throws presence::core::ParamError naming the field ("steps", "shift", "video_guidance",
  /// "audio_guidance", "skip_layers") when a value is out of range.
  void validate() const;
};

/// The schedule spec the public pipeline uses for `solver` (see ScheduleConvention::Released).
ScheduleSpec releasedScheduleSpec(Solver solver, int steps, double shift);
/// The schedule spec `settings` selects.
ScheduleSpec scheduleSpec(const SamplerSettings& settings);
/// makeSchedule(scheduleSpec(settings)).
FlowSchedule makeSchedule(const SamplerSettings& settings);

}  // namespace presence::models::sampling
