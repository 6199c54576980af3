#include "presence/core/validation.hpp"

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>

namespace presence::core {

namespace {
Diagnostic diag(std::string code, std::string node, std::string message) {
  Diagnostic d;
  d.code = std::move(code);
  d.node = std::move(node);
  d.message = std::move(message);
  return d;
}
bool typesConnect(const TypeId& from, const TypeId& to) {
  return from == to || from == types::Any || to == types::Any;
}
}  // namespace

nlohmann::json resolvedParams(const GraphNode& node, const NodeDescriptor& descriptor) {
  nlohmann::json params = nlohmann::json::object();
  for (const auto& spec : descriptor.params) {
    auto it = node.params.find(spec.name);
    nlohmann::json value = it != node.params.end() ? nlohmann::json(*it) : spec.defaultValue;
    // 3.0 written by a tool is the integer 3: same value, same cache key.
    if (spec.type == ParamType::Int && value.is_number_float()) value = static_cast<std::int64_t>(value.get<double>());
    params[spec.name] = std::move(value);
  }
  return params;
}

Diagnostics validateGraph(const Graph& graph, const NodeRegistry& registry) {
  Diagnostics out;
  // Indexed once: links and the cycle search look nodes up by id (linear search made large
  // graphs quadratic).
  std::unordered_map<std::string_view, const GraphNode*> byId;
  std::unordered_map<std::string_view, const NodeDescriptor*> descriptors;
  byId.reserve(graph.nodes.size());
  descriptors.reserve(graph.nodes.size());
  auto findNode = [&](std::string_view id) -> const GraphNode* {
    auto it = byId.find(id);
    return it == byId.end() ? nullptr : it->second;
  };
  for (const auto& node : graph.nodes) {
    if (!byId.emplace(node.id, &node).second) out.push_back(diag("duplicate-node", node.id, "node id is used twice"));
    const NodeDescriptor* d = registry.find(node.type);
    if (!d) {
      out.push_back(diag("unknown-node-type", node.id, "unknown node type '" + node.type + "'"));
      continue;
    }
    descriptors[node.id] = d;
    for (const auto& [name, value] : node.params.items()) {
      const ParamSpec* spec = d->findParam(name);
      if (!spec) {
        auto e = diag("unknown-param", node.id,
                      d->findInput(name) ? "'" + name + "' is an input port; link it under \"inputs\""
                                         : "'" + d->id + "' has no parameter '" + name + "'");
        e.param = name;
        out.push_back(std::move(e));
        continue;
      }
      if (auto why = checkParamValue(*spec, value); !why.empty()) {
        auto e = diag("bad-param", node.id, why);
        e.param = name;
        out.push_back(std::move(e));
      }
    }
    for (const auto& port : d->inputs) {
      if (!port.optional && !node.inputs.count(port.name)) {
        auto e = diag("missing-input", node.id, "required input '" + port.name + "' (" + port.type + ") is not linked");
        e.port = port.name;
        out.push_back(std::move(e));
      }
    }
  }
  // Links: each end must exist and the types must agree.
  for (const auto& node : graph.nodes) {
    auto dIt = descriptors.find(node.id);
    for (const auto& [port, link] : node.inputs) {
      const PortSpec* in = dIt == descriptors.end() ? nullptr : dIt->second->findInput(port);
      if (dIt != descriptors.end() && !in) {
        auto e = diag("unknown-input", node.id, "'" + node.type + "' has no input '" + port + "'");
        e.port = port;
        out.push_back(std::move(e));
      }
      const GraphNode* source = findNode(link.node);
      if (!source) {
        auto e = diag("dangling-link", node.id, "links to '" + link.toString() + "' but the graph has no node '" + link.node + "'");
        e.port = port;
        out.push_back(std::move(e));
        continue;
      }
      auto sIt = descriptors.find(link.node);
      if (sIt == descriptors.end()) continue;  // already reported as unknown type
      const PortSpec* outPort = sIt->second->findOutput(link.port);
      if (!outPort) {
        auto e = diag("dangling-link", node.id, "links to '" + link.toString() + "' but '" + source->type +
                                                    "' has no output '" + link.port + "'");
        e.port = port;
        out.push_back(std::move(e));
        continue;
      }
      if (in && !typesConnect(outPort->type, in->type)) {
        auto e = diag("type-mismatch", node.id, "input '" + port + "' expects " + in->type + " but '" +
                                                    link.toString() + "' gives " + outPort->type);
        e.port = port;
        out.push_back(std::move(e));
      }
    }
  }
  // Cycles: iterative depth-first search over links (deep chains must not exhaust the stack);
  // each cycle is reported once, with its path.
  std::unordered_map<std::string_view, int> state;  // 0 new, 1 on the path, 2 done
  std::set<std::set<std::string>> reported;
  struct Frame {
    const GraphNode* node;
    std::map<std::string, Link>::const_iterator next;
  };
  for (const auto& root : graph.nodes) {
    if (state[root.id] != 0) continue;
    std::vector<Frame> path{{&root, root.inputs.begin()}};
    state[root.id] = 1;
    while (!path.empty()) {
      Frame& top = path.back();
      if (top.next == top.node->inputs.end()) {
        state[top.node->id] = 2;
        path.pop_back();
        continue;
      }
      const GraphNode* source = findNode((top.next++)->second.node);
      if (!source) continue;
      int& mark = state[source->id];
      if (mark == 0) {
        mark = 1;
        path.push_back({source, source->inputs.begin()});
      } else if (mark == 1) {
        auto begin = std::find_if(path.begin(), path.end(), [&](const Frame& f) { return f.node == source; });
        std::set<std::string> members;
        std::string text;
        for (auto it = begin; it != path.end(); ++it) {
          members.insert(it->node->id);
          text += it->node->id + " <- ";
        }
        if (reported.insert(members).second)
          out.push_back(diag("cycle", source->id, "the graph has a cycle: " + text + source->id));
      }
    }
  }
  // Requested outputs must name existing nodes and ports.
  for (const auto& o : graph.outputs) {
    const auto dot = o.rfind('.');
    const std::string nodeId = dot == std::string::npos ? o : o.substr(0, dot);
    const GraphNode* node = findNode(nodeId);
    if (!node) {
      out.push_back(diag("unknown-output", nodeId, "requested output '" + o + "' names no node of the graph"));
      continue;
    }
    auto dIt = descriptors.find(nodeId);
    if (dot != std::string::npos && dIt != descriptors.end() && !dIt->second->findOutput(o.substr(dot + 1))) {
      auto e = diag("unknown-output", nodeId, "requested output '" + o + "': '" + node->type + "' has no such output");
      e.port = o.substr(dot + 1);
      out.push_back(std::move(e));
    }
  }
  return out;
}

}  // namespace presence::core
