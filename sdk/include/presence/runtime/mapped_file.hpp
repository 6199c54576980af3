// A whole file mapped into memory. LibTorch-free.
#pragma once

#include <cstddef>
#include <filesystem>
#include <memory>
#include <span>

namespace presence::runtime {

/// Maps a whole file into memory. The file is opened read-only and never modified: the mapping
/// is private (copy-on-write), so code that writes into a tensor viewing it changes only this
/// process's copy of the touched pages instead of crashing or altering the file.
///
/// Ownership: hold it by std::shared_ptr; tensor views over the mapping keep a reference, so the
/// mapping lives until the last view is gone. Threading: immutable after construction; bytes()
/// may be read from any thread. Errors: open() throws FormatError naming the file (missing,
/// not a regular file, unreadable, mmap failure). An empty file maps to an empty span.
class MappedFile {
 public:
  static std::shared_ptr<const MappedFile> open(const std::filesystem::path& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::span<const std::byte> bytes() const { return {static_cast<const std::byte*>(data_), size_}; }
  /// Writable address of the private mapping (for tensor views); see the class comment.
  std::byte* mutableData() const { return static_cast<std::byte*>(data_); }
  std::size_t size() const { return size_; }

 private:
  MappedFile() = default;
  std::filesystem::path path_;
  void* data_ = nullptr;
  std::size_t size_ = 0;
};

}  // namespace presence::runtime
