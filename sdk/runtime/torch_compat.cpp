#include "presence/runtime/torch_compat.hpp"

#include <cmath>
#include <limits>

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

at::Tensor attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                     const std::optional<at::Tensor>& mask) {
#if TORCH_VERSION_MAJOR >= 2
  checkShapes(q, k, v);
  std::optional<at::Tensor> m = mask;
  // The fused CPU kernels take a bool mask or one of the query's dtype.
  if (m && m->defined() && m->scalar_type() != at::kBool && m->scalar_type() != q.scalar_type())
    m = m->to(q.scalar_type());
  if (m && !m->defined()) m.reset();
  return at::scaled_dot_product_attention(q, k, v, toC10Optional(m), /*dropout_p=*/0.0, /*is_causal=*/false);
#else
  return attentionMath(q, k, v, mask);
#endif
}

}  // namespace presence::runtime
