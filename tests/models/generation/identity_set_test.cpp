// Identity sets: slots, limits, face sizes, and how the references reach the DiT.
#include "presence/models/generation/identity_set.hpp"

#include <gtest/gtest.h>

#include "presence/core/error.hpp"

namespace presence::models::generation {
namespace {

SubjectReference subject(int64_t slot, bool face, bool voice, int64_t faceSide = 4, double fill = 0.0) {
  SubjectReference s;
  s.slot = slot;
  s.name = "subject " + std::to_string(slot + 1);
  if (face) s.face = at::full({1, 4, 1, faceSide, faceSide}, fill + static_cast<double>(slot));
  if (voice) s.voice = at::full({1, 10 + slot, 20}, fill + static_cast<double>(slot));
  return s;
}

TEST(IdentitySet, SlotsAreUniqueAndBounded) {
  IdentitySet set;
  EXPECT_EQ(set.nextFreeSlot(), 0);
  set = set.with(subject(1, true, true), 4);
  EXPECT_EQ(set.nextFreeSlot(), 0);
  set = set.with(subject(0, false, true), 4);
  EXPECT_EQ(set.nextFreeSlot(), 2);
  EXPECT_THROW(set.with(subject(1, true, false), 4), core::InputError);  // taken
  EXPECT_THROW(set.with(subject(4, true, false), 4), core::InputError);  // outside the table
  EXPECT_THROW(set.with(subject(2, false, false), 4), core::InputError);  // nothing to encode
  EXPECT_THROW(set.with(subject(2, true, false, 6), 4), core::InputError);  // another face size
  set = set.with(subject(2, true, false), 4).with(subject(3, false, true), 4);
  try {
    set.with(subject(5, true, true), 8);  // a fifth subject for a 4-slot model passes only with 8 slots
  } catch (...) {
    FAIL() << "5 subjects fit 8 slots";
  }
  try {
    set.with(subject(5, true, true), 4);
    FAIL() << "a fifth subject was accepted by a 4-slot model";
  } catch (const core::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("4 identity slots"), std::string::npos) << e.what();
  }
}

TEST(IdentitySet, ReferencesKeepSubjectOrderAndSlots) {
  IdentitySet set;
  set = set.with(subject(2, true, true), 4).with(subject(0, false, true), 4).with(subject(1, true, false), 4);
  EXPECT_EQ(set.faceCount(), 2);
  EXPECT_EQ(set.voiceCount(), 2);
  const dit::DitReferences refs = set.toDitReferences();
  ASSERT_TRUE(refs.hasFaces());
  EXPECT_EQ(refs.faces.sizes(), (std::vector<int64_t>{1, 4, 2, 4, 4}));
  EXPECT_EQ(refs.faceSubjects, (std::vector<int64_t>{2, 1}));
  // Face k is latent frame k: subject in slot 2 first (value 2), then slot 1 (value 1).
  EXPECT_EQ(refs.faces.select(2, 0).max().item<float>(), 2.0f);
  EXPECT_EQ(refs.faces.select(2, 1).max().item<float>(), 1.0f);
  ASSERT_EQ(refs.voices.size(), 2u);
  EXPECT_EQ(refs.voiceSubjects, (std::vector<int64_t>{2, 0}));
  EXPECT_EQ(refs.voices[0].size(1), 12);
  EXPECT_EQ(refs.voices[1].size(1), 10);
  EXPECT_FALSE(IdentitySet{}.toDitReferences().hasFaces());
  EXPECT_FALSE(IdentitySet{}.toDitReferences().hasVoices());
}

}  // namespace
}  // namespace presence::models::generation
