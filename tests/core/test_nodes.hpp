// In-process node types for the core tests, registered straight into a NodeRegistry (no plugin).
//
// Every test node records each execution under its graph node id (executions("a")), so tests can
// prove what ran and what came from the cache. Node ids and ComfyUI names:
//   test.const_int  (TestConstInt)   param value:INT [-1000,1000]        -> value:INT
//   test.add        (TestAdd)        inputs a:INT, b:INT                  -> sum:INT
//   test.text       (TestText)       param text:STRING                    -> text:STRING
//   test.concat     (TestConcat)     inputs a:STRING, b:STRING (optional) -> text:STRING
//   test.pair       (TestPair)       param value:INT                      -> first:INT, second:STRING
//   test.params     (TestParams)     count:INT[1,10] gain:FLOAT[0,1] flag:BOOL mode:ENUM label:STRING
//                                                                          -> value:INT
//   test.throw      (TestThrow)      optional input after:INT, param message -> value:INT (never set)
//   test.fail_param (TestFailParam)  param path:PATH, calls ctx.fail("path", "no such file")
//   test.sleep      (TestSleep)      optional input in:INT, param ms:INT; sleeps in 2 ms steps checking
//                                    ctx.throwIfCancelled(), then reads `in` -> value:INT (in + 1)
//   test.barrier    (TestBarrier)    param parties:INT, timeout_ms:INT, tag:INT; blocks until `parties` barrier
//                                    nodes run at once (throws on timeout) -> value:INT
//   test.read_file  (TestReadFile)   param path:PATH                      -> text:STRING
//   test.blob       (TestBlob)       param bytes:INT                      -> blob:STRING of that size
//   test.misbehave  (TestMisbehave)  optional input in:INT, param mode:ENUM; breaks the node contract
//                                    as `mode` says (no output, wrong type, unknown port, ...)
//   test.chatty     (TestChatty)     reports progress, a warning log line and a preview -> value:INT
//   test.save       (TestSave)       side effects; optional inputs value:INT, text:STRING,
//                                    param filename:STRING; writes outputDirectory()/filename
//                                    through AtomicFile                   -> files:FILES
#pragma once

#include <chrono>
#include <filesystem>
#include <mutex>
#include <string>
#include <vector>

#include "presence/core/events.hpp"
#include "presence/core/graph.hpp"
#include "presence/core/registry.hpp"

namespace presence::test {

/// Registers every node type above.
void registerTestNodes(core::NodeRegistry& registry);

/// A registry with the test nodes, built once per process.
const core::NodeRegistry& testRegistry();

/// How many times the graph node `nodeId` executed since the last resetExecutions().
int executions(const std::string& nodeId);
void resetExecutions();

/// Barrier nodes: the most that were running at once since the last resetBarrier().
int barrierPeak();
void resetBarrier();

/// Every event of a run, in delivery order. Thread-safe; hand listener() to addListener.
class EventLog {
 public:
  core::EventListener listener();
  std::vector<core::Event> events() const;
  /// Kinds of events concerning `node`, in order.
  std::vector<core::EventKind> kindsFor(const std::string& node) const;
  /// Events of one kind, in order.
  std::vector<core::Event> ofKind(core::EventKind kind) const;
  std::size_t count(core::EventKind kind, const std::string& node) const;
  void clear();

 private:
  mutable std::mutex mutex_;
  std::vector<core::Event> events_;
};

/// A fresh folder under the system temp folder, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  /// Names of every entry in the folder (hidden ones too), sorted.
  std::vector<std::string> entries() const;

 private:
  std::filesystem::path path_;
};

std::string readText(const std::filesystem::path& file);
void writeText(const std::filesystem::path& file, const std::string& text);

/// Graph-building shorthands.
core::GraphNode& addConst(core::Graph& g, const std::string& id, int value);
core::GraphNode& addNode(core::Graph& g, const std::string& id, const std::string& type);
void link(core::Graph& g, const std::string& to, const std::string& port, const std::string& fromNode,
          const std::string& fromPort);

}  // namespace presence::test
