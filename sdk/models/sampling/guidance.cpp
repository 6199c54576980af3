#include <presence/core/error.hpp>
#include <presence/models/sampling/guidance.hpp>

namespace presence::models::sampling {

GuidancePlan makeGuidancePlan(const SamplerSettings& settings, bool hasVideo, bool hasAudio) {
  GuidancePlan plan;
  plan.videoScale = hasVideo ? settings.videoGuidance : 1.0;
  plan.audioScale = hasAudio ? settings.audioGuidance : 1.0;

  GuidancePass conditional;
  conditional.kind = GuidanceKind::Conditional;
  plan.passes.push_back(conditional);

  if (plan.videoScale != 1.0 || plan.audioScale != 1.0) {
    GuidancePass negative;
    negative.kind = GuidanceKind::Unconditional;
    negative.skipLayers = settings.skipLayers;
    negative.dropVoiceReferences = settings.negativeDropsVoiceReferences;
    negative.dropFaceReferences = settings.negativeDropsFaceReferences;
    plan.passes.push_back(negative);
  }
  return plan;
}

at::Tensor applyGuidance(const at::Tensor& cond, const at::Tensor& uncond, double scale) {
  if (!uncond.defined() || scale == 1.0) return cond;
  return at::add(uncond, cond - uncond, scale);
}

JointLatent combineGuidance(const GuidancePlan& plan, const std::vector<JointLatent>& outputs) {
  if (outputs.size() != plan.passes.size()) {
    throw core::Error("guidance: " + std::to_string(outputs.size()) + " outputs for " +
                      std::to_string(plan.passes.size()) + " passes");
  }
  if (!plan.guided()) return outputs.front();
  const JointLatent& cond = outputs[0];
  const JointLatent& uncond = outputs[1];
  JointLatent guided;
  if (cond.hasVideo()) guided.video = applyGuidance(cond.video, uncond.video, plan.videoScale);
  if (cond.hasAudio()) guided.audio = applyGuidance(cond.audio, uncond.audio, plan.audioScale);
  return guided;
}

}  // namespace presence::models::sampling
