#include "copy_caption.hpp"

#include "presence/core/error.hpp"

namespace presence::nodes::train {

namespace {

// Removes every occurrence of `phrase` and the separator that follows it; false when there is none.
bool removePhrase(std::string& text, const std::string& phrase) {
  bool found = false;
  for (std::size_t at = text.find(phrase); at != std::string::npos; at = text.find(phrase, at)) {
    found = true;
    std::size_t end = at + phrase.size();
    if (text.compare(end, 2, ", ") == 0 || text.compare(end, 2, ". ") == 0)
      end += 2;
    else if (end < text.size() && (text[end] == ',' || text[end] == '.'))
      end += 1;
    text.erase(at, end - at);
  }
  return found;
}

}  // namespace

std::string captionWithoutLooks(const presence::data::Clip& clip) {
  std::string text = clip.caption.text;
  auto cut = [&](const std::string& phrase, const std::string& what) {
    if (!phrase.empty() && !removePhrase(text, phrase))
      throw core::InputError("clip '" + clip.id + "': its caption does not hold " + what + " '" + phrase +
                             "' word for word, so a recoloured copy's caption cannot leave it out");
  };
  cut(clip.caption.scene, "the scene");
  for (const auto& s : clip.subjects) cut(s.appearance, "subject " + std::to_string(s.slot + 1) + "'s appearance");
  return text;
}

}  // namespace presence::nodes::train
