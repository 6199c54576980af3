// Every parameter of a DiT config, by name, shape and dtype, in the official state-dict layout
// (keys `video_model.*`, `audio_model.*`, block modulation as `blocks.N.modulation`), computed
// from the config alone: describing the full-size model allocates nothing.
//
// The manifest is the one list that allocation, checkpoint loading and saving all follow.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "presence/models/dit/dit_config.hpp"

namespace presence::models::dit {

/// Why a parameter is in the manifest.
enum class ParameterRole {
  Forward,      ///< read by the forward pass
  StoredOnly,   ///< in the official files but never read (the unused `_prime` copies)
  Extension,    ///< ours, not in the public files (the identity-embedding table)
};

struct ParameterSpec {
  std::string name;
  std::vector<int64_t> shape;
  std::string dtype;  ///< "bf16", "f32", ...
  ParameterRole role = ParameterRole::Forward;
  /// For a `_prime` weight: the ordinary twin it is copied from when a checkpoint lacks it.
  std::string twin;
  /// What it is initialised to when no checkpoint provides it: "xavier_uniform[_<scale>]",
  /// "normal[_<std>]", "zeros", "ones", or "modulation" (randn / sqrt(dim)).
  std::string init = "normal";

  int64_t numel() const;
};

struct Manifest {
  std::vector<ParameterSpec> parameters;

  int64_t tensorCount(bool includeExtensions = true) const;
  int64_t parameterCount(bool includeExtensions = true) const;
  /// Tensors and parameters the forward pass reads.
  int64_t forwardTensorCount() const;
  int64_t forwardParameterCount() const;
  /// Index of a name, or -1.
  int64_t find(const std::string& name) const;
};

/// The manifest of a config (validated first).
Manifest buildManifest(const DitConfig& config);

/// One parameter a line: "name<TAB>[d0, d1, ...]<TAB>dtype<TAB>role".
std::string formatManifest(const Manifest& manifest);

const char* toString(ParameterRole role);

}  // namespace presence::models::dit
