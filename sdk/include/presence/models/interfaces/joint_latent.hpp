// The state a joint audio-video flow-matching sampler integrates: one latent per tower.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>

namespace presence::models {

/// A pair of latents, one per tower. Either may be undefined (`!tensor.defined()`): an audio-only
/// or video-only generation carries only the other one. Holds tensor handles, so copying a
/// JointLatent shares storage; clone() deep-copies.
///
/// Layouts (the released model's call conventions):
/// - video `[B, Cv, F, H, W]`: Cv latent channels (48 at full size), F latent frames, H×W latent
///   pixels;
/// - audio `[B, L, Ca]`, channel-last: L latent positions in time, Ca channels (20 at full size).
/// When both are present their batch sizes are equal.
struct JointLatent {
  at::Tensor video;
  at::Tensor audio;

  bool hasVideo() const { return video.defined(); }
  bool hasAudio() const { return audio.defined(); }
  bool empty() const { return !hasVideo() && !hasAudio(); }
  /// Batch size of whichever latent is present (video first); 0 when empty.
  int64_t batchSize() const {
    if (hasVideo()) return video.size(0);
    if (hasAudio()) return audio.size(0);
    return 0;
  }
  /// Deep copy; undefined members stay undefined.
  JointLatent clone() const {
    return {hasVideo() ? video.clone() : at::Tensor(), hasAudio() ? audio.clone() : at::Tensor()};
  }
};

}  // namespace presence::models
