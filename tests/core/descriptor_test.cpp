// Node descriptors: parameter checks, descriptor checks, and the registry's refusals.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "presence/core/descriptor.hpp"
#include "presence/core/error.hpp"
#include "presence/core/registry.hpp"
#include "test_nodes.hpp"

using namespace presence::core;
using nlohmann::json;

namespace {

ParamSpec spec(ParamType type, json defaultValue) {
  ParamSpec p;
  p.name = "p";
  p.type = type;
  p.defaultValue = std::move(defaultValue);
  return p;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

bool anyContains(const std::vector<std::string>& list, const std::string& part) {
  for (const auto& s : list)
    if (contains(s, part)) return true;
  return false;
}

NodeDescriptor goodDescriptor(const std::string& id = "t.good", const std::string& comfy = "TGood") {
  NodeDescriptor d;
  d.id = id;
  d.comfyName = comfy;
  d.inputs = {{"in", "INT", "", false}};
  auto p = spec(ParamType::Int, 3);
  p.name = "count";
  p.min = 1;
  p.max = 5;
  d.params = {p};
  d.outputs = {{"out", "INT", "", false}};
  return d;
}

class NoopNode final : public Node {
 public:
  void execute(NodeContext&) override {}
};

}  // namespace

TEST(CheckParamValue, IntAcceptsIntegersAndIntegralFloats) {
  auto p = spec(ParamType::Int, 0);
  EXPECT_EQ(checkParamValue(p, 42), "");
  EXPECT_EQ(checkParamValue(p, -7), "");
  EXPECT_EQ(checkParamValue(p, 3.0), "");  // written by a tool that stores every number as double
}

TEST(CheckParamValue, IntRejectsFractionsStringsBoolsAndNull) {
  auto p = spec(ParamType::Int, 0);
  EXPECT_TRUE(contains(checkParamValue(p, 2.5), "integer"));
  EXPECT_TRUE(contains(checkParamValue(p, "3"), "integer"));
  EXPECT_TRUE(contains(checkParamValue(p, true), "integer"));
  EXPECT_TRUE(contains(checkParamValue(p, nullptr), "integer"));
  EXPECT_TRUE(contains(checkParamValue(p, json::array({1})), "integer"));
}

TEST(CheckParamValue, IntRejectsNonFiniteValues) {
  auto p = spec(ParamType::Int, 0);  // no min/max: only the type check stands in the way
  EXPECT_NE(checkParamValue(p, std::numeric_limits<double>::infinity()), "");
  EXPECT_NE(checkParamValue(p, -std::numeric_limits<double>::infinity()), "");
  EXPECT_NE(checkParamValue(p, std::nan("")), "");
}

TEST(CheckParamValue, IntMustFitInt64) {
  // NodeContext::paramInt reads the value as std::int64_t.
  auto p = spec(ParamType::Int, 0);
  EXPECT_NE(checkParamValue(p, 1e300), "");
  EXPECT_NE(checkParamValue(p, 9223372036854775808.0), "");
  EXPECT_NE(checkParamValue(p, std::numeric_limits<std::uint64_t>::max()), "");
  EXPECT_EQ(checkParamValue(p, std::numeric_limits<std::int64_t>::max()), "");
  EXPECT_EQ(checkParamValue(p, std::numeric_limits<std::int64_t>::min()), "");
  EXPECT_EQ(checkParamValue(p, 1e15), "");
}

TEST(CheckParamValue, IntRange) {
  auto p = spec(ParamType::Int, 5);
  p.min = 1;
  p.max = 10;
  EXPECT_EQ(checkParamValue(p, 1), "");
  EXPECT_EQ(checkParamValue(p, 10), "");
  const auto below = checkParamValue(p, 0);
  EXPECT_TRUE(contains(below, "below the minimum 1")) << below;
  EXPECT_TRUE(contains(below, "0")) << below;
  const auto above = checkParamValue(p, 42);
  EXPECT_TRUE(contains(above, "42 is above the maximum 10")) << above;
}

TEST(CheckParamValue, FloatTypeAndRange) {
  auto p = spec(ParamType::Float, 0.5);
  p.min = 0.0;
  p.max = 1.0;
  EXPECT_EQ(checkParamValue(p, 0.25), "");
  EXPECT_EQ(checkParamValue(p, 1), "");  // an integer is a number too
  EXPECT_EQ(checkParamValue(p, 0.0), "");
  EXPECT_TRUE(contains(checkParamValue(p, "0.5"), "number"));
  EXPECT_TRUE(contains(checkParamValue(p, false), "number"));
  EXPECT_TRUE(contains(checkParamValue(p, -0.5), "below the minimum"));
  EXPECT_TRUE(contains(checkParamValue(p, 1.5), "above the maximum"));
  auto unbounded = spec(ParamType::Float, 0.0);
  EXPECT_NE(checkParamValue(unbounded, std::numeric_limits<double>::infinity()), "");
  EXPECT_NE(checkParamValue(unbounded, std::nan("")), "");
}

TEST(CheckParamValue, Bool) {
  auto p = spec(ParamType::Bool, false);
  EXPECT_EQ(checkParamValue(p, true), "");
  EXPECT_EQ(checkParamValue(p, false), "");
  EXPECT_TRUE(contains(checkParamValue(p, 1), "true or false"));
  EXPECT_TRUE(contains(checkParamValue(p, "true"), "true or false"));
}

TEST(CheckParamValue, StringAndPath) {
  for (auto type : {ParamType::String, ParamType::Path}) {
    auto p = spec(type, "");
    EXPECT_EQ(checkParamValue(p, "hello"), "");
    EXPECT_EQ(checkParamValue(p, ""), "");
    EXPECT_TRUE(contains(checkParamValue(p, 3), "string"));
    EXPECT_TRUE(contains(checkParamValue(p, nullptr), "string"));
  }
}

TEST(CheckParamValue, EnumOptions) {
  auto p = spec(ParamType::Enum, "png");
  p.options = {"png", "exr", "jpg"};
  EXPECT_EQ(checkParamValue(p, "exr"), "");
  const auto wrong = checkParamValue(p, "gif");
  EXPECT_TRUE(contains(wrong, "'gif'")) << wrong;
  EXPECT_TRUE(contains(wrong, "png, exr, jpg")) << wrong;  // tells the allowed values
  EXPECT_NE(checkParamValue(p, "PNG"), "");                // case matters
  EXPECT_NE(checkParamValue(p, 0), "");                    // not an index
}

TEST(CheckDescriptor, WellFormedHasNoProblems) { EXPECT_TRUE(checkDescriptor(goodDescriptor()).empty()); }

TEST(CheckDescriptor, EmptyIdAndBadVersion) {
  auto d = goodDescriptor();
  d.id = "";
  d.version = 0;
  const auto problems = checkDescriptor(d);
  EXPECT_TRUE(anyContains(problems, "empty id"));
  EXPECT_TRUE(anyContains(problems, "version"));
}

TEST(CheckDescriptor, DuplicateNames) {
  auto d = goodDescriptor();
  d.inputs.push_back({"in", "INT", "", false});
  d.outputs.push_back({"out", "FLOAT", "", false});
  d.params.push_back(d.params.front());
  const auto problems = checkDescriptor(d);
  EXPECT_TRUE(anyContains(problems, "duplicate input 'in'"));
  EXPECT_TRUE(anyContains(problems, "duplicate output 'out'"));
  EXPECT_TRUE(anyContains(problems, "duplicate param 'count'"));
}

TEST(CheckDescriptor, ParamSharingAnInputsName) {
  auto d = goodDescriptor();
  d.params.front().name = "in";
  EXPECT_TRUE(anyContains(checkDescriptor(d), "'in' is both an input and a parameter"));
}

TEST(CheckDescriptor, NamesWithDotsOrEmptyAndMissingTypes) {
  auto d = goodDescriptor();
  d.inputs.push_back({"a.b", "INT", "", false});
  d.outputs.push_back({"", "INT", "", false});
  d.outputs.push_back({"untyped", "", "", false});
  const auto problems = checkDescriptor(d);
  EXPECT_TRUE(anyContains(problems, "'a.b'"));
  EXPECT_TRUE(anyContains(problems, "output name ''"));
  EXPECT_TRUE(anyContains(problems, "output 'untyped' has no type"));
}

TEST(CheckDescriptor, BadDefaults) {
  auto d = goodDescriptor();
  d.params.front().defaultValue = 99;  // above max 5
  auto f = spec(ParamType::Float, "fast");
  f.name = "gain";
  d.params.push_back(f);
  const auto problems = checkDescriptor(d);
  EXPECT_TRUE(anyContains(problems, "default of parameter 'count'"));
  EXPECT_TRUE(anyContains(problems, "default of parameter 'gain'"));
}

TEST(CheckDescriptor, EmptyEnum) {
  auto d = goodDescriptor();
  auto e = spec(ParamType::Enum, "");
  e.name = "mode";
  d.params.push_back(e);
  EXPECT_TRUE(anyContains(checkDescriptor(d), "enum parameter 'mode' has no options"));
}

TEST(CheckDescriptor, EnumDefaultMustBeAnOption) {
  auto d = goodDescriptor();
  auto e = spec(ParamType::Enum, "slow");
  e.name = "mode";
  e.options = {"fast"};
  d.params.push_back(e);
  EXPECT_TRUE(anyContains(checkDescriptor(d), "default of parameter 'mode'"));
}

TEST(Descriptor, LookupsByName) {
  auto d = goodDescriptor();
  d.outputs.push_back({"second", "STRING", "", false});
  ASSERT_NE(d.findInput("in"), nullptr);
  EXPECT_EQ(d.findInput("out"), nullptr);
  ASSERT_NE(d.findParam("count"), nullptr);
  EXPECT_EQ(d.findParam("in"), nullptr);
  EXPECT_EQ(d.outputIndex("out"), 0);
  EXPECT_EQ(d.outputIndex("second"), 1);
  EXPECT_EQ(d.outputIndex("nope"), -1);
}

TEST(Descriptor, ToJsonCarriesTheContract) {
  auto d = goodDescriptor();
  d.sideEffects = true;
  const auto j = toJson(d);
  EXPECT_EQ(j["id"], "t.good");
  EXPECT_EQ(j["comfy_name"], "TGood");
  EXPECT_EQ(j["side_effects"], true);
  ASSERT_EQ(j["params"].size(), 1u);
  EXPECT_EQ(j["params"][0]["type"], "INT");
  EXPECT_EQ(j["params"][0]["default"], 3);
  EXPECT_EQ(j["params"][0]["min"], 1.0);
  EXPECT_EQ(j["params"][0]["max"], 5.0);
  EXPECT_EQ(j["inputs"][0]["name"], "in");
  EXPECT_EQ(j["outputs"][0]["type"], "INT");
}

TEST(ParamType, NamesRoundTrip) {
  for (auto t : {ParamType::Int, ParamType::Float, ParamType::Bool, ParamType::String, ParamType::Path,
                 ParamType::Enum}) {
    ParamType parsed = ParamType::Int;
    ASSERT_TRUE(parseParamType(toString(t), parsed)) << toString(t);
    EXPECT_EQ(parsed, t);
  }
  ParamType out = ParamType::Float;
  EXPECT_FALSE(parseParamType("int", out));
  EXPECT_EQ(out, ParamType::Float);
}

TEST(Registry, AddFindCreate) {
  NodeRegistry r;
  r.add<NoopNode>(goodDescriptor(), "here");
  EXPECT_EQ(r.size(), 1u);
  ASSERT_NE(r.find("t.good"), nullptr);
  EXPECT_EQ(r.find("t.good")->comfyName, "TGood");
  EXPECT_EQ(r.findByComfyName("TGood"), r.find("t.good"));
  EXPECT_EQ(r.find("t.other"), nullptr);
  EXPECT_EQ(r.findByComfyName("t.good"), nullptr);
  EXPECT_EQ(r.origin("t.good"), "here");
  EXPECT_NE(r.create("t.good"), nullptr);
  EXPECT_THROW(r.create("t.other"), Error);
}

TEST(Registry, RefusesDuplicateId) {
  NodeRegistry r;
  r.add<NoopNode>(goodDescriptor("t.x", "TX"), "first.so");
  try {
    r.add<NoopNode>(goodDescriptor("t.x", "TOther"), "second.so");
    FAIL() << "duplicate id accepted";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_TRUE(contains(what, "'t.x'")) << what;
    EXPECT_TRUE(contains(what, "first.so")) << what;
  }
  EXPECT_EQ(r.size(), 1u);
  // The refused entry's ComfyUI name was not reserved.
  EXPECT_EQ(r.findByComfyName("TOther"), nullptr);
  EXPECT_NO_THROW(r.add<NoopNode>(goodDescriptor("t.y", "TOther")));
}

TEST(Registry, RefusesDuplicateComfyName) {
  NodeRegistry r;
  r.add<NoopNode>(goodDescriptor("t.x", "Shared"));
  try {
    r.add<NoopNode>(goodDescriptor("t.y", "Shared"));
    FAIL() << "duplicate ComfyUI name accepted";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_TRUE(contains(what, "Shared")) << what;
    EXPECT_TRUE(contains(what, "t.x")) << what;
  }
  EXPECT_EQ(r.find("t.y"), nullptr);
  EXPECT_EQ(r.size(), 1u);
  // Nodes without a ComfyUI name never clash with each other.
  r.add<NoopNode>(goodDescriptor("t.a", ""));
  EXPECT_NO_THROW(r.add<NoopNode>(goodDescriptor("t.b", "")));
}

TEST(Registry, RefusesMalformedDescriptorAndMissingFactory) {
  NodeRegistry r;
  auto bad = goodDescriptor();
  bad.params.front().defaultValue = 100;
  try {
    r.add<NoopNode>(bad, "plugin.so");
    FAIL() << "malformed descriptor accepted";
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), "malformed")) << e.what();
    EXPECT_TRUE(contains(e.what(), "plugin.so")) << e.what();
  }
  EXPECT_THROW(r.add(goodDescriptor(), NodeRegistry::Factory{}), Error);
  EXPECT_EQ(r.size(), 0u);
}

TEST(Registry, AllIsSortedById) {
  NodeRegistry r;
  r.add<NoopNode>(goodDescriptor("t.c", "C"));
  r.add<NoopNode>(goodDescriptor("t.a", "A"));
  r.add<NoopNode>(goodDescriptor("t.b", "B"));
  const auto all = r.all();
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0]->id, "t.a");
  EXPECT_EQ(all[1]->id, "t.b");
  EXPECT_EQ(all[2]->id, "t.c");
}

TEST(Registry, MergeAddsEverythingUnderTheOrigin) {
  NodeRegistry target, staged;
  target.add<NoopNode>(goodDescriptor("t.a", "A"));
  staged.add<NoopNode>(goodDescriptor("t.b", "B"));
  staged.add<NoopNode>(goodDescriptor("t.c", "C"));
  target.merge(staged, "libplugin.so");
  EXPECT_EQ(target.size(), 3u);
  EXPECT_EQ(target.origin("t.b"), "libplugin.so");
  EXPECT_EQ(target.origin("t.a"), "built-in");
  EXPECT_EQ(target.findByComfyName("C"), target.find("t.c"));
  EXPECT_NE(target.create("t.b"), nullptr);
}

TEST(Registry, MergeIsAllOrNothingOnDuplicateId) {
  NodeRegistry target, staged;
  target.add<NoopNode>(goodDescriptor("t.m", "M"));
  staged.add<NoopNode>(goodDescriptor("t.a", "A"));   // sorts before the clash
  staged.add<NoopNode>(goodDescriptor("t.m", "M2"));  // clashes by id
  staged.add<NoopNode>(goodDescriptor("t.z", "Z"));
  EXPECT_THROW(target.merge(staged, "p.so"), Error);
  EXPECT_EQ(target.size(), 1u);
  EXPECT_EQ(target.find("t.a"), nullptr);
  EXPECT_EQ(target.find("t.z"), nullptr);
  EXPECT_EQ(target.findByComfyName("A"), nullptr);
  EXPECT_EQ(target.findByComfyName("M2"), nullptr);
}

TEST(Registry, MergeIsAllOrNothingOnDuplicateComfyName) {
  NodeRegistry target, staged;
  target.add<NoopNode>(goodDescriptor("t.m", "Taken"));
  staged.add<NoopNode>(goodDescriptor("t.a", "A"));
  staged.add<NoopNode>(goodDescriptor("t.b", "Taken"));
  try {
    target.merge(staged, "p.so");
    FAIL() << "merge accepted a taken ComfyUI name";
  } catch (const Error& e) {
    EXPECT_TRUE(contains(e.what(), "Taken")) << e.what();
  }
  EXPECT_EQ(target.size(), 1u);
  EXPECT_EQ(target.find("t.a"), nullptr);
  EXPECT_EQ(target.findByComfyName("A"), nullptr);
}

TEST(Registry, TestNodesRegister) {
  const auto& r = presence::test::testRegistry();
  EXPECT_GE(r.size(), 10u);
  for (const auto* d : r.all()) EXPECT_TRUE(checkDescriptor(*d).empty()) << d->id;
}

TEST(NodeRegistryMerge, IntoItselfIsRefusedInsteadOfDeadlocking) {
  presence::core::NodeRegistry registry;
  EXPECT_THROW(registry.merge(registry, "self"), presence::core::Error);
}
