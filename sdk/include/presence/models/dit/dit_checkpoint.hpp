// Loading and saving DiT weights as safetensors: a public Ovi or Identity-as-Presence file (one
// file or shards with an index), or one of our own checkpoints.
//
// Loading follows the name plan of checkpoint_names.hpp: Ovi's `modulation.modulation` spelling
// is accepted, missing `_prime` weights are copied from their twins, the identity table (not in
// public files) starts at zero, and the `_prime` copies the forward pass never reads are not
// loaded (the plan lists them as ignored). Strict loading refuses a file with missing,
// mis-shaped or unexpected tensors, with a report naming each one.
//
// Saving writes the full official layout: held tensors, plus every ignored tensor copied from the
// checkpoint it was loaded from (or from its twin when there is none), so a loaded public file
// saves back complete. Files are written atomically (runtime/safetensors_writer.hpp).
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>

#include "presence/models/dit/checkpoint_names.hpp"
#include "presence/models/dit/dit_weights.hpp"

namespace presence::runtime {
class CheckpointReader;
}

namespace presence::models::dit {

struct DitLoadOptions {
  at::Device device = at::Device(at::kCPU);
  /// Compute dtype the weights are converted to; empty = keep the file's dtype per tensor.
  std::optional<at::ScalarType> dtype;
  /// Refuse unexpected tensors too (missing and mis-shaped ones are always refused).
  bool strict = true;
  /// Also load the `_prime` copies the forward pass never reads.
  bool loadStoredOnly = false;
  /// Seed for tensors a file lacks and that have no twin (extension tensors).
  uint64_t seed = 0;
};

struct LoadedDit {
  DitWeights weights;
  CheckpointPlan plan;
  /// The checkpoint the weights came from: kept open (memory-mapped) so saving can copy the
  /// tensors that were not loaded.
  std::shared_ptr<const runtime::CheckpointReader> source;
};

/// Loads `path` (a .safetensors file or a *.safetensors.index.json) into `config`'s layout.
/// Throws core::InputError naming the file and every problem of the plan, or the reader's
/// FormatError for a malformed file.
LoadedDit loadDitCheckpoint(const DitConfig& config, const std::filesystem::path& path,
                            const DitLoadOptions& options = {});

struct DitSaveOptions {
  /// Also write the tensors that are ours (the identity table); off gives a file with exactly
  /// the public tensor set.
  bool includeExtensions = true;
  /// Write the `_prime` copies the forward pass never reads (from `source`, else the twin).
  bool includeStoredOnly = true;
  /// Store in this dtype; empty = the config's weightDtype.
  std::optional<at::ScalarType> dtype;
  /// > 0: write shards of at most this many bytes plus an index; the path is then the folder.
  uint64_t maxShardBytes = 0;
  std::map<std::string, std::string> metadata;
};

/// Writes `weights` to `path` atomically. Returns the file written (the index when sharded).
std::filesystem::path saveDitCheckpoint(const DitWeights& weights, const std::filesystem::path& path,
                                        const DitSaveOptions& options = {},
                                        const runtime::CheckpointReader* source = nullptr);

}  // namespace presence::models::dit
