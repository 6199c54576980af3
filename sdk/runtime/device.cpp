#include "presence/runtime/device.hpp"

#include <cctype>
#include <charconv>

#include <torch/cuda.h>

#include "presence/core/error.hpp"

namespace presence::runtime {

namespace {
std::string lowerTrimmed(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front()))) text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.remove_suffix(1);
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

[[noreturn]] void badDevice(std::string_view text, const std::string& why = {}) {
  throw core::InputError("unknown device '" + std::string(text) + "'" + (why.empty() ? "" : " (" + why + ")") +
                         ": expected cpu, cuda, cuda:N or auto");
}
}  // namespace

DeviceSpec DeviceSpec::parse(std::string_view text) {
  const std::string s = lowerTrimmed(text);
  if (s == "auto") return {Kind::Auto, std::nullopt};
  if (s == "cpu") return {Kind::Cpu, std::nullopt};
  if (s == "cuda") return {Kind::Cuda, std::nullopt};
  if (s.rfind("cuda:", 0) == 0) {
    const std::string_view digits = std::string_view(s).substr(5);
    int index = -1;
    const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), index);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || index < 0)
      badDevice(text, "the CUDA index must be a number from 0");
    if (index > 1023) badDevice(text, "CUDA index out of range");
    return {Kind::Cuda, index};
  }
  badDevice(text);
}

std::string DeviceSpec::str() const {
  switch (kind) {
    case Kind::Auto: return "auto";
    case Kind::Cpu: return "cpu";
    case Kind::Cuda: return index ? "cuda:" + std::to_string(*index) : "cuda";
  }
  return "?";
}

int cudaDeviceCount() {
  static const int count = static_cast<int>(torch::cuda::device_count());
  return count;
}

c10::Device resolveDevice(const DeviceSpec& spec, int cudaDevices) {
  switch (spec.kind) {
    case DeviceSpec::Kind::Auto:
      return cudaDevices > 0 ? c10::Device(c10::DeviceType::CUDA, 0) : c10::Device(c10::DeviceType::CPU);
    case DeviceSpec::Kind::Cpu:
      return c10::Device(c10::DeviceType::CPU);
    case DeviceSpec::Kind::Cuda: {
      const int index = spec.index.value_or(0);
      if (cudaDevices <= 0)
        throw core::InputError("device '" + spec.str() +
                               "' was requested but no CUDA device is available (CPU-only LibTorch, no GPU, or no "
                               "driver); use 'cpu' or 'auto'");
      if (index >= cudaDevices)
        throw core::InputError("device 'cuda:" + std::to_string(index) + "' was requested but only " +
                               std::to_string(cudaDevices) + " CUDA device" + (cudaDevices == 1 ? " is" : "s are") +
                               " available (cuda:0" + (cudaDevices > 1 ? " to cuda:" + std::to_string(cudaDevices - 1) : "") +
                               ")");
      return c10::Device(c10::DeviceType::CUDA, static_cast<c10::DeviceIndex>(index));
    }
  }
  return c10::Device(c10::DeviceType::CPU);
}

c10::Device resolveDevice(std::string_view text) { return resolveDevice(DeviceSpec::parse(text), cudaDeviceCount()); }

std::string deviceName(const c10::Device& device) {
  if (device.is_cpu()) return "cpu";
  if (device.is_cuda()) return "cuda:" + std::to_string(device.has_index() ? device.index() : 0);
  return device.str();
}

}  // namespace presence::runtime
