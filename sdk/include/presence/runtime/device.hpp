// Devices: parsing the names users type ("cpu", "cuda", "cuda:1", "auto") and checking them.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <c10/core/Device.h>

namespace presence::runtime {

/// A device as written, before it is checked against the machine.
struct DeviceSpec {
  enum class Kind { Auto, Cpu, Cuda };
  Kind kind = Kind::Auto;
  std::optional<int> index;  ///< only for Cuda; "cuda" alone means device 0

  /// Parses "cpu", "cuda", "cuda:N" or "auto" (case-insensitive, surrounding blanks ignored).
  /// Throws core::InputError naming the text and the accepted forms.
  static DeviceSpec parse(std::string_view text);
  std::string str() const;
};

/// Number of CUDA devices LibTorch can use (0 in a CPU-only build or without a driver).
int cudaDeviceCount();

/// Resolves a spec against `cudaDevices` visible devices: auto -> cuda:0 when there is at least
/// one, else cpu. Throws core::InputError when CUDA is asked for but missing, or the index is
/// out of range ("cuda:3 was requested but only 2 CUDA devices are available").
c10::Device resolveDevice(const DeviceSpec& spec, int cudaDevices);

/// parse + resolve against this machine. Thread-safe.
c10::Device resolveDevice(std::string_view text);

/// "cpu", "cuda:0": the spelling parse() accepts.
std::string deviceName(const c10::Device& device);

}  // namespace presence::runtime
