#include "presence/models/dit/reference_cache.hpp"

namespace presence::models::dit {

const ReferenceCache::Entry* ReferenceCache::find(const std::string& key, const std::string& fingerprint) {
  auto it = entries_.find(key);
  if (it == entries_.end() || it->second.fingerprint != fingerprint) {
    ++misses_;
    return nullptr;
  }
  ++hits_;
  return &it->second;
}

void ReferenceCache::store(const std::string& key, Entry entry) { entries_[key] = std::move(entry); }

void ReferenceCache::clear() {
  entries_.clear();
  hits_ = misses_ = 0;
}

int64_t ReferenceCache::bytes() const {
  int64_t n = 0;
  auto add = [&](const at::Tensor& t) {
    if (t.defined()) n += static_cast<int64_t>(t.numel()) * static_cast<int64_t>(t.element_size());
  };
  for (const auto& [key, e] : entries_) {
    for (const auto& t : e.keys) add(t);
    for (const auto& t : e.values) add(t);
    add(e.keyMask);
  }
  return n;
}

}  // namespace presence::models::dit
