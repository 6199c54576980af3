#include "presence/core/executor.hpp"

#include <tbb/global_control.h>
#include <tbb/parallel_for_each.h>
#include <tbb/task_arena.h>
#include <xxhash.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <unordered_map>

#include "presence/core/error.hpp"
#include "presence/core/validation.hpp"

namespace presence::core {

std::string_view toString(RunStatus status) {
  switch (status) {
    case RunStatus::Succeeded: return "succeeded";
    case RunStatus::Failed: return "failed";
    case RunStatus::Cancelled: return "cancelled";
    case RunStatus::Invalid: return "invalid";
  }
  return "?";
}

const Value& RunResult::output(std::string_view node, std::string_view port) const {
  auto n = outputs.find(std::string(node));
  if (n == outputs.end()) throw Error("run result has no outputs of node '" + std::string(node) + "'");
  auto p = n->second.find(std::string(port));
  if (p == n->second.end())
    throw Error("run result has no output '" + std::string(port) + "' of node '" + std::string(node) + "'");
  return p->second;
}

namespace {

using Clock = std::chrono::steady_clock;
double secondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

/// Per-node bookkeeping for one run.
struct NodeState {
  const GraphNode* node = nullptr;
  const NodeDescriptor* descriptor = nullptr;
  nlohmann::json params;
  std::vector<int> sourceNode;  ///< per descriptor input: index of the source node, -1 unlinked
  std::vector<int> sourcePort;  ///< per descriptor input: output index on the source
  std::vector<int> consumers;   ///< nodes that link to this one (once each)
  std::uint64_t hash = 0;
  bool requested = false, wanted = false, execute = false, fromCache = false;
  std::vector<Value> outputs;
  std::atomic<int> pendingInputs{0};      ///< executing sources not finished yet
  std::atomic<int> pendingConsumers{0};   ///< executing consumers not finished yet
  std::atomic<bool> done{false};
};

void hashUpdate(XXH3_state_t* state, std::string_view text) {
  const std::uint64_t size = text.size();
  XXH3_64bits_update(state, &size, sizeof size);
  XXH3_64bits_update(state, text.data(), text.size());
}

}  // namespace

/// One run of a graph: planning, hashing, parallel execution. Lives only inside Executor::run.
class RunState {
 public:
  RunState(Executor& executor, const Graph& graph, const RunOptions& options)
      : executor_(executor), graph_(graph), options_(options),
        graphDirectory_(!options.graphDirectory.empty() ? options.graphDirectory
                        : !graph.directory.empty()      ? graph.directory
                                                        : std::filesystem::current_path()),
        outputDirectory_(options.outputDirectory) {}

  RunResult run();

 private:
  class Context;
  friend class Context;

  bool plan(RunResult& result);
  std::uint64_t hashNode(const NodeState& state) const;
  void executeNode(int index, RunResult& result);
  void emit(Event event) { executor_.emit(event); }
  bool cancelRequested() const { return options_.cancel && options_.cancel->cancelled(); }

  Executor& executor_;
  const Graph& graph_;
  const RunOptions& options_;
  std::filesystem::path graphDirectory_, outputDirectory_;
  std::vector<std::unique_ptr<NodeState>> states_;
  std::vector<int> order_;  ///< needed nodes, sources before consumers
  std::atomic<bool> stop_{false};
  std::mutex resultMutex_;
  std::atomic<int> executed_{0};
  std::vector<Event> cachedEvents_;  ///< found by plan(), reported once the run has started
};

class RunState::Context final : public NodeContext {
 public:
  Context(RunState& run, NodeState& state) : run_(run), state_(state) {}

  const NodeDescriptor& descriptor() const override { return *state_.descriptor; }
  const std::string& nodeId() const override { return state_.node->id; }

  bool hasInput(std::string_view port) const override { return inputIndex(port) >= 0 && sourceOf(port) >= 0; }
  const Value& input(std::string_view port) const override {
    const int i = inputIndex(port);
    if (i < 0) throw Error("node '" + nodeId() + "' asked for input '" + std::string(port) + "' its descriptor lacks");
    const int source = state_.sourceNode[i];
    if (source < 0) throw Error("node '" + nodeId() + "': optional input '" + std::string(port) + "' is not linked");
    return run_.states_[source]->outputs[state_.sourcePort[i]];
  }
  const nlohmann::json& param(std::string_view name) const override {
    auto it = state_.params.find(name);
    if (it == state_.params.end())
      throw Error("node '" + nodeId() + "' asked for parameter '" + std::string(name) + "' its descriptor lacks");
    return *it;
  }
  void setOutput(std::string_view port, Value value) override {
    const int i = state_.descriptor->outputIndex(port);
    if (i < 0) throw Error("node '" + nodeId() + "' set output '" + std::string(port) + "' its descriptor lacks");
    const auto& type = state_.descriptor->outputs[i].type;
    if (type != types::Any && value.type() != type)
      throw Error("node '" + nodeId() + "' set output '" + std::string(port) + "' to a " + value.type() +
                  " value; the descriptor says " + type);
    state_.outputs[i] = std::move(value);
  }
  void progress(double fraction, std::string_view message) override {
    Event e = base(EventKind::Progress);
    e.progress = std::clamp(fraction, 0.0, 1.0);
    e.message = std::string(message);
    run_.emit(std::move(e));
  }
  void preview(const Value& image) override {
    Event e = base(EventKind::Preview);
    e.preview = image;
    run_.emit(std::move(e));
  }
  void log(LogLevel level, std::string_view message) override {
    Event e = base(EventKind::Log);
    e.level = level;
    e.message = std::string(message);
    run_.emit(std::move(e));
  }
  bool cancelled() const override { return run_.cancelRequested(); }
  const std::filesystem::path& graphDirectory() const override { return run_.graphDirectory_; }
  const std::filesystem::path& outputDirectory() const override { return run_.outputDirectory_; }

 private:
  Event base(EventKind kind) const {
    Event e;
    e.kind = kind;
    e.node = state_.node->id;
    e.nodeType = state_.descriptor->id;
    return e;
  }
  int inputIndex(std::string_view port) const {
    const auto& inputs = state_.descriptor->inputs;
    for (std::size_t i = 0; i < inputs.size(); ++i)
      if (inputs[i].name == port) return static_cast<int>(i);
    return -1;
  }
  int sourceOf(std::string_view port) const { return state_.sourceNode[inputIndex(port)]; }

  RunState& run_;
  NodeState& state_;
};

std::uint64_t RunState::hashNode(const NodeState& state) const {
  XXH3_state_t* h = XXH3_createState();
  XXH3_64bits_reset(h);
  hashUpdate(h, state.descriptor->id);
  XXH3_64bits_update(h, &state.descriptor->version, sizeof state.descriptor->version);
  // json objects keep their keys sorted, so equal parameters dump to equal text.
  hashUpdate(h, state.params.dump());
  // A file a node reads is part of its inputs: its resolved path, size and time stamp.
  for (const auto& spec : state.descriptor->params) {
    if (spec.type != ParamType::Path) continue;
    const auto& value = state.params[spec.name];
    if (!value.is_string()) continue;
    std::string text = value.get<std::string>();
    std::size_t start = 0;
    while (start <= text.size()) {  // multiline Path parameters hold one path per line
      auto end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      std::filesystem::path p = text.substr(start, end - start);
      if (!p.empty()) {
        if (p.is_relative()) p = graphDirectory_ / p;
        hashUpdate(h, p.string());
        std::error_code ec;
        const auto size = std::filesystem::file_size(p, ec);
        const auto time = std::filesystem::last_write_time(p, ec).time_since_epoch().count();
        XXH3_64bits_update(h, &size, sizeof size);
        XXH3_64bits_update(h, &time, sizeof time);
      }
      start = end + 1;
    }
  }
  for (std::size_t i = 0; i < state.sourceNode.size(); ++i) {
    const std::int64_t marker[2] = {state.sourceNode[i] < 0 ? -1 : state.sourcePort[i], static_cast<std::int64_t>(i)};
    XXH3_64bits_update(h, marker, sizeof marker);
    if (state.sourceNode[i] >= 0) {
      const auto upstream = states_[state.sourceNode[i]]->hash;
      XXH3_64bits_update(h, &upstream, sizeof upstream);
    }
  }
  const auto digest = XXH3_64bits_digest(h);
  XXH3_freeState(h);
  return digest;
}

bool RunState::plan(RunResult& result) {
  const auto& registry = executor_.registry();
  std::unordered_map<std::string_view, int> index;
  states_.reserve(graph_.nodes.size());
  for (const auto& node : graph_.nodes) {
    auto s = std::make_unique<NodeState>();
    s->node = &node;
    s->descriptor = registry.find(node.type);
    s->params = resolvedParams(node, *s->descriptor);
    s->outputs.resize(s->descriptor->outputs.size());
    index.emplace(node.id, static_cast<int>(states_.size()));
    states_.push_back(std::move(s));
  }
  for (auto& s : states_) {
    const auto& inputs = s->descriptor->inputs;
    s->sourceNode.assign(inputs.size(), -1);
    s->sourcePort.assign(inputs.size(), -1);
    for (std::size_t i = 0; i < inputs.size(); ++i) {
      auto link = s->node->inputs.find(inputs[i].name);
      if (link == s->node->inputs.end()) continue;
      const int source = index.at(link->second.node);
      s->sourceNode[i] = source;
      s->sourcePort[i] = states_[source]->descriptor->outputIndex(link->second.port);
    }
  }
  // Which nodes were asked for.
  const auto& requested = !options_.outputs.empty() ? options_.outputs : graph_.outputs;
  bool requestsOk = true;
  for (const auto& o : requested) {
    const auto dot = o.rfind('.');
    const std::string nodeId = dot == std::string::npos ? o : o.substr(0, dot);
    auto it = index.find(nodeId);
    Diagnostic d;
    d.code = "unknown-output";
    d.node = nodeId;
    if (it == index.end()) {
      d.message = "requested output '" + o + "' names no node of the graph";
    } else if (dot != std::string::npos && !states_[it->second]->descriptor->findOutput(o.substr(dot + 1))) {
      d.port = o.substr(dot + 1);
      d.message = "requested output '" + o + "': '" + states_[it->second]->descriptor->id + "' has no such output";
    } else {
      states_[it->second]->requested = true;
      continue;
    }
    result.diagnostics.push_back(std::move(d));
    requestsOk = false;
  }
  if (!requestsOk) return false;
  if (requested.empty()) {
    bool any = false;
    for (auto& s : states_) any |= (s->requested = s->descriptor->sideEffects);
    if (!any) {  // nothing saves: compute every node nobody consumes
      std::vector<bool> consumed(states_.size(), false);
      for (auto& s : states_)
        for (int src : s->sourceNode)
          if (src >= 0) consumed[src] = true;
      for (std::size_t i = 0; i < states_.size(); ++i) states_[i]->requested = !consumed[i];
    }
  }
  // Needed nodes in dependency order (iterative depth-first post-order; the graph is acyclic).
  std::vector<char> mark(states_.size(), 0);
  for (std::size_t root = 0; root < states_.size(); ++root) {
    if (!states_[root]->requested || mark[root]) continue;
    std::vector<std::pair<int, std::size_t>> stack{{static_cast<int>(root), 0}};
    mark[root] = 1;
    while (!stack.empty()) {
      auto& [n, next] = stack.back();
      const auto& sources = states_[n]->sourceNode;
      if (next < sources.size()) {
        const int src = sources[next++];
        if (src >= 0 && !mark[src]) {
          mark[src] = 1;
          stack.emplace_back(src, 0);
        }
      } else {
        order_.push_back(n);
        stack.pop_back();
      }
    }
  }
  for (int n : order_) states_[n]->hash = hashNode(*states_[n]);
  // Walk consumers before sources: a cached node cuts off everything upstream of it.
  for (auto it = order_.rbegin(); it != order_.rend(); ++it) {
    NodeState& s = *states_[*it];
    if (!s.requested && !s.wanted) continue;
    if (!s.descriptor->sideEffects) {
      if (auto values = executor_.cache_.find(s.hash)) {
        s.outputs = std::move(*values);
        s.fromCache = true;
        ++result.cached;
        Event e;
        e.kind = EventKind::Cached;
        e.node = s.node->id;
        e.nodeType = s.descriptor->id;
        cachedEvents_.push_back(std::move(e));  // emitted after RunStarted
        continue;
      }
    }
    s.execute = true;
    for (int src : s.sourceNode)
      if (src >= 0) states_[src]->wanted = true;
  }
  for (int n : order_) {
    NodeState& s = *states_[n];
    if (!s.execute) continue;
    std::vector<int> seen;
    for (int src : s.sourceNode) {
      if (src < 0 || std::find(seen.begin(), seen.end(), src) != seen.end()) continue;
      seen.push_back(src);
      if (states_[src]->execute) s.pendingInputs.fetch_add(1, std::memory_order_relaxed);
      states_[src]->consumers.push_back(n);
      states_[src]->pendingConsumers.fetch_add(1, std::memory_order_relaxed);
    }
  }
  return true;
}

void RunState::executeNode(int index, RunResult& result) {
  NodeState& s = *states_[index];
  Event e;
  e.node = s.node->id;
  e.nodeType = s.descriptor->id;
  if (stop_.load() || cancelRequested()) {
    if (cancelRequested()) stop_ = true;
    return;  // counted as skipped
  }
  e.kind = EventKind::Started;
  emit(e);
  const auto start = Clock::now();
  Diagnostic failure;
  bool failed = false, cancelled = false;
  try {
    auto node = executor_.registry().create(s.descriptor->id);
    Context ctx(*this, s);
    node->execute(ctx);
    for (std::size_t i = 0; i < s.outputs.size(); ++i)
      if (s.outputs[i].empty())
        throw Error("it finished without setting output '" + s.descriptor->outputs[i].name + "'");
  } catch (const Cancelled&) {
    cancelled = true;
  } catch (const ParamError& error) {
    failed = true;
    failure.param = error.param();
    failure.message = error.what();
  } catch (const std::exception& error) {
    failed = true;
    failure.message = error.what();
  } catch (...) {
    failed = true;
    failure.message = "it threw something that is not a std::exception";
  }
  e.seconds = secondsSince(start);
  if (cancelled) {
    stop_ = true;
    e.kind = EventKind::Cancelled;
    emit(e);
    return;
  }
  if (failed) {
    stop_ = true;
    failure.code = "node-failed";
    failure.node = s.node->id;
    failure.message = "(" + s.descriptor->id + ") " + failure.message;
    e.kind = EventKind::Failed;
    e.message = failure.message;
    emit(e);
    std::lock_guard lock(resultMutex_);
    result.diagnostics.push_back(std::move(failure));
    return;
  }
  if (!s.descriptor->sideEffects) executor_.cache_.insert(s.hash, s.outputs);
  s.done = true;
  executed_.fetch_add(1);
  e.kind = EventKind::Finished;
  emit(e);
  // Inputs no longer needed by anyone in this run are released (the cache keeps its share).
  // plan() counted this node once per source, however many of its inputs that source feeds.
  std::vector<int> released;
  for (int src : s.sourceNode) {
    if (src < 0 || std::find(released.begin(), released.end(), src) != released.end()) continue;
    released.push_back(src);
    NodeState& source = *states_[src];
    if (source.pendingConsumers.fetch_sub(1) == 1 && !source.requested) source.outputs.assign(source.outputs.size(), Value());
  }
}

RunResult RunState::run() {
  RunResult result;
  const auto start = Clock::now();
  auto finishInvalid = [&] {
    result.status = RunStatus::Invalid;
    Event e;
    e.kind = EventKind::RunFinished;
    e.message = std::string(toString(result.status));
    emit(std::move(e));
    return result;
  };
  result.diagnostics = validateGraph(graph_, executor_.registry());
  if (hasErrors(result.diagnostics)) return finishInvalid();
  if (!plan(result)) return finishInvalid();
  std::vector<int> roots;
  int toExecute = 0;
  for (int n : order_) {
    if (!states_[n]->execute) continue;
    ++toExecute;
    if (states_[n]->pendingInputs.load() == 0) roots.push_back(n);
  }
  {
    Event e;
    e.kind = EventKind::RunStarted;
    e.total = toExecute;
    emit(std::move(e));
  }
  for (auto& e : cachedEvents_) emit(std::move(e));
  auto body = [&](int n, tbb::feeder<int>& feeder) {
    executeNode(n, result);
    if (!states_[n]->done) return;
    for (int consumer : states_[n]->consumers)
      if (states_[consumer]->execute && states_[consumer]->pendingInputs.fetch_sub(1) == 1) feeder.add(consumer);
  };
  const int parallel = executor_.options_.maxParallelNodes;
  if (toExecute == 1 || parallel == 1) {
    // Run in order on this thread: no task-scheduling cost for chains and single nodes.
    for (int n : order_)
      if (states_[n]->execute && !stop_) {
        executeNode(n, result);
        if (!states_[n]->done) break;
      }
  } else if (parallel > 0) {
    tbb::task_arena arena(parallel);
    arena.execute([&] { tbb::parallel_for_each(roots.begin(), roots.end(), body); });
  } else {
    tbb::parallel_for_each(roots.begin(), roots.end(), body);
  }
  result.executed = executed_.load();
  result.skipped = toExecute - result.executed;  // failed, cancelled or never started
  if (hasErrors(result.diagnostics)) {
    result.status = RunStatus::Failed;
  } else if (result.executed < toExecute) {
    result.status = RunStatus::Cancelled;
  }
  for (int n : order_) {
    NodeState& s = *states_[n];
    if (s.done) {
      for (std::size_t i = 0; i < s.outputs.size(); ++i)
        if (s.descriptor->outputs[i].type == types::Files && !s.outputs[i].empty() && s.outputs[i].holds<FileList>())
          for (const auto& p : s.outputs[i].as<FileList>().paths) result.filesWritten.push_back(p);
    }
    if (!s.requested || !(s.done || s.fromCache)) continue;
    auto& outs = result.outputs[s.node->id];
    for (std::size_t i = 0; i < s.outputs.size(); ++i) outs[s.descriptor->outputs[i].name] = s.outputs[i];
  }
  result.seconds = secondsSince(start);
  Event e;
  e.kind = EventKind::RunFinished;
  e.seconds = result.seconds;
  e.message = std::string(toString(result.status));
  emit(std::move(e));
  return result;
}

Executor::Executor(const NodeRegistry& registry, ExecutorOptions options)
    : registry_(registry), options_(options), cache_(options.cacheBudgetBytes) {}

Executor::~Executor() = default;

RunResult Executor::run(const Graph& graph, const RunOptions& options) {
  std::lock_guard lock(runMutex_);
  try {
    RunState state(*this, graph, options);
    return state.run();
  } catch (const std::exception& error) {  // a bug, not a node's failure: still never a crash
    RunResult result;
    result.status = RunStatus::Failed;
    Diagnostic d;
    d.code = "internal-error";
    d.message = std::string("internal error: ") + error.what();
    result.diagnostics.push_back(std::move(d));
    return result;
  }
}

int Executor::addListener(EventListener listener) {
  std::lock_guard lock(listenerMutex_);
  listeners_.emplace(nextListenerId_, std::move(listener));
  return nextListenerId_++;
}

void Executor::removeListener(int id) {
  std::lock_guard lock(listenerMutex_);
  listeners_.erase(id);
}

void Executor::emit(const Event& event) {
  std::lock_guard lock(listenerMutex_);
  for (auto& [id, listener] : listeners_) {
    try {
      listener(event);
    } catch (...) {  // a host's listener must not break a run
    }
  }
}

}  // namespace presence::core
