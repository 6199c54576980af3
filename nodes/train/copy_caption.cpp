#include "copy_caption.hpp"

#include <algorithm>
#include <vector>

#include "presence/core/error.hpp"

namespace presence::nodes::train {

namespace {

// Removes every occurrence of `phrase` and the separator that follows it.
void removePhrase(std::string& text, const std::string& phrase) {
  for (std::size_t at = text.find(phrase); at != std::string::npos; at = text.find(phrase, at)) {
    std::size_t end = at + phrase.size();
    if (text.compare(end, 2, ", ") == 0 || text.compare(end, 2, ". ") == 0)
      end += 2;
    else if (end < text.size() && (text[end] == ',' || text[end] == '.'))
      end += 1;
    text.erase(at, end - at);
  }
}

}  // namespace

std::string captionWithoutLooks(const presence::data::Clip& clip) {
  std::vector<std::string> phrases;
  auto need = [&](const std::string& phrase, const std::string& what) {
    if (phrase.empty()) return;
    if (clip.caption.text.find(phrase) == std::string::npos)
      throw core::InputError("clip '" + clip.id + "': its caption does not hold " + what + " '" + phrase +
                             "' word for word, so a recoloured copy's caption cannot leave it out");
    phrases.push_back(phrase);
  };
  need(clip.caption.scene, "the scene");
  for (const auto& s : clip.subjects) need(s.appearance, "subject " + std::to_string(s.slot + 1) + "'s appearance");
  // Longest first: one subject's appearance may begin with another's ("a person with black hair"
  // and "a person with black hair and a hat"), and two may read alike.
  std::stable_sort(phrases.begin(), phrases.end(),
                   [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  std::string text = clip.caption.text;
  for (const auto& p : phrases) removePhrase(text, p);
  return text;
}

}  // namespace presence::nodes::train
