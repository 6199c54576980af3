// End to end: the presence-media plugin loaded through the plugin ABI runs the sample graph
// samples/graphs/media_roundtrip.json with the executor.
#include "presence/core/executor.hpp"
#include "presence/core/graph.hpp"
#include "presence/core/plugin_loader.hpp"
#include "test_util.hpp"

namespace presence::media::testing {
namespace {

using namespace presence::core;

TEST(MediaGraph, RoundTripSampleRuns) {
  NodeRegistry registry;
  PluginLoader loader(registry);
  const PluginReport report = loader.load(fs::path(PRESENCE_MEDIA_PLUGIN));
  ASSERT_TRUE(report.loaded) << report.error;
  EXPECT_EQ(report.name, "presence-media");
  EXPECT_EQ(report.nodes.size(), 10u);

  const fs::path graphFile = fs::path(PRESENCE_SOURCE_DIR) / "samples/graphs/media_roundtrip.json";
  const GraphLoadResult loaded = loadGraphFile(graphFile);
  for (const auto& diag : loaded.diagnostics) ADD_FAILURE() << diag.format();
  ASSERT_TRUE(loaded.ok());

  TempDir out;
  Executor executor(registry);
  RunOptions options;
  options.outputDirectory = out.path();
  const RunResult result = executor.run(loaded.graph, options);
  for (const auto& diag : result.diagnostics) ADD_FAILURE() << diag.format();
  ASSERT_TRUE(result.ok()) << toString(result.status);

  int exr = 0, wav = 0, mp4 = 0;
  fs::path video;
  for (const auto& f : result.filesWritten) {
    EXPECT_TRUE(fs::exists(f)) << f;
    const auto ext = fs::path(f).extension();
    exr += ext == ".exr";
    wav += ext == ".wav";
    if (ext == ".mp4") {
      ++mp4;
      video = f;
    }
  }
  EXPECT_EQ(exr, 50);
  EXPECT_EQ(wav, 1);
  ASSERT_EQ(mp4, 1);
  for (const auto& name : out.entries()) EXPECT_NE(name[0], '.') << "temporary file left: " << name;

  const MediaInfo info = probeMedia(video);
  ASSERT_EQ(info.count("video"), 1);
  ASSERT_EQ(info.count("audio"), 1);
  EXPECT_EQ(info.first("video")->frameCount, 50);
  EXPECT_NEAR(info.first("video")->fps, 25.0, 1e-9);
  EXPECT_NEAR(info.first("video")->durationSeconds, 2.0, 1e-6);
  EXPECT_NEAR(info.first("audio")->durationSeconds, 2.0, 1024.0 / info.first("audio")->sampleRate);
  const Video clip = loadVideo(video);
  EXPECT_EQ(clip.frames.width, 256);
  EXPECT_EQ(clip.frames.height, 256);
}

}  // namespace
}  // namespace presence::media::testing
