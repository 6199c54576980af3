#include "presence/models/text/umt5_presets.hpp"

#include "presence/core/error.hpp"

namespace presence::models::text {

std::vector<std::string> umt5PresetNames() { return {"umt5-xxl", "small", "tiny"}; }

std::string umt5PresetSummary(const std::string& name) {
  if (name == "umt5-xxl") {
    return "public UMT5-XXL encoder (Wan2.2 / Ovi / Identity-as-Presence): 24 layers, dim 4096, 5.68 B "
           "parameters";
  }
  if (name == "small") {
    return "CPU-sized encoder for the built-in default model: 4 layers, dim 256, vocabulary 1024 (the bundled caption tokenizer)";
  }
  if (name == "tiny") {
    return "unit-test encoder: 2 layers, dim 32, vocabulary 1024";
  }
  throw core::InputError("unknown UMT5 preset '" + name + "' (known: umt5-xxl, small, tiny)");
}

Umt5Config umt5Preset(const std::string& name) {
  Umt5Config config;  // defaults are umt5-xxl
  if (name == "umt5-xxl") {
    return config;
  }
  if (name == "small") {
    config.name = "umt5-small";
    config.vocabSize = 1024;
    config.dim = 256;
    config.dimAttn = 256;
    config.ffnDim = 512;
    config.numHeads = 4;
    config.numLayers = 4;
    config.textLen = 256;
    config.weightDtype = "f32";
    return config;
  }
  if (name == "tiny") {
    config.name = "umt5-tiny";
    config.vocabSize = 1024;
    config.dim = 32;
    config.dimAttn = 32;
    config.ffnDim = 64;
    config.numHeads = 4;
    config.numLayers = 2;
    config.textLen = 64;
    config.weightDtype = "f32";
    return config;
  }
  throw core::InputError("unknown UMT5 preset '" + name + "' (known: umt5-xxl, small, tiny)");
}

}  // namespace presence::models::text
