// Does a trained model use its references? Validation loss with each clip's own face / voice
// references against the same clips given another identity's references, and (two-subject
// clips) the two subjects' references exchanged between their identity slots. The noise and
// noise levels are the same in every variant, so the differences are paired: a positive gain
// means the model's predictions depend on whose reference it is given (identity following), and
// a positive exchange gain that it ties each reference to its own subject (binding).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "presence/models/training/trainer.hpp"
#include "training_dataset.hpp"

namespace presence::nodes::train {

struct ReferenceSwap {
  std::string kind;  ///< "faces" or "voices"
  int64_t clips = 0;           ///< clips with an other-identity variant
  double own = 0.0;            ///< their mean loss with their own references
  double otherIdentity = 0.0;  ///< ... with another identity's references
  int64_t twoSubjectClips = 0;  ///< clips with two subjects' references of this kind
  double ownTwo = 0.0;          ///< their mean loss with their own references
  double exchanged = 0.0;       ///< ... with the two subjects' references exchanged
};

struct ReferenceCheck {
  std::vector<ReferenceSwap> swaps;  ///< faces when the stage runs the video tower, voices for audio
  nlohmann::json toJson() const;
  /// One line per kind, for the log.
  std::vector<std::string> summary() const;
};

/// Runs the check on `clips` (the validation clips of the stage) with the trainer's current
/// weights and validation noise; each clip is its own batch.
ReferenceCheck checkReferences(const presence::models::training::Trainer& trainer,
                               const std::vector<const EncodedClip*>& clips, presence::models::training::Stage stage);

}  // namespace presence::nodes::train
