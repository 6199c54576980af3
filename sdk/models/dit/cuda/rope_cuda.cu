// RoPE on CUDA in one pass: each thread reads one pair of x, rotates it in float32 by its complex
// rotation and writes it in x's dtype. The LibTorch path (a float32 copy, a complex64 product and
// a cast back) moves five times the bytes; at the public model's 15,004 video tokens it took
// 0.31 ms and this kernel 0.16 ms on an H200, four times a block (docs/benchmarks.md).
#include "rope_cuda.hpp"

#include <ATen/ATen.h>
#include <ATen/Dispatch.h>
#include <ATen/cuda/CUDAContext.h>
#include <c10/cuda/CUDAGuard.h>

namespace presence::models::dit::cuda {

namespace {

template <class T>
__global__ void ropeKernel(const T* __restrict__ x, const float2* __restrict__ rotation, T* __restrict__ out,
                           int64_t pairsTotal, int64_t heads, int64_t pairs, int64_t tokens, int64_t rotationBatchStride,
                           bool roundToBf16) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= pairsTotal) return;
  // x is [B, L, H, 2P] contiguous: pair i is (b, l, h, p) in that order.
  const int64_t p = i % pairs;
  const int64_t l = (i / (pairs * heads)) % tokens;
  const int64_t b = i / (pairs * heads * tokens);
  const float2 r = rotation[b * rotationBatchStride + l * pairs + p];
  const float re = static_cast<float>(x[2 * i]), im = static_cast<float>(x[2 * i + 1]);
  float a = re * r.x - im * r.y, c = re * r.y + im * r.x;
  if (roundToBf16) {
    a = static_cast<float>(static_cast<c10::BFloat16>(a));
    c = static_cast<float>(static_cast<c10::BFloat16>(c));
  }
  out[2 * i] = static_cast<T>(a);
  out[2 * i + 1] = static_cast<T>(c);
}

}  // namespace

at::Tensor applyRope(const at::Tensor& x, const at::Tensor& rotation, bool roundResultToBf16) {
  TORCH_CHECK(x.is_cuda() && rotation.is_cuda(), "rope: CUDA tensors expected");
  TORCH_CHECK(x.dim() == 4 && x.size(3) % 2 == 0, "rope: x must be [B, L, heads, 2·pairs]");
  TORCH_CHECK(rotation.scalar_type() == at::kComplexFloat && rotation.dim() == 4 && rotation.size(2) == 1,
              "rope: rotation must be complex64 [B or 1, L, 1, pairs]");
  const int64_t batch = x.size(0), tokens = x.size(1), heads = x.size(2), pairs = x.size(3) / 2;
  TORCH_CHECK(rotation.size(1) == tokens && rotation.size(3) == pairs &&
                  (rotation.size(0) == 1 || rotation.size(0) == batch),
              "rope: rotation does not fit x");
  const c10::cuda::CUDAGuard guard(x.device());
  const at::Tensor xc = x.contiguous(), rc = rotation.contiguous();
  at::Tensor out = at::empty_like(xc);
  const int64_t total = batch * tokens * heads * pairs;
  if (total == 0) return out;
  const int64_t rotationBatchStride = rotation.size(0) == 1 ? 0 : tokens * pairs;
  constexpr int kThreads = 256;
  const auto blocks = static_cast<unsigned>((total + kThreads - 1) / kThreads);
  const auto stream = at::cuda::getCurrentCUDAStream();
  const auto* rot = reinterpret_cast<const float2*>(rc.data_ptr<c10::complex<float>>());
  AT_DISPATCH_FLOATING_TYPES_AND2(at::kBFloat16, at::kHalf, xc.scalar_type(), "presence_rope", [&] {
    ropeKernel<scalar_t><<<blocks, kThreads, 0, stream>>>(xc.data_ptr<scalar_t>(), rot, out.data_ptr<scalar_t>(),
                                                          total, heads, pairs, tokens, rotationBatchStride,
                                                          roundResultToBf16);
  });
  C10_CUDA_KERNEL_LAUNCH_CHECK();
  return out;
}

}  // namespace presence::models::dit::cuda
