// `presence models`: the model presets, and any preset's parameter manifest, from configs alone.
#pragma once

#include <string>

namespace presence::cli {

/// Lists the presets (or prints one preset's manifest when `manifestPreset` is set). Returns the
/// exit code: 0, or 2 for an unknown preset (with the known ones on stderr).
int modelsCommand(const std::string& manifestPreset, bool json);

}  // namespace presence::cli
