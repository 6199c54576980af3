// Seeded noise that is the same bits everywhere for the same seed.
#pragma once

#include <cstdint>

#include <ATen/core/Generator.h>
#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>
#include <c10/util/ArrayRef.h>

namespace presence::runtime {

/// A CPU generator (LibTorch's MT19937 CPU engine) seeded with `seed`. It is a
/// handle: copies share one state. Drawing from it takes its mutex, so it may be shared between
/// threads, but then the order of draws (and the bits each thread gets) depends on scheduling;
/// give each thread its own generator (deriveSeed) for reproducible results.
at::Generator makeGenerator(std::uint64_t seed);

/// A well-mixed 64-bit seed for stream `stream` of `seed` (splitmix64): per-sample, per-node or
/// per-step seeds that do not collide with neighbouring seeds.
std::uint64_t deriveSeed(std::uint64_t seed, std::uint64_t stream);

/// Standard normal noise of `shape`, drawn on the CPU in float32 from `generator`, then converted
/// to `dtype` and moved to `device`. Drawing on the CPU makes the noise for a seed identical on
/// CPU and CUDA, and identical for any at::set_num_threads() (LibTorch's CPU normal sampler runs
/// on one thread per generator). It costs a host-to-device copy, negligible next to a model step.
at::Tensor randn(c10::IntArrayRef shape, at::Generator& generator, c10::ScalarType dtype = c10::ScalarType::Float,
                 c10::Device device = c10::Device(c10::DeviceType::CPU));
/// The same with a fresh generator seeded with `seed`.
at::Tensor randn(c10::IntArrayRef shape, std::uint64_t seed, c10::ScalarType dtype = c10::ScalarType::Float,
                 c10::Device device = c10::Device(c10::DeviceType::CPU));

/// Uniform noise in [0, 1), drawn the same way.
at::Tensor rand(c10::IntArrayRef shape, at::Generator& generator, c10::ScalarType dtype = c10::ScalarType::Float,
                c10::Device device = c10::Device(c10::DeviceType::CPU));

}  // namespace presence::runtime
