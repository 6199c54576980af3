// The node reference (docs/nodes.md), generated from descriptors, never written by hand.
#pragma once

#include <string>

#include "presence/core/registry.hpp"

namespace presence::core {

/// Markdown for every node of the registry, grouped by category, sorted by id. Deterministic:
/// the same registry gives the same bytes (the docs test compares it with docs/nodes.md).
std::string nodeReferenceMarkdown(const NodeRegistry& registry);

/// A plain-text description of one node for a terminal (`presence describe`).
std::string describeNode(const NodeDescriptor& descriptor);

}  // namespace presence::core
