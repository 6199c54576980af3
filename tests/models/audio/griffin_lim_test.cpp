// The Griffin-Lim vocoder: a tone survives mel → waveform.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include <cmath>

#include "presence/core/error.hpp"
#include "presence/models/audio/griffin_lim.hpp"
#include "presence/models/audio/mel_frontend.hpp"

namespace presence::models::audio {
namespace {

constexpr double kPi = 3.14159265358979323846;

at::Tensor tone(double hz, int64_t samples, double amplitude = 0.5) {
  const at::Tensor t = at::arange(samples, at::TensorOptions().dtype(at::kDouble)) / 16000.0;
  return (amplitude * at::sin(2.0 * kPi * hz * t)).to(at::kFloat);
}

TEST(GriffinLim, Interface) {
  GriffinLimVocoder v;
  EXPECT_EQ(v.name(), "griffin-lim");
  EXPECT_EQ(v.sampleRate(), 16000);
  EXPECT_EQ(v.melBins(), 80);
  EXPECT_EQ(v.hopLength(), 256);
  EXPECT_THROW(v.vocode(at::zeros({1, 64, 10})), core::InputError);
  GriffinLimConfig bad;
  bad.momentum = 1.0;
  EXPECT_THROW(GriffinLimVocoder{bad}, core::InputError);
}

TEST(GriffinLim, InverseStftReconstructsSignal) {
  GriffinLimVocoder v;
  const MelFrontEnd fe;
  const at::Tensor x = at::rand({1, 256 * 40}) * 1.6 - 0.8;
  const at::Tensor rebuilt = v.inverseStft(fe.spectrum(x));
  ASSERT_EQ(rebuilt.sizes(), x.sizes());
  EXPECT_LT((rebuilt - x).abs().max().item<double>(), 1e-4);
}

TEST(GriffinLim, ToneKeepsItsFrequency) {
  const int64_t samples = 16000;
  const MelFrontEnd fe;
  const at::Tensor mel = fe.logMel(tone(440.0, samples));
  GriffinLimVocoder v;
  const at::Tensor wave = v.vocode(mel);
  ASSERT_EQ(wave.dim(), 2);
  EXPECT_EQ(wave.size(0), 1);
  EXPECT_EQ(wave.size(1), mel.size(2) * 256);
  EXPECT_LE(wave.abs().max().item<double>(), 1.0);
  // Dominant frequency within one bin of the analysis STFT (16000 / 1024 = 15.6 Hz) of 440 Hz:
  // the mel filters near 440 Hz are ~66 Hz wide, so the mel cannot place it more finely.
  const int64_t n = wave.size(1);
  const at::Tensor spectrum = at::abs(at::fft_rfft(wave[0].to(at::kDouble)));
  const double peakHz = static_cast<double>(spectrum.argmax().item<int64_t>()) * 16000.0 / static_cast<double>(n);
  EXPECT_NEAR(peakHz, 440.0, 16000.0 / 1024.0);
  EXPECT_GT(wave.square().mean().item<double>(), 1e-3);  // not silent
  // Determinism.
  EXPECT_TRUE(at::equal(wave, v.vocode(mel)));
  // 2-D mel accepted as B = 1.
  EXPECT_TRUE(at::equal(wave, v.vocode(mel[0])));
}

TEST(GriffinLim, MelRoundTripIsClose) {
  const MelFrontEnd fe;
  const at::Tensor x = tone(300.0, 8000, 0.3) + tone(1200.0, 8000, 0.2);
  const at::Tensor mel = fe.logMel(x);
  GriffinLimVocoder v;
  const at::Tensor again = fe.logMel(v.vocode(mel));
  // Compare the loud part of the spectrum (within 3 decades of the peak).
  const at::Tensor loud = mel > (mel.max() - 3.0);
  const double err = (again - mel).abs().masked_select(loud).mean().item<double>();
  EXPECT_LT(err, 0.35);
}

TEST(GriffinLim, BatchOfFiveSeconds) {
  const MelFrontEnd fe;
  const at::Tensor x = at::stack({tone(440.0, 80000), tone(880.0, 80000, 0.3)});
  const at::Tensor mel = fe.logMel(x);
  ASSERT_EQ(mel.sizes(), (std::vector<int64_t>{2, 80, 312}));
  GriffinLimVocoder v;
  const at::Tensor wave = v.vocode(mel);
  EXPECT_EQ(wave.sizes(), (std::vector<int64_t>{2, 312 * 256}));
  // Each batch entry sounds like vocoding it alone. Not sample-equal: the phase Griffin-Lim finds
  // where the spectrum nearly cancels depends on rounding, which batched FFTs change (LibTorch 1.13
  // gives equal bits here, 2.11 a log-mel gap of 0.026). So the gap must stay well inside
  // Griffin-Lim's own error against the target (about 0.12) and far from another sound's (about 1).
  const at::Tensor alone = v.vocode(mel.narrow(0, 1, 1));
  const double gap = (fe.logMel(wave[1]) - fe.logMel(alone[0])).abs().mean().item<double>();
  const double ownError = (fe.logMel(alone[0]) - mel[1]).abs().mean().item<double>();
  const double otherSound = (fe.logMel(wave[0]) - fe.logMel(alone[0])).abs().mean().item<double>();
  EXPECT_LT(gap, 0.5 * ownError);
  EXPECT_LT(gap, 0.05 * otherSound);
}

TEST(GriffinLim, SilenceStaysSilent) {
  GriffinLimVocoder v;
  const at::Tensor mel = at::full({1, 80, 20}, -5.0);
  const at::Tensor wave = v.vocode(mel);
  EXPECT_EQ(wave.size(1), 20 * 256);
  EXPECT_LT(wave.abs().max().item<double>(), 1e-6);
}

}  // namespace
}  // namespace presence::models::audio
