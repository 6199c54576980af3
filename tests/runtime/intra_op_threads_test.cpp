// IntraOpThreads: a training node's thread count applies to its own thread while it runs, is
// undone afterwards, and reaches no other thread: neither one already running LibTorch work nor
// one that starts it meanwhile (an executor worker would keep it for every later node).
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <atomic>
#include <thread>

#include "presence/runtime/intra_op_threads.hpp"

namespace presence::runtime {
namespace {

TEST(IntraOpThreads, SetsTheCountForTheScopeAndRestoresIt) {
  const int before = at::get_num_threads();
  const int wanted = before == 2 ? 3 : 2;
  {
    const IntraOpThreads guard(wanted);
    EXPECT_EQ(at::get_num_threads(), wanted);  // what LibTorch's parallel regions use in this thread
  }
  EXPECT_EQ(at::get_num_threads(), before);
  {
    const IntraOpThreads unchanged(0);  // 0: LibTorch's setting as it is
    EXPECT_EQ(at::get_num_threads(), before);
  }
  EXPECT_EQ(at::get_num_threads(), before);
}

TEST(IntraOpThreads, ARunningThreadKeepsItsCount) {
  std::atomic<int> phase{0};
  int otherBefore = 0, otherDuring = 0;
  std::thread other([&] {
    at::ones({4}).sum();  // LibTorch work first, as a node running beside it has done
    otherBefore = at::get_num_threads();
    phase = 1;
    while (phase.load() < 2) std::this_thread::yield();
    otherDuring = at::get_num_threads();
    phase = 3;
  });
  while (phase.load() < 1) std::this_thread::yield();
  {
    const IntraOpThreads guard(otherBefore + 1);
    EXPECT_EQ(at::get_num_threads(), otherBefore + 1);
    phase = 2;
    while (phase.load() < 3) std::this_thread::yield();
  }
  other.join();
  EXPECT_EQ(otherDuring, otherBefore);
}

TEST(IntraOpThreads, AThreadStartingMeanwhileTakesTheStartValue) {
  const int before = at::get_num_threads();
  const IntraOpThreads guard(before + 1);
  int started = 0;
  std::thread([&] {
    at::ones({4}).sum();
    started = at::get_num_threads();
  }).join();
  EXPECT_EQ(started, before);
  EXPECT_EQ(at::get_num_threads(), before + 1);
}

}  // namespace
}  // namespace presence::runtime
