#include "presence/core/plugin_loader.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include "presence/core/error.hpp"
#include "presence/core/plugin.hpp"
#include "presence/core/version.hpp"

namespace presence::core {

namespace {
std::string majorMinor(const std::string& version) {
  const auto first = version.find('.');
  if (first == std::string::npos) return version;
  const auto second = version.find('.', first + 1);
  return version.substr(0, second);
}
std::string text(const char* s) { return s ? s : ""; }
}  // namespace

HostAbi HostAbi::current() {
  HostAbi abi;
  abi.sdkVersion = PRESENCE_VERSION_STRING;
  abi.compilerAbi = compilerAbiTag();
  // torchVersion stays empty until a host links the model runtime, which sets it.
  return abi;
}

std::string handshakeMismatch(const PresencePluginInfo& plugin, const HostAbi& host) {
  std::vector<std::string> problems;
  if (plugin.abi_version != host.abiVersion)
    problems.push_back("plugin ABI version " + std::to_string(plugin.abi_version) + ", host expects " +
                       std::to_string(host.abiVersion));
  if (majorMinor(text(plugin.sdk_version)) != majorMinor(host.sdkVersion))
    problems.push_back("built with Presence SDK " + text(plugin.sdk_version) + ", host runs SDK " + host.sdkVersion +
                       " (major.minor must match)");
  if (text(plugin.compiler_abi) != host.compilerAbi)
    problems.push_back("C++ library ABI '" + text(plugin.compiler_abi) + "', host uses '" + host.compilerAbi + "'");
  const auto torch = text(plugin.torch_version);
  if (!torch.empty() && !host.torchVersion.empty() && torch != host.torchVersion)
    problems.push_back("built against LibTorch " + torch + ", host runs LibTorch " + host.torchVersion);
  if (!plugin.register_nodes) problems.push_back("it has no register_nodes function");
  std::string out;
  for (const auto& p : problems) out += (out.empty() ? "" : "; ") + p;
  return out;
}

PluginLoader::PluginLoader(NodeRegistry& registry, HostAbi host) : registry_(registry), host_(std::move(host)) {}

PluginReport PluginLoader::load(const std::filesystem::path& file) {
  PluginReport report;
  std::error_code ec;
  report.file = std::filesystem::weakly_canonical(file, ec);
  if (ec) report.file = file;
  auto refuse = [&](std::string why) {
    report.error = std::move(why);
    reports_.push_back(report);
    return report;
  };
  if (std::find(loadedFiles_.begin(), loadedFiles_.end(), report.file) != loadedFiles_.end())
    return refuse("already loaded");
  void* handle = ::dlopen(report.file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) return refuse(std::string("cannot load the library: ") + ::dlerror());
  // The message is built (from the library's strings) before the library is unloaded.
  auto unloadAndRefuse = [&](std::string why) {
    ::dlclose(handle);
    return refuse(std::move(why));
  };
  auto entry = reinterpret_cast<PresencePluginEntry>(::dlsym(handle, PRESENCE_PLUGIN_ENTRY_NAME));
  if (!entry) {
    return unloadAndRefuse("not a Presence plugin: it exports no '" PRESENCE_PLUGIN_ENTRY_NAME "'");
  }
  const PresencePluginInfo* info = entry();
  if (!info) {
    return unloadAndRefuse("its entry point returned no plugin information");
  }
  report.name = text(info->name);
  report.version = text(info->version);
  // Only the ABI version is read before the rest of the struct is trusted.
  if (info->abi_version != host_.abiVersion) {
    return unloadAndRefuse("refused: plugin ABI version " + std::to_string(info->abi_version) + ", host expects " +
                  std::to_string(host_.abiVersion));
  }
  if (auto mismatch = handshakeMismatch(*info, host_); !mismatch.empty()) {
    return unloadAndRefuse("refused: " + mismatch);
  }
  std::string failure;
  {
    // The staged entries hold factories whose code lives in the library: they must be gone
    // before the library may be unloaded.
    NodeRegistry staged;
    char error[1024] = {0};
    if (info->register_nodes(&staged, error, sizeof error) != 0) {
      failure = std::string("registering its nodes failed: ") + error;
    } else {
      try {
        registry_.merge(staged, report.file.string());
        for (const auto* d : staged.all()) report.nodes.push_back(d->id);
      } catch (const std::exception& e) {
        failure = std::string("refused: ") + e.what();
      }
    }
  }
  if (!failure.empty()) return unloadAndRefuse(failure);
  report.loaded = true;
  loadedFiles_.push_back(report.file);
  reports_.push_back(report);
  return report;  // the handle stays open: the node factories live in it
}

std::vector<PluginReport> PluginLoader::loadAll(const std::vector<std::filesystem::path>& folders) {
  std::vector<PluginReport> out;
  for (const auto& folder : folders) {
    std::error_code ec;
    if (!std::filesystem::is_directory(folder, ec)) continue;
    std::vector<std::filesystem::path> files;
    for (const auto& entry : std::filesystem::directory_iterator(folder, ec))
      if (entry.path().extension() == ".so" && entry.is_regular_file()) files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    for (const auto& f : files) {
      std::error_code cec;
      auto canonical = std::filesystem::weakly_canonical(f, cec);
      if (std::find(loadedFiles_.begin(), loadedFiles_.end(), canonical) != loadedFiles_.end()) continue;
      out.push_back(load(f));
    }
  }
  return out;
}

std::vector<std::filesystem::path> PluginLoader::defaultSearchPath() {
  std::vector<std::filesystem::path> folders;
  // The SDK's own plugins first: a third-party library cannot take over a built-in node id.
  Dl_info info{};
  if (::dladdr(reinterpret_cast<void*>(&PluginLoader::defaultSearchPath), &info) && info.dli_fname) {
    std::error_code ec;
    auto lib = std::filesystem::canonical(info.dli_fname, ec);
    if (!ec) folders.push_back(lib.parent_path() / "presence" / "plugins");
  }
  if (const char* env = std::getenv("PRESENCE_PLUGIN_PATH")) {
    std::stringstream list(env);
    std::string item;
    while (std::getline(list, item, ':'))
      if (!item.empty()) folders.emplace_back(item);
  }
  return folders;
}

}  // namespace presence::core
