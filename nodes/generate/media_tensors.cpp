#include "media_tensors.hpp"

#include <cstring>

namespace presence::nodes::generate {

at::Tensor toTensor(const core::ImageBatch& images) {
  auto out = at::empty({images.count, images.height, images.width, images.channels}, at::kFloat);
  std::memcpy(out.data_ptr<float>(), images.pixels.data(), images.pixels.size() * sizeof(float));
  return out;
}

core::ImageBatch toImageBatch(const at::Tensor& frames) {
  const at::Tensor f = frames.to(at::kCPU, at::kFloat).clamp(0.0, 1.0).contiguous();
  core::ImageBatch out(static_cast<int>(f.size(0)), static_cast<int>(f.size(1)), static_cast<int>(f.size(2)),
                       static_cast<int>(f.size(3)));
  std::memcpy(out.pixels.data(), f.data_ptr<float>(), out.pixels.size() * sizeof(float));
  return out;
}

core::Audio toAudio(const at::Tensor& waveform, int sampleRate) {
  const at::Tensor w = waveform.to(at::kCPU, at::kFloat).clamp(-1.0, 1.0).contiguous();
  core::Audio out;
  out.channels = 1;
  out.sampleRate = sampleRate;
  out.samples.assign(w.data_ptr<float>(), w.data_ptr<float>() + w.numel());
  return out;
}

}  // namespace presence::nodes::generate
