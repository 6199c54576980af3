// Built several times with a different handshake field each (see CMakeLists.txt); the loader
// must refuse every build and name what differs.
#include "presence/core/plugin.hpp"

namespace {
class NothingNode final : public presence::core::Node {
 public:
  void execute(presence::core::NodeContext&) override {}
};
}  // namespace

PRESENCE_PLUGIN("presence-mismatched", "1.0") {
  presence::core::NodeDescriptor d;
  d.id = MISMATCHED_NODE_ID;
  d.displayName = "Mismatched";
  d.category = "testing";
  d.description = "Must never be registered.";
  registry.add<NothingNode>(d);
}
