#include "presence/models/generation/identity_set.hpp"

#include "presence/core/error.hpp"

namespace presence::models::generation {

int64_t IdentitySet::nextFreeSlot() const {
  for (int64_t slot = 0;; ++slot) {
    bool used = false;
    for (const auto& s : subjects) used = used || s.slot == slot;
    if (!used) return slot;
  }
}

IdentitySet IdentitySet::with(SubjectReference subject, int64_t maxSubjects) const {
  if (!subject.face.defined() && !subject.voice.defined())
    throw core::InputError(subject.name + " has neither a face nor a voice");
  if (static_cast<int64_t>(subjects.size()) >= maxSubjects)
    throw core::InputError("the model has " + std::to_string(maxSubjects) + " identity slots, all of them taken; " +
                           subject.name + " is one subject too many");
  if (subject.slot < 0 || subject.slot >= maxSubjects)
    throw core::InputError(subject.name + ": identity slot " + std::to_string(subject.slot) +
                           " is outside the model's " + std::to_string(maxSubjects) + " slots (0.." +
                           std::to_string(maxSubjects - 1) + ")");
  for (const auto& s : subjects) {
    if (s.slot == subject.slot)
      throw core::InputError(subject.name + ": identity slot " + std::to_string(subject.slot) + " is already taken by " +
                             s.name);
    if (s.face.defined() && subject.face.defined() &&
        (s.face.size(3) != subject.face.size(3) || s.face.size(4) != subject.face.size(4)))
      throw core::InputError(subject.name + ": its face reference is " + std::to_string(subject.face.size(4)) + "x" +
                             std::to_string(subject.face.size(3)) + " latent pixels but " + s.name + "'s is " +
                             std::to_string(s.face.size(4)) + "x" + std::to_string(s.face.size(3)) +
                             "; give every subject the same reference size");
  }
  IdentitySet out = *this;
  out.subjects.push_back(std::move(subject));
  return out;
}

int64_t IdentitySet::faceCount() const {
  int64_t n = 0;
  for (const auto& s : subjects) n += s.face.defined() ? 1 : 0;
  return n;
}

int64_t IdentitySet::voiceCount() const {
  int64_t n = 0;
  for (const auto& s : subjects) n += s.voice.defined() ? 1 : 0;
  return n;
}

dit::DitReferences IdentitySet::toDitReferences() const {
  dit::DitReferences refs;
  std::vector<at::Tensor> faces;
  for (const auto& s : subjects) {
    if (s.face.defined()) {
      faces.push_back(s.face);
      refs.faceSubjects.push_back(s.slot);
    }
    if (s.voice.defined()) {
      refs.voices.push_back(s.voice);
      refs.voiceSubjects.push_back(s.slot);
    }
  }
  if (!faces.empty()) refs.faces = at::cat(faces, 2);
  return refs;
}

}  // namespace presence::models::generation
