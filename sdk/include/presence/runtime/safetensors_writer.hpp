// Writing safetensors files and sharded checkpoints, atomically.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <string_view>

#include <ATen/core/Tensor.h>

namespace presence::runtime {

struct SafetensorsWriteOptions {
  /// Extra "__metadata__" entries (a sharded index gets them too, beside "total_size").
  std::map<std::string, std::string> metadata;
  /// Called before each tensor is written, with its name and the counts so far. It may throw
  /// (core::Cancelled, say) to abort: nothing is then left behind.
  std::function<void(std::string_view name, std::size_t done, std::size_t total)> progress;
};

/// Writes `tensors` to `path`: the header lists them in name order, data follows in the same
/// order, each tensor's bytes copied from a contiguous CPU copy (tensors on other devices are
/// copied to the CPU first). The header is padded with spaces so the data starts 8-byte aligned.
/// The file is written beside the target under a temporary name, flushed to disk and renamed
/// into place, so readers see the old file or the whole new one, never a part; on any failure
/// nothing is left behind and the old file (if any) is untouched. Creates missing folders.
/// Errors: core::InputError for a tensor safetensors cannot hold (complex, sparse, a reserved or
/// empty name) or an I/O failure, naming the file; whatever `progress` throws.
/// Threading: reads the tensors; do not modify them concurrently.
void saveSafetensors(const std::filesystem::path& path, const std::map<std::string, at::Tensor>& tensors,
                     const SafetensorsWriteOptions& options = {});

/// The serialised header for `tensors` (what saveSafetensors writes first, length prefix
/// included); useful for tests and for sizing.
std::string safetensorsHeaderBytes(const std::map<std::string, at::Tensor>& tensors,
                                   const std::map<std::string, std::string>& metadata = {});

/// Writes a sharded checkpoint: `folder`/`baseName`-0000i-of-0000N.safetensors holding tensors
/// in name order, each shard at most `maxShardBytes` of tensor data (a tensor larger than that
/// gets a shard of its own), and `folder`/`baseName`.safetensors.index.json
/// ({"metadata": {"total_size": <bytes>, ...options.metadata}, "weight_map": {...}}). All
/// files are written to temporary names first and renamed only when every one is complete.
/// Always writes an index, even for a single shard. Returns the index path. Errors as above.
/// Shards of an earlier save with more shards are not removed.
std::filesystem::path saveShardedSafetensors(const std::filesystem::path& folder, std::string_view baseName,
                                             const std::map<std::string, at::Tensor>& tensors,
                                             std::uint64_t maxShardBytes, const SafetensorsWriteOptions& options = {});

}  // namespace presence::runtime
