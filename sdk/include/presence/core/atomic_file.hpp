// Writing user data so that a crash or a cancellation never leaves a half-written file.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace presence::core {

/// Reserves a temporary path beside `target` (same folder, hidden name, same extension so
/// format-sniffing writers still work). commit() renames it onto the target; the destructor
/// removes the temporary file if commit() was not reached. Creates the target's folder.
class AtomicFile {
 public:
  explicit AtomicFile(std::filesystem::path target);
  ~AtomicFile();
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  const std::filesystem::path& tempPath() const { return temp_; }
  const std::filesystem::path& target() const { return target_; }
  void commit();

 private:
  std::filesystem::path target_, temp_;
  bool committed_ = false;
};

/// Several files that appear together or not at all (an image sequence): each is written to its
/// temporary path; commitAll() renames them all at the end.
class AtomicFileSet {
 public:
  const std::filesystem::path& add(std::filesystem::path target);
  void commitAll();
  std::vector<std::string> targets() const;

 private:
  std::vector<std::unique_ptr<AtomicFile>> files_;
};

/// Writes text atomically.
void writeFileAtomically(const std::filesystem::path& target, std::string_view contents);

}  // namespace presence::core
