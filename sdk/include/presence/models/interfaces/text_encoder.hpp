// What the nodes and the sampler expect of a text encoder (UMT5-XXL at full size).
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <string>
#include <vector>

namespace presence::models {

/// Encoded prompts of one batch.
struct TextEmbeddings {
  /// `[B, L, D]` floating point, on the encoder's device. Rows past a prompt's length are zero.
  at::Tensor embeddings;
  /// `[B]` int64 on the CPU: the number of valid tokens of each prompt (1..L).
  at::Tensor lengths;

  /// `[B, L]` bool on the embeddings' device: true for valid tokens.
  at::Tensor mask() const {
    auto positions = at::arange(embeddings.size(1), at::TensorOptions().dtype(at::kLong));
    return positions.unsqueeze(0).lt(lengths.unsqueeze(1)).to(embeddings.device());
  }

  /// Prompt `b` alone, cut to its length: embeddings `[1, len, D]`, lengths `[1]`.
  TextEmbeddings row(int64_t b) const {
    const int64_t len = lengths[b].item<int64_t>();
    return {embeddings.narrow(0, b, 1).narrow(1, 0, len).contiguous(),
            at::full({1}, len, at::TensorOptions().dtype(at::kLong))};
  }
};

/// Turns prompts into the embeddings the DiT's text cross-attention reads.
///
/// Threading: one call at a time per instance (implementations may keep scratch state); share an
/// instance between threads only behind a lock. Errors: presence::core::InputError for input it
/// cannot encode, presence::core::Error for model failures.
class TextEncoder {
 public:
  virtual ~TextEncoder() = default;

  /// A short identifier for diagnostics and cache keys, e.g. "umt5-xxl".
  virtual std::string name() const = 0;
  /// D: the embedding width (4096 for UMT5-XXL).
  virtual int64_t embeddingDim() const = 0;
  /// The longest token sequence kept; longer prompts are truncated (512 for the released model).
  virtual int64_t maxLength() const = 0;

  /// Encodes UTF-8 prompts (an empty string is valid and yields its end-of-text token).
  /// Returns embeddings `[B, L, D]` with B = prompts.size() and L = the longest encoded prompt
  /// (at most maxLength()), zero-padded, and the per-prompt lengths.
  virtual TextEmbeddings encode(const std::vector<std::string>& prompts) = 0;
};

}  // namespace presence::models
