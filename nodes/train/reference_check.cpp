#include "reference_check.hpp"

#include <algorithm>
#include <cmath>
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

// `c` hue-turned (frames and, with `turnedReferences`, the face references), for the colour variant.
EncodedClip hueTurned(const EncodedClip& c, bool turnedReferences) {
  EncodedClip out = c;
  out.video = c.hueTurned->video;
  if (turnedReferences) {
    out.faces = c.hueTurned->faces;
    out.multiViewFaces = c.hueTurned->multiViewFaces;
  }
  out.hueTurned.reset();
  return out;
}

std::string fixed(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%.4f", v);
  return b;
}
// A level or an angle as short as it reads: 0.25, 1, 120.
std::string plain(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%g", v);
  return b;
}
std::string signedFixed(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%+.4f", v);
  return b;
}

double mean(const ReferenceSwap::PerLevel& v) {
  double sum = 0.0;
  for (double x : v) sum += x;
  return sum / static_cast<double>(v.size());
}

// The gain of `with` over `base` at every level.
ReferenceSwap::PerLevel gainsByLevel(const ReferenceSwap::PerLevel& with, const ReferenceSwap::PerLevel& base) {
  ReferenceSwap::PerLevel g{};
  for (std::size_t l = 0; l < g.size(); ++l) g[l] = with[l] - base[l];
  return g;
}

// "0.25: +0.0012, 0.5: ..., 1: ..." for the log.
std::string levelGains(const ReferenceSwap::PerLevel& with, const ReferenceSwap::PerLevel& base) {
  const ReferenceSwap::PerLevel g = gainsByLevel(with, base);
  std::string out;
  for (std::size_t l = 0; l < g.size(); ++l) {
    out += (l ? ", " : "") + plain(kReferenceCheckLevels[l]) + ": " + signedFixed(g[l]);
  }
  return out;
}

}  // namespace

ReferenceCheck checkReferences(const tr::Trainer& trainer, const std::vector<const EncodedClip*>& clips,
                               tr::Stage stage) {
  using PerLevel = ReferenceSwap::PerLevel;
  // The loss of the tower the kind of reference conditions, at every level.
  auto loss = [&](const EncodedClip& c, const Kind& k) {
    PerLevel out{};
    const std::vector<tr::TrainingBatch> batch{makeBatch({&c}, stage)};
    for (std::size_t l = 0; l < kReferenceCheckLevelCount; ++l) {
      const tr::ValidationLosses v = trainer.validationLosses(batch, kReferenceCheckLevels[l]);
      out[l] = k.faces ? v.video : v.audio;
    }
    return out;
  };
  auto add = [](PerLevel& sum, const PerLevel& v) {
    for (std::size_t l = 0; l < sum.size(); ++l) sum[l] += v[l];
  };
  auto divide = [](PerLevel& sum, int64_t n) {
    for (double& v : sum) v /= static_cast<double>(n);
  };
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
    swap.tower = k.faces ? "video" : "audio";
    for (std::size_t i = 0; i < pool.size(); ++i) {
      const EncodedClip& c = *pool[i];
      std::optional<PerLevel> ownLoss;  // computed once, only for clips with a variant to compare
      auto own = [&] { return ownLoss ? *ownLoss : *(ownLoss = loss(c, k)); };
      // The next clip (cyclically) with as many references of this kind from other identities.
      for (std::size_t step = 1; step < pool.size(); ++step) {
        const EncodedClip& d = *pool[(i + step) % pool.size()];
        if (count(d, k) != count(c, k) || !disjoint(identities(c, k), identities(d, k))) continue;
        if (k.faces && !sameFaceShapes(c, d, stage)) continue;
        add(swap.own, own());
        add(swap.otherIdentity, loss(withReferencesOf(c, d, k), k));
        ++swap.clips;
        break;
      }
      if (count(c, k) == 2 && identities(c, k)[0] != identities(c, k)[1]) {
        add(swap.ownTwo, own());
        add(swap.exchanged, loss(exchanged(c, k), k));
        ++swap.twoSubjectClips;
      }
      if (k.faces && c.hueTurned) {
        add(swap.recolouredOwn, loss(hueTurned(c, true), k));
        add(swap.recolouredOriginal, loss(hueTurned(c, false), k));
        swap.hueTurnDegrees = c.hueTurned->radians * 180.0 / M_PI;
        ++swap.recolouredClips;
      }
    }
    if (swap.clips > 0) {
      divide(swap.own, swap.clips);
      divide(swap.otherIdentity, swap.clips);
    }
    if (swap.twoSubjectClips > 0) {
      divide(swap.ownTwo, swap.twoSubjectClips);
      divide(swap.exchanged, swap.twoSubjectClips);
    }
    if (swap.recolouredClips > 0) {
      divide(swap.recolouredOwn, swap.recolouredClips);
      divide(swap.recolouredOriginal, swap.recolouredClips);
    }
    check.swaps.push_back(swap);
  }
  return check;
}

nlohmann::json ReferenceCheck::toJson() const {
  nlohmann::json out = {{"noise_levels", std::vector<double>(std::begin(kReferenceCheckLevels),
                                                             std::end(kReferenceCheckLevels))}};
  for (const auto& s : swaps) {
    nlohmann::json j = {{"tower_loss", s.tower},
                        {"clips", s.clips},
                        {"two_subject_clips", s.twoSubjectClips}};
    if (s.clips > 0) {
      j["own"] = mean(s.own);
      j["other_identity"] = mean(s.otherIdentity);
      j["identity_gain"] = mean(s.otherIdentity) - mean(s.own);
      j["own_by_level"] = s.own;
      j["other_identity_by_level"] = s.otherIdentity;
      j["identity_gain_by_level"] = gainsByLevel(s.otherIdentity, s.own);
    }
    if (s.twoSubjectClips > 0) {
      j["own_two_subject"] = mean(s.ownTwo);
      j["exchanged"] = mean(s.exchanged);
      j["binding_gain"] = mean(s.exchanged) - mean(s.ownTwo);
      j["binding_gain_by_level"] = gainsByLevel(s.exchanged, s.ownTwo);
    }
    if (s.recolouredClips > 0) {
      j["recoloured_clips"] = s.recolouredClips;
      j["hue_turn_degrees"] = s.hueTurnDegrees;
      j["recoloured_own"] = mean(s.recolouredOwn);
      j["recoloured_original_references"] = mean(s.recolouredOriginal);
      j["colour_gain"] = mean(s.recolouredOriginal) - mean(s.recolouredOwn);
      j["colour_gain_by_level"] = gainsByLevel(s.recolouredOriginal, s.recolouredOwn);
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
      line += s.tower + " loss with own references " + fixed(mean(s.own)) + ", another identity's " +
              fixed(mean(s.otherIdentity)) + " (" + signedFixed(mean(s.otherIdentity) - mean(s.own)) + ", " +
              std::to_string(s.clips) + " clips; by noise level " + levelGains(s.otherIdentity, s.own) + ")";
    }
    if (s.twoSubjectClips > 0)
      line += "; two subjects' exchanged " + fixed(mean(s.exchanged)) + " against " + fixed(mean(s.ownTwo)) + " (" +
              signedFixed(mean(s.exchanged) - mean(s.ownTwo)) + ", " + std::to_string(s.twoSubjectClips) + " clips)";
    if (s.recolouredClips > 0) {
      line += "; clips hue-turned by " + plain(s.hueTurnDegrees) + " degrees with their turned references " +
              fixed(mean(s.recolouredOwn)) + ", with the original ones " + fixed(mean(s.recolouredOriginal)) +
              " (colour gain " + signedFixed(mean(s.recolouredOriginal) - mean(s.recolouredOwn)) + ", " +
              std::to_string(s.recolouredClips) + " clips; by noise level " +
              levelGains(s.recolouredOriginal, s.recolouredOwn) + ")";
    }
    out.push_back(std::move(line));
  }
  return out;
}

}  // namespace presence::nodes::train
