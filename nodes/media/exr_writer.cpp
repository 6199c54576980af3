// EXR sequences through OpenEXR: HALF RGB, ZIP compression, frame rate and provenance metadata.
#include <Imath/half.h>
#include <OpenEXR/IlmThreadPool.h>
#include <OpenEXR/ImfChannelList.h>
#include <OpenEXR/ImfFrameBuffer.h>
#include <OpenEXR/ImfFramesPerSecond.h>
#include <OpenEXR/ImfHeader.h>
#include <OpenEXR/ImfIntAttribute.h>
#include <OpenEXR/ImfOutputFile.h>
#include <OpenEXR/ImfStandardAttributes.h>
#include <OpenEXR/ImfStringAttribute.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <mutex>
#include <thread>

#include "media_util.hpp"
#include "presence/core/atomic_file.hpp"
#include "presence/core/error.hpp"

namespace presence::media {

namespace fs = std::filesystem;
using namespace detail;

namespace {

/// OpenEXR's global pool, started with one thread per core if nobody (OpenImageIO, the host)
/// has sized it yet.
int exrThreads() {
  static std::once_flag once;
  std::call_once(once, [] {
    if (IlmThread::ThreadPool::globalThreadPool().numThreads() == 0)
      IlmThread::ThreadPool::globalThreadPool().setNumThreads(
          static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
  });
  return IlmThread::ThreadPool::globalThreadPool().numThreads();
}

}  // namespace

std::vector<std::string> writeExr(const ImageBatch& frames, const fs::path& folder, std::string_view prefix,
                                  const ExrMetadata& metadata, const ProgressFn& progress,
                                  const CancelFn& cancelled) {
  checkBatch(frames, "cannot write EXR images");
  if (prefix.empty()) throw core::InputError("cannot write EXR images: the file name prefix is empty");
  if (!std::isfinite(metadata.fps) || metadata.fps < 0.0)
    throw core::InputError("cannot write EXR images: the frame rate must be positive");

  const int width = frames.width, height = frames.height;
  std::string comments = metadata.comments;
  if (comments.empty()) {
    comments = "Written by " + (metadata.software.empty() ? std::string("Presence") : metadata.software);
    if (!metadata.source.empty()) comments += " from " + metadata.source;
    comments += "; RGB half float, values as computed (no colour conversion).";
  }

  core::AtomicFileSet files;
  std::vector<float> rgb;
  std::vector<half> pixels(static_cast<std::size_t>(width) * height * 3);
  for (int i = 0; i < frames.count; ++i) {
    if (cancelled && cancelled()) throw core::Cancelled();
    const fs::path target = folder / sequenceFileName(prefix, i, "exr");
    const fs::path& temp = files.add(target);

    frameRgb(frames, i, rgb);
    for (std::size_t k = 0; k < rgb.size(); ++k) pixels[k] = half(rgb[k]);

    try {
      Imf::Header header(width, height);
      header.compression() = Imf::ZIP_COMPRESSION;
      header.channels().insert("R", Imf::Channel(Imf::HALF));
      header.channels().insert("G", Imf::Channel(Imf::HALF));
      header.channels().insert("B", Imf::Channel(Imf::HALF));
      if (metadata.fps > 0.0) Imf::addFramesPerSecond(header, Imf::guessExactFps(metadata.fps));
      if (!metadata.software.empty()) header.insert("software", Imf::StringAttribute(metadata.software));
      if (!metadata.source.empty()) header.insert("source", Imf::StringAttribute(metadata.source));
      Imf::addComments(header, comments);
      if (!metadata.owner.empty()) Imf::addOwner(header, metadata.owner);
      header.insert("frameNumber", Imf::IntAttribute(i));

      const std::size_t xStride = sizeof(half) * 3, yStride = xStride * width;
      char* base = reinterpret_cast<char*>(pixels.data());
      Imf::FrameBuffer buffer;
      buffer.insert("R", Imf::Slice(Imf::HALF, base, xStride, yStride));
      buffer.insert("G", Imf::Slice(Imf::HALF, base + sizeof(half), xStride, yStride));
      buffer.insert("B", Imf::Slice(Imf::HALF, base + 2 * sizeof(half), xStride, yStride));

      // ZIP compression of the 16-line blocks runs on OpenEXR's global thread pool.
      Imf::OutputFile file(temp.c_str(), header, exrThreads());
      file.setFrameBuffer(buffer);
      file.writePixels(height);
    } catch (const core::Error&) {
      throw;
    } catch (const std::exception& e) {
      fail("write", "image", target, e.what());
    }
    if (progress) progress(double(i + 1) / frames.count);
  }
  files.commitAll();
  return files.targets();
}

}  // namespace presence::media
