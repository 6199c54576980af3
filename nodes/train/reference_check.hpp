// Does a trained model use its references? The loss of the reference's own tower (video for
// faces, audio for voices) with each validation clip's own face / voice references against the
// same clips given another identity's references, and (two-subject clips) the two subjects'
// references exchanged between their identity slots. Each variant is evaluated at the same fixed
// noise levels with the same noise, so the differences are paired and comparable between stages
// and runs: a positive gain means the model's predictions depend on whose reference it is given
// (identity following), a positive exchange gain that it ties each reference to its own subject
// (binding). The levels show where the reference matters: at 1 the model sees pure noise and
// has nothing but its conditioning. Validation clips that load_dataset also encoded hue-turned
// (frames and face references turned alike) give a colour variant: the turned clip with its turned
// references against the same clip with the original references. A positive colour gain means
// the model takes colours from its face references, not from who the identity is or what the
// caption says; one that ignores the references' colours scores about 0. The whole frame turns,
// so colour taken from a reference for the backdrop counts as well as for the face.
#pragma once

#include <array>
#include <cstdint>
#include <iterator>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "presence/models/training/trainer.hpp"
#include "training_dataset.hpp"

namespace presence::nodes::train {

/// The noise levels the check evaluates every variant at.
inline constexpr double kReferenceCheckLevels[] = {0.25, 0.5, 0.75, 1.0};
inline constexpr std::size_t kReferenceCheckLevelCount = std::size(kReferenceCheckLevels);

struct ReferenceSwap {
  using PerLevel = std::array<double, kReferenceCheckLevelCount>;
  std::string kind;  ///< "faces" or "voices"
  std::string tower;  ///< the tower whose loss is compared: "video" for faces, "audio" for voices
  int64_t clips = 0;           ///< clips with an other-identity variant
  PerLevel own{};              ///< their mean loss per level with their own references
  PerLevel otherIdentity{};    ///< ... with another identity's references
  int64_t twoSubjectClips = 0;  ///< clips with two subjects' references of this kind
  PerLevel ownTwo{};            ///< their mean loss per level with their own references
  PerLevel exchanged{};         ///< ... with the two subjects' references exchanged
  int64_t recolouredClips = 0;  ///< faces: clips with hue-turned pictures
  double hueTurnDegrees = 0.0;  ///< ... turned by this much
  PerLevel recolouredOwn{};     ///< the turned clips' mean loss per level with their turned references
  PerLevel recolouredOriginal{};  ///< ... with the original (unturned) references
};

struct ReferenceCheck {
  std::vector<ReferenceSwap> swaps;  ///< faces when the stage runs the video tower, voices for audio
  nlohmann::json toJson() const;
  /// One line per kind, for the log.
  std::vector<std::string> summary() const;
};

/// Runs the check on `clips` (the validation clips of the stage) with the trainer's current
/// weights and validation noise at each of kReferenceCheckLevels; each clip is its own batch.
ReferenceCheck checkReferences(const presence::models::training::Trainer& trainer,
                               const std::vector<const EncodedClip*>& clips, presence::models::training::Stage stage);

}  // namespace presence::nodes::train
