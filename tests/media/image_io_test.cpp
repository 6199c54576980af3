// Images: PNG and EXR round trips, EXR metadata, channel conversion, multi-view reading.
#include <OpenEXR/ImfChannelList.h>
#include <OpenEXR/ImfFramesPerSecond.h>
#include <OpenEXR/ImfHeader.h>
#include <OpenEXR/ImfInputFile.h>
#include <OpenEXR/ImfIntAttribute.h>
#include <OpenEXR/ImfStandardAttributes.h>
#include <OpenEXR/ImfStringAttribute.h>
#include <OpenImageIO/imageio.h>

#include "test_util.hpp"

namespace presence::media::testing {
namespace {

float maxDifference(const ImageBatch& a, const ImageBatch& b) {
  EXPECT_EQ(a.pixels.size(), b.pixels.size());
  float d = 0;
  for (std::size_t i = 0; i < std::min(a.pixels.size(), b.pixels.size()); ++i)
    d = std::max(d, std::abs(a.pixels[i] - b.pixels[i]));
  return d;
}

TEST(ImageIo, PngToExrToPngRoundTrip) {
  TempDir dir;
  const ImageBatch original = gradient(1, 48, 64);  // not square: rows and columns cannot be swapped

  const auto png = writePng(original, dir.path(), "in");
  ASSERT_EQ(png.size(), 1u);
  EXPECT_EQ(fs::path(png[0]).filename(), "in_00000.png");
  const ImageBatch fromPng = readImage(png[0]);
  ASSERT_EQ(fromPng.count, 1);
  ASSERT_EQ(fromPng.width, 64);
  ASSERT_EQ(fromPng.height, 48);
  ASSERT_EQ(fromPng.channels, 3);
  EXPECT_LT(maxDifference(fromPng, original), 1e-6f) << "8-bit values survive PNG exactly";

  const auto exr = writeExr(fromPng, dir.path(), "mid");
  const ImageBatch fromExr = readImage(exr[0]);
  // Half floats keep 11 significant bits: relative error below 2^-11 for values in 0..1.
  EXPECT_LT(maxDifference(fromExr, original), 1.0f / 2048.0f);

  const auto png2 = writePng(fromExr, dir.path(), "out");
  EXPECT_LT(maxDifference(readImage(png2[0]), original), 1e-6f) << "half precision is finer than 8 bits";
}

TEST(ImageIo, ExrKeepsLinearValuesOutsideZeroToOne) {
  TempDir dir;
  ImageBatch hdr(1, 4, 4, 3);
  for (std::size_t i = 0; i < hdr.pixels.size(); ++i) hdr.pixels[i] = -0.25f + 0.75f * float(i);
  const auto files = writeExr(hdr, dir.path(), "hdr");
  const ImageBatch back = readImage(files[0]);
  for (std::size_t i = 0; i < hdr.pixels.size(); ++i)
    EXPECT_NEAR(back.pixels[i], hdr.pixels[i], std::max(1.0f, std::abs(hdr.pixels[i])) / 1024.0f) << i;
  EXPECT_GT(*std::max_element(back.pixels.begin(), back.pixels.end()), 30.0f) << "not clamped";
}

TEST(ImageIo, ExrSequenceHasHeaderMetadataAndNames) {
  TempDir dir;
  ExrMetadata meta;
  meta.fps = 23.976;
  meta.source = "unit test";
  meta.owner = "Presence authors";
  const auto files = writeExr(gradient(3, 8, 10), dir.path(), "shot", meta);
  ASSERT_EQ(files.size(), 3u);
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"shot_00000.exr", "shot_00001.exr", "shot_00002.exr"}))
      << "only the finished files, no temporary ones";

  Imf::InputFile file(files[2].c_str());
  const Imf::Header& h = file.header();
  EXPECT_EQ(h.compression(), Imf::ZIP_COMPRESSION);
  int channels = 0;
  for (auto it = h.channels().begin(); it != h.channels().end(); ++it, ++channels)
    EXPECT_EQ(it.channel().type, Imf::HALF) << it.name();
  EXPECT_EQ(channels, 3);
  EXPECT_NE(h.channels().findChannel("R"), nullptr);
  EXPECT_NE(h.channels().findChannel("G"), nullptr);
  EXPECT_NE(h.channels().findChannel("B"), nullptr);
  ASSERT_TRUE(Imf::hasFramesPerSecond(h));
  EXPECT_EQ(Imf::framesPerSecond(h).n, 24000);
  EXPECT_EQ(Imf::framesPerSecond(h).d, 1001u);
  ASSERT_NE(h.findTypedAttribute<Imf::StringAttribute>("software"), nullptr);
  EXPECT_EQ(h.typedAttribute<Imf::StringAttribute>("software").value(), "Presence");
  EXPECT_EQ(h.typedAttribute<Imf::StringAttribute>("source").value(), "unit test");
  ASSERT_TRUE(Imf::hasComments(h));
  EXPECT_NE(Imf::comments(h).find("unit test"), std::string::npos);
  ASSERT_TRUE(Imf::hasOwner(h));
  EXPECT_EQ(Imf::owner(h), "Presence authors");
  EXPECT_EQ(h.typedAttribute<Imf::IntAttribute>("frameNumber").value(), 2);
  EXPECT_EQ(h.dataWindow().max.x, 9);
  EXPECT_EQ(h.dataWindow().max.y, 7);
}

TEST(ImageIo, IntegerFrameRatesStayIntegers) {
  TempDir dir;
  ExrMetadata meta;
  meta.fps = 25;
  const auto files = writeExr(gradient(1, 4, 4), dir.path(), "f", meta);
  Imf::InputFile file(files[0].c_str());
  EXPECT_EQ(Imf::framesPerSecond(file.header()).n, 25);
  EXPECT_EQ(Imf::framesPerSecond(file.header()).d, 1u);
}

TEST(ImageIo, SixteenBitPngKeepsFinerSteps) {
  TempDir dir;
  ImageBatch img(1, 2, 2, 3);
  for (std::size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = 0.1234f + 0.01f * i;
  const auto files = writePng(img, dir.path(), "deep", 16);
  const ImageBatch back = readImage(files[0]);
  EXPECT_LT(maxDifference(back, img), 1.0f / 65535.0f);
  auto in = OIIO::ImageInput::open(files[0]);
  ASSERT_TRUE(in);
  EXPECT_EQ(in->spec().format, OIIO::TypeDesc::UINT16);
}

TEST(ImageIo, GreyBecomesRgbAndAlphaIsDropped) {
  TempDir dir;
  {  // grey + alpha
    auto out = OIIO::ImageOutput::create("png");
    OIIO::ImageSpec spec(2, 1, 2, OIIO::TypeDesc::UINT8);
    spec.alpha_channel = 1;
    const unsigned char pixels[] = {51, 255, 204, 0};
    ASSERT_TRUE(out->open((dir / "grey.png").string(), spec));
    ASSERT_TRUE(out->write_image(OIIO::TypeDesc::UINT8, pixels));
    out->close();
  }
  {  // RGBA
    auto out = OIIO::ImageOutput::create("png");
    OIIO::ImageSpec spec(1, 1, 4, OIIO::TypeDesc::UINT8);
    const unsigned char pixels[] = {255, 0, 102, 255};
    ASSERT_TRUE(out->open((dir / "rgba.png").string(), spec));
    ASSERT_TRUE(out->write_image(OIIO::TypeDesc::UINT8, pixels));
    out->close();
  }
  const ImageBatch grey = readImage(dir / "grey.png");
  ASSERT_EQ(grey.channels, 3);
  for (int c = 0; c < 3; ++c) {
    EXPECT_NEAR(grey.at(0, 0, 0, c), 0.2f, 1e-6);
    EXPECT_NEAR(grey.at(0, 0, 1, c), 0.8f, 1e-6) << "transparent pixels keep their colour";
  }
  const ImageBatch rgba = readImage(dir / "rgba.png");
  ASSERT_EQ(rgba.channels, 3);
  EXPECT_NEAR(rgba.at(0, 0, 0, 0), 1.0f, 1e-6);
  EXPECT_NEAR(rgba.at(0, 0, 0, 1), 0.0f, 1e-6);
  EXPECT_NEAR(rgba.at(0, 0, 0, 2), 0.4f, 1e-6);
}

TEST(ImageIo, ReadImagesStacksViewsInOrder) {
  TempDir dir;
  const auto a = writePng(flatFrames({{1, 0, 0}}, 8, 8), dir.path(), "a");
  const auto b = writePng(flatFrames({{0, 0, 1}}, 8, 8), dir.path(), "b");
  const ImageBatch views = readImages({a[0], b[0]});
  ASSERT_EQ(views.count, 2);
  EXPECT_NEAR(views.at(0, 4, 4, 0), 1.0f, 1e-6);
  EXPECT_NEAR(views.at(1, 4, 4, 2), 1.0f, 1e-6);
}

TEST(ImageIo, ReadImagesOfDifferentSizes) {
  TempDir dir;
  const auto a = writePng(gradient(1, 16, 24), dir.path(), "first");
  const auto b = writePng(gradient(1, 10, 12), dir.path(), "second");
  EXPECT_INPUT_ERROR(readImages({a[0], b[0]}), "first_00000.png' (24x16)");
  EXPECT_INPUT_ERROR(readImages({a[0], b[0]}), "second_00000.png' (12x10)");
  const ImageBatch fitted = readImages({a[0], b[0]}, FitMode::Resize);
  EXPECT_EQ(fitted.count, 2);
  EXPECT_EQ(fitted.width, 24);
  EXPECT_EQ(fitted.height, 16);
  EXPECT_EQ(parseFitMode("resize"), FitMode::Resize);
  EXPECT_INPUT_ERROR(parseFitMode("stretch"), "stretch");
}

TEST(ImageIo, ReadsTheSampleFacePhoto) {
  const fs::path face = fs::path(PRESENCE_SOURCE_DIR) / "samples/assets/astronaut_256.png";
  if (!fs::exists(face)) GTEST_SKIP() << face << " is missing";
  const ImageBatch img = readImage(face);
  EXPECT_EQ(img.width, 256);
  EXPECT_EQ(img.height, 256);
  const double mean = (meanChannel(img, 0, 0) + meanChannel(img, 0, 1) + meanChannel(img, 0, 2)) / 3;
  EXPECT_GT(mean, 0.1);
  EXPECT_LT(mean, 0.9);
}

TEST(ImageIo, SequenceFileNames) {
  EXPECT_EQ(sequenceFileName("frame", 0, "exr"), "frame_00000.exr");
  EXPECT_EQ(sequenceFileName("a/b", 123456, "png"), "a/b_123456.png");
}

}  // namespace
}  // namespace presence::media::testing
