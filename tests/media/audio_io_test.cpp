// Audio: WAV writing, decoding with resampling (duration and pitch kept), channel mixing.
#include "test_util.hpp"

namespace presence::media::testing {
namespace {

TEST(AudioIo, WavRoundTripKeepsSamples) {
  TempDir dir;
  const Audio original = sine(440.0, 0.5, 44100, 2, 0.8f);
  writeWav(original, dir / "tone.wav");
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"tone.wav"});

  const Audio back = loadAudio(dir / "tone.wav");  // the file's own rate and channels
  EXPECT_EQ(back.sampleRate, 44100);
  EXPECT_EQ(back.channels, 2);
  ASSERT_EQ(back.frames(), original.frames());
  float worst = 0;
  for (std::size_t i = 0; i < back.samples.size(); ++i)
    worst = std::max(worst, std::abs(back.samples[i] - original.samples[i]));
  EXPECT_LE(worst, 0.5f / 32768.0f + 1e-7f) << "16-bit quantisation only";

  const MediaInfo info = probeMedia(dir / "tone.wav");
  ASSERT_EQ(info.count("audio"), 1);
  EXPECT_EQ(info.streams[0].codec, "pcm_s16le");
  EXPECT_EQ(info.streams[0].sampleRate, 44100);
  EXPECT_EQ(info.streams[0].channels, 2);
  EXPECT_NEAR(info.durationSeconds, 0.5, 1e-3);
}

TEST(AudioIo, ResamplingKeepsDurationAndFrequency) {
  TempDir dir;
  const double seconds = 1.5, hz = 440.0;
  writeWav(sine(hz, seconds, 44100, 2, 0.5f), dir / "tone44k.wav");

  const Audio a = loadAudio(dir / "tone44k.wav", 16000, 1);
  EXPECT_EQ(a.sampleRate, 16000);
  EXPECT_EQ(a.channels, 1);
  // Duration within one sample period of the output rate.
  EXPECT_LE(std::abs(a.seconds() - seconds), 1.0 / 16000) << a.frames() << " samples";
  EXPECT_NEAR(peakFrequency(a, 0, 400, 480), hz, 0.5);
  EXPECT_NEAR(zeroCrossingRate(a, 0), hz, 1.0);
  // A mix of two equal channels keeps the level: RMS of a sine is amplitude / sqrt(2).
  EXPECT_NEAR(rms(a, 0), 0.5 / std::sqrt(2.0), 0.01);
}

TEST(AudioIo, MonoBecomesStereoByCopying) {
  TempDir dir;
  writeWav(sine(300.0, 0.25, 16000, 1, 0.5f), dir / "mono.wav");
  const Audio st = loadAudio(dir / "mono.wav", 48000, 2);
  ASSERT_EQ(st.channels, 2);
  EXPECT_LE(std::abs(st.seconds() - 0.25), 1.0 / 48000);
  for (std::int64_t i = 0; i < st.frames(); ++i) ASSERT_EQ(st.channel(0)[i], st.channel(1)[i]) << i;
  EXPECT_NEAR(rms(st, 0), 0.5 / std::sqrt(2.0), 0.01) << "no 3 dB drop";
  EXPECT_NEAR(peakFrequency(st, 1, 280, 320), 300.0, 0.5);
}

TEST(AudioIo, ResampleInMemory) {
  const Audio in = sine(1000.0, 0.75, 48000, 2, 0.3f);
  const Audio out = resampleAudio(in, 22050, 1);
  EXPECT_EQ(out.sampleRate, 22050);
  EXPECT_LE(std::abs(out.seconds() - 0.75), 1.0 / 22050);
  EXPECT_NEAR(peakFrequency(out, 0, 950, 1050), 1000.0, 0.5);
  const Audio same = resampleAudio(in, 48000, 2);
  EXPECT_EQ(same.samples, in.samples);
  EXPECT_INPUT_ERROR(resampleAudio(in, 16000, 3), "channels");
}

TEST(AudioIo, SilenceHasTheRightLength) {
  const Audio s = silentAudio(2.0, 16000, 1);
  EXPECT_EQ(s.frames(), 32000);
  EXPECT_EQ(std::count(s.samples.begin(), s.samples.end(), 0.0f), 32000);
}

TEST(AudioIo, LoadsRealSpeech) {
  // Real recorded speech from alsa-utils (GPL-2: used from the installed package, not copied).
  const fs::path speech = "/usr/share/sounds/alsa/Front_Center.wav";
  if (!fs::exists(speech)) GTEST_SKIP() << speech << " is not installed";
  const MediaInfo info = probeMedia(speech);
  const Audio a = loadAudio(speech, 16000, 1);
  EXPECT_NEAR(a.seconds(), info.durationSeconds, 1.0 / 16000 + 1e-3);
  EXPECT_GT(rms(a, 0), 0.01) << "not silent";
}

TEST(AudioIo, WriteWavIsAtomicAndChecksItsInput) {
  TempDir dir;
  Audio bad;
  EXPECT_INPUT_ERROR(writeWav(bad, dir / "bad.wav"), "no channels");
  EXPECT_TRUE(dir.entries().empty());
}

}  // namespace
}  // namespace presence::media::testing
