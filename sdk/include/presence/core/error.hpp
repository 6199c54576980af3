// Exceptions used inside the SDK; hosts turn them into diagnostics and exit codes.
#pragma once

#include <stdexcept>
#include <string>

namespace presence::core {

/// Base of every error the SDK throws on purpose. The message is meant for a person: it names
/// the node, parameter or file concerned and the cause.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Bad input given by a user: a missing or corrupt file, a value out of range.
class InputError : public Error {
 public:
  using Error::Error;
};

/// Bad value of one node parameter (NodeContext::fail); the executor reports the parameter.
class ParamError : public InputError {
 public:
  ParamError(std::string param, const std::string& cause) : InputError(cause), param_(std::move(param)) {}
  const std::string& param() const { return param_; }

 private:
  std::string param_;
};

/// Thrown by NodeContext::throwIfCancelled(); the executor reports it as a cancellation.
class Cancelled : public Error {
 public:
  Cancelled() : Error("cancelled") {}
};

}  // namespace presence::core
