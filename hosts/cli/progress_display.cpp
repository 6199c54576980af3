#include "progress_display.hpp"

#include <unistd.h>

#include <cmath>

namespace presence::cli {

using Clock = std::chrono::steady_clock;

std::string formatDuration(double seconds) {
  char buffer[32];
  if (seconds < 1.0) std::snprintf(buffer, sizeof buffer, "%.0f ms", seconds * 1000.0);
  else if (seconds < 60.0) std::snprintf(buffer, sizeof buffer, "%.1f s", seconds);
  else std::snprintf(buffer, sizeof buffer, "%d:%02d", int(seconds) / 60, int(seconds) % 60);
  return buffer;
}

ProgressDisplay::ProgressDisplay(EventFormat format, std::FILE* out, std::FILE* err)
    : format_(format), out_(out), err_(err) {
  terminal_ = ::isatty(::fileno(err_)) != 0;
  if (format_ == EventFormat::Auto) format_ = EventFormat::Text;
}

void ProgressDisplay::clearLineLocked() {
  if (terminal_) std::fputs("\r\033[K", err_);
}

void ProgressDisplay::redrawLocked() {
  if (!terminal_ || running_.empty()) return;
  std::string line = "[" + std::to_string(done_) + "/" + std::to_string(total_) + "]";
  for (const auto& [node, r] : running_) {
    const double elapsed = std::chrono::duration<double>(Clock::now() - r.start).count();
    constexpr int width = 16;
    const int filled = static_cast<int>(std::round(r.progress * width));
    line += " " + node + " ";
    line += std::string(filled, '#') + std::string(width - filled, '.');
    char pct[16];
    std::snprintf(pct, sizeof pct, " %3.0f%%", r.progress * 100.0);
    line += pct;
    // An ETA is only meaningful for a node that has run a while and reported progress.
    if (r.progress > 0.02 && elapsed > 1.0) line += " ETA " + formatDuration(elapsed * (1.0 - r.progress) / r.progress);
    if (!r.message.empty()) line += " " + r.message;
  }
  clearLineLocked();
  std::fputs(line.substr(0, 200).c_str(), err_);
  std::fflush(err_);
}

void ProgressDisplay::onEvent(const core::Event& e) {
  using core::EventKind;
  std::lock_guard lock(mutex_);
  if (format_ == EventFormat::Json) {
    std::fputs((e.toJson().dump() + "\n").c_str(), out_);
    std::fflush(out_);
    return;
  }
  if (format_ == EventFormat::None) return;
  switch (e.kind) {
    case EventKind::RunStarted:
      total_ = e.total;
      done_ = 0;
      break;
    case EventKind::Started:
      running_[e.node] = Running{Clock::now(), 0.0, {}};
      if (!terminal_) std::fprintf(err_, "started   %s (%s)\n", e.node.c_str(), e.nodeType.c_str());
      redrawLocked();
      break;
    case EventKind::Progress: {
      auto it = running_.find(e.node);
      if (it == running_.end()) break;
      it->second.progress = e.progress;
      it->second.message = e.message;
      // Redraw at most ten times a second.
      if (Clock::now() - lastDraw_ > std::chrono::milliseconds(100)) {
        lastDraw_ = Clock::now();
        redrawLocked();
      }
      break;
    }
    case EventKind::Cached:
      clearLineLocked();
      std::fprintf(err_, "cached    %s (%s)\n", e.node.c_str(), e.nodeType.c_str());
      redrawLocked();
      break;
    case EventKind::Finished:
      ++done_;
      running_.erase(e.node);
      clearLineLocked();
      std::fprintf(err_, "finished  %s (%s) in %s\n", e.node.c_str(), e.nodeType.c_str(),
                   formatDuration(e.seconds).c_str());
      redrawLocked();
      break;
    case EventKind::Failed:
      running_.erase(e.node);
      clearLineLocked();
      std::fprintf(err_, "FAILED    %s: %s\n", e.node.c_str(), e.message.c_str());
      redrawLocked();
      break;
    case EventKind::Cancelled:
      running_.erase(e.node);
      clearLineLocked();
      std::fprintf(err_, "cancelled %s\n", e.node.c_str());
      break;
    case EventKind::Log:
      clearLineLocked();
      std::fprintf(err_, "          %s: %s\n", e.node.c_str(), e.message.c_str());
      redrawLocked();
      break;
    case EventKind::Preview:
    case EventKind::RunFinished:
      break;
  }
  std::fflush(err_);
}

void ProgressDisplay::finish() {
  std::lock_guard lock(mutex_);
  running_.clear();
  if (format_ == EventFormat::Text) clearLineLocked();
}

}  // namespace presence::cli
