// Conventions every node of the built-in libraries must follow: a `presence.` id, a description
// and a tooltip on every port and parameter, and it constructs and validates with default
// parameters.
#include <gtest/gtest.h>

#include "presence/core/plugin_loader.hpp"
#include "presence/core/validation.hpp"

namespace {

using namespace presence::core;

class SourceNode final : public Node {
 public:
  void execute(NodeContext&) override {}
};

struct BuiltinNodes : ::testing::Test {
  static NodeRegistry& registry() {
    static NodeRegistry* r = [] {
      auto* reg = new NodeRegistry;
      PluginLoader loader(*reg);
      for (const auto& report : loader.loadAll({PRESENCE_BUILTIN_PLUGIN_DIR}))
        EXPECT_TRUE(report.loaded) << report.file << ": " << report.error;
      return reg;
    }();
    return *r;
  }
};

TEST_F(BuiltinNodes, AreLoadedFromThePluginFolder) {
  EXPECT_GE(registry().size(), 4u);
  EXPECT_NE(registry().find("presence.float_math"), nullptr);
#ifdef PRESENCE_EXPECT_MEDIA
  EXPECT_NE(registry().find("presence.load_image"), nullptr);
#endif
}

TEST_F(BuiltinNodes, FollowTheNamingAndDocumentationConventions) {
  for (const auto* d : registry().all()) {
    SCOPED_TRACE(d->id);
    EXPECT_EQ(d->id.rfind("presence.", 0), 0u);
    EXPECT_FALSE(d->displayName.empty());
    EXPECT_FALSE(d->category.empty());
    EXPECT_GE(d->description.size(), 20u) << "a description says what the node does";
    EXPECT_EQ(d->comfyName.rfind("Presence", 0), 0u) << "ComfyUI class names start with Presence";
    EXPECT_TRUE(checkDescriptor(*d).empty());
    for (const auto& p : d->inputs) EXPECT_FALSE(p.tooltip.empty()) << "input " << p.name;
    for (const auto& p : d->outputs) EXPECT_FALSE(p.tooltip.empty()) << "output " << p.name;
    for (const auto& p : d->params) EXPECT_FALSE(p.tooltip.empty()) << "parameter " << p.name;
  }
}

TEST_F(BuiltinNodes, ConstructAndValidateWithDefaultParameters) {
  // Every required input is fed by a stand-in source of the right type.
  NodeRegistry withSources;
  for (const auto* d : registry().all()) {
    for (const auto& p : d->inputs) {
      const auto id = "test.source_" + p.type;
      if (withSources.find(id)) continue;
      NodeDescriptor s;
      s.id = id;
      s.displayName = id;
      s.category = "testing";
      s.outputs = {{"value", p.type, "stand-in"}};
      withSources.add<SourceNode>(s);
    }
  }
  withSources.merge(registry(), "built-in");
  for (const auto* d : registry().all()) {
    SCOPED_TRACE(d->id);
    EXPECT_NE(registry().create(d->id), nullptr);
    Graph graph;
    for (const auto& p : d->inputs)
      if (!p.optional) graph.add("source_" + p.name, "test.source_" + p.type);
    auto& node = graph.add("node", d->id);
    for (const auto& p : d->inputs)
      if (!p.optional) node.inputs[p.name] = Link{"source_" + p.name, "value"};
    const auto diagnostics = validateGraph(graph, withSources);
    for (const auto& diag : diagnostics) ADD_FAILURE() << diag.format();
  }
}

}  // namespace
