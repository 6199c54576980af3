// Node descriptors: the declarative contract of a node type. Hosts, docs and validation read it.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "presence/core/types.hpp"

namespace presence::core {

/// An input or output port.
struct PortSpec {
  std::string name;
  TypeId type;
  std::string tooltip;
  bool optional = false;  ///< inputs only: the node runs without a link here
};

/// A parameter: a value set in the graph (a widget in an editor).
struct ParamSpec {
  std::string name;
  ParamType type = ParamType::Int;
  nlohmann::json defaultValue;         ///< must satisfy the constraints below
  std::optional<double> min, max;      ///< Int and Float
  std::optional<double> step;          ///< editor hint for Int and Float
  std::vector<std::string> options;    ///< Enum: the allowed values
  bool multiline = false;              ///< String: several lines (Path: one path per line)
  std::string widget;                  ///< editor hint: "slider", "file", "seed", "color", ...
  std::string tooltip;
};

/// Everything a host needs to know about a node type, without running it.
struct NodeDescriptor {
  std::string id;            ///< "presence.load_image"; third parties use their own prefix
  int version = 1;           ///< bump when outputs change for the same inputs (invalidates caches)
  std::string displayName;   ///< "Load Image"
  std::string category;      ///< "media/image"
  std::string description;   ///< one paragraph, shown in palettes and docs
  std::string comfyName;     ///< ComfyUI class_type, e.g. "PresenceLoadImage"
  std::vector<PortSpec> inputs;
  std::vector<ParamSpec> params;
  std::vector<PortSpec> outputs;
  /// Writes files or otherwise acts on the world: always runs when requested, never cached,
  /// and is requested by default when a graph names no outputs.
  bool sideEffects = false;

  const PortSpec* findInput(std::string_view name) const;
  const PortSpec* findOutput(std::string_view name) const;
  int outputIndex(std::string_view name) const;  ///< -1 when absent
  const ParamSpec* findParam(std::string_view name) const;
};

/// Checks a parameter value against its spec. Returns an empty string when it fits, otherwise
/// the cause ("must be an integer", "42 is above the maximum 10", ...).
std::string checkParamValue(const ParamSpec& spec, const nlohmann::json& value);

/// Descriptor as JSON (for `presence nodes --json`, the ComfyUI adapter and editors).
nlohmann::json toJson(const NodeDescriptor& d);

/// Problems with the descriptor itself (empty id, default outside its range, duplicate
/// names, ...); empty when well formed. The registry refuses malformed descriptors.
std::vector<std::string> checkDescriptor(const NodeDescriptor& d);

}  // namespace presence::core
