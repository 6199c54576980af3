// Wan2.2 VAE in ATen on the tiny preset: frame arithmetic, shapes, chunked against whole-clip
// passes, causality, loading with the public names, latent normalisation.
#include "presence/models/video/wan_video_vae.hpp"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "presence/core/error.hpp"
#include "presence/models/video/video_vae_config.hpp"
#include "presence/runtime/checkpoint_reader.hpp"
#include "presence/runtime/rng.hpp"
#include "presence/runtime/safetensors_writer.hpp"

namespace presence::models::video {
namespace {

at::Tensor frames(int64_t n, int64_t h, int64_t w, uint64_t seed) {
  at::Generator gen = runtime::makeGenerator(seed);
  return runtime::rand({n, h, w, 3}, gen);
}

// Share of values not pinned to 0 or 1 by the output clamp (so comparisons mean something).
double unclampedShare(const at::Tensor& decoded) {
  return ((decoded > 1e-4) & (decoded < 1.0 - 1e-4)).to(at::kFloat).mean().item<double>();
}

std::string errorOf(const std::function<void()>& f) {
  try {
    f();
  } catch (const core::InputError& e) {
    return e.what();
  }
  return "";
}

class TinyVae : public ::testing::Test {
 protected:
  WanVaeConfig config = videoVaePreset("tiny");
  WanVideoVae vae{config, WanVideoVae::randomStateDict(config, 11)};
};

TEST_F(TinyVae, FrameArithmetic) {
  EXPECT_EQ(vae.temporalCompression(), 4);
  EXPECT_EQ(vae.spatialCompression(), 16);
  EXPECT_TRUE(vae.isValidFrameCount(121));
  EXPECT_EQ(vae.latentFrames(121), 31);
  EXPECT_EQ(vae.decodedFrames(31), 121);
  EXPECT_TRUE(vae.isValidFrameCount(1));
  EXPECT_EQ(vae.latentFrames(1), 1);
  EXPECT_FALSE(vae.isValidFrameCount(8));
  // An image is one latent frame; 9 frames are three.
  const at::Tensor image = vae.encode(frames(1, 32, 48, 1));
  EXPECT_EQ(image.sizes(), (c10::IntArrayRef{1, 4, 1, 2, 3}));
  const at::Tensor clip = vae.encode(frames(9, 32, 32, 2));
  EXPECT_EQ(clip.sizes(), (c10::IntArrayRef{1, 4, 3, 2, 2}));
}

TEST_F(TinyVae, EncodeDecodeShapes) {
  const at::Tensor batch = at::stack({frames(5, 16, 32, 3), frames(5, 16, 32, 4)});
  const at::Tensor z = vae.encode(batch);
  EXPECT_EQ(z.sizes(), (c10::IntArrayRef{2, 4, 2, 1, 2}));
  const at::Tensor out = vae.decode(z);
  EXPECT_EQ(out.sizes(), (c10::IntArrayRef{2, 5, 16, 32, 3}));
  EXPECT_EQ(out.scalar_type(), at::kFloat);
  EXPECT_TRUE(out.device().is_cpu());
  EXPECT_GE(out.min().item<float>(), 0.0f);
  EXPECT_LE(out.max().item<float>(), 1.0f);
  const at::Tensor image = vae.decode(vae.encode(frames(1, 16, 16, 5)));
  EXPECT_EQ(image.sizes(), (c10::IntArrayRef{1, 1, 16, 16, 3}));
}

TEST_F(TinyVae, RejectsBadInput) {
  EXPECT_NE(errorOf([&] { vae.encode(frames(8, 16, 16, 1)); }).find("1 + k"), std::string::npos);
  EXPECT_NE(errorOf([&] { vae.encode(frames(5, 24, 16, 1)); }).find("multiple of 16"), std::string::npos);
  EXPECT_THROW(vae.encode(at::zeros({5, 16, 16, 4})), core::InputError);
  EXPECT_THROW(vae.decode(at::zeros({1, 3, 2, 1, 1})), core::InputError);
  EXPECT_THROW(vae.decode(at::zeros({4, 2, 1, 1})), core::InputError);
}

TEST_F(TinyVae, ChunkedEqualsWholeClip) {
  const at::Tensor clip = frames(13, 32, 32, 6);
  const at::Tensor chunked = vae.encode(clip);
  const at::Tensor whole = vae.encodeWhole(clip);
  ASSERT_EQ(chunked.sizes(), whole.sizes());
  EXPECT_TRUE(at::allclose(chunked, whole, 1e-4, 1e-5)) << (chunked - whole).abs().max().item<float>();

  const at::Tensor decodedChunked = vae.decode(chunked);
  const at::Tensor decodedWhole = vae.decodeWhole(chunked);
  ASSERT_EQ(decodedChunked.sizes(), (c10::IntArrayRef{1, 13, 32, 32, 3}));
  ASSERT_EQ(decodedChunked.sizes(), decodedWhole.sizes());
  EXPECT_GT(unclampedShare(decodedChunked), 0.3);
  EXPECT_TRUE(at::allclose(decodedChunked, decodedWhole, 1e-4, 1e-5))
      << (decodedChunked - decodedWhole).abs().max().item<float>();
}

TEST_F(TinyVae, Causality) {
  const at::Tensor a = frames(9, 32, 32, 7);
  at::Tensor b = a.clone();
  b[8] = 1.0 - b[8];  // only the last frame, in the last chunk (frames 5..8)
  const at::Tensor za = vae.encode(a);
  const at::Tensor zb = vae.encode(b);
  EXPECT_TRUE(at::equal(za.narrow(2, 0, 2), zb.narrow(2, 0, 2)));
  EXPECT_FALSE(at::allclose(za.narrow(2, 2, 1), zb.narrow(2, 2, 1)));
  // A face reference: the image alone encodes as the clip's first latent frame.
  const at::Tensor image = vae.encode(a.narrow(0, 0, 1));
  EXPECT_TRUE(at::allclose(image, za.narrow(2, 0, 1), 1e-5, 1e-6));

  // Decoding: changing latent frame 2 leaves output frames 0..4 alone and changes 5..8.
  at::Tensor zc = za.clone();
  zc.narrow(2, 2, 1).add_(1.5);
  const at::Tensor da = vae.decode(za);
  const at::Tensor dc = vae.decode(zc);
  EXPECT_TRUE(at::equal(da.narrow(1, 0, 5), dc.narrow(1, 0, 5)));
  EXPECT_FALSE(at::allclose(da.narrow(1, 5, 4), dc.narrow(1, 5, 4)));
}

TEST_F(TinyVae, LatentNormalisation) {
  WanVaeConfig scaled = config;
  scaled.latentMean = {0.5, -0.25, 0.0, 1.0};
  scaled.latentStd = {2.0, 0.5, 1.0, 0.25};
  WanVideoVae normalised(scaled, WanVideoVae::randomStateDict(config, 11));
  const at::Tensor mean = at::tensor(std::vector<float>{0.5f, -0.25f, 0.0f, 1.0f}).reshape({1, 4, 1, 1, 1});
  const at::Tensor stdev = at::tensor(std::vector<float>{2.0f, 0.5f, 1.0f, 0.25f}).reshape({1, 4, 1, 1, 1});
  const at::Tensor clip = frames(5, 16, 16, 8);
  const at::Tensor raw = vae.encode(clip);  // identity statistics: the posterior mean itself
  const at::Tensor z = normalised.encode(clip);
  EXPECT_TRUE(at::allclose(z, (raw - mean) / stdev, 1e-4, 1e-5));
  EXPECT_FALSE(at::allclose(z, raw, 1e-2, 1e-2));
  // Decoding undoes it: the normalised model decodes z as the plain one decodes z·std + mean.
  const at::Tensor noise = runtime::randn({1, 4, 2, 1, 1}, 9);
  EXPECT_TRUE(at::allclose(normalised.decode(noise), vae.decode(noise * stdev + mean), 1e-4, 1e-5));
  // The public preset carries the Wan2.2 constants.
  const WanVaeConfig wan = videoVaePreset("wan22");
  EXPECT_DOUBLE_EQ(wan.latentMean[19], 0.5109);
  EXPECT_DOUBLE_EQ(wan.latentStd[39], 1.6887);
}

// Weights and frames from closed formulas (no RNG), so the values below, produced by running a
// transcription of the public vae2_2.py (PyTorch 1.13, float32) on the same inputs, pin the
// architecture: patchify order, causal padding, resampling, shortcuts, attention, normalisation.
std::map<std::string, at::Tensor> formulaStateDict(const WanVaeConfig& config) {
  std::map<std::string, at::Tensor> out;
  const auto tensors = buildVideoVaeManifest(config).tensors;
  for (size_t k = 0; k < tensors.size(); ++k) {
    const auto& spec = tensors[k];
    const at::Tensor i = at::arange(spec.numel(), at::kDouble);
    const double phase = static_cast<double>(k);
    at::Tensor v;
    if (spec.name.size() > 6 && spec.name.compare(spec.name.size() - 6, 6, ".gamma") == 0) {
      v = 1.0 + 0.1 * at::sin(i + phase);
    } else if (spec.shape.size() == 1) {
      v = 0.05 * at::cos(i + phase);
    } else {
      const double fanIn = static_cast<double>(spec.numel() / spec.shape[0]);
      v = 0.5 * at::sin(0.37 * i + phase) / std::sqrt(fanIn) * std::sqrt(3.0);
    }
    out[spec.name] = v.reshape(spec.shape).to(at::kFloat);
  }
  return out;
}

TEST(VideoVaeReference, MatchesThePublicCode) {
  WanVaeConfig config = videoVaePreset("tiny");
  config.latentMean = {0.1, -0.2, 0.0, 0.3};
  config.latentStd = {0.5, 2.0, 1.0, 0.8};
  WanVideoVae vae(config, formulaStateDict(config));
  const at::Tensor i = at::arange(9 * 32 * 48 * 3, at::kDouble);
  const at::Tensor clip =
      (0.5 + 0.45 * at::sin(0.013 * i) * at::cos(0.0007 * i)).to(at::kFloat).reshape({9, 32, 48, 3});

  const std::vector<float> expectedZ = {
      -0.312109f, -0.310793f, -0.308859f, -0.307875f, -0.304242f, -0.305049f, -0.297821f, -0.302450f,
      -0.313832f, -0.322819f, -0.339377f, -0.335405f, -0.330026f, -0.319491f, -0.301085f, -0.289789f,
      -0.261168f, -0.268986f, 0.084823f,  0.084671f,  0.084023f,  0.083580f,  0.082600f,  0.082664f,
      0.079419f,  0.079695f,  0.083454f,  0.086256f,  0.090630f,  0.090441f,  0.091556f,  0.090302f,
      0.084128f,  0.080385f,  0.072649f,  0.073296f,  -0.029371f, -0.029429f, -0.027847f, -0.026597f,
      -0.024556f, -0.024406f, -0.015252f, -0.014024f, -0.023122f, -0.029651f, -0.038582f, -0.039826f,
      -0.046901f, -0.047237f, -0.032147f, -0.023071f, -0.006947f, -0.005581f, -0.314001f, -0.313477f,
      -0.315748f, -0.317714f, -0.320282f, -0.320812f, -0.335208f, -0.338917f, -0.325945f, -0.316894f,
      -0.305870f, -0.302339f, -0.287730f, -0.283770f, -0.305438f, -0.318398f, -0.338706f, -0.343681f};
  const at::Tensor z = vae.encode(clip);
  ASSERT_EQ(z.sizes(), (c10::IntArrayRef{1, 4, 3, 2, 3}));
  const at::Tensor want = at::tensor(expectedZ).reshape({1, 4, 3, 2, 3});
  EXPECT_TRUE(at::allclose(z, want, 0.0, 2e-5)) << (z - want).abs().max().item<float>();

  const at::Tensor decoded = vae.decode(z);
  ASSERT_EQ(decoded.sizes(), (c10::IntArrayRef{1, 9, 32, 48, 3}));
  EXPECT_NEAR(decoded.to(at::kDouble).sum().item<double>(), 20742.473338, 0.05);
  EXPECT_NEAR(decoded.to(at::kDouble).square().sum().item<double>(), 11319.989106, 0.05);
  const std::vector<int64_t> at = {0, 1, 5, 100, 1000, 7777, 20000, 33333, decoded.numel() - 1};
  const std::vector<float> samples = {0.483058f, 0.460695f, 0.487624f, 0.505222f, 0.557683f,
                                      0.535604f, 0.271339f, 0.692679f, 0.494799f};
  const at::Tensor flat = decoded.flatten();
  for (size_t k = 0; k < at.size(); ++k) {
    EXPECT_NEAR(flat[at[k]].item<float>(), samples[k], 1e-4) << "element " << at[k];
  }
  const std::vector<float> frameMeans = {0.504078f, 0.501806f, 0.506557f, 0.497801f, 0.499748f,
                                         0.499898f, 0.499659f, 0.496656f, 0.495201f};
  const at::Tensor means = decoded.mean({0, 2, 3, 4});
  for (int64_t f = 0; f < 9; ++f) {
    EXPECT_NEAR(means[f].item<float>(), frameMeans[static_cast<size_t>(f)], 2e-5) << "frame " << f;
  }
}

TEST(VideoVaeSmall, EncodeDecodeShapes) {
  const WanVaeConfig config = videoVaePreset("small");
  WanVideoVae vae(config, WanVideoVae::randomStateDict(config, 3));
  const at::Tensor z = vae.encode(frames(5, 32, 32, 1));
  EXPECT_EQ(z.sizes(), (c10::IntArrayRef{1, 16, 2, 2, 2}));
  EXPECT_EQ(vae.decode(z).sizes(), (c10::IntArrayRef{1, 5, 32, 32, 3}));
}

TEST(VideoVaeLoading, PublicNamesLoadStrictly) {
  const WanVaeConfig config = videoVaePreset("tiny");
  const auto stateDict = WanVideoVae::randomStateDict(config, 21);
  const std::filesystem::path path = std::filesystem::temp_directory_path() /
                                     ("video_vae_test_" + std::to_string(::getpid()) + ".safetensors");
  runtime::saveSafetensors(path, stateDict);
  {
    const runtime::CheckpointReader reader(path);
    EXPECT_EQ(static_cast<int64_t>(reader.size()), buildVideoVaeManifest(config).tensorCount());
    EXPECT_TRUE(WanVideoVae::checkStateDict(config, reader.loadAll()).empty());
  }
  const auto loaded = WanVideoVae::fromCheckpoint(path, config);
  std::filesystem::remove(path);
  WanVideoVae direct(config, stateDict);
  EXPECT_TRUE(at::equal(loaded->weight("decoder.head.2.weight"), stateDict.at("decoder.head.2.weight")));
  const at::Tensor clip = frames(5, 16, 16, 2);
  EXPECT_TRUE(at::equal(loaded->encode(clip), direct.encode(clip)));

  // A missing key and a wrong shape are named.
  auto missing = stateDict;
  missing.erase("decoder.upsamples.0.upsamples.2.time_conv.weight");
  const std::string missingError = errorOf([&] { WanVideoVae(config, missing); });
  EXPECT_NE(missingError.find("missing: decoder.upsamples.0.upsamples.2.time_conv.weight"), std::string::npos)
      << missingError;
  auto wrong = stateDict;
  wrong["encoder.middle.1.norm.gamma"] = at::ones({16, 1, 1, 1});
  const std::string wrongError = errorOf([&] { WanVideoVae(config, wrong); });
  EXPECT_NE(wrongError.find("shape of encoder.middle.1.norm.gamma: expected [16, 1, 1], found [16, 1, 1, 1]"),
            std::string::npos)
      << wrongError;
  auto extra = stateDict;
  extra["decoder.head.0.bias"] = at::zeros({8, 1, 1, 1});
  EXPECT_NE(errorOf([&] { WanVideoVae(config, extra); }).find("unexpected: decoder.head.0.bias"),
            std::string::npos);
}

}  // namespace
}  // namespace presence::models::video
