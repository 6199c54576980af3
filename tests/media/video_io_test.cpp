// Video: MP4 muxing (H.264 + AAC), probing it back, decoding it back, cancellation.
#include "test_util.hpp"

namespace presence::media::testing {
namespace {

/// 25 frames of 64x64, each a different flat colour.
ImageBatch colourFrames(int n, int h = 64, int w = 64) {
  std::vector<std::array<float, 3>> colours;
  for (int i = 0; i < n; ++i)
    colours.push_back(
        {0.2f + 0.6f * (i % 5) / 4.0f, 0.8f - 0.6f * (i % 7) / 6.0f, 0.5f + 0.3f * ((i % 3) - 1)});
  return flatFrames(colours, h, w);
}

TEST(VideoIo, MuxedMp4ProbesBackWithMatchingDurations) {
  TempDir dir;
  const ImageBatch frames = colourFrames(25);
  const Audio sound = sine(440.0, 1.0, 44100, 1);
  const Mp4Report report = muxMp4(frames, 25.0, &sound, dir / "clip.mp4", fastMp4());
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"clip.mp4"});
  EXPECT_EQ(report.frames, 25);
  EXPECT_FALSE(report.padded);
  EXPECT_EQ(report.audioSampleRate, 44100) << "AAC supports 44.1 kHz: no resampling";
  EXPECT_EQ(report.audioSamplesAdded + report.audioSamplesRemoved, 0);

  const MediaInfo info = probeMedia(dir / "clip.mp4");
  ASSERT_EQ(info.count("video"), 1);
  ASSERT_EQ(info.count("audio"), 1);
  ASSERT_EQ(static_cast<int>(info.streams.size()), 2);
  const StreamInfo& v = *info.first("video");
  const StreamInfo& a = *info.first("audio");
  EXPECT_EQ(v.codec, "h264");
  EXPECT_EQ(a.codec, "aac");
  EXPECT_EQ(v.frameCount, 25);
  EXPECT_EQ(v.width, 64);
  EXPECT_EQ(v.height, 64);
  EXPECT_NEAR(v.fps, 25.0, 1e-9);
  EXPECT_NEAR(v.durationSeconds, 1.0, 1e-6);
  EXPECT_EQ(a.sampleRate, 44100);
  EXPECT_EQ(a.channels, 1);
  EXPECT_NEAR(a.durationSeconds, v.durationSeconds, 1024.0 / 44100) << "within one AAC frame";
}

TEST(VideoIo, SoundIsPaddedOrTrimmedToThePictures) {
  TempDir dir;
  const ImageBatch frames = colourFrames(20, 16, 16);  // 0.8 s at 25 fps
  const Audio shortSound = sine(300.0, 0.3, 48000, 2);
  const Audio longSound = sine(300.0, 2.0, 22050, 1);
  // 22.05 kHz is an AAC rate; 11 kHz mono at an odd rate is resampled to 48 kHz.
  Audio oddRate = sine(300.0, 0.8, 11111, 1);

  const Mp4Report padded = muxMp4(frames, 25.0, &shortSound, dir / "short.mp4", fastMp4());
  EXPECT_EQ(padded.audioSamplesAdded, std::llround(0.5 * 48000));
  const Mp4Report trimmed = muxMp4(frames, 25.0, &longSound, dir / "long.mp4", fastMp4());
  EXPECT_EQ(trimmed.audioSamplesRemoved, std::llround(1.2 * 22050));
  const Mp4Report odd = muxMp4(frames, 25.0, &oddRate, dir / "odd.mp4", fastMp4());
  EXPECT_EQ(odd.audioSampleRate, 48000);

  for (const char* name : {"short.mp4", "long.mp4", "odd.mp4"}) {
    SCOPED_TRACE(name);
    const MediaInfo info = probeMedia(dir / name);
    ASSERT_NE(info.first("audio"), nullptr);
    const StreamInfo& a = *info.first("audio");
    EXPECT_NEAR(info.first("video")->durationSeconds, 0.8, 1e-6);
    EXPECT_NEAR(a.durationSeconds, 0.8, 1024.0 / a.sampleRate);
    // Decoding the sound back gives the pictures' duration too.
    const Audio back = loadAudio(dir / name, 16000, 1);
    EXPECT_NEAR(back.seconds(), 0.8, 1024.0 / a.sampleRate);
  }
}

TEST(VideoIo, LoadVideoGivesBackTheFramesAndSound) {
  TempDir dir;
  const ImageBatch frames = colourFrames(25);
  const Audio sound = sine(440.0, 1.0, 16000, 1);
  muxMp4(frames, 25.0, &sound, dir / "clip.mp4", fastMp4());

  const Video video = loadVideo(dir / "clip.mp4");
  ASSERT_EQ(video.frames.count, 25);
  EXPECT_EQ(video.frames.width, 64);
  EXPECT_EQ(video.frames.height, 64);
  EXPECT_EQ(video.frames.channels, 3);
  EXPECT_NEAR(video.fps, 25.0, 1e-9);
  for (int i = 0; i < 25; ++i)
    for (int c = 0; c < 3; ++c)
      EXPECT_NEAR(meanChannel(video.frames, i, c), meanChannel(frames, i, c), 0.02)
          << "frame " << i << " channel " << c;
  ASSERT_TRUE(video.audio.has_value());
  EXPECT_EQ(video.audio->sampleRate, 16000);
  EXPECT_NEAR(video.audio->seconds(), 1.0, 1024.0 / 16000);
  EXPECT_NEAR(peakFrequency(*video.audio, 0, 400, 480), 440.0, 1.0);

  // The first frames only, with the sound cut at the same time.
  VideoLoadOptions first;
  first.maxFrames = 10;
  const Video part = loadVideo(dir / "clip.mp4", first);
  EXPECT_EQ(part.frames.count, 10);
  ASSERT_TRUE(part.audio.has_value());
  EXPECT_LE(part.audio->seconds(), 0.4 + 1e-9);
  EXPECT_GE(part.audio->seconds(), 0.4 - 1024.0 / 16000);
  for (int c = 0; c < 3; ++c) EXPECT_NEAR(meanChannel(part.frames, 9, c), meanChannel(frames, 9, c), 0.02);
}

TEST(VideoIo, RefusesToLoadMoreThanItsMemoryLimit) {
  TempDir dir;
  muxMp4(colourFrames(10, 16, 16), 25.0, nullptr, dir / "clip.mp4", fastMp4());
  VideoLoadOptions options;
  options.maxBytes = 5 * 16 * 16 * 3 * sizeof(float);  // room for 5 frames
  EXPECT_INPUT_ERROR(loadVideo(dir / "clip.mp4", options), "max_frames");
  options.maxFrames = 5;
  EXPECT_EQ(loadVideo(dir / "clip.mp4", options).frames.count, 5);
}

TEST(VideoIo, FractionalFrameRateIsExact) {
  TempDir dir;
  muxMp4(colourFrames(12, 16, 16), 23.976, nullptr, dir / "ntsc.mp4", fastMp4());
  const MediaInfo info = probeMedia(dir / "ntsc.mp4");
  EXPECT_EQ(info.count("audio"), 0);
  ASSERT_EQ(info.count("video"), 1);
  EXPECT_NEAR(info.first("video")->fps, 24000.0 / 1001.0, 1e-6);
  EXPECT_EQ(info.first("video")->frameCount, 12);
  const Video v = loadVideo(dir / "ntsc.mp4");
  EXPECT_NEAR(v.fps, 24000.0 / 1001.0, 1e-6);
  EXPECT_FALSE(v.audio.has_value());

  muxMp4(colourFrames(5, 16, 16), 12.5, nullptr, dir / "slow.mp4", fastMp4());
  EXPECT_NEAR(probeMedia(dir / "slow.mp4").first("video")->fps, 12.5, 1e-9);
}

TEST(VideoIo, OddSizesArePaddedToEven) {
  TempDir dir;
  const Mp4Report r = muxMp4(colourFrames(3, 33, 31), 10.0, nullptr, dir / "odd.mp4", fastMp4());
  EXPECT_TRUE(r.padded);
  EXPECT_EQ(r.width, 32);
  EXPECT_EQ(r.height, 34);
  const MediaInfo info = probeMedia(dir / "odd.mp4");
  EXPECT_EQ(info.first("video")->width, 32);
  EXPECT_EQ(info.first("video")->height, 34);
  const Video v = loadVideo(dir / "odd.mp4");
  EXPECT_NEAR(meanChannel(v.frames, 1, 0), colourFrames(3, 33, 31).at(1, 0, 0, 0), 0.02)
      << "edge repeated, not black";
}

TEST(VideoIo, CancellingTheMuxLeavesNoFile) {
  TempDir dir;
  const ImageBatch frames = colourFrames(40, 32, 32);
  const Audio sound = sine(440.0, 1.6, 48000, 2);
  int calls = 0;
  double lastProgress = 0;
  auto progress = [&](double f) {
    ++calls;
    lastProgress = f;
  };
  auto cancelled = [&] { return calls >= 5; };
  EXPECT_THROW(muxMp4(frames, 25.0, &sound, dir / "cancelled.mp4", fastMp4(), progress, cancelled),
               core::Cancelled);
  EXPECT_EQ(calls, 5);
  EXPECT_LT(lastProgress, 1.0);
  EXPECT_TRUE(dir.entries().empty()) << "not even the temporary file";
}

TEST(VideoIo, CancellingASequenceLeavesNoFile) {
  TempDir dir;
  int calls = 0;
  auto progress = [&](double) { ++calls; };
  auto cancelled = [&] { return calls >= 3; };
  EXPECT_THROW(writeExr(gradient(6, 8, 8), dir.path(), "seq", {}, progress, cancelled), core::Cancelled);
  EXPECT_THROW(writePng(gradient(6, 8, 8), dir.path(), "seq", 8, progress, [] { return true; }),
               core::Cancelled);
  EXPECT_TRUE(dir.entries().empty()) << "a sequence appears whole or not at all";
}

TEST(VideoIo, ProgressReachesOne) {
  TempDir dir;
  std::vector<double> seen;
  muxMp4(colourFrames(4, 8, 8), 25.0, nullptr, dir / "p.mp4", fastMp4(),
         [&](double f) { seen.push_back(f); });
  ASSERT_EQ(seen.size(), 4u);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_DOUBLE_EQ(seen.back(), 1.0);
}

}  // namespace
}  // namespace presence::media::testing
