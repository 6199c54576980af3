// Device memory figures and synchronisation: absent on the CPU, the allocator's own on CUDA.
#include "presence/runtime/device_memory.hpp"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

using namespace presence::runtime;

TEST(DeviceMemory, TheCpuHasNoAllocatorFigures) {
  const c10::Device cpu(c10::DeviceType::CPU);
  EXPECT_FALSE(deviceMemoryStats(cpu).has_value());
  resetPeakDeviceMemory(cpu);  // no-op, must not throw
  synchronizeDevice(cpu);
}

TEST(DeviceMemory, CudaPeaksFollowAllocations) {
  if (!at::hasCUDA()) GTEST_SKIP() << "no CUDA device";
  const c10::Device cuda(c10::DeviceType::CUDA, 0);
#ifndef PRESENCE_WITH_CUDA
  EXPECT_FALSE(deviceMemoryStats(cuda).has_value()) << "figures need a build with PRESENCE_BUILD_CUDA";
#else
  constexpr int64_t kBytes = int64_t{64} << 20;
  synchronizeDevice(cuda);
  resetPeakDeviceMemory(cuda);
  const auto before = deviceMemoryStats(cuda);
  ASSERT_TRUE(before.has_value());
  EXPECT_EQ(before->peakAllocatedBytes, before->allocatedBytes);
  {
    const at::Tensor t = at::ones({kBytes / 4}, at::TensorOptions().dtype(at::kFloat).device(cuda));
    synchronizeDevice(cuda);
    const auto during = deviceMemoryStats(cuda);
    EXPECT_GE(during->allocatedBytes - before->allocatedBytes, kBytes);
    EXPECT_GE(during->reservedBytes, during->allocatedBytes);
    EXPECT_EQ(t.sum().item<double>(), static_cast<double>(kBytes / 4));
  }
  const auto after = deviceMemoryStats(cuda);
  EXPECT_EQ(after->allocatedBytes, before->allocatedBytes);               // freed back to the cache
  EXPECT_GE(after->peakAllocatedBytes - before->allocatedBytes, kBytes);  // but the peak remembers
  resetPeakDeviceMemory(cuda);
  EXPECT_EQ(deviceMemoryStats(cuda)->peakAllocatedBytes, after->allocatedBytes);
#endif
}
