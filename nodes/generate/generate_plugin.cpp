// The presence-generate plugin: its one entry point registers the generation nodes.
#include "generate_nodes.hpp"
#include "presence/core/plugin.hpp"

PRESENCE_PLUGIN("presence-generate", "0.1.0") {
  presence::nodes::generate::registerGenerateNodes(registry, "presence-generate");
}
