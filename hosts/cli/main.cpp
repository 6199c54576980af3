// `presence`: run, validate and describe graphs headless.
// Exit codes: 0 success, 1 a node failed, 2 invalid graph or usage, 130 cancelled.
#include <CLI/CLI.hpp>

#include <csignal>
#if defined(__GLIBC__)
#include <malloc.h>
#endif
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include "presence/core/comfy_import.hpp"
#include "presence/core/executor.hpp"
#include "presence/core/graph.hpp"
#include "presence/core/node_reference.hpp"
#include "presence/core/plugin_loader.hpp"
#include "presence/core/validation.hpp"
#include "presence/core/version.hpp"
#include "models_command.hpp"
#include "progress_display.hpp"

namespace {

using namespace presence;
using namespace presence::core;

constexpr int kExitOk = 0, kExitFailed = 1, kExitInvalid = 2, kExitCancelled = 130;

CancelToken* gCancel = nullptr;

extern "C" void onInterrupt(int) {
  if (gCancel) gCancel->cancel();
  std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C ends the process at once
}

void printDiagnostics(const Diagnostics& diagnostics, bool json) {
  for (const auto& d : diagnostics) {
    if (json) std::cout << nlohmann::json{{"event", "diagnostic"}, {"diagnostic", d.toJson()}}.dump() << "\n";
    std::cerr << d.format() << "\n";
  }
}

struct Host {
  NodeRegistry registry;
  std::vector<PluginReport> plugins;

  Host() {
    PluginLoader loader(registry);
    plugins = loader.loadAll(PluginLoader::defaultSearchPath());
    for (const auto& p : plugins)
      if (!p.loaded) std::cerr << "warning: plugin " << p.file.string() << ": " << p.error << "\n";
  }
};

std::string humanSize(std::uintmax_t bytes) {
  char buffer[32];
  if (bytes >= (1u << 20)) std::snprintf(buffer, sizeof buffer, "%.1f MiB", bytes / 1048576.0);
  else if (bytes >= 1024) std::snprintf(buffer, sizeof buffer, "%.1f KiB", bytes / 1024.0);
  else std::snprintf(buffer, sizeof buffer, "%ju B", bytes);
  return buffer;
}

int runCommand(Host& host, const std::string& graphFile, const std::vector<std::string>& sets,
               const std::string& outDir, const std::string& events, const std::vector<std::string>& outputs) {
  const bool json = events == "json";
  auto loaded = loadGraphFile(graphFile);
  if (!loaded.ok()) {
    printDiagnostics(loaded.diagnostics, json);
    return kExitInvalid;
  }
  Graph graph = std::move(loaded.graph);
  try {
    for (const auto& s : sets) graph.setFromText(s);
  } catch (const Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitInvalid;
  }
  auto cancel = std::make_shared<CancelToken>();
  gCancel = cancel.get();
  std::signal(SIGINT, onInterrupt);
  std::signal(SIGTERM, onInterrupt);

  const auto format = json ? cli::EventFormat::Json : events == "none" ? cli::EventFormat::None : cli::EventFormat::Text;
  cli::ProgressDisplay display(format, stdout, stderr);
  Executor executor(host.registry);
  executor.addListener([&](const Event& e) { display.onEvent(e); });
  RunOptions options;
  options.outputDirectory = outDir;
  options.cancel = cancel;
  options.outputs = outputs;
  const RunResult result = executor.run(graph, options);
  display.finish();
  gCancel = nullptr;
  printDiagnostics(result.diagnostics, json);

  if (!result.filesWritten.empty() && !json) {
    std::cerr << "\nFiles written:\n";
    for (const auto& f : result.filesWritten) {
      std::error_code ec;
      const auto size = std::filesystem::file_size(f, ec);
      std::cerr << "  " << f << (ec ? "" : "  (" + humanSize(size) + ")") << "\n";
    }
  }
  if (!json) {
    std::cerr << (result.ok() ? "\n" : "") << "Run " << toString(result.status) << ": " << result.executed
              << " executed, " << result.cached << " cached";
    if (result.skipped) std::cerr << ", " << result.skipped << " not run";
    std::cerr << ", " << cli::formatDuration(result.seconds) << ".\n";
  }
  switch (result.status) {
    case RunStatus::Succeeded: return kExitOk;
    case RunStatus::Failed: return kExitFailed;
    case RunStatus::Cancelled: return kExitCancelled;
    case RunStatus::Invalid: return kExitInvalid;
  }
  return kExitFailed;
}

int validateCommand(Host& host, const std::string& graphFile, bool json) {
  auto loaded = loadGraphFile(graphFile);
  Diagnostics diagnostics = loaded.diagnostics;
  if (loaded.ok()) diagnostics = validateGraph(loaded.graph, host.registry);
  for (auto& d : diagnostics)
    if (d.file.empty()) d.file = graphFile;
  if (json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& d : diagnostics) list.push_back(d.toJson());
    std::cout << nlohmann::json{{"valid", !hasErrors(diagnostics)}, {"diagnostics", list}}.dump(2) << "\n";
  } else {
    for (const auto& d : diagnostics) std::cerr << d.format() << "\n";
    if (!hasErrors(diagnostics))
      std::cout << graphFile << ": valid (" << loaded.graph.nodes.size() << " nodes)\n";
    else
      std::cerr << graphFile << ": " << diagnostics.size() << " problem" << (diagnostics.size() == 1 ? "" : "s") << "\n";
  }
  return hasErrors(diagnostics) ? kExitInvalid : kExitOk;
}

int nodesCommand(Host& host, bool json, bool markdown) {
  if (markdown) {
    std::cout << nodeReferenceMarkdown(host.registry);
  } else if (json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto* d : host.registry.all()) list.push_back(toJson(*d));
    std::cout << list.dump(2) << "\n";
  } else {
    for (const auto* d : host.registry.all())
      std::printf("%-34s %-18s %s\n", d->id.c_str(), d->category.c_str(), d->displayName.c_str());
  }
  return kExitOk;
}

int describeCommand(Host& host, const std::string& id, bool json) {
  const NodeDescriptor* d = host.registry.find(id);
  if (!d) d = host.registry.findByComfyName(id);
  if (!d) {
    std::cerr << "error: unknown node type '" << id << "' (see `presence nodes`)\n";
    return kExitInvalid;
  }
  if (json) std::cout << toJson(*d).dump(2) << "\n";
  else std::cout << describeNode(*d) << "\nFrom: " << host.registry.origin(d->id) << "\n";
  return kExitOk;
}

int importComfyCommand(Host& host, const std::string& promptFile, const std::string& output) {
  std::ifstream in(promptFile, std::ios::binary);
  if (!in) {
    std::cerr << "error: " << promptFile << ": cannot open the prompt file\n";
    return kExitInvalid;
  }
  std::stringstream text;
  text << in.rdbuf();
  auto result = importComfyPromptText(text.str(), host.registry, promptFile);
  if (result.ok()) {
    for (auto& d : validateGraph(result.graph, host.registry)) {
      d.file = promptFile;
      result.diagnostics.push_back(std::move(d));
    }
  }
  for (const auto& d : result.diagnostics) std::cerr << d.format() << "\n";
  if (!result.ok()) return kExitInvalid;
  result.graph.name = std::filesystem::path(promptFile).stem().string();
  if (output.empty()) {
    std::cout << serializeGraph(result.graph);
  } else {
    saveGraphFile(result.graph, output);
    std::cerr << "wrote " << output << "\n";
  }
  return kExitOk;
}

int pluginsCommand(Host& host) {
  for (const auto& folder : PluginLoader::defaultSearchPath()) std::cout << "search: " << folder.string() << "\n";
  for (const auto& p : host.plugins) {
    if (p.loaded)
      std::cout << "loaded  " << p.name << " " << p.version << " (" << p.nodes.size() << " nodes) " << p.file.string() << "\n";
    else
      std::cout << "refused " << p.file.string() << ": " << p.error << "\n";
  }
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
#if defined(__GLIBC__)
  // Model nodes allocate and free the same large activation buffers every step; by default glibc
  // gives them back to the kernel and faults them in again, which doubles a CPU sampler step
  // (docs/benchmarks.md). Keep them. The environment (MALLOC_*_) still overrides.
  if (!std::getenv("MALLOC_MMAP_THRESHOLD_")) mallopt(M_MMAP_THRESHOLD, 1 << 30);
  if (!std::getenv("MALLOC_TRIM_THRESHOLD_")) mallopt(M_TRIM_THRESHOLD, 1 << 30);
#endif
  CLI::App app{"presence: run, validate and describe Presence node graphs headless.\n"
               "Exit codes: 0 success, 1 a node failed, 2 invalid graph or usage, 130 cancelled."};
  app.set_version_flag("--version", std::string("presence ") + PRESENCE_VERSION_STRING);
  app.require_subcommand(1);

  auto* run = app.add_subcommand("run", "Run a graph: compute its saving nodes (or the outputs named).");
  std::string graphFile, outDir = "out", events = "text";
  std::vector<std::string> sets, outputs;
  run->add_option("graph", graphFile, "Graph file (.json)")->required();
  run->add_option("--set", sets, "Override a parameter: node.param=value (value as JSON, else text)");
  run->add_option("--out", outDir, "Folder the saving nodes write into")->capture_default_str();
  run->add_option("--events", events, "Event output: text (terminal), json (JSON lines on stdout), none")
      ->check(CLI::IsMember({"text", "json", "none"}))
      ->capture_default_str();
  run->add_option("--output", outputs, "Compute only these outputs: node or node.port (repeatable)");

  auto* validate = app.add_subcommand("validate", "Check a graph and report every problem at once.");
  bool json = false;
  validate->add_option("graph", graphFile, "Graph file (.json)")->required();
  validate->add_flag("--json", json, "Print the diagnostics as JSON");

  auto* nodes = app.add_subcommand("nodes", "List the node types (built-in and plugins).");
  bool markdown = false;
  nodes->add_flag("--json", json, "Print every descriptor as JSON");
  nodes->add_flag("--markdown", markdown, "Print the node reference (docs/nodes.md)");

  auto* describe = app.add_subcommand("describe", "Show one node type's ports and parameters.");
  std::string nodeId;
  describe->add_option("node", nodeId, "Node id (presence.load_image) or ComfyUI class name")->required();
  describe->add_flag("--json", json, "Print the descriptor as JSON");

  auto* import = app.add_subcommand("import-comfy", "Convert a ComfyUI API-format prompt into a Presence graph.");
  std::string promptFile, output;
  import->add_option("prompt", promptFile, "ComfyUI API-format prompt (.json)")->required();
  import->add_option("-o,--output", output, "Write the graph here instead of to standard output");

  auto* plugins = app.add_subcommand("plugins", "List the plugin folders searched and the plugins loaded or refused.");

  auto* models = app.add_subcommand("models", "List the model presets, or print one preset's parameter manifest.");
  std::string manifestPreset;
  models->add_option("--manifest", manifestPreset,
                     "Print every parameter of this preset (name, shape, dtype, role), one a line, without "
                     "allocating weights; PRESET is [family:]name, e.g. iap, dit:small, text:umt5-xxl");
  models->add_flag("--json", json, "Print as JSON");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? kExitOk : kExitInvalid;
  }
  if (*models) return presence::cli::modelsCommand(manifestPreset, json);
  try {
    Host host;
    if (*run) return runCommand(host, graphFile, sets, outDir, events, outputs);
    if (*validate) return validateCommand(host, graphFile, json);
    if (*nodes) return nodesCommand(host, json, markdown);
    if (*describe) return describeCommand(host, nodeId, json);
    if (*import) return importComfyCommand(host, promptFile, output);
    if (*plugins) return pluginsCommand(host);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitInvalid;
  }
  return kExitInvalid;
}
