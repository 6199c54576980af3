#include "presence/runtime/model_cache.hpp"

#include <chrono>
#include <cmath>
#include <condition_variable>
#include <cstdlib>
#include <cxxabi.h>
#include <list>
#include <mutex>
#include <unistd.h>
#include <unordered_map>

namespace presence::runtime {

namespace {

std::string demangle(const char* name) {
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> out(abi::__cxa_demangle(name, nullptr, nullptr, &status), std::free);
  return status == 0 && out ? std::string(out.get()) : std::string(name);
}

/// What callers waiting for a load or a move wait on.
struct Pending {
  bool done = false;
  std::exception_ptr error;
};

/// Objects dropped by the cache, destroyed after the lock is released (a destructor may be slow
/// or may itself use the cache).
using Graveyard = std::vector<std::shared_ptr<void>>;

}  // namespace

struct ModelCache::Impl {
  enum class State { Loading, Ready, Moving, Detached };

  struct Entry {
    std::string key;
    std::type_index type;
    State state = State::Loading;
    std::shared_ptr<void> strong;  ///< the cache's reference (empty while loading or detached)
    std::weak_ptr<void> weak;      ///< for detached entries
    CacheEntry* hooks = nullptr;
    std::size_t bytes = 0;
    bool offloaded = false;
    std::shared_ptr<Pending> pending;  ///< while Loading or Moving
    std::list<Entry*>::iterator lru;
    bool inLru = false;

    Entry(std::string k, std::type_index t) : key(std::move(k)), type(t) {}
    /// Held by someone besides the cache. Exact under the lock: new references to a cached
    /// object are only made by the cache (under the lock) or copied from existing outside ones.
    bool held() const { return strong && strong.use_count() > 1; }
  };

  explicit Impl(Options o) : options(o) {}

  mutable std::mutex mutex;
  std::condition_variable changed;
  Options options;
  std::unordered_map<std::string, std::unique_ptr<Entry>> map;
  std::list<Entry*> lru;  ///< front = most recently used; Ready entries only (resident or offloaded)
  std::size_t bytes = 0;           ///< resident bytes of Ready entries (Moving ones count as resident)
  std::size_t offloadedBytes = 0;  ///< bytes of offloaded entries
  std::size_t reserved = 0;        ///< estimates of loads and restores in progress
  std::uint64_t hits = 0, misses = 0, loads = 0, failedLoads = 0, evictions = 0, offloads = 0, restores = 0;
  double loadSeconds = 0;

  void touch(Entry& e) {
    if (e.inLru) lru.erase(e.lru);
    lru.push_front(&e);
    e.lru = lru.begin();
    e.inLru = true;
  }
  void unlist(Entry& e) {
    if (e.inLru) lru.erase(e.lru);
    e.inLru = false;
  }

  /// Removes a Ready entry from the cache. Held entries become Detached (kept as a weak
  /// reference); others go to the graveyard.
  void drop(Entry& e, Graveyard& dead, bool countEviction) {
    unlist(e);
    if (e.offloaded)
      offloadedBytes -= e.bytes;
    else
      bytes -= e.bytes;
    if (countEviction) ++evictions;
    if (e.held()) {
      e.weak = e.strong;
      dead.push_back(std::move(e.strong));
      e.state = State::Detached;
      e.offloaded = false;
      return;
    }
    dead.push_back(std::move(e.strong));
    forget(e);
  }

  /// Removes an entry from the map (destroys `e`).
  void forget(Entry& e) {
    unlist(e);
    const std::string key = e.key;
    map.erase(key);
  }

  /// Bytes of detached entries still alive; forgets the ones that are gone.
  std::size_t detachedBytes() {
    std::size_t total = 0;
    for (auto it = map.begin(); it != map.end();) {
      Entry& e = *it->second;
      if (e.state == State::Detached) {
        if (e.weak.expired()) {
          it = map.erase(it);
          continue;
        }
        total += e.bytes;
      }
      ++it;
    }
    return total;
  }

  Entry* leastRecentlyUsed(bool offloaded) {
    for (auto it = lru.rbegin(); it != lru.rend(); ++it) {
      Entry* e = *it;
      if (e->state == State::Ready && e->offloaded == offloaded && !e->held()) return e;
    }
    return nullptr;
  }

  /// Brings resident (+ reserved + detached) bytes within the budget, then offloaded bytes
  /// within theirs. May release the lock while an entry moves to host memory.
  void makeRoom(std::unique_lock<std::mutex>& lock, Graveyard& dead) {
    for (;;) {
      const std::size_t used = bytes + reserved + detachedBytes();
      if (used <= options.budgetBytes) break;
      Entry* victim = leastRecentlyUsed(false);
      if (victim == nullptr) break;  // everything left is in use: stay over budget
      if (options.offloadBudgetBytes > 0 && victim->hooks != nullptr && victim->bytes <= options.offloadBudgetBytes &&
          victim->hooks->canOffload()) {
        offload(lock, *victim, dead);
        continue;
      }
      drop(*victim, dead, true);
    }
    while (offloadedBytes > options.offloadBudgetBytes) {
      Entry* victim = leastRecentlyUsed(true);
      if (victim == nullptr) break;
      drop(*victim, dead, true);
    }
  }

  void offload(std::unique_lock<std::mutex>& lock, Entry& e, Graveyard& dead) {
    e.state = State::Moving;
    auto pending = e.pending = std::make_shared<Pending>();
    std::exception_ptr error;
    lock.unlock();
    try {
      e.hooks->offloadToCpu();
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    e.state = State::Ready;
    e.pending.reset();
    pending->done = true;
    changed.notify_all();
    if (error) {
      drop(e, dead, true);  // its state is unknown: let it go
      return;
    }
    bytes -= e.bytes;
    offloadedBytes += e.bytes;
    e.offloaded = true;
    ++offloads;
  }

  /// Moves an offloaded entry back; the caller holds `handle`. Returns normally or throws.
  void restore(std::unique_lock<std::mutex>& lock, Entry& e, Graveyard& dead) {
    e.state = State::Moving;
    auto pending = e.pending = std::make_shared<Pending>();
    offloadedBytes -= e.bytes;
    reserved += e.bytes;
    e.offloaded = false;
    const std::size_t size = e.bytes;
    makeRoom(lock, dead);
    std::exception_ptr error;
    lock.unlock();
    try {
      e.hooks->restoreToDevice();
    } catch (...) {
      error = std::current_exception();
    }
    lock.lock();
    reserved -= size;
    e.state = State::Ready;
    e.pending.reset();
    pending->done = true;
    changed.notify_all();
    if (error) {  // its state is unknown: forget it, even though the caller holds a handle
      dead.push_back(std::move(e.strong));
      ++evictions;
      forget(e);
      std::rethrow_exception(error);
    }
    e.bytes = e.hooks->bytes();
    bytes += e.bytes;
    ++restores;
  }
};

ModelCache::ModelCache() : ModelCache(Options{}) {}
ModelCache::ModelCache(Options options) : impl_(std::make_unique<Impl>(options)) {}
ModelCache::~ModelCache() = default;

ModelCache& ModelCache::global() {
  static ModelCache* cache = [] {
    Options o;
    if (const char* env = std::getenv("PRESENCE_MODEL_CACHE_BUDGET"); env != nullptr && *env != '\0') {
      o.budgetBytes = parseByteSize(env);
    } else {
      const long pages = ::sysconf(_SC_PHYS_PAGES), pageSize = ::sysconf(_SC_PAGESIZE);
      if (pages > 0 && pageSize > 0) o.budgetBytes = static_cast<std::size_t>(pages) * static_cast<std::size_t>(pageSize) / 2;
    }
    if (const char* env = std::getenv("PRESENCE_MODEL_CACHE_OFFLOAD_BUDGET"); env != nullptr && *env != '\0')
      o.offloadBudgetBytes = parseByteSize(env);
    return new ModelCache(o);  // never destroyed: see the header
  }();
  return *cache;
}

std::shared_ptr<void> ModelCache::getOrLoadErased(const std::string& key, std::type_index type,
                                                  std::size_t bytesEstimate, const std::function<Loaded()>& loader) {
  using State = Impl::State;
  Impl& s = *impl_;
  Graveyard dead;
  std::unique_lock lock(s.mutex);
  for (;;) {
    auto it = s.map.find(key);
    if (it == s.map.end()) break;
    Impl::Entry& e = *it->second;
    if (e.state == State::Detached && e.weak.expired()) {
      s.map.erase(it);
      break;
    }
    if (e.type != type)
      throw core::Error("model cache: '" + key + "' holds a " + demangle(e.type.name()) + ", not a " +
                        demangle(type.name()));
    if (e.state == State::Loading || e.state == State::Moving) {
      const bool loading = e.state == State::Loading;
      auto pending = e.pending;
      s.changed.wait(lock, [&] { return pending->done; });
      if (loading && pending->error) std::rethrow_exception(pending->error);
      continue;  // look again: it may be ready, or gone
    }
    if (e.state == State::Detached) {
      auto alive = e.weak.lock();
      if (!alive) {  // let go since the check above
        s.map.erase(it);
        break;
      }
      ++s.hits;
      e.strong = alive;
      e.weak.reset();
      e.state = State::Ready;
      s.bytes += e.bytes;
      s.touch(e);
      lock.unlock();
      return alive;
    }
    ++s.hits;
    s.touch(e);
    auto handle = e.strong;
    if (e.offloaded) s.restore(lock, e, dead);
    s.makeRoom(lock, dead);
    lock.unlock();
    return handle;
  }

  // Not cached: this caller loads it; others asking meanwhile wait on `pending`.
  ++s.misses;
  auto owned = std::make_unique<Impl::Entry>(key, type);
  Impl::Entry& e = *owned;
  auto pending = e.pending = std::make_shared<Pending>();
  s.map.emplace(key, std::move(owned));
  s.reserved += bytesEstimate;
  s.makeRoom(lock, dead);
  lock.unlock();
  dead.clear();

  Loaded loaded;
  std::exception_ptr error;
  const auto start = std::chrono::steady_clock::now();
  try {
    loaded = loader();
  } catch (...) {
    error = std::current_exception();
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  lock.lock();
  s.reserved -= bytesEstimate;
  s.loadSeconds += seconds;
  pending->done = true;
  if (error) {
    ++s.failedLoads;
    pending->error = error;
    s.forget(e);
    s.changed.notify_all();
    lock.unlock();
    std::rethrow_exception(error);
  }
  ++s.loads;
  e.strong = loaded.object;
  e.hooks = loaded.hooks;
  e.bytes = e.hooks != nullptr ? e.hooks->bytes() : bytesEstimate;
  e.state = State::Ready;
  e.pending.reset();
  s.bytes += e.bytes;
  s.touch(e);
  s.changed.notify_all();
  auto handle = std::move(loaded.object);  // held: makeRoom cannot drop it
  s.makeRoom(lock, dead);
  lock.unlock();
  return handle;
}

bool ModelCache::contains(const std::string& key) const {
  std::lock_guard lock(impl_->mutex);
  auto it = impl_->map.find(key);
  if (it == impl_->map.end()) return false;
  const auto& e = *it->second;
  if (e.state == Impl::State::Loading) return false;
  if (e.state == Impl::State::Detached) return !e.weak.expired();
  return true;
}

bool ModelCache::erase(const std::string& key) {
  Graveyard dead;
  std::lock_guard lock(impl_->mutex);
  auto it = impl_->map.find(key);
  if (it == impl_->map.end() || it->second->state != Impl::State::Ready) return false;
  impl_->drop(*it->second, dead, false);
  return true;
}

void ModelCache::clear() {
  Graveyard dead;
  std::lock_guard lock(impl_->mutex);
  std::vector<Impl::Entry*> ready;
  for (auto& [key, e] : impl_->map)
    if (e->state == Impl::State::Ready) ready.push_back(e.get());
  for (auto* e : ready) impl_->drop(*e, dead, false);
}

void ModelCache::trim() {
  Graveyard dead;
  std::unique_lock lock(impl_->mutex);
  impl_->makeRoom(lock, dead);
}

void ModelCache::setBudget(std::size_t budgetBytes) {
  Graveyard dead;
  std::unique_lock lock(impl_->mutex);
  impl_->options.budgetBytes = budgetBytes;
  impl_->makeRoom(lock, dead);
}

void ModelCache::setOffloadBudget(std::size_t offloadBudgetBytes) {
  Graveyard dead;
  std::unique_lock lock(impl_->mutex);
  impl_->options.offloadBudgetBytes = offloadBudgetBytes;
  impl_->makeRoom(lock, dead);
}

ModelCacheStats ModelCache::stats() const {
  std::lock_guard lock(impl_->mutex);
  const Impl& s = *impl_;
  ModelCacheStats st;
  for (const auto& [key, e] : s.map) {
    switch (e->state) {
      case Impl::State::Loading: ++st.loading; break;
      case Impl::State::Detached:
        if (!e->weak.expired()) {
          ++st.detachedInUse;
          st.bytes += e->bytes;
        }
        break;
      case Impl::State::Ready:
      case Impl::State::Moving:
        ++st.entries;
        if (e->held()) ++st.inUse;
        if (e->offloaded) ++st.offloadedEntries;
        break;
    }
  }
  st.bytes += s.bytes;
  st.offloadedBytes = s.offloadedBytes;
  st.budgetBytes = s.options.budgetBytes;
  st.offloadBudgetBytes = s.options.offloadBudgetBytes;
  st.hits = s.hits;
  st.misses = s.misses;
  st.loads = s.loads;
  st.failedLoads = s.failedLoads;
  st.evictions = s.evictions;
  st.offloads = s.offloads;
  st.restores = s.restores;
  st.loadSeconds = s.loadSeconds;
  return st;
}

std::vector<ModelCacheEntryInfo> ModelCache::entries() const {
  std::lock_guard lock(impl_->mutex);
  std::vector<ModelCacheEntryInfo> out;
  auto info = [](const Impl::Entry& e) {
    ModelCacheEntryInfo i;
    i.key = e.key;
    i.type = demangle(e.type.name());
    i.bytes = e.bytes;
    i.inUse = e.held() || e.state == Impl::State::Detached;
    i.offloaded = e.offloaded;
    i.loading = e.state == Impl::State::Loading;
    i.detached = e.state == Impl::State::Detached;
    return i;
  };
  for (const auto* e : impl_->lru) out.push_back(info(*e));
  for (const auto& [key, e] : impl_->map)
    if (!e->inLru && !(e->state == Impl::State::Detached && e->weak.expired())) out.push_back(info(*e));
  return out;
}

std::size_t parseByteSize(std::string_view text) {
  const std::string original(text);
  auto bad = [&]() -> std::size_t {
    throw core::InputError("invalid size '" + original + "': expected bytes, optionally with K, M, G or T (e.g. 8G)");
  };
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  auto strip = [&](std::string_view suffix) {
    if (text.size() >= suffix.size()) {
      bool same = true;
      for (std::size_t i = 0; i < suffix.size(); ++i)
        same = same && std::toupper(static_cast<unsigned char>(text[text.size() - suffix.size() + i])) == suffix[i];
      if (same) text.remove_suffix(suffix.size());
      return same;
    }
    return false;
  };
  if (!strip("IB")) strip("B");
  double scale = 1;
  const std::string_view units = "KMGT";
  if (!text.empty()) {
    const auto pos = units.find(static_cast<char>(std::toupper(static_cast<unsigned char>(text.back()))));
    if (pos != std::string_view::npos) {
      scale = std::pow(1024.0, static_cast<double>(pos + 1));
      text.remove_suffix(1);
    }
  }
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);  // "2 TB"
  if (text.empty()) return bad();
  const std::string number(text);
  char* end = nullptr;
  const double value = std::strtod(number.c_str(), &end);
  if (end != number.c_str() + number.size() || !std::isfinite(value) || value < 0) return bad();
  const double total = value * scale;
  if (total >= static_cast<double>(std::numeric_limits<std::size_t>::max())) return std::numeric_limits<std::size_t>::max();
  return static_cast<std::size_t>(total);
}

}  // namespace presence::runtime
