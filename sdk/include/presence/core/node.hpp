// The node API: what a node implementation sees while it runs.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "presence/core/descriptor.hpp"
#include "presence/core/value.hpp"

namespace presence::core {

enum class LogLevel { Debug, Info, Warning, Error };

/// Given to Node::execute. Valid only during that call; not shared between threads except for
/// progress(), preview(), log() and cancellation checks, which are thread-safe.
class NodeContext {
 public:
  virtual ~NodeContext() = default;

  virtual const NodeDescriptor& descriptor() const = 0;
  /// The node's id in the graph ("face", "save"), for messages.
  virtual const std::string& nodeId() const = 0;

  virtual bool hasInput(std::string_view port) const = 0;
  /// The value linked to an input; throws Error if the (optional) input is not linked.
  virtual const Value& input(std::string_view port) const = 0;
  template <class T>
  const T& inputAs(std::string_view port) const {
    return input(port).as<T>();
  }

  /// A parameter's value (the graph's, or the descriptor's default), already validated.
  virtual const nlohmann::json& param(std::string_view name) const = 0;
  std::int64_t paramInt(std::string_view name) const { return param(name).get<std::int64_t>(); }
  double paramFloat(std::string_view name) const { return param(name).get<double>(); }
  bool paramBool(std::string_view name) const { return param(name).get<bool>(); }
  std::string paramString(std::string_view name) const { return param(name).get<std::string>(); }

  virtual void setOutput(std::string_view port, Value value) = 0;

  /// Progress of this node in 0..1, with an optional message ("step 3/20").
  virtual void progress(double fraction, std::string_view message = {}) = 0;
  /// A preview image for hosts that show one (an editor's node thumbnail).
  virtual void preview(const Value& image) = 0;
  virtual void log(LogLevel level, std::string_view message) = 0;

  virtual bool cancelled() const = 0;
  /// Throws Cancelled when the run was cancelled; call it between units of work.
  void throwIfCancelled() const {
    if (cancelled()) throw Cancelled();
  }

  /// Where relative input paths are resolved (the graph file's folder).
  virtual const std::filesystem::path& graphDirectory() const = 0;
  /// Where saving nodes write (the host's --out folder).
  virtual const std::filesystem::path& outputDirectory() const = 0;

  /// A Path parameter resolved against graphDirectory() when relative.
  std::filesystem::path inputPath(std::string_view param) const;
  /// Throws ParamError: the run fails with a diagnostic naming this node, the parameter and the
  /// cause ("no file given").
  [[noreturn]] void fail(std::string_view param, std::string_view cause) const;
};

/// A node implementation. Nodes are pure functions of their inputs and parameters: the executor
/// caches their outputs by hash. One instance is created per execution; it may keep state only
/// for the duration of execute(). Errors are reported by throwing; they never reach the host as
/// a crash.
class Node {
 public:
  virtual ~Node() = default;
  virtual void execute(NodeContext& ctx) = 0;
};

using NodeFactory = std::unique_ptr<Node> (*)();

}  // namespace presence::core
