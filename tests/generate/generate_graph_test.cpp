// The sample graphs run end to end with the tiny preset and write files FFmpeg and OpenEXR read
// back; caching through real graphs; same seed same bits; cancellation; the ComfyUI import; the
// plugin through its ABI.
#include <ImfChannelList.h>
#include <ImfHeader.h>
#include <ImfInputFile.h>

#include <atomic>
#include <fstream>
#include <set>

#include "generate_test_util.hpp"
#include "presence/core/comfy_import.hpp"
#include "presence/core/executor.hpp"
#include "presence/core/plugin_loader.hpp"
#include "test_util.hpp"

namespace presence::generate::testing {
namespace {

using media::testing::TempDir;

RunResult runGraph(Executor& executor, const Graph& g, const fs::path& out,
                   std::shared_ptr<CancelToken> cancel = nullptr) {
  RunOptions options;
  options.outputDirectory = out;
  options.cancel = std::move(cancel);
  return executor.run(g, options);
}

// What each sample graph must write: 13 frames of 64 x 64 at 24 fps with 13/24 s of sound.
void expectClipFiles(const RunResult& result, const std::string& folder) {
  int exr = 0, wav = 0, mp4 = 0;
  fs::path video, sound, frame;
  for (const auto& f : result.filesWritten) {
    EXPECT_TRUE(fs::exists(f)) << f;
    EXPECT_NE(f.find(folder), std::string::npos) << f;
    const auto ext = fs::path(f).extension();
    if (ext == ".exr") ++exr, frame = f;
    if (ext == ".wav") ++wav, sound = f;
    if (ext == ".mp4") ++mp4, video = f;
  }
  EXPECT_EQ(exr, 13);
  ASSERT_EQ(wav, 1);
  ASSERT_EQ(mp4, 1);
  const double seconds = 13.0 / 24.0;

  const media::MediaInfo info = media::probeMedia(video);
  ASSERT_EQ(info.count("video"), 1);
  ASSERT_EQ(info.count("audio"), 1);
  EXPECT_EQ(info.first("video")->codec, "h264");
  EXPECT_EQ(info.first("audio")->codec, "aac");
  EXPECT_EQ(info.first("video")->frameCount, 13);
  EXPECT_EQ(info.first("video")->width, 64);
  EXPECT_NEAR(info.first("video")->durationSeconds, seconds, 1e-3);
  EXPECT_NEAR(info.first("audio")->durationSeconds, seconds, 2048.0 / info.first("audio")->sampleRate);

  const media::MediaInfo wavInfo = media::probeMedia(sound);
  ASSERT_EQ(wavInfo.count("audio"), 1);
  EXPECT_EQ(wavInfo.first("audio")->sampleRate, 16000);
  EXPECT_NEAR(wavInfo.first("audio")->durationSeconds, seconds, 1.0 / 16000);

  Imf::InputFile exrFile(frame.c_str());
  const auto window = exrFile.header().dataWindow();
  EXPECT_EQ(window.max.x - window.min.x + 1, 64);
  EXPECT_EQ(window.max.y - window.min.y + 1, 64);
  EXPECT_NE(exrFile.header().channels().findChannel("R"), nullptr);
}

class SampleGraphs : public ::testing::TestWithParam<std::string> {};

TEST_P(SampleGraphs, RunWithTheTinyPresetAndWriteReadableFiles) {
  const std::string name = GetParam();
  Graph g = tinyGraph(sampleGraph(name + ".json"));
  TempDir out;
  Executor executor(registry());
  int previews = 0, progress = 0;
  executor.addListener([&](const Event& e) {
    if (e.node == "sampler" && e.kind == EventKind::Preview) ++previews;
    if (e.node == "sampler" && e.kind == EventKind::Progress) ++progress;
  });
  const RunResult result = runGraph(executor, g, out.path());
  for (const auto& d : result.diagnostics) ADD_FAILURE() << d.format();
  ASSERT_TRUE(result.ok()) << toString(result.status);
  expectClipFiles(result, name.substr(std::string("generate_").size()));
  EXPECT_GE(progress, 2);
  EXPECT_EQ(previews, 1);  // after step 1 of 2 (none after the last)
}

INSTANTIATE_TEST_SUITE_P(Generate, SampleGraphs,
                         ::testing::Values("generate_one_subject", "generate_multi_view", "generate_two_subjects",
                                           "generate_voice_only", "generate_face_only"));

TEST(GenerateGraph, ChangingOnlyTheSeedRerunsOnlyTheSamplerAndDecoder) {
  Graph g = tinyGraph(sampleGraph("generate_two_subjects.json"));
  g.outputs = {"decode"};
  TempDir out;
  Executor executor(registry());
  std::set<std::string> ran, cached;
  executor.addListener([&](const Event& e) {
    if (e.kind == EventKind::Started) ran.insert(e.node);
    if (e.kind == EventKind::Cached) cached.insert(e.node);
  });
  const RunResult first = runGraph(executor, g, out.path());
  ASSERT_TRUE(first.ok());
  const auto firstImage = first.output("decode", "image").as<ImageBatch>().pixels;

  ran.clear();
  cached.clear();
  g.find("sampler")->params["seed"] = 43;
  const RunResult second = runGraph(executor, g, out.path());
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(ran, (std::set<std::string>{"sampler", "decode"}));
  // The sampler's inputs come from the cache; what is upstream of them is not even visited.
  EXPECT_EQ(cached, (std::set<std::string>{"model", "subject_b", "caption"}));
  EXPECT_NE(second.output("decode", "image").as<ImageBatch>().pixels, firstImage);

  // The same seed in a fresh executor (nothing cached) gives the same bits.
  g.find("sampler")->params["seed"] = 42;
  Executor fresh(registry());
  const RunResult again = runGraph(fresh, g, out.path());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again.output("decode", "image").as<ImageBatch>().pixels, firstImage);
  EXPECT_EQ(again.output("decode", "audio").as<Audio>().samples, first.output("decode", "audio").as<Audio>().samples);
}

// negative_pass_faces 'drop' takes the face references out of the negative pass: the picture
// changes when there are faces to take out, and nothing changes without them; 'as_trained' drops
// them for the built-in model, whose checkpoint records that its training taught that pass. On
// the built-in trained model: random weights start with a zero output head, so nothing conditions
// their predictions and both passes agree whatever they are given.
TEST(GenerateGraph, NegativePassFacesChangesThePictureOnlyWhenThereAreFaces) {
  auto decoded = [](const char* graph, const char* negativePassFaces) {
    GraphLoadResult loaded = loadGraphFile(sampleGraph(graph));
    for (const auto& d : loaded.diagnostics) ADD_FAILURE() << d.format();
    Graph g = loaded.graph;
    shrinkSampling(g);
    setAll(g, "presence.sampler", "negative_pass_faces", negativePassFaces);
    g.outputs = {"decode"};
    TempDir out;
    Executor executor(registry());
    const RunResult r = runGraph(executor, g, out.path());
    for (const auto& d : r.diagnostics) ADD_FAILURE() << d.format();
    EXPECT_TRUE(r.ok()) << graph;
    return std::make_pair(r.output("decode", "image").as<ImageBatch>().pixels,
                          r.output("decode", "audio").as<Audio>().samples);
  };
  const auto facesDropped = decoded("generate_two_subjects.json", "drop");
  const auto facesKept = decoded("generate_two_subjects.json", "keep");
  EXPECT_NE(facesDropped.first, facesKept.first);
  EXPECT_EQ(decoded("generate_two_subjects.json", "as_trained").first, facesDropped.first);

  const auto voiceOnlyDropped = decoded("generate_voice_only.json", "drop");
  const auto voiceOnlyKept = decoded("generate_voice_only.json", "keep");
  EXPECT_EQ(voiceOnlyDropped.first, voiceOnlyKept.first);
  EXPECT_EQ(voiceOnlyDropped.second, voiceOnlyKept.second);
}

TEST(GenerateGraph, CancellingDuringSamplingStopsWithinAStepAndWritesNothing) {
  Graph g = tinyGraph(sampleGraph("generate_two_subjects.json"));
  g.find("sampler")->params["steps"] = 20;
  TempDir out;
  Executor executor(registry());
  auto cancel = std::make_shared<CancelToken>();
  std::atomic<int> stepsAfterCancel{0};
  std::atomic<bool> cancelled{false};
  executor.addListener([&](const Event& e) {
    if (e.node != "sampler" || e.kind != EventKind::Progress || e.message.rfind("step", 0) != 0) return;
    if (cancelled) ++stepsAfterCancel;
    if (e.message.rfind("step 2/", 0) == 0) {
      cancelled = true;
      cancel->cancel();
    }
  });
  const RunResult result = runGraph(executor, g, out.path(), cancel);
  EXPECT_EQ(result.status, RunStatus::Cancelled);
  EXPECT_EQ(stepsAfterCancel.load(), 0);
  EXPECT_TRUE(result.filesWritten.empty());
  std::vector<std::string> left;
  for (const auto& e : fs::recursive_directory_iterator(out.path()))
    if (e.is_regular_file()) left.push_back(e.path().string());
  EXPECT_TRUE(left.empty()) << left.front();
}

TEST(GenerateGraph, TheComfyPromptOfTheTwoSubjectGraphImportsAndRuns) {
  const fs::path file = sampleGraph("comfy/generate_two_subjects_api.json");
  std::ifstream in(file);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  GraphLoadResult imported = importComfyPromptText(text, registry(), file.string());
  for (const auto& d : imported.diagnostics) ADD_FAILURE() << d.format();
  ASSERT_TRUE(imported.ok());
  Graph g = imported.graph;
  g.directory = file.parent_path();
  EXPECT_EQ(g.nodes.size(), 13u);
  shrinkToTiny(g);
  TempDir out;
  Executor executor(registry());
  const RunResult result = runGraph(executor, g, out.path());
  for (const auto& d : result.diagnostics) ADD_FAILURE() << d.format();
  ASSERT_TRUE(result.ok());
  expectClipFiles(result, "two_subjects");
}

TEST(GeneratePlugin, LoadsThroughTheAbi) {
  NodeRegistry reg;
  PluginLoader loader(reg);
  const PluginReport report = loader.load(fs::path(PRESENCE_GENERATE_PLUGIN));
  ASSERT_TRUE(report.loaded) << report.error;
  EXPECT_EQ(report.name, "presence-generate");
  std::set<std::string> nodes(report.nodes.begin(), report.nodes.end());
  EXPECT_EQ(nodes, (std::set<std::string>{"presence.load_model", "presence.identity_encode", "presence.caption_compose",
                                          "presence.sampler", "presence.vae_decode", "presence.vae_encode"}));
}

}  // namespace
}  // namespace presence::generate::testing
