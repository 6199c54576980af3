// Structured captions: anchors bound to slots, speech in turns, both syntaxes, and the rules.
#include "presence/models/generation/structured_caption.hpp"

#include <gtest/gtest.h>

#include "presence/core/error.hpp"

namespace presence::models::generation {
namespace {

StructuredCaption twoSpeakers() {
  StructuredCaption c;
  c.scene = "two people talk in an office";
  c.camera = "static medium shot";
  c.ambience = "a quiet hum";
  SubjectCaption a;
  a.slot = 0;
  a.appearance = "a woman with red hair";
  a.actions = "smiles";
  a.voice = "a bright voice";
  a.speech = {"Hello.", "How are you?"};
  SubjectCaption b;
  b.slot = 2;
  b.anchor = "The cameraman";
  b.speech = {"Fine, thanks."};
  c.subjects = {a, b};
  return c;
}

TEST(StructuredCaption, AnchorsCarryAppearanceAndSpeechInTurns) {
  const std::string text = composeCaption(twoSpeakers(), CaptionSyntax::AudioSuffix);
  EXPECT_EQ(text,
            "Two people talk in an office. Static medium shot. Subject 1, a woman with red hair, smiles. "
            "Subject 1 says: <S>Hello.<E> The cameraman says: <S>Fine, thanks.<E> Subject 1 says: <S>How are you?<E> "
            "Audio: Subject 1 speaks with a bright voice. Ambience: a quiet hum.");
}

// The place is written the way synth_dataset's random_sides captions write it, so a model
// trained on them reads it the same at generation.
TEST(StructuredCaption, PlacesComeBeforeTheAppearance) {
  StructuredCaption c = twoSpeakers();
  c.subjects[0].position = "right";
  c.subjects[1].position = "left";
  const std::string text = composeCaption(c, CaptionSyntax::AudioSuffix);
  EXPECT_NE(text.find("Subject 1, on the right, a woman with red hair, smiles. The cameraman, on the left. "),
            std::string::npos)
      << text;
  c.subjects[0].appearance.clear();
  c.subjects[1].position = "center";
  const std::string bare = composeCaption(c, CaptionSyntax::AudioSuffix);
  EXPECT_NE(bare.find("Subject 1, on the right, smiles. The cameraman, in the center. "), std::string::npos)
      << bare;
  c.subjects[0].position = "above";
  try {
    c.validate();
    FAIL() << "an unknown position was accepted";
  } catch (const core::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("position of Subject 1 is 'above'"), std::string::npos) << e.what();
  }
}

TEST(StructuredCaption, GroupsLinesWhenNotInTurnsAndWritesAudcap) {
  StructuredCaption c = twoSpeakers();
  c.speechInTurns = false;
  const std::string text = composeCaption(c, CaptionSyntax::AudCap);
  const auto hello = text.find("<S>Hello.<E>"), how = text.find("<S>How are you?<E>"), fine = text.find("<S>Fine");
  ASSERT_NE(fine, std::string::npos);
  EXPECT_LT(hello, how);
  EXPECT_LT(how, fine);
  EXPECT_NE(text.find("<AUDCAP>Subject 1 speaks with a bright voice. Ambience: a quiet hum.<ENDAUDCAP>"),
            std::string::npos);
  EXPECT_EQ(text.find("Audio:"), std::string::npos);
}

TEST(StructuredCaption, AnchorDefaultsToTheSlot) {
  SubjectCaption s;
  s.slot = 3;
  EXPECT_EQ(s.anchorText(), "Subject 4");
  s.anchor = "  Alice ";
  EXPECT_EQ(s.anchorText(), "Alice");
}

TEST(StructuredCaption, RefusesAmbiguousOrEmptyCaptions) {
  EXPECT_THROW(composeCaption(StructuredCaption{}, CaptionSyntax::AudioSuffix), core::InputError);
  StructuredCaption c = twoSpeakers();
  c.subjects[1].slot = 0;
  EXPECT_THROW(c.validate(), core::InputError);  // two subjects in one slot
  c = twoSpeakers();
  c.subjects[1].anchor = "Subject 1";
  EXPECT_THROW(c.validate(), core::InputError);  // two subjects with one anchor
  c = twoSpeakers();
  c.subjects[0].speech = {"<S>hi<E>"};
  try {
    c.validate();
    FAIL() << "markers in speech accepted";
  } catch (const core::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("Subject 1"), std::string::npos) << e.what();
  }
  EXPECT_EQ(parseCaptionSyntax("audcap"), CaptionSyntax::AudCap);
  EXPECT_THROW(parseCaptionSyntax("ovi"), core::InputError);
}

}  // namespace
}  // namespace presence::models::generation
