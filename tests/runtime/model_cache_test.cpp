// The process-wide model cache: sharing, budget, LRU, held handles, concurrency, offloading.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "presence/core/error.hpp"
#include "presence/runtime/model_cache.hpp"
#include "presence/runtime/model_key.hpp"
#include "test_util.hpp"

using namespace presence::runtime;
using namespace std::chrono_literals;

namespace {

struct Model {
  explicit Model(int v = 0) : value(v) {}
  int value;
};

/// Loads a Model and counts the loads.
struct Counting {
  std::atomic<int> loads{0};
  std::shared_ptr<Model> get(ModelCache& cache, const std::string& key, std::size_t bytes = 100) {
    return cache.getOrLoad<Model>(key, bytes, [&] {
      ++loads;
      return std::make_shared<Model>(static_cast<int>(key.size()));
    });
  }
};

/// A model "on a GPU" that can move to host memory.
struct FakeGpuModel : CacheEntry {
  explicit FakeGpuModel(std::size_t b) : size(b) {}
  std::size_t size;
  bool onDevice = true;
  int offloadCalls = 0, restoreCalls = 0;
  bool failRestore = false;
  std::size_t bytes() const override { return size; }
  bool canOffload() const override { return onDevice; }
  void offloadToCpu() override {
    ++offloadCalls;
    onDevice = false;
  }
  void restoreToDevice() override {
    ++restoreCalls;
    if (failRestore) throw std::runtime_error("device out of memory");
    onDevice = true;
  }
};

ModelCache::Options budget(std::size_t bytes, std::size_t offload = 0) {
  ModelCache::Options o;
  o.budgetBytes = bytes;
  o.offloadBudgetBytes = offload;
  return o;
}

}  // namespace

TEST(ModelCache, LoadsOnceThenHits) {
  ModelCache cache;
  Counting c;
  const auto a = c.get(cache, "a");
  const auto b = c.get(cache, "a");
  EXPECT_EQ(a.get(), b.get());
  EXPECT_EQ(c.loads, 1);
  const auto s = cache.stats();
  EXPECT_EQ(s.misses, 1u);
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.loads, 1u);
  EXPECT_EQ(s.entries, 1u);
  EXPECT_EQ(s.inUse, 1u);
  EXPECT_EQ(s.bytes, 100u);
  EXPECT_GE(s.loadSeconds, 0.0);
  EXPECT_TRUE(cache.contains("a"));
  EXPECT_FALSE(cache.contains("b"));
}

TEST(ModelCache, TwoNodesShareOneCopy) {
  ModelCache cache;
  std::atomic<int> loads{0};
  auto node = [&](const std::string& weights) {
    return cache.getOrLoad<Model>(ModelKey("dit").set("weights", weights).set("device", "cpu"), 10, [&] {
      ++loads;
      return Model(7);  // a loader may return the object itself
    });
  };
  const auto sampler = node("w.safetensors");
  const auto encoder = node("w.safetensors");
  EXPECT_EQ(sampler.get(), encoder.get());
  EXPECT_EQ(sampler->value, 7);
  EXPECT_EQ(loads, 1);
  EXPECT_NE(node("other.safetensors").get(), sampler.get());
}

TEST(ModelCache, BudgetEvictsLeastRecentlyUsedFirst) {
  ModelCache cache(budget(300));
  Counting c;
  c.get(cache, "a");
  c.get(cache, "b");
  c.get(cache, "c");
  c.get(cache, "a");  // a is now the most recent; b the least
  c.get(cache, "d");
  EXPECT_FALSE(cache.contains("b"));
  EXPECT_TRUE(cache.contains("a"));
  EXPECT_TRUE(cache.contains("c"));
  c.get(cache, "e");
  EXPECT_FALSE(cache.contains("c"));
  EXPECT_LE(cache.stats().bytes, 300u);
  EXPECT_EQ(cache.stats().evictions, 2u);
  const auto listed = cache.entries();
  ASSERT_EQ(listed.size(), 3u);
  EXPECT_EQ(listed[0].key, "e");  // most recent first
  EXPECT_EQ(listed[1].key, "d");
  EXPECT_EQ(listed[2].key, "a");
  EXPECT_EQ(listed[0].type, "(anonymous namespace)::Model");
}

TEST(ModelCache, RoomIsMadeBeforeTheLoaderRuns) {
  ModelCache cache(budget(250));
  Counting c;
  c.get(cache, "a");
  c.get(cache, "b");
  cache.getOrLoad<Model>("c", 100, [&] {
    EXPECT_FALSE(cache.contains("a"));  // evicted for c's estimate before c loads
    EXPECT_TRUE(cache.contains("b"));
    return Model(1);
  });
}

TEST(ModelCache, HeldEntriesAreNeverFreed) {
  ModelCache cache(budget(150));
  Counting c;
  std::weak_ptr<Model> weakA;
  {
    const auto a = c.get(cache, "a");
    weakA = a;
    const auto b = c.get(cache, "b");  // over budget: a is held, so both stay
    EXPECT_TRUE(cache.contains("a"));
    EXPECT_EQ(cache.stats().bytes, 200u);
    EXPECT_EQ(cache.stats().inUse, 2u);
    EXPECT_EQ(cache.stats().evictions, 0u);
  }
  EXPECT_FALSE(weakA.expired());  // still cached
  cache.trim();                   // now both are free: the least recent goes
  EXPECT_TRUE(weakA.expired());
  EXPECT_TRUE(cache.contains("b"));
  EXPECT_EQ(cache.stats().bytes, 100u);
}

TEST(ModelCache, ABiggerThanBudgetModelStillLoads) {
  ModelCache cache(budget(50));
  Counting c;
  const auto big = c.get(cache, "big", 1000);
  EXPECT_TRUE(big);
  EXPECT_EQ(cache.stats().bytes, 1000u);
}

TEST(ModelCache, ClearDetachesHeldEntriesAndHandsTheSameObjectBack) {
  ModelCache cache;
  Counting c;
  auto a = c.get(cache, "a");
  c.get(cache, "b");
  cache.clear();
  EXPECT_FALSE(cache.contains("b"));
  EXPECT_TRUE(cache.contains("a"));  // alive while held: recorded, not reloaded
  auto s = cache.stats();
  EXPECT_EQ(s.entries, 0u);
  EXPECT_EQ(s.detachedInUse, 1u);
  EXPECT_EQ(s.bytes, 100u);
  EXPECT_EQ(c.get(cache, "a").get(), a.get());
  EXPECT_EQ(c.loads, 2);
  EXPECT_EQ(cache.stats().entries, 1u);

  EXPECT_TRUE(cache.erase("a"));
  const Model* old = a.get();
  a.reset();
  EXPECT_FALSE(cache.contains("a"));
  EXPECT_EQ(cache.stats().detachedInUse, 0u);
  (void)old;
  c.get(cache, "a");
  EXPECT_EQ(c.loads, 3);
  EXPECT_FALSE(cache.erase("nope"));
}

TEST(ModelCache, ConcurrentCallersLoadOnce) {
  ModelCache cache;
  std::atomic<int> loads{0};
  std::atomic<int> ready{0};
  constexpr int kThreads = 8;
  std::vector<std::shared_ptr<Model>> got(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i)
    threads.emplace_back([&, i] {
      ++ready;
      while (ready < kThreads) std::this_thread::yield();
      got[static_cast<std::size_t>(i)] = cache.getOrLoad<Model>("k", 10, [&] {
        ++loads;
        std::this_thread::sleep_for(50ms);
        return Model(3);
      });
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(loads, 1);
  for (const auto& g : got) EXPECT_EQ(g.get(), got[0].get());
  const auto s = cache.stats();
  EXPECT_EQ(s.loads, 1u);
  EXPECT_EQ(s.misses, 1u);
  EXPECT_EQ(s.hits, static_cast<std::uint64_t>(kThreads - 1));
}

TEST(ModelCache, AFailingLoaderLeavesNoEntryAndEveryWaiterGetsTheError) {
  ModelCache cache;
  std::atomic<int> loads{0}, failures{0}, ready{0};
  constexpr int kThreads = 4;
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i)
    threads.emplace_back([&] {
      ++ready;
      while (ready < kThreads) std::this_thread::yield();
      try {
        cache.getOrLoad<Model>("bad", 10, [&]() -> Model {
          ++loads;
          std::this_thread::sleep_for(50ms);
          throw presence::core::InputError("weights.safetensors: truncated");
        });
      } catch (const presence::core::InputError& e) {
        EXPECT_STREQ(e.what(), "weights.safetensors: truncated");
        ++failures;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures, kThreads);
  EXPECT_GE(loads, 1);
  EXPECT_FALSE(cache.contains("bad"));
  auto s = cache.stats();
  EXPECT_EQ(s.entries, 0u);
  EXPECT_EQ(s.bytes, 0u);
  EXPECT_EQ(s.failedLoads, static_cast<std::uint64_t>(loads.load()));
  // The next caller tries again.
  EXPECT_EQ(cache.getOrLoad<Model>("bad", 10, [] { return Model(5); })->value, 5);
}

TEST(ModelCache, ALoaderMayLoadOtherKeys) {
  ModelCache cache;
  auto outer = cache.getOrLoad<Model>("pipeline", 1, [&] {
    auto inner = cache.getOrLoad<Model>("encoder", 1, [] { return Model(2); });
    return Model(inner->value * 10);
  });
  EXPECT_EQ(outer->value, 20);
  EXPECT_TRUE(cache.contains("encoder"));
}

TEST(ModelCache, AKeyHoldsOneType) {
  ModelCache cache;
  cache.getOrLoad<Model>("k", 1, [] { return Model(1); });
  try {
    cache.getOrLoad<std::string>("k", 1, [] { return std::string("x"); });
    FAIL();
  } catch (const presence::core::Error& e) {
    EXPECT_NE(std::string(e.what()).find("holds a (anonymous namespace)::Model, not a std::"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(cache.getOrLoad<Model>("null", 1, [] { return std::shared_ptr<Model>(); }), presence::core::Error);
  EXPECT_FALSE(cache.contains("null"));
}

TEST(ModelCache, EntriesReportTheirOwnSize) {
  ModelCache cache;
  auto m = cache.getOrLoad<FakeGpuModel>("m", 1, [] { return std::make_unique<FakeGpuModel>(123); });
  EXPECT_EQ(cache.stats().bytes, 123u);
}

TEST(ModelCache, OffloadsToHostInsteadOfEvictingAndRestoresOnDemand) {
  ModelCache cache(budget(150, 1000));
  auto load = [&](const std::string& key) {
    return cache.getOrLoad<FakeGpuModel>(key, 100, [] { return std::make_shared<FakeGpuModel>(100); });
  };
  FakeGpuModel* first = load("m1").get();
  load("m2");  // no room for both on the "device": m1 moves to host memory
  EXPECT_EQ(first->offloadCalls, 1);
  EXPECT_FALSE(first->onDevice);
  auto s = cache.stats();
  EXPECT_EQ(s.offloads, 1u);
  EXPECT_EQ(s.evictions, 0u);
  EXPECT_EQ(s.offloadedEntries, 1u);
  EXPECT_EQ(s.offloadedBytes, 100u);
  EXPECT_EQ(s.bytes, 100u);

  const auto again = load("m1");  // back on the device; m2 makes room by moving out
  EXPECT_EQ(again.get(), first);
  EXPECT_TRUE(first->onDevice);
  EXPECT_EQ(first->restoreCalls, 1);
  s = cache.stats();
  EXPECT_EQ(s.restores, 1u);
  EXPECT_EQ(s.offloads, 2u);
  EXPECT_EQ(s.hits, 1u);
  EXPECT_EQ(s.loads, 2u);
}

TEST(ModelCache, OffloadedEntriesAreEvictedBeyondTheirOwnBudget) {
  ModelCache cache(budget(100, 150));
  for (const char* key : {"a", "b", "c"})
    cache.getOrLoad<FakeGpuModel>(key, 100, [] { return std::make_shared<FakeGpuModel>(100); });
  const auto s = cache.stats();
  EXPECT_EQ(s.offloads, 2u);         // a, then b
  EXPECT_EQ(s.evictions, 1u);        // a, the older offloaded one, over the 150-byte host budget
  EXPECT_EQ(s.offloadedBytes, 100u);
  EXPECT_FALSE(cache.contains("a"));
  EXPECT_TRUE(cache.contains("b"));
}

TEST(ModelCache, AFailedRestoreDropsTheEntryAndReportsTheError) {
  ModelCache cache(budget(100, 1000));
  auto m1 = cache.getOrLoad<FakeGpuModel>("m1", 100, [] { return std::make_shared<FakeGpuModel>(100); });
  m1->failRestore = true;
  m1.reset();
  cache.getOrLoad<FakeGpuModel>("m2", 100, [] { return std::make_shared<FakeGpuModel>(100); });
  EXPECT_THROW(cache.getOrLoad<FakeGpuModel>("m1", 100, [] { return std::make_shared<FakeGpuModel>(100); }),
               std::runtime_error);
  EXPECT_FALSE(cache.contains("m1"));
  EXPECT_NE(cache.getOrLoad<FakeGpuModel>("m1", 100, [] { return std::make_shared<FakeGpuModel>(100); }), nullptr);
}

TEST(ModelCache, WithoutAnOffloadBudgetEntriesAreEvicted) {
  ModelCache cache(budget(100));
  cache.getOrLoad<FakeGpuModel>("a", 100, [] { return std::make_shared<FakeGpuModel>(100); });
  cache.getOrLoad<FakeGpuModel>("b", 100, [] { return std::make_shared<FakeGpuModel>(100); });
  EXPECT_EQ(cache.stats().offloads, 0u);
  EXPECT_EQ(cache.stats().evictions, 1u);
}

TEST(ModelCache, SetBudgetEvictsImmediately) {
  ModelCache cache;
  Counting c;
  c.get(cache, "a");
  c.get(cache, "b");
  cache.setBudget(100);
  EXPECT_FALSE(cache.contains("a"));
  EXPECT_EQ(cache.stats().budgetBytes, 100u);
}

TEST(ModelCache, GlobalIsOneInstance) {
  EXPECT_EQ(&ModelCache::global(), &ModelCache::global());
  EXPECT_GT(ModelCache::global().stats().budgetBytes, 0u);
}

TEST(ParseByteSize, UnitsAndErrors) {
  EXPECT_EQ(parseByteSize("1024"), 1024u);
  EXPECT_EQ(parseByteSize("8G"), 8ull << 30);
  EXPECT_EQ(parseByteSize("512MiB"), 512ull << 20);
  EXPECT_EQ(parseByteSize("1.5k"), 1536u);
  EXPECT_EQ(parseByteSize(" 2 TB "), 2ull << 40);
  for (const char* bad : {"", "G", "-1", "12Q", "abc", "nan"}) EXPECT_THROW(parseByteSize(bad), presence::core::InputError) << bad;
}

TEST(ModelKey, FilesSettingsAndChanges) {
  presence::runtime::test::TempDir dir;
  presence::runtime::test::writeBytes(dir / "w.safetensors", "12345678");
  const std::string k1 = ModelKey("dit").file(dir / "w.safetensors").set("device", "cpu").set("dtype", "f32");
  const std::string k2 = ModelKey("dit").set("dtype", "f32").file(dir.path() / "." / "w.safetensors").set("device", "cpu");
  EXPECT_EQ(k1, k2);  // settings order and path spelling do not matter
  EXPECT_NE(k1, ModelKey("vae").file(dir / "w.safetensors").set("device", "cpu").set("dtype", "f32").str());
  EXPECT_NE(k1, ModelKey("dit").file(dir / "w.safetensors").set("device", "cuda:0").set("dtype", "f32").str());
  EXPECT_NE(k1.find("w.safetensors"), std::string::npos);
  presence::runtime::test::writeBytes(dir / "w.safetensors", "123456789");  // replaced on disk
  EXPECT_NE(k1, ModelKey("dit").file(dir / "w.safetensors").set("device", "cpu").set("dtype", "f32").str());
  EXPECT_THROW(ModelKey().file(dir / "missing.safetensors"), presence::core::InputError);
}
