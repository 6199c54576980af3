// Nodes for host-level tests (CLI exit codes, cancellation, failures). Loaded only by tests,
// through PRESENCE_PLUGIN_PATH, exactly as a third-party plugin would be.
#include <chrono>
#include <fstream>
#include <thread>

#include "presence/core/atomic_file.hpp"
#include "presence/core/plugin.hpp"

namespace {

using namespace presence::core;

class SleepNode final : public Node {
 public:
  void execute(NodeContext& ctx) override {
    const double seconds = ctx.paramFloat("seconds");
    const auto start = std::chrono::steady_clock::now();
    for (;;) {
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (elapsed >= seconds) break;
      ctx.throwIfCancelled();
      ctx.progress(elapsed / seconds, "sleeping");
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ctx.setOutput("value", Value::make(types::Float, seconds));
  }
};

class FailNode final : public Node {
 public:
  void execute(NodeContext& ctx) override {
    if (ctx.hasInput("after")) (void)ctx.input("after");
    throw std::runtime_error(ctx.paramString("message"));
  }
};

class WriteTextNode final : public Node {
 public:
  void execute(NodeContext& ctx) override {
    const auto target = ctx.outputDirectory() / ctx.paramString("filename");
    AtomicFile file(target);
    {
      std::ofstream out(file.tempPath());
      out << ctx.paramString("text");
      if (ctx.hasInput("after")) out << " " << ctx.inputAs<double>("after");
    }
    ctx.throwIfCancelled();
    file.commit();
    ctx.setOutput("files", Value::make(types::Files, FileList{{target.string()}}));
  }
};

PortSpec afterPort() { return {"after", std::string(types::Float), "Runs after this value is computed.", true}; }

}  // namespace

PRESENCE_PLUGIN("presence-test-nodes", "1.0") {
  {
    NodeDescriptor d;
    d.id = "presence.test_sleep";
    d.displayName = "Test: Sleep";
    d.category = "testing";
    d.description = "Sleeps, reporting progress and checking for cancellation every 10 ms.";
    d.comfyName = "PresenceTestSleep";
    ParamSpec seconds{"seconds", ParamType::Float, 0.1, 0.0, 3600.0, {}, {}, false, "", "How long to sleep."};
    d.params = {seconds};
    d.outputs = {{"value", std::string(types::Float), "The seconds slept."}};
    registry.add<SleepNode>(d);
  }
  {
    NodeDescriptor d;
    d.id = "presence.test_fail";
    d.displayName = "Test: Fail";
    d.category = "testing";
    d.description = "Throws an exception with the given message.";
    d.comfyName = "PresenceTestFail";
    d.inputs = {afterPort()};
    d.params = {ParamSpec{"message", ParamType::String, "deliberate failure", {}, {}, {}, {}, false, "", "The message."}};
    d.outputs = {{"value", std::string(types::Float), "Never set."}};
    registry.add<FailNode>(d);
  }
  {
    NodeDescriptor d;
    d.id = "presence.test_write_text";
    d.displayName = "Test: Write Text";
    d.category = "testing";
    d.description = "Writes a text file into the output folder, atomically.";
    d.comfyName = "PresenceTestWriteText";
    d.sideEffects = true;
    d.inputs = {afterPort()};
    d.params = {ParamSpec{"filename", ParamType::String, "note.txt", {}, {}, {}, {}, false, "", "File name."},
                ParamSpec{"text", ParamType::String, "hello", {}, {}, {}, {}, false, "", "Contents."}};
    d.outputs = {{"files", std::string(types::Files), "The file written."}};
    registry.add<WriteTextNode>(d);
  }
}
