#include "presence/models/text/umt5_config.hpp"

#include "presence/core/error.hpp"

namespace presence::models::text {

namespace {

void requirePositive(const std::string& model, const char* field, int64_t value) {
  if (value <= 0) {
    throw core::InputError("UMT5 config '" + model + "': " + field + " must be positive, got " +
                           std::to_string(value));
  }
}

}  // namespace

void Umt5Config::validate() const {
  requirePositive(name, "vocabSize", vocabSize);
  requirePositive(name, "dim", dim);
  requirePositive(name, "dimAttn", dimAttn);
  requirePositive(name, "ffnDim", ffnDim);
  requirePositive(name, "numHeads", numHeads);
  requirePositive(name, "numLayers", numLayers);
  requirePositive(name, "textLen", textLen);
  if (dimAttn % numHeads != 0) {
    throw core::InputError("UMT5 config '" + name + "': dimAttn " + std::to_string(dimAttn) +
                           " is not a multiple of numHeads " + std::to_string(numHeads));
  }
  // Bidirectional buckets: half per direction, and half of those are exact distances.
  if (numBuckets < 4 || numBuckets % 2 != 0) {
    throw core::InputError("UMT5 config '" + name + "': numBuckets must be even and at least 4, got " +
                           std::to_string(numBuckets));
  }
  if (maxDistance <= numBuckets / 4) {
    throw core::InputError("UMT5 config '" + name + "': maxDistance " + std::to_string(maxDistance) +
                           " must exceed numBuckets / 4 = " + std::to_string(numBuckets / 4));
  }
  if (!(eps > 0.0)) {
    throw core::InputError("UMT5 config '" + name + "': eps must be positive");
  }
}

}  // namespace presence::models::text
