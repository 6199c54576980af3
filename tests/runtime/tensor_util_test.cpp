// Content fingerprints of state dicts (training checkpoints record their starting weights').
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "presence/runtime/tensor_util.hpp"

using presence::runtime::contentFingerprint;

namespace {

std::map<std::string, at::Tensor> weights() {
  return {{"a.weight", at::arange(12, at::kFloat).reshape({3, 4})}, {"b.bias", at::ones({5}, at::kBFloat16)}};
}

}  // namespace

TEST(ContentFingerprint, EqualContentGivesTheSameHexDigestWhateverTheLayout) {
  const std::string f = contentFingerprint(weights());
  EXPECT_EQ(f.size(), 16u);
  EXPECT_EQ(f.find_first_not_of("0123456789abcdef"), std::string::npos) << f;
  auto copy = weights();
  // The same values held through a transposed view of another storage.
  copy["a.weight"] = at::arange(12, at::kFloat).reshape({3, 4}).t().contiguous().t();
  ASSERT_FALSE(copy["a.weight"].is_contiguous());
  EXPECT_EQ(contentFingerprint(copy), f);
}

TEST(ContentFingerprint, AnyChangeOfValueNameDtypeOrShapeChangesIt) {
  const std::string f = contentFingerprint(weights());
  auto value = weights();
  value["a.weight"][2][3] = 11.5f;
  EXPECT_NE(contentFingerprint(value), f);
  auto name = weights();
  name["a.weights"] = name["a.weight"];
  name.erase("a.weight");
  EXPECT_NE(contentFingerprint(name), f);
  auto dtype = weights();
  dtype["b.bias"] = at::ones({5}, at::kHalf);
  EXPECT_NE(contentFingerprint(dtype), f);
  auto shape = weights();
  shape["a.weight"] = shape["a.weight"].reshape({4, 3});
  EXPECT_NE(contentFingerprint(shape), f);
  EXPECT_NE(contentFingerprint({}), f);
}
