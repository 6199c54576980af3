// Graph validation against a registry: each problem named, all of them at once.
#include <gtest/gtest.h>

#include <algorithm>

#include "presence/core/validation.hpp"
#include "test_nodes.hpp"

using namespace presence::core;
using presence::test::addConst;
using presence::test::link;
using presence::test::testRegistry;

namespace {

std::string dump(const Diagnostics& diags) {
  std::string out;
  for (const auto& d : diags) out += d.format() + "\n";
  return out;
}

std::vector<const Diagnostic*> withCode(const Diagnostics& diags, const std::string& code) {
  std::vector<const Diagnostic*> out;
  for (const auto& d : diags)
    if (d.code == code) out.push_back(&d);
  return out;
}

/// A copy of the only diagnostic with `code`; fails the test when there is not exactly one.
Diagnostic only(const Diagnostics& diags, const std::string& code) {
  auto found = withCode(diags, code);
  EXPECT_EQ(found.size(), 1u) << "code " << code << " in:\n" << dump(diags);
  return found.empty() ? Diagnostic{} : *found.front();
}

Graph validChain() {
  Graph g;
  addConst(g, "one", 1);
  addConst(g, "two", 2);
  g.add("sum", "test.add");
  link(g, "sum", "a", "one", "value");
  link(g, "sum", "b", "two", "value");
  return g;
}

}  // namespace

TEST(Validation, ValidGraphHasNoDiagnostics) {
  auto g = validChain();
  g.outputs = {"sum", "sum.sum"};
  EXPECT_TRUE(validateGraph(g, testRegistry()).empty()) << dump(validateGraph(g, testRegistry()));
}

TEST(Validation, OptionalInputMayStayUnlinked) {
  Graph g;
  g.add("t", "test.text");
  g.add("c", "test.concat");
  link(g, "c", "a", "t", "text");
  EXPECT_TRUE(validateGraph(g, testRegistry()).empty());
}

TEST(Validation, UnknownNodeType) {
  Graph g;
  g.add("mystery", "test.does_not_exist");
  const auto diags = validateGraph(g, testRegistry());
  const auto& d = only(diags, "unknown-node-type");
  EXPECT_EQ(d.node, "mystery");
  EXPECT_NE(d.message.find("test.does_not_exist"), std::string::npos);
}

TEST(Validation, UnknownParam) {
  Graph g;
  addConst(g, "c", 1).params["colour"] = "red";
  const auto& d = only(validateGraph(g, testRegistry()), "unknown-param");
  EXPECT_EQ(d.node, "c");
  EXPECT_EQ(d.param, "colour");
}

TEST(Validation, InputGivenAsParamIsExplained) {
  auto g = validChain();
  g.find("sum")->params["a"] = 3;
  const auto& d = only(validateGraph(g, testRegistry()), "unknown-param");
  EXPECT_EQ(d.node, "sum");
  EXPECT_EQ(d.param, "a");
  EXPECT_NE(d.message.find("input"), std::string::npos) << d.message;
}

TEST(Validation, OutOfRangeParam) {
  Graph g;
  auto& p = g.add("p", "test.params");
  p.params["count"] = 11;
  p.params["gain"] = -0.5;
  const auto diags = validateGraph(g, testRegistry());
  auto bad = withCode(diags, "bad-param");
  ASSERT_EQ(bad.size(), 2u) << dump(diags);
  for (const auto* d : bad) EXPECT_EQ(d->node, "p");
  EXPECT_EQ(bad[0]->param, "count");
  EXPECT_NE(bad[0]->message.find("above the maximum 10"), std::string::npos) << bad[0]->message;
  EXPECT_EQ(bad[1]->param, "gain");
  EXPECT_NE(bad[1]->message.find("below the minimum"), std::string::npos) << bad[1]->message;
}

TEST(Validation, WrongParamType) {
  Graph g;
  auto& p = g.add("p", "test.params");
  p.params["count"] = "three";
  p.params["flag"] = 1;
  p.params["mode"] = "medium";
  p.params["label"] = 7;
  const auto diags = validateGraph(g, testRegistry());
  auto bad = withCode(diags, "bad-param");
  ASSERT_EQ(bad.size(), 4u) << dump(diags);
  std::vector<std::string> params;
  for (const auto* d : bad) {
    EXPECT_EQ(d->node, "p");
    params.push_back(d->param);
  }
  std::sort(params.begin(), params.end());
  EXPECT_EQ(params, (std::vector<std::string>{"count", "flag", "label", "mode"}));
}

TEST(Validation, MissingRequiredInput) {
  Graph g;
  addConst(g, "one", 1);
  g.add("sum", "test.add");
  link(g, "sum", "a", "one", "value");
  const auto& d = only(validateGraph(g, testRegistry()), "missing-input");
  EXPECT_EQ(d.node, "sum");
  EXPECT_EQ(d.port, "b");
}

TEST(Validation, UnknownInputPort) {
  auto g = validChain();
  link(g, "sum", "c", "one", "value");
  const auto& d = only(validateGraph(g, testRegistry()), "unknown-input");
  EXPECT_EQ(d.node, "sum");
  EXPECT_EQ(d.port, "c");
}

TEST(Validation, TypeMismatch) {
  auto g = validChain();
  g.add("t", "test.text");
  link(g, "sum", "b", "t", "text");  // STRING into INT
  const auto& d = only(validateGraph(g, testRegistry()), "type-mismatch");
  EXPECT_EQ(d.node, "sum");
  EXPECT_EQ(d.port, "b");
  EXPECT_NE(d.message.find("INT"), std::string::npos) << d.message;
  EXPECT_NE(d.message.find("STRING"), std::string::npos) << d.message;
  EXPECT_NE(d.message.find("t.text"), std::string::npos) << d.message;
}

TEST(Validation, DanglingLinkToMissingNode) {
  auto g = validChain();
  link(g, "sum", "b", "ghost", "value");
  const auto& d = only(validateGraph(g, testRegistry()), "dangling-link");
  EXPECT_EQ(d.node, "sum");
  EXPECT_EQ(d.port, "b");
  EXPECT_NE(d.message.find("'ghost'"), std::string::npos) << d.message;
}

TEST(Validation, DanglingLinkToMissingPort) {
  auto g = validChain();
  link(g, "sum", "b", "two", "nope");
  const auto& d = only(validateGraph(g, testRegistry()), "dangling-link");
  EXPECT_EQ(d.node, "sum");
  EXPECT_EQ(d.port, "b");
  EXPECT_NE(d.message.find("'nope'"), std::string::npos) << d.message;
}

TEST(Validation, TwoNodeCycleReportedOnce) {
  Graph g;
  g.add("x", "test.add");
  g.add("y", "test.add");
  addConst(g, "c", 1);
  link(g, "x", "a", "y", "sum");
  link(g, "x", "b", "c", "value");
  link(g, "y", "a", "x", "sum");
  link(g, "y", "b", "c", "value");
  const auto diags = validateGraph(g, testRegistry());
  const auto& d = only(diags, "cycle");
  EXPECT_TRUE(d.node == "x" || d.node == "y") << d.node;
  EXPECT_NE(d.message.find("x"), std::string::npos);
  EXPECT_NE(d.message.find("y"), std::string::npos);
  EXPECT_EQ(diags.size(), 1u) << dump(diags);
}

TEST(Validation, ThreeNodeCycleReportedOnce) {
  Graph g;
  for (auto id : {"p", "q", "r"}) g.add(id, "test.add");
  link(g, "p", "a", "r", "sum");
  link(g, "p", "b", "r", "sum");  // two links along the same edge: still one cycle
  link(g, "q", "a", "p", "sum");
  link(g, "q", "b", "p", "sum");
  link(g, "r", "a", "q", "sum");
  link(g, "r", "b", "q", "sum");
  const auto diags = validateGraph(g, testRegistry());
  const auto& d = only(diags, "cycle");
  for (auto id : {"p", "q", "r"}) EXPECT_NE(d.message.find(id), std::string::npos) << d.message;
  EXPECT_EQ(diags.size(), 1u) << dump(diags);
}

TEST(Validation, SelfLoopAndTwoSeparateCycles) {
  Graph g;
  g.add("self", "test.add");
  link(g, "self", "a", "self", "sum");
  link(g, "self", "b", "self", "sum");
  g.add("m", "test.add");
  g.add("n", "test.add");
  link(g, "m", "a", "n", "sum");
  link(g, "m", "b", "n", "sum");
  link(g, "n", "a", "m", "sum");
  link(g, "n", "b", "m", "sum");
  const auto diags = validateGraph(g, testRegistry());
  auto cycles = withCode(diags, "cycle");
  EXPECT_EQ(cycles.size(), 2u) << dump(diags);
}

TEST(Validation, UnknownRequestedOutput) {
  auto g = validChain();
  g.outputs = {"nobody", "sum.nothing", "sum.sum"};
  const auto diags = validateGraph(g, testRegistry());
  auto unknown = withCode(diags, "unknown-output");
  ASSERT_EQ(unknown.size(), 2u) << dump(diags);
  EXPECT_EQ(unknown[0]->node, "nobody");
  EXPECT_EQ(unknown[1]->node, "sum");
  EXPECT_EQ(unknown[1]->port, "nothing");
}

TEST(Validation, DuplicateNodeIds) {
  auto g = validChain();
  GraphNode dup;
  dup.id = "one";
  dup.type = "test.const_int";
  g.nodes.push_back(dup);  // Graph::add refuses this; a hand-made graph can still hold it
  const auto& d = only(validateGraph(g, testRegistry()), "duplicate-node");
  EXPECT_EQ(d.node, "one");
}

TEST(Validation, SeveralProblemsAllReported) {
  Graph g;
  g.add("unknown", "test.nope");
  auto& p = g.add("p", "test.params");
  p.params["count"] = 0;
  p.params["bogus"] = 1;
  g.add("sum", "test.add");
  g.add("t", "test.text");
  link(g, "sum", "a", "t", "text");
  link(g, "sum", "c", "p", "value");
  g.add("x", "test.add");
  g.add("y", "test.add");
  link(g, "x", "a", "y", "sum");
  link(g, "x", "b", "ghost", "value");
  link(g, "y", "a", "x", "sum");
  link(g, "y", "b", "p", "missing");
  g.outputs = {"nowhere"};
  const auto diags = validateGraph(g, testRegistry());
  for (const char* code : {"unknown-node-type", "bad-param", "unknown-param", "missing-input", "type-mismatch",
                           "unknown-input", "dangling-link", "cycle", "unknown-output"})
    EXPECT_FALSE(withCode(diags, code).empty()) << code << " missing from:\n" << dump(diags);
  EXPECT_EQ(withCode(diags, "dangling-link").size(), 2u) << dump(diags);
  for (const auto& d : diags) EXPECT_FALSE(d.node.empty()) << d.format();
}

TEST(Validation, ResolvedParamsFillDefaultsAndDropUnknown) {
  GraphNode n;
  n.id = "p";
  n.type = "test.params";
  n.params["count"] = 4;
  n.params["bogus"] = 1;
  const auto* d = testRegistry().find("test.params");
  ASSERT_NE(d, nullptr);
  const auto params = resolvedParams(n, *d);
  EXPECT_EQ(params["count"], 4);
  EXPECT_EQ(params["gain"], 0.5);
  EXPECT_EQ(params["mode"], "fast");
  EXPECT_EQ(params["flag"], false);
  EXPECT_FALSE(params.contains("bogus"));
  EXPECT_EQ(params.size(), d->params.size());
}
