// Matrix-product FLOPs of one DiT forward pass, counted analytically (2·m·n·k per product,
// attention included, elementwise work not), so a pass's FLOP/s compares directly with a plain
// matrix product's rate. Shared by the DiT benchmarks.
#pragma once

#include <cstdint>

#include "presence/models/dit/dit_config.hpp"

namespace presence::models::dit {

struct Sizes {
  int64_t video = 0, audio = 0, text = 0, faceTokens = 0, voiceTokens = 0;
};

// One tower's matmul FLOPs. `other`: the other tower's tokens (fusion keys); `refs`: reference
// tokens attended to; `refsComputed`: whether the reference path itself runs (cache miss).
inline double towerFlops(const TowerConfig& t, int64_t len, int64_t text, int64_t other, int64_t refs,
                         bool refsComputed) {
  const double d = static_cast<double>(t.dim), f = static_cast<double>(t.ffnDim),
               l = static_cast<double>(len);
  const double lt = static_cast<double>(text), lo = static_cast<double>(other),
               lr = static_cast<double>(refs);
  auto embed = [&](double n) {
    if (t.isVideo())
      return 2 * n * d * static_cast<double>(t.inDim * t.patchSize[0] * t.patchSize[1] * t.patchSize[2]);
    const double k = static_cast<double>(t.convKernel), h = static_cast<double>(t.convMlpHidden());
    return 2 * n * k * (d * static_cast<double>(t.inDim) + 3 * d * h);
  };
  double flops = embed(l) + 2 * lt * (static_cast<double>(t.textDim) * d + d * d);
  flops += 2 * (static_cast<double>(t.freqDim) * d + d * d + 6 * d * d);  // time embedding (once per item)
  double block = 8 * l * d * d + 4 * l * (l + lr) * d;                    // self-attention
  block += 4 * l * d * d + 4 * lt * d * d + 4 * l * lt * d;               // text cross-attention
  if (other > 0) block += 4 * lo * d * d + 4 * l * lo * d;                // fusion
  block += 4 * l * d * f;                                                 // FFN
  if (refs > 0 && refsComputed) block += 8 * lr * d * d + 4 * lr * lr * d + 4 * lr * d * f;
  flops += static_cast<double>(t.numLayers) * block;
  if (refs > 0 && refsComputed) flops += embed(lr);
  return flops + 2 * l * d * static_cast<double>(t.headOutFeatures());
}

inline double forwardFlops(const DitConfig& c, const Sizes& s, bool refsComputed) {
  return towerFlops(c.video, s.video, s.text, s.audio, s.faceTokens, refsComputed) +
         towerFlops(c.audio, s.audio, s.text, s.video, s.voiceTokens, refsComputed);
}

}  // namespace presence::models::dit
