#include "presence/runtime/safetensors_writer.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

#include <ATen/ATen.h>
#include <nlohmann/json.hpp>

#include "presence/core/atomic_file.hpp"
#include "presence/runtime/dtype.hpp"
#include "presence/runtime/format_error.hpp"

namespace presence::runtime {

namespace {

using Tensors = std::map<std::string, at::Tensor>;

struct Planned {
  const std::string* name;
  const at::Tensor* tensor;
  StDtype dtype;
  std::uint64_t bytes;
};

std::vector<Planned> plan(const Tensors& tensors, const std::string& label) {
  std::vector<Planned> out;
  out.reserve(tensors.size());
  for (const auto& [name, t] : tensors) {  // std::map: already in name order
    auto fail = [&](const std::string& problem) { throw FormatError(label, "tensor '" + name + "': " + problem); };
    if (name.empty()) throw FormatError(label, "a tensor name must not be empty");
    if (name == "__metadata__") fail("the name is reserved for metadata");
    if (!t.defined()) fail("undefined tensor");
    if (t.layout() != at::kStrided) fail("only dense tensors can be saved");
    StDtype dtype{};
    try {
      dtype = toStDtype(t.scalar_type());
    } catch (const core::InputError& e) {
      fail(e.what());
    }
    out.push_back({&name, &t, dtype, static_cast<std::uint64_t>(t.numel()) * stDtypeSize(dtype)});
  }
  return out;
}

std::string header(const std::vector<Planned>& tensors, const std::map<std::string, std::string>& metadata,
                   const std::string& label) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  if (!metadata.empty()) {
    auto& m = j["__metadata__"] = nlohmann::ordered_json::object();
    for (const auto& [k, v] : metadata) m[k] = v;
  }
  std::uint64_t offset = 0;
  for (const auto& p : tensors) {
    j[*p.name] = {{"dtype", stDtypeName(p.dtype)},
                  {"shape", p.tensor->sizes().vec()},
                  {"data_offsets", {offset, offset + p.bytes}}};
    offset += p.bytes;
  }
  std::string json;
  try {
    json = j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::strict);
  } catch (const nlohmann::ordered_json::exception&) {
    throw FormatError(label, "a tensor name or metadata entry is not valid UTF-8");
  }
  json.append((8 - (json.size() % 8)) % 8, ' ');  // 8 + N is a multiple of 8: data starts aligned
  std::string out(8, '\0');
  const std::uint64_t n = json.size();
  for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + json;
}

class OutFile {
 public:
  OutFile(const std::filesystem::path& path, std::string label) : label_(std::move(label)) {
    do {
      fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    } while (fd_ < 0 && errno == EINTR);
    if (fd_ < 0) fail("cannot create");
  }
  ~OutFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  OutFile(const OutFile&) = delete;
  OutFile& operator=(const OutFile&) = delete;

  void write(const void* data, std::size_t size) {
    const auto* p = static_cast<const char*>(data);
    while (size > 0) {
      const ssize_t n = ::write(fd_, p, std::min<std::size_t>(size, std::size_t{1} << 30));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) fail("cannot write");
      p += n;
      size -= static_cast<std::size_t>(n);
    }
  }
  /// Flushes to the disk and closes; a crash after the rename then cannot leave a hole.
  void finish() {
    if (::fsync(fd_) != 0 && errno != EINVAL) fail("cannot flush to disk");
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) fail("cannot close");
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw FormatError(label_, what + ": " + std::strerror(errno));
  }
  int fd_ = -1;
  std::string label_;
};

struct Progress {
  const SafetensorsWriteOptions& options;
  std::size_t done = 0, total = 0;
};

/// Writes one file's bytes to `temp`; `label` names the target in errors.
void writeFile(const std::filesystem::path& temp, const std::string& label, const std::vector<Planned>& tensors,
               const std::map<std::string, std::string>& metadata, Progress& progress) {
  const std::string head = header(tensors, metadata, label);
  OutFile out(temp, label);
  out.write(head.data(), head.size());
  for (const auto& p : tensors) {
    if (progress.options.progress) progress.options.progress(*p.name, progress.done, progress.total);
    if (p.bytes > 0) {
      const at::Tensor cpu = p.tensor->to(at::kCPU).contiguous();
      out.write(cpu.data_ptr(), static_cast<std::size_t>(p.bytes));
    }
    ++progress.done;
  }
  out.finish();
}

std::string shardName(std::string_view base, std::size_t i, std::size_t n) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "-%05zu-of-%05zu.safetensors", i + 1, n);
  return std::string(base) + buf;
}

}  // namespace

std::string safetensorsHeaderBytes(const Tensors& tensors, const std::map<std::string, std::string>& metadata) {
  return header(plan(tensors, "<memory>"), metadata, "<memory>");
}

void saveSafetensors(const std::filesystem::path& path, const Tensors& tensors, const SafetensorsWriteOptions& options) {
  const std::string label = path.string();
  const auto planned = plan(tensors, label);
  core::AtomicFile file(path);
  Progress progress{options, 0, planned.size()};
  writeFile(file.tempPath(), label, planned, options.metadata, progress);
  file.commit();
}

std::filesystem::path saveShardedSafetensors(const std::filesystem::path& folder, std::string_view baseName,
                                             const Tensors& tensors, std::uint64_t maxShardBytes,
                                             const SafetensorsWriteOptions& options) {
  const auto indexPath = folder / (std::string(baseName) + ".safetensors.index.json");
  if (baseName.empty() || baseName.find('/') != std::string_view::npos)
    throw FormatError(indexPath.string(), "the base name must be a plain file name");
  if (maxShardBytes == 0) throw FormatError(indexPath.string(), "the shard size limit must be positive");
  const auto planned = plan(tensors, indexPath.string());

  std::vector<std::vector<Planned>> shards;
  std::uint64_t inShard = 0, total = 0;
  for (const auto& p : planned) {
    if (shards.empty() || (inShard > 0 && inShard + p.bytes > maxShardBytes)) {
      shards.emplace_back();
      inShard = 0;
    }
    shards.back().push_back(p);
    inShard += p.bytes;
    total += p.bytes;
  }
  if (shards.empty()) shards.emplace_back();  // no tensors: one empty shard keeps the format valid

  nlohmann::ordered_json index;
  index["metadata"] = {{"total_size", total}};
  for (const auto& [k, v] : options.metadata) index["metadata"][k] = v;
  auto& weightMap = index["weight_map"] = nlohmann::ordered_json::object();

  core::AtomicFileSet set;
  Progress progress{options, 0, planned.size()};
  for (std::size_t i = 0; i < shards.size(); ++i) {
    const std::string name = shardName(baseName, i, shards.size());
    const auto target = folder / name;
    const auto& temp = set.add(target);
    writeFile(temp, target.string(), shards[i], options.metadata, progress);
    for (const auto& p : shards[i]) weightMap[*p.name] = name;
  }
  const auto& indexTemp = set.add(indexPath);
  {
    const std::string text = index.dump(2) + "\n";
    OutFile out(indexTemp, indexPath.string());
    out.write(text.data(), text.size());
    out.finish();
  }
  set.commitAll();
  return indexPath;
}

}  // namespace presence::runtime
