// The synthetic world: deterministic by seed, valid by the reader, distinct faces, references in
// other poses, real lip sync, distinct voices, atomic writing, and the node.
#include "synth_dataset.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <numeric>
#include <sstream>

#include "data_nodes.hpp"
#include "face_renderer.hpp"
#include "fake_context.hpp"
#include "media_io.hpp"
#include "presence/core/error.hpp"
#include "presence/core/registry.hpp"
#include "presence/data/dataset.hpp"
#include "test_util.hpp"

namespace presence::nodes::data {
namespace {

namespace fs = std::filesystem;
namespace io = presence::media;
using presence::data::ClipKind;
using presence::media::testing::TempDir;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

SynthOptions tiny(std::uint64_t seed) {
  SynthOptions o;
  o.identities = 3;
  o.clipsPerIdentity = 2;
  o.seed = seed;
  o.width = o.height = 64;
  o.clipSeconds = 1.0;
  o.twoSubjectShare = 0.3;
  o.speechOnlyShare = 0.2;
  o.videoOnlyShare = 0.15;
  o.valFraction = 0.2;
  return o;
}

// One tiny dataset shared by the suite (generating costs about a second).
class SynthDataset : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = fs::temp_directory_path() / ("presence-data-" + std::to_string(::getpid()));
    fs::remove_all(root_);
    fs::create_directories(root_);
    const auto t0 = std::chrono::steady_clock::now();
    generateSynthDataset(tiny(7), root_ / "a");
    seconds_ = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::printf("tiny dataset (3 identities x 2 clips, 64x64, 1 s): %.2f s\n", seconds_);
    dataset_ = new presence::data::DatasetManifest(presence::data::readDataset(root_ / "a"));
  }
  static void TearDownTestSuite() {
    delete dataset_;
    fs::remove_all(root_);
  }
  static const presence::data::DatasetManifest& ds() { return *dataset_; }
  static inline fs::path root_;
  static inline double seconds_ = 0;
  static inline presence::data::DatasetManifest* dataset_ = nullptr;
};

std::vector<std::string> filesWithExtension(const fs::path& root, const std::string& ext) {
  std::vector<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (e.path().extension() == ext) out.push_back(fs::relative(e.path(), root).string());
  std::sort(out.begin(), out.end());
  return out;
}

TEST_F(SynthDataset, SameSeedSameBytesOtherSeedDiffers) {
  generateSynthDataset(tiny(7), root_ / "b");
  for (const char* f : {"manifest.jsonl", "identities.jsonl", "dataset.json"})
    EXPECT_TRUE(slurp(root_ / "a" / f) == slurp(root_ / "b" / f)) << f;
  for (const char* ext : {".wav", ".png"}) {
    const auto files = filesWithExtension(root_ / "a", ext);
    ASSERT_FALSE(files.empty()) << ext;
    EXPECT_EQ(files, filesWithExtension(root_ / "b", ext));
    for (const auto& f : files) EXPECT_TRUE(slurp(root_ / "a" / f) == slurp(root_ / "b" / f)) << f;
  }
  generateSynthDataset(tiny(8), root_ / "c");
  EXPECT_FALSE(slurp(root_ / "a" / "manifest.jsonl") == slurp(root_ / "c" / "manifest.jsonl"));
  EXPECT_FALSE(slurp(root_ / "a" / "identities.jsonl") == slurp(root_ / "c" / "identities.jsonl"));
  EXPECT_FALSE(slurp(root_ / "a/refs/faces/clip00000_s0_00000.png") ==
               slurp(root_ / "c/refs/faces/clip00000_s0_00000.png"));
  EXPECT_FALSE(slurp(root_ / "a/refs/voices/clip00000_s0.wav") ==
               slurp(root_ / "c/refs/voices/clip00000_s0.wav"));
}

TEST_F(SynthDataset, ManifestValidatesAndHasEveryPart) {
  EXPECT_LT(seconds_, 20.0);
  ASSERT_EQ(ds().identities.size(), 3u);
  ASSERT_EQ(ds().clips.size(), 6u);
  std::map<ClipKind, int> kinds;
  int twoSubjects = 0;
  for (const auto& c : ds().clips) {
    ++kinds[c.kind];
    twoSubjects += c.subjects.size() == 2;
    EXPECT_NE(c.caption.text.find("Subject 1"), std::string::npos) << c.caption.text;
    for (const auto& s : c.subjects) {
      ASSERT_EQ(s.faceRefs.size(), 3u);
      EXPECT_EQ(s.faceRefs[0].view, "front");
      EXPECT_EQ(s.faceRefs[1].view, "left");
      EXPECT_EQ(s.faceRefs[2].view, "right");
      if (c.kind != ClipKind::Video) {
        ASSERT_TRUE(s.voiceRef.has_value());
        ASSERT_EQ(s.speech.size(), 1u);
        EXPECT_NE(s.voiceRefText, s.speech[0].text);  // another utterance
        EXPECT_FALSE(s.speech[0].phonemes.empty());
        EXPECT_NE(c.caption.text.find("says: <S>" + s.speech[0].text + "<E>"), std::string::npos)
            << c.caption.text;
      }
    }
    if (c.video) {
      const auto info = io::probeMedia(*c.video);
      ASSERT_NE(info.first("video"), nullptr);
      EXPECT_EQ(info.first("video")->width, 64);
      EXPECT_EQ(info.first("video")->frameCount, c.frames);
    }
    if (c.audio) {
      const auto a = io::loadAudio(*c.audio);
      EXPECT_EQ(a.sampleRate, 16000);
      EXPECT_EQ(a.channels, 1);
      EXPECT_NEAR(a.seconds(), c.duration, 0.01);
    }
  }
  EXPECT_GE(kinds[ClipKind::AudioVideo], 1);
  EXPECT_GE(kinds[ClipKind::Speech] + kinds[ClipKind::Video], 1);
  EXPECT_GE(twoSubjects, 1);
  EXPECT_GE(presence::data::filterClips(ds(), {}, presence::data::Split::Val).size(), 1u);
}

std::array<double, 3> meanColour(const core::ImageBatch& b) {
  std::array<double, 3> m{0, 0, 0};
  for (std::size_t i = 0; i < b.pixels.size(); ++i) m[i % 3] += b.pixels[i];
  for (auto& v : m) v /= double(b.pixels.size() / 3);
  return m;
}

TEST_F(SynthDataset, FacesOfDifferentIdentitiesDiffer) {
  std::map<std::string, std::array<double, 3>> colourOf;
  for (const auto& c : ds().clips)
    for (const auto& s : c.subjects)
      if (!colourOf.count(s.identity)) colourOf[s.identity] = meanColour(io::readImage(s.faceRefs[0].path));
  ASSERT_EQ(colourOf.size(), 3u);
  for (auto a = colourOf.begin(); a != colourOf.end(); ++a)
    for (auto b = std::next(a); b != colourOf.end(); ++b) {
      double d = 0;
      for (int k = 0; k < 3; ++k) d += std::pow(a->second[k] - b->second[k], 2);
      EXPECT_GT(std::sqrt(d), 0.02) << a->first << " vs " << b->first;
    }
}

TEST_F(SynthDataset, ReferencesShowOtherPosesThanTheClip) {
  int checked = 0;
  for (const auto& c : ds().clips) {
    if (c.kind == ClipKind::Speech) continue;
    for (const auto& s : c.subjects) {
      for (const auto& r : s.faceRefs) {
        EXPECT_NE(r.expression, s.expression) << c.id;
        EXPECT_GE(std::abs(r.pitch - s.pitch), 0.3) << c.id;
      }
      // The left and right views are different pictures of the same face.
      const auto left = io::readImage(s.faceRefs[1].path), right = io::readImage(s.faceRefs[2].path);
      double diff = 0;
      for (std::size_t i = 0; i < left.pixels.size(); ++i) diff += std::abs(left.pixels[i] - right.pixels[i]);
      EXPECT_GT(diff / left.pixels.size(), 0.01) << c.id;
      ++checked;
    }
  }
  EXPECT_GE(checked, 1);
}

double pearson(const std::vector<double>& a, const std::vector<double>& b) {
  const double n = double(a.size());
  const double ma = std::accumulate(a.begin(), a.end(), 0.0) / n,
               mb = std::accumulate(b.begin(), b.end(), 0.0) / n;
  double sab = 0, saa = 0, sbb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) * (a[i] - ma);
    sbb += (b[i] - mb) * (b[i] - mb);
  }
  return sab / std::sqrt(saa * sbb + 1e-12);
}

TEST_F(SynthDataset, MouthOpeningFollowsSpeechEnergy) {
  // Per frame: the manifest's mouth opening (summed over the subjects, who speak in turns)
  // against the RMS of the clip's sound track (which also carries the ambience), over every clip
  // with pictures and sound.
  std::vector<double> mouth, rms;
  for (const auto& c : ds().clips) {
    if (c.kind != ClipKind::AudioVideo) continue;
    const auto a = io::loadAudio(*c.audio, 16000, 1);
    const int hop = static_cast<int>(16000 / c.fps);
    for (int f = 0; f < c.frames; ++f) {
      double e = 0, open = 0;
      for (int i = f * hop; i < std::min<std::int64_t>(a.frames(), (f + 1) * hop); ++i)
        e += a.samples[i] * a.samples[i];
      for (const auto& s : c.subjects) {
        EXPECT_EQ(static_cast<int>(s.mouthOpen.size()), c.frames);
        open += s.mouthOpen.at(f);
      }
      rms.push_back(std::sqrt(e / hop));
      mouth.push_back(open);
    }
  }
  ASSERT_GE(mouth.size(), 20u);
  const double r = pearson(mouth, rms);
  std::printf("mouth opening vs audio RMS: r = %.3f over %zu frames\n", r, mouth.size());
  EXPECT_GT(r, 0.5);
}

TEST(FaceRenderer, OpenMouthIsDarkerAndPosesMoveFeatures) {
  std::mt19937_64 rng(1);
  const FaceParams face = FaceParams::random(rng, 0, 0);
  core::ImageBatch frames(3, 64, 64, 3);
  PlacedFace p;
  p.face = &face;
  p.scale = 0.9f;
  renderScene(frames, 0, {0.5f, 0.5f, 0.5f}, {0.5f, 0.5f, 0.5f}, {p}, {});
  p.pose.mouthOpen = 1.0f;
  renderScene(frames, 1, {0.5f, 0.5f, 0.5f}, {0.5f, 0.5f, 0.5f}, {p}, {});
  const auto closed = mouthRegionMean(frames, 0, p, {}), open = mouthRegionMean(frames, 1, p, {});
  EXPECT_LT(open[0] + open[1] + open[2], 0.8f * (closed[0] + closed[1] + closed[2]));
  p.pose = {0.6f, 0.0f, Expression::Neutral, 0.0f};
  renderScene(frames, 2, {0.5f, 0.5f, 0.5f}, {0.5f, 0.5f, 0.5f}, {p}, {});
  double diff = 0;
  for (std::size_t i = 0; i < frames.frameSize(); ++i)
    diff += std::abs(frames.frame(0)[i] - frames.frame(2)[i]);
  EXPECT_GT(diff / frames.frameSize(), 0.01);
}

// The head box holds the head and hugs it: a bald face without accessories on a flat backdrop
// paints nothing above the box or well beside it (ears and neck reach a little past the head's
// ellipse), and the head reaches the box's top and both its sides.
TEST(FaceRenderer, HeadBoxHoldsTheHead) {
  std::mt19937_64 rng(3);
  FaceParams face = FaceParams::random(rng, 2, 0);
  face.hairstyle = Hairstyle::Bald;
  face.glasses = face.hat = face.earrings = false;
  const Rgb grey{0.5f, 0.5f, 0.5f};
  const int W = 96, H = 64;
  for (const CameraWindow camera : {CameraWindow{}, CameraWindow{0.1f, -0.05f, 1.3f}}) {
    core::ImageBatch frame(1, H, W, 3);
    PlacedFace p;
    p.face = &face;
    p.scale = 0.5f;
    p.x = -0.3f;
    renderScene(frame, 0, grey, grey, {p}, camera);
    const auto box = headBoxInFrame(p, camera, W, H);
    ASSERT_LT(box[0], box[2]);
    ASSERT_LT(box[1], box[3]);
    const float margin = 0.1f * p.scale * H * camera.zoom;  // ears, in pixels
    int top = H, leftmost = W, rightmost = -1;
    for (int y = 0; y < H; ++y)
      for (int x = 0; x < W; ++x) {
        float d = 0;
        for (int k = 0; k < 3; ++k) d += std::abs(frame.at(0, y, x, k) - grey[k]);
        if (d < 0.03f) continue;
        const float py = y + 0.5f, px = x + 0.5f;
        EXPECT_GE(py, box[1] * H - 1.0f) << "painted above the box at " << x << "," << y;
        EXPECT_GE(px, box[0] * W - margin) << "painted left of the box at " << x << "," << y;
        EXPECT_LE(px, box[2] * W + margin) << "painted right of the box at " << x << "," << y;
        if (py <= box[3] * H) top = std::min(top, y), leftmost = std::min(leftmost, x), rightmost = std::max(rightmost, x);
      }
    EXPECT_LE(std::abs(top - box[1] * H), 1.5f);
    EXPECT_LE(leftmost, box[0] * W + 2.0f);
    EXPECT_GE(rightmost + 1, box[2] * W - 2.0f);
  }
}

// f0 by autocorrelation over voiced 40 ms frames (70..400 Hz), the median.
double medianF0(const io::Audio& a) {
  const int sr = a.sampleRate, win = sr / 25;
  std::vector<double> f0s;
  for (std::int64_t start = 0; start + win < a.frames(); start += win / 2) {
    const float* x = a.samples.data() + start;
    double energy = 0;
    for (int i = 0; i < win; ++i) energy += x[i] * x[i];
    if (energy / win < 1e-4) continue;
    double best = 0;
    int bestLag = 0;
    for (int lag = sr / 400; lag <= sr / 70; ++lag) {
      double c = 0;
      for (int i = 0; i + lag < win; ++i) c += x[i] * x[i + lag];
      if (c > best) best = c, bestLag = lag;
    }
    if (bestLag > 0 && best > 0.3 * energy) f0s.push_back(double(sr) / bestLag);
  }
  if (f0s.empty()) return 0;
  std::nth_element(f0s.begin(), f0s.begin() + f0s.size() / 2, f0s.end());
  return f0s[f0s.size() / 2];
}

TEST_F(SynthDataset, VoicePitchDiffersBetweenIdentities) {
  std::map<std::string, std::vector<double>> f0;
  for (const auto& c : ds().clips)
    for (const auto& s : c.subjects)
      if (s.voiceRef) f0[s.identity].push_back(medianF0(io::loadAudio(*s.voiceRef)));
  ASSERT_GE(f0.size(), 2u);
  std::vector<std::pair<double, std::string>> means;
  for (const auto& [id, v] : f0) {
    means.push_back({std::accumulate(v.begin(), v.end(), 0.0) / v.size(), id});
    std::printf("%s: f0 %.1f Hz (%zu references)\n", id.c_str(), means.back().first, v.size());
    EXPECT_GT(means.back().first, 60.0);
  }
  std::sort(means.begin(), means.end());
  for (std::size_t i = 1; i < means.size(); ++i)
    EXPECT_GT(means[i].first, 1.08 * means[i - 1].first) << means[i].second << " vs " << means[i - 1].second;
}

// Frame 0's left half minus its right half, per channel: the backdrop is the same on both
// sides, so what is left is the two faces' difference.
std::array<double, 3> leftMinusRight(const core::ImageBatch& frames) {
  std::array<double, 3> d{0, 0, 0};
  for (int y = 0; y < frames.height; ++y)
    for (int x = 0; x < frames.width; ++x)
      for (int k = 0; k < 3; ++k)
        d[k] += (x < frames.width / 2 ? 1.0 : -1.0) * frames.pixels[(std::size_t(y) * frames.width + x) * 3 + k];
  return d;
}

// Subjects stand where the manifest says, the captions say it when sides are random, and a
// world without random sides keeps Subject 1 on the left with captions silent about places.
TEST_F(SynthDataset, RandomSidesPutEachFaceWhereTheManifestAndCaptionSay) {
  auto o = tiny(11);
  o.identities = 4;
  o.clipsPerIdentity = 3;
  o.twoSubjectShare = 1.0;
  o.speechOnlyShare = 0.0;
  o.videoOnlyShare = 0.0;
  for (const bool random : {false, true}) {
    o.randomSides = random;
    const fs::path folder = root_ / (random ? "sides_random" : "sides_fixed");
    generateSynthDataset(o, folder);
    const auto set = presence::data::readDataset(folder);
    std::map<std::string, int> subjectOneAt;
    for (const auto& c : set.clips) {
      ASSERT_EQ(c.subjects.size(), 2u) << c.id;
      const auto& a = c.subjects[0].slot == 0 ? c.subjects[0] : c.subjects[1];
      const auto& b = c.subjects[0].slot == 0 ? c.subjects[1] : c.subjects[0];
      ASSERT_TRUE((a.position == "left" && b.position == "right") ||
                  (a.position == "right" && b.position == "left"))
          << c.id << ": " << a.position << ", " << b.position;
      ++subjectOneAt[a.position];
      const bool stated = c.caption.text.find("Subject 1, on the " + a.position + ", ") != std::string::npos &&
                          c.caption.text.find("Subject 2, on the " + b.position + ", ") != std::string::npos;
      EXPECT_EQ(stated, random) << c.caption.text;
      if (!random) {
        EXPECT_EQ(c.caption.text.find("on the "), std::string::npos) << c.caption.text;
      }
      // The picture agrees: the face colours' left-minus-right difference points the way of
      // the left subject's reference minus the right subject's.
      const auto& left = a.position == "left" ? a : b;
      const auto& right = a.position == "left" ? b : a;
      const auto refL = meanColour(io::readImage(left.faceRefs[0].path));
      const auto refR = meanColour(io::readImage(right.faceRefs[0].path));
      const auto seen = leftMinusRight(io::loadVideo(*c.video).frames);
      double dot = 0;
      for (int k = 0; k < 3; ++k) dot += seen[k] * (refL[k] - refR[k]);
      EXPECT_GT(dot, 0.0) << c.id << " (" << (random ? "random" : "fixed") << " sides)";
      // And the face boxes: each subject's head lies on its own side.
      ASSERT_TRUE(left.faceBox && right.faceBox) << c.id;
      EXPECT_LT(left.faceBox->x0 + left.faceBox->x1, 1.0) << c.id;
      EXPECT_GT(right.faceBox->x0 + right.faceBox->x1, 1.0) << c.id;
    }
    if (random) {
      EXPECT_GE(subjectOneAt["left"], 2);
      EXPECT_GE(subjectOneAt["right"], 2);
    } else {
      EXPECT_EQ(subjectOneAt["left"], int(set.clips.size()));
    }
  }
}

TEST_F(SynthDataset, AFailedGenerationLeavesNoFolderAndKeepsTheOldOne) {
  const fs::path out = root_ / "cancel";
  fs::create_directories(out);
  int calls = 0;
  auto cancelOnThird = [&] { return ++calls >= 3; };  // after two clips are written
  EXPECT_THROW(generateSynthDataset(tiny(7), out / "ds", {}, cancelOnThird), core::Cancelled);
  EXPECT_GE(calls, 3);
  EXPECT_TRUE(fs::is_empty(out)) << "left " << fs::directory_iterator(out)->path();

  // A previous dataset survives a failed regeneration untouched.
  auto small = tiny(9);
  small.identities = 1;
  small.clipsPerIdentity = 1;
  generateSynthDataset(small, out / "ds");
  const std::string before = slurp(out / "ds" / "manifest.jsonl");
  calls = 0;
  EXPECT_THROW(generateSynthDataset(tiny(7), out / "ds", {}, cancelOnThird), core::Cancelled);
  EXPECT_EQ(slurp(out / "ds" / "manifest.jsonl"), before);
  EXPECT_NO_THROW(presence::data::readDataset(out / "ds"));
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(out)) names.push_back(e.path().filename().string());
  EXPECT_EQ(names, std::vector<std::string>{"ds"});
}

TEST_F(SynthDataset, BadOptionsAreClearErrors) {
  auto o = tiny(1);
  o.width = 63;
  try {
    generateSynthDataset(o, root_ / "bad");
    ADD_FAILURE() << "no error";
  } catch (const core::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("width/height"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(root_ / "bad"));
}

TEST(SynthDatasetNode, WritesTheDatasetAndReportsBadParameters) {
  core::NodeRegistry registry;
  registerDataNodes(registry, "test");
  const auto* descriptor = registry.find("presence.synth_dataset");
  ASSERT_NE(descriptor, nullptr);
  TempDir dir;
  {
    presence::testing::FakeContext ctx(*descriptor, dir.path(), dir.path());
    ctx.set("folder", "sets/tiny")
        .set("identities", 2)
        .set("clips_per_identity", 1)
        .set("width", 32)
        .set("height", 32)
        .set("clip_seconds", 0.6);
    registry.create("presence.synth_dataset")->execute(ctx);
    ASSERT_TRUE(ctx.outputs.count("path"));
    EXPECT_EQ(ctx.outputs.at("path").as<std::string>(), (dir.path() / "sets/tiny").string());
    EXPECT_FALSE(ctx.outputs.at("files").as<core::FileList>().paths.empty());
    EXPECT_EQ(presence::data::readDataset(dir.path() / "sets/tiny").clips.size(), 2u);
    EXPECT_FALSE(ctx.progressSeen.empty());
  }
  {
    presence::testing::FakeContext ctx(*descriptor, dir.path(), dir.path());
    ctx.set("width", 33);
    try {
      registry.create("presence.synth_dataset")->execute(ctx);
      ADD_FAILURE() << "no error";
    } catch (const core::ParamError& e) {
      EXPECT_EQ(e.param(), "width");
    }
  }
}

}  // namespace
}  // namespace presence::nodes::data
