// The media nodes (namespace presence::nodes::media): loading and saving images, audio and
// video, and the image operations that prepare identity references. The plugin
// (media_plugin.cpp) registers them; tests register them into their own registry.
#pragma once

#include "presence/core/registry.hpp"

namespace presence::nodes::media {

/// load_image, save_image_sequence, image_resize, image_center_crop, pack_views_grid,
/// repeat_frames.
void registerImageNodes(core::NodeRegistry& registry, const std::string& origin);
/// load_audio, save_audio.
void registerAudioNodes(core::NodeRegistry& registry, const std::string& origin);
/// load_video, mux_video.
void registerVideoNodes(core::NodeRegistry& registry, const std::string& origin);

/// All of the above.
inline void registerMediaNodes(core::NodeRegistry& registry, const std::string& origin = "presence-media") {
  registerImageNodes(registry, origin);
  registerAudioNodes(registry, origin);
  registerVideoNodes(registry, origin);
}

}  // namespace presence::nodes::media
