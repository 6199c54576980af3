#include "presence/core/graph.hpp"

#include <fstream>
#include <set>
#include <sstream>

#include "presence/core/atomic_file.hpp"
#include "presence/core/error.hpp"

namespace presence::core {

namespace {

bool validNodeId(std::string_view id) {
  if (id.empty()) return false;
  for (char c : id)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) return false;
  return true;
}

Diagnostic problem(const std::string& file, std::string code, std::string node, std::string message) {
  Diagnostic d;
  d.code = std::move(code);
  d.file = file;
  d.node = std::move(node);
  d.message = std::move(message);
  return d;
}

}  // namespace

std::pair<int, int> lineColumnAt(std::string_view text, std::size_t byteOffset) {
  int line = 1, column = 1;
  for (std::size_t i = 0; i < byteOffset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      ++column;  // count characters, not UTF-8 continuation bytes
    }
  }
  return {line, column};
}

GraphNode* Graph::find(std::string_view id) {
  for (auto& n : nodes)
    if (n.id == id) return &n;
  return nullptr;
}
const GraphNode* Graph::find(std::string_view id) const {
  for (const auto& n : nodes)
    if (n.id == id) return &n;
  return nullptr;
}

GraphNode& Graph::add(std::string id, std::string type) {
  if (find(id)) throw Error("graph already has a node '" + id + "'");
  GraphNode node;
  node.id = std::move(id);
  node.type = std::move(type);
  nodes.push_back(std::move(node));
  return nodes.back();
}

void Graph::setFromText(std::string_view assignment) {
  const auto eq = assignment.find('=');
  const auto dot = assignment.substr(0, eq).find('.');
  if (eq == std::string_view::npos || dot == std::string_view::npos || dot == 0 || dot + 1 >= eq)
    throw InputError("--set '" + std::string(assignment) + "': expected node.param=value");
  const std::string nodeId(assignment.substr(0, dot));
  const std::string param(assignment.substr(dot + 1, eq - dot - 1));
  const std::string text(assignment.substr(eq + 1));
  GraphNode* node = find(nodeId);
  if (!node) throw InputError("--set '" + std::string(assignment) + "': the graph has no node '" + nodeId + "'");
  auto value = nlohmann::ordered_json::parse(text, nullptr, false);
  if (value.is_discarded()) value = text;  // bare words are strings: --set save.format=png
  node->params[param] = std::move(value);
}

GraphLoadResult parseGraph(std::string_view text, const std::string& fileName) {
  GraphLoadResult result;
  auto& diags = result.diagnostics;
  nlohmann::ordered_json root;
  // A JSON object keeps one of two equal keys silently; two nodes with one id must not vanish that
  // way. Node ids are the keys at depth 2 under the top-level key "nodes".
  std::string topKey;
  std::set<std::string> nodeIds, duplicateIds;
  auto watchKeys = [&](int depth, nlohmann::ordered_json::parse_event_t event, nlohmann::ordered_json& parsed) {
    if (event == nlohmann::ordered_json::parse_event_t::key) {
      if (depth == 1) topKey = parsed.get<std::string>();
      else if (depth == 2 && topKey == "nodes" && !nodeIds.insert(parsed.get<std::string>()).second)
        duplicateIds.insert(parsed.get<std::string>());
    }
    return true;
  };
  try {
    root = nlohmann::ordered_json::parse(text, watchKeys);
  } catch (const nlohmann::json::parse_error& e) {
    auto d = problem(fileName, "malformed-json", "", "");
    auto [line, column] = lineColumnAt(text, e.byte > 0 ? e.byte - 1 : 0);
    d.line = line;
    d.column = column;
    std::string what = e.what();
    // nlohmann's text: "[json.exception.parse_error.101] parse error at line 1, column 5: syntax error ..."
    auto colon = what.find(": ", what.find("parse error"));
    d.message = "malformed JSON: " + (colon == std::string::npos ? what : what.substr(colon + 2));
    diags.push_back(std::move(d));
    return result;
  }
  if (!root.is_object()) {
    diags.push_back(problem(fileName, "bad-graph", "", "a graph file holds a JSON object"));
    return result;
  }
  if (root.contains("format") && root["format"] != "presence-graph")
    diags.push_back(problem(fileName, "bad-graph", "", "field 'format' must be \"presence-graph\""));
  if (!root.contains("version") || !root["version"].is_number_integer()) {
    diags.push_back(problem(fileName, "bad-graph", "", "field 'version' (an integer) is missing"));
  } else if (root["version"].get<int>() > kGraphFormatVersion || root["version"].get<int>() < 1) {
    diags.push_back(problem(fileName, "unsupported-version", "",
                            "graph format version " + root["version"].dump() +
                                " is not supported (this Presence reads version " +
                                std::to_string(kGraphFormatVersion) + ")"));
    return result;
  }
  for (const auto& [key, value] : root.items()) {
    if (key != "format" && key != "version" && key != "name" && key != "nodes" && key != "outputs" &&
        key != "metadata")
      diags.push_back(problem(fileName, "bad-graph", "", "unknown top-level field '" + key + "'"));
  }
  Graph& graph = result.graph;
  if (root.contains("metadata")) {
    if (root["metadata"].is_object()) graph.metadata = root["metadata"];
    else diags.push_back(problem(fileName, "bad-graph", "", "field 'metadata' must be an object"));
  }
  if (root.contains("name")) {
    if (root["name"].is_string()) graph.name = root["name"].get<std::string>();
    else diags.push_back(problem(fileName, "bad-graph", "", "field 'name' must be a string"));
  }
  for (const auto& id : duplicateIds)
    diags.push_back(problem(fileName, "duplicate-node", id, "node id is used twice; ids must be unique"));
  if (!root.contains("nodes") || !root["nodes"].is_object()) {
    diags.push_back(problem(fileName, "bad-graph", "", "field 'nodes' (an object of nodes by id) is missing"));
  } else {
    for (const auto& [id, body] : root["nodes"].items()) {
      if (!validNodeId(id)) {
        diags.push_back(problem(fileName, "bad-node-id", id,
                                "node ids use letters, digits, '_' and '-' only"));
        continue;
      }
      if (!body.is_object()) {
        diags.push_back(problem(fileName, "bad-graph", id, "a node is a JSON object"));
        continue;
      }
      GraphNode node;
      node.id = id;
      for (const auto& [key, value] : body.items()) {
        if (key == "type") {
          if (value.is_string()) node.type = value.get<std::string>();
        } else if (key == "title") {
          if (value.is_string()) node.title = value.get<std::string>();
          else diags.push_back(problem(fileName, "bad-graph", id, "field 'title' must be a string"));
        } else if (key == "params") {
          if (value.is_object()) node.params = value;
          else diags.push_back(problem(fileName, "bad-graph", id, "field 'params' must be an object"));
        } else if (key == "inputs") {
          if (!value.is_object()) {
            diags.push_back(problem(fileName, "bad-graph", id, "field 'inputs' must be an object"));
            continue;
          }
          for (const auto& [port, link] : value.items()) {
            const auto text = link.is_string() ? link.get<std::string>() : std::string();
            const auto dot = text.rfind('.');
            if (dot == std::string::npos || dot == 0 || dot + 1 == text.size()) {
              auto d = problem(fileName, "bad-link", id,
                               "input link must be \"node.port\", got " + link.dump());
              d.port = port;
              diags.push_back(std::move(d));
              continue;
            }
            node.inputs[port] = Link{text.substr(0, dot), text.substr(dot + 1)};
          }
        } else {
          diags.push_back(problem(fileName, "bad-graph", id, "unknown field '" + key + "'"));
        }
      }
      if (node.type.empty()) diags.push_back(problem(fileName, "bad-graph", id, "field 'type' (a string) is missing"));
      graph.nodes.push_back(std::move(node));
    }
  }
  if (root.contains("outputs")) {
    const auto& outs = root["outputs"];
    if (!outs.is_array()) {
      diags.push_back(problem(fileName, "bad-graph", "", "field 'outputs' must be an array of \"node\" or \"node.port\""));
    } else {
      for (const auto& o : outs) {
        if (o.is_string()) graph.outputs.push_back(o.get<std::string>());
        else diags.push_back(problem(fileName, "bad-graph", "", "field 'outputs' holds strings, got " + o.dump()));
      }
    }
  }
  return result;
}

GraphLoadResult loadGraphFile(const std::filesystem::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    GraphLoadResult r;
    r.diagnostics.push_back(problem(file.string(), "missing-file", "", "cannot open the graph file"));
    return r;
  }
  std::stringstream buffer;
  buffer << in.rdbuf();
  auto result = parseGraph(buffer.str(), file.string());
  result.graph.directory = std::filesystem::absolute(file).parent_path();
  return result;
}

std::string serializeGraph(const Graph& graph) {
  nlohmann::ordered_json root;
  root["format"] = "presence-graph";
  root["version"] = kGraphFormatVersion;
  if (!graph.name.empty()) root["name"] = graph.name;
  nlohmann::ordered_json nodes = nlohmann::ordered_json::object();
  for (const auto& n : graph.nodes) {
    nlohmann::ordered_json body;
    body["type"] = n.type;
    if (!n.title.empty()) body["title"] = n.title;
    if (!n.inputs.empty()) {
      nlohmann::ordered_json inputs = nlohmann::ordered_json::object();
      for (const auto& [port, link] : n.inputs) inputs[port] = link.toString();
      body["inputs"] = std::move(inputs);
    }
    if (!n.params.empty()) body["params"] = n.params;
    nodes[n.id] = std::move(body);
  }
  root["nodes"] = std::move(nodes);
  if (!graph.outputs.empty()) root["outputs"] = graph.outputs;
  if (!graph.metadata.empty()) root["metadata"] = graph.metadata;
  return root.dump(2) + "\n";
}

void saveGraphFile(const Graph& graph, const std::filesystem::path& file) {
  writeFileAtomically(file, serializeGraph(graph));
}

}  // namespace presence::core
