// The graph file format: parsing, serialising, error reporting, command-line assignments.
#include <gtest/gtest.h>

#include <algorithm>

#include "presence/core/error.hpp"
#include "presence/core/graph.hpp"
#include "test_nodes.hpp"

using namespace presence::core;
using presence::test::TempDir;

namespace {

bool sameGraph(const Graph& a, const Graph& b) {
  if (a.name != b.name || a.outputs != b.outputs || a.nodes.size() != b.nodes.size()) return false;
  for (std::size_t i = 0; i < a.nodes.size(); ++i) {
    const auto &x = a.nodes[i], &y = b.nodes[i];
    if (x.id != y.id || x.type != y.type || x.title != y.title || x.params != y.params || x.inputs != y.inputs)
      return false;
  }
  return true;
}

const Diagnostic* findCode(const Diagnostics& diags, const std::string& code, const std::string& node = "") {
  for (const auto& d : diags)
    if (d.code == code && (node.empty() || d.node == node)) return &d;
  return nullptr;
}

std::size_t countCode(const Diagnostics& diags, const std::string& code) {
  return static_cast<std::size_t>(
      std::count_if(diags.begin(), diags.end(), [&](const Diagnostic& d) { return d.code == code; }));
}

std::string dump(const Diagnostics& diags) {
  std::string out;
  for (const auto& d : diags) out += d.format() + "\n";
  return out;
}

// The format's reference example: key order type, title, inputs, params; two-space indentation;
// links as "node.port"; a trailing newline.
const char* kGolden = R"({
  "format": "presence-graph",
  "version": 1,
  "name": "demo",
  "nodes": {
    "a": {
      "type": "test.const_int",
      "params": {
        "value": 2
      }
    },
    "b": {
      "type": "test.add",
      "title": "Sum",
      "inputs": {
        "a": "a.value",
        "b": "a.value"
      }
    }
  },
  "outputs": [
    "b.sum"
  ]
}
)";

Graph goldenGraph() {
  Graph g;
  g.name = "demo";
  presence::test::addConst(g, "a", 2);
  auto& b = g.add("b", "test.add");
  b.title = "Sum";
  b.inputs["b"] = Link{"a", "value"};
  b.inputs["a"] = Link{"a", "value"};
  g.outputs = {"b.sum"};
  return g;
}

}  // namespace

TEST(GraphFormat, SerializeMatchesTheFormat) { EXPECT_EQ(serializeGraph(goldenGraph()), kGolden); }

TEST(GraphFormat, ParseReadsEverything) {
  auto r = parseGraph(kGolden, "golden.json");
  ASSERT_TRUE(r.ok()) << dump(r.diagnostics);
  EXPECT_TRUE(r.diagnostics.empty());
  EXPECT_EQ(r.graph.name, "demo");
  ASSERT_EQ(r.graph.nodes.size(), 2u);
  EXPECT_EQ(r.graph.nodes[0].id, "a");
  EXPECT_EQ(r.graph.nodes[0].type, "test.const_int");
  EXPECT_EQ(r.graph.nodes[0].params["value"], 2);
  const auto* b = r.graph.find("b");
  ASSERT_NE(b, nullptr);
  EXPECT_EQ(b->title, "Sum");
  ASSERT_EQ(b->inputs.size(), 2u);
  EXPECT_EQ(b->inputs.at("a"), (Link{"a", "value"}));
  EXPECT_EQ(b->inputs.at("b").toString(), "a.value");
  EXPECT_EQ(r.graph.outputs, std::vector<std::string>{"b.sum"});
  EXPECT_TRUE(sameGraph(r.graph, goldenGraph()));
}

TEST(GraphFormat, RoundTripIsEqualAndStable) {
  const char* text = R"({
    "version": 1,
    "name": "round trip \u00e9\u00e8",
    "nodes": {
      "z_last": {"type": "test.params", "params": {"label": "caf\u00e9\nline two", "count": 3, "gain": 0.125,
                                                   "flag": true, "mode": "slow"}},
      "first-node": {"type": "test.text", "title": "T", "params": {"text": "x"}},
      "c": {"type": "test.concat", "inputs": {"b": "first-node.text", "a": "first-node.text"}}
    },
    "outputs": ["c", "z_last.value"]
  })";
  auto first = parseGraph(text);
  ASSERT_TRUE(first.ok()) << dump(first.diagnostics);
  const auto once = serializeGraph(first.graph);
  auto second = parseGraph(once);
  ASSERT_TRUE(second.ok()) << dump(second.diagnostics);
  EXPECT_TRUE(sameGraph(first.graph, second.graph)) << once;
  EXPECT_EQ(serializeGraph(second.graph), once);
  // Node order and parameter order are the file's, so a save makes a small diff.
  EXPECT_EQ(second.graph.nodes[0].id, "z_last");
  EXPECT_EQ(second.graph.nodes[1].id, "first-node");
  auto keys = second.graph.nodes[0].params.items().begin();
  EXPECT_EQ(keys.key(), "label");
  EXPECT_EQ(second.graph.nodes[0].params["label"], "caf\u00e9\nline two");
  EXPECT_EQ(second.graph.nodes[0].params["gain"], 0.125);
}

TEST(GraphFormat, LinkTextUsesTheLastDot) {
  auto r = parseGraph(R"({"version": 1, "nodes": {"s": {"type": "t", "inputs": {"in": "src.out"}}}})");
  ASSERT_TRUE(r.ok()) << dump(r.diagnostics);
  EXPECT_EQ(r.graph.nodes[0].inputs.at("in"), (Link{"src", "out"}));
}

TEST(GraphFormat, BadLinksAreReportedWithPort) {
  auto r = parseGraph(R"({"version": 1, "nodes": {
      "s": {"type": "t", "inputs": {"one": "nodot", "two": ".port", "three": "node.", "four": 3}}}})");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(countCode(r.diagnostics, "bad-link"), 4u) << dump(r.diagnostics);
  for (const auto& d : r.diagnostics) {
    if (d.code != "bad-link") continue;
    EXPECT_EQ(d.node, "s");
    EXPECT_FALSE(d.port.empty());
  }
}

TEST(GraphFormat, MalformedJsonReportsLineAndColumn) {
  // Trailing comma on line 5: the parser stops at the '}' in column 36.
  const char* text =
      "{\n"
      "  \"format\": \"presence-graph\",\n"
      "  \"version\": 1,\n"
      "  \"nodes\": {\n"
      "    \"a\": {\"type\": \"test.const_int\",}\n"
      "  }\n"
      "}\n";
  auto r = parseGraph(text, "broken.json");
  ASSERT_EQ(r.diagnostics.size(), 1u) << dump(r.diagnostics);
  const auto& d = r.diagnostics[0];
  EXPECT_EQ(d.code, "malformed-json");
  EXPECT_EQ(d.file, "broken.json");
  EXPECT_EQ(d.line, 5);
  EXPECT_EQ(d.column, 36);
  EXPECT_NE(d.message.find("malformed JSON"), std::string::npos) << d.message;
  EXPECT_EQ(d.message.find("[json.exception"), std::string::npos) << d.message;  // no library noise
  EXPECT_EQ(d.format().rfind("broken.json:5:36: error: ", 0), 0u) << d.format();
}

TEST(GraphFormat, MalformedJsonOnFirstLineAndTruncatedFile) {
  auto r = parseGraph("{\"version\" 1}");
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].line, 1);
  EXPECT_EQ(r.diagnostics[0].column, 12);  // the '1' where ':' was expected
  auto t = parseGraph("{\n  \"version\": 1,\n  \"nodes\": {");
  ASSERT_EQ(t.diagnostics.size(), 1u);
  EXPECT_EQ(t.diagnostics[0].code, "malformed-json");
  EXPECT_EQ(t.diagnostics[0].line, 3);
}

TEST(GraphFormat, LineColumnCountsCharactersNotBytes) {
  const std::string text = "ab\n\xc3\xa9\xc3\xa9x";  // "ab\néé x": é is two bytes
  EXPECT_EQ(lineColumnAt(text, 0), std::make_pair(1, 1));
  EXPECT_EQ(lineColumnAt(text, 2), std::make_pair(1, 3));
  EXPECT_EQ(lineColumnAt(text, 3), std::make_pair(2, 1));
  EXPECT_EQ(lineColumnAt(text, 7), std::make_pair(2, 3));  // the 'x' after two é
  EXPECT_EQ(lineColumnAt(text, 1000), std::make_pair(2, 4));
}

TEST(GraphFormat, EveryStructuralProblemAtOnce) {
  const char* text = R"({
    "format": "something-else",
    "version": 1,
    "extra": true,
    "name": 5,
    "nodes": {
      "bad id": {"type": "t"},
      "not_object": 3,
      "no_type": {"params": {}},
      "bad_fields": {"type": "t", "params": [], "inputs": {"x": "nodot"}, "title": 1, "colour": "red"},
      "fine": {"type": "t"}
    },
    "outputs": ["fine", 7]
  })";
  auto r = parseGraph(text, "many.json");
  EXPECT_FALSE(r.ok());
  const auto& d = r.diagnostics;
  EXPECT_TRUE(findCode(d, "bad-node-id", "bad id")) << dump(d);
  EXPECT_TRUE(findCode(d, "bad-graph", "not_object")) << dump(d);
  EXPECT_TRUE(findCode(d, "bad-graph", "no_type")) << dump(d);
  EXPECT_TRUE(findCode(d, "bad-link", "bad_fields")) << dump(d);
  int badFields = 0, topLevel = 0;
  for (const auto& x : d) {
    EXPECT_EQ(x.file, "many.json");
    if (x.node == "bad_fields" && x.code == "bad-graph") ++badFields;  // params, title, colour
    if (x.node.empty()) ++topLevel;                                     // format, extra, name, outputs[1]
  }
  EXPECT_EQ(badFields, 3) << dump(d);
  EXPECT_EQ(topLevel, 4) << dump(d);
  // The partial graph still has the nodes that could be read.
  EXPECT_NE(r.graph.find("fine"), nullptr);
  EXPECT_EQ(r.graph.outputs, std::vector<std::string>{"fine"});
}

TEST(GraphFormat, DuplicateNodeIdsAreReported) {
  // JSON parsers keep one of two equal keys silently; the graph format must not lose a node that way.
  const char* text = R"({"version": 1, "nodes": {
      "a": {"type": "test.const_int", "params": {"value": 1}},
      "a": {"type": "test.const_int", "params": {"value": 2}}}})";
  auto r = parseGraph(text, "dup.json");
  EXPECT_FALSE(r.ok()) << "two nodes named 'a' were accepted";
  const auto* d = findCode(r.diagnostics, "duplicate-node", "a");
  EXPECT_NE(d, nullptr) << dump(r.diagnostics);
}

TEST(GraphFormat, MissingOrWrongFields) {
  auto noVersion = parseGraph(R"({"nodes": {}})");
  EXPECT_FALSE(noVersion.ok());
  EXPECT_NE(dump(noVersion.diagnostics).find("'version'"), std::string::npos);
  auto noNodes = parseGraph(R"({"version": 1})");
  EXPECT_FALSE(noNodes.ok());
  EXPECT_NE(dump(noNodes.diagnostics).find("'nodes'"), std::string::npos);
  auto notObject = parseGraph("[1, 2]");
  EXPECT_FALSE(notObject.ok());
  EXPECT_EQ(notObject.diagnostics.size(), 1u);
  auto outputsNotArray = parseGraph(R"({"version": 1, "nodes": {}, "outputs": "a"})");
  EXPECT_FALSE(outputsNotArray.ok());
}

TEST(GraphFormat, UnsupportedNewerVersion) {
  auto r = parseGraph(R"({"format": "presence-graph", "version": 2, "nodes": {}})", "new.json");
  EXPECT_FALSE(r.ok());
  const auto* d = findCode(r.diagnostics, "unsupported-version");
  ASSERT_NE(d, nullptr) << dump(r.diagnostics);
  EXPECT_NE(d->message.find("version 2"), std::string::npos) << d->message;
  EXPECT_NE(d->message.find(std::to_string(kGraphFormatVersion)), std::string::npos) << d->message;
  auto zero = parseGraph(R"({"version": 0, "nodes": {}})");
  EXPECT_NE(findCode(zero.diagnostics, "unsupported-version"), nullptr);
}

// DISABLED: known design gap. parseGraph accepts a top-level "metadata" field (editor layout,
// notes) but Graph has nowhere to keep it, so load + save silently drops it. Fixing it needs a
// `metadata` member in Graph (graph.hpp); enable this test then.
TEST(GraphFormat, MetadataSurvivesARoundTrip) {
  // "metadata" is an accepted top-level field (editor layout, notes); an editor that loads and saves
  // a graph must not drop it.
  const char* text = R"({"version": 1, "nodes": {}, "metadata": {"editor": {"zoom": 2}}})";
  auto r = parseGraph(text);
  ASSERT_TRUE(r.ok()) << dump(r.diagnostics);
  const auto saved = serializeGraph(r.graph);
  EXPECT_NE(saved.find("\"zoom\""), std::string::npos) << saved;
}

TEST(GraphFormat, SetFromText) {
  Graph g;
  g.add("a", "test.params");
  g.setFromText("a.count=5");
  EXPECT_EQ(g.find("a")->params["count"], 5);
  EXPECT_TRUE(g.find("a")->params["count"].is_number_integer());
  g.setFromText("a.gain=0.25");
  EXPECT_EQ(g.find("a")->params["gain"], 0.25);
  g.setFromText("a.flag=true");
  EXPECT_EQ(g.find("a")->params["flag"], true);
  g.setFromText("a.mode=slow");  // a bare word is a string
  EXPECT_EQ(g.find("a")->params["mode"], "slow");
  g.setFromText("a.label=\"42\"");  // quoted: a string even though it looks like a number
  EXPECT_EQ(g.find("a")->params["label"], "42");
  g.setFromText("a.label=out.png");
  EXPECT_EQ(g.find("a")->params["label"], "out.png");
  g.setFromText("a.label=x=y");  // only the first '=' separates
  EXPECT_EQ(g.find("a")->params["label"], "x=y");
  g.setFromText("a.list=[1, 2]");
  EXPECT_EQ(g.find("a")->params["list"], nlohmann::ordered_json::array({1, 2}));
}

TEST(GraphFormat, SetFromTextErrors) {
  Graph g;
  g.add("a", "test.params");
  try {
    g.setFromText("nope.count=1");
    FAIL() << "unknown node accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("'nope'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(g.setFromText("a.count"), InputError);
  EXPECT_THROW(g.setFromText("count=1"), InputError);
  EXPECT_THROW(g.setFromText(".count=1"), InputError);
  EXPECT_THROW(g.setFromText("a.=1"), InputError);
  EXPECT_TRUE(g.find("a")->params.empty());
}

TEST(GraphFormat, AddRefusesDuplicateIds) {
  Graph g;
  g.add("a", "t");
  EXPECT_THROW(g.add("a", "t"), Error);
  EXPECT_EQ(g.nodes.size(), 1u);
}

TEST(GraphFormat, SaveAndLoadFile) {
  TempDir dir;
  const auto file = dir.path() / "sub" / "graph.json";
  saveGraphFile(goldenGraph(), file);
  EXPECT_EQ(presence::test::readText(file), kGolden);
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"sub"});
  std::vector<std::string> inSub;
  for (const auto& e : std::filesystem::directory_iterator(dir.path() / "sub")) inSub.push_back(e.path().filename());
  EXPECT_EQ(inSub, std::vector<std::string>{"graph.json"});  // no temporary left behind
  auto r = loadGraphFile(file);
  ASSERT_TRUE(r.ok()) << dump(r.diagnostics);
  EXPECT_TRUE(sameGraph(r.graph, goldenGraph()));
  EXPECT_EQ(r.graph.directory, std::filesystem::absolute(dir.path() / "sub"));
}

TEST(GraphFormat, LoadMissingFile) {
  TempDir dir;
  auto r = loadGraphFile(dir.path() / "absent.json");
  EXPECT_FALSE(r.ok());
  ASSERT_EQ(r.diagnostics.size(), 1u);
  EXPECT_EQ(r.diagnostics[0].code, "missing-file");
  EXPECT_NE(r.diagnostics[0].file.find("absent.json"), std::string::npos);
}

TEST(Diagnostic, FormatAndJson) {
  Diagnostic d;
  d.code = "bad-param";
  d.file = "graph.json";
  d.line = 3;
  d.column = 14;
  d.node = "save";
  d.param = "fps";
  d.message = "0 is below the minimum 1";
  EXPECT_EQ(d.format(), "graph.json:3:14: error: node 'save', parameter 'fps': 0 is below the minimum 1");
  const auto j = d.toJson();
  EXPECT_EQ(j["code"], "bad-param");
  EXPECT_EQ(j["node"], "save");
  EXPECT_EQ(j["param"], "fps");
  EXPECT_EQ(j["line"], 3);
  EXPECT_FALSE(j.contains("port"));
  Diagnostics list{d};
  EXPECT_TRUE(hasErrors(list));
  list[0].severity = Severity::Warning;
  EXPECT_FALSE(hasErrors(list));
  EXPECT_EQ(list[0].format().find("warning: "), std::string("graph.json:3:14: ").size());
}
