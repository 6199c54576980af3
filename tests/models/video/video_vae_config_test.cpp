// Wan2.2 VAE spec: the manifest against the public file's counts, presets, the strict report.
#include "presence/models/video/video_vae_config.hpp"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "presence/core/error.hpp"

namespace presence::models::video {
namespace {

using Shape = std::vector<int64_t>;

TEST(VideoVaeManifest, PublicFileCounts) {
  const VideoVaeManifest m = buildVideoVaeManifest(videoVaePreset("wan22"));
  EXPECT_EQ(m.tensorCount(), 196);
  EXPECT_EQ(m.parameterCount(), 704688668);
  const auto shape = [&](const std::string& name) {
    const int64_t i = m.find(name);
    EXPECT_GE(i, 0) << name;
    return i >= 0 ? m.tensors[static_cast<size_t>(i)].shape : Shape{-1};
  };
  EXPECT_EQ(shape("encoder.conv1.weight"), (Shape{160, 12, 3, 3, 3}));
  EXPECT_EQ(shape("encoder.downsamples.0.downsamples.0.residual.0.gamma"), (Shape{160, 1, 1, 1}));
  EXPECT_EQ(shape("encoder.downsamples.0.downsamples.2.resample.1.weight"), (Shape{160, 160, 3, 3}));
  EXPECT_EQ(shape("encoder.downsamples.1.downsamples.0.shortcut.weight"), (Shape{320, 160, 1, 1, 1}));
  EXPECT_EQ(shape("encoder.downsamples.1.downsamples.2.time_conv.weight"), (Shape{320, 320, 3, 1, 1}));
  EXPECT_EQ(shape("encoder.downsamples.2.downsamples.2.time_conv.bias"), (Shape{640}));
  EXPECT_EQ(shape("encoder.middle.1.norm.gamma"), (Shape{640, 1, 1}));
  EXPECT_EQ(shape("encoder.middle.1.to_qkv.weight"), (Shape{1920, 640, 1, 1}));
  EXPECT_EQ(shape("encoder.head.2.weight"), (Shape{96, 640, 3, 3, 3}));
  EXPECT_EQ(shape("conv1.weight"), (Shape{96, 96, 1, 1, 1}));
  EXPECT_EQ(shape("conv2.weight"), (Shape{48, 48, 1, 1, 1}));
  EXPECT_EQ(shape("decoder.conv1.weight"), (Shape{1024, 48, 3, 3, 3}));
  EXPECT_EQ(shape("decoder.upsamples.0.upsamples.3.time_conv.weight"), (Shape{2048, 1024, 3, 1, 1}));
  EXPECT_EQ(shape("decoder.upsamples.1.upsamples.3.time_conv.weight"), (Shape{2048, 1024, 3, 1, 1}));
  EXPECT_EQ(shape("decoder.upsamples.2.upsamples.0.shortcut.weight"), (Shape{512, 1024, 1, 1, 1}));
  EXPECT_EQ(shape("decoder.upsamples.2.upsamples.3.resample.1.weight"), (Shape{512, 512, 3, 3}));
  EXPECT_EQ(shape("decoder.upsamples.3.upsamples.2.residual.6.weight"), (Shape{256, 256, 3, 3, 3}));
  EXPECT_EQ(shape("decoder.head.2.weight"), (Shape{12, 256, 3, 3, 3}));
  // No temporal conv where time is not resampled, no resample at the last level.
  EXPECT_EQ(m.find("encoder.downsamples.0.downsamples.2.time_conv.weight"), -1);
  EXPECT_EQ(m.find("encoder.downsamples.3.downsamples.2.resample.1.weight"), -1);
  EXPECT_EQ(m.find("decoder.upsamples.2.upsamples.3.time_conv.weight"), -1);
  EXPECT_EQ(m.find("decoder.upsamples.3.upsamples.3.resample.1.weight"), -1);
  // The public order: encoder, conv1, conv2, decoder.
  EXPECT_EQ(m.tensors.front().name, "encoder.conv1.weight");
  EXPECT_EQ(m.tensors.back().name, "decoder.head.2.bias");
  EXPECT_LT(m.find("encoder.head.2.bias"), m.find("conv1.weight"));
  EXPECT_LT(m.find("conv2.bias"), m.find("decoder.conv1.weight"));
  EXPECT_NE(formatVideoVaeManifest(m).find("conv2.weight\t[48, 48, 1, 1, 1]\tf32\n"), std::string::npos);
}

TEST(VideoVaeManifest, PresetsAndSummary) {
  for (const auto& name : videoVaePresetNames()) {
    const WanVaeConfig c = videoVaePreset(name);
    EXPECT_NO_THROW(c.validate()) << name;
    EXPECT_EQ(c.temporalCompression(), 4) << name;
    EXPECT_EQ(c.spatialCompression(), 16) << name;
    EXPECT_GT(buildVideoVaeManifest(c).parameterCount(), 0) << name;
  }
  const WanVaeConfig wan = videoVaePreset("wan22");
  ASSERT_EQ(wan.latentMean.size(), 48u);
  ASSERT_EQ(wan.latentStd.size(), 48u);
  EXPECT_DOUBLE_EQ(wan.latentMean.front(), -0.2289);
  EXPECT_DOUBLE_EQ(wan.latentMean.back(), -0.0667);
  EXPECT_DOUBLE_EQ(wan.latentStd.front(), 0.4765);
  EXPECT_DOUBLE_EQ(wan.latentStd.back(), 0.7744);
  EXPECT_LT(buildVideoVaeManifest(videoVaePreset("small")).parameterCount(), 704688668 / 40);
  EXPECT_LT(buildVideoVaeManifest(videoVaePreset("tiny")).parameterCount(), 300000);
  const std::string summary = videoVaeSummary(wan);
  EXPECT_NE(summary.find("704,688,668 parameters"), std::string::npos) << summary;
  EXPECT_NE(summary.find("196 tensors"), std::string::npos) << summary;
  EXPECT_THROW(videoVaePreset("huge"), core::InputError);

  WanVaeConfig bad = videoVaePreset("tiny");
  bad.temporalDownsample = {true};
  EXPECT_THROW(bad.validate(), core::InputError);
  bad = videoVaePreset("tiny");
  bad.latentStd = {1.0, 0.0, 1.0, 1.0};
  EXPECT_THROW(bad.validate(), core::InputError);
  bad = videoVaePreset("tiny");
  bad.encoderDim = 6;
  bad.dimMult = {1, 5, 5, 5};  // AvgDown3D cannot average 6·8 channels into 30
  EXPECT_THROW(bad.validate(), core::InputError);
}

TEST(VideoVaeManifest, StrictReport) {
  const WanVaeConfig c = videoVaePreset("tiny");
  std::map<std::string, Shape> shapes;
  for (const auto& t : buildVideoVaeManifest(c).tensors) {
    shapes[t.name] = t.shape;
  }
  EXPECT_TRUE(checkVideoVaeShapes(c, shapes).empty());
  shapes.erase("decoder.conv1.bias");
  shapes["encoder.conv1.weight"] = {8, 12, 1, 3, 3};
  shapes["model.conv1.weight"] = {8};
  const VideoVaeLoadReport report = checkVideoVaeShapes(c, shapes);
  EXPECT_EQ(report.missing, std::vector<std::string>{"decoder.conv1.bias"});
  EXPECT_EQ(report.unexpected, std::vector<std::string>{"model.conv1.weight"});
  ASSERT_EQ(report.misshaped.size(), 1u);
  EXPECT_EQ(report.misshaped[0].name, "encoder.conv1.weight");
  const std::string text = report.describe();
  EXPECT_NE(text.find("missing: decoder.conv1.bias"), std::string::npos) << text;
  EXPECT_NE(text.find("unexpected: model.conv1.weight"), std::string::npos) << text;
  EXPECT_NE(text.find("shape of encoder.conv1.weight: expected [8, 12, 3, 3, 3], found [8, 12, 1, 3, 3]"),
            std::string::npos)
      << text;
}

}  // namespace
}  // namespace presence::models::video
