#include "presence/core/validation.hpp"

#include <functional>
#include <map>
#include <set>

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
    params[spec.name] = it != node.params.end() ? nlohmann::json(*it) : spec.defaultValue;
  }
  return params;
}

Diagnostics validateGraph(const Graph& graph, const NodeRegistry& registry) {
  Diagnostics out;
  std::map<std::string, const NodeDescriptor*> descriptors;
  std::set<std::string> ids;
  for (const auto& node : graph.nodes) {
    if (!ids.insert(node.id).second) out.push_back(diag("duplicate-node", node.id, "node id is used twice"));
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
      const GraphNode* source = graph.find(link.node);
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
  // Cycles: depth-first search over links; report each cycle once with its path.
  std::map<std::string, int> state;  // 0 new, 1 on stack, 2 done
  std::vector<std::string> stack;
  std::set<std::set<std::string>> reported;
  std::function<void(const GraphNode&)> visit = [&](const GraphNode& node) {
    state[node.id] = 1;
    stack.push_back(node.id);
    for (const auto& [port, link] : node.inputs) {
      const GraphNode* source = graph.find(link.node);
      if (!source) continue;
      if (state[source->id] == 1) {
        auto begin = std::find(stack.begin(), stack.end(), source->id);
        std::set<std::string> members(begin, stack.end());
        if (reported.insert(members).second) {
          std::string path;
          for (auto it = begin; it != stack.end(); ++it) path += *it + " <- ";
          path += source->id;
          out.push_back(diag("cycle", source->id, "the graph has a cycle: " + path));
        }
      } else if (state[source->id] == 0) {
        visit(*source);
      }
    }
    stack.pop_back();
    state[node.id] = 2;
  };
  for (const auto& node : graph.nodes)
    if (state[node.id] == 0) visit(node);
  // Requested outputs must name existing nodes and ports.
  for (const auto& o : graph.outputs) {
    const auto dot = o.rfind('.');
    const std::string nodeId = dot == std::string::npos ? o : o.substr(0, dot);
    const GraphNode* node = graph.find(nodeId);
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
