#include "synth_dataset.hpp"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>

#include "ambience.hpp"
#include "face_renderer.hpp"
#include "presence/core/atomic_file.hpp"
#include "presence/core/error.hpp"
#include "presence/data/dataset.hpp"
#include "voice_synth.hpp"

namespace presence::nodes::data {
namespace fs = std::filesystem;
namespace io = presence::media;
using nlohmann::json;

namespace {

constexpr int kSampleRate = 16000;

const char* const kWords[] = {"hello", "today",  "river", "yellow", "window", "morning", "garden", "paper",
                              "music", "simple", "open",  "people", "little", "number",  "orange", "table",
                              "about", "money",  "maybe", "water",  "coffee", "evening", "mother", "summer",
                              "baby",  "happy",  "ready", "open",   "city",   "over",    "video",  "moment"};

struct Scene {
  const char* text;
  Rgb top, bottom;
};
const Scene kScenes[] = {{"in front of a blue studio backdrop", {0.2f, 0.3f, 0.55f}, {0.1f, 0.15f, 0.3f}},
                         {"in a warm beige room", {0.85f, 0.75f, 0.6f}, {0.6f, 0.5f, 0.38f}},
                         {"by a green garden wall", {0.45f, 0.65f, 0.4f}, {0.2f, 0.35f, 0.2f}},
                         {"in a grey office", {0.7f, 0.7f, 0.72f}, {0.4f, 0.4f, 0.42f}}};

enum class Move { Static, PanRight, PanLeft, ZoomIn, ZoomOut };
const char* cameraText(Move m) {
  switch (m) {
    case Move::PanRight:
      return "The camera pans slowly from left to right";
    case Move::PanLeft:
      return "The camera pans slowly from right to left";
    case Move::ZoomIn:
      return "The camera slowly zooms in";
    case Move::ZoomOut:
      return "The camera slowly zooms out";
    default:
      return "A static medium shot";
  }
}
const char* moveName(Move m) {
  const char* names[] = {"static", "pan_right", "pan_left", "zoom_in", "zoom_out"};
  return names[static_cast<int>(m)];
}

CameraWindow cameraAt(Move m, double t) {  // t: 0..1 through the clip
  CameraWindow c;
  const float s = static_cast<float>(t);
  if (m == Move::PanRight) c.centerX = -0.12f + 0.24f * s;
  if (m == Move::PanLeft) c.centerX = 0.12f - 0.24f * s;
  if (m == Move::ZoomIn) c.zoom = 1.0f + 0.35f * s;
  if (m == Move::ZoomOut) c.zoom = 1.35f - 0.35f * s;
  return c;
}

double round4(double v) { return std::round(v * 1e4) / 1e4; }

// The caption in the model's syntax (models/generation composeCaption, AudioSuffix): written
// here so that sdk/data and this plugin stay free of LibTorch.
std::string sentence(std::string s) {
  if (s.empty()) return s;
  if (s[0] >= 'a' && s[0] <= 'z') s[0] = static_cast<char>(s[0] - 'a' + 'A');
  if (s.back() != '.' && s.back() != '!' && s.back() != '?') s += '.';
  return s;
}
void append(std::string& out, const std::string& s) {
  if (s.empty()) return;
  if (!out.empty()) out += ' ';
  out += s;
}

struct SubjectPlan {
  int identity = 0;
  int slot = 0;
  std::string position = "center";  // where the face stands: left, right, or center (alone)
  FacePose pose;  // base pose of the clip
  bool speaks = false;
  double windowStart = 0, windowEnd = 0;
  io::Audio speech16k;                 // the subject's speech placed in the clip timeline, 16 kHz
  std::vector<Timed> words, phonemes;  // clip time
  std::string text;
  double start = 0, end = 0;
  std::vector<double> mouth;  // per frame, rounded as stored
  std::array<float, 4> headBox{1.0f, 1.0f, 0.0f, 0.0f};  // union of the head's boxes over the frames
};

std::string randomLine(std::mt19937_64& rng, int words) {
  std::string s;
  for (int i = 0; i < words; ++i) {
    if (i > 0) s += ' ';
    s += kWords[rng() % std::size(kWords)];
  }
  return s;
}

void check(bool ok, const std::string& option, const std::string& what) {
  if (!ok) throw core::InputError("synthetic dataset option '" + option + "': " + what);
}

// Removes the temporary folder unless committed.
struct TempFolder {
  fs::path path;
  bool committed = false;
  ~TempFolder() {
    std::error_code ec;
    if (!committed) fs::remove_all(path, ec);
  }
};

json facesJson(const FaceParams& f) {
  auto rgb = [](const Rgb& c) { return json::array({round4(c[0]), round4(c[1]), round4(c[2])}); };
  return {{"width", round4(f.width)},
          {"height", round4(f.height)},
          {"skin", rgb(f.skin)},
          {"skin_name", f.skinName},
          {"hair", rgb(f.hair)},
          {"hair_name", f.hairName},
          {"hairstyle", toString(f.hairstyle)},
          {"eyes", rgb(f.eyes)},
          {"eye_name", f.eyeName},
          {"eye_spacing", round4(f.eyeSpacing)},
          {"mouth_width", round4(f.mouthWidth)},
          {"glasses", f.glasses},
          {"hat", f.hat},
          {"earrings", f.earrings},
          {"accessory", rgb(f.accessory)}};
}

json unitsJson(const std::vector<Timed>& units) {
  json a = json::array();
  for (const auto& u : units)
    a.push_back({{"label", u.label}, {"start", round4(u.start)}, {"end", round4(u.end)}});
  return a;
}

std::string actionsOf(const FacePose& p, bool speaks) {
  std::string s = std::abs(p.yaw) < 0.12f ? "faces the camera"
                  : p.yaw < 0             ? "looks slightly to the left"
                                          : "looks slightly to the right";
  if (p.expression == Expression::Smile) s += " and smiles";
  if (p.expression == Expression::Raised) s += " with raised eyebrows";
  if (speaks) s += ", talking";
  return s;
}

}  // namespace

SynthReport generateSynthDataset(const SynthOptions& o, const fs::path& folder,
                                 const io::ProgressFn& progress, const io::CancelFn& cancelled) {
  check(o.identities >= 1 && o.identities <= 1000, "identities", "must be 1..1000");
  check(o.clipsPerIdentity >= 1, "clips_per_identity", "must be >= 1");
  check(o.width >= 16 && o.height >= 16 && o.width % 2 == 0 && o.height % 2 == 0, "width/height",
        "must be even and >= 16 (H.264 4:2:0)");
  check(o.fps > 0 && o.fps <= 120, "fps", "must be in (0, 120]");
  check(o.clipSeconds >= 0.5 && o.clipSeconds <= 60, "clip_seconds", "must be 0.5..60");
  for (auto [v, name] : {std::pair{o.twoSubjectShare, "two_subject_share"},
                         {o.speechOnlyShare, "speech_only_share"},
                         {o.videoOnlyShare, "video_only_share"},
                         {o.valFraction, "val_fraction"}})
    check(v >= 0 && v <= 1, name, "must be 0..1");
  check(o.speechOnlyShare + o.videoOnlyShare <= 1, "speech_only_share",
        "speech-only plus video-only shares exceed 1");

  std::mt19937_64 rng(o.seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);

  // Identities.
  std::vector<FaceParams> faces;
  std::vector<VoiceParams> voices;
  const std::size_t worldOffset = rng() % 64;
  for (int i = 0; i < o.identities; ++i) {
    faces.push_back(FaceParams::random(rng, i, worldOffset));
    voices.push_back(VoiceParams::random(rng, i, o.identities));
  }
  auto identityId = [](int i) {
    char b[16];
    std::snprintf(b, sizeof b, "id%03d", i);
    return std::string(b);
  };

  TempFolder tmp;
  tmp.path = folder.parent_path() / ("." + folder.filename().string() + ".tmp-" + std::to_string(::getpid()) +
                                     "-" + std::to_string(o.seed));
  std::error_code ec;
  fs::remove_all(tmp.path, ec);
  fs::create_directories(tmp.path / "clips");
  fs::create_directories(tmp.path / "refs" / "faces");
  fs::create_directories(tmp.path / "refs" / "voices");

  SynthReport report;
  report.folder = folder;
  std::vector<std::string> relFiles;
  const int total = o.identities * o.clipsPerIdentity;
  std::string manifest;

  for (int c = 0; c < total; ++c) {
    if (cancelled && cancelled()) throw core::Cancelled();
    char idBuf[32];
    std::snprintf(idBuf, sizeof idBuf, "clip%05d", c);
    const std::string clipId = idBuf;

    // Plan the clip.
    const double k = u(rng);
    const presence::data::ClipKind kind = k < o.speechOnlyShare ? presence::data::ClipKind::Speech
                                          : k < o.speechOnlyShare + o.videoOnlyShare
                                              ? presence::data::ClipKind::Video
                                              : presence::data::ClipKind::AudioVideo;
    const bool hasVideo = kind != presence::data::ClipKind::Speech;
    const bool speaking = kind != presence::data::ClipKind::Video;
    const bool val =
        u(rng) < o.valFraction || (c == total - 1 && report.val == 0 && o.valFraction > 0 && total > 1);
    const int frames =
        std::max(1, static_cast<int>(std::lround(o.clipSeconds * (0.8 + 0.4 * u(rng)) * o.fps)));
    const double duration = frames / o.fps;
    const Scene& scene = kScenes[rng() % std::size(kScenes)];
    const Move move = hasVideo ? static_cast<Move>(rng() % 5) : Move::Static;
    const Ambience amb = static_cast<Ambience>(rng() % 5);

    std::vector<SubjectPlan> subjects(1);
    subjects[0].identity = c % o.identities;
    if (o.identities >= 2 && u(rng) < o.twoSubjectShare) {
      SubjectPlan second;
      second.identity =
          (subjects[0].identity + 1 + static_cast<int>(rng() % (o.identities - 1))) % o.identities;
      second.slot = 1;
      subjects.push_back(second);
      // Drawn only when asked, so a world without random sides keeps every other draw.
      const bool swapped = o.randomSides && u(rng) < 0.5;
      subjects[swapped ? 1 : 0].position = "left";
      subjects[swapped ? 0 : 1].position = "right";
    }
    const std::int64_t samples = static_cast<std::int64_t>(std::lround(duration * kSampleRate));
    std::vector<float> mix(static_cast<std::size_t>(samples), 0.0f);
    const int n = static_cast<int>(subjects.size());
    for (int s = 0; s < n; ++s) {
      SubjectPlan& sp = subjects[s];
      sp.pose.yaw = static_cast<float>(u(rng) * 0.7 - 0.35);
      sp.pose.pitch = static_cast<float>(u(rng) * 0.5 - 0.25);
      sp.pose.expression = static_cast<Expression>(rng() % 3);
      sp.speaks = speaking;
      // Speakers take turns: subject s speaks in the s-th share of the clip.
      sp.windowStart = duration * s / n + 0.05;
      sp.windowEnd = duration * (s + 1) / n - 0.05;
    }

    // Speech: as many words as fit the speaker's turn.
    for (auto& sp : subjects) {
      if (!sp.speaks) continue;
      const VoiceParams& voice = voices[sp.identity];
      const double window = sp.windowEnd - sp.windowStart;
      int words = std::max(1, static_cast<int>(voice.rate / 60.0 * window * 0.9));
      std::mt19937_64 lineRng(rng());
      std::string text;
      Utterance utt;
      for (;; --words) {
        std::mt19937_64 r = lineRng;
        text = randomLine(r, words);
        utt = synthesise(text, voice);
        if (utt.audio.seconds() <= window || words == 1) break;
      }
      const io::Audio a16 = io::resampleAudio(utt.audio, kSampleRate, 1);
      const std::int64_t offset = static_cast<std::int64_t>(std::lround(sp.windowStart * kSampleRate));
      sp.speech16k = io::silentAudio(duration, kSampleRate, 1);
      sp.speech16k.samples.resize(static_cast<std::size_t>(samples));
      for (std::int64_t i = 0; i < a16.frames() && offset + i < samples; ++i)
        sp.speech16k.samples[offset + i] = a16.samples[i];
      auto shift = [&](const std::vector<Timed>& in, std::vector<Timed>& out) {
        for (const auto& t : in) {
          const double s = sp.windowStart + t.start, e = std::min(duration, sp.windowStart + t.end);
          if (s < duration) out.push_back({t.label, s, std::max(s, e)});
        }
      };
      shift(utt.words, sp.words);
      shift(utt.phonemes, sp.phonemes);
      sp.text = text;
      sp.start = sp.windowStart;
      sp.end = std::min(duration, sp.windowStart + utt.audio.seconds());
      for (std::int64_t i = 0; i < samples; ++i) mix[i] += sp.speech16k.samples[i];
    }

    // Lip sync: the phoneme under each frame's centre sets the opening, smoothed over three
    // frames, and closed where the speaker's own signal is silent.
    for (auto& sp : subjects) {
      sp.mouth.assign(frames, 0.0);
      if (!sp.speaks) continue;
      std::vector<float> raw(frames, 0.0f);
      double peak = 0;
      std::vector<double> rms(frames, 0.0);
      const int hop = static_cast<int>(kSampleRate / o.fps);
      for (int f = 0; f < frames; ++f) {
        const double t = (f + 0.5) / o.fps;
        for (const auto& ph : sp.phonemes)
          if (t >= ph.start && t < ph.end) raw[f] = mouthOpenness(ph.label);
        double e = 0;
        for (int i = f * hop; i < std::min<std::int64_t>(samples, (f + 1) * hop); ++i)
          e += double(sp.speech16k.samples[i]) * sp.speech16k.samples[i];
        rms[f] = std::sqrt(e / std::max(1, hop));
        peak = std::max(peak, rms[f]);
      }
      for (int f = 0; f < frames; ++f) {
        const float a = raw[std::max(0, f - 1)], b = raw[f], d = raw[std::min(frames - 1, f + 1)];
        const double gate = peak > 0 ? std::min(1.0, rms[f] / (0.25 * peak)) : 0.0;
        sp.mouth[f] = round4((0.25 * a + 0.5 * b + 0.25 * d) * gate);
      }
    }

    // Ambience under the speech.
    const bool hasAmbience = amb != Ambience::None;
    if (hasAmbience) {
      const auto bed = synthAmbience(amb, samples, kSampleRate, speaking ? 0.06f : 0.3f, rng());
      for (std::int64_t i = 0; i < samples; ++i) mix[i] += bed[i];
    }
    const bool hasAudio = speaking || hasAmbience;

    json subjectsJson = json::array();
    const std::string clipDir = "clips/";
    std::string videoRel, audioRel;
    if (hasAudio) {
      io::Audio a;
      a.channels = 1;
      a.sampleRate = kSampleRate;
      a.samples = std::move(mix);
      for (float& v : a.samples) v = std::clamp(v, -1.0f, 1.0f);
      audioRel = clipDir + clipId + ".wav";
      io::writeWav(a, tmp.path / audioRel);
      relFiles.push_back(audioRel);
    }
    if (hasVideo) {
      core::ImageBatch video(frames, o.height, o.width, 3);
      const float aspect = float(o.width) / o.height;
      for (int f = 0; f < frames; ++f) {
        const double t = frames > 1 ? double(f) / (frames - 1) : 0.0;
        std::vector<PlacedFace> placed;
        for (int s = 0; s < n; ++s) {
          PlacedFace p;
          p.face = &faces[subjects[s].identity];
          p.pose = subjects[s].pose;
          p.pose.yaw += static_cast<float>(0.08 * std::sin(6.283185 * t));  // a gentle head turn
          p.pose.mouthOpen = static_cast<float>(subjects[s].mouth[f]);
          p.scale = n == 1 ? 0.9f : std::min(0.55f, 0.45f * aspect);
          const std::string& at = subjects[s].position;
          p.x = (at == "left" ? -1.0f : at == "right" ? 1.0f : 0.0f) * 0.25f * aspect;
          p.y = 0.05f;
          placed.push_back(p);
        }
        const CameraWindow camera = cameraAt(move, t);
        for (int s = 0; s < n; ++s) {
          const auto b = headBoxInFrame(placed[s], camera, o.width, o.height);
          auto& u = subjects[s].headBox;
          if (b[0] >= b[2] || b[1] >= b[3]) continue;
          u = {std::min(u[0], b[0]), std::min(u[1], b[1]), std::max(u[2], b[2]), std::max(u[3], b[3])};
        }
        renderScene(video, f, scene.top, scene.bottom, placed, camera);
      }
      videoRel = clipDir + clipId + ".mp4";
      io::Mp4Options mp4;
      mp4.crf = o.crf;
      mp4.preset = "veryfast";
      mp4.faststart = false;
      io::muxMp4(video, o.fps, nullptr, tmp.path / videoRel, mp4);
      relFiles.push_back(videoRel);
    }

    // References: other poses and expressions of the same identity (never frames of the clip),
    // three views (front, left, right); a voice reference from another utterance.
    std::string text;
    std::string audioCaption;
    for (int s = 0; s < n; ++s) {
      SubjectPlan& sp = subjects[s];
      const FaceParams& face = faces[sp.identity];
      const VoiceParams& voice = voices[sp.identity];
      const std::string prefix = clipId + "_s" + std::to_string(s);
      json sj = {{"identity", identityId(sp.identity)}, {"slot", sp.slot}};
      if (hasVideo) {
        sj["appearance"] = face.appearance();
        sj["pose"] = {{"yaw", round4(sp.pose.yaw)}, {"pitch", round4(sp.pose.pitch)}};
        sj["expression"] = toString(sp.pose.expression);
        sj["position"] = sp.position;
        const auto& b = sp.headBox;
        // Rounded outwards, so the stored box still holds the head.
        auto down = [](float v) { return std::floor(v * 1e4) / 1e4; };
        auto up = [](float v) { return std::ceil(v * 1e4) / 1e4; };
        if (b[0] < b[2] && b[1] < b[3]) sj["face_box"] = {down(b[0]), down(b[1]), up(b[2]), up(b[3])};
        sj["mouth_open"] = sp.mouth;
      }
      {
        const int side = std::min(o.width, o.height);
        core::ImageBatch refs(3, side, side, 3);
        const float refPitch = sp.pose.pitch > 0 ? sp.pose.pitch - 0.35f : sp.pose.pitch + 0.35f;
        const Expression refExpr =
            static_cast<Expression>((static_cast<int>(sp.pose.expression) + 1 + rng() % 2) % 3);
        const std::pair<const char*, float> views[] = {{"front", 0.0f}, {"left", -0.6f}, {"right", 0.6f}};
        json refsJson = json::array();
        for (int v = 0; v < 3; ++v) {
          PlacedFace p;
          p.face = &face;
          p.pose = {views[v].second, refPitch, refExpr, 0.0f};
          p.scale = 0.9f;
          p.y = 0.05f;
          renderScene(refs, v, {0.5f, 0.5f, 0.5f}, {0.5f, 0.5f, 0.5f}, {p}, {});
          const std::string rel = "refs/faces/" + io::sequenceFileName(prefix, v, "png");
          refsJson.push_back({{"path", rel},
                              {"view", views[v].first},
                              {"yaw", round4(views[v].second)},
                              {"pitch", round4(refPitch)},
                              {"expression", toString(refExpr)}});
          relFiles.push_back(rel);
        }
        io::writePng(refs, tmp.path / "refs" / "faces", prefix);
        sj["face_refs"] = std::move(refsJson);
      }
      if (speaking) {
        std::mt19937_64 r(rng());
        std::string refText;
        do refText = randomLine(r, 3);
        while (refText == sp.text);
        const Utterance ref = synthesise(refText, voice);
        const std::string rel = "refs/voices/" + prefix + ".wav";
        io::writeWav(io::resampleAudio(ref.audio, kSampleRate, 1), tmp.path / rel);
        relFiles.push_back(rel);
        sj["voice_ref"] = {{"path", rel}, {"text", refText}};
        sj["speech"] = json::array({{{"text", sp.text},
                                     {"start", round4(sp.start)},
                                     {"end", round4(sp.end)},
                                     {"words", unitsJson(sp.words)},
                                     {"phonemes", unitsJson(sp.phonemes)}}});
        append(audioCaption,
               sentence("Subject " + std::to_string(sp.slot + 1) + " speaks with " + voice.description));
      }
      subjectsJson.push_back(std::move(sj));
    }

    // The structured caption.
    const std::string sceneText = hasVideo ? std::string("Indoors ") + scene.text : "";
    const std::string camera = hasVideo ? cameraText(move) : "";
    append(text, sentence(sceneText));
    append(text, sentence(camera));
    if (hasVideo)
      for (const auto& sp : subjects)
        append(text, sentence("Subject " + std::to_string(sp.slot + 1) + ", " +
                              (o.randomSides && n > 1 ? "on the " + sp.position + ", " : std::string()) +
                              faces[sp.identity].appearance() + ", " + actionsOf(sp.pose, sp.speaks)));
    for (const auto& sp : subjects)
      if (sp.speaks) append(text, "Subject " + std::to_string(sp.slot + 1) + " says: <S>" + sp.text + "<E>");
    const std::string ambienceText = describe(amb);
    if (!ambienceText.empty()) append(audioCaption, sentence("Ambience: " + ambienceText));
    if (!audioCaption.empty()) append(text, "Audio: " + audioCaption);

    json clip = {{"id", clipId},
                 {"split", val ? "val" : "train"},
                 {"kind", std::string(presence::data::toString(kind))},
                 {"duration", round4(duration)}};
    if (hasVideo) {
      clip["video"] = videoRel;
      clip["fps"] = o.fps;
      clip["frames"] = frames;
      clip["width"] = o.width;
      clip["height"] = o.height;
      clip["camera_move"] = moveName(move);
    } else {
      clip["video"] = nullptr;
    }
    if (hasAudio) {
      clip["audio"] = audioRel;
      clip["sample_rate"] = kSampleRate;
    } else {
      clip["audio"] = nullptr;
    }
    clip["ambience"] = toString(amb);
    clip["subjects"] = std::move(subjectsJson);
    clip["caption"] = {{"scene", sceneText},
                       {"camera", camera},
                       {"ambience", ambienceText},
                       {"sound_effects", ""},
                       {"text", text}};
    manifest += clip.dump() + "\n";

    ++report.clips;
    (kind == presence::data::ClipKind::AudioVideo ? report.av
     : kind == presence::data::ClipKind::Speech   ? report.speech
                                                  : report.video)++;
    if (n > 1) ++report.twoSubject;
    if (val) ++report.val;
    if (progress) progress(double(c + 1) / total);
  }

  std::string identities;
  for (int i = 0; i < o.identities; ++i) {
    json v = {{"espeak_voice", voices[i].voice},
              {"pitch", voices[i].pitch},
              {"range", voices[i].range},
              {"rate", voices[i].rate},
              {"description", voices[i].description}};
    identities += json{{"id", identityId(i)},
                       {"name", "Person " + std::to_string(i + 1)},
                       {"appearance", faces[i].appearance()},
                       {"voice", v},
                       {"face", facesJson(faces[i])}}
                      .dump() +
                  "\n";
  }
  const json descriptor = {{"format", presence::data::kDatasetFormat},
                           {"version", presence::data::kDatasetVersion},
                           {"name", "presence synthetic world (seed " + std::to_string(o.seed) + ")"},
                           {"generator", "presence.synth_dataset"},
                           {"seed", o.seed},
                           {"identities", o.identities},
                           {"clips", report.clips},
                           {"counts",
                            {{"av", report.av},
                             {"speech", report.speech},
                             {"video", report.video},
                             {"two_subject", report.twoSubject},
                             {"val", report.val}}},
                           {"sample_rate", kSampleRate},
                           {"caption_syntax", "audio_suffix"}};
  core::writeFileAtomically(tmp.path / "identities.jsonl", identities);
  core::writeFileAtomically(tmp.path / "manifest.jsonl", manifest);
  core::writeFileAtomically(tmp.path / "dataset.json", descriptor.dump(2) + "\n");
  for (const char* f : {"dataset.json", "identities.jsonl", "manifest.jsonl"}) relFiles.push_back(f);
  if (cancelled && cancelled()) throw core::Cancelled();

  // Swap into place: the old dataset (if any) is moved aside first and removed only after the
  // new one is in place.
  const fs::path old =
      folder.parent_path() / ("." + folder.filename().string() + ".old-" + std::to_string(::getpid()));
  fs::remove_all(old, ec);
  if (fs::exists(folder)) fs::rename(folder, old);
  fs::rename(tmp.path, folder);
  tmp.committed = true;
  fs::remove_all(old, ec);
  std::sort(relFiles.begin(), relFiles.end());
  for (const auto& f : relFiles) report.files.push_back((folder / f).string());
  return report;
}

}  // namespace presence::nodes::data
