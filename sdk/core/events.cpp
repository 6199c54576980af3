#include "presence/core/events.hpp"

namespace presence::core {

std::string_view toString(EventKind kind) {
  switch (kind) {
    case EventKind::RunStarted: return "run_started";
    case EventKind::Started: return "started";
    case EventKind::Progress: return "progress";
    case EventKind::Preview: return "preview";
    case EventKind::Log: return "log";
    case EventKind::Cached: return "cached";
    case EventKind::Finished: return "finished";
    case EventKind::Failed: return "failed";
    case EventKind::Cancelled: return "cancelled";
    case EventKind::RunFinished: return "run_finished";
  }
  return "?";
}

namespace {
std::string_view levelName(LogLevel level) {
  switch (level) {
    case LogLevel::Debug: return "debug";
    case LogLevel::Info: return "info";
    case LogLevel::Warning: return "warning";
    case LogLevel::Error: return "error";
  }
  return "info";
}
}  // namespace

nlohmann::json Event::toJson() const {
  nlohmann::json j{{"event", toString(kind)}};
  if (!node.empty()) j["node"] = node;
  if (!nodeType.empty()) j["type"] = nodeType;
  switch (kind) {
    case EventKind::RunStarted: j["total"] = total; break;
    case EventKind::Progress: j["progress"] = progress; break;
    case EventKind::Log: j["level"] = levelName(level); break;
    case EventKind::Finished:
    case EventKind::RunFinished: j["seconds"] = seconds; break;
    case EventKind::Preview:
      if (!preview.empty() && preview.holds<ImageBatch>()) {
        const auto& image = preview.as<ImageBatch>();
        j["preview"] = {{"width", image.width}, {"height", image.height}, {"count", image.count}};
      }
      break;
    default: break;
  }
  if (!message.empty()) j["message"] = message;
  return j;
}

}  // namespace presence::core
