// Named UMT5 encoder presets. `umt5-xxl` has the public shapes (the encoder Wan2.2, Ovi and
// Identity-as-Presence use); `small` is a CPU-sized encoder for the built-in default model;
// `tiny` runs unit tests in milliseconds (vocabulary 256, enough for a test tokenizer).
#pragma once

#include <string>
#include <vector>

#include "presence/models/text/umt5_config.hpp"

namespace presence::models::text {

/// Every preset name: "umt5-xxl", "small", "tiny".
std::vector<std::string> umt5PresetNames();

/// One line saying what a preset is for.
std::string umt5PresetSummary(const std::string& name);

/// The preset's config. Throws presence::core::InputError naming the unknown preset and the
/// known ones.
Umt5Config umt5Preset(const std::string& name);

}  // namespace presence::models::text
