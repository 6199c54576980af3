// The process-wide cache of loaded models, shared by every node.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeindex>
#include <utility>
#include <vector>

#include "presence/core/error.hpp"

namespace presence::runtime {

/// Optional interface for cached objects. An object that implements it reports its own size
/// (instead of the caller's estimate) and, if it lives on a GPU, can be moved to host memory
/// when the cache needs device memory and moved back when it is asked for again.
/// The cache calls these without holding its lock, at most one at a time per object, and only
/// while no caller holds a handle to the object. bytes() is called with the lock held: it must
/// be cheap and must not call the cache.
class CacheEntry {
 public:
  virtual ~CacheEntry() = default;
  /// Bytes the object occupies in the memory the budget governs (device memory on CUDA).
  virtual std::size_t bytes() const = 0;
  /// True when offloadToCpu() would free budgeted memory (the object is on a CUDA device).
  virtual bool canOffload() const { return false; }
  /// Moves the object's tensors to host memory. May throw; the cache then drops the entry.
  virtual void offloadToCpu() {}
  /// Moves the object back to the device it was loaded on. May throw; the cache then drops the
  /// entry and the caller that asked for it gets the exception.
  virtual void restoreToDevice() {}
};

/// Counters a host can show. Bytes are as reported by the entries (or the loaders' estimates).
struct ModelCacheStats {
  std::size_t entries = 0;           ///< loaded entries the cache holds (resident or offloaded)
  std::size_t inUse = 0;             ///< of those, entries a caller holds a handle to
  std::size_t offloadedEntries = 0;  ///< entries moved to host memory
  std::size_t detachedInUse = 0;     ///< entries erased or cleared while held: alive until let go
  std::size_t loading = 0;           ///< loads in progress
  std::size_t bytes = 0;             ///< resident bytes of held and cached entries (vs budgetBytes)
  std::size_t offloadedBytes = 0;    ///< bytes moved to host memory (vs offloadBudgetBytes)
  std::size_t budgetBytes = 0, offloadBudgetBytes = 0;
  std::uint64_t hits = 0, misses = 0, loads = 0, failedLoads = 0;
  std::uint64_t evictions = 0, offloads = 0, restores = 0;
  double loadSeconds = 0;  ///< total time spent in loaders
};

/// One entry as a host lists it.
struct ModelCacheEntryInfo {
  std::string key;
  std::string type;  ///< the C++ type the entry was loaded as
  std::size_t bytes = 0;
  bool inUse = false, offloaded = false, loading = false, detached = false;
};

/// Loaded models, shared by every node of every graph in the process so the sampler, the
/// encoders and the decoders use one copy of each weight file.
///
/// Entries are keyed by a string (build it with ModelKey: weight files with their size and
/// modification time, plus the settings that change what is loaded: device, dtype, preset).
/// getOrLoad() returns a std::shared_ptr handle; the object stays alive while any handle does.
///
/// Budget: the cache keeps the resident bytes of its entries within budgetBytes by dropping
/// least-recently-used entries that nobody outside the cache holds. An entry that someone holds
/// is never dropped for the budget, so the cache can stay over budget while models are in use;
/// room is made again on the next getOrLoad() or trim(). An object larger than the whole budget
/// still loads (the caller needs it). When offloadBudgetBytes > 0, an entry implementing
/// CacheEntry with canOffload() is moved to host memory instead of dropped, within that second
/// budget, and moved back by the next getOrLoad() that asks for it.
///
/// erase() and clear() drop the cache's reference. An entry still held elsewhere is not freed:
/// the cache records it (a weak reference, counted as detachedInUse and in bytes) and hands the
/// same object to the next getOrLoad() for its key instead of loading a second copy.
///
/// Threading: every member is thread-safe. Concurrent getOrLoad() calls for one key run one
/// loader; the others wait for it and share its result. Loaders run without the cache's lock,
/// so a loader may call getOrLoad() for other keys (never for its own key: that deadlocks).
///
/// Errors: an exception from a loader leaves no entry and is rethrown to the caller and to every
/// caller waiting for that key. Asking for a key loaded as another type throws core::Error.
class ModelCache {
 public:
  struct Options {
    std::size_t budgetBytes = std::numeric_limits<std::size_t>::max();
    std::size_t offloadBudgetBytes = 0;  ///< 0 disables offloading
  };

  ModelCache();
  explicit ModelCache(Options options);
  /// Drops every entry the cache holds; handles held elsewhere stay valid.
  ~ModelCache();
  ModelCache(const ModelCache&) = delete;
  ModelCache& operator=(const ModelCache&) = delete;

  /// The process-wide cache every node uses. Budget from PRESENCE_MODEL_CACHE_BUDGET (bytes, or
  /// with a K/M/G/T suffix; default half the machine's physical memory); offload budget from
  /// PRESENCE_MODEL_CACHE_OFFLOAD_BUDGET (default 0, off). Created on first use and never
  /// destroyed (models are not torn down during static destruction, after CUDA may be gone).
  static ModelCache& global();

  /// The object cached under `key`, or the one `loader` makes. `loader` returns a
  /// std::shared_ptr<T>, a std::unique_ptr<T> or a T; `bytesEstimate` is reserved before it runs
  /// (making room first) and counted for the entry unless T implements CacheEntry.
  template <class T, class Loader>
  std::shared_ptr<T> getOrLoad(const std::string& key, std::size_t bytesEstimate, Loader&& loader);

  /// True when `key` is loaded (resident, offloaded or detached-but-alive). No statistics change.
  bool contains(const std::string& key) const;
  /// Drops `key` (see the class comment); false when absent or still loading.
  bool erase(const std::string& key);
  /// Drops every entry that is not loading right now.
  void clear();
  /// Applies the budget now (entries released since the last call become evictable).
  void trim();
  void setBudget(std::size_t budgetBytes);
  void setOffloadBudget(std::size_t offloadBudgetBytes);

  ModelCacheStats stats() const;
  /// Entries, most recently used first.
  std::vector<ModelCacheEntryInfo> entries() const;

 private:
  struct Loaded {
    std::shared_ptr<void> object;
    CacheEntry* hooks = nullptr;
  };
  std::shared_ptr<void> getOrLoadErased(const std::string& key, std::type_index type, std::size_t bytesEstimate,
                                        const std::function<Loaded()>& loader);

  template <class T, class R>
  static std::shared_ptr<T> toShared(R&& made) {
    using D = std::decay_t<R>;
    if constexpr (std::is_convertible_v<D&&, std::shared_ptr<T>>) {
      return std::shared_ptr<T>(std::forward<R>(made));
    } else {
      static_assert(std::is_convertible_v<D, T>, "a loader returns std::shared_ptr<T>, std::unique_ptr<T> or T");
      return std::make_shared<T>(std::forward<R>(made));
    }
  }

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

template <class T, class Loader>
std::shared_ptr<T> ModelCache::getOrLoad(const std::string& key, std::size_t bytesEstimate, Loader&& loader) {
  static_assert(!std::is_const_v<T> && !std::is_reference_v<T>, "cache a non-const object type");
  auto erased = getOrLoadErased(key, std::type_index(typeid(T)), bytesEstimate, [&]() -> Loaded {
    std::shared_ptr<T> object = toShared<T>(std::invoke(loader));
    if (!object) throw core::Error("model cache: the loader for '" + key + "' returned no object");
    Loaded loaded;
    if constexpr (std::is_base_of_v<CacheEntry, T>) loaded.hooks = object.get();
    loaded.object = std::move(object);
    return loaded;
  });
  return std::static_pointer_cast<T>(std::move(erased));
}

/// "8G", "512M", "1024", "1.5G" -> bytes (K/M/G/T are powers of 1024; a trailing "B"/"iB" is
/// accepted). Throws core::InputError naming the text.
std::size_t parseByteSize(std::string_view text);

}  // namespace presence::runtime
