#include "presence/core/descriptor.hpp"

#include <cmath>
#include <cstdint>
#include <set>
#include <sstream>

namespace presence::core {

namespace {
template <class List>
auto findByName(const List& list, std::string_view name) -> decltype(&list.front()) {
  for (const auto& item : list)
    if (item.name == name) return &item;
  return nullptr;
}

std::string number(double v) {
  std::ostringstream s;
  s << v;
  return s.str();
}
}  // namespace

const PortSpec* NodeDescriptor::findInput(std::string_view name) const { return findByName(inputs, name); }
const PortSpec* NodeDescriptor::findOutput(std::string_view name) const { return findByName(outputs, name); }
const ParamSpec* NodeDescriptor::findParam(std::string_view name) const { return findByName(params, name); }
int NodeDescriptor::outputIndex(std::string_view name) const {
  for (std::size_t i = 0; i < outputs.size(); ++i)
    if (outputs[i].name == name) return static_cast<int>(i);
  return -1;
}

std::string checkParamValue(const ParamSpec& spec, const nlohmann::json& value) {
  double numeric = 0.0;
  switch (spec.type) {
    case ParamType::Int:
      if (value.is_number_unsigned() && value.get<std::uint64_t>() > std::uint64_t(INT64_MAX)) {
        return value.dump() + " is too large for an integer parameter";
      } else if (value.is_number_integer()) {
        numeric = value.get<double>();
      } else if (value.is_number_float() && std::isfinite(value.get<double>()) &&
                 std::floor(value.get<double>()) == value.get<double>()) {
        numeric = value.get<double>();  // 3.0 written by a tool is fine
        // NodeContext::paramInt reads an std::int64_t: 2^63 and beyond do not fit.
        if (numeric < -9223372036854775808.0 || numeric >= 9223372036854775808.0)
          return value.dump() + " is too large for an integer parameter";
      } else {
        return "must be an integer, got " + value.dump();
      }
      break;
    case ParamType::Float:
      if (!value.is_number()) return "must be a number, got " + value.dump();
      numeric = value.get<double>();
      if (!std::isfinite(numeric)) return "must be finite";
      break;
    case ParamType::Bool:
      if (!value.is_boolean()) return "must be true or false, got " + value.dump();
      return {};
    case ParamType::String:
    case ParamType::Path:
      if (!value.is_string()) return "must be a string, got " + value.dump();
      return {};
    case ParamType::Enum: {
      if (!value.is_string()) return "must be one of the options, got " + value.dump();
      const auto text = value.get<std::string>();
      for (const auto& option : spec.options)
        if (option == text) return {};
      std::string list;
      for (const auto& option : spec.options) list += (list.empty() ? "" : ", ") + option;
      return "'" + text + "' is not one of: " + list;
    }
  }
  if (spec.min && numeric < *spec.min)
    return number(numeric) + " is below the minimum " + number(*spec.min);
  if (spec.max && numeric > *spec.max)
    return number(numeric) + " is above the maximum " + number(*spec.max);
  return {};
}

nlohmann::json toJson(const NodeDescriptor& d) {
  auto port = [](const PortSpec& p) {
    nlohmann::json j{{"name", p.name}, {"type", p.type}, {"tooltip", p.tooltip}};
    if (p.optional) j["optional"] = true;
    return j;
  };
  nlohmann::json inputs = nlohmann::json::array(), outputs = nlohmann::json::array(),
                 params = nlohmann::json::array();
  for (const auto& p : d.inputs) inputs.push_back(port(p));
  for (const auto& p : d.outputs) outputs.push_back(port(p));
  for (const auto& p : d.params) {
    nlohmann::json j{{"name", p.name}, {"type", toString(p.type)}, {"default", p.defaultValue},
                     {"tooltip", p.tooltip}};
    if (p.min) j["min"] = *p.min;
    if (p.max) j["max"] = *p.max;
    if (p.step) j["step"] = *p.step;
    if (!p.options.empty()) j["options"] = p.options;
    if (p.multiline) j["multiline"] = true;
    if (!p.widget.empty()) j["widget"] = p.widget;
    params.push_back(std::move(j));
  }
  return {{"id", d.id},           {"version", d.version},   {"display_name", d.displayName},
          {"category", d.category}, {"description", d.description}, {"comfy_name", d.comfyName},
          {"side_effects", d.sideEffects}, {"inputs", inputs}, {"params", params},
          {"outputs", outputs}};
}

std::vector<std::string> checkDescriptor(const NodeDescriptor& d) {
  std::vector<std::string> problems;
  if (d.id.empty()) problems.push_back("empty id");
  if (d.version < 1) problems.push_back("version must be at least 1");
  std::set<std::string> names;
  auto checkName = [&](const std::string& kind, const std::string& name) {
    if (name.empty() || name.find('.') != std::string::npos)
      problems.push_back(kind + " name '" + name + "' must be non-empty and contain no '.'");
    if (!names.insert(kind + ":" + name).second) problems.push_back("duplicate " + kind + " '" + name + "'");
  };
  for (const auto& p : d.inputs) {
    checkName("input", p.name);
    if (p.type.empty()) problems.push_back("input '" + p.name + "' has no type");
  }
  for (const auto& p : d.outputs) {
    checkName("output", p.name);
    if (p.type.empty()) problems.push_back("output '" + p.name + "' has no type");
  }
  for (const auto& p : d.params) {
    checkName("param", p.name);
    if (d.findInput(p.name)) problems.push_back("'" + p.name + "' is both an input and a parameter");
    if (p.type == ParamType::Enum && p.options.empty())
      problems.push_back("enum parameter '" + p.name + "' has no options");
    if (auto why = checkParamValue(p, p.defaultValue); !why.empty())
      problems.push_back("default of parameter '" + p.name + "' " + why);
  }
  return problems;
}

}  // namespace presence::core
