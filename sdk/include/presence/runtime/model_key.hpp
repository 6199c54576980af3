// Keys of the model cache: what was loaded, from which files, with which settings.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace presence::runtime {

/// Builds a ModelCache key from weight files and settings. Each file enters with its absolute,
/// normalised path, its size and its modification time, so replacing a file on disk gives a new
/// key (the old entry is then evicted as unused). Settings are name/value pairs (device, dtype,
/// preset, ...) and are sorted, so the order they are given in does not matter.
/// For a sharded checkpoint, add the index and every shard (CheckpointReader::files()).
///
/// A plain value; not shared between threads. Errors: file() throws core::InputError naming a
/// file that cannot be examined.
class ModelKey {
 public:
  ModelKey() = default;
  /// `kind` names what is loaded ("dit", "video_vae"), so two loaders of one file differ.
  explicit ModelKey(std::string kind) : kind_(std::move(kind)) {}

  ModelKey& file(const std::filesystem::path& path);
  ModelKey& files(const std::vector<std::filesystem::path>& paths);
  ModelKey& set(std::string_view name, std::string_view value);

  /// A compact JSON text; equal keys are equal strings.
  std::string str() const;
  operator std::string() const { return str(); }

 private:
  struct FileStamp {
    std::string path;
    std::uintmax_t size = 0;
    long long mtimeNs = 0;
  };
  std::string kind_;
  std::vector<FileStamp> files_;
  std::map<std::string, std::string, std::less<>> settings_;
};

/// A 64-bit content hash (XXH3) of a file's bytes as 16 hex digits: what a saved checkpoint
/// records of the files it was made with, where a cache key's path and time would differ on
/// every run. Throws core::InputError naming a file that cannot be read.
std::string fileContentHash(const std::filesystem::path& path);

}  // namespace presence::runtime
