#include "presence/core/diagnostic.hpp"

namespace presence::core {

std::string Diagnostic::format() const {
  std::string out;
  if (!file.empty()) {
    out += file;
    if (line > 0) out += ":" + std::to_string(line) + ":" + std::to_string(column);
    out += ": ";
  }
  out += severity == Severity::Error ? "error: " : "warning: ";
  std::string where;
  if (!node.empty()) where += "node '" + node + "'";
  if (!port.empty()) where += (where.empty() ? "" : ", ") + std::string("port '") + port + "'";
  if (!param.empty()) where += (where.empty() ? "" : ", ") + std::string("parameter '") + param + "'";
  if (!where.empty()) out += where + ": ";
  out += message;
  return out;
}

nlohmann::json Diagnostic::toJson() const {
  nlohmann::json j{{"severity", severity == Severity::Error ? "error" : "warning"},
                   {"code", code},
                   {"message", message}};
  if (!node.empty()) j["node"] = node;
  if (!port.empty()) j["port"] = port;
  if (!param.empty()) j["param"] = param;
  if (!file.empty()) j["file"] = file;
  if (line > 0) {
    j["line"] = line;
    j["column"] = column;
  }
  return j;
}

bool hasErrors(const Diagnostics& diagnostics) {
  for (const auto& d : diagnostics)
    if (d.severity == Severity::Error) return true;
  return false;
}

}  // namespace presence::core
