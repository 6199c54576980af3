#include "reference_check.hpp"

#include <algorithm>
#include <cstdio>
#include <optional>
#include <set>

#include "stage_batches.hpp"

namespace presence::nodes::train {

namespace tr = presence::models::training;

namespace {

struct Kind {
  const char* name;
  bool faces;
};

std::size_t count(const EncodedClip& c, const Kind& k) { return k.faces ? c.faces.size() : c.voices.size(); }
const std::vector<std::string>& identities(const EncodedClip& c, const Kind& k) {
  return k.faces ? c.faceIdentities : c.voiceIdentities;
}

bool disjoint(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  const std::set<std::string> sa(a.begin(), a.end());
  return std::none_of(b.begin(), b.end(), [&](const std::string& x) { return sa.count(x) > 0; });
}

bool sameFaceShapes(const EncodedClip& a, const EncodedClip& b, tr::Stage stage) {
  const bool multi = stage == tr::Stage::Stage3MultiView;
  const auto &fa = a.facesFor(multi), &fb = b.facesFor(multi);
  if (fa.size() != fb.size()) return false;
  for (std::size_t i = 0; i < fa.size(); ++i)
    if (fa[i].sizes() != fb[i].sizes()) return false;
  return true;
}

// `c` with `donor`'s references of this kind (slots stay c's).
EncodedClip withReferencesOf(const EncodedClip& c, const EncodedClip& donor, const Kind& k) {
  EncodedClip out = c;
  if (k.faces) {
    out.faces = donor.faces;
    out.multiViewFaces = donor.multiViewFaces;
    out.faceIdentities = donor.faceIdentities;
  } else {
    out.voices = donor.voices;
    out.voiceIdentities = donor.voiceIdentities;
  }
  return out;
}

// `c` with its first two references of this kind exchanged between their slots.
EncodedClip exchanged(const EncodedClip& c, const Kind& k) {
  EncodedClip out = c;
  if (k.faces) {
    std::swap(out.faces[0], out.faces[1]);
    std::swap(out.multiViewFaces[0], out.multiViewFaces[1]);
    std::swap(out.faceIdentities[0], out.faceIdentities[1]);
  } else {
    std::swap(out.voices[0], out.voices[1]);
    std::swap(out.voiceIdentities[0], out.voiceIdentities[1]);
  }
  return out;
}

std::string fixed(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.4f", v);
  return b;
}
std::string signedFixed(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%+.4f", v);
  return b;
}

}  // namespace

ReferenceCheck checkReferences(const tr::Trainer& trainer, const std::vector<const EncodedClip*>& clips,
                               tr::Stage stage) {
  auto loss = [&](const EncodedClip& c) { return trainer.validationLoss({makeBatch({&c}, stage)}); };
  std::vector<Kind> kinds;
  if (tr::stageUsesVideo(stage)) kinds.push_back({"faces", true});
  if (tr::stageUsesAudio(stage)) kinds.push_back({"voices", false});

  ReferenceCheck check;
  for (const Kind& k : kinds) {
    std::vector<const EncodedClip*> pool;
    for (const auto* c : clips)
      if (count(*c, k) > 0) pool.push_back(c);
    ReferenceSwap swap;
    swap.kind = k.name;
    for (std::size_t i = 0; i < pool.size(); ++i) {
      const EncodedClip& c = *pool[i];
      std::optional<double> ownLoss;  // computed once, only for clips with a variant to compare
      auto own = [&] { return ownLoss ? *ownLoss : *(ownLoss = loss(c)); };
      // The next clip (cyclically) with as many references of this kind from other identities.
      for (std::size_t step = 1; step < pool.size(); ++step) {
        const EncodedClip& d = *pool[(i + step) % pool.size()];
        if (count(d, k) != count(c, k) || !disjoint(identities(c, k), identities(d, k))) continue;
        if (k.faces && !sameFaceShapes(c, d, stage)) continue;
        swap.own += own();
        swap.otherIdentity += loss(withReferencesOf(c, d, k));
        ++swap.clips;
        break;
      }
      if (count(c, k) == 2 && identities(c, k)[0] != identities(c, k)[1]) {
        swap.ownTwo += own();
        swap.exchanged += loss(exchanged(c, k));
        ++swap.twoSubjectClips;
      }
    }
    if (swap.clips > 0) {
      swap.own /= static_cast<double>(swap.clips);
      swap.otherIdentity /= static_cast<double>(swap.clips);
    }
    if (swap.twoSubjectClips > 0) {
      swap.ownTwo /= static_cast<double>(swap.twoSubjectClips);
      swap.exchanged /= static_cast<double>(swap.twoSubjectClips);
    }
    check.swaps.push_back(swap);
  }
  return check;
}

nlohmann::json ReferenceCheck::toJson() const {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& s : swaps) {
    nlohmann::json j = {{"clips", s.clips}, {"two_subject_clips", s.twoSubjectClips}};
    if (s.clips > 0) {
      j["own"] = s.own;
      j["other_identity"] = s.otherIdentity;
      j["identity_gain"] = s.otherIdentity - s.own;
    }
    if (s.twoSubjectClips > 0) {
      j["own_two_subject"] = s.ownTwo;
      j["exchanged"] = s.exchanged;
      j["binding_gain"] = s.exchanged - s.ownTwo;
    }
    out[s.kind] = j;
  }
  return out;
}

std::vector<std::string> ReferenceCheck::summary() const {
  std::vector<std::string> out;
  for (const auto& s : swaps) {
    std::string line = s.kind + ": ";
    if (s.clips == 0) {
      line += "no validation clip has a counterpart of another identity";
    } else {
      line += "validation loss with own references " + fixed(s.own) + ", another identity's " +
              fixed(s.otherIdentity) + " (" + signedFixed(s.otherIdentity - s.own) + ", " + std::to_string(s.clips) +
              " clips)";
    }
    if (s.twoSubjectClips > 0)
      line += "; two subjects' exchanged " + fixed(s.exchanged) + " against " + fixed(s.ownTwo) + " (" +
              signedFixed(s.exchanged - s.ownTwo) + ", " + std::to_string(s.twoSubjectClips) + " clips)";
    out.push_back(std::move(line));
  }
  return out;
}

}  // namespace presence::nodes::train
