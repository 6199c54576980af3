// Helpers shared by the media tests: per-test temporary folders and synthetic media.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "media_io.hpp"
#include "presence/core/error.hpp"

namespace presence::media::testing {

namespace fs = std::filesystem;

/// A fresh, empty folder per test, removed afterwards.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = info != nullptr ? std::string(info->test_suite_name()) + "." + info->name() : "media";
    for (char& ch : name)
      if (ch == '/') ch = '_';
    path_ = fs::temp_directory_path() / ("presence-media-" + std::to_string(::getpid()) + "-" + name);
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& name) const { return path_ / name; }
  /// Names of the entries in the folder (hidden temporary files included), sorted.
  std::vector<std::string> entries() const {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(path_)) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    return names;
  }

 private:
  fs::path path_;
};

/// A smooth colour gradient quantised to 8 bits (so an 8-bit file holds it exactly), with a
/// per-frame shift so frames differ.
inline ImageBatch gradient(int n, int h, int w) {
  ImageBatch b(n, h, w, 3);
  for (int i = 0; i < n; ++i)
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x) {
        b.at(i, y, x, 0) = std::round(255.0f * x / std::max(1, w - 1)) / 255.0f;
        b.at(i, y, x, 1) = std::round(255.0f * y / std::max(1, h - 1)) / 255.0f;
        b.at(i, y, x, 2) = float((x * 7 + y * 3 + i * 40) % 256) / 255.0f;
      }
  return b;
}

/// Frames of one flat colour each.
inline ImageBatch flatFrames(const std::vector<std::array<float, 3>>& colours, int h, int w) {
  ImageBatch b(static_cast<int>(colours.size()), h, w, 3);
  for (int i = 0; i < b.count; ++i)
    for (int y = 0; y < h; ++y)
      for (int x = 0; x < w; ++x)
        for (int c = 0; c < 3; ++c) b.at(i, y, x, c) = colours[i][c];
  return b;
}

/// The mean of channel c over a frame.
inline double meanChannel(const ImageBatch& b, int frame, int c) {
  double sum = 0;
  for (int y = 0; y < b.height; ++y)
    for (int x = 0; x < b.width; ++x) sum += b.at(frame, y, x, c);
  return sum / (double(b.width) * b.height);
}

/// A sine of `hz` at `amplitude`, the same on every channel.
inline Audio sine(double hz, double seconds, int rate, int channels, float amplitude = 0.5f) {
  Audio a;
  a.sampleRate = rate;
  a.channels = channels;
  const auto n = static_cast<std::size_t>(std::llround(seconds * rate));
  a.samples.resize(n * channels);
  for (int c = 0; c < channels; ++c)
    for (std::size_t i = 0; i < n; ++i)
      a.samples[c * n + i] = amplitude * static_cast<float>(std::sin(2.0 * M_PI * hz * double(i) / rate));
  return a;
}

/// The frequency (Hz, 0.25 Hz resolution) with the most energy in channel `c` between lo and hi,
/// by evaluating the DFT at those frequencies (Goertzel).
inline double peakFrequency(const Audio& a, int c, double lo, double hi) {
  const float* x = a.channel(c);
  const auto n = a.frames();
  double best = lo, bestPower = -1;
  for (double f = lo; f <= hi; f += 0.25) {
    const double w = 2.0 * M_PI * f / a.sampleRate, coeff = 2.0 * std::cos(w);
    double s1 = 0, s2 = 0;
    for (std::int64_t i = 0; i < n; ++i) {
      const double s0 = x[i] + coeff * s1 - s2;
      s2 = s1;
      s1 = s0;
    }
    const double power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    if (power > bestPower) {
      bestPower = power;
      best = f;
    }
  }
  return best;
}

/// Upward zero crossings per second of channel c.
inline double zeroCrossingRate(const Audio& a, int c) {
  const float* x = a.channel(c);
  int crossings = 0;
  std::int64_t first = -1, last = -1;
  for (std::int64_t i = 1; i < a.frames(); ++i)
    if (x[i - 1] < 0.0f && x[i] >= 0.0f) {
      ++crossings;
      if (first < 0) first = i;
      last = i;
    }
  if (crossings < 2) return 0.0;
  return (crossings - 1) / (double(last - first) / a.sampleRate);
}

inline double rms(const Audio& a, int c) {
  double sum = 0;
  for (std::int64_t i = 0; i < a.frames(); ++i) sum += double(a.channel(c)[i]) * a.channel(c)[i];
  return a.frames() > 0 ? std::sqrt(sum / a.frames()) : 0.0;
}

inline void writeBytes(const fs::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out << bytes;
}

inline std::string readBytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

/// Keeps the first `fraction` of a file's bytes.
inline void truncateFile(const fs::path& path, double fraction) {
  const auto size = fs::file_size(path);
  fs::resize_file(path, static_cast<std::uintmax_t>(size * fraction));
}

/// Fast encoder settings for tests (the encoded content is tiny anyway).
inline Mp4Options fastMp4() {
  Mp4Options o;
  o.preset = "veryfast";
  return o;
}

}  // namespace presence::media::testing

/// Expects `statement` to throw core::InputError whose message contains `text`.
#define EXPECT_INPUT_ERROR(statement, text)                                       \
  do {                                                                            \
    try {                                                                         \
      statement;                                                                  \
      ADD_FAILURE() << "no exception from " #statement;                           \
    } catch (const ::presence::core::InputError& e_) {                            \
      EXPECT_NE(std::string(e_.what()).find(text), std::string::npos)             \
          << "message: " << e_.what() << "\nexpected to contain: " << (text);     \
    } catch (const std::exception& e_) {                                          \
      ADD_FAILURE() << "wrong exception type from " #statement ": " << e_.what(); \
    }                                                                             \
  } while (0)
