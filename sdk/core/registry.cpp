#include "presence/core/registry.hpp"

#include "presence/core/error.hpp"

namespace presence::core {

void NodeRegistry::add(NodeDescriptor descriptor, Factory factory, std::string origin) {
  if (auto problems = checkDescriptor(descriptor); !problems.empty()) {
    std::string text;
    for (const auto& p : problems) text += (text.empty() ? "" : "; ") + p;
    throw Error("node type '" + descriptor.id + "' from " + origin + " is malformed: " + text);
  }
  if (!factory) throw Error("node type '" + descriptor.id + "' from " + origin + " has no factory");
  std::lock_guard lock(mutex_);
  if (auto it = entries_.find(descriptor.id); it != entries_.end())
    throw Error("node type '" + descriptor.id + "' from " + origin + " is already registered by " +
                it->second->origin);
  if (!descriptor.comfyName.empty()) {
    if (auto it = comfyNames_.find(descriptor.comfyName); it != comfyNames_.end())
      throw Error("ComfyUI name '" + descriptor.comfyName + "' of '" + descriptor.id +
                  "' is already used by '" + it->second + "'");
    comfyNames_.emplace(descriptor.comfyName, descriptor.id);
  }
  auto id = descriptor.id;
  entries_.emplace(std::move(id), std::make_unique<Entry>(Entry{std::move(descriptor), std::move(factory),
                                                                 std::move(origin)}));
}

const NodeDescriptor* NodeRegistry::find(std::string_view id) const {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(id);
  return it == entries_.end() ? nullptr : &it->second->descriptor;
}

const NodeDescriptor* NodeRegistry::findByComfyName(std::string_view comfyName) const {
  std::string id;
  {
    std::lock_guard lock(mutex_);
    auto it = comfyNames_.find(comfyName);
    if (it == comfyNames_.end()) return nullptr;
    id = it->second;
  }
  return find(id);
}

std::unique_ptr<Node> NodeRegistry::create(std::string_view id) const {
  Factory factory;
  {
    std::lock_guard lock(mutex_);
    auto it = entries_.find(id);
    if (it == entries_.end()) throw Error("unknown node type '" + std::string(id) + "'");
    factory = it->second->factory;
  }
  auto node = factory();
  if (!node) throw Error("factory of node type '" + std::string(id) + "' returned nothing");
  return node;
}

std::string NodeRegistry::origin(std::string_view id) const {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(id);
  return it == entries_.end() ? std::string() : it->second->origin;
}

std::vector<const NodeDescriptor*> NodeRegistry::all() const {
  std::lock_guard lock(mutex_);
  std::vector<const NodeDescriptor*> out;
  out.reserve(entries_.size());
  for (const auto& [id, entry] : entries_) out.push_back(&entry->descriptor);
  return out;
}

std::size_t NodeRegistry::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace presence::core

namespace presence::core {

void NodeRegistry::merge(const NodeRegistry& staged, const std::string& origin) {
  if (&staged == this) throw Error("a registry cannot be merged into itself");
  std::scoped_lock lock(mutex_, staged.mutex_);
  for (const auto& [id, entry] : staged.entries_) {
    if (auto it = entries_.find(id); it != entries_.end())
      throw Error("node type '" + id + "' is already registered by " + it->second->origin);
    const auto& comfy = entry->descriptor.comfyName;
    if (!comfy.empty() && comfyNames_.count(comfy))
      throw Error("ComfyUI name '" + comfy + "' of '" + id + "' is already used by '" +
                  comfyNames_.find(comfy)->second + "'");
  }
  for (const auto& [id, entry] : staged.entries_) {
    if (!entry->descriptor.comfyName.empty()) comfyNames_.emplace(entry->descriptor.comfyName, id);
    entries_.emplace(id, std::make_unique<Entry>(Entry{entry->descriptor, entry->factory, origin}));
  }
}

}  // namespace presence::core
