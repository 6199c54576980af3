// The UMT5 encoder in ATen: token embedding, `numLayers` pre-norm blocks (T5 layer norm,
// self-attention with per-block relative-position bias, gated-GELU feed-forward), final norm.
// The arithmetic follows the public Wan2.2 `T5Encoder` (wan/modules/t5.py):
//   - T5 layer norm: x * rsqrt(mean(x²) + eps) * weight (no mean subtraction, no bias),
//     computed in float32;
//   - attention logits q·k without 1/sqrt(head dim) scaling, plus the relative-position bias of
//     the block, padding keys filled with the dtype's lowest value, softmax in float32;
//   - feed-forward fc2(fc1(x) * gelu_tanh(gate.0(x)));
//   - in float16, activations are clamped to the finite range after each residual add.
// Padding only reaches real tokens through masked keys, so the outputs of a prompt's tokens do
// not depend on how much padding follows them.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "presence/models/interfaces/text_encoder.hpp"
#include "presence/models/spec/state_dict_report.hpp"
#include "presence/models/text/tokenizer.hpp"
#include "presence/models/text/umt5_config.hpp"

namespace presence::runtime {
class CheckpointReader;
}

namespace presence::models::text {

/// T5's relative-position bucket of each relative position `key - query` (any integer tensor),
/// as int64 of the same shape. Bidirectional: positive offsets (keys after the query) use the
/// upper half of the buckets. Within each half, distances below half the half-size get their own
/// bucket; larger ones are spread logarithmically up to `maxDistance`, past which they share the
/// last bucket. The logarithm is taken in float32, as the public code does.
at::Tensor relativePositionBuckets(const at::Tensor& relativePosition, bool bidirectional, int64_t numBuckets,
                                   int64_t maxDistance);

/// Buckets of every (query, key) pair for lengths lq, lk: `[lq, lk]` int64.
at::Tensor relativePositionBuckets(int64_t lq, int64_t lk, bool bidirectional, int64_t numBuckets,
                                   int64_t maxDistance, at::Device device = at::Device(at::kCPU));

/// Weights of one encoder, by public state-dict name (umt5_manifest.hpp).
struct Umt5Weights {
  Umt5Config config;
  std::map<std::string, at::Tensor> tensors;

  /// The tensor of `name`; throws core::Error when absent.
  const at::Tensor& at(const std::string& name) const;
  at::Device device() const;
  at::ScalarType dtype() const;
};

/// Weights initialised as the public code's init_weights does (norms at one, normal elsewhere),
/// drawn from `seed`. The config is validated.
Umt5Weights randomUmt5Weights(const Umt5Config& config, uint64_t seed, at::ScalarType dtype = at::kFloat,
                              at::Device device = at::Device(at::kCPU));

/// What a checkpoint holds compared with a config's manifest (the shared strict-loading report).
using Umt5LoadReport = spec::StateDictReport;

/// Compares a checkpoint's names and shapes with the config's manifest (no tensor is read).
Umt5LoadReport checkUmt5Checkpoint(const Umt5Config& config, const runtime::CheckpointReader& reader);

struct Umt5LoadOptions {
  at::Device device = at::Device(at::kCPU);
  /// Compute dtype; empty keeps each tensor's file dtype.
  std::optional<at::ScalarType> dtype;
  /// Refuse unexpected tensors too (missing and mis-shaped ones are always refused).
  bool strict = true;
};

/// Loads a safetensors file (or sharded index) with the public names. Throws core::InputError
/// naming the file and every problem of the report; the reader's FormatError for a bad file.
Umt5Weights loadUmt5Weights(const Umt5Config& config, const std::filesystem::path& path,
                            const Umt5LoadOptions& options = {});

/// Writes the weights with the public names (atomically, via runtime::saveSafetensors).
void saveUmt5Weights(const Umt5Weights& weights, const std::filesystem::path& path);

/// The encoder. Implements TextEncoder when given a tokenizer.
///
/// Ownership: owns its weights; shares the tokenizer. Threading: forward() and encode() only
/// read the weights and may run concurrently (the interface still asks callers to serialise).
/// Errors: core::InputError for ids outside the vocabulary or bad shapes; core::Error when
/// encode() is called without a tokenizer.
class Umt5Encoder : public TextEncoder {
 public:
  Umt5Encoder(Umt5Weights weights, std::shared_ptr<const Tokenizer> tokenizer = nullptr);

  const Umt5Config& config() const { return weights_.config; }
  const Umt5Weights& weights() const { return weights_; }
  const std::shared_ptr<const Tokenizer>& tokenizer() const { return tokenizer_; }

  std::string name() const override { return weights_.config.name; }
  int64_t embeddingDim() const override { return weights_.config.dim; }
  /// The tokenizer's maxLength when there is one, else the config's textLen.
  int64_t maxLength() const override;
  TextEmbeddings encode(const std::vector<std::string>& prompts) override;

  /// The raw forward pass: ids `[B, L]` (int64, any device), lengths `[B]` (valid tokens per
  /// row, 1..L). Returns `[B, L, dim]` in the weights' dtype; rows past a prompt's length are
  /// whatever the network gives (padding queries are computed, not masked).
  at::Tensor forward(const at::Tensor& ids, const at::Tensor& lengths) const;

 private:
  Umt5Weights weights_;
  std::shared_ptr<const Tokenizer> tokenizer_;
};

/// An encoder ready for the nodes: weights from `checkpoint` (strict, as loadUmt5Weights) and the
/// tokenizer from `tokenizerModel`, truncating to config.textLen. Throws core::InputError naming
/// whichever file is wrong.
std::unique_ptr<Umt5Encoder> loadUmt5Encoder(const Umt5Config& config,
                                             const std::filesystem::path& checkpoint,
                                             const std::filesystem::path& tokenizerModel,
                                             const Umt5LoadOptions& options = {});

}  // namespace presence::models::text
