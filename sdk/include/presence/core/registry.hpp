// The registry of node types known to a process (built-ins, plugins, host additions).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "presence/core/descriptor.hpp"
#include "presence/core/node.hpp"

namespace presence::core {

/// Thread-safe. Descriptors are stored by value and stay valid for the registry's lifetime
/// (entries are never removed).
class NodeRegistry {
 public:
  using Factory = std::function<std::unique_ptr<Node>()>;

  /// Adds a node type. Throws Error if the descriptor is malformed (checkDescriptor) or its id or
  /// ComfyUI name is already taken; `origin` (a plugin path) is used in that message.
  void add(NodeDescriptor descriptor, Factory factory, std::string origin = "built-in");

  template <class NodeT>
  void add(NodeDescriptor descriptor, std::string origin = "built-in") {
    add(std::move(descriptor), [] { return std::unique_ptr<Node>(new NodeT()); }, std::move(origin));
  }

  /// Adds every entry of `staged` under `origin`, or none: throws Error naming the first id or
  /// ComfyUI name that is already taken. Used by the plugin loader.
  void merge(const NodeRegistry& staged, const std::string& origin);

  const NodeDescriptor* find(std::string_view id) const;
  const NodeDescriptor* findByComfyName(std::string_view comfyName) const;
  std::unique_ptr<Node> create(std::string_view id) const;  ///< throws for an unknown id
  std::string origin(std::string_view id) const;
  /// All descriptors, sorted by id.
  std::vector<const NodeDescriptor*> all() const;
  std::size_t size() const;

 private:
  struct Entry {
    NodeDescriptor descriptor;
    Factory factory;
    std::string origin;
  };
  mutable std::mutex mutex_;
  std::map<std::string, std::unique_ptr<Entry>, std::less<>> entries_;
  std::map<std::string, std::string, std::less<>> comfyNames_;
};

}  // namespace presence::core
