#include "presence/models/audio/mel_frontend.hpp"

#include <string>

#include "presence/core/error.hpp"

namespace presence::models::audio {

MelFrontEnd::MelFrontEnd(MelConfig config) : config_(config) {
  config_.validate();
  const std::vector<double> bank = slaneyMelFilterBank(config_);
  melBasis_ = at::tensor(bank, at::TensorOptions().dtype(at::kDouble))
                  .view({config_.numMels, config_.frequencyBins()})
                  .to(at::kFloat)
                  .contiguous();
  window_ = at::hann_window(config_.winLength, /*periodic=*/true, at::TensorOptions().dtype(at::kFloat));
}

at::Tensor MelFrontEnd::batched(const at::Tensor& waveform) const {
  if (!waveform.defined() || (waveform.dim() != 1 && waveform.dim() != 2)) {
    throw core::InputError("mel front end: expected a waveform [T] or [B, T]");
  }
  at::Tensor x = waveform.dim() == 1 ? waveform.unsqueeze(0) : waveform;
  const int64_t samples = x.size(1);
  if (samples <= config_.padding() || config_.frameCount(samples) < 1) {
    throw core::InputError("mel front end: waveform of " + std::to_string(samples) +
                           " samples is too short (need more than " + std::to_string(config_.padding()) + ")");
  }
  return x.to(at::kFloat);
}

at::Tensor MelFrontEnd::spectrumUnclamped(const at::Tensor& waveform) const {
  at::Tensor x = batched(waveform);
  const int64_t pad = config_.padding();
  x = at::reflection_pad1d(x.unsqueeze(1), {pad, pad}).squeeze(1);
  const at::Tensor window = window_.to(x.device());
  // The overload without `center` frames the signal as given (centre=False).
  return at::stft(x, config_.nFft, config_.hopLength, config_.winLength, window, /*normalized=*/false,
                  c10::optional<bool>(true), c10::optional<bool>(true));
}

at::Tensor MelFrontEnd::spectrum(const at::Tensor& waveform) const {
  return spectrumUnclamped(batched(waveform).clamp(-1.0, 1.0));
}

at::Tensor MelFrontEnd::magnitude(const at::Tensor& waveform) const {
  const at::Tensor spec = spectrum(waveform);
  const at::Tensor power = at::real(spec).square() + at::imag(spec).square();
  return at::sqrt(power + config_.magnitudeEps);
}

at::Tensor MelFrontEnd::magnitudeToLogMel(const at::Tensor& magnitude) const {
  if (magnitude.dim() != 3 || magnitude.size(1) != config_.frequencyBins()) {
    throw core::InputError("mel front end: expected a magnitude [B, " + std::to_string(config_.frequencyBins()) +
                           ", frames]");
  }
  const at::Tensor mel = at::matmul(melBasis_.to(magnitude.device()), magnitude.to(at::kFloat));
  const at::Tensor clamped = mel.clamp_min(config_.clampMin);
  return config_.log == MelLog::Log10 ? at::log10(clamped) : at::log(clamped);
}

at::Tensor MelFrontEnd::logMel(const at::Tensor& waveform) const { return magnitudeToLogMel(magnitude(waveform)); }

}  // namespace presence::models::audio
