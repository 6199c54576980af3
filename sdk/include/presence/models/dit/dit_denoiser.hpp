// The DiT as the samplers see it: a JointDenoiser that maps each guidance pass onto the model's
// conditioning and keeps one reference key/value cache for the whole generation.
//
// Positive pass: the prompt's text, every face and voice reference. Negative pass: the negative
// prompts' text, the face references, and no voice references when the pass says so (the
// released pipeline), with the pass's skipped layers. The reference cache makes the identity
// references cost their projections once per generation instead of once per step and pass.
//
// Ownership: shares the model; holds the conditioning tensors. Threading: one generation at a
// time (the cache is not thread-safe). Errors: what DualTowerDit::forward throws.
#pragma once

#include <memory>

#include "presence/models/dit/dual_tower_dit.hpp"
#include "presence/models/interfaces/joint_denoiser.hpp"

namespace presence::models::dit {

/// Text for one guidance pass, per tower ([B, Lt, textDim] and each item's token count).
struct DitText {
  at::Tensor video;
  std::vector<int64_t> videoLengths;
  at::Tensor audio;
  std::vector<int64_t> audioLengths;
};

struct DitConditioning {
  DitText prompt;
  /// Used by the unconditional pass; when undefined the negative pass falls back to `prompt`
  /// (guidance then only comes from the dropped voices and skipped layers).
  DitText negative;
  DitReferences references;
};

class DitDenoiser : public JointDenoiser {
 public:
  DitDenoiser(std::shared_ptr<const DualTowerDit> model, DitConditioning conditioning,
              DitForwardOptions baseOptions = {}, bool useReferenceCache = true);

  JointLatent velocity(const JointLatent& latent, const DenoiseStep& step, const GuidancePass& pass) override;

  const ReferenceCache& referenceCache() const { return cache_; }
  /// Forward passes run so far.
  int64_t calls() const { return calls_; }

 private:
  std::shared_ptr<const DualTowerDit> model_;
  DitConditioning conditioning_;
  DitForwardOptions baseOptions_;
  bool useCache_;
  ReferenceCache cache_;
  int64_t calls_ = 0;
};

}  // namespace presence::models::dit
