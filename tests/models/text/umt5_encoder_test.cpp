#include "presence/models/text/umt5_encoder.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <numbers>

#include "presence/core/error.hpp"
#include "presence/models/text/umt5_manifest.hpp"
#include "presence/models/text/umt5_presets.hpp"
#include "presence/runtime/checkpoint_reader.hpp"
#include "presence/runtime/safetensors_writer.hpp"
#include "test_tokenizer_model.hpp"

namespace presence::models::text {
namespace {

std::filesystem::path scratch(const std::string& name) {
  return testing::testTokenizerModel().parent_path() / name;
}

int64_t bucketOf(int64_t relative) {
  auto t = at::tensor(std::vector<int64_t>{relative}, at::TensorOptions().dtype(at::kLong));
  return relativePositionBuckets(t, /*bidirectional=*/true, 32, 128).item<int64_t>();
}

// Hand-computed from the definition: 16 buckets per direction (keys after the query add 16);
// distances 0..7 are exact; a distance d >= 8 goes to 8 + floor(ln(d / 8) / ln(128 / 8) * 8),
// capped at 15. Values sit away from the logarithmic bucket edges.
TEST(RelativePositionBuckets, HandComputedBidirectional) {
  const std::map<int64_t, int64_t> expected = {
      {0, 0},    {-1, 1},   {-7, 7},   {1, 17},    {7, 23},    {-12, 9},   {-24, 11},
      {-50, 13}, {-60, 13}, {-70, 14}, {-100, 15}, {-127, 15}, {-128, 15}, {-1000, 15},
      {12, 25},  {20, 26},  {40, 28},  {100, 31},  {128, 31},  {5000, 31},
  };
  for (const auto& [relative, bucket] : expected) {
    EXPECT_EQ(bucketOf(relative), bucket) << "relative position " << relative;
  }
}

TEST(RelativePositionBuckets, MatrixIsKeyMinusQuery) {
  const auto b = relativePositionBuckets(4, 3, true, 32, 128);
  ASSERT_EQ(b.sizes().vec(), (std::vector<int64_t>{4, 3}));
  EXPECT_EQ(b[0][0].item<int64_t>(), 0);
  EXPECT_EQ(b[0][2].item<int64_t>(), 18);  // key 2 after query 0
  EXPECT_EQ(b[3][0].item<int64_t>(), 3);   // key 3 before query 3
  // Unidirectional: only keys before the query are distinguished.
  const auto u = relativePositionBuckets(3, 3, false, 32, 128);
  EXPECT_EQ(u[0][2].item<int64_t>(), 0);
  EXPECT_EQ(u[2][0].item<int64_t>(), 2);
}

class Umt5EncoderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    config_ = umt5Preset("tiny");
    TokenizerOptions options;
    options.maxLength = config_.textLen;
    tokenizer_ = std::make_shared<Tokenizer>(testing::testTokenizerModel(), options);
  }
  Umt5Config config_;
  std::shared_ptr<Tokenizer> tokenizer_;
};

TEST_F(Umt5EncoderTest, EncodeShapeAndZeroPadding) {
  Umt5Encoder encoder(randomUmt5Weights(config_, 7), tokenizer_);
  EXPECT_EQ(encoder.name(), "umt5-tiny");
  EXPECT_EQ(encoder.embeddingDim(), 32);
  EXPECT_EQ(encoder.maxLength(), 64);
  const std::vector<std::string> prompts = {
      "", "The man says <S>Hello, it is good to see you again.<E> and smiles."};
  const auto out = encoder.encode(prompts);
  const auto longest = static_cast<int64_t>(tokenizer_->encode(prompts[1]).size());
  ASSERT_EQ(out.embeddings.sizes().vec(), (std::vector<int64_t>{2, longest, 32}));
  EXPECT_EQ(out.lengths[0].item<int64_t>(), 1);
  EXPECT_EQ(out.lengths[1].item<int64_t>(), longest);
  EXPECT_TRUE(at::isfinite(out.embeddings).all().item<bool>());
  // Rows past a prompt's length are zero; real rows are not.
  EXPECT_EQ(out.embeddings[0].slice(0, 1).abs().max().item<float>(), 0.0f);
  EXPECT_GT(out.embeddings[0][0].abs().max().item<float>(), 0.0f);
  // The final norm has unit weight: each real row has unit root mean square.
  const auto rms = out.embeddings[1].pow(2).mean({-1}).sqrt();
  EXPECT_TRUE(at::allclose(rms, at::ones_like(rms), 1e-4, 1e-4));

  const auto empty = encoder.encode({});
  EXPECT_EQ(empty.embeddings.size(0), 0);
}

TEST_F(Umt5EncoderTest, PaddingDoesNotChangeRealTokens) {
  Umt5Encoder encoder(randomUmt5Weights(config_, 11));
  const int64_t n = 5;
  auto ids =
      at::tensor(std::vector<int64_t>{17, 42, 99, 3, 1}, at::TensorOptions().dtype(at::kLong)).view({1, n});
  const auto alone = encoder.forward(ids, at::tensor(std::vector<int64_t>{n}));
  // The same prompt followed by padding, and by arbitrary (masked) ids, up to 40 tokens.
  for (int64_t fill : {0, 123}) {
    auto padded = at::full({1, 40}, fill, at::TensorOptions().dtype(at::kLong));
    padded.slice(1, 0, n).copy_(ids);
    const auto out = encoder.forward(padded, at::tensor(std::vector<int64_t>{n}));
    EXPECT_TRUE(at::allclose(out.slice(1, 0, n), alone, 1e-5, 1e-5)) << "fill " << fill;
  }
  // Batched with a longer prompt: the short one's real rows still match.
  auto batch = at::randint(3, 200, {2, 40}, at::TensorOptions().dtype(at::kLong));
  batch[0].slice(0, 0, n).copy_(ids[0]);
  const auto out = encoder.forward(batch, at::tensor(std::vector<int64_t>{n, 40}));
  EXPECT_TRUE(at::allclose(out[0].slice(0, 0, n), alone[0], 1e-5, 1e-5));
  // Real keys do matter: changing one real token changes the others' outputs.
  auto changed = ids.clone();
  changed[0][1] = 43;
  const auto other = encoder.forward(changed, at::tensor(std::vector<int64_t>{n}));
  EXPECT_FALSE(at::allclose(other[0][0], alone[0][0], 1e-5, 1e-5));
}

TEST_F(Umt5EncoderTest, RejectsBadInput) {
  Umt5Encoder encoder(randomUmt5Weights(config_, 1));
  auto ids = at::tensor(std::vector<int64_t>{5, config_.vocabSize}, at::TensorOptions().dtype(at::kLong)).view({1, 2});
  EXPECT_THROW(encoder.forward(ids, at::tensor(std::vector<int64_t>{2})), core::InputError);
  ids[0][1] = 4;
  EXPECT_THROW(encoder.forward(ids, at::tensor(std::vector<int64_t>{0})), core::InputError);
  EXPECT_THROW(encoder.encode({"x"}), core::Error);  // no tokenizer
}

TEST_F(Umt5EncoderTest, CheckpointWithPublicNamesLoadsCleanly) {
  const auto weights = randomUmt5Weights(config_, 3);
  const auto path = scratch("umt5_tiny.safetensors");
  saveUmt5Weights(weights, path);
  const runtime::CheckpointReader reader(path);
  const auto report = checkUmt5Checkpoint(config_, reader);
  EXPECT_TRUE(report.empty()) << report.describe();
  const auto loaded = loadUmt5Weights(config_, path);
  ASSERT_EQ(loaded.tensors.size(), weights.tensors.size());
  for (const auto& [name, tensor] : weights.tensors) {
    EXPECT_TRUE(at::equal(loaded.at(name), tensor)) << name;
  }
  Umt5Encoder a(weights);
  Umt5Encoder b(loaded);
  auto ids = at::tensor(std::vector<int64_t>{8, 9, 10, 1}, at::TensorOptions().dtype(at::kLong)).view({1, 4});
  const auto lengths = at::tensor(std::vector<int64_t>{4});
  EXPECT_TRUE(at::equal(a.forward(ids, lengths), b.forward(ids, lengths)));
}

TEST_F(Umt5EncoderTest, LoadEncoderFromFiles) {
  const auto weights = randomUmt5Weights(config_, 4);
  const auto path = scratch("umt5_tiny_encoder.safetensors");
  saveUmt5Weights(weights, path);
  auto encoder = loadUmt5Encoder(config_, path, testing::testTokenizerModel());
  EXPECT_EQ(encoder->maxLength(), config_.textLen);
  Umt5Encoder direct(weights, tokenizer_);
  const std::vector<std::string> prompts = {"<S>not yet<E> Audio: rain.",
                                            "A tall doctor cleans the yellow bicycle."};
  const auto a = encoder->encode(prompts);
  const auto b = direct.encode(prompts);
  EXPECT_TRUE(at::equal(a.embeddings, b.embeddings));
  EXPECT_TRUE(at::equal(a.lengths, b.lengths));
  EXPECT_THROW(loadUmt5Encoder(config_, path, scratch("missing.model")), core::InputError);
}

TEST_F(Umt5EncoderTest, CheckpointProblemsAreReportedByName) {
  auto tensors = randomUmt5Weights(config_, 5).tensors;
  tensors.erase("blocks.1.ffn.gate.0.weight");
  tensors["blocks.0.attn.q.weight"] = at::zeros({16, 32});
  tensors["encoder.final_layer_norm.weight"] = at::ones({32});
  const auto path = scratch("umt5_tiny_bad.safetensors");
  runtime::saveSafetensors(path, tensors);

  const auto report = checkUmt5Checkpoint(config_, runtime::CheckpointReader(path));
  ASSERT_EQ(report.missing, std::vector<std::string>{"blocks.1.ffn.gate.0.weight"});
  ASSERT_EQ(report.unexpected, std::vector<std::string>{"encoder.final_layer_norm.weight"});
  ASSERT_EQ(report.misshaped.size(), 1u);
  EXPECT_EQ(report.misshaped[0].name, "blocks.0.attn.q.weight");
  try {
    loadUmt5Weights(config_, path);
    FAIL() << "expected an InputError";
  } catch (const core::InputError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("missing: blocks.1.ffn.gate.0.weight"), std::string::npos) << message;
    EXPECT_NE(message.find("blocks.0.attn.q.weight"), std::string::npos) << message;
    EXPECT_NE(message.find("unexpected: encoder.final_layer_norm.weight"), std::string::npos) << message;
    EXPECT_NE(message.find(path.string()), std::string::npos) << message;
  }
}

TEST_F(Umt5EncoderTest, UnexpectedTensorsAllowedWhenNotStrict) {
  auto tensors = randomUmt5Weights(config_, 6).tensors;
  tensors["extra.weight"] = at::ones({2});
  const auto path = scratch("umt5_tiny_extra.safetensors");
  runtime::saveSafetensors(path, tensors);
  EXPECT_THROW(loadUmt5Weights(config_, path), core::InputError);
  Umt5LoadOptions lenient;
  lenient.strict = false;
  EXPECT_EQ(loadUmt5Weights(config_, path, lenient).tensors.size(), tensors.size() - 1);
}

TEST_F(Umt5EncoderTest, Bfloat16RunsAndStaysClose) {
  const auto weights = randomUmt5Weights(config_, 9);
  Umt5Weights half{config_, {}};
  for (const auto& [name, t] : weights.tensors) {
    half.tensors.emplace(name, t.to(at::kBFloat16));
  }
  Umt5Encoder full(weights);
  Umt5Encoder low(half);
  auto ids =
      at::tensor(std::vector<int64_t>{20, 30, 40, 1}, at::TensorOptions().dtype(at::kLong)).view({1, 4});
  const auto lengths = at::tensor(std::vector<int64_t>{4});
  const auto a = full.forward(ids, lengths);
  const auto b = low.forward(ids, lengths);
  EXPECT_EQ(b.scalar_type(), at::kBFloat16);
  EXPECT_LT((a - b.to(at::kFloat)).abs().max().item<float>(), 0.2f);
}

}  // namespace
}  // namespace presence::models::text

namespace presence::models::text {
namespace {

// A deliberately plain re-statement of the encoder (one prompt, token by token, head by head)
// from the public T5Encoder's definition, to check the batched ATen forward against.
int64_t plainBucket(int64_t relative) {
  int64_t bucket = relative > 0 ? 16 : 0;
  const int64_t distance = relative < 0 ? -relative : relative;
  if (distance < 8) {
    return bucket + distance;
  }
  const auto large =
      8 + static_cast<int64_t>(std::log(static_cast<double>(distance) / 8.0) / std::log(16.0) * 8.0);
  return bucket + std::min<int64_t>(large, 15);
}

at::Tensor plainNorm(const at::Tensor& x, const at::Tensor& w) {
  return w * (x / std::sqrt(x.pow(2).mean().item<double>() + 1e-6));
}

at::Tensor plainForward(const Umt5Weights& w, const std::vector<int64_t>& ids, int64_t valid) {
  const auto& c = w.config;
  const auto n = static_cast<int64_t>(ids.size());
  const int64_t hd = c.headDim();
  std::vector<at::Tensor> x;
  for (int64_t id : ids) {
    x.push_back(w.at("token_embedding.weight")[id].clone());
  }
  for (int64_t l = 0; l < c.numLayers; ++l) {
    const auto b = "blocks." + std::to_string(l) + ".";
    std::vector<at::Tensor> q, k, v;
    for (const auto& t : x) {
      const auto h = plainNorm(t, w.at(b + "norm1.weight"));
      q.push_back(at::mv(w.at(b + "attn.q.weight"), h));
      k.push_back(at::mv(w.at(b + "attn.k.weight"), h));
      v.push_back(at::mv(w.at(b + "attn.v.weight"), h));
    }
    const auto& table = w.at(b + "pos_embedding.embedding.weight");
    for (int64_t i = 0; i < n; ++i) {
      auto attended = at::zeros({c.dimAttn});
      for (int64_t head = 0; head < c.numHeads; ++head) {
        std::vector<double> scores;
        for (int64_t j = 0; j < valid; ++j) {
          const auto qh = q[static_cast<std::size_t>(i)].slice(0, head * hd, (head + 1) * hd);
          const auto kh = k[static_cast<std::size_t>(j)].slice(0, head * hd, (head + 1) * hd);
          scores.push_back(at::dot(qh, kh).item<double>() + table[plainBucket(j - i)][head].item<double>());
        }
        const double top = *std::max_element(scores.begin(), scores.end());
        double sum = 0.0;
        for (auto& s : scores) {
          s = std::exp(s - top);
          sum += s;
        }
        for (int64_t j = 0; j < valid; ++j) {
          attended.slice(0, head * hd, (head + 1) * hd) +=
              (scores[static_cast<std::size_t>(j)] / sum) *
              v[static_cast<std::size_t>(j)].slice(0, head * hd, (head + 1) * hd);
        }
      }
      x[static_cast<std::size_t>(i)] =
          x[static_cast<std::size_t>(i)] + at::mv(w.at(b + "attn.o.weight"), attended);
    }
    for (auto& t : x) {
      const auto h = plainNorm(t, w.at(b + "norm2.weight"));
      const auto g = at::mv(w.at(b + "ffn.gate.0.weight"), h);
      const auto gelu =
          0.5 * g * (1.0 + at::tanh(std::sqrt(2.0 / std::numbers::pi) * (g + 0.044715 * g * g * g)));
      t = t + at::mv(w.at(b + "ffn.fc2.weight"), at::mv(w.at(b + "ffn.fc1.weight"), h) * gelu);
    }
  }
  std::vector<at::Tensor> rows;
  for (const auto& t : x) {
    rows.push_back(plainNorm(t, w.at("norm.weight")));
  }
  return at::stack(rows);
}

TEST(Umt5Reference, ForwardMatchesPlainDefinition) {
  const auto config = umt5Preset("tiny");
  auto weights = randomUmt5Weights(config, 21);
  // Larger position biases and norm weights than the init gives, so mistakes in their
  // orientation or use would show.
  for (int64_t l = 0; l < config.numLayers; ++l) {
    const auto b = "blocks." + std::to_string(l) + ".";
    weights.tensors[b + "pos_embedding.embedding.weight"] = at::randn({config.numBuckets, config.numHeads});
    weights.tensors[b + "norm1.weight"] = 1.0 + 0.5 * at::randn({config.dim});
    weights.tensors[b + "norm2.weight"] = 1.0 + 0.5 * at::randn({config.dim});
    weights.tensors[b + "attn.q.weight"] = weights.tensors[b + "attn.q.weight"] * 8.0;
  }
  const std::vector<int64_t> ids = {5, 17, 200, 33, 8, 91, 64, 2, 150, 77, 12, 1, 0, 0};
  const int64_t valid = 12;  // distances up to 11 reach the logarithmic buckets
  Umt5Encoder encoder(weights);
  const auto out = encoder.forward(at::tensor(ids, at::TensorOptions().dtype(at::kLong)).view({1, 14}),
                                   at::tensor(std::vector<int64_t>{valid}));
  const auto expected = plainForward(weights, ids, valid);
  EXPECT_TRUE(at::allclose(out[0], expected, 1e-4, 1e-4)) << (out[0] - expected).abs().max().item<float>();
}

}  // namespace
}  // namespace presence::models::text
