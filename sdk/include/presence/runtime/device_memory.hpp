// What a device's memory allocator holds, for hosts and benchmarks: the bytes in use and the
// high-water marks, and a way to wait until queued device work has finished (so a timer measures
// the work, not its launch).
#pragma once

#include <c10/core/Device.h>

#include <cstdint>
#include <optional>

namespace presence::runtime {

struct DeviceMemoryStats {
  int64_t allocatedBytes = 0;      ///< held by live tensors now
  int64_t peakAllocatedBytes = 0;  ///< the most held by live tensors since the last reset
  int64_t reservedBytes = 0;       ///< taken from the driver by the caching allocator now
  int64_t peakReservedBytes = 0;   ///< the most taken from the driver since the last reset
};

/// The caching allocator's figures for a CUDA device; nullopt for the CPU (use the process's
/// resident set there) and in builds without CUDA (PRESENCE_WITH_CUDA unset). Thread-safe.
std::optional<DeviceMemoryStats> deviceMemoryStats(const c10::Device& device);

/// Starts the peak figures of deviceMemoryStats() again from the current ones. No-op where
/// deviceMemoryStats() returns nullopt.
void resetPeakDeviceMemory(const c10::Device& device);

/// Returns once every operation queued on the device has finished. No-op on the CPU, whose
/// operations run as they are called.
void synchronizeDevice(const c10::Device& device);

}  // namespace presence::runtime
