// The graph model and its versioned JSON file format (see docs/graph-format.md).
#pragma once

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "presence/core/diagnostic.hpp"

namespace presence::core {

inline constexpr int kGraphFormatVersion = 1;

/// The source end of a link: output `port` of node `node`.
struct Link {
  std::string node;
  std::string port;
  std::string toString() const { return node + "." + port; }
  bool operator==(const Link&) const = default;
};

struct GraphNode {
  std::string id;     ///< unique in the graph: letters, digits, '_' and '-'
  std::string type;   ///< descriptor id, "presence.load_image"
  std::string title;  ///< optional label shown by editors
  nlohmann::ordered_json params = nlohmann::ordered_json::object();  ///< set values only
  std::map<std::string, Link> inputs;  ///< input port -> source
};

/// A graph: nodes in file order, and optionally the outputs to compute. Plain data; copy freely.
class Graph {
 public:
  std::string name;
  std::vector<GraphNode> nodes;
  /// Requested outputs: "node" (all its outputs) or "node.port". Empty: every node with side
  /// effects (savers), else every node no other node consumes.
  std::vector<std::string> outputs;
  std::filesystem::path directory;  ///< folder the graph was loaded from (relative paths)
  /// Free-form data hosts keep with the graph (an editor's node positions, notes); the SDK
  /// never reads it and saves it back unchanged.
  nlohmann::ordered_json metadata = nlohmann::ordered_json::object();

  GraphNode* find(std::string_view id);
  const GraphNode* find(std::string_view id) const;
  GraphNode& add(std::string id, std::string type);
  /// Sets a parameter from command-line text ("node.param=value"); the text is read as JSON
  /// when it parses, else as a string. Throws InputError for an unknown node.
  void setFromText(std::string_view assignment);
};

/// Result of reading a graph: a graph (possibly partial) and every problem found.
struct GraphLoadResult {
  Graph graph;
  Diagnostics diagnostics;
  bool ok() const { return !hasErrors(diagnostics); }
};

/// Reads the file format. Reports malformed JSON with line and column, and every structural
/// problem (wrong field types, bad link text, duplicate ids, unsupported version) at once.
GraphLoadResult parseGraph(std::string_view text, const std::string& fileName = "<graph>");
GraphLoadResult loadGraphFile(const std::filesystem::path& file);

/// Writes the file format: stable key order, two-space indentation, links as "node.port".
std::string serializeGraph(const Graph& graph);
/// Atomic: a temporary file renamed into place.
void saveGraphFile(const Graph& graph, const std::filesystem::path& file);

/// Turns a JSON parser's byte offset into a 1-based line and column.
std::pair<int, int> lineColumnAt(std::string_view text, std::size_t byteOffset);

}  // namespace presence::core
