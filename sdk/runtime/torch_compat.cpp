#include "presence/runtime/torch_compat.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <mutex>
#include <vector>

#include <ATen/ATen.h>

#include "presence/core/error.hpp"

namespace presence::runtime {

namespace {
std::string shapeOf(const at::Tensor& t) {
  std::string s = "[";
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + "]";
}

void checkShapes(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v) {
  const bool ok = q.defined() && k.defined() && v.defined() && q.dim() == 4 && k.dim() == 4 && v.dim() == 4 &&
                  q.size(0) == k.size(0) && q.size(0) == v.size(0) && q.size(1) == k.size(1) &&
                  q.size(1) == v.size(1) && q.size(3) == k.size(3) && k.size(2) == v.size(2);
  if (!ok)
    throw core::Error("attention: expected q [B,H,Lq,D], k [B,H,Lk,D], v [B,H,Lk,Dv]; got q " +
                      (q.defined() ? shapeOf(q) : "undefined") + ", k " + (k.defined() ? shapeOf(k) : "undefined") +
                      ", v " + (v.defined() ? shapeOf(v) : "undefined"));
}
}  // namespace

at::Tensor attentionMath(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                         const std::optional<at::Tensor>& mask) {
  checkShapes(q, k, v);
  const bool reduced = q.scalar_type() == at::kBFloat16 || q.scalar_type() == at::kHalf;
  const auto compute = reduced ? at::kFloat : q.scalar_type();
  const at::Tensor qf = q.to(compute), kf = k.to(compute), vf = v.to(compute);
  at::Tensor scores = at::matmul(qf, kf.transpose(-2, -1)).mul_(1.0 / std::sqrt(static_cast<double>(q.size(3))));
  if (mask && mask->defined()) {
    if (mask->scalar_type() == at::kBool)
      scores.masked_fill_(mask->logical_not(), -std::numeric_limits<double>::infinity());
    else
      scores = scores + mask->to(compute);
  }
  return at::matmul(at::softmax(scores, -1), vf).to(q.scalar_type());
}

#if TORCH_VERSION_MAJOR < 2
namespace {
// LibTorch 1.x: explicit math over blocks of queries, so the score matrix stays small (64 MB of
// float32 a block). float32 (and float64) inputs compute in their dtype; bf16 inputs on the CPU
// multiply in bf16 (oneDNN's bf16 matrix products accumulate in float32 and run about 4x faster
// than float32 ones on a CPU with AMX) with the softmax accumulated in float32 inside LibTorch's
// kernel, as the math path of at::scaled_dot_product_attention does; other reduced types (and
// bf16 off the CPU) compute in float32.
at::Tensor attentionBlocked(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& mask) {
  const bool reduced = q.scalar_type() == at::kBFloat16 || q.scalar_type() == at::kHalf;
  const at::ScalarType dt =
      q.scalar_type() == at::kBFloat16 && q.device().is_cpu() ? at::kBFloat16 : (reduced ? at::kFloat : q.scalar_type());
  const double scale = 1.0 / std::sqrt(static_cast<double>(q.size(-1)));
  const at::Tensor qs = q.to(dt) * scale;  // scale the (smaller) queries, not the scores
  const at::Tensor kt = k.to(dt).transpose(-2, -1);
  const at::Tensor vs = v.to(dt);
  const std::vector<int64_t> scoreShape{q.size(0), q.size(1), q.size(2), k.size(2)};
  const at::Tensor full = mask.defined() ? mask.expand(scoreShape) : mask;
  const int64_t lq = q.size(2);
  const int64_t perQuery = std::max<int64_t>(1, q.size(0) * q.size(1) * k.size(2));
  const int64_t block = std::clamp<int64_t>((int64_t{64} << 20) / perQuery, 1, lq);
  std::vector<at::Tensor> outs;
  for (int64_t start = 0; start < lq; start += block) {
    const int64_t n = std::min(block, lq - start);
    at::Tensor scores = at::matmul(qs.narrow(2, start, n), kt);
    if (full.defined()) {
      const at::Tensor m = full.narrow(2, start, n);
      scores = m.scalar_type() == at::kBool ? scores.masked_fill(m.logical_not(), -std::numeric_limits<double>::infinity())
                                            : scores + m.to(scores.scalar_type());
    }
    outs.push_back(at::matmul(at::softmax(scores, -1), vs));
  }
  return (outs.size() == 1 ? outs[0] : at::cat(outs, 2)).to(q.scalar_type());
}
}  // namespace
#endif

void lazyInitCuda() {
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 6)
  at::globalContext().lazyInitDevice(at::kCUDA);  // lazyInitCUDA() is deprecated there
#else
  at::globalContext().lazyInitCUDA();
#endif
}

namespace {
std::mutex attentionPreferenceMutex;
std::string currentAttentionPreference = "auto";
}  // namespace

void setAttentionPreference(std::string_view name) {
  const std::string choice(name);
  if (choice != "auto" && choice != "cudnn" && choice != "fa3")
    throw core::InputError("attention preference '" + choice + "': expected auto, cudnn or fa3");
  std::lock_guard<std::mutex> lock(attentionPreferenceMutex);
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 11)
  using B = at::SDPBackend;
  std::vector<B> order{B::flash_attention, B::efficient_attention, B::math, B::cudnn_attention, B::overrideable};
  if (choice == "cudnn")
    order = {B::cudnn_attention, B::flash_attention, B::efficient_attention, B::math, B::overrideable};
  std::vector<int64_t> ids;
  for (B b : order) ids.push_back(static_cast<int64_t>(b));
  auto& context = at::globalContext();
  context.setSDPPriorityOrder(ids);
  context.setSDPUseFA3(choice == "fa3");
#else
  if (choice != "auto")
    throw core::InputError("attention preference '" + choice + "' needs LibTorch 2.11 or newer; this is " +
                           std::string(TORCH_VERSION));
#endif
  currentAttentionPreference = choice;
}

std::string attentionPreference() {
  std::lock_guard<std::mutex> lock(attentionPreferenceMutex);
  return currentAttentionPreference;
}

at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                     const std::optional<at::Tensor>& mask) {
  checkShapes(q, k, v);
  // Keys and values may come in another dtype (e.g. a cache kept in float32).
  const at::Tensor kk = k.scalar_type() == q.scalar_type() ? k : k.to(q.scalar_type());
  const at::Tensor vv = v.scalar_type() == q.scalar_type() ? v : v.to(q.scalar_type());
  const at::Tensor m = mask ? *mask : at::Tensor();
#if TORCH_VERSION_MAJOR >= 2
  std::optional<at::Tensor> fusedMask;
  // The fused CPU kernels take a bool mask or one of the query's dtype.
  if (m.defined()) fusedMask = m.scalar_type() == at::kBool || m.scalar_type() == q.scalar_type() ? m : m.to(q.scalar_type());
  return at::scaled_dot_product_attention(q, kk, vv, toC10Optional(fusedMask), /*dropout_p=*/0.0, /*is_causal=*/false);
#else
  return attentionBlocked(q, kk, vv, m);
#endif
}

}  // namespace presence::runtime
