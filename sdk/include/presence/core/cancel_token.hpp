// Cooperative cancellation shared between a host and a run.
#pragma once

#include <atomic>
#include <memory>

namespace presence::core {

/// Set from any thread (a UI button, a signal handler: cancel() is async-signal-safe);
/// nodes see it at their next check and the executor starts nothing new.
class CancelToken {
 public:
  void cancel() noexcept { flag_.store(true, std::memory_order_relaxed); }
  bool cancelled() const noexcept { return flag_.load(std::memory_order_relaxed); }
  void reset() noexcept { flag_.store(false, std::memory_order_relaxed); }

 private:
  std::atomic<bool> flag_{false};
};

}  // namespace presence::core
