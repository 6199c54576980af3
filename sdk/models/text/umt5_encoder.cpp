#include "presence/models/text/umt5_encoder.hpp"

#include <cmath>
#include <limits>
#include <sstream>

#include "presence/core/error.hpp"
#include "presence/models/text/umt5_manifest.hpp"
#include "presence/runtime/checkpoint_reader.hpp"
#include "presence/runtime/rng.hpp"
#include "presence/runtime/safetensors_writer.hpp"
#include "presence/runtime/torch_compat.hpp"

namespace presence::models::text {

namespace {


bool isHalfType(at::ScalarType t) { return t == at::kHalf || t == at::kBFloat16; }

/// T5LayerNorm: scale by the root mean square (float32), no centring, no bias.
at::Tensor t5Norm(const at::Tensor& x, const at::Tensor& weight, double eps) {
  auto y = x * at::rsqrt(x.to(at::kFloat).pow(2).mean({-1}, /*keepdim=*/true) + eps);
  if (isHalfType(weight.scalar_type())) {
    y = y.to(weight.scalar_type());
  }
  return weight * y;
}

at::Tensor geluTanh(const at::Tensor& x) {
  constexpr double kSqrt2OverPi = 0.7978845608028654;  // sqrt(2 / pi)
  return 0.5 * x * (1.0 + at::tanh(kSqrt2OverPi * (x + 0.044715 * at::pow(x, 3.0))));
}

/// float16 activations are pulled back into the finite range after each residual add.
at::Tensor clampHalf(const at::Tensor& x) {
  if (x.scalar_type() == at::kHalf && at::isinf(x).any().item<bool>()) {
    const double limit = 65504.0 - 1000.0;
    return at::clamp(x, -limit, limit);
  }
  return x;
}

double lowest(at::ScalarType t) {
  switch (t) {
    case at::kHalf:
      return -65504.0;
    case at::kBFloat16:
      return -3.3895313892515355e38;
    case at::kDouble:
      return std::numeric_limits<double>::lowest();
    default:
      return static_cast<double>(std::numeric_limits<float>::lowest());
  }
}

double parseNormalStd(const std::string& init) {
  const std::string prefix = "normal_";
  if (init.rfind(prefix, 0) != 0) {
    throw core::Error("UMT5: unknown initialiser '" + init + "'");
  }
  return std::stod(init.substr(prefix.size()));
}

}  // namespace

at::Tensor relativePositionBuckets(const at::Tensor& relativePosition, bool bidirectional, int64_t numBuckets,
                                   int64_t maxDistance) {
  auto rel = relativePosition.to(at::kLong);
  int64_t half = numBuckets;
  at::Tensor buckets;
  at::Tensor distance;
  if (bidirectional) {
    half = numBuckets / 2;
    buckets = rel.gt(0).to(at::kLong) * half;
    distance = rel.abs();
  } else {
    buckets = at::zeros_like(rel);
    distance = (-rel).clamp_min(0);
  }
  const int64_t maxExact = half / 2;
  // Logarithmic buckets, in float32 like the public code. Distances below maxExact take the
  // exact branch; clamping them to 1 here only keeps log(0) out of the integer conversion.
  auto scaled = at::log(distance.clamp_min(1).to(at::kFloat) / static_cast<double>(maxExact)) /
                std::log(static_cast<double>(maxDistance) / static_cast<double>(maxExact)) *
                static_cast<double>(half - maxExact);
  auto large = (scaled.to(at::kLong) + maxExact).clamp_max(half - 1);
  return buckets + at::where(distance.lt(maxExact), distance, large);
}

at::Tensor relativePositionBuckets(int64_t lq, int64_t lk, bool bidirectional, int64_t numBuckets,
                                   int64_t maxDistance, at::Device device) {
  auto options = at::TensorOptions().dtype(at::kLong).device(device);
  auto rel = at::arange(lk, options).unsqueeze(0) - at::arange(lq, options).unsqueeze(1);
  return relativePositionBuckets(rel, bidirectional, numBuckets, maxDistance);
}

const at::Tensor& Umt5Weights::at(const std::string& name) const {
  auto it = tensors.find(name);
  if (it == tensors.end()) {
    throw core::Error("UMT5 encoder '" + config.name + "' has no weight " + name);
  }
  return it->second;
}

at::Device Umt5Weights::device() const { return at("norm.weight").device(); }
at::ScalarType Umt5Weights::dtype() const { return at("norm.weight").scalar_type(); }

Umt5Weights randomUmt5Weights(const Umt5Config& config, uint64_t seed, at::ScalarType dtype,
                              at::Device device) {
  const auto manifest = buildUmt5Manifest(config);
  Umt5Weights weights{config, {}};
  auto generator = runtime::makeGenerator(seed);
  for (const auto& p : manifest.parameters) {
    at::Tensor t;
    if (p.init == "ones") {
      t = at::ones(p.shape, at::TensorOptions().dtype(dtype).device(device));
    } else {
      t = (runtime::randn(p.shape, generator, at::kFloat) * parseNormalStd(p.init)).to(device, dtype);
    }
    weights.tensors.emplace(p.name, std::move(t));
  }
  return weights;
}

Umt5LoadReport checkUmt5Checkpoint(const Umt5Config& config, const runtime::CheckpointReader& reader) {
  std::vector<std::pair<std::string, std::vector<int64_t>>> expected;
  for (const auto& p : buildUmt5Manifest(config).parameters) expected.emplace_back(p.name, p.shape);
  std::map<std::string, std::vector<int64_t>> found;
  for (const auto& name : reader.names()) found[name] = reader.spec(name).shape;
  return spec::compareStateDict(expected, found);
}

Umt5Weights loadUmt5Weights(const Umt5Config& config, const std::filesystem::path& path,
                            const Umt5LoadOptions& options) {
  const runtime::CheckpointReader reader(path);
  const auto report = checkUmt5Checkpoint(config, reader);
  if (!report.missing.empty() || !report.misshaped.empty() ||
      (options.strict && !report.unexpected.empty())) {
    throw core::InputError("UMT5 checkpoint " + path.string() + " does not match encoder '" + config.name +
                           "':\n" + report.describe());
  }
  Umt5Weights weights{config, {}};
  for (const auto& p : buildUmt5Manifest(config).parameters) {
    weights.tensors.emplace(p.name, reader.load(p.name, options.device, options.dtype));
  }
  return weights;
}

void saveUmt5Weights(const Umt5Weights& weights, const std::filesystem::path& path) {
  std::map<std::string, at::Tensor> cpu;
  for (const auto& [name, tensor] : weights.tensors) {
    cpu.emplace(name, tensor.to(at::kCPU).contiguous());
  }
  runtime::saveSafetensors(path, cpu);
}

Umt5Encoder::Umt5Encoder(Umt5Weights weights, std::shared_ptr<const Tokenizer> tokenizer)
    : weights_(std::move(weights)), tokenizer_(std::move(tokenizer)) {
  const auto& config = weights_.config;
  config.validate();
  for (const auto& p : buildUmt5Manifest(config).parameters) {
    const auto& t = weights_.at(p.name);
    if (t.sizes().vec() != p.shape) {
      throw core::InputError("UMT5 encoder '" + config.name + "': weight " + p.name + " has shape " +
                             spec::formatShape(t.sizes().vec()) + ", expected " + spec::formatShape(p.shape));
    }
  }
  if (tokenizer_ && tokenizer_->vocabSize() > config.vocabSize) {
    throw core::InputError("tokenizer " + tokenizer_->path().string() + " has " +
                           std::to_string(tokenizer_->vocabSize()) + " pieces, more than the " +
                           std::to_string(config.vocabSize) + " embeddings of encoder '" + config.name + "'");
  }
}

int64_t Umt5Encoder::maxLength() const {
  return tokenizer_ ? tokenizer_->maxLength() : weights_.config.textLen;
}

at::Tensor Umt5Encoder::forward(const at::Tensor& ids, const at::Tensor& lengths) const {
  const auto& c = weights_.config;
  if (ids.dim() != 2 || lengths.dim() != 1 || lengths.size(0) != ids.size(0)) {
    throw core::InputError("UMT5 encoder '" + c.name + "': expected ids [B, L] and lengths [B], got ids " +
                           spec::formatShape(ids.sizes().vec()) + " and lengths " + spec::formatShape(lengths.sizes().vec()));
  }
  const int64_t batch = ids.size(0);
  const int64_t length = ids.size(1);
  const auto device = weights_.device();
  if (batch == 0 || length == 0) {
    return at::zeros({batch, length, c.dim}, at::TensorOptions().dtype(weights_.dtype()).device(device));
  }
  auto tokens = ids.to(device, at::kLong);
  const auto lo = tokens.min().item<int64_t>();
  const auto hi = tokens.max().item<int64_t>();
  if (lo < 0 || hi >= c.vocabSize) {
    throw core::InputError("UMT5 encoder '" + c.name + "': token id " + std::to_string(lo < 0 ? lo : hi) +
                           " outside the vocabulary of " + std::to_string(c.vocabSize));
  }
  auto lens = lengths.to(at::kCPU, at::kLong);
  if (lens.min().item<int64_t>() < 1 || lens.max().item<int64_t>() > length) {
    throw core::InputError("UMT5 encoder '" + c.name + "': lengths must lie in 1.." + std::to_string(length));
  }
  const int64_t heads = c.numHeads;
  const int64_t headDim = c.headDim();
  const auto validKeys = at::arange(length, at::TensorOptions().dtype(at::kLong))
                             .unsqueeze(0)
                             .lt(lens.unsqueeze(1))
                             .to(device)
                             .view({batch, 1, 1, length});
  const auto padKeys = validKeys.logical_not();
  const auto buckets =
      relativePositionBuckets(length, length, /*bidirectional=*/true, c.numBuckets, c.maxDistance, device)
          .flatten();
  auto positionBias = [&](const at::Tensor& table) {
    // [buckets, heads] -> [1, heads, L, L]
    return table.index_select(0, buckets).view({length, length, heads}).permute({2, 0, 1}).unsqueeze(0);
  };
  at::Tensor sharedBias;
  if (c.sharedPos) {
    sharedBias = positionBias(weights_.at("pos_embedding.embedding.weight"));
  }

  auto x =
      weights_.at("token_embedding.weight").index_select(0, tokens.flatten()).view({batch, length, c.dim});
  for (int64_t i = 0; i < c.numLayers; ++i) {
    const auto b = "blocks." + std::to_string(i) + ".";
    auto h = t5Norm(x, weights_.at(b + "norm1.weight"), c.eps);
    auto q =
        at::linear(h, weights_.at(b + "attn.q.weight")).view({batch, length, heads, headDim}).transpose(1, 2);
    auto k =
        at::linear(h, weights_.at(b + "attn.k.weight")).view({batch, length, heads, headDim}).transpose(1, 2);
    auto v =
        at::linear(h, weights_.at(b + "attn.v.weight")).view({batch, length, heads, headDim}).transpose(1, 2);
    auto bias = c.sharedPos ? sharedBias : positionBias(weights_.at(b + "pos_embedding.embedding.weight"));
    bias = bias.to(q.scalar_type()).masked_fill(padKeys, lowest(q.scalar_type()));
    // T5 does not scale the logits by 1/sqrt(head dim).
    auto scores = at::matmul(q, k.transpose(-2, -1)) + bias;
    auto probs = at::softmax(scores.to(at::kFloat), -1).to(q.scalar_type());
    auto attended = at::matmul(probs, v).transpose(1, 2).reshape({batch, length, heads * headDim});
    x = clampHalf(x + at::linear(attended, weights_.at(b + "attn.o.weight")));

    h = t5Norm(x, weights_.at(b + "norm2.weight"), c.eps);
    auto gated = at::linear(h, weights_.at(b + "ffn.fc1.weight")) *
                 geluTanh(at::linear(h, weights_.at(b + "ffn.gate.0.weight")));
    x = clampHalf(x + at::linear(gated, weights_.at(b + "ffn.fc2.weight")));
  }
  return t5Norm(x, weights_.at("norm.weight"), c.eps);
}

TextEmbeddings Umt5Encoder::encode(const std::vector<std::string>& prompts) {
  if (!tokenizer_) {
    throw core::Error("UMT5 encoder '" + weights_.config.name + "' has no tokenizer: encode() needs one");
  }
  const runtime::InferenceGuard guard;
  const auto batch = tokenizer_->encodeBatch(prompts, Padding::Longest);
  TextEmbeddings out;
  out.lengths = at::tensor(batch.lengths, at::TensorOptions().dtype(at::kLong));
  if (batch.batch == 0) {
    out.lengths = at::zeros({0}, at::TensorOptions().dtype(at::kLong));
    out.embeddings = at::zeros({0, 0, weights_.config.dim},
                               at::TensorOptions().dtype(weights_.dtype()).device(weights_.device()));
    return out;
  }
  auto ids = at::tensor(batch.ids, at::TensorOptions().dtype(at::kLong)).view({batch.batch, batch.length});
  auto embeddings = forward(ids, out.lengths);
  out.embeddings = embeddings;
  out.embeddings = embeddings.masked_fill(out.mask().logical_not().unsqueeze(-1), 0.0);
  return out;
}

std::unique_ptr<Umt5Encoder> loadUmt5Encoder(const Umt5Config& config,
                                             const std::filesystem::path& checkpoint,
                                             const std::filesystem::path& tokenizerModel,
                                             const Umt5LoadOptions& options) {
  TokenizerOptions tokenizerOptions;
  tokenizerOptions.maxLength = config.textLen;
  auto tokenizer = std::make_shared<const Tokenizer>(tokenizerModel, tokenizerOptions);
  return std::make_unique<Umt5Encoder>(loadUmt5Weights(config, checkpoint, options), std::move(tokenizer));
}

}  // namespace presence::models::text
