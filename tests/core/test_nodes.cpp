#include "test_nodes.hpp"

#include <atomic>
#include <condition_variable>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "presence/core/atomic_file.hpp"
#include "presence/core/error.hpp"

namespace presence::test {

using namespace presence::core;

namespace {

std::mutex countersMutex;
std::map<std::string, int> counters;

void recordExecution(const NodeContext& ctx) {
  std::lock_guard lock(countersMutex);
  ++counters[ctx.nodeId()];
}

// Barrier shared by every test.barrier node of a process.
std::mutex barrierMutex;
std::condition_variable barrierCv;
int barrierRunning = 0;
int barrierPeakValue = 0;

Value intValue(std::int64_t v) { return Value::make(types::Int, v); }
Value textValue(std::string v) { return Value::make(types::String, std::move(v)); }

class ConstIntNode final : public Node {
 public:
  void execute(NodeContext& ctx) override {
    recordExecution(ctx);
    ctx.setOutput("value", intValue(ctx.paramInt("value")));
  }
};

class AddNode final : public Node {
 public:
  void execute(NodeContext& ctx) override {
    recordExecution(ctx);
    ctx.setOutput("sum", intValue(ctx.inputAs<std::int64_t>("a") + ctx.inputAs<std::int64_t>("b")));
  }
};

class TextNode final : public Node {
 public:
  void execute(NodeContext& ctx) override {
    recordExecution(ctx);
    ctx.setOutput("text", textValue(ctx.paramString("text")));
  }
};

class ConcatNode final : public Node {
 public:
  void execute(NodeContext& ctx) override {
    recordExecution(ctx);
    std::string text = ctx.inputAs<std::string>("a");
    if (ctx.hasInput("b")) text += ctx.inputAs<std::string>("b");
    ctx.setOutput("text", textValue(text));
  }
};

class PairNode final : public Node {
 public:
  void execute(NodeContext& ctx) override {
    recordExecution(ctx);
    ctx.setOutput("first", intValue(ctx.paramInt("value")));
    ctx.setOutput("second", textValue(std::to_string(ctx.paramInt("value"))));
  }
};

class ParamsNode final : public Node {
 public:
  void execute(NodeContext& ctx) override {
    recordExecution(ctx);
    ctx.setOutput("value", intValue(ctx.paramInt("count")));
  }
};

class ThrowNode final : public Node {
 public:
  void execute(NodeContext& ctx) override {
    recordExecution(ctx);
    if (ctx.hasInput("after")) (void)ctx.input("after");
    throw std::runtime_error(ctx.paramString("message"));
  }
};

class FailParamNode final : public Node {
 public:
  void execute(NodeContext& ctx) override {
    recordExecution(ctx);
    ctx.fail("path", "no such file: " + ctx.paramString("path"));
  }
};

class SleepNode final : public Node {
 public:
  void execute(NodeContext& ctx) override {
    recordExecution(ctx);
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ctx.paramInt("ms"));
    while (std::chrono::steady_clock::now() < until) {
      ctx.throwIfCancelled();
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ctx.progress(1.0, "slept");
    // The input is read only after sleeping, so a test can check it is still there late in a run.
    const std::int64_t value = ctx.hasInput("in") ? ctx.inputAs<std::int64_t>("in") : 0;
    ctx.setOutput("value", intValue(value + 1));
  }
};

class BarrierNode final : public Node {
 public:
  void execute(NodeContext& ctx) override {
    recordExecution(ctx);
    const auto parties = ctx.paramInt("parties");
    const auto timeout = std::chrono::milliseconds(ctx.paramInt("timeout_ms"));
    std::unique_lock lock(barrierMutex);
    ++barrierRunning;
    barrierPeakValue = std::max(barrierPeakValue, barrierRunning);
    barrierCv.notify_all();
    const bool met = barrierCv.wait_for(lock, timeout, [&] { return barrierPeakValue >= parties; });
    --barrierRunning;
    if (!met)
      throw std::runtime_error("barrier timed out: only " + std::to_string(barrierPeakValue) + " of " +
                               std::to_string(parties) + " ran at once");
    ctx.setOutput("value", intValue(barrierPeakValue));
  }
};

class ReadFileNode final : public Node {
 public:
  void execute(NodeContext& ctx) override {
    recordExecution(ctx);
    const auto path = ctx.inputPath("path");
    std::ifstream in(path, std::ios::binary);
    if (!in) ctx.fail("path", "cannot open '" + path.string() + "'");
    std::stringstream buffer;
    buffer << in.rdbuf();
    ctx.setOutput("text", textValue(buffer.str()));
  }
};

class BlobNode final : public Node {
 public:
  void execute(NodeContext& ctx) override {
    recordExecution(ctx);
    ctx.setOutput("blob", textValue(std::string(static_cast<std::size_t>(ctx.paramInt("bytes")), 'x')));
  }
};

class SaveNode final : public Node {
 public:
  void execute(NodeContext& ctx) override {
    recordExecution(ctx);
    const auto target = ctx.outputDirectory() / ctx.paramString("filename");
    AtomicFile file(target);
    {
      std::ofstream out(file.tempPath(), std::ios::binary);
      if (ctx.hasInput("value")) out << ctx.inputAs<std::int64_t>("value");
      if (ctx.hasInput("text")) out << ctx.inputAs<std::string>("text");
    }
    ctx.throwIfCancelled();
    file.commit();
    ctx.setOutput("files", Value::make(types::Files, FileList{{target.string()}}));
  }
};

// Breaks the node contract in the way its `mode` parameter names.
class MisbehaveNode final : public Node {
 public:
  void execute(NodeContext& ctx) override {
    recordExecution(ctx);
    const auto mode = ctx.paramString("mode");
    if (mode == "nothing") return;  // sets no output
    if (mode == "wrong_type") ctx.setOutput("value", textValue("not an int"));
    if (mode == "unknown_port") ctx.setOutput("nope", intValue(1));
    if (mode == "unknown_param") (void)ctx.param("nope");
    if (mode == "unlinked_input") (void)ctx.input("in");
    if (mode == "not_std_exception") throw 42;
    ctx.setOutput("value", intValue(0));
  }
};

// Reports progress, a log line and a preview image.
class ChattyNode final : public Node {
 public:
  void execute(NodeContext& ctx) override {
    recordExecution(ctx);
    ctx.progress(0.5, "half way");
    ctx.progress(7.0, "clamped");
    ctx.log(LogLevel::Warning, "careful");
    ctx.preview(Value::make(types::Image, ImageBatch(1, 4, 6, 3)));
    ctx.setOutput("value", intValue(1));
  }
};

PortSpec port(std::string name, std::string_view type, bool optional = false) {
  PortSpec p;
  p.name = std::move(name);
  p.type = std::string(type);
  p.optional = optional;
  return p;
}

ParamSpec param(std::string name, ParamType type, nlohmann::json defaultValue) {
  ParamSpec p;
  p.name = std::move(name);
  p.type = type;
  p.defaultValue = std::move(defaultValue);
  return p;
}

ParamSpec intParam(std::string name, std::int64_t defaultValue, double min, double max) {
  auto p = param(std::move(name), ParamType::Int, defaultValue);
  p.min = min;
  p.max = max;
  return p;
}

NodeDescriptor descriptor(std::string id, std::string comfyName) {
  NodeDescriptor d;
  d.id = std::move(id);
  d.comfyName = std::move(comfyName);
  d.displayName = d.id;
  d.category = "testing";
  return d;
}

}  // namespace

void registerTestNodes(NodeRegistry& registry) {
  {
    auto d = descriptor("test.const_int", "TestConstInt");
    d.params = {intParam("value", 0, -1000, 1000)};
    d.outputs = {port("value", types::Int)};
    registry.add<ConstIntNode>(d);
  }
  {
    auto d = descriptor("test.add", "TestAdd");
    d.inputs = {port("a", types::Int), port("b", types::Int)};
    d.outputs = {port("sum", types::Int)};
    registry.add<AddNode>(d);
  }
  {
    auto d = descriptor("test.text", "TestText");
    d.params = {param("text", ParamType::String, "")};
    d.outputs = {port("text", types::String)};
    registry.add<TextNode>(d);
  }
  {
    auto d = descriptor("test.concat", "TestConcat");
    d.inputs = {port("a", types::String), port("b", types::String, true)};
    d.outputs = {port("text", types::String)};
    registry.add<ConcatNode>(d);
  }
  {
    auto d = descriptor("test.pair", "TestPair");
    d.params = {intParam("value", 0, -1000, 1000)};
    d.outputs = {port("first", types::Int), port("second", types::String)};
    registry.add<PairNode>(d);
  }
  {
    auto d = descriptor("test.params", "TestParams");
    auto gain = param("gain", ParamType::Float, 0.5);
    gain.min = 0.0;
    gain.max = 1.0;
    auto mode = param("mode", ParamType::Enum, "fast");
    mode.options = {"fast", "slow"};
    d.params = {intParam("count", 1, 1, 10), gain, param("flag", ParamType::Bool, false), mode,
                param("label", ParamType::String, "")};
    d.outputs = {port("value", types::Int)};
    registry.add<ParamsNode>(d);
  }
  {
    auto d = descriptor("test.throw", "TestThrow");
    d.inputs = {port("after", types::Int, true)};
    d.params = {param("message", ParamType::String, "deliberate failure")};
    d.outputs = {port("value", types::Int)};
    registry.add<ThrowNode>(d);
  }
  {
    auto d = descriptor("test.fail_param", "TestFailParam");
    d.params = {param("path", ParamType::Path, "missing.txt")};
    d.outputs = {port("value", types::Int)};
    registry.add<FailParamNode>(d);
  }
  {
    auto d = descriptor("test.sleep", "TestSleep");
    d.inputs = {port("in", types::Int, true)};
    d.params = {intParam("ms", 10, 0, 60000)};
    d.outputs = {port("value", types::Int)};
    registry.add<SleepNode>(d);
  }
  {
    auto d = descriptor("test.barrier", "TestBarrier");
    d.params = {intParam("parties", 2, 1, 64), intParam("timeout_ms", 5000, 1, 60000),
                intParam("tag", 0, 0, 1000000)};
    d.outputs = {port("value", types::Int)};
    registry.add<BarrierNode>(d);
  }
  {
    auto d = descriptor("test.read_file", "TestReadFile");
    d.params = {param("path", ParamType::Path, "")};
    d.outputs = {port("text", types::String)};
    registry.add<ReadFileNode>(d);
  }
  {
    auto d = descriptor("test.blob", "TestBlob");
    d.params = {intParam("bytes", 16, 0, 100000000)};
    d.outputs = {port("blob", types::String)};
    registry.add<BlobNode>(d);
  }
  {
    auto d = descriptor("test.misbehave", "TestMisbehave");
    d.inputs = {port("in", types::Int, true)};
    auto mode = param("mode", ParamType::Enum, "nothing");
    mode.options = {"nothing", "wrong_type", "unknown_port", "unknown_param", "unlinked_input",
                    "not_std_exception", "fine"};
    d.params = {mode};
    d.outputs = {port("value", types::Int)};
    registry.add<MisbehaveNode>(d);
  }
  {
    auto d = descriptor("test.chatty", "TestChatty");
    d.outputs = {port("value", types::Int)};
    registry.add<ChattyNode>(d);
  }
  {
    auto d = descriptor("test.save", "TestSave");
    d.sideEffects = true;
    d.inputs = {port("value", types::Int, true), port("text", types::String, true)};
    d.params = {param("filename", ParamType::String, "out.txt")};
    d.outputs = {port("files", types::Files)};
    registry.add<SaveNode>(d);
  }
}

const NodeRegistry& testRegistry() {
  static const NodeRegistry* registry = [] {
    auto* r = new NodeRegistry;
    registerTestNodes(*r);
    return r;
  }();
  return *registry;
}

int executions(const std::string& nodeId) {
  std::lock_guard lock(countersMutex);
  auto it = counters.find(nodeId);
  return it == counters.end() ? 0 : it->second;
}

void resetExecutions() {
  std::lock_guard lock(countersMutex);
  counters.clear();
}

int barrierPeak() {
  std::lock_guard lock(barrierMutex);
  return barrierPeakValue;
}

void resetBarrier() {
  std::lock_guard lock(barrierMutex);
  barrierRunning = 0;
  barrierPeakValue = 0;
}

EventListener EventLog::listener() {
  return [this](const Event& e) {
    std::lock_guard lock(mutex_);
    events_.push_back(e);
  };
}

std::vector<Event> EventLog::events() const {
  std::lock_guard lock(mutex_);
  return events_;
}

std::vector<EventKind> EventLog::kindsFor(const std::string& node) const {
  std::lock_guard lock(mutex_);
  std::vector<EventKind> out;
  for (const auto& e : events_)
    if (e.node == node) out.push_back(e.kind);
  return out;
}

std::vector<Event> EventLog::ofKind(EventKind kind) const {
  std::lock_guard lock(mutex_);
  std::vector<Event> out;
  for (const auto& e : events_)
    if (e.kind == kind) out.push_back(e);
  return out;
}

std::size_t EventLog::count(EventKind kind, const std::string& node) const {
  std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (const auto& e : events_)
    if (e.kind == kind && e.node == node) ++n;
  return n;
}

void EventLog::clear() {
  std::lock_guard lock(mutex_);
  events_.clear();
}

TempDir::TempDir() {
  static std::atomic<unsigned> counter{0};
  std::random_device rd;
  for (;;) {
    auto candidate = std::filesystem::temp_directory_path() /
                     ("presence-core-test-" + std::to_string(rd()) + "-" + std::to_string(counter++));
    if (std::filesystem::create_directory(candidate)) {
      path_ = candidate;
      return;
    }
  }
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

std::vector<std::string> TempDir::entries() const {
  std::vector<std::string> out;
  for (const auto& entry : std::filesystem::directory_iterator(path_)) out.push_back(entry.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

std::string readText(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + file.string());
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void writeText(const std::filesystem::path& file, const std::string& text) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out << text;
  if (!out) throw std::runtime_error("cannot write " + file.string());
}

GraphNode& addConst(Graph& g, const std::string& id, int value) {
  auto& n = g.add(id, "test.const_int");
  n.params["value"] = value;
  return n;
}

GraphNode& addNode(Graph& g, const std::string& id, const std::string& type) { return g.add(id, type); }

void link(Graph& g, const std::string& to, const std::string& port, const std::string& fromNode,
          const std::string& fromPort) {
  auto* node = g.find(to);
  if (!node) throw std::logic_error("test graph has no node " + to);
  node->inputs[port] = Link{fromNode, fromPort};
}

}  // namespace presence::test
