// media_bench: throughput of the media writers on 512x512 RGB frames, in frames per second.
//   EXR sequence (half, ZIP) through OpenEXR, PNG sequence through OpenImageIO, MP4 (H.264
//   x264 "medium" crf 20 + AAC) through FFmpeg, and decoding that MP4 back.
// Run: media_bench [--benchmark_filter=Mp4]. Figures: the "fps" counter.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "media_io.hpp"

namespace {

namespace fs = std::filesystem;
using namespace presence::media;

constexpr int kSize = 512;

/// Frames with detail (a moving pattern), so the encoders have real work.
ImageBatch testFrames(int n) {
  ImageBatch b(n, kSize, kSize, 3);
  for (int i = 0; i < n; ++i)
    for (int y = 0; y < kSize; ++y)
      for (int x = 0; x < kSize; ++x) {
        b.at(i, y, x, 0) = 0.5f + 0.5f * std::sin((x + 3 * i) * 0.05f) * std::cos(y * 0.03f);
        b.at(i, y, x, 1) = float((x ^ y) & 255) / 255.0f;
        b.at(i, y, x, 2) = float(y) / kSize;
      }
  return b;
}

struct Folder {
  Folder() : path(fs::temp_directory_path() / ("presence-media-bench-" + std::to_string(::getpid()))) {
    fs::create_directories(path);
  }
  ~Folder() { fs::remove_all(path); }
  fs::path path;
};

void reportFps(benchmark::State& state, int framesPerIteration) {
  state.SetItemsProcessed(state.iterations() * framesPerIteration);
  state.counters["fps"] =
      benchmark::Counter(double(state.iterations()) * framesPerIteration, benchmark::Counter::kIsRate);
}

void BM_WriteExrSequence(benchmark::State& state) {
  const ImageBatch frames = testFrames(8);
  Folder folder;
  ExrMetadata meta;
  meta.fps = 25;
  for (auto _ : state) benchmark::DoNotOptimize(writeExr(frames, folder.path, "frame", meta));
  reportFps(state, frames.count);
}
BENCHMARK(BM_WriteExrSequence)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_WritePngSequence(benchmark::State& state) {
  const ImageBatch frames = testFrames(8);
  Folder folder;
  for (auto _ : state) benchmark::DoNotOptimize(writePng(frames, folder.path, "frame"));
  reportFps(state, frames.count);
}
BENCHMARK(BM_WritePngSequence)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_MuxMp4(benchmark::State& state) {
  const ImageBatch frames = testFrames(25);
  Audio sound;
  sound.sampleRate = 48000;
  sound.channels = 2;
  sound.samples.resize(48000 * 2);
  for (std::size_t i = 0; i < sound.samples.size(); ++i) sound.samples[i] = 0.3f * std::sin(i * 0.0576f);
  Folder folder;
  Mp4Options options;  // x264 "medium", crf 20: the defaults the mux_video node uses
  for (auto _ : state)
    benchmark::DoNotOptimize(muxMp4(frames, 25.0, &sound, folder.path / "clip.mp4", options));
  reportFps(state, frames.count);
}
BENCHMARK(BM_MuxMp4)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_LoadVideo(benchmark::State& state) {
  Folder folder;
  const ImageBatch frames = testFrames(25);
  muxMp4(frames, 25.0, nullptr, folder.path / "clip.mp4");
  for (auto _ : state) benchmark::DoNotOptimize(loadVideo(folder.path / "clip.mp4"));
  reportFps(state, frames.count);
}
BENCHMARK(BM_LoadVideo)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
