// Maps the tensor names of a public checkpoint onto a DiT manifest, without LibTorch: which file
// tensor fills which parameter, which `_prime` weights are copied from their twins, and a strict
// report of what is missing, unexpected or mis-shaped. The loader (dit_checkpoint.hpp) then
// copies tensors by this plan.
//
// Accepted spellings: Ovi's fusion files store a block's modulation as
// `blocks.N.modulation.modulation`; Identity-as-Presence files store `blocks.N.modulation`.
// Keys may carry a `model.` or `module.` wrapper prefix (training checkpoints), which is removed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "presence/models/dit/dit_manifest.hpp"

namespace presence::models::dit {

/// One tensor as a checkpoint file lists it.
struct CheckpointTensorInfo {
  std::string name;
  std::vector<int64_t> shape;
  std::string dtype;
};

struct CheckpointPlan {
  struct Assignment {
    std::string fileKey;   ///< the tensor's name in the file
    size_t parameter = 0;  ///< index into Manifest::parameters
  };
  std::vector<Assignment> assignments;
  /// `_prime` parameters the file lacks, to be copied from their twin: {parameter, twin}.
  std::vector<std::pair<size_t, size_t>> copiedFromTwin;
  /// Extension parameters (ours, not in public files) left at their initial value.
  std::vector<size_t> initialised;
  /// Parameters in the file that the forward pass never reads and that are not loaded.
  std::vector<std::string> ignored;
  std::vector<std::string> missing;     ///< parameters with no source at all
  std::vector<std::string> unexpected;  ///< file keys that are no parameter of this config
  std::vector<std::string> misshaped;   ///< "name: file [..] but the model expects [..]"

  /// True when nothing is missing or mis-shaped and, if `strict`, nothing is unexpected.
  bool ok(bool strict = true) const;
  /// A report for a person: counts, then every problem by name (at most `maxListed` of each).
  std::string report(size_t maxListed = 20) const;
};

/// A file key in our canonical spelling (wrapper prefixes removed, Ovi's modulation renamed).
std::string canonicalCheckpointName(const std::string& fileKey);

/// Plans loading `tensors` into `manifest`. `loadStoredOnly` also assigns the parameters the
/// forward pass never reads (to save the full official layout again); otherwise they are
/// reported as ignored.
CheckpointPlan planCheckpointLoad(const Manifest& manifest, const std::vector<CheckpointTensorInfo>& tensors,
                                  bool loadStoredOnly = false);

}  // namespace presence::models::dit
