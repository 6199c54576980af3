// Media payloads that cross hosts without copies: layouts follow ComfyUI's.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace presence::core {

/// IMAGE: a batch of N images (frames or views), [N,H,W,C] float32 in 0..1, row-major.
struct ImageBatch {
  int count = 0;
  int height = 0;
  int width = 0;
  int channels = 0;
  std::vector<float> pixels;

  ImageBatch() = default;
  ImageBatch(int n, int h, int w, int c)
      : count(n), height(h), width(w), channels(c),
        pixels(static_cast<std::size_t>(n) * h * w * c, 0.0f) {}

  std::size_t frameSize() const { return static_cast<std::size_t>(height) * width * channels; }
  float* frame(int i) { return pixels.data() + frameSize() * i; }
  const float* frame(int i) const { return pixels.data() + frameSize() * i; }
  float& at(int n, int y, int x, int c) {
    return pixels[((static_cast<std::size_t>(n) * height + y) * width + x) * channels + c];
  }
  float at(int n, int y, int x, int c) const {
    return pixels[((static_cast<std::size_t>(n) * height + y) * width + x) * channels + c];
  }
  bool empty() const { return count == 0 || height == 0 || width == 0 || channels == 0; }
};

/// AUDIO: planar waveform [C,T] float32 in -1..1 at `sampleRate`.
struct Audio {
  int channels = 0;
  int sampleRate = 0;
  std::vector<float> samples;  ///< channel 0's T samples, then channel 1's, ...

  std::int64_t frames() const {
    return channels == 0 ? 0 : static_cast<std::int64_t>(samples.size()) / channels;
  }
  double seconds() const { return sampleRate == 0 ? 0.0 : double(frames()) / sampleRate; }
  float* channel(int c) { return samples.data() + frames() * c; }
  const float* channel(int c) const { return samples.data() + frames() * c; }
};

/// VIDEO: frames at a frame rate, with optional sound.
struct Video {
  ImageBatch frames;
  double fps = 0.0;
  std::optional<Audio> audio;
  double seconds() const { return fps > 0 ? frames.count / fps : 0.0; }
};

/// FILES: the files a saving node wrote, for the host's summary.
struct FileList {
  std::vector<std::string> paths;
};

}  // namespace presence::core
