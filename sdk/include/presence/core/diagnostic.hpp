// Diagnostics: one problem, with where it is and why, for people and for machines.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace presence::core {

enum class Severity { Error, Warning };

struct Diagnostic {
  Severity severity = Severity::Error;
  std::string code;     ///< stable machine id: "unknown-node-type", "cycle", "node-failed", ...
  std::string node;     ///< node id in the graph, when one is concerned
  std::string port;     ///< input or output port, when one is concerned
  std::string param;    ///< parameter, when one is concerned
  std::string file;     ///< file, when one is concerned
  int line = 0, column = 0;  ///< 1-based; 0 when unknown
  std::string message;  ///< the cause, for a person

  /// "graph.json:3:14: node 'save', parameter 'fps': 0 is below the minimum 1"
  std::string format() const;
  nlohmann::json toJson() const;
};

using Diagnostics = std::vector<Diagnostic>;

bool hasErrors(const Diagnostics& diagnostics);

}  // namespace presence::core
