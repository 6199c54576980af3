#include "presence/models/generation/structured_caption.hpp"

#include <algorithm>
#include <set>

#include "presence/core/error.hpp"

namespace presence::models::generation {
namespace {

std::string trimmed(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) return {};
  const auto last = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(first, last - first + 1));
}

// A clause as a sentence: trimmed, first letter capitalised, ending in a full stop.
std::string sentence(std::string_view text) {
  std::string s = trimmed(text);
  if (s.empty()) return s;
  if (s[0] >= 'a' && s[0] <= 'z') s[0] = static_cast<char>(s[0] - 'a' + 'A');
  const char last = s.back();
  if (last != '.' && last != '!' && last != '?') s += '.';
  return s;
}

void append(std::string& out, const std::string& s) {
  if (s.empty()) return;
  if (!out.empty()) out += ' ';
  out += s;
}

}  // namespace

std::string_view toString(CaptionSyntax syntax) {
  return syntax == CaptionSyntax::AudCap ? "audcap" : "audio_suffix";
}

CaptionSyntax parseCaptionSyntax(std::string_view text) {
  if (text == "audio_suffix") return CaptionSyntax::AudioSuffix;
  if (text == "audcap") return CaptionSyntax::AudCap;
  throw core::InputError("unknown caption syntax '" + std::string(text) + "' (known: audio_suffix, audcap)");
}

std::string SubjectCaption::anchorText() const {
  const std::string a = trimmed(anchor);
  return a.empty() ? "Subject " + std::to_string(slot + 1) : a;
}

void StructuredCaption::validate() const {
  std::set<int64_t> slots;
  std::set<std::string> anchors;
  bool anything = !trimmed(scene).empty() || !trimmed(camera).empty() || !trimmed(ambience).empty() ||
                  !trimmed(soundEffects).empty();
  for (const auto& s : subjects) {
    if (s.slot < 0) throw core::InputError("subject slot " + std::to_string(s.slot) + " is negative");
    if (!slots.insert(s.slot).second)
      throw core::InputError("two subjects use identity slot " + std::to_string(s.slot));
    if (!anchors.insert(s.anchorText()).second)
      throw core::InputError("two subjects use the anchor '" + s.anchorText() + "'");
    if (!s.position.empty() && s.position != "left" && s.position != "right" && s.position != "center")
      throw core::InputError("position of " + s.anchorText() + " is '" + s.position +
                             "' (known: left, right, center, or empty: unsaid)");
    for (const auto& line : s.speech)
      if (line.find("<S>") != std::string::npos || line.find("<E>") != std::string::npos)
        throw core::InputError("speech of " + s.anchorText() +
                               " contains a <S> or <E> marker; give the words only, the caption adds them");
    anything = true;
  }
  if (!anything) throw core::InputError("the caption is empty: give a scene, a camera, a sound or a subject");
}

std::string composeCaption(const StructuredCaption& caption, CaptionSyntax syntax) {
  caption.validate();
  std::string text;
  append(text, sentence(caption.scene));
  append(text, sentence(caption.camera));

  // Subject anchors: each identifier carries its appearance and actions.
  for (const auto& s : caption.subjects) {
    const std::string looks = trimmed(s.appearance), does = trimmed(s.actions);
    // The place comes first, as synth_dataset writes it: "Subject 1, on the left, a person ...".
    const std::string place = s.position.empty()      ? std::string()
                              : s.position == "center" ? std::string("in the center")
                                                       : "on the " + s.position;
    std::string who = s.anchorText();
    for (const std::string* part : {&place, &looks})
      if (!part->empty()) who += ", " + *part;
    const bool described = !place.empty() || !looks.empty();
    if (!does.empty()) {
      append(text, sentence(who + (described ? ", " : " ") + does));
    } else if (described) {
      append(text, sentence(who));
    }
  }

  // Speech, each line bound to its speaker's anchor.
  auto say = [&](const SubjectCaption& s, const std::string& line) {
    const std::string words = trimmed(line);
    if (!words.empty()) append(text, s.anchorText() + " says: <S>" + words + "<E>");
  };
  if (caption.speechInTurns) {
    size_t turns = 0;
    for (const auto& s : caption.subjects) turns = std::max(turns, s.speech.size());
    for (size_t i = 0; i < turns; ++i)
      for (const auto& s : caption.subjects)
        if (i < s.speech.size()) say(s, s.speech[i]);
  } else {
    for (const auto& s : caption.subjects)
      for (const auto& line : s.speech) say(s, line);
  }

  // The audio description: voices by anchor, then ambience and effects.
  std::string audio;
  for (const auto& s : caption.subjects)
    if (!trimmed(s.voice).empty()) append(audio, sentence(s.anchorText() + " speaks with " + trimmed(s.voice)));
  if (!trimmed(caption.ambience).empty()) append(audio, sentence("Ambience: " + trimmed(caption.ambience)));
  if (!trimmed(caption.soundEffects).empty())
    append(audio, sentence("Sound effects: " + trimmed(caption.soundEffects)));
  if (!audio.empty()) {
    if (syntax == CaptionSyntax::AudCap)
      append(text, "<AUDCAP>" + audio + "<ENDAUDCAP>");
    else
      append(text, "Audio: " + audio);
  }
  return text;
}

}  // namespace presence::models::generation
