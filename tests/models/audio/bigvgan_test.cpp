// BigVGAN: manifest against the public generator's structure, weight-norm folding in both
// spellings, the anti-aliased activation, forward lengths, checkpoint loading.
#include "presence/models/audio/bigvgan.hpp"

#include <ATen/ATen.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <string>

#include "presence/core/error.hpp"
#include "presence/models/audio/bigvgan_config.hpp"
#include "presence/runtime/safetensors_writer.hpp"

namespace presence::models::audio {
namespace {

bool endsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

int64_t countSuffix(const BigVganManifest& m, const std::string& suffix) {
  int64_t n = 0;
  for (const auto& t : m.tensors) {
    n += endsWith(t.name, suffix) ? 1 : 0;
  }
  return n;
}

// The message of the InputError `fn` throws ("" when it throws none).
template <class Fn>
std::string inputErrorOf(Fn&& fn) {
  try {
    fn();
  } catch (const core::InputError& e) {
    return e.what();
  }
  return "";
}

TEST(BigVganManifest, PublicGeneratorStructure) {
  const BigVganManifest m = buildBigVganManifest(bigVganPreset("bigvgan16k"));
  // conv_pre + 6 ups + 6 stages · 3 AMP blocks · (3 convs1 + 3 convs2) + conv_post = 116.
  EXPECT_EQ(m.convolutions.size(), 116u);
  EXPECT_EQ(countSuffix(m, ".weight_g"), 116);
  EXPECT_EQ(countSuffix(m, ".weight_v"), 116);
  EXPECT_EQ(countSuffix(m, ".bias"), 116);  // every convolution has a bias, conv_post too
  // 18 AMP blocks · 6 Activation1d + activation_post = 109, each with alpha, beta and 2 filters.
  EXPECT_EQ(countSuffix(m, ".act.alpha"), 109);
  EXPECT_EQ(countSuffix(m, ".act.beta"), 109);
  int64_t filters = 0;
  for (const auto& t : m.tensors) {
    if (endsWith(t.name, ".filter")) {
      ++filters;
      EXPECT_TRUE(t.buffer) << t.name;
      EXPECT_EQ(t.shape, (std::vector<int64_t>{1, 1, 12})) << t.name;
    } else {
      EXPECT_FALSE(t.buffer) << t.name;
    }
  }
  EXPECT_EQ(filters, 218);
  EXPECT_EQ(m.tensorCount(), 116 * 3 + 109 * 4);  // 784
  // Parameters (g counted with v and the bias; channels 1536 → 768 … 24):
  //   conv_pre   80·1536·7 + 1536 + 1536                       =    863,232
  //   ups        Σ_i c_i·c_{i+1}·k_i + c_i + c_{i+1}            =  9,443,658
  //   resblocks  Σ_stages Σ_k∈{3,7,11} 6·(c²k + 2c) + 12·c      = 101,924,280
  //   post       2·24 (snake) + 24·7 + 1 + 1                    =        218
  // = 112,231,250, the "112M" NVIDIA lists for the same architecture (bigvgan_22khz_80band).
  EXPECT_EQ(m.parameterCount(), 112231250);
  EXPECT_EQ(m.elementCount(), 112231250 + 218 * 12);

  const auto shape = [&](const std::string& name) {
    const int64_t i = m.find(name);
    EXPECT_GE(i, 0) << name;
    return i >= 0 ? m.tensors[static_cast<size_t>(i)].shape : std::vector<int64_t>{-1};
  };
  EXPECT_EQ(shape("conv_pre.weight_v"), (std::vector<int64_t>{1536, 80, 7}));
  EXPECT_EQ(shape("conv_pre.weight_g"), (std::vector<int64_t>{1536, 1, 1}));
  // ConvTranspose1d: weight [in, out, k], g per input channel.
  EXPECT_EQ(shape("ups.0.0.weight_v"), (std::vector<int64_t>{1536, 768, 8}));
  EXPECT_EQ(shape("ups.0.0.weight_g"), (std::vector<int64_t>{1536, 1, 1}));
  EXPECT_EQ(shape("ups.0.0.bias"), (std::vector<int64_t>{768}));
  EXPECT_EQ(shape("ups.5.0.weight_v"), (std::vector<int64_t>{48, 24, 4}));
  EXPECT_EQ(shape("resblocks.0.convs1.0.weight_v"), (std::vector<int64_t>{768, 768, 3}));
  EXPECT_EQ(shape("resblocks.17.convs2.2.weight_v"), (std::vector<int64_t>{24, 24, 11}));
  EXPECT_EQ(shape("resblocks.4.activations.5.act.beta"), (std::vector<int64_t>{384}));
  EXPECT_EQ(shape("activation_post.act.alpha"), (std::vector<int64_t>{24}));
  EXPECT_EQ(shape("conv_post.weight_v"), (std::vector<int64_t>{1, 24, 7}));
  EXPECT_EQ(shape("conv_post.bias"), (std::vector<int64_t>{1}));
  EXPECT_EQ(m.find("resblocks.18.convs1.0.bias"), -1);
  // State-dict order: a module's own parameters (bias, weight_g, weight_v), then its children.
  EXPECT_EQ(m.tensors.front().name, "conv_pre.bias");
  EXPECT_EQ(m.tensors[1].name, "conv_pre.weight_g");
  EXPECT_EQ(m.tensors[3].name, "ups.0.0.bias");
  EXPECT_EQ(m.tensors.back().name, "conv_post.weight_v");
  EXPECT_LT(m.find("resblocks.0.convs2.2.weight_v"), m.find("resblocks.0.activations.0.act.alpha"));
  EXPECT_LT(m.find("resblocks.0.activations.0.upsample.filter"),
            m.find("resblocks.0.activations.0.downsample.lowpass.filter"));
  EXPECT_LT(m.find("activation_post.downsample.lowpass.filter"), m.find("conv_post.bias"));
  EXPECT_NE(formatBigVganManifest(m).find("ups.0.0.weight_g\t[1536, 1, 1]\tf32\n"), std::string::npos);
  EXPECT_NE(formatBigVganManifest(m).find("activation_post.upsample.filter\t[1, 1, 12]\tf32\tbuffer\n"),
            std::string::npos);
}

TEST(BigVganManifest, PresetsAndValidation) {
  for (const auto& name : bigVganPresetNames()) {
    const BigVganConfig c = bigVganPreset(name);
    EXPECT_NO_THROW(c.validate()) << name;
    EXPECT_EQ(c.hopLength(), 256) << name;
    EXPECT_EQ(c.numMels, 80) << name;
    EXPECT_NE(describeBigVgan(c).find(name + ": BigVGAN, 80 mels -> 16000 Hz, hop 256"), std::string::npos)
        << describeBigVgan(c);
  }
  EXPECT_NE(describeBigVgan(bigVganPreset("bigvgan16k")).find("112.23M parameters"), std::string::npos);
  EXPECT_LT(buildBigVganManifest(bigVganPreset("small")).parameterCount(), 112231250 / 100);
  EXPECT_THROW(bigVganPreset("huge"), core::InputError);
  BigVganConfig bad = bigVganPreset("tiny");
  bad.upsampleKernelSizes[2] = 5;  // 5 − 2 is odd: the output would not be L·rate long
  EXPECT_THROW(bad.validate(), core::InputError);
  bad = bigVganPreset("tiny");
  bad.upsampleInitialChannel = 96;  // not a multiple of 2^6
  EXPECT_THROW(bad.validate(), core::InputError);
  bad = bigVganPreset("tiny");
  bad.resblockKernelSizes = {3, 4};
  EXPECT_THROW(bad.validate(), core::InputError);
  // Plain snake has no beta.
  BigVganConfig snake = bigVganPreset("tiny");
  snake.activation = BigVganActivation::Snake;
  EXPECT_EQ(countSuffix(buildBigVganManifest(snake), ".act.beta"), 0);
}

// kaiser_sinc_filter1d(cutoff 0.25, half_width 0.3, 12) computed directly in double precision.
TEST(BigVganFilter, KaiserSincMatchesFormula) {
  const int n = 12;
  const double cutoff = 0.25;
  const double attenuation = 2.285 * (6 - 1) * M_PI * (4 * 0.3) + 7.95;  // 51.02 > 50
  const double beta = 0.1102 * (attenuation - 8.7);
  std::vector<double> want(n);
  double sum = 0.0;
  for (int i = 0; i < n; ++i) {
    const double r = 2.0 * i / (n - 1) - 1.0;
    const double window =
        std::cyl_bessel_i(0.0, beta * std::sqrt(1.0 - r * r)) / std::cyl_bessel_i(0.0, beta);
    const double t = i - 5.5;
    const double arg = 2.0 * cutoff * t;
    want[static_cast<size_t>(i)] = 2.0 * cutoff * window * std::sin(M_PI * arg) / (M_PI * arg);
    sum += want[static_cast<size_t>(i)];
  }
  const BigVganConfig c = bigVganPreset("tiny");
  const auto sd = BigVgan::randomStateDict(c, 1);
  const BigVgan model(c, sd);
  for (const std::string name :
       {"resblocks.0.activations.0.upsample.filter", "activation_post.downsample.lowpass.filter"}) {
    const at::Tensor got = model.weight(name).to(at::kDouble);
    ASSERT_EQ(got.sizes(), (std::vector<int64_t>{1, 1, 12})) << name;
    for (int i = 0; i < n; ++i) {
      EXPECT_NEAR(got[0][0][i].item<double>(), want[static_cast<size_t>(i)] / sum, 1e-6)
          << name << " tap " << i;
    }
  }
  // A low-pass: unit DC gain, little left at the Nyquist frequency.
  const at::Tensor h = BigVgan::kaiserSincFilter(0.25, 0.3, 12).flatten().to(at::kDouble);
  EXPECT_NEAR(h.sum().item<double>(), 1.0, 1e-6);
  double nyquist = 0.0;
  for (int i = 0; i < n; ++i) {
    nyquist += (i % 2 ? -1.0 : 1.0) * h[i].item<double>();
  }
  EXPECT_LT(std::abs(nyquist), 0.05);
}

TEST(BigVganActivation, SnakeMatchesDefinition) {
  const at::Tensor x = at::randn({2, 3, 40}, at::kDouble) * 3.0;
  const at::Tensor alpha = at::tensor({-0.5, 0.0, 0.7}, at::kDouble);
  const at::Tensor beta = at::tensor({0.3, -1.0, 0.0}, at::kDouble);
  const at::Tensor logscaled = BigVgan::snake(x, alpha, beta, /*logscale=*/true);
  const at::Tensor plain = BigVgan::snake(x, alpha.exp(), at::Tensor(), /*logscale=*/false);
  for (int64_t b = 0; b < 2; ++b) {
    for (int64_t c = 0; c < 3; ++c) {
      const double a = std::exp(alpha[c].item<double>());
      const double be = std::exp(beta[c].item<double>());
      for (int64_t t = 0; t < 40; t += 7) {
        const double v = x[b][c][t].item<double>();
        const double s = std::sin(a * v);
        EXPECT_NEAR(logscaled[b][c][t].item<double>(), v + 1.0 / (be + 1e-9) * s * s, 1e-9);
        EXPECT_NEAR(plain[b][c][t].item<double>(), v + 1.0 / (a + 1e-9) * s * s, 1e-9);
      }
    }
  }
}

// Energy of `y` (one channel) in the bins of a `length`-point FFT of its middle that are not
// multiples of `harmonicBin`, as a fraction of the total.
double offHarmonicFraction(const at::Tensor& y, int64_t offset, int64_t length, int64_t harmonicBin) {
  const at::Tensor spectrum =
      at::fft_rfft(y.flatten().narrow(0, offset, length).to(at::kDouble)).abs().square();
  double off = 0.0;
  double total = 0.0;
  for (int64_t k = 0; k < spectrum.size(0); ++k) {
    const double e = spectrum[k].item<double>();
    total += e;
    off += k % harmonicBin ? e : 0.0;
  }
  return off / total;
}

TEST(BigVganActivation, ResamplingIsTransparentAtLowFrequencies) {
  const at::Tensor n = at::arange(512, at::kDouble);
  const at::Tensor x = at::sin(n * (2.0 * M_PI * 0.03)).view({1, 1, -1});
  const at::Tensor filter = BigVgan::kaiserSincFilter(0.25, 0.3, 12).to(at::kDouble);
  const at::Tensor up = BigVgan::upsample(x, filter, 2);
  ASSERT_EQ(up.size(2), 1024);
  // The upsampled sine is the same sine at half the normalised frequency, with unit gain (the
  // ratio scaling) and, as in the public code, half an upsampled sample late: up[m] ≈ x((m − ½)/2).
  const at::Tensor m = at::arange(1024, at::kDouble);
  const at::Tensor want = at::sin((m - 0.5) * (2.0 * M_PI * 0.015));
  EXPECT_LT((up.flatten() - want).narrow(0, 64, 896).abs().max().item<double>(), 0.003);
  EXPECT_GT((up.flatten() - at::sin(m * (2.0 * M_PI * 0.015))).narrow(0, 64, 896).abs().max().item<double>(),
            0.03);
  const at::Tensor back = BigVgan::downsample(up, filter, 2);
  ASSERT_EQ(back.size(2), 512);
  // The downsampler's padding (5 left, 6 right) takes the half sample back: no delay overall.
  EXPECT_LT((back - x).narrow(2, 32, 448).abs().max().item<double>(), 0.005);
}

// The model's Activation1d (a polyphase upsampler on float CPU tensors, the ratio folded into the
// filter, the snake parameters exponentiated at load) equals the public composition of
// UpSample1d → SnakeBeta → DownSample1d on the stored buffers and parameters, for any length.
TEST(BigVganActivation, ModelPathEqualsPublicComposition) {
  const BigVganConfig c = bigVganPreset("tiny");
  auto sd = BigVgan::randomStateDict(c, 4);
  const std::string prefix = "resblocks.1.activations.3";  // stage 0: 32 channels
  sd[prefix + ".act.alpha"] = at::randn({32}) * 0.5;
  sd[prefix + ".act.beta"] = at::randn({32}) * 0.5;
  const BigVgan model(c, sd);
  const at::Tensor h = sd.at(prefix + ".upsample.filter");
  const at::Tensor hd = sd.at(prefix + ".downsample.lowpass.filter");
  for (const int64_t length : {1, 2, 37, 300}) {
    const at::Tensor x = at::randn({2, 32, length}) * 2.0;
    const at::Tensor want =
        BigVgan::downsample(BigVgan::snake(BigVgan::upsample(x, h, 2), sd.at(prefix + ".act.alpha"),
                                           sd.at(prefix + ".act.beta"), true),
                            hd, 2);
    const at::Tensor got = model.activation1d(x, prefix);
    ASSERT_EQ(got.sizes(), x.sizes()) << length;
    EXPECT_TRUE(at::allclose(got, want, 1e-5, 1e-5))
        << length << ": " << (got - want).abs().max().item<double>();
  }
}

// A sine through snake makes harmonics; sampled naively, those above Nyquist fold back between the
// harmonics. Activation1d (2× up, snake, low-pass, 2× down) must leave far less off-harmonic energy.
TEST(BigVganActivation, AntiAliasingSuppressesFoldedHarmonics) {
  BigVganConfig c = bigVganPreset("tiny");
  auto sd = BigVgan::randomStateDict(c, 3);
  const double logAlpha = std::log(2.5);
  sd["activation_post.act.alpha"] = at::full({1}, logAlpha);
  sd["activation_post.act.beta"] = at::zeros({1});
  const BigVgan model(c, sd);
  // f0 = 13/128 cycles a sample: bin 104 of a 1024-point FFT; harmonic m ≥ 5 folds to bin
  // 1024 − 104·m, never a multiple of 104.
  const at::Tensor n = at::arange(2048, at::kFloat);
  const at::Tensor x = (at::sin(n * (2.0 * M_PI * 13.0 / 128.0)) * 1.2).view({1, 1, -1});
  const at::Tensor naive = BigVgan::snake(x, at::full({1}, logAlpha), at::zeros({1}), true);
  const at::Tensor filtered = model.activation1d(x, "activation_post");
  ASSERT_EQ(filtered.sizes(), x.sizes());
  const double naiveOff = offHarmonicFraction(naive, 512, 1024, 104);
  const double filteredOff = offHarmonicFraction(filtered, 512, 1024, 104);
  EXPECT_GT(naiveOff, 1e-2);  // the test signal does alias (2.6e-2 measured)
  EXPECT_LT(filteredOff, naiveOff / 10.0) << "naive " << naiveOff;  // 1.0e-3 measured
  // The model's precomputed path is the public composition: up, snake, down with the buffers.
  const at::Tensor h = sd.at("activation_post.upsample.filter");
  const at::Tensor composed = BigVgan::downsample(
      BigVgan::snake(BigVgan::upsample(x, h, 2), at::full({1}, logAlpha), at::zeros({1}), true), h, 2);
  EXPECT_TRUE(at::allclose(filtered, composed, 1e-5, 1e-6));
}

TEST(BigVganWeights, BothWeightNormSpellingsFoldAlike) {
  const BigVganConfig c = bigVganPreset("tiny");
  auto sd = BigVgan::randomStateDict(c, 5);
  // g away from ||v||, so folding changes the weights.
  for (auto& [name, t] : sd) {
    if (endsWith(name, ".weight_g")) {
      t = at::rand(t.sizes()) + 0.5;
    }
  }
  std::map<std::string, at::Tensor> parametrized;
  for (const auto& [name, t] : sd) {
    if (endsWith(name, ".weight_g")) {
      parametrized[name.substr(0, name.size() - 9) + ".parametrizations.weight.original0"] = t;
    } else if (endsWith(name, ".weight_v")) {
      parametrized[name.substr(0, name.size() - 9) + ".parametrizations.weight.original1"] = t;
    } else {
      parametrized[name] = t;
    }
  }
  const BigVgan a(c, sd);
  const BigVgan b(c, parametrized);
  for (const std::string conv : {"conv_pre", "ups.0.0", "ups.5.0", "resblocks.3.convs1.2", "conv_post"}) {
    EXPECT_TRUE(at::equal(a.weight(conv + ".weight"), b.weight(conv + ".weight"))) << conv;
  }
  // ConvTranspose1d [in 64, out 32, k 8]: g scales each input channel's slice to norm g.
  const at::Tensor g = sd.at("ups.0.0.weight_g");
  const at::Tensor v = sd.at("ups.0.0.weight_v");
  const at::Tensor w = a.weight("ups.0.0.weight");
  ASSERT_EQ(w.sizes(), (std::vector<int64_t>{64, 32, 8}));
  for (int64_t i = 0; i < 64; i += 9) {
    const at::Tensor want = v[i] * (g[i][0][0] / v[i].square().sum().sqrt());
    EXPECT_TRUE(at::allclose(w[i], want, 1e-5, 1e-7)) << i;
    EXPECT_NEAR(w[i].square().sum().sqrt().item<double>(), g[i][0][0].item<double>(), 1e-5);
  }
  // Conv1d: per output channel (dim 0 as well).
  const at::Tensor wPre = a.weight("conv_pre.weight");
  EXPECT_NEAR(wPre[5].square().sum().sqrt().item<double>(),
              sd.at("conv_pre.weight_g")[5][0][0].item<double>(), 1e-5);
  // An already folded `weight` is accepted and gives the same model.
  auto plain = sd;
  plain.erase("ups.0.0.weight_g");
  plain.erase("ups.0.0.weight_v");
  plain["ups.0.0.weight"] = w.clone();
  EXPECT_TRUE(at::allclose(BigVgan(c, plain).weight("ups.0.0.weight"), w));
  // g per output channel (as if the transposed weight were [out, in, k]) is a shape error.
  auto perOutput = sd;
  perOutput["ups.0.0.weight_g"] = at::ones({32, 1, 1});
  EXPECT_NE(inputErrorOf([&] {
              BigVgan(c, perOutput);
            }).find("ups.0.0.weight_g has shape [32, 1, 1], expected [64, 1, 1]"),
            std::string::npos);
  // The same tensor in both spellings is refused.
  auto both = sd;
  both["conv_pre.parametrizations.weight.original0"] = sd.at("conv_pre.weight_g");
  EXPECT_NE(inputErrorOf([&] { BigVgan(c, both); }).find("conv_pre.weight_g"), std::string::npos);
}

TEST(BigVganForward, LengthsRangeAndBatches) {
  for (const std::string preset : {"tiny", "small"}) {
    const BigVganConfig c = bigVganPreset(preset);
    BigVgan model(c, BigVgan::randomStateDict(c, 7));
    EXPECT_EQ(model.sampleRate(), 16000);
    EXPECT_EQ(model.melBins(), 80);
    EXPECT_EQ(model.hopLength(), 256);
    EXPECT_EQ(model.name(), "bigvgan-" + preset);
    for (const int64_t frames : {1, 5, 13}) {
      const at::Tensor wave = model.vocode(at::randn({2, 80, frames}) - 2.0);
      EXPECT_EQ(wave.sizes(), (std::vector<int64_t>{2, frames * 256})) << preset << " " << frames;
      EXPECT_EQ(wave.scalar_type(), at::kFloat);
      EXPECT_TRUE(at::isfinite(wave).all().item<bool>());
      EXPECT_LE(wave.abs().max().item<double>(), 1.0);  // tanh
    }
  }
  // Batch entries are independent; a 2-D mel is one batch entry; nonzero output.
  const BigVganConfig c = bigVganPreset("tiny");
  auto sd = BigVgan::randomStateDict(c, 9);
  sd["conv_post.bias"] = at::full({1}, 0.1);
  BigVgan model(c, sd);
  const at::Tensor mel = at::randn({2, 80, 9});
  const at::Tensor wave = model.vocode(mel);
  EXPECT_TRUE(at::allclose(model.vocode(mel[1]), wave.narrow(0, 1, 1), 1e-4, 1e-6));
  EXPECT_GT(wave.abs().mean().item<double>(), 0.05);
  // bf16 on the CPU is computed in float32: the same waveform.
  BigVgan reduced(c, sd, c10::Device(c10::DeviceType::CPU), c10::ScalarType::BFloat16);
  EXPECT_TRUE(at::allclose(reduced.vocode(mel), wave, 1e-5, 1e-6));
  EXPECT_THROW(model.vocode(at::zeros({1, 64, 9})), core::InputError);
  EXPECT_THROW(model.vocode(at::zeros({1, 80, 0})), core::InputError);
  EXPECT_THROW(model.vocode(at::zeros({80})), core::InputError);
}

// The public size with random weights (~0.9 GB while loading, a few seconds): lengths only.
TEST(BigVganForward, PublicSizeLengths) {
  const BigVganConfig c = bigVganPreset("bigvgan16k");
  BigVgan model(c, BigVgan::randomStateDict(c, 13));
  EXPECT_EQ(model.name(), "bigvgan-16k");
  for (const int64_t frames : {1, 3}) {
    const at::Tensor wave = model.vocode(at::randn({80, frames}) - 2.0);
    EXPECT_EQ(wave.sizes(), (std::vector<int64_t>{1, frames * 256}));
    EXPECT_TRUE(at::isfinite(wave).all().item<bool>());
  }
}

// Weights made by formula from each tensor's position t in the public order and element index i,
// so that an independent transcription can rebuild them.
std::map<std::string, at::Tensor> formulaStateDict(const BigVganConfig& c) {
  const BigVganManifest m = buildBigVganManifest(c);
  const auto filter = BigVgan::randomStateDict(c, 0);
  std::map<std::string, at::Tensor> sd;
  for (size_t t = 0; t < m.tensors.size(); ++t) {
    const auto& spec = m.tensors[t];
    const at::Tensor i = at::arange(spec.numel(), at::kDouble);
    const double td = static_cast<double>(t);
    at::Tensor v;
    if (endsWith(spec.name, ".weight_v")) {
      v = 0.3 * at::sin(0.37 * i + 1.3 * td + 0.1);
    } else if (endsWith(spec.name, ".weight_g")) {
      v = 0.55 + 0.2 * at::cos(0.11 * i + 0.7 * td);
    } else if (endsWith(spec.name, ".bias")) {
      v = 0.05 * at::sin(0.73 * i + 0.4 * td);
    } else if (endsWith(spec.name, ".act.alpha")) {
      v = 0.3 * at::sin(0.5 * i + td);
    } else if (endsWith(spec.name, ".act.beta")) {
      v = 0.3 * at::cos(0.3 * i + 0.5 * td);
    } else {
      v = filter.at(spec.name);
    }
    sd[spec.name] = v.to(at::kFloat).reshape(spec.shape);
  }
  return sd;
}

// Expected values from a line-by-line numpy (float64) transcription of MMAudio's
// mmaudio/ext/bigvgan (BigVGANVocoder.forward, AMPBlock1, SnakeBeta with alpha_logscale,
// Activation1d / UpSample1d / DownSample1d / LowPassFilter1d, kaiser_sinc_filter1d,
// torch._weight_norm with dim 0), its state-dict names generated from the module's registration
// order, on formulaStateDict("tiny") and the mel −3 + 1.5·sin(0.21 i)·cos(0.013 i), i the flat
// index of [80, 6]. The script is not kept (numpy is not a build dependency).
TEST(BigVganReference, MatchesThePublicCode) {
  const BigVganConfig c = bigVganPreset("tiny");
  BigVgan model(c, formulaStateDict(c));
  const at::Tensor i = at::arange(80 * 6, at::kDouble);
  const at::Tensor mel =
      (-3.0 + 1.5 * at::sin(0.21 * i) * at::cos(0.013 * i)).to(at::kFloat).reshape({1, 80, 6});
  const at::Tensor wave = model.vocode(mel).flatten().to(at::kDouble);
  ASSERT_EQ(wave.size(0), 1536);
  EXPECT_NEAR(wave.sum().item<double>(), -558.316882, 2e-3);
  EXPECT_NEAR(wave.square().sum().item<double>(), 203.887874, 1e-3);
  const at::Tensor diff = wave.narrow(0, 1, 1535) - wave.narrow(0, 0, 1535);
  EXPECT_NEAR(diff.square().sum().item<double>(), 0.031001051, 2e-7);
  const std::vector<int64_t> at = {0, 1, 7, 100, 255, 256, 777, 1000, 1234, 1535};
  const std::vector<double> want = {-0.1909408, -0.2373678, -0.3323501, -0.3625528, -0.3873844,
                                    -0.3864530, -0.3586125, -0.3583812, -0.3758378, 0.0571627};
  for (size_t k = 0; k < at.size(); ++k) {
    EXPECT_NEAR(wave[at[k]].item<double>(), want[k], 2e-6) << "sample " << at[k];
  }
}

TEST(BigVganCheckpoint, LoadsPublicNamesAndNamesBadKeys) {
  namespace fs = std::filesystem;
  const BigVganConfig c = bigVganPreset("tiny");
  auto sd = BigVgan::randomStateDict(c, 11);
  sd["conv_post.bias"] = at::full({1}, -0.2);
  const fs::path dir = fs::temp_directory_path() / ("presence-bigvgan-" + std::to_string(::getpid()));
  const fs::path file = dir / "generator.safetensors";
  runtime::saveSafetensors(file, sd);
  const auto loaded = BigVgan::fromCheckpoint(file, c);
  BigVgan direct(c, sd);
  const at::Tensor mel = at::randn({1, 80, 4});
  EXPECT_TRUE(at::equal(loaded->vocode(mel), direct.vocode(mel)));

  auto missing = sd;
  missing.erase("resblocks.2.convs2.1.weight_v");
  runtime::saveSafetensors(file, missing);
  EXPECT_NE(
      inputErrorOf([&] { BigVgan::fromCheckpoint(file, c); }).find("missing resblocks.2.convs2.1.weight_v"),
      std::string::npos);
  auto wrong = sd;
  wrong["conv_post.bias"] = at::zeros({2});
  runtime::saveSafetensors(file, wrong);
  EXPECT_NE(inputErrorOf([&] {
              BigVgan::fromCheckpoint(file, c);
            }).find("conv_post.bias has shape [2], expected [1]"),
            std::string::npos);
  auto extra = sd;
  extra["conv_post.extra"] = at::zeros({1});
  EXPECT_NE(inputErrorOf([&] { BigVgan(c, extra); }).find("unexpected conv_post.extra"), std::string::npos);
  // The wrong preset for the file names a tensor too.
  runtime::saveSafetensors(file, sd);
  EXPECT_NE(
      inputErrorOf([&] { BigVgan::fromCheckpoint(file, bigVganPreset("small")); }).find("conv_pre.weight_v"),
      std::string::npos);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace presence::models::audio
