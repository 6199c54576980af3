#include "presence/core/comfy_import.hpp"

namespace presence::core {

namespace {
Diagnostic diag(const std::string& file, std::string code, std::string node, std::string message) {
  Diagnostic d;
  d.code = std::move(code);
  d.file = file;
  d.node = std::move(node);
  d.message = std::move(message);
  return d;
}
bool isLink(const nlohmann::json& v) {
  return v.is_array() && v.size() == 2 && (v[0].is_string() || v[0].is_number_integer()) &&
         v[1].is_number_integer();
}
std::string idText(const nlohmann::json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }
}  // namespace

GraphLoadResult importComfyPrompt(const nlohmann::json& prompt, const NodeRegistry& registry) {
  const std::string file = "<prompt>";
  GraphLoadResult result;
  auto& diags = result.diagnostics;
  // The web UI's "save (API)" sometimes wraps the prompt: {"prompt": {...}}.
  const bool wrapped = prompt.is_object() && prompt.contains("prompt") && prompt["prompt"].is_object() &&
                       !prompt["prompt"].contains("class_type");
  const nlohmann::json& nodes = wrapped ? prompt["prompt"] : prompt;
  if (!nodes.is_object()) {
    diags.push_back(diag(file, "bad-prompt", "", "a ComfyUI API prompt is a JSON object of nodes by id"));
    return result;
  }
  for (const auto& [id, body] : nodes.items()) {
    if (!body.is_object() || !body.contains("class_type") || !body["class_type"].is_string()) {
      diags.push_back(diag(file, "bad-prompt", id, "a prompt node needs a string 'class_type'"));
      continue;
    }
    const auto cls = body["class_type"].get<std::string>();
    const NodeDescriptor* d = registry.findByComfyName(cls);
    if (!d) {
      diags.push_back(diag(file, "unknown-node-type", id, "unknown ComfyUI class '" + cls + "' (not a Presence node)"));
      continue;
    }
    GraphNode node;
    node.id = id;
    node.type = d->id;
    if (body.contains("_meta") && body["_meta"].contains("title") && body["_meta"]["title"].is_string())
      node.title = body["_meta"]["title"].get<std::string>();
    if (body.contains("inputs") && body["inputs"].is_object()) {
      for (const auto& [name, value] : body["inputs"].items()) {
        if (isLink(value)) {
          const auto sourceId = idText(value[0]);
          const auto index = value[1].get<int>();
          const auto sIt = nodes.find(sourceId);
          const NodeDescriptor* sd = nullptr;
          if (sIt != nodes.end() && sIt->is_object() && sIt->contains("class_type") && (*sIt)["class_type"].is_string())
            sd = registry.findByComfyName((*sIt)["class_type"].get<std::string>());
          if (!d->findInput(name)) {
            auto e = diag(file, "unknown-input", id, "'" + d->id + "' has no input '" + name + "' to link");
            e.port = name;
            diags.push_back(std::move(e));
          } else if (sIt == nodes.end()) {
            auto e = diag(file, "dangling-link", id, "links to node '" + sourceId + "' which the prompt lacks");
            e.port = name;
            diags.push_back(std::move(e));
          } else if (sd && (index < 0 || index >= static_cast<int>(sd->outputs.size()))) {
            auto e = diag(file, "dangling-link", id, "links to output " + std::to_string(index) + " of '" +
                                                         sourceId + "' which has " + std::to_string(sd->outputs.size()) +
                                                         " outputs");
            e.port = name;
            diags.push_back(std::move(e));
          } else if (sd) {
            node.inputs[name] = Link{sourceId, sd->outputs[index].name};
          }
        } else if (d->findParam(name)) {
          node.params[name] = value;
        } else {
          auto e = diag(file, "unknown-param", id,
                        d->findInput(name) ? "input '" + name + "' must be a link [node, output]"
                                           : "'" + d->id + "' has no parameter '" + name + "'");
          e.param = name;
          diags.push_back(std::move(e));
        }
      }
    }
    result.graph.nodes.push_back(std::move(node));
  }
  return result;
}

GraphLoadResult importComfyPromptText(std::string_view text, const NodeRegistry& registry,
                                      const std::string& fileName) {
  try {
    auto result = importComfyPrompt(nlohmann::json::parse(text), registry);
    for (auto& d : result.diagnostics) d.file = fileName;
    return result;
  } catch (const nlohmann::json::parse_error& e) {
    GraphLoadResult result;
    Diagnostic d;
    d.code = "malformed-json";
    d.file = fileName;
    std::tie(d.line, d.column) = lineColumnAt(text, e.byte > 0 ? e.byte - 1 : 0);
    const std::string what = e.what();
    const auto colon = what.find(": ", what.find("parse error"));
    d.message = "malformed JSON: " + (colon == std::string::npos ? what : what.substr(colon + 2));
    result.diagnostics.push_back(std::move(d));
    return result;
  }
}

}  // namespace presence::core
