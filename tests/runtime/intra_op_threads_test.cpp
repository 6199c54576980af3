// IntraOpThreads: a training node's thread count applies to its own thread while it runs, is
// undone afterwards, and reaches no other thread: neither one already running LibTorch work nor
// one that starts it meanwhile (an executor worker would keep it for every later node).
// runWithIntraOpThreads: more than one thread runs on the one intra-op thread, with the caller's
// LibTorch state, so the callers keep no OpenMP pools of their own (pools outnumbering the cores
// slow them all).
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <iterator>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

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

// Threads of this process now.
int processThreads() {
  const std::filesystem::directory_iterator tasks("/proc/self/task");
  return static_cast<int>(std::distance(begin(tasks), end(tasks)));
}

// Waits (up to 2 s) for the process's thread count to come down to `count`: exiting OpenMP
// workers leave a moment after their pool's owner.
int threadsSettlingAt(int count) {
  int now = processThreads();
  for (int i = 0; i < 40 && now > count; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    now = processThreads();
  }
  return now;
}

// The process's thread count once it has stayed the same for 150 ms (up to 3 s).
int settledThreads() {
  int last = processThreads(), same = 0;
  for (int i = 0; i < 60 && same < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    const int now = processThreads();
    same = now == last ? same + 1 : 0;
    last = now;
  }
  return last;
}

// Large enough for LibTorch to split over its intra-op threads.
void parallelWork() { (at::ones({1 << 21}) * 2.0).sum().item<double>(); }

TEST(RunWithIntraOpThreads, RunsWithTheCountAndReturnsTheResult) {
  const int before = at::get_num_threads();
  const int wanted = before == 2 ? 3 : 2;
  const int seen = runWithIntraOpThreads(wanted, [] { return at::get_num_threads(); });
  EXPECT_EQ(seen, wanted);
  EXPECT_EQ(at::get_num_threads(), before);
  bool ran = false;
  runWithIntraOpThreads(0, [&] { ran = at::get_num_threads() == before; });  // on this thread, as it is
  EXPECT_TRUE(ran);
}

TEST(RunWithIntraOpThreads, TheCallersFailureAndGradModeCarryOver) {
  EXPECT_THROW(runWithIntraOpThreads(2, []() -> int { throw std::invalid_argument("bad crop_size"); }),
               std::invalid_argument);
  EXPECT_THROW(runOnIntraOpThread([] { throw std::out_of_range("task"); }), std::out_of_range);
  EXPECT_EQ(runWithIntraOpThreads(2, [] { return 5; }), 5) << "the intra-op thread survives a failed task";
  {
    const at::NoGradGuard noGrad;
    EXPECT_FALSE(runWithIntraOpThreads(2, [] { return at::GradMode::is_enabled(); }));
  }
  EXPECT_TRUE(runWithIntraOpThreads(2, [] { return at::GradMode::is_enabled(); }));
}

// Threads of the process while a long-lived thread (an executor's worker) is idle, and once
// settled after it has run `nodeRun` and is still alive.
std::pair<int, int> threadsAroundAWorkersRun(const std::function<void()>& nodeRun) {
  std::atomic<int> phase{0};
  std::thread worker([&] {
    phase = 1;
    while (phase.load() < 2) std::this_thread::yield();
    nodeRun();
    phase = 3;
    while (phase.load() < 4) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  });
  while (phase.load() < 1) std::this_thread::yield();
  const int idle = settledThreads();
  phase = 2;
  while (phase.load() < 3) std::this_thread::yield();
  const int after = threadsSettlingAt(idle);
  phase = 4;
  worker.join();
  return {idle, after};
}

TEST(RunWithIntraOpThreads, OneLongLivedThreadHoldsTheOnlyPool) {
  const auto first = runWithIntraOpThreads(2, [] {
    parallelWork();
    return std::this_thread::get_id();
  });
  std::thread::id second;
  std::thread([&] { second = runWithIntraOpThreads(2, [] { return std::this_thread::get_id(); }); }).join();
  EXPECT_EQ(first, second);
  EXPECT_NE(first, std::this_thread::get_id());
  EXPECT_EQ(runWithIntraOpThreads(2, [] { return runWithIntraOpThreads(3, [] { return at::get_num_threads(); }); }), 3)
      << "a task that asks again runs at once";

  // A long-lived caller (an executor's worker) is left without a pool after its run.
  const auto [idle, after] = threadsAroundAWorkersRun([] { runWithIntraOpThreads(2, parallelWork); });
  EXPECT_EQ(after, idle);

  // What it avoids: with GNU OpenMP (other runtimes share one pool), a thread that ran two threads
  // itself keeps a pool worker for as long as it lives.
  if (dlsym(RTLD_DEFAULT, "GOMP_parallel") == nullptr) GTEST_SKIP() << "not libgomp: " << at::get_parallel_info();
  const auto [idleToo, kept] = threadsAroundAWorkersRun([] {
    const IntraOpThreads guard(2);
    parallelWork();
  });
  EXPECT_EQ(kept, idleToo + 1);
}

}  // namespace
}  // namespace presence::runtime
