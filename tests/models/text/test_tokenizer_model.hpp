// A small sentencepiece model trained once per test process on text written by the test, with
// the caption markers as user-defined symbols and the T5 special ids (pad 0, eos 1, unk 2).
#pragma once

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <system_error>

#include "presence/models/text/tokenizer.hpp"

namespace presence::models::text::testing {

inline const char* const kCaptionMarkers = "<S>,<E>,<AUDCAP>,<ENDAUDCAP>,Audio:";

/// Path of the trained model (vocabulary 200), trained on first use.
inline std::filesystem::path testTokenizerModel() {
  static std::once_flag once;
  static std::filesystem::path model;
  std::call_once(once, [] {
    const auto dir = std::filesystem::temp_directory_path() /
                     ("presence_text_tests_" + std::to_string(static_cast<long>(::getpid())));
    std::filesystem::create_directories(dir);
    // Removed when the test program exits.
    static const struct Cleanup {
      std::filesystem::path dir;
      ~Cleanup() {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
      }
    } cleanup{dir};
    const auto corpus = dir / "corpus.txt";
    {
      std::ofstream out(corpus);
      const char* lines[] = {
          "A woman with short red hair sits at a wooden desk and looks at the camera.",
          "The man in the blue jacket says <S>Hello, it is good to see you again.<E> and smiles.",
          "Two people talk in a quiet kitchen; the light comes from a window on the left.",
          "<S>We should leave before the rain starts.<E> Audio: calm female voice, light rain outside.",
          "<AUDCAP>A deep male voice speaks slowly over soft piano music.<ENDAUDCAP>",
          "The camera slowly pushes in on her face while she laughs.",
          "An old man reads a letter aloud in a large empty hall with echo.",
          "Audio: birds singing, distant traffic, a door closes.",
          "She turns to the window and whispers <S>not yet<E> to herself.",
          "The speaker stands in front of a green board and explains the plan to the class.",
      };
      for (int repeat = 0; repeat < 5; ++repeat) {
        for (const char* line : lines) {
          out << line << "\n";
        }
      }
      // Varied sentences so a vocabulary of 200 pieces can be filled.
      const char* subjects[] = {"A young girl", "The old fisherman", "Her brother",   "A tall doctor",
                                "The teacher",  "Our neighbour",     "A tired pilot", "The quiet singer"};
      const char* verbs[] = {"walks through", "describes",   "points toward",  "remembers",
                             "photographs",   "climbs over", "whispers about", "cleans"};
      const char* objects[] = {"the crowded market", "a frozen lake",        "the yellow bicycle",
                               "an empty theatre",   "the mountain village", "a broken umbrella",
                               "the orange garden",  "a noisy highway"};
      for (const char* s : subjects) {
        for (const char* v : verbs) {
          for (const char* o : objects) {
            out << s << " " << v << " " << o << ".\n";
          }
        }
      }
    }
    const auto prefix = dir / "spiece";
    const std::string args = "--input=" + corpus.string() + " --model_prefix=" + prefix.string() +
                             " --vocab_size=200 --model_type=unigram --character_coverage=1.0"
                             " --pad_id=0 --eos_id=1 --unk_id=2 --bos_id=-1"
                             " --pad_piece=<pad> --eos_piece=</s> --unk_piece=<unk>"
                             " --user_defined_symbols=" +
                             std::string(kCaptionMarkers) + " --minloglevel=2";
    trainSentencePieceModel(args);
    model = prefix.string() + ".model";
  });
  return model;
}

}  // namespace presence::models::text::testing
