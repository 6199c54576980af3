#include "presence/models/dit/checkpoint_names.hpp"

#include <algorithm>
#include <sstream>
#include <unordered_map>

namespace presence::models::dit {
namespace {

std::string shapeText(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

bool endsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void listSome(std::ostringstream& out, const char* title, const std::vector<std::string>& items, size_t maxListed) {
  if (items.empty()) return;
  out << title << " (" << items.size() << "):\n";
  for (size_t i = 0; i < items.size() && i < maxListed; ++i) out << "  " << items[i] << "\n";
  if (items.size() > maxListed) out << "  ... and " << items.size() - maxListed << " more\n";
}

}  // namespace

std::string canonicalCheckpointName(const std::string& fileKey) {
  std::string name = fileKey;
  for (const char* wrapper : {"module.", "model."}) {
    const std::string w = wrapper;
    if (name.rfind(w, 0) == 0) name = name.substr(w.size());
  }
  const std::string ovi = ".modulation.modulation";
  if (endsWith(name, ovi)) name = name.substr(0, name.size() - ovi.size()) + ".modulation";
  return name;
}

bool CheckpointPlan::ok(bool strict) const {
  return missing.empty() && misshaped.empty() && (!strict || unexpected.empty());
}

std::string CheckpointPlan::report(size_t maxListed) const {
  std::ostringstream out;
  out << assignments.size() << " tensors loaded, " << copiedFromTwin.size() << " _prime weights copied from their twin, "
      << initialised.size() << " extension tensors initialised, " << ignored.size() << " ignored (never read)\n";
  listSome(out, "missing", missing, maxListed);
  listSome(out, "mis-shaped", misshaped, maxListed);
  listSome(out, "unexpected", unexpected, maxListed);
  return out.str();
}

CheckpointPlan planCheckpointLoad(const Manifest& manifest, const std::vector<CheckpointTensorInfo>& tensors,
                                  bool loadStoredOnly) {
  std::unordered_map<std::string, size_t> byName;
  for (size_t i = 0; i < manifest.parameters.size(); ++i) byName.emplace(manifest.parameters[i].name, i);

  CheckpointPlan plan;
  std::vector<bool> provided(manifest.parameters.size(), false);
  std::vector<std::pair<size_t, std::string>> misshaped;  // reported in manifest order
  for (const auto& t : tensors) {
    const auto it = byName.find(canonicalCheckpointName(t.name));
    if (it == byName.end()) {
      plan.unexpected.push_back(t.name);
      continue;
    }
    const ParameterSpec& p = manifest.parameters[it->second];
    if (provided[it->second]) {
      plan.unexpected.push_back(t.name + " (a second spelling of " + p.name + ")");
      continue;
    }
    if (t.shape != p.shape) {
      misshaped.emplace_back(it->second, p.name + ": file " + shapeText(t.shape) + " but the model expects " +
                                             shapeText(p.shape));
      provided[it->second] = true;
      continue;
    }
    provided[it->second] = true;
    if (p.role == ParameterRole::StoredOnly && !loadStoredOnly) {
      plan.ignored.push_back(p.name);
      continue;
    }
    plan.assignments.push_back({t.name, it->second});
  }

  for (size_t i = 0; i < manifest.parameters.size(); ++i) {
    if (provided[i]) continue;
    const ParameterSpec& p = manifest.parameters[i];
    if (p.role == ParameterRole::Extension) {
      plan.initialised.push_back(i);
      continue;
    }
    if (p.role == ParameterRole::StoredOnly && !loadStoredOnly) continue;
    if (!p.twin.empty()) {
      const auto twin = byName.find(p.twin);
      if (twin != byName.end() && provided[twin->second]) {
        plan.copiedFromTwin.emplace_back(i, twin->second);
        continue;
      }
    }
    plan.missing.push_back(p.name);
  }
  std::sort(misshaped.begin(), misshaped.end());
  for (auto& entry : misshaped) plan.misshaped.push_back(std::move(entry.second));
  return plan;
}

}  // namespace presence::models::dit
