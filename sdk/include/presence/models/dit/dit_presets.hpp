// Named DiT presets. `iap` has the public Identity-as-Presence shapes and names, `ovi` the public
// Ovi fusion shapes (no `_prime` weights); `small` and `tiny` use the same code with smaller
// numbers: `small` is sized to train the built-in default model on a 2-core CPU, `tiny` runs
// the unit tests in milliseconds.
#pragma once

#include <string>
#include <vector>

#include "presence/models/dit/dit_config.hpp"

namespace presence::models::dit {

/// Every preset name, in the order `presence models` lists them.
std::vector<std::string> presetNames();

/// One line saying what a preset is for.
std::string presetSummary(const std::string& name);

/// The preset's config. Throws presence::core::InputError naming the unknown preset and the
/// known ones.
DitConfig preset(const std::string& name);

}  // namespace presence::models::dit
