// The presence-train plugin: its one entry point registers the training nodes.
#include "presence/core/plugin.hpp"
#include "train_nodes.hpp"

PRESENCE_PLUGIN("presence-train", "0.1.0") { presence::nodes::train::registerTrainNodes(registry, "presence-train"); }
