// A plugin whose registration fails half-way: the loader must register none of its nodes.
#include "presence/core/plugin.hpp"

namespace {
class NothingNode final : public presence::core::Node {
 public:
  void execute(presence::core::NodeContext&) override {}
};
}  // namespace

PRESENCE_PLUGIN("presence-throwing", "1.0") {
  presence::core::NodeDescriptor d;
  d.id = "presence.throwing_first";
  d.displayName = "First";
  d.category = "testing";
  d.description = "Registered before the failure; must not survive it.";
  registry.add<NothingNode>(d);
  throw std::runtime_error("the plugin's registration failed on purpose");
}
