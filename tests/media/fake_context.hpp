// A NodeContext for running one node directly in a test: parameters start at their defaults,
// inputs are linked by hand, and outputs, progress, previews and logs are recorded.
#pragma once

#include <gtest/gtest.h>

#include <filesystem>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "presence/core/node.hpp"
#include "presence/core/registry.hpp"

namespace presence::testing {

namespace fs = std::filesystem;
using namespace presence::core;

class FakeContext final : public NodeContext {
 public:
  FakeContext(const NodeDescriptor& d, fs::path graphDir, fs::path outDir)
      : descriptor_(d), graphDir_(std::move(graphDir)), outDir_(std::move(outDir)) {
    for (const auto& p : d.params) params_[p.name] = p.defaultValue;
  }
  FakeContext& set(const std::string& name, nlohmann::json value) {
    EXPECT_NE(descriptor_.findParam(name), nullptr) << name;
    params_[name] = std::move(value);
    return *this;
  }
  FakeContext& link(const std::string& port, Value v) {
    inputs_[port] = std::move(v);
    return *this;
  }

  const NodeDescriptor& descriptor() const override { return descriptor_; }
  const std::string& nodeId() const override { return id_; }
  bool hasInput(std::string_view port) const override { return inputs_.count(std::string(port)) > 0; }
  const Value& input(std::string_view port) const override {
    auto it = inputs_.find(std::string(port));
    if (it == inputs_.end()) throw Error("input not linked: " + std::string(port));
    return it->second;
  }
  const nlohmann::json& param(std::string_view name) const override {
    auto it = params_.find(std::string(name));
    if (it == params_.end()) throw Error("unknown parameter " + std::string(name));
    return it->second;
  }
  void setOutput(std::string_view port, Value value) override {
    EXPECT_NE(descriptor_.findOutput(port), nullptr) << port;
    EXPECT_EQ(value.type(), descriptor_.findOutput(port)->type) << port;
    outputs[std::string(port)] = std::move(value);
  }
  void progress(double fraction, std::string_view message) override {
    progressSeen.push_back(fraction);
    if (onProgress) onProgress(message);
  }
  void preview(const Value&) override { ++previews; }
  void log(LogLevel, std::string_view message) override { logs.emplace_back(message); }
  bool cancelled() const override { return cancel; }
  const fs::path& graphDirectory() const override { return graphDir_; }
  const fs::path& outputDirectory() const override { return outDir_; }

  std::map<std::string, Value> outputs;
  std::vector<double> progressSeen;
  std::function<void(std::string_view message)> onProgress;  // called on the thread that reports it
  std::vector<std::string> logs;
  int previews = 0;
  bool cancel = false;

 private:
  const NodeDescriptor& descriptor_;
  std::string id_ = "node";
  fs::path graphDir_, outDir_;
  std::map<std::string, nlohmann::json> params_;
  std::map<std::string, Value> inputs_;
};

/// Runs node `id` in `ctx` expecting it to fail; returns "<param>: <message>" for a parameter
/// error, "input: <message>" for another input error, "(ran)" when it did not fail.
inline std::string failureOf(const NodeRegistry& registry, const std::string& id, FakeContext& ctx) {
  try {
    registry.create(id)->execute(ctx);
  } catch (const ParamError& e) {
    return e.param() + ": " + e.what();
  } catch (const InputError& e) {
    return std::string("input: ") + e.what();
  }
  return "(ran)";
}

}  // namespace presence::testing
