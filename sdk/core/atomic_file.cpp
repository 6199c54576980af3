#include "presence/core/atomic_file.hpp"

#include <atomic>
#include <fstream>
#include <random>
#include <unistd.h>

#include "presence/core/error.hpp"

namespace presence::core {

namespace {
std::string uniqueSuffix() {
  static std::atomic<unsigned> counter{0};
  static const unsigned salt = std::random_device{}();
  return std::to_string(::getpid()) + "-" + std::to_string(salt % 100000) + "-" + std::to_string(counter++);
}
}  // namespace

AtomicFile::AtomicFile(std::filesystem::path target) : target_(std::move(target)) {
  const auto folder = target_.parent_path();
  std::error_code ec;
  if (!folder.empty()) std::filesystem::create_directories(folder, ec);
  if (ec) throw InputError("cannot create folder '" + folder.string() + "': " + ec.message());
  temp_ = folder / ("." + target_.stem().string() + ".partial-" + uniqueSuffix() + target_.extension().string());
}

AtomicFile::~AtomicFile() {
  if (!committed_) {
    std::error_code ec;
    std::filesystem::remove(temp_, ec);
  }
}

void AtomicFile::commit() {
  std::error_code ec;
  if (!std::filesystem::exists(temp_, ec))
    throw Error("nothing was written to '" + target_.string() + "'");
  std::filesystem::rename(temp_, target_, ec);
  if (ec) throw InputError("cannot move the finished file into place at '" + target_.string() + "': " + ec.message());
  committed_ = true;
}

const std::filesystem::path& AtomicFileSet::add(std::filesystem::path target) {
  files_.push_back(std::make_unique<AtomicFile>(std::move(target)));
  return files_.back()->tempPath();
}

void AtomicFileSet::commitAll() {
  // All or nothing: refuse before renaming anything when a member was never written.
  for (auto& f : files_) {
    std::error_code ec;
    if (!std::filesystem::exists(f->tempPath(), ec))
      throw Error("nothing was written to '" + f->target().string() + "'");
  }
  for (auto& f : files_) f->commit();
}

std::vector<std::string> AtomicFileSet::targets() const {
  std::vector<std::string> out;
  for (const auto& f : files_) out.push_back(f->target().string());
  return out;
}

void writeFileAtomically(const std::filesystem::path& target, std::string_view contents) {
  AtomicFile file(target);
  {
    std::ofstream out(file.tempPath(), std::ios::binary);
    out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
    out.close();
    if (!out) throw InputError("cannot write '" + target.string() + "'");
  }
  file.commit();
}

}  // namespace presence::core
