// The log-mel front end against an independent double-precision computation from the definition.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "presence/core/error.hpp"
#include "presence/models/audio/mel_config.hpp"
#include "presence/models/audio/mel_frontend.hpp"

namespace presence::models::audio {
namespace {

constexpr double kPi = 3.14159265358979323846;

// Slaney mel written out independently of the SDK (librosa's mel_frequencies, htk=False).
double refHzToMel(double f) {
  return f < 1000.0 ? 3.0 * f / 200.0 : 15.0 + 27.0 * std::log(f / 1000.0) / std::log(6.4);
}
double refMelToHz(double m) { return m < 15.0 ? 200.0 * m / 3.0 : 1000.0 * std::pow(6.4, (m - 15.0) / 27.0); }

std::vector<std::vector<double>> refFilterBank(const MelConfig& c) {
  const int64_t bins = c.nFft / 2 + 1;
  std::vector<double> pts;
  for (int64_t i = 0; i < c.numMels + 2; ++i) {
    pts.push_back(refMelToHz(refHzToMel(c.fmin) + (refHzToMel(c.fmax) - refHzToMel(c.fmin)) * i / (c.numMels + 1.0)));
  }
  std::vector<std::vector<double>> bank(static_cast<size_t>(c.numMels), std::vector<double>(static_cast<size_t>(bins)));
  for (int64_t m = 0; m < c.numMels; ++m) {
    for (int64_t k = 0; k < bins; ++k) {
      const double f = static_cast<double>(k) * c.sampleRate / c.nFft;
      double w = 0.0;
      if (f > pts[m] && f < pts[m + 2]) {
        w = f <= pts[m + 1] ? (f - pts[m]) / (pts[m + 1] - pts[m]) : (pts[m + 2] - f) / (pts[m + 2] - pts[m + 1]);
      }
      bank[m][k] = w * 2.0 / (pts[m + 2] - pts[m]);
    }
  }
  return bank;
}

// Reflect padding, periodic Hann, naive DFT, magnitude, filter bank, log10 of the clamped energy.
std::vector<std::vector<double>> refLogMel(const std::vector<double>& x, const MelConfig& c) {
  const int64_t pad = (c.nFft - c.hopLength) / 2;
  const auto n = static_cast<int64_t>(x.size());
  std::vector<double> padded;
  for (int64_t i = -pad; i < n + pad; ++i) {
    int64_t j = i < 0 ? -i : (i >= n ? 2 * (n - 1) - i : i);
    padded.push_back(std::clamp(x[static_cast<size_t>(j)], -1.0, 1.0));
  }
  const int64_t frames = (static_cast<int64_t>(padded.size()) - c.nFft) / c.hopLength + 1;
  const int64_t bins = c.nFft / 2 + 1;
  const auto bank = refFilterBank(c);
  std::vector<std::vector<double>> out(static_cast<size_t>(c.numMels), std::vector<double>(static_cast<size_t>(frames)));
  for (int64_t t = 0; t < frames; ++t) {
    std::vector<double> mag(static_cast<size_t>(bins));
    for (int64_t k = 0; k < bins; ++k) {
      double re = 0.0;
      double im = 0.0;
      for (int64_t i = 0; i < c.nFft; ++i) {
        const double w = 0.5 - 0.5 * std::cos(2.0 * kPi * i / c.winLength);
        const double v = padded[static_cast<size_t>(t * c.hopLength + i)] * w;
        re += v * std::cos(2.0 * kPi * k * i / c.nFft);
        im -= v * std::sin(2.0 * kPi * k * i / c.nFft);
      }
      mag[k] = std::sqrt(re * re + im * im + 1e-9);
    }
    for (int64_t m = 0; m < c.numMels; ++m) {
      double e = 0.0;
      for (int64_t k = 0; k < bins; ++k) {
        e += bank[m][k] * mag[k];
      }
      out[m][t] = std::log10(std::max(e, 1e-5));
    }
  }
  return out;
}

TEST(MelConfig, Mmaudio16kParameters) {
  const MelConfig c = MelConfig::mmaudio16k();
  EXPECT_EQ(c.sampleRate, 16000);
  EXPECT_EQ(c.nFft, 1024);
  EXPECT_EQ(c.numMels, 80);
  EXPECT_EQ(c.hopLength, 256);
  EXPECT_EQ(c.winLength, 1024);
  EXPECT_EQ(c.fmin, 0.0);
  EXPECT_EQ(c.fmax, 8000.0);
  EXPECT_EQ(c.log, MelLog::Log10);
  EXPECT_EQ(c.padding(), 384);
  EXPECT_DOUBLE_EQ(c.logFloor(), -5.0);
  EXPECT_NO_THROW(c.validate());
}

TEST(MelConfig, FrameCounts) {
  const MelConfig c = MelConfig::mmaudio16k();
  EXPECT_EQ(c.frameCount(5 * 16000), 312);     // 5 s
  EXPECT_EQ(c.frameCount(8 * 16000), 500);     // MMAudio's 8 s clips → 250 latents
  EXPECT_EQ(c.frameCount(80666), 315);         // 121 frames at 24 fps → 157 latents
  EXPECT_EQ(c.frameCount(100), 0);
}

TEST(MelConfig, RejectsBadValues) {
  MelConfig c;
  c.fmax = 9000.0;
  EXPECT_THROW(c.validate(), core::InputError);
  c = MelConfig{};
  c.hopLength = 0;
  EXPECT_THROW(c.validate(), core::InputError);
}

TEST(MelFilterBank, MatchesDefinition) {
  const MelConfig c = MelConfig::mmaudio16k();
  const std::vector<double> bank = slaneyMelFilterBank(c);
  const auto ref = refFilterBank(c);
  ASSERT_EQ(bank.size(), static_cast<size_t>(80 * 513));
  double maxDiff = 0.0;
  for (int64_t m = 0; m < 80; ++m) {
    for (int64_t k = 0; k < 513; ++k) {
      maxDiff = std::max(maxDiff, std::abs(bank[m * 513 + k] - ref[m][k]));
    }
  }
  EXPECT_LT(maxDiff, 1e-12);
  // Slaney scale anchors: 1 kHz is mel 15; linear below.
  EXPECT_NEAR(hzToMelSlaney(1000.0), 15.0, 1e-12);
  EXPECT_NEAR(hzToMelSlaney(200.0), 3.0, 1e-12);
  EXPECT_NEAR(melToHzSlaney(hzToMelSlaney(5000.0)), 5000.0, 1e-9);
  // Slaney normalisation: each triangle has area ≈ 1 in Hz (bins of 15.625 Hz; the sampled area
  // is close to 1 only where a triangle spans many bins).
  for (int64_t m = 50; m < 80; ++m) {
    double area = 0.0;
    for (int64_t k = 0; k < 513; ++k) {
      area += bank[m * 513 + k] * 15.625;
    }
    EXPECT_NEAR(area, 1.0, 0.02) << "mel " << m;
  }
}

TEST(MelFrontEnd, MatchesDirectComputation) {
  const MelConfig c = MelConfig::mmaudio16k();
  const int64_t n = 4000;
  std::vector<double> x(static_cast<size_t>(n));
  uint32_t state = 12345u;
  for (int64_t i = 0; i < n; ++i) {
    state = state * 1664525u + 1013904223u;
    const double noise = (static_cast<double>(state >> 8) / 16777216.0 - 0.5) * 0.2;
    x[i] = 0.6 * std::sin(2.0 * kPi * 300.0 * i / 16000.0) + 0.3 * std::sin(2.0 * kPi * 2500.0 * i / 16000.0) + noise;
  }
  x[100] = 1.7;  // clamped to 1 by the front end
  const auto ref = refLogMel(x, c);
  const MelFrontEnd fe(c);
  const at::Tensor mel = fe.logMel(at::tensor(x, at::TensorOptions().dtype(at::kDouble)).to(at::kFloat));
  ASSERT_EQ(mel.dim(), 3);
  ASSERT_EQ(mel.size(0), 1);
  ASSERT_EQ(mel.size(1), 80);
  ASSERT_EQ(mel.size(2), c.frameCount(n));
  ASSERT_EQ(static_cast<int64_t>(ref[0].size()), mel.size(2));
  const at::Tensor got = mel.to(at::kDouble).contiguous();
  const double* p = got.data_ptr<double>();
  double maxDiff = 0.0;
  for (int64_t m = 0; m < 80; ++m) {
    for (int64_t t = 0; t < mel.size(2); ++t) {
      maxDiff = std::max(maxDiff, std::abs(p[m * mel.size(2) + t] - ref[m][t]));
    }
  }
  EXPECT_LT(maxDiff, 2e-3);
}

TEST(MelFrontEnd, ShapesAndBatch) {
  const MelFrontEnd fe;
  const at::Tensor wave = at::rand({2, 5 * 16000}) * 2 - 1;
  const at::Tensor mel = fe.logMel(wave);
  EXPECT_EQ(mel.sizes(), (std::vector<int64_t>{2, 80, 312}));
  const at::Tensor one = fe.logMel(wave[1]);
  EXPECT_TRUE(at::allclose(one[0], mel[1], 1e-5, 1e-5));
  // Silence sits at the log floor.
  const at::Tensor silent = fe.logMel(at::zeros({16000}));
  EXPECT_NEAR(silent.max().item<double>(), -5.0, 1e-4);
  EXPECT_THROW(fe.logMel(at::zeros({2, 3, 100})), core::InputError);
  EXPECT_THROW(fe.logMel(at::zeros({100})), core::InputError);
}

TEST(MelFrontEnd, PureToneLandsInItsMelBin) {
  const MelConfig c = MelConfig::mmaudio16k();
  const MelFrontEnd fe(c);
  const std::vector<double> bank = slaneyMelFilterBank(c);
  for (const double hz : {440.0, 1000.0, 3000.0, 6000.0}) {
    const at::Tensor t = at::arange(16000, at::TensorOptions().dtype(at::kDouble)) / 16000.0;
    const at::Tensor tone = (0.5 * at::sin(2.0 * kPi * hz * t)).to(at::kFloat);
    const at::Tensor mel = fe.logMel(tone).mean(2)[0];  // [80]
    const int64_t got = mel.argmax().item<int64_t>();
    // The filter with the largest weight at the tone's frequency bin.
    const auto bin = static_cast<int64_t>(std::lround(hz / 15.625));
    int64_t want = 0;
    for (int64_t m = 1; m < 80; ++m) {
      if (bank[m * 513 + bin] > bank[want * 513 + bin]) {
        want = m;
      }
    }
    EXPECT_NEAR(static_cast<double>(got), static_cast<double>(want), 1.0) << hz << " Hz";
    EXPECT_GT(mel[got].item<double>(), -1.0) << hz << " Hz";
  }
}

}  // namespace
}  // namespace presence::models::audio
