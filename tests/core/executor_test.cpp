// The executor: planning, caching, parallelism, failures, cancellation and events.
#include <gtest/gtest.h>
#include <tbb/global_control.h>

#include <chrono>
#include <future>
#include <thread>

#include "presence/core/executor.hpp"
#include "test_nodes.hpp"

using namespace presence::core;
using namespace presence::test;
using namespace std::chrono_literals;

namespace {

std::string dump(const Diagnostics& diags) {
  std::string out;
  for (const auto& d : diags) out += d.format() + "\n";
  return out;
}

std::int64_t intOut(const RunResult& r, const std::string& node, const std::string& port) {
  return r.output(node, port).as<std::int64_t>();
}

/// one(1) and two(2) feed sum; sum feeds twice (sum + sum). A sibling branch other = two + two.
Graph diamond() {
  Graph g;
  addConst(g, "one", 1);
  addConst(g, "two", 2);
  g.add("sum", "test.add");
  link(g, "sum", "a", "one", "value");
  link(g, "sum", "b", "two", "value");
  g.add("twice", "test.add");
  link(g, "twice", "a", "sum", "sum");
  link(g, "twice", "b", "sum", "sum");
  g.add("other", "test.add");
  link(g, "other", "a", "two", "value");
  link(g, "other", "b", "two", "value");
  return g;
}

class ExecutorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    resetExecutions();
    resetBarrier();
    options.outputDirectory = out.path();
  }

  RunOptions withOutputs(std::vector<std::string> outputs) const {
    RunOptions o = options;
    o.outputs = std::move(outputs);
    return o;
  }

  TempDir out;
  RunOptions options;
};

}  // namespace

TEST_F(ExecutorTest, RunsAndReturnsRequestedOutputs) {
  Executor ex(testRegistry());
  auto g = diamond();
  g.outputs = {"twice"};
  const auto r = ex.run(g, options);
  ASSERT_TRUE(r.ok()) << dump(r.diagnostics);
  EXPECT_EQ(r.status, RunStatus::Succeeded);
  EXPECT_EQ(intOut(r, "twice", "sum"), 6);
  EXPECT_EQ(r.outputs.size(), 1u);  // only what was asked for
  EXPECT_EQ(r.executed, 4);         // one, two, sum, twice; not other
  EXPECT_EQ(r.cached, 0);
  EXPECT_EQ(r.skipped, 0);
  EXPECT_EQ(executions("other"), 0);
  EXPECT_THROW((void)r.output("sum", "sum"), Error);
  EXPECT_THROW((void)r.output("twice", "nope"), Error);
}

TEST_F(ExecutorTest, RequestsByNodeAndPort) {
  Executor ex(testRegistry());
  Graph g;
  g.add("pair", "test.pair").params["value"] = 7;
  g.add("c", "test.const_int");
  const auto r = ex.run(g, withOutputs({"pair.second"}));
  ASSERT_TRUE(r.ok()) << dump(r.diagnostics);
  EXPECT_EQ(r.output("pair", "second").as<std::string>(), "7");
  EXPECT_EQ(r.outputs.count("c"), 0u);
  EXPECT_EQ(executions("c"), 0);
}

TEST_F(ExecutorTest, RunOptionsOutputsOverrideGraphOutputs) {
  Executor ex(testRegistry());
  auto g = diamond();
  g.outputs = {"twice"};
  const auto r = ex.run(g, withOutputs({"other"}));
  ASSERT_TRUE(r.ok()) << dump(r.diagnostics);
  EXPECT_EQ(intOut(r, "other", "sum"), 4);
  EXPECT_EQ(r.outputs.count("twice"), 0u);
  EXPECT_EQ(executions("twice"), 0);
  EXPECT_EQ(executions("one"), 0);
}

TEST_F(ExecutorTest, DefaultRequestIsEverySinkWithoutSideEffects) {
  Executor ex(testRegistry());
  const auto r = ex.run(diamond(), options);
  ASSERT_TRUE(r.ok()) << dump(r.diagnostics);
  // twice and other are consumed by nobody; sum, one, two are consumed.
  EXPECT_EQ(r.outputs.size(), 2u);
  EXPECT_EQ(intOut(r, "twice", "sum"), 6);
  EXPECT_EQ(intOut(r, "other", "sum"), 4);
  EXPECT_EQ(r.executed, 5);
}

TEST_F(ExecutorTest, DefaultRequestIsTheSideEffectNodes) {
  Executor ex(testRegistry());
  auto g = diamond();
  g.add("save", "test.save").params["filename"] = "sum.txt";
  link(g, "save", "value", "sum", "sum");
  const auto r = ex.run(g, options);
  ASSERT_TRUE(r.ok()) << dump(r.diagnostics);
  EXPECT_EQ(readText(out.path() / "sum.txt"), "3");
  EXPECT_EQ(executions("save"), 1);
  EXPECT_EQ(executions("twice"), 0);  // sinks without side effects are not requested now
  EXPECT_EQ(executions("other"), 0);
  EXPECT_EQ(r.executed, 4);
  ASSERT_EQ(r.filesWritten.size(), 1u);
  EXPECT_EQ(std::filesystem::path(r.filesWritten[0]), out.path() / "sum.txt");
  EXPECT_EQ(out.entries(), std::vector<std::string>{"sum.txt"});
}

TEST_F(ExecutorTest, SecondRunIsServedFromTheCache) {
  Executor ex(testRegistry());
  EventLog log;
  ex.addListener(log.listener());
  const auto g = diamond();
  const auto first = ex.run(g, options);
  ASSERT_TRUE(first.ok()) << dump(first.diagnostics);
  EXPECT_EQ(log.ofKind(EventKind::Cached).size(), 0u);
  log.clear();
  const auto second = ex.run(g, options);
  ASSERT_TRUE(second.ok()) << dump(second.diagnostics);
  for (auto id : {"one", "two", "sum", "twice", "other"}) EXPECT_EQ(executions(id), 1) << id;
  EXPECT_EQ(second.executed, 0);
  EXPECT_EQ(second.cached, 2);  // the requested sinks; nothing upstream of a cached node is looked at
  EXPECT_EQ(log.count(EventKind::Cached, "twice"), 1u);
  EXPECT_EQ(log.count(EventKind::Cached, "other"), 1u);
  EXPECT_TRUE(log.ofKind(EventKind::Started).empty());
  EXPECT_EQ(intOut(second, "twice", "sum"), 6);
  EXPECT_EQ(intOut(second, "other", "sum"), 4);
  EXPECT_GE(ex.cache().stats().hits, 2u);
}

TEST_F(ExecutorTest, ChangingOneParameterRerunsOnlyItsDownstream) {
  Executor ex(testRegistry());
  EventLog log;
  ex.addListener(log.listener());
  auto g = diamond();
  g.outputs = {"twice", "other"};
  ASSERT_TRUE(ex.run(g, options).ok());
  log.clear();
  g.find("one")->params["value"] = 10;
  const auto r = ex.run(g, options);
  ASSERT_TRUE(r.ok()) << dump(r.diagnostics);
  EXPECT_EQ(intOut(r, "twice", "sum"), 24);
  EXPECT_EQ(intOut(r, "other", "sum"), 4);
  EXPECT_EQ(executions("one"), 2);
  EXPECT_EQ(executions("sum"), 2);
  EXPECT_EQ(executions("twice"), 2);
  EXPECT_EQ(executions("two"), 1);
  EXPECT_EQ(executions("other"), 1);
  EXPECT_EQ(r.executed, 3);
  EXPECT_EQ(log.count(EventKind::Cached, "two"), 1u);
  EXPECT_EQ(log.count(EventKind::Cached, "other"), 1u);
  EXPECT_EQ(log.count(EventKind::Started, "one"), 1u);
  // Back to the old value: every result is still in the cache.
  g.find("one")->params["value"] = 1;
  const auto back = ex.run(g, options);
  EXPECT_EQ(intOut(back, "twice", "sum"), 6);
  EXPECT_EQ(executions("one"), 2);
  EXPECT_EQ(back.executed, 0);
}

TEST_F(ExecutorTest, ParameterEqualToItsDefaultHitsTheCache) {
  Executor ex(testRegistry());
  Graph g;
  g.add("c", "test.const_int");  // value unset: default 0
  ASSERT_TRUE(ex.run(g, options).ok());
  g.find("c")->params["value"] = 0;
  const auto r = ex.run(g, options);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(executions("c"), 1);
  EXPECT_EQ(r.cached, 1);
}

TEST_F(ExecutorTest, RequestingOneBranchDoesNotRunTheOther) {
  Executor ex(testRegistry());
  auto g = diamond();
  const auto r = ex.run(g, withOutputs({"other"}));
  ASSERT_TRUE(r.ok()) << dump(r.diagnostics);
  EXPECT_EQ(executions("two"), 1);
  EXPECT_EQ(executions("other"), 1);
  for (auto id : {"one", "sum", "twice"}) EXPECT_EQ(executions(id), 0) << id;
}

TEST_F(ExecutorTest, ChangedFileBehindAPathParameterInvalidates) {
  TempDir graphDir;
  const auto file = graphDir.path() / "input.txt";
  writeText(file, "first");
  Executor ex(testRegistry());
  Graph g;
  g.add("read", "test.read_file").params["path"] = "input.txt";  // relative to the graph's folder
  RunOptions o = options;
  o.graphDirectory = graphDir.path();
  auto r = ex.run(g, o);
  ASSERT_TRUE(r.ok()) << dump(r.diagnostics);
  EXPECT_EQ(r.output("read", "text").as<std::string>(), "first");
  r = ex.run(g, o);
  EXPECT_EQ(executions("read"), 1) << "unchanged file: cached";
  // New contents.
  writeText(file, "second, longer");
  r = ex.run(g, o);
  ASSERT_TRUE(r.ok()) << dump(r.diagnostics);
  EXPECT_EQ(executions("read"), 2);
  EXPECT_EQ(r.output("read", "text").as<std::string>(), "second, longer");
  // Same size, new contents, new time stamp.
  writeText(file, "SECOND, LONGER");
  std::filesystem::last_write_time(file, std::filesystem::last_write_time(file) + 2s);
  r = ex.run(g, o);
  EXPECT_EQ(executions("read"), 3);
  EXPECT_EQ(r.output("read", "text").as<std::string>(), "SECOND, LONGER");
  // Only touched.
  std::filesystem::last_write_time(file, std::filesystem::last_write_time(file) + 2s);
  r = ex.run(g, o);
  EXPECT_EQ(executions("read"), 4);
  r = ex.run(g, o);
  EXPECT_EQ(executions("read"), 4);
}

TEST_F(ExecutorTest, IndependentBranchesRunInParallel) {
  // Each barrier node waits until both run at once; run one after the other they time out.
  tbb::global_control threads(tbb::global_control::max_allowed_parallelism, 4);
  Executor ex(testRegistry());
  Graph g;
  for (int i = 0; i < 2; ++i) {
    auto& b = g.add("b" + std::to_string(i), "test.barrier");
    b.params["parties"] = 2;
    b.params["timeout_ms"] = 3000;
    b.params["tag"] = i;
  }
  const auto r = ex.run(g, options);
  ASSERT_TRUE(r.ok()) << dump(r.diagnostics);
  EXPECT_EQ(barrierPeak(), 2);
  EXPECT_EQ(r.executed, 2);
}

TEST_F(ExecutorTest, ThreeBranchesRunAtOnceWhenAllowed) {
  tbb::global_control threads(tbb::global_control::max_allowed_parallelism, 4);
  ExecutorOptions eo;
  eo.maxParallelNodes = 3;
  Executor ex(testRegistry(), eo);
  Graph g;
  for (int i = 0; i < 3; ++i) {
    auto& b = g.add("b" + std::to_string(i), "test.barrier");
    b.params["parties"] = 3;
    b.params["timeout_ms"] = 3000;
    b.params["tag"] = i;
  }
  const auto r = ex.run(g, options);
  ASSERT_TRUE(r.ok()) << dump(r.diagnostics);
  EXPECT_EQ(barrierPeak(), 3);
}

TEST_F(ExecutorTest, MaxParallelNodesLimitsConcurrency) {
  tbb::global_control threads(tbb::global_control::max_allowed_parallelism, 4);
  ExecutorOptions eo;
  eo.maxParallelNodes = 1;
  Executor ex(testRegistry(), eo);
  Graph g;
  for (int i = 0; i < 2; ++i) {
    auto& b = g.add("b" + std::to_string(i), "test.barrier");
    b.params["parties"] = 2;
    b.params["timeout_ms"] = 50;
    b.params["tag"] = i;
  }
  const auto r = ex.run(g, options);
  EXPECT_EQ(r.status, RunStatus::Failed);
  EXPECT_EQ(barrierPeak(), 1);
  ASSERT_FALSE(r.diagnostics.empty());
  EXPECT_NE(r.diagnostics[0].message.find("barrier timed out"), std::string::npos) << dump(r.diagnostics);
}

TEST_F(ExecutorTest, ThrowingNodeFailsTheRunWithADiagnostic) {
  Executor ex(testRegistry());
  EventLog log;
  ex.addListener(log.listener());
  Graph g;
  g.add("boom", "test.throw").params["message"] = "the disk is on fire";
  g.add("after", "test.sleep").params["ms"] = 0;
  link(g, "after", "in", "boom", "value");
  const auto r = ex.run(g, options);
  EXPECT_EQ(r.status, RunStatus::Failed);
  EXPECT_FALSE(r.ok());
  ASSERT_EQ(r.diagnostics.size(), 1u) << dump(r.diagnostics);
  const auto& d = r.diagnostics[0];
  EXPECT_EQ(d.code, "node-failed");
  EXPECT_EQ(d.node, "boom");
  EXPECT_NE(d.message.find("the disk is on fire"), std::string::npos) << d.message;
  EXPECT_NE(d.message.find("test.throw"), std::string::npos) << d.message;
  EXPECT_EQ(executions("after"), 0);
  EXPECT_EQ(r.executed, 0);
  EXPECT_EQ(r.skipped, 2);
  auto failed = log.ofKind(EventKind::Failed);
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].node, "boom");
  EXPECT_NE(failed[0].message.find("the disk is on fire"), std::string::npos);
  EXPECT_EQ(log.kindsFor("boom"), (std::vector<EventKind>{EventKind::Started, EventKind::Failed}));
  EXPECT_TRUE(log.kindsFor("after").empty());
  ASSERT_FALSE(log.events().empty());
  EXPECT_EQ(log.events().back().kind, EventKind::RunFinished);
  EXPECT_EQ(log.events().back().message, "failed");
  // A failure is not cached: the next run tries again.
  (void)ex.run(g, options);
  EXPECT_EQ(executions("boom"), 2);
}

TEST_F(ExecutorTest, FailingBranchDoesNotHideTheResultsOfOtherRunsLater) {
  Executor ex(testRegistry());
  Graph g;
  g.add("boom", "test.throw");
  addConst(g, "fine", 5);
  const auto r = ex.run(g, withOutputs({"boom", "fine"}));
  EXPECT_EQ(r.status, RunStatus::Failed);
  const auto again = ex.run(g, withOutputs({"fine"}));
  ASSERT_TRUE(again.ok()) << dump(again.diagnostics);
  EXPECT_EQ(intOut(again, "fine", "value"), 5);
}

TEST_F(ExecutorTest, ParamFailureNamesTheParameter) {
  Executor ex(testRegistry());
  Graph g;
  g.add("loader", "test.fail_param").params["path"] = "nowhere.txt";
  const auto r = ex.run(g, options);
  EXPECT_EQ(r.status, RunStatus::Failed);
  ASSERT_EQ(r.diagnostics.size(), 1u) << dump(r.diagnostics);
  EXPECT_EQ(r.diagnostics[0].node, "loader");
  EXPECT_EQ(r.diagnostics[0].param, "path");
  EXPECT_NE(r.diagnostics[0].message.find("no such file: nowhere.txt"), std::string::npos);
  EXPECT_NE(r.diagnostics[0].format().find("parameter 'path'"), std::string::npos);
}

TEST_F(ExecutorTest, CancellationFromAnotherThreadStopsASleepingNode) {
  Executor ex(testRegistry());
  EventLog log;
  ex.addListener(log.listener());
  std::promise<void> started;
  std::atomic<bool> signalled{false};
  ex.addListener([&](const Event& e) {
    if (e.kind == EventKind::Started && e.node == "sleep" && !signalled.exchange(true)) started.set_value();
  });
  Graph g;
  g.add("sleep", "test.sleep").params["ms"] = 20000;
  auto& save = g.add("save", "test.save");
  save.params["filename"] = "never.txt";
  link(g, "save", "value", "sleep", "value");
  RunOptions o = options;
  o.cancel = std::make_shared<CancelToken>();
  std::chrono::steady_clock::time_point cancelledAt;
  std::thread canceller([&] {
    if (started.get_future().wait_for(5s) != std::future_status::ready) return;
    std::this_thread::sleep_for(20ms);
    cancelledAt = std::chrono::steady_clock::now();
    o.cancel->cancel();
  });
  const auto begin = std::chrono::steady_clock::now();
  const auto r = ex.run(g, o);
  const auto end = std::chrono::steady_clock::now();
  canceller.join();
  ASSERT_TRUE(signalled.load()) << "the sleep node never started";
  EXPECT_EQ(r.status, RunStatus::Cancelled);
  EXPECT_LT(end - begin, 3s);
  EXPECT_LT(end - cancelledAt, 500ms) << "the node did not stop at its next check";
  EXPECT_EQ(log.kindsFor("sleep"), (std::vector<EventKind>{EventKind::Started, EventKind::Cancelled}));
  EXPECT_TRUE(log.kindsFor("save").empty());
  EXPECT_EQ(executions("save"), 0);
  EXPECT_TRUE(out.entries().empty()) << "a cancelled run left files";
  EXPECT_TRUE(r.filesWritten.empty());
  EXPECT_EQ(r.executed, 0);
  EXPECT_EQ(r.skipped, 2);
  EXPECT_FALSE(hasErrors(r.diagnostics)) << dump(r.diagnostics);
  EXPECT_EQ(log.events().back().kind, EventKind::RunFinished);
  EXPECT_EQ(log.events().back().message, "cancelled");
}

TEST_F(ExecutorTest, CancelledBeforeTheRunStartsNothing) {
  Executor ex(testRegistry());
  RunOptions o = options;
  o.cancel = std::make_shared<CancelToken>();
  o.cancel->cancel();
  const auto r = ex.run(diamond(), o);
  EXPECT_EQ(r.status, RunStatus::Cancelled);
  for (auto id : {"one", "two", "sum", "twice", "other"}) EXPECT_EQ(executions(id), 0) << id;
  // Reset, the same token runs the graph.
  o.cancel->reset();
  EXPECT_TRUE(ex.run(diamond(), o).ok());
}

TEST_F(ExecutorTest, EveryListenerGetsTheSameEvents) {
  Executor ex(testRegistry());
  EventLog a, b;
  ex.addListener(a.listener());
  const int idB = ex.addListener(b.listener());
  ex.addListener([](const Event&) { throw std::runtime_error("a broken listener"); });
  ASSERT_TRUE(ex.run(diamond(), options).ok());
  const auto ea = a.events(), eb = b.events();
  ASSERT_EQ(ea.size(), eb.size());
  ASSERT_FALSE(ea.empty());
  for (std::size_t i = 0; i < ea.size(); ++i) {
    EXPECT_EQ(ea[i].kind, eb[i].kind) << i;
    EXPECT_EQ(ea[i].node, eb[i].node) << i;
  }
  ex.removeListener(idB);
  const auto before = b.events().size();
  ASSERT_TRUE(ex.run(diamond(), withOutputs({"sum"})).ok());
  EXPECT_EQ(b.events().size(), before);
  EXPECT_GT(a.events().size(), ea.size());
}

TEST_F(ExecutorTest, EventOrder) {
  Executor ex(testRegistry());
  EventLog log;
  ex.addListener(log.listener());
  auto g = diamond();
  g.add("nap", "test.sleep").params["ms"] = 1;
  link(g, "nap", "in", "twice", "sum");
  const auto r = ex.run(g, options);
  ASSERT_TRUE(r.ok()) << dump(r.diagnostics);
  const auto events = log.events();
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events.front().kind, EventKind::RunStarted);
  EXPECT_EQ(events.front().total, 6);
  EXPECT_EQ(events.back().kind, EventKind::RunFinished);
  EXPECT_EQ(events.back().message, "succeeded");
  EXPECT_GE(events.back().seconds, 0.0);
  for (auto id : {"one", "two", "sum", "twice", "other"})
    EXPECT_EQ(log.kindsFor(id), (std::vector<EventKind>{EventKind::Started, EventKind::Finished})) << id;
  EXPECT_EQ(log.kindsFor("nap"),
            (std::vector<EventKind>{EventKind::Started, EventKind::Progress, EventKind::Finished}));
  // A consumer starts only after each of its sources finished.
  auto position = [&](EventKind kind, const std::string& node) {
    for (std::size_t i = 0; i < events.size(); ++i)
      if (events[i].kind == kind && events[i].node == node) return i;
    return events.size();
  };
  EXPECT_LT(position(EventKind::Finished, "one"), position(EventKind::Started, "sum"));
  EXPECT_LT(position(EventKind::Finished, "two"), position(EventKind::Started, "sum"));
  EXPECT_LT(position(EventKind::Finished, "sum"), position(EventKind::Started, "twice"));
  EXPECT_LT(position(EventKind::Finished, "twice"), position(EventKind::Started, "nap"));
  for (const auto& e : events) {
    if (e.kind == EventKind::Started) {
      EXPECT_FALSE(e.nodeType.empty()) << e.node;
    }
  }
  auto progress = log.ofKind(EventKind::Progress);
  ASSERT_EQ(progress.size(), 1u);
  EXPECT_EQ(progress[0].progress, 1.0);
  EXPECT_EQ(progress[0].message, "slept");
}

TEST_F(ExecutorTest, RunStartedComesFirstEvenWhenResultsAreCached) {
  Executor ex(testRegistry());
  EventLog log;
  ex.addListener(log.listener());
  auto g = diamond();
  ASSERT_TRUE(ex.run(g, options).ok());
  g.find("one")->params["value"] = 3;
  log.clear();
  ASSERT_TRUE(ex.run(g, options).ok());
  const auto events = log.events();
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(events.front().kind, EventKind::RunStarted) << "first event: " << toString(events.front().kind);
  EXPECT_EQ(events.front().total, 3);  // one, sum, twice
  EXPECT_EQ(log.count(EventKind::Cached, "other"), 1u);
  EXPECT_EQ(log.count(EventKind::Cached, "two"), 1u);
}

TEST_F(ExecutorTest, EventsAsJson) {
  Event e;
  e.kind = EventKind::Progress;
  e.node = "sampler";
  e.nodeType = "presence.sampler";
  e.progress = 0.5;
  e.message = "step 10/20";
  const auto j = e.toJson();
  EXPECT_EQ(j["event"], "progress");
  EXPECT_EQ(j["node"], "sampler");
  EXPECT_EQ(j["type"], "presence.sampler");
  EXPECT_EQ(j["progress"], 0.5);
  EXPECT_EQ(j["message"], "step 10/20");
  Event run;
  run.kind = EventKind::RunStarted;
  run.total = 4;
  EXPECT_EQ(run.toJson()["total"], 4);
  EXPECT_FALSE(run.toJson().contains("node"));
}

TEST_F(ExecutorTest, CacheBudgetZeroCachesNothing) {
  ExecutorOptions eo;
  eo.cacheBudgetBytes = 0;
  Executor ex(testRegistry(), eo);
  EventLog log;
  ex.addListener(log.listener());
  ASSERT_TRUE(ex.run(diamond(), options).ok());
  const auto r = ex.run(diamond(), options);
  ASSERT_TRUE(r.ok());
  for (auto id : {"one", "two", "sum", "twice", "other"}) EXPECT_EQ(executions(id), 2) << id;
  EXPECT_EQ(r.cached, 0);
  EXPECT_TRUE(log.ofKind(EventKind::Cached).empty());
  EXPECT_EQ(ex.cache().stats().entries, 0u);
}

TEST_F(ExecutorTest, ResultsLargerThanTheBudgetAreRecomputed) {
  ExecutorOptions eo;
  eo.cacheBudgetBytes = 4096;
  Executor ex(testRegistry(), eo);
  Graph g;
  g.add("big", "test.blob").params["bytes"] = 10000;
  g.add("small", "test.blob").params["bytes"] = 10;
  ASSERT_TRUE(ex.run(g, options).ok());
  ASSERT_TRUE(ex.run(g, options).ok());
  EXPECT_EQ(executions("big"), 2);
  EXPECT_EQ(executions("small"), 1);
  EXPECT_LE(ex.cache().stats().bytes, 4096u);
}

TEST_F(ExecutorTest, SideEffectNodesAlwaysRunButTheirInputsAreCached) {
  Executor ex(testRegistry());
  Graph g;
  addConst(g, "c", 42);
  g.add("save", "test.save").params["filename"] = "c.txt";
  link(g, "save", "value", "c", "value");
  ASSERT_TRUE(ex.run(g, options).ok());
  std::filesystem::remove(out.path() / "c.txt");
  const auto r = ex.run(g, options);
  ASSERT_TRUE(r.ok()) << dump(r.diagnostics);
  EXPECT_EQ(executions("save"), 2);
  EXPECT_EQ(executions("c"), 1);
  EXPECT_EQ(r.cached, 1);
  EXPECT_EQ(readText(out.path() / "c.txt"), "42");
}

TEST_F(ExecutorTest, InvalidGraphRunsNothing) {
  Executor ex(testRegistry());
  EventLog log;
  ex.addListener(log.listener());
  auto g = diamond();
  g.find("one")->params["value"] = 5000;  // above the maximum
  g.add("save", "test.save");
  link(g, "save", "value", "sum", "sum");
  const auto r = ex.run(g, options);
  EXPECT_EQ(r.status, RunStatus::Invalid);
  ASSERT_FALSE(r.diagnostics.empty());
  EXPECT_EQ(r.diagnostics[0].code, "bad-param");
  EXPECT_EQ(r.diagnostics[0].node, "one");
  EXPECT_EQ(r.diagnostics[0].param, "value");
  for (auto id : {"one", "two", "sum", "twice", "other", "save"}) EXPECT_EQ(executions(id), 0) << id;
  EXPECT_TRUE(log.ofKind(EventKind::Started).empty());
  EXPECT_TRUE(out.entries().empty());
  // Hosts waiting for the end of a run still hear of it.
  const auto finished = log.ofKind(EventKind::RunFinished);
  ASSERT_EQ(finished.size(), 1u);
  EXPECT_EQ(finished[0].message, "invalid");
}

TEST_F(ExecutorTest, AnIntegerWrittenAsAFloatHitsTheCache) {
  Executor ex(testRegistry());
  Graph g;
  g.add("n", "test.const_int").params["value"] = 3;
  ASSERT_TRUE(ex.run(g, options).ok());
  g.find("n")->params["value"] = 3.0;  // what a tool writing JSON numbers may produce
  const auto r = ex.run(g, options);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(executions("n"), 1);
  EXPECT_EQ(r.cached, 1);
}

TEST_F(ExecutorTest, AVeryDeepChainValidatesAndRunsWithoutExhaustingTheStack) {
  // 100 000 nodes in one chain: validation's cycle search and planning must be iterative.
  Graph g;
  g.add("n0", "test.const_int").params["value"] = 1;
  g.nodes.reserve(100000);
  for (int i = 1; i < 100000; ++i) {
    GraphNode n;  // appended directly: Graph::add checks for duplicate ids, linear per call
    n.id = "n" + std::to_string(i);
    n.type = "test.add";
    n.inputs["a"] = Link{"n" + std::to_string(i - 1), i == 1 ? "value" : "sum"};
    n.inputs["b"] = Link{"n0", "value"};
    g.nodes.push_back(std::move(n));
  }
  g.outputs = {"n99999"};
  Executor ex(testRegistry());
  const auto r = ex.run(g, options);
  ASSERT_TRUE(r.ok()) << (r.diagnostics.empty() ? "" : r.diagnostics[0].format());
  EXPECT_EQ(r.output("n99999", "sum").as<std::int64_t>(), 100000);
}

TEST_F(ExecutorTest, UnknownNodeTypeAndCycleAreInvalid) {
  Executor ex(testRegistry());
  Graph unknown;
  unknown.add("x", "test.nope");
  EXPECT_EQ(ex.run(unknown, options).status, RunStatus::Invalid);
  Graph cycle;
  cycle.add("x", "test.add");
  cycle.add("y", "test.add");
  link(cycle, "x", "a", "y", "sum");
  link(cycle, "x", "b", "y", "sum");
  link(cycle, "y", "a", "x", "sum");
  link(cycle, "y", "b", "x", "sum");
  const auto r = ex.run(cycle, options);
  EXPECT_EQ(r.status, RunStatus::Invalid);
  EXPECT_EQ(executions("x"), 0);
}

TEST_F(ExecutorTest, UnknownRequestedOutputIsInvalid) {
  Executor ex(testRegistry());
  const auto noNode = ex.run(diamond(), withOutputs({"ghost"}));
  EXPECT_EQ(noNode.status, RunStatus::Invalid);
  ASSERT_FALSE(noNode.diagnostics.empty());
  EXPECT_EQ(noNode.diagnostics[0].code, "unknown-output");
  EXPECT_EQ(noNode.diagnostics[0].node, "ghost");
  // A port the node lacks is as wrong as a node the graph lacks.
  const auto noPort = ex.run(diamond(), withOutputs({"sum.nothing"}));
  EXPECT_EQ(noPort.status, RunStatus::Invalid) << "ran with a request for a port that does not exist";
  ASSERT_FALSE(noPort.diagnostics.empty());
  EXPECT_EQ(noPort.diagnostics[0].code, "unknown-output");
  EXPECT_EQ(noPort.diagnostics[0].node, "sum");
  EXPECT_EQ(noPort.diagnostics[0].port, "nothing");
  EXPECT_EQ(executions("sum"), 0);
}

TEST_F(ExecutorTest, SourceLinkedTwiceIntoOneConsumerStaysAvailableForOthers) {
  // sum reads src on both inputs; late reads src after sleeping. Run one at a time, sum finishes
  // first; src's value must still be there for late.
  ExecutorOptions eo;
  eo.maxParallelNodes = 1;
  Executor ex(testRegistry(), eo);
  Graph g;
  addConst(g, "src", 5);
  g.add("sum", "test.add");
  link(g, "sum", "a", "src", "value");
  link(g, "sum", "b", "src", "value");
  g.add("late", "test.sleep").params["ms"] = 5;
  link(g, "late", "in", "src", "value");
  const auto r = ex.run(g, options);
  ASSERT_TRUE(r.ok()) << dump(r.diagnostics);
  EXPECT_EQ(intOut(r, "sum", "sum"), 10);
  EXPECT_EQ(intOut(r, "late", "value"), 6);
}

TEST_F(ExecutorTest, RelativePathParametersResolveAgainstTheGraphFolder) {
  TempDir graphDir;
  writeText(graphDir.path() / "data.txt", "from the graph folder");
  Executor ex(testRegistry());
  Graph g;
  g.directory = graphDir.path();
  g.add("read", "test.read_file").params["path"] = "data.txt";
  const auto r = ex.run(g, options);
  ASSERT_TRUE(r.ok()) << dump(r.diagnostics);
  EXPECT_EQ(r.output("read", "text").as<std::string>(), "from the graph folder");
  // An empty path is the node's own error, reported against the parameter.
  g.find("read")->params["path"] = "";
  const auto empty = ex.run(g, options);
  EXPECT_EQ(empty.status, RunStatus::Failed);
  ASSERT_EQ(empty.diagnostics.size(), 1u);
  EXPECT_EQ(empty.diagnostics[0].param, "path");
}

TEST_F(ExecutorTest, BrokenNodeContractsBecomeDiagnostics) {
  Executor ex(testRegistry());
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"nothing", "without setting output 'value'"},
      {"wrong_type", "STRING"},
      {"unknown_port", "'nope'"},
      {"unknown_param", "'nope'"},
      {"unlinked_input", "'in'"},
      {"not_std_exception", "not a std::exception"},
  };
  for (const auto& [mode, expected] : cases) {
    Graph g;
    g.add("bad", "test.misbehave").params["mode"] = mode;
    const auto r = ex.run(g, options);
    EXPECT_EQ(r.status, RunStatus::Failed) << mode;
    ASSERT_EQ(r.diagnostics.size(), 1u) << mode << "\n" << dump(r.diagnostics);
    EXPECT_EQ(r.diagnostics[0].code, "node-failed") << mode;
    EXPECT_EQ(r.diagnostics[0].node, "bad") << mode;
    EXPECT_NE(r.diagnostics[0].message.find(expected), std::string::npos) << mode << ": " << r.diagnostics[0].message;
  }
  Graph fine;
  fine.add("good", "test.misbehave").params["mode"] = "fine";
  EXPECT_TRUE(ex.run(fine, options).ok());
}

TEST_F(ExecutorTest, ProgressLogAndPreviewEvents) {
  Executor ex(testRegistry());
  EventLog log;
  ex.addListener(log.listener());
  Graph g;
  g.add("chat", "test.chatty");
  ASSERT_TRUE(ex.run(g, options).ok());
  EXPECT_EQ(log.kindsFor("chat"), (std::vector<EventKind>{EventKind::Started, EventKind::Progress, EventKind::Progress,
                                                         EventKind::Log, EventKind::Preview, EventKind::Finished}));
  const auto progress = log.ofKind(EventKind::Progress);
  ASSERT_EQ(progress.size(), 2u);
  EXPECT_EQ(progress[0].progress, 0.5);
  EXPECT_EQ(progress[0].message, "half way");
  EXPECT_EQ(progress[1].progress, 1.0);  // clamped to 0..1
  const auto logs = log.ofKind(EventKind::Log);
  ASSERT_EQ(logs.size(), 1u);
  EXPECT_EQ(logs[0].level, LogLevel::Warning);
  EXPECT_EQ(logs[0].message, "careful");
  EXPECT_EQ(logs[0].nodeType, "test.chatty");
  const auto previews = log.ofKind(EventKind::Preview);
  ASSERT_EQ(previews.size(), 1u);
  ASSERT_TRUE(previews[0].preview.holds<ImageBatch>());
  const auto j = previews[0].toJson();
  EXPECT_EQ(j["event"], "preview");
  EXPECT_EQ(j["preview"]["width"], 6);
  EXPECT_EQ(j["preview"]["height"], 4);
  EXPECT_EQ(logs[0].toJson()["level"], "warning");
}

TEST_F(ExecutorTest, ManyIndependentNodesAllRunOnce) {
  Executor ex(testRegistry());
  Graph g;
  std::vector<std::string> ids;
  for (int i = 0; i < 40; ++i) {
    ids.push_back("c" + std::to_string(i));
    addConst(g, ids.back(), i);
  }
  // Fold them into a chain of adds so the run mixes parallel roots and a long chain.
  std::string last = ids[0];
  for (int i = 1; i < 40; ++i) {
    const auto id = "s" + std::to_string(i);
    g.add(id, "test.add");
    link(g, id, "a", last, last[0] == 'c' ? "value" : "sum");
    link(g, id, "b", ids[i], "value");
    last = id;
  }
  const auto r = ex.run(g, options);
  ASSERT_TRUE(r.ok()) << dump(r.diagnostics);
  EXPECT_EQ(intOut(r, last, "sum"), 39 * 40 / 2);
  EXPECT_EQ(r.executed, 79);
  for (const auto& id : ids) EXPECT_EQ(executions(id), 1) << id;
}
