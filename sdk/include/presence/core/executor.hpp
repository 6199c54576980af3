// The executor: plans from requested outputs, hashes, reuses cached results, runs independent
// branches in parallel, reports events, and turns node errors into diagnostics.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "presence/core/cancel_token.hpp"
#include "presence/core/diagnostic.hpp"
#include "presence/core/events.hpp"
#include "presence/core/graph.hpp"
#include "presence/core/registry.hpp"
#include "presence/core/result_cache.hpp"

namespace presence::core {

struct ExecutorOptions {
  std::size_t cacheBudgetBytes = std::size_t(2) << 30;  ///< 2 GiB
  int maxParallelNodes = 0;  ///< 0: as many as the machine has cores
};

struct RunOptions {
  /// Overrides Graph::outputs when not empty ("node" or "node.port").
  std::vector<std::string> outputs;
  std::filesystem::path outputDirectory = ".";
  /// Overrides Graph::directory when not empty.
  std::filesystem::path graphDirectory;
  std::shared_ptr<CancelToken> cancel;  ///< optional
};

enum class RunStatus { Succeeded, Failed, Cancelled, Invalid };
std::string_view toString(RunStatus status);

struct RunResult {
  RunStatus status = RunStatus::Succeeded;
  Diagnostics diagnostics;
  /// Outputs of the requested nodes: node id -> port name -> value.
  std::map<std::string, std::map<std::string, Value>> outputs;
  std::vector<std::string> filesWritten;  ///< from every FILES output that was computed
  int executed = 0, cached = 0, skipped = 0;
  double seconds = 0.0;

  bool ok() const { return status == RunStatus::Succeeded; }
  const Value& output(std::string_view node, std::string_view port) const;
};

/// One executor per host session. run() may be called repeatedly; results are reused across
/// runs through the cache, so an interactive host that changes one parameter re-runs only the
/// nodes downstream of it. run() is not re-entrant: one run at a time per executor.
class Executor {
 public:
  explicit Executor(const NodeRegistry& registry, ExecutorOptions options = {});
  ~Executor();

  /// Validates, plans and executes. Never throws for a problem in the graph or a node; those
  /// come back as diagnostics with status Invalid or Failed.
  RunResult run(const Graph& graph, const RunOptions& options = {});

  /// Returns an id for removeListener. Thread-safe.
  int addListener(EventListener listener);
  void removeListener(int id);

  ResultCache& cache() { return cache_; }
  const NodeRegistry& registry() const { return registry_; }

 private:
  friend class RunState;
  void emit(const Event& event);

  const NodeRegistry& registry_;
  ExecutorOptions options_;
  ResultCache cache_;
  std::mutex listenerMutex_;
  std::map<int, EventListener> listeners_;
  int nextListenerId_ = 1;
  std::mutex runMutex_;
};

}  // namespace presence::core
