// The media nodes: descriptors follow the conventions, and the nodes run (through a stand-in
// context) with clear failures for missing paths and bad prefixes.
#include "media_nodes.hpp"

#include <map>
#include <set>

#include "presence/core/node.hpp"
#include "fake_context.hpp"
#include "presence/core/registry.hpp"
#include "test_util.hpp"

namespace presence::media::testing {
namespace {

using namespace presence::core;
using presence::testing::FakeContext;

struct MediaNodes : ::testing::Test {
  MediaNodes() { nodes::media::registerMediaNodes(registry); }
  const NodeDescriptor& d(const std::string& id) {
    const NodeDescriptor* found = registry.find(id);
    EXPECT_NE(found, nullptr) << id;
    return *found;
  }
  /// Runs node `id` with `ctx`; returns the context for its outputs.
  void run(const std::string& id, FakeContext& ctx) { registry.create(id)->execute(ctx); }
  FakeContext context(const std::string& id) { return FakeContext(d(id), assets, out.path()); }

  NodeRegistry registry;
  TempDir out;
  fs::path assets = fs::path(PRESENCE_SOURCE_DIR) / "samples/assets";
};

std::string signature(const NodeDescriptor& d) {
  std::string s = d.id + " (" + d.category + ")";
  for (const auto& p : d.inputs) s += " in:" + p.name + ":" + p.type + (p.optional ? "?" : "");
  for (const auto& p : d.params)
    s += " param:" + p.name + ":" + std::string(toString(p.type)) + "=" + p.defaultValue.dump();
  for (const auto& p : d.outputs) s += " out:" + p.name + ":" + p.type;
  return s;
}

TEST_F(MediaNodes, HaveTheAgreedIdsPortsAndParameters) {
  const std::set<std::string> expected = {
      "presence.load_image (media/image) param:paths:PATH=\"\" param:fit:ENUM=\"error\" out:image:IMAGE",
      "presence.save_image_sequence (media/image) in:image:IMAGE param:format:ENUM=\"exr\" "
      "param:filename_prefix:STRING=\"frame\" param:fps:FLOAT=25.0 out:files:FILES",
      "presence.load_audio (media/audio) param:path:PATH=\"\" param:sample_rate:INT=16000 "
      "param:channels:ENUM=\"mono\" out:audio:AUDIO",
      "presence.save_audio (media/audio) in:audio:AUDIO param:filename_prefix:STRING=\"audio\" "
      "out:files:FILES",
      "presence.load_video (media/video) param:path:PATH=\"\" param:max_frames:INT=0 out:video:VIDEO "
      "out:image:IMAGE out:audio:AUDIO out:fps:FLOAT",
      "presence.mux_video (media/video) in:image:IMAGE in:audio:AUDIO? param:fps:FLOAT=25.0 param:crf:INT=20 "
      "param:filename_prefix:STRING=\"video\" out:files:FILES",
      "presence.image_resize (media/image) in:image:IMAGE param:width:INT=512 param:height:INT=512 "
      "out:image:IMAGE",
      "presence.image_center_crop (media/image) in:image:IMAGE param:width:INT=512 param:height:INT=512 "
      "out:image:IMAGE",
      "presence.pack_views_grid (media/image) in:image:IMAGE param:width:INT=512 param:height:INT=512 "
      "out:image:IMAGE",
      "presence.repeat_frames (media/image) in:image:IMAGE param:count:INT=25 out:image:IMAGE",
  };
  std::set<std::string> actual;
  for (const auto* desc : registry.all()) actual.insert(signature(*desc));
  EXPECT_EQ(actual, expected);
}

TEST_F(MediaNodes, FollowTheConventions) {
  for (const auto* desc : registry.all()) {
    SCOPED_TRACE(desc->id);
    EXPECT_TRUE(checkDescriptor(*desc).empty());
    EXPECT_EQ(desc->version, 1);
    EXPECT_EQ(desc->category.rfind("media/", 0), 0u);
    EXPECT_GE(desc->description.size(), 40u);
    EXPECT_EQ(desc->comfyName.rfind("Presence", 0), 0u);
    EXPECT_FALSE(desc->displayName.empty());
    for (const auto& p : desc->inputs) EXPECT_GE(p.tooltip.size(), 10u) << p.name;
    for (const auto& p : desc->outputs) EXPECT_GE(p.tooltip.size(), 10u) << p.name;
    for (const auto& p : desc->params) {
      EXPECT_GE(p.tooltip.size(), 10u) << p.name;
      EXPECT_TRUE(checkParamValue(p, p.defaultValue).empty()) << p.name;
      if (p.type == ParamType::Int || p.type == ParamType::Float) {
        EXPECT_TRUE(p.min && p.max) << p.name;
      }
      if (p.type == ParamType::Enum) {
        EXPECT_GE(p.options.size(), 2u) << p.name;
      }
      if (p.type == ParamType::Path) {
        EXPECT_EQ(p.widget, "file") << p.name;
      }
    }
    const bool saves = desc->findOutput("files") != nullptr;
    EXPECT_EQ(desc->sideEffects, saves) << "saving nodes, and only they, have side effects";
  }
  EXPECT_TRUE(d("presence.load_image").findParam("paths")->multiline);
}

TEST_F(MediaNodes, LoadNodesWithoutAPathSayNoFileGiven) {
  for (const auto& [id, param] :
       std::vector<std::pair<std::string, std::string>>{{"presence.load_image", "paths"},
                                                        {"presence.load_audio", "path"},
                                                        {"presence.load_video", "path"}}) {
    SCOPED_TRACE(id);
    FakeContext ctx = context(id);
    try {
      run(id, ctx);
      ADD_FAILURE() << "no exception";
    } catch (const ParamError& e) {
      EXPECT_EQ(e.param(), param);
      EXPECT_NE(std::string(e.what()).find("no file given"), std::string::npos) << e.what();
    }
  }
}

TEST_F(MediaNodes, MissingFilesFailTheirParameter) {
  FakeContext ctx = context("presence.load_image");
  ctx.set("paths", "astronaut_256.png\nno_such_view.png");
  try {
    run("presence.load_image", ctx);
    ADD_FAILURE() << "no exception";
  } catch (const ParamError& e) {
    EXPECT_EQ(e.param(), "paths");
    EXPECT_NE(std::string(e.what()).find("no_such_view.png': no such file"), std::string::npos) << e.what();
  }
}

TEST_F(MediaNodes, LoadCropRepeatAndSave) {
  if (!fs::exists(assets / "astronaut_256.png")) GTEST_SKIP() << "sample assets missing";
  FakeContext load = context("presence.load_image");
  load.set("paths", "# the face, then a second view\nastronaut_256.png\n\n  coffee_256.jpg  \n")
      .set("fit", "resize");
  run("presence.load_image", load);
  const auto& views = load.outputs.at("image").as<ImageBatch>();
  EXPECT_EQ(views.count, 2);
  EXPECT_EQ(load.previews, 1);

  FakeContext grid = context("presence.pack_views_grid");
  grid.link("image", load.outputs.at("image")).set("width", 128).set("height", 64);
  run("presence.pack_views_grid", grid);
  const auto& packed = grid.outputs.at("image").as<ImageBatch>();
  EXPECT_EQ(packed.count, 1);
  EXPECT_EQ(packed.width, 128);

  FakeContext crop = context("presence.image_center_crop");
  crop.link("image", load.outputs.at("image")).set("width", 32).set("height", 32);
  run("presence.image_center_crop", crop);

  FakeContext repeat = context("presence.repeat_frames");
  repeat.link("image", crop.outputs.at("image")).set("count", 3);
  run("presence.repeat_frames", repeat);
  EXPECT_EQ(repeat.outputs.at("image").as<ImageBatch>().count, 6);

  FakeContext save = context("presence.save_image_sequence");
  save.link("image", repeat.outputs.at("image")).set("format", "png").set("filename_prefix", "frames/face");
  run("presence.save_image_sequence", save);
  const auto& files = save.outputs.at("files").as<FileList>().paths;
  ASSERT_EQ(files.size(), 6u);
  EXPECT_EQ(fs::path(files[5]), out.path() / "frames/face_00005.png");
  for (const auto& f : files) EXPECT_TRUE(fs::exists(f)) << f;
  EXPECT_DOUBLE_EQ(save.progressSeen.back(), 1.0);
}

TEST_F(MediaNodes, AudioAndVideoNodes) {
  // Sound from a file, frames from an image: mux, then load the clip back.
  writeWav(sine(220.0, 1.0, 44100, 2), out / "voice.wav");
  FakeContext loadAudio = context("presence.load_audio");
  loadAudio.set("path", (out / "voice.wav").string());
  run("presence.load_audio", loadAudio);
  const auto& voice = loadAudio.outputs.at("audio").as<Audio>();
  EXPECT_EQ(voice.sampleRate, 16000);
  EXPECT_EQ(voice.channels, 1);

  FakeContext saveAudio = context("presence.save_audio");
  saveAudio.link("audio", loadAudio.outputs.at("audio")).set("filename_prefix", "copy");
  run("presence.save_audio", saveAudio);
  EXPECT_TRUE(fs::exists(out / "copy.wav"));

  FakeContext mux = context("presence.mux_video");
  mux.link("image", Value::make(types::Image, gradient(10, 24, 24)))
      .link("audio", loadAudio.outputs.at("audio"))
      .set("fps", 10.0)
      .set("filename_prefix", "clip");
  run("presence.mux_video", mux);
  const auto& written = mux.outputs.at("files").as<FileList>().paths;
  ASSERT_EQ(written.size(), 1u);
  EXPECT_EQ(fs::path(written[0]), out / "clip.mp4");

  FakeContext relative(d("presence.load_video"), out.path(),
                       out.path());  // path relative to the graph folder
  relative.set("path", "clip.mp4");
  run("presence.load_video", relative);
  EXPECT_EQ(relative.outputs.at("image").as<ImageBatch>().count, 10);
  EXPECT_DOUBLE_EQ(relative.outputs.at("fps").as<double>(), 10.0);
  EXPECT_NEAR(relative.outputs.at("audio").as<Audio>().seconds(), 1.0, 1024.0 / 16000);
  EXPECT_EQ(relative.outputs.at("video").as<Video>().frames.count, 10);
}

TEST_F(MediaNodes, LoadVideoWithoutSoundGivesSilence) {
  muxMp4(gradient(8, 16, 16), 16.0, nullptr, out / "mute.mp4", fastMp4());
  FakeContext ctx(d("presence.load_video"), out.path(), out.path());
  ctx.set("path", "mute.mp4");
  run("presence.load_video", ctx);
  const auto& audio = ctx.outputs.at("audio").as<Audio>();
  EXPECT_EQ(audio.channels, 1);
  EXPECT_EQ(audio.sampleRate, 16000);
  EXPECT_NEAR(audio.seconds(), 0.5, 1e-9);
  EXPECT_FALSE(ctx.outputs.at("video").as<Video>().audio.has_value());
}

TEST_F(MediaNodes, SavingNodesRefusePrefixesOutsideTheOutputFolder) {
  for (const std::string prefix : {"../escape", "/tmp/absolute", "", "sub/"}) {
    SCOPED_TRACE(prefix);
    FakeContext ctx = context("presence.mux_video");
    ctx.link("image", Value::make(types::Image, gradient(2, 8, 8))).set("filename_prefix", prefix);
    try {
      run("presence.mux_video", ctx);
      ADD_FAILURE() << "no exception";
    } catch (const ParamError& e) {
      EXPECT_EQ(e.param(), "filename_prefix") << e.what();
    }
  }
  EXPECT_TRUE(out.entries().empty());
}

TEST_F(MediaNodes, CancelledMuxLeavesNothing) {
  FakeContext ctx = context("presence.mux_video");
  ctx.link("image", Value::make(types::Image, gradient(5, 8, 8)));
  ctx.cancel = true;
  EXPECT_THROW(run("presence.mux_video", ctx), Cancelled);
  EXPECT_TRUE(out.entries().empty());
}

}  // namespace
}  // namespace presence::media::testing
