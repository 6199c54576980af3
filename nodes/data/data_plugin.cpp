// The presence-data plugin: its one entry point registers the dataset nodes.
#include "data_nodes.hpp"
#include "presence/core/plugin.hpp"

PRESENCE_PLUGIN("presence-data", "0.1.0") {
  presence::nodes::data::registerDataNodes(registry, "presence-data");
}
