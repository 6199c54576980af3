// Per-generation cache of the identity references' keys and values.
//
// A reference token's path through the DiT never reads the noisy tokens, the text or the step
// (references are modulated at t = 0, skip text cross-attention and fusion, and attend only to
// references), so each layer's reference keys and values (after RoPE) are the same for every
// step and every guidance pass of one generation. DualTowerDit::forward fills this cache on the
// first call and then reads it instead of running the reference tokens at all.
//
// Entries are keyed per tower by everything that changes the reference path: the skipped layers
// (a skip-layer-guidance pass skips a whole block, references included, so later layers see
// different reference states), which references are present, their subjects, positions, the
// identity-embedding switch and the batch size. A pass that drops the voice references simply
// has no audio-tower entry; the video entry is shared with the full pass. Each entry also
// remembers which reference tensors (storage and version) it was computed from and is
// recomputed when they change.
//
// Ownership: holds tensors on the model's device. Inference only: forward refuses a cache while
// grad mode is on. Threading: not thread-safe; use one cache per generation and thread.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace presence::models::dit {

class ReferenceCache {
 public:
  /// One tower's reference keys and values for one pass configuration.
  struct Entry {
    std::string fingerprint;  ///< which reference tensors it was computed from
    std::vector<at::Tensor>
        keys;  ///< per block index: [B, heads, Lr, headDim] after RoPE; undefined if skipped
    std::vector<at::Tensor> values;
    at::Tensor keyMask;  ///< [B, Lr] bool (true = real token), undefined when all are real
  };

  /// The entry under `key` when it was computed from `fingerprint`, else nullptr. Counts a hit or a miss.
  const Entry* find(const std::string& key, const std::string& fingerprint);
  /// Stores (or replaces) an entry.
  void store(const std::string& key, Entry entry);

  /// Drops every entry; call when the references or the weights change.
  void clear();
  size_t size() const { return entries_.size(); }
  /// Bytes held by the cached tensors.
  int64_t bytes() const;
  int64_t hits() const { return hits_; }
  int64_t misses() const { return misses_; }

 private:
  std::map<std::string, Entry> entries_;
  int64_t hits_ = 0;
  int64_t misses_ = 0;
};

}  // namespace presence::models::dit
