// Structured execution events, delivered to any number of listeners.
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <string>

#include "presence/core/node.hpp"
#include "presence/core/value.hpp"

namespace presence::core {

enum class EventKind {
  RunStarted,   ///< before anything runs; `total` = nodes to execute
  Started,      ///< a node began
  Progress,     ///< a node reported progress (`progress` 0..1, `message`)
  Preview,      ///< a node emitted a preview (`preview`)
  Log,          ///< a node logged (`level`, `message`)
  Cached,       ///< a node's outputs came from the cache; it did not run
  Finished,     ///< a node finished (`seconds`)
  Failed,       ///< a node failed (`message`)
  Cancelled,    ///< a node stopped because the run was cancelled
  RunFinished,  ///< after everything; `message` = "succeeded" | "failed" | "cancelled"
};

std::string_view toString(EventKind kind);

struct Event {
  EventKind kind = EventKind::Started;
  std::string node;      ///< graph node id (empty for run events)
  std::string nodeType;  ///< descriptor id
  double progress = 0.0;
  double seconds = 0.0;  ///< node: time it ran; RunFinished: whole run
  int total = 0;         ///< RunStarted: nodes to execute
  LogLevel level = LogLevel::Info;
  std::string message;
  Value preview;

  /// One JSON object (for `--events json`): {"event":"progress","node":...,"progress":0.5,...}
  nlohmann::json toJson() const;
};

/// Called from executor worker threads, one event at a time (calls are serialised). A listener
/// must not call back into the executor that is running.
using EventListener = std::function<void(const Event&)>;

}  // namespace presence::core
