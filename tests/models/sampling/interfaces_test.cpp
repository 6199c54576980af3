// The model interfaces' non-virtual helpers, through minimal implementations.
#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <presence/models/interfaces/audio_vae.hpp>
#include <presence/models/interfaces/joint_latent.hpp>
#include <presence/models/interfaces/text_encoder.hpp>
#include <presence/models/interfaces/video_vae.hpp>
#include <presence/models/interfaces/vocoder.hpp>

namespace pm = presence::models;

namespace {

class FakeVideoVae : public pm::VideoVae {
 public:
  int64_t latentChannels() const override { return 48; }
  int64_t temporalCompression() const override { return 4; }
  int64_t spatialCompression() const override { return 16; }
  at::Tensor encode(const at::Tensor& frames) override {
    const int64_t n = frames.size(0);
    return at::zeros({1, 48, latentFrames(n), frames.size(1) / 16, frames.size(2) / 16});
  }
  at::Tensor decode(const at::Tensor& latents) override {
    return at::zeros(
        {latents.size(0), decodedFrames(latents.size(2)), latents.size(3) * 16, latents.size(4) * 16, 3});
  }
};

class FakeAudioVae : public pm::AudioVae {
 public:
  int64_t sampleRate() const override { return 16000; }
  int64_t latentChannels() const override { return 20; }
  double latentsPerSecond() const override { return 31.25; }
  pm::AudioVaeOutput outputKind() const override { return pm::AudioVaeOutput::Mel; }
  int64_t melBins() const override { return 80; }
  at::Tensor encode(const at::Tensor& w) override { return at::zeros({1, w.size(-1) / 512, 20}); }
  at::Tensor decode(const at::Tensor& l) override { return at::zeros({l.size(0), 80, l.size(1) * 2}); }
};

class FakeVocoder : public pm::Vocoder {
 public:
  std::string name() const override { return "fake"; }
  int64_t sampleRate() const override { return 16000; }
  int64_t melBins() const override { return 80; }
  int64_t hopLength() const override { return 256; }
  at::Tensor vocode(const at::Tensor& mel) override { return at::zeros({mel.size(0), mel.size(-1) * 256}); }
};

class FakeTextEncoder : public pm::TextEncoder {
 public:
  std::string name() const override { return "fake"; }
  int64_t embeddingDim() const override { return 8; }
  int64_t maxLength() const override { return 16; }
  pm::TextEmbeddings encode(const std::vector<std::string>& prompts) override {
    pm::TextEmbeddings e;
    e.embeddings = at::zeros({static_cast<int64_t>(prompts.size()), 5, 8});
    e.lengths = at::tensor({5, 2}, at::kLong);
    return e;
  }
};

}  // namespace

TEST(Interfaces, VideoVaeFrameRule) {
  FakeVideoVae vae;
  EXPECT_TRUE(vae.isValidFrameCount(121));
  EXPECT_TRUE(vae.isValidFrameCount(1));
  EXPECT_FALSE(vae.isValidFrameCount(120));
  EXPECT_FALSE(vae.isValidFrameCount(0));
  EXPECT_EQ(vae.latentFrames(121), 31);
  EXPECT_EQ(vae.decodedFrames(31), 121);
  const auto latent = vae.encode(at::zeros({121, 64, 96, 3}));
  EXPECT_EQ(latent.sizes(), (std::vector<int64_t>{1, 48, 31, 4, 6}));
  EXPECT_EQ(vae.decode(latent).sizes(), (std::vector<int64_t>{1, 121, 64, 96, 3}));
}

TEST(Interfaces, AudioLatentLengthMatchesTheReleasedPipeline) {
  FakeAudioVae vae;
  // int((121 / 24 · 16000) // 512) = 157 latents for 121 frames at 24 fps.
  EXPECT_EQ(vae.latentLength(121.0 / 24.0), 157);
  EXPECT_EQ(vae.latentLength(5.0), 156);
  FakeVocoder vocoder;
  EXPECT_EQ(vocoder.vocode(vae.decode(at::zeros({1, 157, 20}))).size(1), 157 * 2 * 256);
}

TEST(Interfaces, TextMask) {
  FakeTextEncoder encoder;
  const auto e = encoder.encode({"a", "b"});
  const auto mask = e.mask();
  EXPECT_EQ(mask.sizes(), (std::vector<int64_t>{2, 5}));
  EXPECT_EQ(mask.sum().item<int64_t>(), 7);
  EXPECT_FALSE(mask[1][2].item<bool>());
}

TEST(Interfaces, JointLatentHelpers) {
  pm::JointLatent empty;
  EXPECT_TRUE(empty.empty());
  EXPECT_EQ(empty.batchSize(), 0);
  pm::JointLatent audio{at::Tensor(), at::ones({3, 4, 2})};
  EXPECT_FALSE(audio.hasVideo());
  EXPECT_EQ(audio.batchSize(), 3);
  const auto copy = audio.clone();
  EXPECT_FALSE(copy.hasVideo());
  EXPECT_FALSE(copy.audio.is_same(audio.audio));
  EXPECT_TRUE(at::equal(copy.audio, audio.audio));
}
