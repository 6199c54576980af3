// The model the flow-matching samplers call: a joint audio-video velocity predictor.
#pragma once

#include <presence/models/interfaces/joint_latent.hpp>
#include <vector>

namespace presence::models {

/// Which of the guidance passes of one sampling step is being asked for.
enum class GuidanceKind {
  Conditional,    ///< the positive pass: the prompt, all face and voice references
  Unconditional,  ///< the negative pass of classifier-free guidance: the negative prompts
};

/// Describes one forward pass of a sampling step. The sampler builds these from its settings
/// (sampling/guidance.hpp); the denoiser maps them onto its conditioning.
struct GuidancePass {
  GuidanceKind kind = GuidanceKind::Conditional;
  /// Skip-layer guidance: indices of the blocks this pass skips entirely, in both towers and for
  /// the reference tokens too (the released pipeline's negative pass skips fusion block 11:
  /// `if i == slg_layer: continue`). Empty: skip nothing.
  std::vector<int> skipLayers;
  /// Run without the voice-reference tokens (the released negative pass drops the voices and
  /// keeps the faces).
  bool dropVoiceReferences = false;
  /// Run without the face-reference tokens (not released: a negative pass without faces makes
  /// the video tower's guidance push towards the faces as well as towards the prompt).
  bool dropFaceReferences = false;

  bool operator==(const GuidancePass&) const = default;
};

/// Where in the schedule a velocity is asked for.
struct DenoiseStep {
  /// Model time on the 0..1000 scale, the same for both towers. Equals sigma·1000 unless the
  /// schedule rounds it (the released UniPC and DPM++ pipelines truncate it to an integer).
  double timestep = 1000.0;
  /// Noise level of the input latent in 0..1: x = (1−sigma)·x0 + sigma·noise.
  double sigma = 1.0;
  int index = 0;  ///< step index, 0-based
  int count = 1;  ///< number of steps in this sampling run
};

/// A joint audio-video velocity model: given the noisy latent at noise level sigma it predicts
/// the flow-matching velocity v = noise − x0 for each tower present.
///
/// Contract:
/// - `velocity` returns a JointLatent whose defined members are exactly those defined in
///   `latent`, each with the shape of its input. Dtype and device may differ from the input
///   (e.g. bf16 on CUDA); the sampler converts.
/// - Tensors passed in are owned by the caller and must not be modified in place.
/// - Within one sampling run the sampler calls it once per pass per step, from the thread that
///   called sample(); implementations may cache step-independent work (e.g. reference-token keys
///   and values) between calls, keyed on DenoiseStep::index == 0 marking a new run.
/// - Errors: throw presence::core::Error (or a subclass) with a message for a person; the
///   sampler lets it propagate.
class JointDenoiser {
 public:
  virtual ~JointDenoiser() = default;

  virtual JointLatent velocity(const JointLatent& latent, const DenoiseStep& step,
                               const GuidancePass& pass) = 0;
};

}  // namespace presence::models
