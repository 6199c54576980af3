#include "presence/models/dit/dit_denoiser.hpp"

namespace presence::models::dit {

DitDenoiser::DitDenoiser(std::shared_ptr<const DualTowerDit> model, DitConditioning conditioning,
                         DitForwardOptions baseOptions, bool useReferenceCache)
    : model_(std::move(model)),
      conditioning_(std::move(conditioning)),
      baseOptions_(std::move(baseOptions)),
      useCache_(useReferenceCache) {}

JointLatent DitDenoiser::velocity(const JointLatent& latent, const DenoiseStep& step, const GuidancePass& pass) {
  const bool negative = pass.kind == GuidanceKind::Unconditional;
  const DitText& text =
      negative && (conditioning_.negative.video.defined() || conditioning_.negative.audio.defined())
          ? conditioning_.negative
          : conditioning_.prompt;

  DitInputs inputs;
  inputs.video = latent.video;
  inputs.audio = latent.audio;
  const int64_t batch = latent.batchSize();
  const at::Device device = latent.hasVideo() ? latent.video.device() : latent.audio.device();
  inputs.t = at::full({batch}, step.timestep, at::TensorOptions().dtype(at::kDouble).device(device));
  inputs.videoText = text.video;
  inputs.videoTextLengths = text.videoLengths;
  inputs.audioText = text.audio;
  inputs.audioTextLengths = text.audioLengths;
  inputs.references = conditioning_.references;
  if (pass.dropVoiceReferences) {
    inputs.references.voices.clear();
    inputs.references.voiceLengths.clear();
    inputs.references.voiceSubjects.clear();
  }
  if (pass.dropFaceReferences) {
    inputs.references.faces = at::Tensor();
    inputs.references.faceMask = at::Tensor();
    inputs.references.faceSubjects.clear();
  }

  DitForwardOptions options = baseOptions_;
  options.skipLayers.insert(pass.skipLayers.begin(), pass.skipLayers.end());
  ++calls_;
  const DitOutputs out = model_->infer(inputs, options, useCache_ ? &cache_ : nullptr);
  return {out.video, out.audio};
}

}  // namespace presence::models::dit
