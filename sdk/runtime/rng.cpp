#include "presence/runtime/rng.hpp"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

namespace presence::runtime {

at::Generator makeGenerator(std::uint64_t seed) { return at::make_generator<at::CPUGeneratorImpl>(seed); }

std::uint64_t deriveSeed(std::uint64_t seed, std::uint64_t stream) {
  std::uint64_t z = seed + 0x9e3779b97f4a7c15ULL * (stream + 1);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

namespace {
at::Tensor place(at::Tensor cpu, c10::ScalarType dtype, c10::Device device) {
  if (dtype == cpu.scalar_type() && device.is_cpu()) return cpu;
  return cpu.to(device, dtype);
}
}  // namespace

at::Tensor randn(c10::IntArrayRef shape, at::Generator& generator, c10::ScalarType dtype, c10::Device device) {
  return place(at::randn(shape, generator, at::TensorOptions().dtype(at::kFloat).device(at::kCPU)), dtype, device);
}

at::Tensor randn(c10::IntArrayRef shape, std::uint64_t seed, c10::ScalarType dtype, c10::Device device) {
  auto generator = makeGenerator(seed);
  return randn(shape, generator, dtype, device);
}

at::Tensor rand(c10::IntArrayRef shape, at::Generator& generator, c10::ScalarType dtype, c10::Device device) {
  return place(at::rand(shape, generator, at::TensorOptions().dtype(at::kFloat).device(at::kCPU)), dtype, device);
}

}  // namespace presence::runtime
