// The structured caption of Identity-as-Presence (paper section 3.2, item 2): camera, scene,
// ambience and sound effects, and per subject an anchor bound to its identity slot that carries
// the subject's appearance, actions and speech. No LibTorch.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace presence::models::generation {

/// How a model expects speech and the audio description to be written.
enum class CaptionSyntax {
  /// Ovi 960 / Identity-as-Presence: speech as `<S>text<E>`, the audio description appended as
  /// `Audio: ...`.
  AudioSuffix,
  /// Ovi 720: speech as `<S>text<E>`, the audio description as `<AUDCAP>...<ENDAUDCAP>`.
  AudCap,
};

std::string_view toString(CaptionSyntax syntax);
/// "audio_suffix" or "audcap"; throws core::InputError otherwise.
CaptionSyntax parseCaptionSyntax(std::string_view text);

/// One subject: its anchor binds appearance and speech to identity slot `slot` (the slot its
/// face and voice references were given by the identity encoder).
struct SubjectCaption {
  int64_t slot = 0;
  /// The unique identifier the caption uses for this subject; empty: "Subject <slot + 1>".
  std::string anchor;
  /// Where the subject stands: "left", "right", "center", or empty (the caption does not say).
  /// Models trained on captions that state places (synth_dataset's random_sides) put each face
  /// where its anchor's place says.
  std::string position;
  std::string appearance;  ///< "a woman with short red hair and green eyes"
  std::string actions;     ///< "smiles and nods"
  std::string voice;       ///< voice description for the audio caption ("a warm low voice")
  std::vector<std::string> speech;  ///< lines this subject says, in order

  std::string anchorText() const;
};

struct StructuredCaption {
  std::string scene;
  std::string camera;
  std::string ambience;
  std::string soundEffects;
  std::vector<SubjectCaption> subjects;
  /// Several speaking subjects take turns (line 1 of each subject in subject order, then line 2,
  /// ...); off: each subject's lines are written together.
  bool speechInTurns = true;

  /// Throws core::InputError naming the problem: two subjects with one slot or one anchor, a
  /// negative slot, an unknown position, speech containing `<S>`/`<E>` markers itself, nothing
  /// to say at all.
  void validate() const;
};

/// The caption text in `syntax`: the scene and camera sentences, one sentence per subject
/// ("Subject 1, on the left, a woman ..., smiles."; the place only when given), the speech turns
/// ("Subject 1 says: <S>...<E>"), then the audio description (voices by anchor, ambience, sound effects). Deterministic.
std::string composeCaption(const StructuredCaption& caption, CaptionSyntax syntax);

/// The released pipeline's default negative prompts (MODEL.md): the negative pass gives the
/// video tower the first and the audio tower the second.
inline constexpr std::string_view kDefaultVideoNegative = "jitter, bad hands, blur, distortion";
inline constexpr std::string_view kDefaultAudioNegative = "robotic, muffled, echo, distorted";

}  // namespace presence::models::generation
