// Import of ComfyUI API-format prompts that use our nodes' ComfyUI class names.
#include <gtest/gtest.h>

#include "presence/core/comfy_import.hpp"
#include "presence/core/validation.hpp"
#include "test_nodes.hpp"

using namespace presence::core;
using nlohmann::json;
using presence::test::testRegistry;

namespace {

std::string dump(const Diagnostics& diags) {
  std::string out;
  for (const auto& d : diags) out += d.format() + "\n";
  return out;
}

const Diagnostic* findCode(const Diagnostics& diags, const std::string& code) {
  for (const auto& d : diags)
    if (d.code == code) return &d;
  return nullptr;
}

json prompt() {
  return json::parse(R"({
    "3": {"class_type": "TestPair", "inputs": {"value": 7}, "_meta": {"title": "Pair"}},
    "4": {"class_type": "TestConstInt", "inputs": {"value": 5}},
    "5": {"class_type": "TestAdd", "inputs": {"a": ["3", 0], "b": ["4", 0]}},
    "6": {"class_type": "TestConcat", "inputs": {"a": ["3", 1]}}
  })");
}

}  // namespace

TEST(ComfyImport, LinksBecomeNamedOutputsAndLiteralsBecomeParams) {
  auto r = importComfyPrompt(prompt(), testRegistry());
  ASSERT_TRUE(r.ok()) << dump(r.diagnostics);
  EXPECT_TRUE(r.diagnostics.empty());
  ASSERT_EQ(r.graph.nodes.size(), 4u);
  const auto* pair = r.graph.find("3");
  ASSERT_NE(pair, nullptr);
  EXPECT_EQ(pair->type, "test.pair");
  EXPECT_EQ(pair->title, "Pair");
  EXPECT_EQ(pair->params["value"], 7);
  EXPECT_TRUE(pair->inputs.empty());
  const auto* add = r.graph.find("5");
  ASSERT_NE(add, nullptr);
  EXPECT_EQ(add->type, "test.add");
  EXPECT_EQ(add->inputs.at("a"), (Link{"3", "first"}));
  EXPECT_EQ(add->inputs.at("b"), (Link{"4", "value"}));
  EXPECT_TRUE(add->params.empty());
  // Index 1 of TestPair is its second output, "second".
  EXPECT_EQ(r.graph.find("6")->inputs.at("a"), (Link{"3", "second"}));
  // What comes out is a graph the validator accepts.
  EXPECT_TRUE(validateGraph(r.graph, testRegistry()).empty()) << dump(validateGraph(r.graph, testRegistry()));
}

TEST(ComfyImport, NumericNodeIdsInLinks) {
  auto p = json::parse(R"({
    "1": {"class_type": "TestConstInt", "inputs": {"value": 1}},
    "2": {"class_type": "TestAdd", "inputs": {"a": [1, 0], "b": ["1", 0]}}
  })");
  auto r = importComfyPrompt(p, testRegistry());
  ASSERT_TRUE(r.ok()) << dump(r.diagnostics);
  EXPECT_EQ(r.graph.find("2")->inputs.at("a"), (Link{"1", "value"}));
  EXPECT_EQ(r.graph.find("2")->inputs.at("b"), (Link{"1", "value"}));
}

TEST(ComfyImport, PromptWrapperAccepted) {
  json wrapped{{"prompt", prompt()}, {"client_id", "abc"}};
  auto r = importComfyPrompt(wrapped, testRegistry());
  ASSERT_TRUE(r.ok()) << dump(r.diagnostics);
  EXPECT_EQ(r.graph.nodes.size(), 4u);
  EXPECT_EQ(r.graph.find("5")->inputs.at("a"), (Link{"3", "first"}));
}

TEST(ComfyImport, UnknownClassReported) {
  auto p = prompt();
  p["9"] = {{"class_type", "KSampler"}, {"inputs", {{"seed", 1}}}};
  auto r = importComfyPrompt(p, testRegistry());
  EXPECT_FALSE(r.ok());
  const auto* d = findCode(r.diagnostics, "unknown-node-type");
  ASSERT_NE(d, nullptr) << dump(r.diagnostics);
  EXPECT_EQ(d->node, "9");
  EXPECT_NE(d->message.find("KSampler"), std::string::npos);
  EXPECT_EQ(r.diagnostics.size(), 1u) << dump(r.diagnostics);
  EXPECT_EQ(r.graph.find("9"), nullptr);
}

TEST(ComfyImport, UnknownInputsReported) {
  auto p = prompt();
  p["5"]["inputs"]["c"] = json::array({"4", 0});  // a link into no input
  p["4"]["inputs"]["colour"] = "red";             // a literal for no parameter
  p["6"]["inputs"]["b"] = "literal";              // a literal where a link is needed
  auto r = importComfyPrompt(p, testRegistry());
  EXPECT_FALSE(r.ok());
  ASSERT_EQ(r.diagnostics.size(), 3u) << dump(r.diagnostics);
  bool link = false, literal = false, needsLink = false;
  for (const auto& d : r.diagnostics) {
    if (d.node == "5" && d.port == "c" && d.code == "unknown-input") link = true;
    if (d.node == "4" && d.param == "colour") literal = true;
    if (d.node == "6" && d.param == "b" && d.message.find("link") != std::string::npos) needsLink = true;
  }
  EXPECT_TRUE(link) << dump(r.diagnostics);
  EXPECT_TRUE(literal) << dump(r.diagnostics);
  EXPECT_TRUE(needsLink) << dump(r.diagnostics);
}

TEST(ComfyImport, BadOutputIndexReported) {
  auto p = prompt();
  p["5"]["inputs"]["a"] = json::array({"3", 2});  // TestPair has outputs 0 and 1
  p["5"]["inputs"]["b"] = json::array({"4", -1});
  auto r = importComfyPrompt(p, testRegistry());
  EXPECT_FALSE(r.ok());
  int bad = 0;
  for (const auto& d : r.diagnostics) {
    EXPECT_EQ(d.node, "5");
    if (d.code == "dangling-link" && (d.port == "a" || d.port == "b")) ++bad;
  }
  EXPECT_EQ(bad, 2) << dump(r.diagnostics);
  EXPECT_TRUE(r.graph.find("5")->inputs.empty());
}

TEST(ComfyImport, LinkToMissingNodeReported) {
  auto p = prompt();
  p["5"]["inputs"]["a"] = json::array({"42", 0});
  auto r = importComfyPrompt(p, testRegistry());
  const auto* d = findCode(r.diagnostics, "dangling-link");
  ASSERT_NE(d, nullptr) << dump(r.diagnostics);
  EXPECT_EQ(d->node, "5");
  EXPECT_EQ(d->port, "a");
  EXPECT_NE(d->message.find("42"), std::string::npos);
}

TEST(ComfyImport, MalformedNodesAndPrompts) {
  auto p = json::parse(R"({"1": {"inputs": {}}, "2": 5, "3": {"class_type": 4}})");
  auto r = importComfyPrompt(p, testRegistry());
  EXPECT_EQ(r.diagnostics.size(), 3u) << dump(r.diagnostics);
  for (const auto& d : r.diagnostics) EXPECT_EQ(d.code, "bad-prompt");
  EXPECT_FALSE(importComfyPrompt(json::array({1, 2}), testRegistry()).ok());
}

TEST(ComfyImport, FromTextWithFileNameAndMalformedJson) {
  auto ok = importComfyPromptText(prompt().dump(), testRegistry(), "workflow_api.json");
  EXPECT_TRUE(ok.ok()) << dump(ok.diagnostics);
  auto unknown = importComfyPromptText(R"({"1": {"class_type": "Nope", "inputs": {}}})", testRegistry(), "w.json");
  ASSERT_EQ(unknown.diagnostics.size(), 1u);
  EXPECT_EQ(unknown.diagnostics[0].file, "w.json");
  auto broken = importComfyPromptText("{\n  \"1\": {\"class_type\": }\n}", testRegistry(), "w.json");
  ASSERT_EQ(broken.diagnostics.size(), 1u);
  EXPECT_EQ(broken.diagnostics[0].code, "malformed-json");
  EXPECT_EQ(broken.diagnostics[0].file, "w.json");
  EXPECT_EQ(broken.diagnostics[0].line, 2);
  EXPECT_EQ(broken.diagnostics[0].column, 23);  // the "}" where a value was expected
}

TEST(ComfyImportPromptId, ANodeCalledPromptIsANodeNotAWrapper) {
  const auto prompt = nlohmann::json::parse(R"({
    "prompt": {"class_type": "TestConstInt", "inputs": {"value": 4}},
    "2": {"class_type": "TestAdd", "inputs": {"a": ["prompt", 0], "b": ["prompt", 0]}}})");
  const auto r = presence::core::importComfyPrompt(prompt, presence::test::testRegistry());
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.graph.nodes.size(), 2u);
  EXPECT_NE(r.graph.find("prompt"), nullptr);
}
