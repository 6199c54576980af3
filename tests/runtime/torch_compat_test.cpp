// The version shims: attention and the inference guard.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "presence/core/error.hpp"
#include "presence/runtime/rng.hpp"
#include "presence/runtime/tensor_util.hpp"
#include "presence/runtime/torch_compat.hpp"

using namespace presence::runtime;

namespace {
/// softmax(q k^T / sqrt(d) + mask) v in float64, written out by hand.
at::Tensor reference(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& additive) {
  const auto qd = q.to(at::kDouble), kd = k.to(at::kDouble), vd = v.to(at::kDouble);
  auto scores = at::matmul(qd, kd.transpose(-2, -1)) / std::sqrt(static_cast<double>(q.size(-1)));
  if (additive.defined()) scores = scores + additive.to(at::kDouble);
  return at::matmul(at::softmax(scores, -1), vd);
}
}  // namespace

TEST(Attention, MatchesTheDefinition) {
  const auto q = randn({2, 3, 5, 8}, 1), k = randn({2, 3, 7, 8}, 2), v = randn({2, 3, 7, 4}, 3);
  const auto out = attention(q, k, v);
  EXPECT_EQ(out.sizes(), at::IntArrayRef({2, 3, 5, 4}));
  EXPECT_TRUE(at::allclose(out.to(at::kDouble), reference(q, k, v, {}), 1e-5, 1e-5));
  EXPECT_TRUE(at::allclose(attentionMath(q, k, v), out, 1e-5, 1e-5));
}

TEST(Attention, BoolMaskKeepsTheTruePositionsAndEqualsAnAdditiveMask) {
  const auto q = randn({1, 2, 4, 8}, 4), k = randn({1, 2, 6, 8}, 5), v = randn({1, 2, 6, 8}, 6);
  auto keep = at::ones({1, 1, 4, 6}, at::kBool);
  keep.index_put_({at::indexing::Slice(), at::indexing::Slice(), at::indexing::Slice(), at::indexing::Slice(4, 6)},
                  false);  // the last two keys are padding
  const auto additive = at::zeros({1, 1, 4, 6}).masked_fill(keep.logical_not(), -INFINITY);
  const auto withBool = attention(q, k, v, keep);
  EXPECT_TRUE(at::allclose(withBool.to(at::kDouble), reference(q, k, v, additive), 1e-5, 1e-5));
  EXPECT_TRUE(at::allclose(attention(q, k, v, additive), withBool, 1e-5, 1e-5));
  // Masked keys do not matter at all.
  const auto k2 = k.clone(), v2 = v.clone();
  k2.narrow(2, 4, 2).fill_(100);
  v2.narrow(2, 4, 2).fill_(-100);
  EXPECT_TRUE(at::allclose(attention(q, k2, v2, keep), withBool, 1e-6, 1e-6));
}

TEST(Attention, Bf16InputsGiveBf16OutputsComputedAccurately) {
  const auto q = randn({1, 2, 16, 32}, 7, at::kBFloat16), k = randn({1, 2, 16, 32}, 8, at::kBFloat16),
             v = randn({1, 2, 16, 32}, 9, at::kBFloat16);
  const auto out = attention(q, k, v);
  EXPECT_EQ(out.scalar_type(), at::kBFloat16);
  // Within bf16 rounding of the exact result on the same (bf16) inputs.
  EXPECT_TRUE(at::allclose(out.to(at::kDouble), reference(q, k, v, {}), 1e-2, 1e-2));
}

TEST(Attention, KeysAndValuesInAnotherDtypeAreTakenInTheQuerysAndMasksApplyInBf16) {
  const auto q = randn({1, 2, 9, 16}, 10, at::kBFloat16);
  const auto k = randn({1, 2, 12, 16}, 11), v = randn({1, 2, 12, 16}, 12);  // float32, as a cache may hold
  auto keep = at::ones({1, 1, 1, 12}, at::kBool);
  keep.narrow(3, 10, 2).fill_(false);
  const auto out = attention(q, k, v, keep);
  EXPECT_EQ(out.scalar_type(), at::kBFloat16);
  const auto additive = at::zeros({1, 1, 1, 12}).masked_fill(keep.logical_not(), -INFINITY);
  const auto kb = k.to(at::kBFloat16), vb = v.to(at::kBFloat16);
  EXPECT_TRUE(at::allclose(out.to(at::kDouble), reference(q, kb, vb, additive), 2e-2, 2e-2));
  EXPECT_TRUE(at::allclose(attention(q, kb, vb, additive).to(at::kDouble), out.to(at::kDouble), 2e-2, 2e-2));
}

TEST(Attention, BadShapesAreNamed) {
  const auto q = at::zeros({1, 2, 3, 4}), k = at::zeros({1, 2, 3, 5});
  try {
    attention(q, k, k);
    FAIL();
  } catch (const presence::core::Error& e) {
    EXPECT_NE(std::string(e.what()).find("q [1, 2, 3, 4], k [1, 2, 3, 5]"), std::string::npos) << e.what();
  }
  EXPECT_THROW(attention(at::zeros({2, 3}), at::zeros({2, 3}), at::zeros({2, 3})), presence::core::Error);
}

TEST(AttentionPreference, AutoAlwaysWorksAndUnknownNamesAreRefused) {
  EXPECT_EQ(attentionPreference(), "auto");
  EXPECT_NO_THROW(setAttentionPreference("auto"));
  EXPECT_THROW(setAttentionPreference("flash4"), presence::core::InputError);
  EXPECT_EQ(attentionPreference(), "auto");
  if (kTorchVersionMajor < 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR < 11)) {
    EXPECT_THROW(setAttentionPreference("cudnn"), presence::core::InputError);  // no fused kernels to choose
  } else {
    setAttentionPreference("cudnn");
    EXPECT_EQ(attentionPreference(), "cudnn");
    const auto q = randn({1, 2, 5, 8}, 1), k = randn({1, 2, 7, 8}, 2), v = randn({1, 2, 7, 8}, 3);
    EXPECT_TRUE(at::allclose(attention(q, k, v).to(at::kDouble), reference(q, k, v, {}), 1e-5, 1e-5));
    setAttentionPreference("auto");
  }
}

// Each choice of fused kernels computes the same attention on a GPU, with and without a mask, at
// the DiT's head size.
TEST(AttentionPreference, EveryChoiceComputesTheDefinitionOnCuda) {
  if (!at::hasCUDA()) GTEST_SKIP() << "no CUDA device";
  const auto cuda = at::TensorOptions().device(at::kCUDA).dtype(at::kBFloat16);
  const auto q = randn({1, 4, 300, 128}, 7).to(cuda), k = randn({1, 4, 420, 128}, 8).to(cuda),
             v = randn({1, 4, 420, 128}, 9).to(cuda);
  auto keep = at::ones({1, 1, 1, 420}, at::kBool);
  keep.narrow(3, 400, 20).fill_(false);
  const auto additive = at::zeros({1, 1, 1, 420}).masked_fill(keep.logical_not(), -INFINITY);
  const auto plain = reference(q.cpu(), k.cpu(), v.cpu(), {});
  const auto masked = reference(q.cpu(), k.cpu(), v.cpu(), additive);
  for (const char* choice : {"auto", "cudnn", "fa3"}) {
    try {
      setAttentionPreference(choice);
    } catch (const presence::core::InputError& e) {
      continue;  // not offered by this LibTorch (checked in the test above)
    }
    EXPECT_LT((attention(q, k, v).cpu().to(at::kDouble) - plain).abs().max().item<double>(), 2e-2) << choice;
    EXPECT_LT((attention(q, k, v, keep.to(at::kCUDA)).cpu().to(at::kDouble) - masked).abs().max().item<double>(), 2e-2)
        << choice;
  }
  setAttentionPreference("auto");
}

TEST(InferenceGuard, DisablesGradientsInItsScope) {
  const auto w = at::ones({2}).set_requires_grad(true);
  {
    InferenceGuard guard;
    const auto y = w * 2;
    EXPECT_FALSE(y.requires_grad());
    EXPECT_TRUE(y.is_inference());
  }
  EXPECT_TRUE((w * 2).requires_grad());
  EXPECT_GE(kTorchVersionMajor, 1);
  EXPECT_EQ(torchVersion().substr(0, 1), std::to_string(kTorchVersionMajor));
}

TEST(TensorUtil, BytesDescriptionsAndConversions) {
  EXPECT_EQ(tensorBytes(at::zeros({2, 3}, at::kBFloat16)), 12u);
  EXPECT_EQ(tensorBytes(at::Tensor()), 0u);
  EXPECT_EQ(tensorBytes(at::zeros({10}).narrow(0, 0, 4)), 16u);  // the view, not its storage
  EXPECT_EQ(tensorBytes(std::map<std::string, at::Tensor>{{"a", at::zeros({2})}, {"b", at::zeros({3}, at::kDouble)}}),
            32u);
  EXPECT_EQ(describeTensor(at::zeros({2, 3}, at::kBFloat16)), "bf16 [2, 3] on cpu");
  EXPECT_EQ(describeTensor(at::scalar_tensor(1.0)), "f32 [] on cpu");
  EXPECT_EQ(describeTensor(at::Tensor()), "undefined");
  EXPECT_EQ(toDtype(at::ones({2}), "bf16").scalar_type(), at::kBFloat16);
  EXPECT_THROW(toDtype(at::ones({2}), "f7"), presence::core::InputError);
  EXPECT_TRUE(sameBits(at::Tensor(), at::Tensor()));
  EXPECT_FALSE(sameBits(at::zeros({2}), at::zeros({2}, at::kDouble)));
  EXPECT_FALSE(sameBits(at::zeros({1}), at::zeros({1}).neg()));  // +0 vs -0
  EXPECT_TRUE(sameBits(at::zeros({0, 3}), at::zeros({0, 3})));
}
