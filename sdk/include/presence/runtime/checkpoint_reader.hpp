// Reading a checkpoint that is one safetensors file or several shards with an index.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "presence/runtime/safetensors.hpp"

namespace presence::runtime {

/// One checkpoint, given as "model.safetensors" or as a Hugging Face style sharded index
/// "model.safetensors.index.json" ({"metadata": {...}, "weight_map": {"tensor": "shard file"}}).
/// Each shard is opened once. On open it checks that every shard exists and is valid, that every
/// tensor the index maps is in the shard it names, that no tensor is in two shards, and that no
/// shard holds a tensor the index does not list. Afterwards it behaves as one file.
///
/// Ownership: shares the shards (std::shared_ptr); views keep their shard's mapping alive.
/// Threading: immutable after construction; const members may be called from any thread.
/// Errors: FormatError naming the index or shard file and the problem.
class CheckpointReader {
 public:
  explicit CheckpointReader(const std::filesystem::path& path);

  /// The path given to the constructor.
  const std::filesystem::path& path() const { return path_; }
  bool sharded() const { return sharded_; }
  /// Every file read: the index (if any) then the shards, in shard-name order.
  std::vector<std::filesystem::path> files() const;
  /// The shards (one for a single file).
  const std::vector<std::shared_ptr<const SafetensorsFile>>& shards() const { return shards_; }

  /// A single file's "__metadata__"; an index's "metadata" (non-string values as JSON text).
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

  std::vector<std::string> names() const;
  bool contains(std::string_view name) const { return where_.find(name) != where_.end(); }
  std::size_t size() const { return where_.size(); }
  TensorSpec spec(std::string_view name) const;
  std::vector<TensorSpec> specs() const;
  /// The shard holding `name`; throws FormatError when absent.
  const SafetensorsFile& shardOf(std::string_view name) const;

  at::Tensor view(std::string_view name) const { return shardOf(name).view(name); }
  at::Tensor load(std::string_view name, c10::Device device = c10::Device(c10::DeviceType::CPU),
                  std::optional<c10::ScalarType> dtype = std::nullopt) const {
    return shardOf(name).load(name, device, dtype);
  }
  /// Every tensor, loaded with load(name, device, dtype).
  std::map<std::string, at::Tensor> loadAll(c10::Device device = c10::Device(c10::DeviceType::CPU),
                                            std::optional<c10::ScalarType> dtype = std::nullopt) const;

  /// True for a path that names an index ("*.index.json").
  static bool isIndexPath(const std::filesystem::path& path);

 private:
  void openIndex();
  std::filesystem::path path_;
  bool sharded_ = false;
  std::vector<std::shared_ptr<const SafetensorsFile>> shards_;
  std::map<std::string, std::size_t, std::less<>> where_;  ///< tensor -> index into shards_
  std::map<std::string, std::string> metadata_;
};

}  // namespace presence::runtime
