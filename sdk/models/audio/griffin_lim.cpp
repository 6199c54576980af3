#include "presence/models/audio/griffin_lim.hpp"

#include <cmath>
#include <string>

#include "presence/core/error.hpp"
#include "presence/runtime/torch_compat.hpp"

namespace presence::models::audio {

void GriffinLimConfig::validate() const {
  mel.validate();
  if (iterations < 0) {
    throw core::InputError("griffin-lim: iterations must not be negative");
  }
  if (!(momentum >= 0.0 && momentum < 1.0)) {
    throw core::InputError("griffin-lim: momentum must be in [0, 1)");
  }
}

GriffinLimVocoder::GriffinLimVocoder(GriffinLimConfig config) : config_(config), frontEnd_(config.mel) {
  config_.validate();
  pinvBasis_ = at::linalg_pinv(frontEnd_.melBasis().to(at::kDouble)).to(at::kFloat).contiguous();
  // at::stft centres a shorter window inside nFft; do the same for synthesis.
  const int64_t n = config_.mel.nFft;
  const int64_t w = config_.mel.winLength;
  window_ = at::zeros({n}, at::TensorOptions().dtype(at::kFloat));
  const int64_t left = (n - w) / 2;
  window_.narrow(0, left, w).copy_(frontEnd_.window());
}

at::Tensor GriffinLimVocoder::melToMagnitude(const at::Tensor& mel) const {
  const MelConfig& mc = config_.mel;
  if (!mel.defined() || (mel.dim() != 2 && mel.dim() != 3)) {
    throw core::InputError("griffin-lim: expected a mel [B, " + std::to_string(mc.numMels) + ", frames]");
  }
  at::Tensor m = (mel.dim() == 2 ? mel.unsqueeze(0) : mel).to(at::kFloat);
  if (m.size(1) != mc.numMels || m.size(2) < 1) {
    throw core::InputError("griffin-lim: expected " + std::to_string(mc.numMels) + " mel bins, got a mel of shape " +
                           std::to_string(m.size(1)) + " x " + std::to_string(m.size(2)));
  }
  at::Tensor energy = mc.log == MelLog::Log10 ? at::pow(10.0, m) : at::exp(m);
  if (config_.zeroAtFloor) {
    energy = at::where(m <= mc.logFloor() + 1e-6, at::zeros_like(energy), energy);
  }
  return at::matmul(pinvBasis_.to(m.device()), energy).clamp_min(0.0);
}

at::Tensor GriffinLimVocoder::inverseStft(const at::Tensor& spectrum) const {
  const MelConfig& mc = config_.mel;
  const int64_t batch = spectrum.size(0);
  const int64_t frames = spectrum.size(2);
  const int64_t n = mc.nFft;
  const int64_t hop = mc.hopLength;
  const at::Tensor window = window_.to(spectrum.device());

  // [B, F, N] → frames [B, N, nFft], windowed.
  const at::Tensor segments = at::fft_irfft(spectrum.transpose(1, 2), n, /*dim=*/-1) * window;
  const int64_t total = (frames - 1) * hop + n;
  const auto longOptions = at::TensorOptions().dtype(at::kLong).device(spectrum.device());
  const at::Tensor index = (at::arange(frames, longOptions).unsqueeze(1) * hop + at::arange(n, longOptions).unsqueeze(0))
                               .reshape({-1});
  at::Tensor signal = at::zeros({batch, total}, segments.options());
  signal.index_add_(1, index, segments.reshape({batch, frames * n}));
  at::Tensor envelope = at::zeros({total}, segments.options());
  envelope.index_add_(0, index, window.square().repeat({frames}));
  signal = signal / envelope.clamp_min(1e-8);
  return signal.narrow(1, mc.padding(), frames * hop).contiguous();
}

at::Tensor GriffinLimVocoder::griffinLim(const at::Tensor& magnitude) const {
  const at::Tensor mag = magnitude.to(at::kFloat);
  // Zero initial phase: the spectrum is the magnitude itself.
  at::Tensor phase = at::complex(at::ones_like(mag), at::zeros_like(mag));
  at::Tensor previous;
  const double alpha = config_.momentum / (1.0 + config_.momentum);
  for (int64_t i = 0; i < config_.iterations; ++i) {
    const at::Tensor signal = inverseStft(at::complex(mag * at::real(phase), mag * at::imag(phase)));
    const at::Tensor rebuilt = frontEnd_.spectrumUnclamped(signal);
    at::Tensor next = rebuilt;
    if (previous.defined() && alpha > 0.0) {
      next = rebuilt - previous * alpha;
    }
    phase = next / (at::abs(next) + 1e-16);
    previous = rebuilt;
  }
  return inverseStft(at::complex(mag * at::real(phase), mag * at::imag(phase)));
}

at::Tensor GriffinLimVocoder::vocode(const at::Tensor& mel) {
  runtime::InferenceGuard guard;
  return griffinLim(melToMagnitude(mel)).clamp(-1.0, 1.0);
}

}  // namespace presence::models::audio
