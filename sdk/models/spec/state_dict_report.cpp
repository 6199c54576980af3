#include "presence/models/spec/state_dict_report.hpp"

#include <set>
#include <sstream>

namespace presence::models::spec {

std::string formatShape(const std::vector<int64_t>& shape) {
  std::ostringstream out;
  out << "[";
  for (size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
  out << "]";
  return out.str();
}

std::string StateDictReport::describe() const {
  std::ostringstream out;
  for (const auto& name : missing) out << "missing: " << name << "\n";
  for (const auto& m : misshaped)
    out << "shape of " << m.name << ": expected " << formatShape(m.expected) << ", found " << formatShape(m.found)
        << "\n";
  for (const auto& name : unexpected) out << "unexpected: " << name << "\n";
  return out.str();
}

StateDictReport compareStateDict(const std::vector<std::pair<std::string, std::vector<int64_t>>>& expected,
                                 const std::map<std::string, std::vector<int64_t>>& found) {
  StateDictReport report;
  std::set<std::string> names;
  for (const auto& [name, shape] : expected) {
    names.insert(name);
    const auto it = found.find(name);
    if (it == found.end())
      report.missing.push_back(name);
    else if (it->second != shape)
      report.misshaped.push_back({name, shape, it->second});
  }
  for (const auto& [name, shape] : found)
    if (names.count(name) == 0) report.unexpected.push_back(name);
  return report;
}

}  // namespace presence::models::spec
