#include "presence/data/dataset.hpp"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <type_traits>

#include "presence/core/error.hpp"

namespace presence::data {
namespace fs = std::filesystem;
using core::InputError;
using nlohmann::json;

namespace {

std::string typeName(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "null";
    case json::value_t::boolean:
      return "a boolean";
    case json::value_t::string:
      return "a string";
    case json::value_t::array:
      return "an array";
    case json::value_t::object:
      return "an object";
    default:
      return "a number";
  }
}

// Where a value came from, so every error names the file, the line and the field path.
struct Where {
  std::string file;
  int line = 0;
  std::string field;

  [[noreturn]] void fail(const std::string& what) const {
    std::string msg = file;
    if (line > 0) msg += ":" + std::to_string(line);
    if (!field.empty()) msg += ": field '" + field + "'";
    throw InputError(msg + ": " + what);
  }
  Where at(std::string_view key) const {
    return {file, line, field.empty() ? std::string(key) : field + "." + std::string(key)};
  }
  Where at(std::size_t i) const { return {file, line, field + "[" + std::to_string(i) + "]"}; }
};

const json& member(const json& obj, std::string_view key, const Where& w) {
  auto it = obj.find(key);
  if (it == obj.end()) w.at(key).fail("missing");
  return *it;
}

std::string getString(const json& obj, std::string_view key, const Where& w, bool required = true) {
  auto it = obj.find(key);
  if (it == obj.end() || (!required && it->is_null())) {
    if (required) w.at(key).fail("missing");
    return {};
  }
  if (!it->is_string()) w.at(key).fail("expected a string, got " + typeName(*it));
  return it->get<std::string>();
}

// A number field (an integer one when T is int); `def` when absent, else it is required.
template <class T>
T getNumeric(const json& obj, std::string_view key, const Where& w, std::optional<T> def) {
  constexpr bool integer = std::is_integral_v<T>;
  auto it = obj.find(key);
  if (it == obj.end()) {
    if (def) return *def;
    w.at(key).fail("missing");
  }
  if (integer ? !it->is_number_integer() : !it->is_number())
    w.at(key).fail(std::string("expected ") + (integer ? "an integer" : "a number") + ", got " +
                   typeName(*it));
  const T v = it->get<T>();
  if constexpr (!integer)
    if (!std::isfinite(v)) w.at(key).fail("not a finite number");
  return v;
}
double getNumber(const json& obj, std::string_view key, const Where& w, std::optional<double> def = {}) {
  return getNumeric<double>(obj, key, w, def);
}
int getInt(const json& obj, std::string_view key, const Where& w, std::optional<int> def = {}) {
  return getNumeric<int>(obj, key, w, def);
}

const json& getArray(const json& obj, std::string_view key, const Where& w) {
  const json& v = member(obj, key, w);
  if (!v.is_array()) w.at(key).fail("expected an array, got " + typeName(v));
  return v;
}

const json& getObject(const json& obj, std::string_view key, const Where& w) {
  const json& v = member(obj, key, w);
  if (!v.is_object()) w.at(key).fail("expected an object, got " + typeName(v));
  return v;
}

// A relative path inside the dataset that must exist.
fs::path mediaPath(const fs::path& root, const json& obj, std::string_view key, const Where& w) {
  const std::string rel = getString(obj, key, w);
  const fs::path p(rel);
  if (rel.empty() || p.is_absolute() || std::find(p.begin(), p.end(), "..") != p.end())
    w.at(key).fail("'" + rel + "' must be a relative path inside the dataset folder");
  const fs::path full = root / p;
  if (!fs::is_regular_file(full)) w.at(key).fail("media file '" + rel + "' does not exist");
  return full;
}

std::optional<fs::path> optionalMedia(const fs::path& root, const json& obj, std::string_view key,
                                      const Where& w) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return std::nullopt;
  return mediaPath(root, obj, key, w);
}

// Reads a JSON Lines file; blank lines are skipped, line numbers are kept.
std::vector<std::pair<int, json>> readJsonLines(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw InputError(path.string() + ": cannot open (is this a dataset folder?)");
  std::vector<std::pair<int, json>> out;
  int n = 0;
  for (std::string line; std::getline(in, line);) {
    ++n;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    json v = json::parse(line, nullptr, false);
    if (v.is_discarded()) throw InputError(path.string() + ":" + std::to_string(n) + ": not valid JSON");
    if (!v.is_object())
      throw InputError(path.string() + ":" + std::to_string(n) + ": expected a JSON object");
    out.emplace_back(n, std::move(v));
  }
  return out;
}

// Calls f(element, where) for each element of the optional array of objects `key`.
template <class F>
void forEachObject(const json& obj, std::string_view key, const Where& w, F&& f) {
  if (!obj.contains(key)) return;
  const json& arr = getArray(obj, key, w);
  for (std::size_t i = 0; i < arr.size(); ++i) {
    const Where wi = w.at(key).at(i);
    if (!arr[i].is_object()) wi.fail("expected an object, got " + typeName(arr[i]));
    f(arr[i], wi);
  }
}

std::vector<TimedUnit> readUnits(const json& obj, std::string_view key, const Where& w) {
  std::vector<TimedUnit> out;
  forEachObject(obj, key, w, [&](const json& u, const Where& wi) {
    TimedUnit t{getString(u, "label", wi), getNumber(u, "start", wi), getNumber(u, "end", wi)};
    if (t.end < t.start) wi.at("end").fail("ends before it starts");
    out.push_back(std::move(t));
  });
  return out;
}

Subject readSubject(const json& s, const Where& w, const DatasetManifest& ds, const Clip& clip) {
  if (!s.is_object()) w.fail("expected an object, got " + typeName(s));
  Subject out;
  out.identity = getString(s, "identity", w);
  if (ds.findIdentity(out.identity) == nullptr)
    w.at("identity").fail("identity '" + out.identity + "' is not declared in identities.jsonl");
  out.slot = getInt(s, "slot", w);
  if (out.slot < 0) w.at("slot").fail("must be >= 0");
  out.appearance = getString(s, "appearance", w, false);
  out.expression = getString(s, "expression", w, false);
  out.position = getString(s, "position", w, false);
  if (!out.position.empty() && out.position != "left" && out.position != "right" && out.position != "center")
    w.at("position").fail("unknown position '" + out.position + "' (known: left, right, center)");
  if (s.contains("face_box")) {
    const json& b = getArray(s, "face_box", w);
    const Where wb = w.at("face_box");
    if (b.size() != 4) wb.fail("expected [x0, y0, x1, y1], got " + std::to_string(b.size()) + " values");
    double v[4];
    for (std::size_t i = 0; i < 4; ++i) {
      if (!b[i].is_number()) wb.at(i).fail("expected a number, got " + typeName(b[i]));
      v[i] = b[i].get<double>();
    }
    if (!(0.0 <= v[0] && v[0] < v[2] && v[2] <= 1.0 && 0.0 <= v[1] && v[1] < v[3] && v[3] <= 1.0))
      wb.fail("must satisfy 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1 (shares of the frame)");
    out.faceBox = FaceBox{v[0], v[1], v[2], v[3]};
  }
  if (s.contains("pose")) {
    const json& pose = getObject(s, "pose", w);
    out.yaw = getNumber(pose, "yaw", w.at("pose"), 0.0);
    out.pitch = getNumber(pose, "pitch", w.at("pose"), 0.0);
  }
  forEachObject(s, "face_refs", w, [&](const json& r, const Where& wi) {
    out.faceRefs.push_back({mediaPath(ds.root, r, "path", wi), getString(r, "view", wi, false),
                            getNumber(r, "yaw", wi, 0.0), getNumber(r, "pitch", wi, 0.0),
                            getString(r, "expression", wi, false)});
  });
  if (s.contains("voice_ref") && !s["voice_ref"].is_null()) {
    const json& v = getObject(s, "voice_ref", w);
    out.voiceRef = mediaPath(ds.root, v, "path", w.at("voice_ref"));
    out.voiceRefText = getString(v, "text", w.at("voice_ref"), false);
  }
  forEachObject(s, "speech", w, [&](const json& line, const Where& wi) {
    SpeechLine l;
    l.text = getString(line, "text", wi);
    l.start = getNumber(line, "start", wi);
    l.end = getNumber(line, "end", wi);
    if (l.start < 0 || l.end < l.start || l.end > clip.duration + 1e-3)
      wi.fail("start/end (" + std::to_string(l.start) + ", " + std::to_string(l.end) +
              ") must satisfy 0 <= start <= end <= the clip's duration");
    l.words = readUnits(line, "words", wi);
    l.phonemes = readUnits(line, "phonemes", wi);
    out.speech.push_back(std::move(l));
  });
  if (s.contains("mouth_open")) {
    const json& m = getArray(s, "mouth_open", w);
    for (std::size_t i = 0; i < m.size(); ++i) {
      if (!m[i].is_number()) w.at("mouth_open").at(i).fail("expected a number, got " + typeName(m[i]));
      out.mouthOpen.push_back(m[i].get<double>());
    }
    if (!out.mouthOpen.empty() && static_cast<int>(out.mouthOpen.size()) != clip.frames)
      w.at("mouth_open")
          .fail("has " + std::to_string(out.mouthOpen.size()) + " values for " + std::to_string(clip.frames) +
                " frames");
  }
  return out;
}

Clip readClip(const json& c, const Where& w, const DatasetManifest& ds) {
  Clip clip;
  clip.line = w.line;
  clip.id = getString(c, "id", w);
  if (clip.id.empty()) w.at("id").fail("must not be empty");
  const std::string split = getString(c, "split", w);
  if (split == "train")
    clip.split = Split::Train;
  else if (split == "val")
    clip.split = Split::Val;
  else
    w.at("split").fail("unknown split '" + split + "' (known: train, val)");
  const std::string kind = getString(c, "kind", w);
  if (kind == "av")
    clip.kind = ClipKind::AudioVideo;
  else if (kind == "speech")
    clip.kind = ClipKind::Speech;
  else if (kind == "video")
    clip.kind = ClipKind::Video;
  else
    w.at("kind").fail("unknown kind '" + kind + "' (known: av, speech, video)");
  clip.duration = getNumber(c, "duration", w);
  if (clip.duration <= 0) w.at("duration").fail("must be > 0");
  clip.video = optionalMedia(ds.root, c, "video", w);
  clip.audio = optionalMedia(ds.root, c, "audio", w);
  const bool needsVideo = clip.kind != ClipKind::Speech, needsAudio = clip.kind != ClipKind::Video;
  if (needsVideo && !clip.video) w.at("video").fail("a '" + kind + "' clip needs a video file");
  if (needsAudio && !clip.audio) w.at("audio").fail("a '" + kind + "' clip needs an audio file");
  if (needsVideo) {
    clip.fps = getNumber(c, "fps", w);
    clip.frames = getInt(c, "frames", w);
    clip.width = getInt(c, "width", w);
    clip.height = getInt(c, "height", w);
    if (clip.fps <= 0) w.at("fps").fail("must be > 0");
    if (clip.width < 1 || clip.height < 1) w.at("width").fail("width and height must be >= 1");
    if (std::abs(clip.frames - clip.duration * clip.fps) > 1.0)
      w.at("frames").fail(std::to_string(clip.frames) + " frames do not match duration x fps (" +
                          std::to_string(clip.duration * clip.fps) + ")");
  }
  if (clip.audio) {
    clip.sampleRate = getInt(c, "sample_rate", w);
    if (clip.sampleRate <= 0) w.at("sample_rate").fail("must be > 0");
  }
  const json& subjects = getArray(c, "subjects", w);
  std::set<int> slots;
  std::set<std::string> places;
  for (std::size_t i = 0; i < subjects.size(); ++i) {
    Subject s = readSubject(subjects[i], w.at("subjects").at(i), ds, clip);
    if (!slots.insert(s.slot).second) w.at("subjects").at(i).at("slot").fail("slot used twice in one clip");
    if (!s.position.empty() && !places.insert(s.position).second)
      w.at("subjects").at(i).at("position").fail("two subjects of one clip stand " + s.position);
    clip.subjects.push_back(std::move(s));
  }
  if (clip.kind == ClipKind::Speech) {
    bool any = false;
    for (const auto& s : clip.subjects) any = any || !s.speech.empty();
    if (!any) w.at("subjects").fail("a speech clip needs at least one line of speech with its transcript");
  }
  const json& cap = getObject(c, "caption", w);
  const Where wc = w.at("caption");
  clip.caption.scene = getString(cap, "scene", wc, false);
  clip.caption.camera = getString(cap, "camera", wc, false);
  clip.caption.ambience = getString(cap, "ambience", wc, false);
  clip.caption.soundEffects = getString(cap, "sound_effects", wc, false);
  clip.caption.text = getString(cap, "text", wc);
  return clip;
}

}  // namespace

std::string_view toString(ClipKind kind) {
  return kind == ClipKind::AudioVideo ? "av" : kind == ClipKind::Speech ? "speech" : "video";
}
std::string_view toString(Split split) { return split == Split::Train ? "train" : "val"; }

const Identity* DatasetManifest::findIdentity(std::string_view id) const {
  for (const auto& i : identities)
    if (i.id == id) return &i;
  return nullptr;
}

DatasetManifest readDataset(const fs::path& folder) {
  DatasetManifest ds;
  ds.root = folder;
  if (!fs::is_directory(folder)) throw InputError("dataset folder '" + folder.string() + "' does not exist");

  const fs::path descPath = folder / "dataset.json";
  {
    std::ifstream in(descPath);
    if (!in) throw InputError(descPath.string() + ": cannot open (is this a dataset folder?)");
    ds.descriptor = json::parse(in, nullptr, false);
    const Where w{descPath.string(), 0, ""};
    if (ds.descriptor.is_discarded() || !ds.descriptor.is_object()) w.fail("not a JSON object");
    if (getString(ds.descriptor, "format", w) != kDatasetFormat)
      w.at("format").fail("expected '" + std::string(kDatasetFormat) + "'");
    const int version = getInt(ds.descriptor, "version", w);
    if (version < 1 || version > kDatasetVersion)
      w.at("version").fail("version " + std::to_string(version) + " is not supported (this reader knows 1.." +
                           std::to_string(kDatasetVersion) + ")");
  }

  const fs::path idPath = folder / "identities.jsonl";
  for (auto& [line, v] : readJsonLines(idPath)) {
    const Where w{idPath.string(), line, ""};
    Identity id;
    id.id = getString(v, "id", w);
    if (id.id.empty()) w.at("id").fail("must not be empty");
    if (ds.findIdentity(id.id) != nullptr) w.at("id").fail("identity '" + id.id + "' declared twice");
    id.name = getString(v, "name", w);
    id.appearance = getString(v, "appearance", w, false);
    id.voice = getObject(v, "voice", w);
    id.face = getObject(v, "face", w);
    ds.identities.push_back(std::move(id));
  }

  const fs::path manPath = folder / "manifest.jsonl";
  std::set<std::string> ids;
  for (auto& [line, v] : readJsonLines(manPath)) {
    const Where w{manPath.string(), line, ""};
    Clip clip = readClip(v, w, ds);
    if (!ids.insert(clip.id).second) w.at("id").fail("clip '" + clip.id + "' appears twice");
    ds.clips.push_back(std::move(clip));
  }
  if (ds.clips.empty()) throw InputError(manPath.string() + ": the dataset has no clips");
  return ds;
}

std::vector<std::size_t> filterClips(const DatasetManifest& dataset, std::optional<ClipKind> kind,
                                     std::optional<Split> split) {
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < dataset.clips.size(); ++i)
    if ((!kind || dataset.clips[i].kind == *kind) && (!split || dataset.clips[i].split == *split))
      out.push_back(i);
  return out;
}

std::vector<std::size_t> shuffled(std::vector<std::size_t> indices, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (std::size_t i = indices.size(); i > 1; --i) std::swap(indices[i - 1], indices[rng() % i]);
  return indices;
}

std::vector<std::vector<std::size_t>> bucketedBatches(const DatasetManifest& dataset,
                                                      const std::vector<std::size_t>& indices, int batchSize,
                                                      std::uint64_t seed) {
  if (batchSize < 1) throw InputError("batch size must be >= 1, got " + std::to_string(batchSize));
  std::vector<std::size_t> order = shuffled(indices, seed);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return dataset.clips.at(a).duration < dataset.clips.at(b).duration;
  });
  std::vector<std::vector<std::size_t>> batches;
  for (std::size_t i = 0; i < order.size(); i += batchSize)
    batches.emplace_back(order.begin() + i, order.begin() + std::min(order.size(), i + batchSize));
  // Shuffle the batch order with a derived seed so it is independent of the clip shuffle.
  std::vector<std::size_t> perm(batches.size());
  for (std::size_t i = 0; i < perm.size(); ++i) perm[i] = i;
  perm = shuffled(std::move(perm), seed ^ 0x9E3779B97F4A7C15ull);
  std::vector<std::vector<std::size_t>> out;
  for (std::size_t p : perm) out.push_back(std::move(batches[p]));
  return out;
}

HeldOut heldOutSplit(const DatasetManifest& dataset, const std::vector<std::size_t>& indices, double fraction,
                     std::uint64_t seed) {
  HeldOut out;
  for (std::size_t i : indices) (dataset.clips.at(i).split == Split::Val ? out.val : out.train).push_back(i);
  if (!out.val.empty() || fraction <= 0.0 || indices.size() < 2) return out;
  out.train.clear();
  const std::vector<std::size_t> order = shuffled(indices, seed);
  const std::size_t nVal = std::clamp<std::size_t>(
      static_cast<std::size_t>(std::lround(fraction * order.size())), 1, order.size() - 1);
  out.val.assign(order.begin(), order.begin() + nVal);
  out.train.assign(order.begin() + nVal, order.end());
  std::sort(out.val.begin(), out.val.end());
  std::sort(out.train.begin(), out.train.end());
  return out;
}

}  // namespace presence::data
