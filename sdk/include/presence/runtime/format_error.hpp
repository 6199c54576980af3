// The error thrown for a malformed or unreadable model file (safetensors, index.json).
// LibTorch-free.
#pragma once

#include <string>

#include "presence/core/error.hpp"

namespace presence::runtime {

/// A model file that cannot be used: unreadable, truncated, or with a header that does not
/// describe its data. what() is "<file>: <problem>", e.g.
/// "model.safetensors: tensor 'a.weight': data_offsets [0, 10] do not match shape [2, 3] x F32 = 24 bytes".
/// It is an InputError: hosts report it as bad user input (exit code 2 for the CLI).
class FormatError : public core::InputError {
 public:
  FormatError(std::string file, std::string problem)
      : core::InputError(file + ": " + problem), file_(std::move(file)), problem_(std::move(problem)) {}

  /// The file as the caller named it.
  const std::string& file() const { return file_; }
  /// The problem without the file name.
  const std::string& problem() const { return problem_; }

 private:
  std::string file_, problem_;
};

}  // namespace presence::runtime
