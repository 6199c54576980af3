// LibTorch's intra-op CPU threads for one thread's scope (a node's run). LibTorch 1.13 as Debian
// builds it starts one OpenMP thread, which leaves a core of a 2-core machine idle while one node
// trains alone.
//
// OpenMP keeps the count per thread, but at::set_num_threads() also stores it as the value a
// thread takes when it first does LibTorch work. Left there, it would reach the executor's other
// workers that start meanwhile (a node running beside this one) and stay with them for every later
// node. So the guard puts that start value back at once, from a short-lived thread of its own,
// and only the calling thread keeps the count until the guard ends.
//
// More than one thread needs more: runWithIntraOpThreads(). libgomp keeps a pool of worker
// threads for every thread that ever ran a parallel region on more than one thread, for as long
// as that thread lives, and once the pools hold more threads than the machine has cores its
// workers spin far less before sleeping, so every small operator waits for a wake-up. The
// executor's workers live as long as the process: two-thread nodes on two of them, one after the
// other, left the later ones training bf16 about twice as slowly (docs/benchmarks.md, "One OpenMP
// pool at a time"). So all multi-threaded work runs on one long-lived thread, whose pool is the
// only one. (A thread started and ended for each node's run frees its pool too, but in the recipe
// oneDNN then failed to create a bf16 kernel on a later such thread: std::bad_array_new_length.)
#pragma once

#include <ATen/Parallel.h>
#include <ATen/ThreadLocalState.h>

#include <functional>
#include <optional>
#include <thread>
#include <type_traits>
#include <utility>

namespace presence::runtime {

class IntraOpThreads {
 public:
  /// threads ≤ 0: leave LibTorch's setting as it is.
  explicit IntraOpThreads(int threads) : before_(at::get_num_threads()) {
    if (threads <= 0 || threads == before_) return;
    at::set_num_threads(threads);
    changed_ = true;
    restoreStartValue();
  }
  ~IntraOpThreads() {
    if (changed_) at::set_num_threads(before_);
  }
  IntraOpThreads(const IntraOpThreads&) = delete;
  IntraOpThreads& operator=(const IntraOpThreads&) = delete;

 private:
  void restoreStartValue() const {
    const int value = before_;
    std::thread([value] { at::set_num_threads(value); }).join();
  }

  int before_;
  bool changed_ = false;
};

/// Runs `task` on the process's one intra-op thread, started on first use and alive until the
/// process ends, and waits for it; its exceptions reach the caller. Tasks from several callers
/// run one after the other; on that thread itself `task` runs at once.
void runOnIntraOpThread(const std::function<void()>& task);

/// Runs `work` with `threads` intra-op threads (0: LibTorch's setting) and returns its result.
/// More than one: on the intra-op thread (runOnIntraOpThread), with the caller's LibTorch
/// thread-local state (grad and inference mode); the caller waits, so `work` may use the caller's
/// locals, and its exceptions reach the caller. One: on the calling thread, which a single thread
/// leaves without a pool.
template <typename Work>
auto runWithIntraOpThreads(int threads, Work&& work) -> std::invoke_result_t<Work&> {
  using Result = std::invoke_result_t<Work&>;
  static_assert(!std::is_reference_v<Result>, "return a value: it is made on another thread");
  if ((threads > 0 ? threads : at::get_num_threads()) <= 1) {
    const IntraOpThreads guard(threads);
    return work();
  }
  const at::ThreadLocalState callerState;
  [[maybe_unused]] std::conditional_t<std::is_void_v<Result>, bool, std::optional<Result>> result{};
  runOnIntraOpThread([&] {
    const at::ThreadLocalStateGuard state(callerState);
    const IntraOpThreads guard(threads);
    if constexpr (std::is_void_v<Result>)
      work();
    else
      result.emplace(work());
  });
  if constexpr (!std::is_void_v<Result>) return std::move(*result);
}

}  // namespace presence::runtime
