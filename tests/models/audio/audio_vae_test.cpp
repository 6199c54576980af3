// MMAudio VAE: manifest against the public file's counts, weight folding, forward shapes.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <string>

#include "presence/core/error.hpp"
#include "presence/models/audio/mmaudio_vae.hpp"
#include "presence/models/audio/vae_config.hpp"
#include "presence/runtime/rng.hpp"
#include "presence/runtime/safetensors_writer.hpp"

namespace presence::models::audio {
namespace {

TEST(AudioVaeManifest, PublicFileCounts) {
  const AudioVaeManifest m = buildAudioVaeManifest(audioVaePreset("mmaudio16k"));
  EXPECT_EQ(m.tensorCount(), 57);
  EXPECT_EQ(m.parameterCount(), 171657218);            // nn.Parameters
  EXPECT_EQ(m.elementCount(), 171657218 + 2 * 80);     // + data_mean, data_std buffers
  // Spot checks of names and shapes.
  const auto shape = [&](const std::string& name) {
    const int64_t i = m.find(name);
    EXPECT_GE(i, 0) << name;
    return i >= 0 ? m.tensors[static_cast<size_t>(i)].shape : std::vector<int64_t>{-1};
  };
  EXPECT_EQ(shape("data_mean"), (std::vector<int64_t>{1, 80, 1}));
  EXPECT_EQ(shape("data_std"), (std::vector<int64_t>{1, 80, 1}));
  EXPECT_EQ(shape("encoder.learnable_gain"), std::vector<int64_t>{});
  EXPECT_EQ(shape("decoder.learnable_gain"), std::vector<int64_t>{});
  EXPECT_EQ(shape("encoder.conv_in.weight"), (std::vector<int64_t>{384, 80, 3}));
  EXPECT_EQ(shape("encoder.down.0.downsample.conv1.weight"), (std::vector<int64_t>{384, 384, 1}));
  EXPECT_EQ(shape("encoder.down.1.block.0.nin_shortcut.weight"), (std::vector<int64_t>{768, 384, 1}));
  EXPECT_EQ(shape("encoder.mid.attn_1.qkv.weight"), (std::vector<int64_t>{4608, 1536, 1}));
  EXPECT_EQ(shape("encoder.conv_out.weight"), (std::vector<int64_t>{40, 1536, 3}));
  EXPECT_EQ(shape("decoder.conv_in.weight"), (std::vector<int64_t>{1536, 20, 3}));
  EXPECT_EQ(shape("decoder.up.1.upsample.conv.weight"), (std::vector<int64_t>{768, 768, 3}));
  EXPECT_EQ(shape("decoder.up.0.block.0.nin_shortcut.weight"), (std::vector<int64_t>{384, 768, 1}));
  EXPECT_EQ(shape("decoder.up.2.block.2.conv2.weight"), (std::vector<int64_t>{1536, 1536, 3}));
  EXPECT_EQ(shape("decoder.conv_out.weight"), (std::vector<int64_t>{80, 384, 3}));
  EXPECT_EQ(m.find("decoder.up.0.upsample.conv.weight"), -1);
  EXPECT_EQ(m.find("encoder.down.2.attn.0.qkv.weight"), -1);  // attn_layers [3] names no level
  for (const auto& t : m.tensors) {
    EXPECT_EQ(t.name.find("bias"), std::string::npos) << t.name;
  }
  EXPECT_NE(formatAudioVaeManifest(m).find("encoder.conv_in.weight\t[384, 80, 3]\tf32\n"), std::string::npos);
}

TEST(AudioVaeManifest, PresetsAndValidation) {
  for (const auto& name : audioVaePresetNames()) {
    const AudioVaeConfig c = audioVaePreset(name);
    EXPECT_NO_THROW(c.validate()) << name;
    EXPECT_EQ(c.temporalDownsample(), 2) << name;
    EXPECT_GT(buildAudioVaeManifest(c).parameterCount(), 0) << name;
  }
  EXPECT_LT(buildAudioVaeManifest(audioVaePreset("small")).parameterCount(), 171657218 / 8);
  EXPECT_THROW(audioVaePreset("huge"), core::InputError);
  AudioVaeConfig bad = audioVaePreset("tiny");
  bad.downLayers = {2};
  EXPECT_THROW(bad.validate(), core::InputError);
  // Attention at a level adds qkv/proj_out per block.
  AudioVaeConfig withAttn = audioVaePreset("tiny");
  withAttn.attnLayers = {2};
  const AudioVaeManifest m = buildAudioVaeManifest(withAttn);
  EXPECT_GE(m.find("encoder.down.2.attn.0.qkv.weight"), 0);
  EXPECT_GE(m.find("decoder.up.2.attn.1.proj_out.weight"), 0);
}

TEST(AudioVaeWeights, NormalisationFormula) {
  const at::Tensor w = at::randn({5, 4, 3}, at::TensorOptions().dtype(at::kDouble)) * 3.0;
  const at::Tensor got = MmaudioVae::normalizeWeight(w).to(at::kDouble);
  for (int64_t o = 0; o < 5; ++o) {
    const double norm = w[o].square().sum().sqrt().item<double>();
    const at::Tensor want = w[o] / (1e-4 * std::sqrt(12.0) + norm);
    EXPECT_TRUE(at::allclose(got[o], want, 1e-6, 1e-7)) << o;
  }
  // Unit norm per output channel, up to the epsilon.
  EXPECT_TRUE(at::allclose(got.square().sum({1, 2}).sqrt(), at::ones({5}, at::kDouble), 1e-3, 1e-3));
  EXPECT_THROW(MmaudioVae::normalizeWeight(at::zeros({3, 3})), core::InputError);
}

TEST(AudioVaeWeights, FoldingOnLoad) {
  const AudioVaeConfig c = audioVaePreset("tiny");
  auto sd = MmaudioVae::randomStateDict(c, 7);
  sd["encoder.learnable_gain"] = at::full({}, 0.5);
  sd["decoder.learnable_gain"] = at::full({}, -0.25);
  sd["data_mean"] = at::full({1, 80, 1}, -2.0);
  MmaudioVae vae(c, sd);
  EXPECT_TRUE(at::allclose(vae.weight("encoder.conv_in.weight"), MmaudioVae::normalizeWeight(sd["encoder.conv_in.weight"])));
  EXPECT_TRUE(at::allclose(vae.weight("encoder.conv_out.weight"),
                           MmaudioVae::normalizeWeight(sd["encoder.conv_out.weight"]) * 1.5));
  EXPECT_TRUE(at::allclose(vae.weight("decoder.conv_out.weight"),
                           MmaudioVae::normalizeWeight(sd["decoder.conv_out.weight"]) * 0.75));
  EXPECT_TRUE(at::equal(vae.weight("data_mean"), sd["data_mean"]));

  auto missing = sd;
  missing.erase("decoder.conv_in.weight");
  EXPECT_THROW(MmaudioVae(c, missing), core::InputError);
  auto extra = sd;
  extra["decoder.conv_in.bias"] = at::zeros({64});
  EXPECT_THROW(MmaudioVae(c, extra), core::InputError);
  auto wrong = sd;
  wrong["decoder.conv_in.weight"] = at::zeros({64, 20, 1});
  EXPECT_THROW(MmaudioVae(c, wrong), core::InputError);
}

TEST(AudioVaeForward, ShapesAndRates) {
  const AudioVaeConfig c = audioVaePreset("tiny");
  MmaudioVae vae(c, MmaudioVae::randomStateDict(c, 1));
  EXPECT_EQ(vae.sampleRate(), 16000);
  EXPECT_EQ(vae.latentChannels(), 20);
  EXPECT_DOUBLE_EQ(vae.latentsPerSecond(), 31.25);
  EXPECT_EQ(vae.melBins(), 80);
  EXPECT_EQ(vae.outputKind(), presence::models::AudioVaeOutput::Mel);

  // 121 video frames at 24 fps (5.04 s) → 315 mel frames → 157 latents; exactly 5 s → 156.
  const at::Tensor clip = at::rand({2, 80666}) * 0.2 - 0.1;
  const at::Tensor z = vae.encode(clip);
  EXPECT_EQ(z.sizes(), (std::vector<int64_t>{2, 157, 20}));
  EXPECT_EQ(vae.latentLength(121.0 / 24.0), 157);
  EXPECT_EQ(vae.encode(at::zeros({80000})).sizes(), (std::vector<int64_t>{1, 156, 20}));
  EXPECT_EQ(vae.latentLength(5.0), 156);
  EXPECT_TRUE(at::isfinite(z).all().item<bool>());

  const at::Tensor mel = vae.decode(z);
  EXPECT_EQ(mel.sizes(), (std::vector<int64_t>{2, 80, 314}));
  EXPECT_TRUE(at::isfinite(mel).all().item<bool>());

  // Batch entries are independent, and the encoding is deterministic.
  EXPECT_TRUE(at::allclose(vae.encode(clip[1]), z.narrow(0, 1, 1), 1e-4, 1e-5));
  EXPECT_TRUE(at::equal(z, vae.encode(clip)));

  // Posterior sampling around the mean.
  const AudioVaePosterior post = vae.encodeMel(vae.frontEnd().logMel(clip));
  EXPECT_EQ(post.mean.sizes(), (std::vector<int64_t>{2, 20, 157}));
  EXPECT_TRUE(at::allclose(post.mean.transpose(1, 2), z));
  at::Generator g1 = runtime::makeGenerator(3);
  at::Generator g2 = runtime::makeGenerator(3);
  EXPECT_TRUE(at::equal(post.sample(g1), post.sample(g2)));

  EXPECT_THROW(vae.decode(at::zeros({1, 10, 7})), core::InputError);
  EXPECT_THROW(vae.encodeMel(at::zeros({1, 64, 10})), core::InputError);
}

TEST(AudioVaeForward, SmallPresetRuns) {
  const AudioVaeConfig c = audioVaePreset("small");
  MmaudioVae vae(c, MmaudioVae::randomStateDict(c, 2));
  const at::Tensor z = vae.encode(at::rand({1, 16000}) - 0.5);
  EXPECT_EQ(z.sizes(), (std::vector<int64_t>{1, 31, 20}));
  EXPECT_EQ(vae.decode(z).sizes(), (std::vector<int64_t>{1, 80, 62}));
}

// Full size with random weights (~690 MB, a few seconds of CPU): run with
// --gtest_also_run_disabled_tests.
TEST(AudioVaeForward, DISABLED_FullSizeShapes) {
  const AudioVaeConfig c = audioVaePreset("mmaudio16k");
  MmaudioVae vae(c, MmaudioVae::randomStateDict(c, 5));
  const at::Tensor z = vae.encode(at::rand({1, 80666}) * 0.2 - 0.1);
  EXPECT_EQ(z.sizes(), (std::vector<int64_t>{1, 157, 20}));
  const at::Tensor mel = vae.decode(z);
  EXPECT_EQ(mel.sizes(), (std::vector<int64_t>{1, 80, 314}));
  EXPECT_TRUE(at::isfinite(mel).all().item<bool>());
}

TEST(AudioVaeCheckpoint, LoadsSafetensorsWithPublicNames) {
  namespace fs = std::filesystem;
  const AudioVaeConfig c = audioVaePreset("tiny");
  auto sd = MmaudioVae::randomStateDict(c, 11);
  sd["encoder.learnable_gain"] = at::full({}, 0.125);
  sd["data_std"] = at::full({1, 80, 1}, 0.9);
  const fs::path dir = fs::temp_directory_path() / ("presence-audio-vae-" + std::to_string(::getpid()));
  const fs::path file = dir / "vae.safetensors";
  runtime::saveSafetensors(file, sd);
  const auto loaded = MmaudioVae::fromCheckpoint(file, c);
  MmaudioVae direct(c, sd);
  const at::Tensor z = at::randn({1, 9, 20});
  EXPECT_TRUE(at::allclose(loaded->decode(z), direct.decode(z)));
  EXPECT_TRUE(at::equal(loaded->weight("data_std"), sd["data_std"]));
  // The wrong preset for the file is an input error naming a tensor.
  EXPECT_THROW(MmaudioVae::fromCheckpoint(file, audioVaePreset("small")), core::InputError);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace presence::models::audio
