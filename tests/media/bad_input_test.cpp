// Bad input never crashes: every reader throws InputError naming the file and the cause.
#include "test_util.hpp"

namespace presence::media::testing {
namespace {

TEST(BadInput, MissingFile) {
  TempDir dir;
  const fs::path missing = dir / "nowhere.png";
  EXPECT_INPUT_ERROR(readImage(missing), "nowhere.png': no such file");
  EXPECT_INPUT_ERROR(loadAudio(dir / "nowhere.wav"), "nowhere.wav': no such file");
  EXPECT_INPUT_ERROR(loadVideo(dir / "nowhere.mp4"), "nowhere.mp4': no such file");
  EXPECT_INPUT_ERROR(probeMedia(dir / "nowhere.mp4"), "nowhere.mp4': no such file");
  EXPECT_INPUT_ERROR(readImages({dir / "a.png"}), "a.png");
  EXPECT_INPUT_ERROR(readImages({}), "no file given");
}

TEST(BadInput, FolderInsteadOfFile) {
  TempDir dir;
  EXPECT_INPUT_ERROR(readImage(dir.path()), "folder");
  EXPECT_INPUT_ERROR(loadAudio(dir.path()), "folder");
}

TEST(BadInput, EmptyFile) {
  TempDir dir;
  writeBytes(dir / "empty.png", "");
  writeBytes(dir / "empty.wav", "");
  EXPECT_INPUT_ERROR(readImage(dir / "empty.png"), "empty.png': the file is empty");
  EXPECT_INPUT_ERROR(loadAudio(dir / "empty.wav"), "empty.wav': the file is empty");
}

TEST(BadInput, GarbagePng) {
  TempDir dir;
  std::string garbage;
  for (int i = 0; i < 4096; ++i) garbage += static_cast<char>((i * 7919 + 13) % 251);
  writeBytes(dir / "garbage.png", garbage);
  EXPECT_INPUT_ERROR(readImage(dir / "garbage.png"),
                     "cannot read image '" + (dir / "garbage.png").string() + "': ");
}

TEST(BadInput, TruncatedPng) {
  TempDir dir;
  const auto files = writePng(gradient(1, 128, 128), dir.path(), "cut");
  truncateFile(files[0], 0.5);
  EXPECT_INPUT_ERROR(readImage(files[0]), "cut_00000.png'");
  // Only the 8-byte signature and part of the header.
  truncateFile(files[0], 0.002);
  EXPECT_INPUT_ERROR(readImage(files[0]), "cut_00000.png'");
}

TEST(BadInput, TruncatedMp4IndexAtTheEnd) {
  TempDir dir;
  const Audio sound = sine(440.0, 0.4, 16000, 1);
  Mp4Options options = fastMp4();
  options.faststart = false;  // the index (moov) comes last: half a file has none
  muxMp4(gradient(10, 32, 32), 25.0, &sound, dir / "half.mp4", options);
  truncateFile(dir / "half.mp4", 0.5);
  EXPECT_INPUT_ERROR(loadVideo(dir / "half.mp4"),
                     "half.mp4': not a media file FFmpeg can read, or corrupt or truncated");
  EXPECT_INPUT_ERROR(probeMedia(dir / "half.mp4"), "half.mp4'");
  EXPECT_INPUT_ERROR(loadAudio(dir / "half.mp4"), "half.mp4'");
}

TEST(BadInput, TruncatedMp4IndexAtTheStart) {
  TempDir dir;
  const Audio sound = sine(440.0, 0.4, 16000, 1);
  muxMp4(gradient(10, 32, 32), 25.0, &sound, dir / "half.mp4", fastMp4());  // faststart: index first
  ASSERT_EQ(loadVideo(dir / "half.mp4").frames.count, 10);
  truncateFile(dir / "half.mp4", 0.5);
  // The index is intact, the media data is cut: reading must not silently return half a clip.
  EXPECT_INPUT_ERROR(loadVideo(dir / "half.mp4"), "half.mp4': the file is damaged or truncated");
  EXPECT_INPUT_ERROR(loadAudio(dir / "half.mp4"), "half.mp4': the file is damaged or truncated");
}

TEST(BadInput, TextFileGivenAsAudio) {
  TempDir dir;
  writeBytes(dir / "notes.txt", "Hello, I am Presence.\nThis is not a sound file, only text.\n");
  writeBytes(dir / "voice.wav", "RIFF? no, just words pretending to be a WAV file.\n");
  EXPECT_INPUT_ERROR(loadAudio(dir / "notes.txt"),
                     "cannot read audio '" + (dir / "notes.txt").string() + "'");
  EXPECT_INPUT_ERROR(loadAudio(dir / "voice.wav"),
                     "cannot read audio '" + (dir / "voice.wav").string() + "'");
  EXPECT_INPUT_ERROR(readImage(dir / "notes.txt"), "notes.txt'");
  EXPECT_INPUT_ERROR(loadVideo(dir / "notes.txt"), "notes.txt'");
}

TEST(BadInput, ImageGivenAsAudio) {
  TempDir dir;
  const auto png = writePng(gradient(1, 8, 8), dir.path(), "picture");
  EXPECT_INPUT_ERROR(loadAudio(png[0]), "no audio stream");
}

TEST(BadInput, WritersRejectEmptyOrBadBatches) {
  TempDir dir;
  EXPECT_INPUT_ERROR(writeExr(ImageBatch(), dir.path(), "x"), "empty");
  EXPECT_INPUT_ERROR(writePng(ImageBatch(), dir.path(), "x"), "empty");
  EXPECT_INPUT_ERROR(muxMp4(ImageBatch(), 25, nullptr, dir / "x.mp4"), "empty");
  ImageBatch lying(2, 4, 4, 3);
  lying.pixels.resize(10);
  EXPECT_INPUT_ERROR(writeExr(lying, dir.path(), "x"), "does not match");
  EXPECT_INPUT_ERROR(muxMp4(gradient(1, 4, 4), 0.0, nullptr, dir / "x.mp4"), "frame rate");
  EXPECT_INPUT_ERROR(writePng(gradient(1, 4, 4), dir.path(), "x", 12), "8 or 16");
  EXPECT_TRUE(dir.entries().empty());
}

TEST(BadInput, OversizedHeaderIsRefused) {
  // A PNG header that claims 100000 x 100000 pixels must be refused, not allocated.
  TempDir dir;
  const auto files = writePng(gradient(1, 4, 4), dir.path(), "huge");
  std::string bytes = readBytes(files[0]);
  // IHDR width and height are big-endian at offsets 16 and 20.
  for (int offset : {16, 20}) {
    bytes[offset] = 0;
    bytes[offset + 1] = 0x01;
    bytes[offset + 2] = char(0x86);
    bytes[offset + 3] = char(0xA0);
  }
  writeBytes(files[0], bytes);
  EXPECT_INPUT_ERROR(readImage(files[0]), "huge_00000.png'");
}

}  // namespace
}  // namespace presence::media::testing
