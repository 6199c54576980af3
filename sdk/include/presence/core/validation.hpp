// Graph validation against a registry: every problem at once.
#pragma once

#include "presence/core/diagnostic.hpp"
#include "presence/core/graph.hpp"
#include "presence/core/registry.hpp"

namespace presence::core {

/// Checks: unknown node type, unknown or out-of-range parameter, wrong parameter type, unknown
/// input port, missing required input, dangling link (no such node or output), type mismatch,
/// cycle, unknown requested output. Each diagnostic names the node, port or parameter.
Diagnostics validateGraph(const Graph& graph, const NodeRegistry& registry);

/// A node's parameters with descriptor defaults filled in (unknown ones dropped).
nlohmann::json resolvedParams(const GraphNode& node, const NodeDescriptor& descriptor);

}  // namespace presence::core
