#include "models_command.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <iostream>

#include "presence/core/error.hpp"
#include "presence/models/dit/dit_manifest.hpp"
#include "presence/models/dit/dit_presets.hpp"

namespace presence::cli {
namespace {

using namespace presence::models::dit;

int64_t bytesPerElement(const std::string& dtype) { return dtype == "f32" ? 4 : 2; }

std::string gigabytes(int64_t bytes) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2f GB", static_cast<double>(bytes) / 1e9);
  return buffer;
}

nlohmann::json specJson(const ParameterSpec& p) {
  return {{"name", p.name}, {"shape", p.shape}, {"dtype", p.dtype}, {"role", toString(p.role)}};
}

}  // namespace

int modelsCommand(const std::string& manifestPreset, bool json) {
  try {
    if (!manifestPreset.empty()) {
      const Manifest m = buildManifest(preset(manifestPreset));
      if (json) {
        nlohmann::json list = nlohmann::json::array();
        for (const auto& p : m.parameters) list.push_back(specJson(p));
        std::cout << list.dump(1) << "\n";
      } else {
        std::cout << formatManifest(m);
      }
      return 0;
    }
    nlohmann::json list = nlohmann::json::array();
    for (const auto& name : presetNames()) {
      const DitConfig c = preset(name);
      const Manifest m = buildManifest(c);
      const int64_t bytes = m.parameterCount() * bytesPerElement(c.weightDtype);
      if (json) {
        list.push_back({{"name", name},
                        {"summary", presetSummary(name)},
                        {"tensors", m.tensorCount(false)},
                        {"parameters", m.parameterCount(false)},
                        {"extension_parameters", m.parameterCount() - m.parameterCount(false)},
                        {"forward_parameters", m.forwardParameterCount()},
                        {"weight_dtype", c.weightDtype},
                        {"bytes", bytes}});
        continue;
      }
      std::cout << name << ": " << presetSummary(name) << "\n"
                << "  " << m.tensorCount(false) << " tensors, " << m.parameterCount(false) << " parameters in the "
                << "official layout (+" << m.parameterCount() - m.parameterCount(false) << " identity embedding), "
                << m.forwardParameterCount() << " read by the forward pass, " << gigabytes(bytes) << " as "
                << c.weightDtype << "\n";
    }
    if (json) std::cout << list.dump(1) << "\n";
    return 0;
  } catch (const core::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  }
}

}  // namespace presence::cli
