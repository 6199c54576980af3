// The UMT5 text encoder's configuration: plain data, no LibTorch.
//
// A Umt5Config fully determines every parameter's name and shape (umt5_manifest.hpp). The names
// follow the public Wan2.2 `T5Encoder` (wan/modules/t5.py), whose state dict is the
// `models_t5_umt5-xxl-enc-bf16.pth` file Wan, Ovi and Identity-as-Presence load. Validation
// throws presence::core::InputError naming the field and the cause.
#pragma once

#include <cstdint>
#include <string>

namespace presence::models::text {

struct Umt5Config {
  std::string name = "umt5-xxl";  ///< identifier for diagnostics and cache keys
  int64_t vocabSize = 256384;     ///< rows of token_embedding
  int64_t dim = 4096;             ///< model width (the embedding the DiT reads)
  int64_t dimAttn = 4096;         ///< width of q, k, v (numHeads * head dim)
  int64_t ffnDim = 10240;         ///< gated-GELU hidden width
  int64_t numHeads = 64;
  int64_t numLayers = 24;
  int64_t numBuckets = 32;    ///< relative-position buckets (half per direction)
  int64_t maxDistance = 128;  ///< distances at or past this share the last bucket
  /// One relative-position table for all blocks (`pos_embedding.*`, T5) instead of one per block
  /// (`blocks.N.pos_embedding.*`, UMT5).
  bool sharedPos = false;
  double eps = 1e-6;                 ///< T5LayerNorm epsilon
  int64_t textLen = 512;             ///< tokens kept per prompt, end-of-text included
  std::string weightDtype = "bf16";  ///< dtype of the public file

  int64_t headDim() const { return dimAttn / numHeads; }
  /// Throws core::InputError naming the first bad field.
  void validate() const;
};

}  // namespace presence::models::text
