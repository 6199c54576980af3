// The identity references of a generation (paper section 3.3): for each subject an identity slot
// and its face latent (one image, or several views packed into one near-square grid) and/or its
// voice latent, encoded by one generation model's VAEs.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <vector>

#include "presence/models/dit/dual_tower_dit.hpp"

namespace presence::models::generation {

struct SubjectReference {
  int64_t slot = 0;     ///< identity slot: the row of the shared identity-embedding table
  std::string name;     ///< for messages ("face of subject 2")
  at::Tensor face;      ///< [1, Cv, 1, h, w] normalised video latent, or undefined (voice only)
  at::Tensor voice;     ///< [1, Ls, Ca] audio latent, or undefined (face only)
  int64_t faceViews = 0;  ///< images packed into the face reference (1: one-shot)
  double voiceSeconds = 0.0;
};

/// An ordered set of subjects, each with its own slot. A plain value (tensors are shared, never
/// modified). Errors: core::InputError naming the subject and the rule.
struct IdentitySet {
  /// The encoders these latents came from (GenerationModel::encoderKey()); the sampler refuses
  /// references encoded by other encoders.
  std::string modelKey;
  std::vector<SubjectReference> subjects;

  /// The lowest slot no subject uses.
  int64_t nextFreeSlot() const;
  /// A copy with `subject` added. Throws when its slot is taken or >= maxSubjects, when it has
  /// neither face nor voice, or when its face latent's size differs from the others' (faces are
  /// stacked as latent frames of one grid).
  IdentitySet with(SubjectReference subject, int64_t maxSubjects) const;

  int64_t faceCount() const;
  int64_t voiceCount() const;
  /// The DiT's references: faces stacked in subject order with their slots, voices in subject
  /// order with theirs. Empty references for an empty set.
  dit::DitReferences toDitReferences() const;
};

}  // namespace presence::models::generation
