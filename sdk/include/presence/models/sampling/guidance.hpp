// Classifier-free guidance: which passes a sampling step runs and how their outputs combine.
#pragma once

#include <presence/models/interfaces/joint_denoiser.hpp>
#include <presence/models/sampling/sampler_settings.hpp>
#include <vector>

namespace presence::models::sampling {

/// The passes of every step of one run and the per-tower scales that combine them. Built from
/// settings (makeGuidancePlan), so the sampler itself has no guidance logic.
struct GuidancePlan {
  /// passes[0] is the Conditional pass; passes[1], when present, the Unconditional one.
  std::vector<GuidancePass> passes;
  double videoScale = 1.0;
  double audioScale = 1.0;

  bool guided() const { return passes.size() > 1; }
};

/// The plan for `settings` and a latent with the given towers: one Conditional pass (prompt, all
/// references, no skipped layers), plus an Unconditional pass (negative prompts, settings'
/// skipLayers, voices dropped when negativeDropsVoiceReferences, faces when
/// negativeDropsFaceReferences) unless every present tower's
/// scale is 1.
GuidancePlan makeGuidancePlan(const SamplerSettings& settings, bool hasVideo, bool hasAudio);

/// uncond + scale·(cond − uncond) (the public pipeline's formula, rounding aside); returns
/// `cond` itself when scale == 1 or `uncond` is undefined.
at::Tensor applyGuidance(const at::Tensor& cond, const at::Tensor& uncond, double scale);

/// Combines one output per pass of `plan` (same order) into the guided velocity.
JointLatent combineGuidance(const GuidancePlan& plan, const std::vector<JointLatent>& outputs);

}  // namespace presence::models::sampling
