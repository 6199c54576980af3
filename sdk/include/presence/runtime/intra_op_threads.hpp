// LibTorch's intra-op CPU threads for one thread's scope (a node's run). LibTorch 1.13 as Debian
// builds it starts one OpenMP thread, which leaves a core of a 2-core machine idle while one node
// trains alone.
//
// OpenMP keeps the count per thread, but at::set_num_threads() also stores it as the value a
// thread takes when it first does LibTorch work. Left there, it would reach the executor's other
// workers that start meanwhile (a node running beside this one) and stay with them for every later
// node. So the guard puts that start value back at once, from a short-lived thread of its own,
// and only the calling thread keeps the count until the guard ends.
#pragma once

#include <ATen/Parallel.h>

#include <thread>

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

}  // namespace presence::runtime
