// The executor's result cache: a least-recently-used cache within a byte budget.
#include <gtest/gtest.h>

#include <thread>

#include "presence/core/result_cache.hpp"

using namespace presence::core;

namespace {

/// A value whose byteSize() is exactly `bytes` (at least the payload's fixed overhead).
Value valueOfSize(std::size_t bytes) {
  const std::size_t overhead = Value::make(types::String, std::string()).byteSize();
  EXPECT_GE(bytes, overhead);
  auto v = Value::make(types::String, std::string(bytes - overhead, 'x'));
  EXPECT_EQ(v.byteSize(), bytes);
  return v;
}

std::vector<Value> entry(std::size_t bytes) { return {valueOfSize(bytes)}; }

}  // namespace

TEST(Value, SharesPayloadAndChecksType) {
  auto v = Value::make(types::Int, std::int64_t{42});
  EXPECT_FALSE(v.empty());
  EXPECT_EQ(v.type(), "INT");
  EXPECT_TRUE(v.holds<std::int64_t>());
  EXPECT_FALSE(v.holds<double>());
  EXPECT_EQ(v.as<std::int64_t>(), 42);
  EXPECT_THROW((void)v.as<std::string>(), Error);
  Value copy = v;
  EXPECT_EQ(&copy.as<std::int64_t>(), &v.as<std::int64_t>());  // no copy of the payload
  EXPECT_TRUE(Value().empty());
  EXPECT_THROW((void)Value().as<int>(), Error);
  ImageBatch image(2, 3, 4, 3);
  EXPECT_EQ(Value::make(types::Image, image).byteSize(), 2 * 3 * 4 * 3 * sizeof(float) + sizeof(ImageBatch));
}

TEST(ResultCache, FindAfterInsert) {
  ResultCache cache(1000);
  EXPECT_FALSE(cache.find(1).has_value());
  cache.insert(1, {Value::make(types::Int, std::int64_t{7}), Value::make(types::String, std::string("s"))});
  EXPECT_TRUE(cache.contains(1));
  auto found = cache.find(1);
  ASSERT_TRUE(found.has_value());
  ASSERT_EQ(found->size(), 2u);
  EXPECT_EQ((*found)[0].as<std::int64_t>(), 7);
  EXPECT_EQ((*found)[1].as<std::string>(), "s");
  EXPECT_FALSE(cache.contains(2));
}

TEST(ResultCache, BudgetRespected) {
  ResultCache cache(1000);
  for (std::uint64_t k = 0; k < 25; ++k) {
    cache.insert(k, entry(100));
    EXPECT_LE(cache.stats().bytes, 1000u);
  }
  const auto s = cache.stats();
  EXPECT_EQ(s.entries, 10u);
  EXPECT_EQ(s.bytes, 1000u);
  EXPECT_EQ(s.budgetBytes, 1000u);
  EXPECT_EQ(s.evictions, 15u);
  // The ten most recent survive.
  for (std::uint64_t k = 0; k < 15; ++k) EXPECT_FALSE(cache.contains(k)) << k;
  for (std::uint64_t k = 15; k < 25; ++k) EXPECT_TRUE(cache.contains(k)) << k;
}

TEST(ResultCache, EvictsLeastRecentlyUsedFirst) {
  ResultCache cache(300);
  cache.insert(1, entry(100));
  cache.insert(2, entry(100));
  cache.insert(3, entry(100));
  cache.insert(4, entry(100));  // evicts 1, the oldest
  EXPECT_FALSE(cache.contains(1));
  EXPECT_TRUE(cache.contains(2));
  cache.insert(5, entry(100));  // evicts 2
  EXPECT_FALSE(cache.contains(2));
  EXPECT_TRUE(cache.contains(3));
  EXPECT_TRUE(cache.contains(4));
  EXPECT_TRUE(cache.contains(5));
}

TEST(ResultCache, TouchingAnEntryProtectsIt) {
  ResultCache cache(300);
  cache.insert(1, entry(100));
  cache.insert(2, entry(100));
  cache.insert(3, entry(100));
  ASSERT_TRUE(cache.find(1).has_value());  // 1 becomes the most recent
  cache.insert(4, entry(100));              // so 2 goes
  EXPECT_TRUE(cache.contains(1));
  EXPECT_FALSE(cache.contains(2));
  EXPECT_TRUE(cache.contains(3));
  cache.insert(5, entry(100));  // then 3
  EXPECT_TRUE(cache.contains(1));
  EXPECT_FALSE(cache.contains(3));
}

TEST(ResultCache, ContainsDoesNotTouch) {
  ResultCache cache(200);
  cache.insert(1, entry(100));
  cache.insert(2, entry(100));
  EXPECT_TRUE(cache.contains(1));
  cache.insert(3, entry(100));
  EXPECT_FALSE(cache.contains(1));
  EXPECT_EQ(cache.stats().hits + cache.stats().misses, 0u);
}

TEST(ResultCache, LargeEntryEvictsSeveral) {
  ResultCache cache(300);
  cache.insert(1, entry(100));
  cache.insert(2, entry(100));
  cache.insert(3, entry(100));
  cache.insert(4, entry(250));
  EXPECT_TRUE(cache.contains(4));
  EXPECT_FALSE(cache.contains(1));
  EXPECT_FALSE(cache.contains(2));
  EXPECT_FALSE(cache.contains(3));
  EXPECT_EQ(cache.stats().evictions, 3u);
  EXPECT_EQ(cache.stats().bytes, 250u);
}

TEST(ResultCache, EntryLargerThanBudgetNotStored) {
  ResultCache cache(300);
  cache.insert(1, entry(100));
  cache.insert(2, entry(301));
  EXPECT_FALSE(cache.contains(2));
  EXPECT_TRUE(cache.contains(1));  // and nothing was evicted for it
  EXPECT_EQ(cache.stats().evictions, 0u);
  EXPECT_EQ(cache.stats().entries, 1u);
  cache.insert(3, entry(300));  // exactly the budget fits
  EXPECT_TRUE(cache.contains(3));
}

TEST(ResultCache, BudgetZeroStoresNothing) {
  ResultCache cache(0);
  cache.insert(1, entry(100));
  EXPECT_FALSE(cache.contains(1));
  EXPECT_EQ(cache.stats().entries, 0u);
  EXPECT_EQ(cache.stats().bytes, 0u);
}

TEST(ResultCache, ReinsertReplacesAndCountsOnce) {
  ResultCache cache(1000);
  cache.insert(1, entry(100));
  cache.insert(1, entry(200));
  const auto s = cache.stats();
  EXPECT_EQ(s.entries, 1u);
  EXPECT_EQ(s.bytes, 200u);
  EXPECT_EQ(cache.find(1)->front().byteSize(), 200u);
}

TEST(ResultCache, StatsCountHitsMissesEvictions) {
  ResultCache cache(200);
  cache.insert(1, entry(100));
  (void)cache.find(1);
  (void)cache.find(1);
  (void)cache.find(9);
  cache.insert(2, entry(100));
  cache.insert(3, entry(100));
  const auto s = cache.stats();
  EXPECT_EQ(s.hits, 2u);
  EXPECT_EQ(s.misses, 1u);
  EXPECT_EQ(s.evictions, 1u);
  EXPECT_EQ(s.entries, 2u);
  EXPECT_EQ(s.bytes, 200u);
}

TEST(ResultCache, ShrinkingBudgetEvictsOldest) {
  ResultCache cache(1000);
  for (std::uint64_t k = 1; k <= 5; ++k) cache.insert(k, entry(100));
  (void)cache.find(1);
  cache.setBudget(250);
  const auto s = cache.stats();
  EXPECT_EQ(s.budgetBytes, 250u);
  EXPECT_LE(s.bytes, 250u);
  EXPECT_EQ(s.entries, 2u);
  EXPECT_TRUE(cache.contains(1));  // touched last
  EXPECT_TRUE(cache.contains(5));
}

TEST(ResultCache, ClearEmptiesButKeepsBudget) {
  ResultCache cache(1000);
  cache.insert(1, entry(100));
  cache.clear();
  EXPECT_FALSE(cache.contains(1));
  EXPECT_EQ(cache.stats().entries, 0u);
  EXPECT_EQ(cache.stats().bytes, 0u);
  cache.insert(2, entry(100));
  EXPECT_TRUE(cache.contains(2));
  EXPECT_EQ(cache.stats().bytes, 100u);
}

TEST(ResultCache, EvictedValuesStayAliveForHolders) {
  ResultCache cache(100);
  cache.insert(1, {Value::make(types::String, std::string(40, 'a'))});
  auto held = cache.find(1);
  ASSERT_TRUE(held.has_value());
  cache.insert(2, entry(100));  // evicts 1
  EXPECT_FALSE(cache.contains(1));
  EXPECT_EQ((*held)[0].as<std::string>(), std::string(40, 'a'));
}

TEST(ResultCache, ConcurrentUseKeepsInvariants) {
  ResultCache cache(5000);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&, t] {
      for (std::uint64_t i = 0; i < 500; ++i) {
        cache.insert(t * 1000 + i, entry(100));
        (void)cache.find(t * 1000 + i / 2);
      }
    });
  for (auto& th : threads) th.join();
  const auto s = cache.stats();
  EXPECT_LE(s.bytes, 5000u);
  EXPECT_EQ(s.bytes, s.entries * 100);
  EXPECT_EQ(s.hits + s.misses, 2000u);
  EXPECT_EQ(s.entries + s.evictions, 2000u);
}
