// The presence-media plugin: its one entry point registers the media nodes.
#include "media_nodes.hpp"
#include "presence/core/plugin.hpp"

PRESENCE_PLUGIN("presence-media", "0.1.0") {
  presence::nodes::media::registerMediaNodes(registry, "presence-media");
}
