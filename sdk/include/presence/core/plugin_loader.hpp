// Finding and loading plugins, with the version handshake.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "presence/core/plugin_abi.h"
#include "presence/core/registry.hpp"

namespace presence::core {

/// What the host expects of a plugin.
struct HostAbi {
  unsigned abiVersion = PRESENCE_PLUGIN_ABI_VERSION;
  std::string sdkVersion;    ///< this SDK's; plugins must match major.minor
  std::string torchVersion;  ///< the host's LibTorch, "" when the host loaded none
  std::string compilerAbi;
  static HostAbi current();
};

/// Empty when the plugin fits the host; otherwise one sentence per difference, e.g.
/// "plugin ABI version 2, host expects 1; SDK 0.2.0 differs from host SDK 0.1.0 (major.minor)".
std::string handshakeMismatch(const PresencePluginInfo& plugin, const HostAbi& host);

struct PluginReport {
  std::filesystem::path file;
  bool loaded = false;
  std::string name, version;
  std::vector<std::string> nodes;  ///< ids it registered
  std::string error;               ///< why it was refused
};

/// Loads plugin libraries into a registry. A loaded library stays loaded for the process's
/// life (its node factories live in it). A refused one is unloaded and registers nothing: a
/// plugin's nodes are staged and added all together, or not at all. Not thread-safe.
class PluginLoader {
 public:
  explicit PluginLoader(NodeRegistry& registry, HostAbi host = HostAbi::current());

  PluginReport load(const std::filesystem::path& file);
  /// Every `*.so` in the folders, in order; folders that do not exist are skipped.
  std::vector<PluginReport> loadAll(const std::vector<std::filesystem::path>& folders);

  /// `presence/plugins` next to the library that holds the SDK core first (the build tree and an
  /// installed prefix look alike), then PRESENCE_PLUGIN_PATH (colon-separated). Built-ins load
  /// first so that no third-party library can take over a built-in node id.
  static std::vector<std::filesystem::path> defaultSearchPath();

  const std::vector<PluginReport>& reports() const { return reports_; }

 private:
  NodeRegistry& registry_;
  HostAbi host_;
  std::vector<PluginReport> reports_;
  std::vector<std::filesystem::path> loadedFiles_;
};

}  // namespace presence::core
