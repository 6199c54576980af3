#include "presence/core/result_cache.hpp"

namespace presence::core {

std::optional<std::vector<Value>> ResultCache::find(std::uint64_t key) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(key);
  if (it == entries_.end()) {
    ++misses_;
    return std::nullopt;
  }
  ++hits_;
  lru_.splice(lru_.begin(), lru_, it->second.lru);
  return it->second.values;
}

bool ResultCache::contains(std::uint64_t key) const {
  std::lock_guard lock(mutex_);
  return entries_.count(key) != 0;
}

void ResultCache::insert(std::uint64_t key, std::vector<Value> values) {
  std::size_t bytes = 0;
  for (const auto& v : values) bytes += v.byteSize();
  std::lock_guard lock(mutex_);
  if (bytes > budget_) return;
  if (auto it = entries_.find(key); it != entries_.end()) {
    bytes_ -= it->second.bytes;
    lru_.erase(it->second.lru);
    entries_.erase(it);
  }
  lru_.push_front(key);
  entries_.emplace(key, Entry{std::move(values), bytes, lru_.begin()});
  bytes_ += bytes;
  evictLocked();
}

void ResultCache::evictLocked() {
  while (bytes_ > budget_ && !lru_.empty()) {
    auto key = lru_.back();
    lru_.pop_back();
    auto it = entries_.find(key);
    bytes_ -= it->second.bytes;
    entries_.erase(it);
    ++evictions_;
  }
}

void ResultCache::clear() {
  std::lock_guard lock(mutex_);
  entries_.clear();
  lru_.clear();
  bytes_ = 0;
}

void ResultCache::setBudget(std::size_t budgetBytes) {
  std::lock_guard lock(mutex_);
  budget_ = budgetBytes;
  evictLocked();
}

CacheStats ResultCache::stats() const {
  std::lock_guard lock(mutex_);
  return CacheStats{entries_.size(), bytes_, budget_, hits_, misses_, evictions_};
}

}  // namespace presence::core
