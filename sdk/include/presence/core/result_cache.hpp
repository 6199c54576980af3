// The executor's cache of node results, keyed by hash, within a memory budget.
#pragma once

#include <cstdint>
#include <list>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "presence/core/value.hpp"

namespace presence::core {

struct CacheStats {
  std::size_t entries = 0;
  std::size_t bytes = 0;
  std::size_t budgetBytes = 0;
  std::uint64_t hits = 0, misses = 0, evictions = 0;
};

/// Least-recently-used cache of a node's output values. Thread-safe. An entry larger than the
/// whole budget is not stored. Values are shared, so an evicted entry stays alive for as long as
/// a run still holds it.
class ResultCache {
 public:
  explicit ResultCache(std::size_t budgetBytes) : budget_(budgetBytes) {}

  std::optional<std::vector<Value>> find(std::uint64_t key);
  void insert(std::uint64_t key, std::vector<Value> values);
  bool contains(std::uint64_t key) const;
  void clear();
  void setBudget(std::size_t budgetBytes);
  CacheStats stats() const;

 private:
  struct Entry {
    std::vector<Value> values;
    std::size_t bytes = 0;
    std::list<std::uint64_t>::iterator lru;
  };
  void evictLocked();

  mutable std::mutex mutex_;
  std::size_t budget_;
  std::size_t bytes_ = 0;
  std::list<std::uint64_t> lru_;  ///< front = most recently used
  std::unordered_map<std::uint64_t, Entry> entries_;
  std::uint64_t hits_ = 0, misses_ = 0, evictions_ = 0;
};

}  // namespace presence::core
