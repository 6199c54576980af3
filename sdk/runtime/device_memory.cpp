#include "presence/runtime/device_memory.hpp"

#include <torch/cuda.h>

#include "presence/runtime/torch_compat.hpp"

#ifdef PRESENCE_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace presence::runtime {

namespace {
#ifdef PRESENCE_WITH_CUDA
// The allocator refuses every device ("Invalid device argument") until CUDA is initialised.
int cudaIndex(const c10::Device& device) {
  lazyInitCuda();
  return device.has_index() ? device.index() : 0;
}
#endif
}  // namespace

std::optional<DeviceMemoryStats> deviceMemoryStats(const c10::Device& device) {
#ifdef PRESENCE_WITH_CUDA
  if (device.is_cuda()) {
    // Index 0 of each StatArray is the aggregate over the small and large pools (StatType::AGGREGATE,
    // whose namespace moved between LibTorch versions; the index did not).
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(cudaIndex(device));
    return DeviceMemoryStats{stats.allocated_bytes[0].current, stats.allocated_bytes[0].peak,
                             stats.reserved_bytes[0].current, stats.reserved_bytes[0].peak};
  }
#else
  (void)device;
#endif
  return std::nullopt;
}

void resetPeakDeviceMemory(const c10::Device& device) {
#ifdef PRESENCE_WITH_CUDA
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(cudaIndex(device));
#else
  (void)device;
#endif
}

void synchronizeDevice(const c10::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.has_index() ? device.index() : -1);
}

}  // namespace presence::runtime
