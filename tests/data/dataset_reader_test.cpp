// The dataset reader on hand-written datasets: what it accepts, the errors it gives (file, line,
// field), and the sampling helpers.
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "presence/core/error.hpp"
#include "presence/data/dataset.hpp"
#include "test_util.hpp"

namespace presence::data {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using presence::media::testing::TempDir;

void writeText(const fs::path& p, const std::string& s) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << s;
}

json speechClip(const std::string& id, double duration, const std::string& split = "train") {
  return {{"id", id},
          {"split", split},
          {"kind", "speech"},
          {"duration", duration},
          {"audio", "a.wav"},
          {"sample_rate", 16000},
          {"subjects",
           json::array({{{"identity", "id000"},
                         {"slot", 0},
                         {"voice_ref", {{"path", "a.wav"}, {"text", "hello"}}},
                         {"speech", json::array({{{"text", "hi"}, {"start", 0.1}, {"end", 0.5}}})}}})},
          {"caption", {{"text", "Subject 1 says: <S>hi<E>"}}}};
}

// A dataset with speech clips of the given durations (the reader only checks that media exist).
class HandWritten : public ::testing::Test {
 protected:
  void write(const std::vector<json>& clips) {
    writeText(dir_ / "dataset.json", R"({"format": "presence-dataset", "version": 1})");
    writeText(dir_ / "identities.jsonl",
              R"({"id": "id000", "name": "Ann", "voice": {"pitch": 40}, "face": {"hair": "red"}})"
              "\n");
    writeText(dir_ / "a.wav", "RIFF");
    std::string lines;
    for (const auto& c : clips) lines += c.dump() + "\n";
    writeText(dir_ / "manifest.jsonl", lines);
  }
  std::string errorOf() {
    try {
      readDataset(dir_.path());
    } catch (const core::InputError& e) {
      return e.what();
    }
    return "no error";
  }
  TempDir dir_;
};

TEST_F(HandWritten, ReadsAValidDataset) {
  write({speechClip("c0", 1.0), speechClip("c1", 2.0, "val")});
  const auto ds = readDataset(dir_.path());
  ASSERT_EQ(ds.clips.size(), 2u);
  EXPECT_EQ(ds.identities.at(0).voice["pitch"], 40);
  EXPECT_EQ(ds.clips[1].split, Split::Val);
  EXPECT_EQ(ds.clips[0].kind, ClipKind::Speech);
  EXPECT_EQ(ds.clips[0].subjects[0].speech[0].text, "hi");
  EXPECT_EQ(ds.clips[0].audio, dir_.path() / "a.wav");
  EXPECT_EQ(ds.clips[1].line, 2);
}

TEST_F(HandWritten, MissingMediaFileNamesFileLineAndField) {
  auto c = speechClip("c1", 1.0);
  c["audio"] = "missing.wav";
  write({speechClip("c0", 1.0), c});
  const std::string e = errorOf();
  EXPECT_NE(e.find("manifest.jsonl:2: field 'audio'"), std::string::npos) << e;
  EXPECT_NE(e.find("missing.wav' does not exist"), std::string::npos) << e;
}

TEST_F(HandWritten, WrongFieldTypeNamesFileLineAndField) {
  auto c = speechClip("c0", 1.0);
  c["duration"] = "1.0";
  write({c});
  const std::string e = errorOf();
  EXPECT_NE(e.find("manifest.jsonl:1: field 'duration': expected a number, got a string"), std::string::npos)
      << e;
}

TEST_F(HandWritten, UnknownIdentityKindAndSplit) {
  auto c = speechClip("c0", 1.0);
  c["subjects"][0]["identity"] = "nobody";
  write({c});
  std::string e = errorOf();
  EXPECT_NE(e.find("manifest.jsonl:1: field 'subjects[0].identity': identity 'nobody' is not declared"),
            std::string::npos)
      << e;
  c = speechClip("c0", 1.0);
  c["kind"] = "hologram";
  write({c});
  e = errorOf();
  EXPECT_NE(e.find("field 'kind': unknown kind 'hologram'"), std::string::npos) << e;
  c = speechClip("c0", 1.0);
  c["split"] = "test";
  write({c});
  e = errorOf();
  EXPECT_NE(e.find("field 'split': unknown split 'test'"), std::string::npos) << e;
  c = speechClip("c0", 1.0);
  c["subjects"][0]["position"] = "above";
  write({c});
  e = errorOf();
  EXPECT_NE(e.find("field 'subjects[0].position': unknown position 'above' (known: left, right, center)"),
            std::string::npos)
      << e;
  c["subjects"][0]["position"] = "right";
  write({c});
  EXPECT_EQ(readDataset(dir_.path()).clips.at(0).subjects.at(0).position, "right");
  auto second = c["subjects"][0];
  second["slot"] = 1;
  c["subjects"].push_back(second);  // both on the right
  write({c});
  e = errorOf();
  EXPECT_NE(e.find("field 'subjects[1].position': two subjects of one clip stand right"), std::string::npos) << e;
}

TEST_F(HandWritten, FaceBoxIsReadAndBadBoxesNameTheField) {
  auto c = speechClip("c0", 1.0);
  c["subjects"][0]["face_box"] = {0.1, 0.2, 0.45, 0.9};
  write({c});
  const auto box = readDataset(dir_.path()).clips.at(0).subjects.at(0).faceBox;
  ASSERT_TRUE(box.has_value());
  EXPECT_DOUBLE_EQ(box->x0, 0.1);
  EXPECT_DOUBLE_EQ(box->y1, 0.9);
  c = speechClip("c0", 1.0);
  write({c});
  EXPECT_FALSE(readDataset(dir_.path()).clips.at(0).subjects.at(0).faceBox.has_value());
  const std::pair<json, std::string> bad[] = {
      {json::array({0.1, 0.2, 0.4}), "field 'subjects[0].face_box': expected [x0, y0, x1, y1], got 3 values"},
      {json::array({0.1, "top", 0.4, 0.5}), "field 'subjects[0].face_box[1]': expected a number, got a string"},
      {json::array({0.5, 0.2, 0.4, 0.9}), "field 'subjects[0].face_box': must satisfy 0 <= x0 < x1 <= 1"},
      {json::array({0.1, 0.2, 0.4, 1.5}), "field 'subjects[0].face_box': must satisfy 0 <= x0 < x1 <= 1"}};
  for (const auto& [value, message] : bad) {
    c["subjects"][0]["face_box"] = value;
    write({c});
    const std::string e = errorOf();
    EXPECT_NE(e.find("manifest.jsonl:1: " + message), std::string::npos) << e;
  }
}

TEST_F(HandWritten, KindRulesAndTimings) {
  auto c = speechClip("c0", 1.0);
  c["kind"] = "av";  // an av clip needs a video
  write({c});
  EXPECT_NE(errorOf().find("field 'video': a 'av' clip needs a video file"), std::string::npos) << errorOf();
  c = speechClip("c0", 1.0);
  c["subjects"][0]["speech"][0]["end"] = 3.0;  // beyond the clip
  write({c});
  EXPECT_NE(errorOf().find("field 'subjects[0].speech[0]'"), std::string::npos) << errorOf();
  c = speechClip("c0", 1.0);
  write({c, c});
  EXPECT_NE(errorOf().find("manifest.jsonl:2: field 'id': clip 'c0' appears twice"), std::string::npos)
      << errorOf();
}

TEST_F(HandWritten, BadDescriptorAndBadJson) {
  write({speechClip("c0", 1.0)});
  writeText(dir_ / "dataset.json", R"({"format": "presence-dataset", "version": 9})");
  EXPECT_NE(errorOf().find("dataset.json: field 'version': version 9 is not supported"), std::string::npos)
      << errorOf();
  write({speechClip("c0", 1.0)});
  writeText(dir_ / "identities.jsonl",
            "{\"id\": \"a\", \"name\": \"A\", \"voice\": {}, \"face\": {}}\n{oops\n");
  EXPECT_NE(errorOf().find("identities.jsonl:2: not valid JSON"), std::string::npos) << errorOf();
}

TEST_F(HandWritten, FilterShuffleBucketsAndHeldOut) {
  std::vector<json> clips;
  for (int i = 0; i < 20; ++i)
    clips.push_back(speechClip("c" + std::to_string(i), 0.5 + 0.25 * ((i * 7) % 20)));
  write(clips);
  const auto ds = readDataset(dir_.path());
  const auto all = filterClips(ds, ClipKind::Speech);
  ASSERT_EQ(all.size(), 20u);
  EXPECT_TRUE(filterClips(ds, ClipKind::Video).empty());
  EXPECT_TRUE(filterClips(ds, {}, Split::Val).empty());

  EXPECT_EQ(shuffled(all, 3), shuffled(all, 3));
  EXPECT_NE(shuffled(all, 3), shuffled(all, 4));

  const auto batches = bucketedBatches(ds, all, 4, 11);
  ASSERT_EQ(batches.size(), 5u);
  std::multiset<std::size_t> seen;
  double spread = 0;
  for (const auto& b : batches) {
    double lo = 1e9, hi = 0;
    for (auto i : b) {
      seen.insert(i);
      lo = std::min(lo, ds.clips[i].duration);
      hi = std::max(hi, ds.clips[i].duration);
    }
    spread = std::max(spread, hi - lo);
  }
  EXPECT_EQ(seen, std::multiset<std::size_t>(all.begin(), all.end()));
  // Durations are 0.5..5.25 in steps of 0.25: a batch of 4 neighbours spans 0.75 s.
  EXPECT_LE(spread, 0.75 + 1e-9);
  EXPECT_EQ(batches, bucketedBatches(ds, all, 4, 11));
  EXPECT_THROW(bucketedBatches(ds, all, 0, 1), core::InputError);

  const auto split = heldOutSplit(ds, all, 0.25, 5);
  EXPECT_EQ(split.val.size(), 5u);
  EXPECT_EQ(split.train.size(), 15u);
  std::set<std::size_t> both(split.val.begin(), split.val.end());
  both.insert(split.train.begin(), split.train.end());
  EXPECT_EQ(both.size(), 20u);
}

TEST_F(HandWritten, HeldOutUsesTheManifestsSplit) {
  write({speechClip("c0", 1.0), speechClip("c1", 1.0, "val"), speechClip("c2", 1.0)});
  const auto ds = readDataset(dir_.path());
  const auto split = heldOutSplit(ds, filterClips(ds), 0.5, 1);
  EXPECT_EQ(split.val, std::vector<std::size_t>{1});
  EXPECT_EQ(split.train, (std::vector<std::size_t>{0, 2}));
}

}  // namespace
}  // namespace presence::data
