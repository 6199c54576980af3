// What a checkpoint holds compared with what a model config expects, by tensor name and shape:
// the one strict-loading report every architecture uses. No LibTorch.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace presence::models::spec {

/// "[2, 3, 4]" ("[]" for a 0-d tensor).
std::string formatShape(const std::vector<int64_t>& shape);

/// Missing, unexpected and mis-shaped tensors. A plain value.
struct StateDictReport {
  struct Mismatch {
    std::string name;
    std::vector<int64_t> expected;
    std::vector<int64_t> found;
  };
  std::vector<std::string> missing;     ///< expected, not in the file (expected order)
  std::vector<std::string> unexpected;  ///< in the file, not expected (file order)
  std::vector<Mismatch> misshaped;      ///< in both, with different shapes (expected order)

  bool empty() const { return missing.empty() && unexpected.empty() && misshaped.empty(); }
  /// One problem a line: "missing: a", "shape of b: expected [..], found [..]", "unexpected: c".
  std::string describe() const;
};

/// Compares `found` (name → shape, e.g. a checkpoint's header) with `expected` (name and shape in
/// the config's order).
StateDictReport compareStateDict(const std::vector<std::pair<std::string, std::vector<int64_t>>>& expected,
                                 const std::map<std::string, std::vector<int64_t>>& found);

}  // namespace presence::models::spec
