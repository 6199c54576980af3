// Terminal display of a run: a live status line per running node with ETA, a line per
// finished node, and JSON-lines events for machines.
#pragma once

#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>

#include "presence/core/events.hpp"

namespace presence::cli {

enum class EventFormat { Auto, Text, Json, None };

class ProgressDisplay {
 public:
  /// Json writes one event object per line to `out`; Text writes lines to `err`; on a terminal
  /// Text also redraws a status line with bars.
  ProgressDisplay(EventFormat format, std::FILE* out, std::FILE* err);
  void onEvent(const core::Event& event);
  void finish();

 private:
  struct Running {
    std::chrono::steady_clock::time_point start;
    double progress = 0.0;
    std::string message;
  };
  void redrawLocked();
  void clearLineLocked();

  EventFormat format_;
  std::FILE* out_;
  std::FILE* err_;
  bool terminal_ = false;
  std::mutex mutex_;
  std::map<std::string, Running> running_;
  int total_ = 0, done_ = 0;
  std::chrono::steady_clock::time_point lastDraw_{};
};

std::string formatDuration(double seconds);

}  // namespace presence::cli
