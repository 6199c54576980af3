// Executor overhead and graph loading on large graphs of trivial nodes (the built-in utility
// nodes, loaded through the plugin ABI as in a real host). Targets (docs/benchmarks.md):
// ≤ 20 µs per node on a first run, ≤ 2 µs per node when everything is cached, and ≤ 10 ms to
// load and validate a 1000-node graph.
#include <benchmark/benchmark.h>

#include "presence/core/executor.hpp"
#include "presence/core/graph.hpp"
#include "presence/core/plugin_loader.hpp"
#include "presence/core/validation.hpp"

namespace {

using namespace presence::core;

const NodeRegistry& registry() {
  static NodeRegistry* r = [] {
    auto* reg = new NodeRegistry;
    PluginLoader loader(*reg);
    loader.loadAll({PRESENCE_BUILTIN_PLUGIN_DIR});
    if (!reg->find("presence.float_math")) std::abort();
    return reg;
  }();
  return *r;
}

/// value -> math -> math -> ... : `nodes` nodes in one chain.
Graph chain(int nodes) {
  Graph g;
  g.add("n0", "presence.float_value").params["value"] = 1.0;
  for (int i = 1; i < nodes; ++i) {
    auto& n = g.add("n" + std::to_string(i), "presence.float_math");
    n.inputs["a"] = Link{"n" + std::to_string(i - 1), i == 1 ? "value" : "result"};
    n.params["value_b"] = 1.0;
  }
  g.outputs = {"n" + std::to_string(nodes - 1)};
  return g;
}

void checkOk(benchmark::State& state, const RunResult& r) {
  if (!r.ok()) state.SkipWithError("run failed");
}

/// Reports time per node: "nodes" per second inverted, shown in µs by the console reporter.
void perNode(benchmark::State& state) {
  state.counters["per_node"] = benchmark::Counter(double(state.iterations()) * double(state.range(0)),
                                                  benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void BM_ExecutorFirstRun(benchmark::State& state) {
  const Graph g = chain(static_cast<int>(state.range(0)));
  for (auto _ : state) {
    Executor executor(registry());  // an empty cache: every node runs
    checkOk(state, executor.run(g));
  }
  perNode(state);
}

void BM_ExecutorCachedRun(benchmark::State& state) {
  const Graph g = chain(static_cast<int>(state.range(0)));
  Executor executor(registry());
  checkOk(state, executor.run(g));
  for (auto _ : state) checkOk(state, executor.run(g));
  perNode(state);
}

void BM_ExecutorOneParameterChanged(benchmark::State& state) {
  // An interactive host changes the middle node's parameter: half the chain re-runs.
  Graph g = chain(static_cast<int>(state.range(0)));
  Executor executor(registry());
  checkOk(state, executor.run(g));
  auto* middle = g.find("n" + std::to_string(state.range(0) / 2));
  double b = 1.0;
  for (auto _ : state) {
    middle->params["value_b"] = (b += 1.0);
    checkOk(state, executor.run(g));
  }
}

void BM_LoadAndValidate(benchmark::State& state) {
  const std::string text = serializeGraph(chain(static_cast<int>(state.range(0))));
  for (auto _ : state) {
    auto loaded = parseGraph(text);
    auto diagnostics = validateGraph(loaded.graph, registry());
    if (!loaded.ok() || hasErrors(diagnostics)) state.SkipWithError("invalid graph");
    benchmark::DoNotOptimize(diagnostics);
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(text.size()));
}

}  // namespace

BENCHMARK(BM_ExecutorFirstRun)->Arg(1000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ExecutorCachedRun)->Arg(1000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ExecutorOneParameterChanged)->Arg(1000)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LoadAndValidate)->Arg(1000)->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
