// Every parameter of a UMT5 encoder config, by name and shape, in the public Wan2.2 `T5Encoder`
// state-dict layout, computed from the config alone (describing umt5-xxl allocates nothing):
//
//   token_embedding.weight                    [vocab, dim]
//   blocks.N.norm1.weight                     [dim]
//   blocks.N.attn.{q,k,v}.weight              [dimAttn, dim]
//   blocks.N.attn.o.weight                    [dim, dimAttn]
//   blocks.N.norm2.weight                     [dim]
//   blocks.N.ffn.gate.0.weight                [ffnDim, dim]
//   blocks.N.ffn.fc1.weight                   [ffnDim, dim]
//   blocks.N.ffn.fc2.weight                   [dim, ffnDim]
//   blocks.N.pos_embedding.embedding.weight   [numBuckets, numHeads]   (sharedPos = false)
//   pos_embedding.embedding.weight            [numBuckets, numHeads]   (sharedPos = true)
//   norm.weight                               [dim]
//
// No biases. umt5-xxl: 242 tensors, 5,680,910,336 parameters.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "presence/models/text/umt5_config.hpp"

namespace presence::models::text {

struct Umt5ParameterSpec {
  std::string name;
  std::vector<int64_t> shape;
  /// What it is initialised to without a checkpoint: "ones" (norms) or "normal_<std>" (the
  /// public code's init_weights).
  std::string init;

  int64_t numel() const;
};

struct Umt5Manifest {
  std::vector<Umt5ParameterSpec> parameters;  ///< in state-dict order

  int64_t tensorCount() const { return static_cast<int64_t>(parameters.size()); }
  int64_t parameterCount() const;
  /// Index of a name, or -1.
  int64_t find(const std::string& name) const;
};

/// The manifest of a config (validated first).
Umt5Manifest buildUmt5Manifest(const Umt5Config& config);

/// One parameter a line: "name<TAB>[d0, d1, ...]".
std::string formatUmt5Manifest(const Umt5Manifest& manifest);

}  // namespace presence::models::text
