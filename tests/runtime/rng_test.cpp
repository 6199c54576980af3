// Seeded noise: the same bits for the same seed, whatever the thread count.
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include "presence/runtime/rng.hpp"
#include "presence/runtime/tensor_util.hpp"

using namespace presence::runtime;

namespace {
/// Restores LibTorch's intra-op thread count when a test ends.
struct ThreadCount {
  int saved = at::get_num_threads();
  ~ThreadCount() { at::set_num_threads(saved); }
};
}  // namespace

TEST(Rng, SameSeedSameBits) {
  const auto a = randn({3, 1000}, 1234);
  const auto b = randn({3, 1000}, 1234);
  EXPECT_EQ(a.scalar_type(), at::kFloat);
  EXPECT_TRUE(sameBits(a, b));
  // Rough sanity of the distribution.
  EXPECT_NEAR(a.mean().item<double>(), 0.0, 0.1);
  EXPECT_NEAR(a.std().item<double>(), 1.0, 0.1);
}

TEST(Rng, DifferentSeedsDiffer) {
  EXPECT_FALSE(at::equal(randn({64}, 1), randn({64}, 2)));
  EXPECT_FALSE(at::equal(randn({64}, 0), randn({64}, deriveSeed(0, 0))));
  EXPECT_NE(deriveSeed(7, 0), deriveSeed(7, 1));
  EXPECT_NE(deriveSeed(7, 0), deriveSeed(8, 0));
  EXPECT_EQ(deriveSeed(7, 3), deriveSeed(7, 3));
}

TEST(Rng, IndependentOfTheThreadCount) {
  ThreadCount restore;
  at::set_num_threads(1);
  const auto one = randn({4, 48, 3, 8, 8}, 99);  // a latent-sized draw, large enough to be split if it were
  const auto uniformOne = [] {
    auto g = makeGenerator(5);
    return rand({100000}, g);
  }();
  at::set_num_threads(2);
  EXPECT_TRUE(sameBits(one, randn({4, 48, 3, 8, 8}, 99)));
  auto g = makeGenerator(5);
  EXPECT_TRUE(sameBits(uniformOne, rand({100000}, g)));
}

TEST(Rng, AGeneratorContinuesItsSequence) {
  auto g = makeGenerator(42);
  const auto first = randn({16}, g);
  const auto second = randn({16}, g);
  EXPECT_FALSE(at::equal(first, second));
  auto h = makeGenerator(42);
  EXPECT_TRUE(sameBits(at::cat({first, second}), at::cat({randn({16}, h), randn({16}, h)})));
}

TEST(Rng, OtherDtypesAreTheFloat32DrawConverted) {
  const auto f32 = randn({256}, 3);
  const auto bf16 = randn({256}, 3, at::kBFloat16);
  EXPECT_EQ(bf16.scalar_type(), at::kBFloat16);
  EXPECT_TRUE(sameBits(bf16, f32.to(at::kBFloat16)));
  EXPECT_TRUE(sameBits(randn({256}, 3, at::kDouble), f32.to(at::kDouble)));
}

TEST(Rng, CudaGetsTheCpuNoise) {
  if (!at::hasCUDA()) GTEST_SKIP() << "no CUDA device";
  const auto cuda = randn({1000}, 11, at::kFloat, c10::Device(c10::DeviceType::CUDA, 0));
  EXPECT_TRUE(cuda.is_cuda());
  EXPECT_TRUE(sameBits(cuda, randn({1000}, 11)));
}
