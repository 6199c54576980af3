#include "presence/runtime/model_key.hpp"

#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <new>
#include <vector>

#include <nlohmann/json.hpp>
#include <xxhash.h>

#include "presence/core/error.hpp"

namespace presence::runtime {

ModelKey& ModelKey::file(const std::filesystem::path& path) {
  std::error_code ec;
  auto absolute = std::filesystem::absolute(path, ec);
  if (ec) throw core::InputError("cannot resolve '" + path.string() + "': " + ec.message());
  absolute = absolute.lexically_normal();
  const auto size = std::filesystem::file_size(absolute, ec);
  if (ec) throw core::InputError("cannot read weights '" + path.string() + "': " + ec.message());
  const auto mtime = std::filesystem::last_write_time(absolute, ec);
  if (ec) throw core::InputError("cannot read weights '" + path.string() + "': " + ec.message());
  const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(mtime.time_since_epoch()).count();
  files_.push_back({absolute.string(), size, static_cast<long long>(ns)});
  return *this;
}

ModelKey& ModelKey::files(const std::vector<std::filesystem::path>& paths) {
  for (const auto& p : paths) file(p);
  return *this;
}

ModelKey& ModelKey::set(std::string_view name, std::string_view value) {
  settings_.insert_or_assign(std::string(name), std::string(value));
  return *this;
}

std::string ModelKey::str() const {
  nlohmann::ordered_json j;
  j["kind"] = kind_;
  auto& files = j["files"] = nlohmann::ordered_json::array();
  for (const auto& f : files_) files.push_back({f.path, f.size, f.mtimeNs});
  auto& settings = j["settings"] = nlohmann::ordered_json::object();
  for (const auto& [k, v] : settings_) settings[k] = v;
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

std::string fileContentHash(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw core::InputError("cannot read '" + path.string() + "' to hash it");
  const std::unique_ptr<XXH3_state_t, decltype(&XXH3_freeState)> state(XXH3_createState(), &XXH3_freeState);
  if (!state) throw std::bad_alloc();
  XXH3_64bits_reset(state.get());
  std::vector<char> buffer(std::size_t(1) << 20);
  while (in) {
    in.read(buffer.data(), static_cast<std::streamsize>(buffer.size()));
    XXH3_64bits_update(state.get(), buffer.data(), static_cast<std::size_t>(in.gcount()));
  }
  const XXH64_hash_t hash = XXH3_64bits_digest(state.get());
  if (in.bad()) throw core::InputError("cannot read '" + path.string() + "' to hash it");
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
  return hex;
}

}  // namespace presence::runtime
