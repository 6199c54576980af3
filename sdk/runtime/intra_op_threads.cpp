#include "presence/runtime/intra_op_threads.hpp"

#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>

namespace presence::runtime {
namespace {

// One thread that runs the tasks handed to it, in order, for the life of the process. It is never
// joined: at exit it waits on its condition variable, and ending it from a static destructor
// would run LibTorch's thread-local destructors after LibTorch's own statics may be gone.
class IntraOpThread {
 public:
  IntraOpThread() : thread_([this] { loop(); }) {
    id_ = thread_.get_id();
    thread_.detach();
  }

  void run(const std::function<void()>& task) {
    if (std::this_thread::get_id() == id_) {  // a task that asks again: it is already here
      task();
      return;
    }
    std::mutex doneMutex;
    std::condition_variable doneSignal;
    bool done = false;
    std::exception_ptr failure;  // an exception must not end the thread: it reaches the caller
    {
      const std::lock_guard lock(mutex_);
      queue_.push_back([&] {
        try {
          task();
        } catch (...) {
          failure = std::current_exception();
        }
        const std::lock_guard doneLock(doneMutex);
        done = true;
        doneSignal.notify_one();
      });
    }
    wake_.notify_one();
    std::unique_lock doneLock(doneMutex);
    doneSignal.wait(doneLock, [&] { return done; });
    if (failure) std::rethrow_exception(failure);
  }

 private:
  [[noreturn]] void loop() {
    for (;;) {
      std::function<void()> next;
      {
        std::unique_lock lock(mutex_);
        wake_.wait(lock, [this] { return !queue_.empty(); });
        next = std::move(queue_.front());
        queue_.pop_front();
      }
      next();
    }
  }

  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_;
  std::thread::id id_;
  std::thread thread_;  // last: it starts once the members above exist
};

}  // namespace

void runOnIntraOpThread(const std::function<void()>& task) {
  static auto* const thread = new IntraOpThread();  // never destroyed, see IntraOpThread
  thread->run(task);
}

}  // namespace presence::runtime
