// Reading video files: frames through libavcodec + swscale, sound through AudioDecoder.
#include <algorithm>
#include <cmath>
#include <optional>

extern "C" {
#include <libavutil/pixdesc.h>
}

#include "ffmpeg_util.hpp"

namespace presence::media {

namespace fs = std::filesystem;
using namespace detail;

namespace {

/// Converts decoded frames of any pixel format to packed RGB float 0..1 at a fixed size.
class FrameConverter {
 public:
  FrameConverter(int width, int height) : width_(width), height_(height) {}

  void append(const AVFrame* frame, std::vector<float>& out) {
    auto format = static_cast<AVPixelFormat>(frame->format);
    int fullRange = frame->color_range == AVCOL_RANGE_JPEG ? 1 : 0;
    // The deprecated "J" formats mean full-range YUV.
    switch (format) {
      case AV_PIX_FMT_YUVJ420P:
        format = AV_PIX_FMT_YUV420P;
        fullRange = 1;
        break;
      case AV_PIX_FMT_YUVJ422P:
        format = AV_PIX_FMT_YUV422P;
        fullRange = 1;
        break;
      case AV_PIX_FMT_YUVJ444P:
        format = AV_PIX_FMT_YUV444P;
        fullRange = 1;
        break;
      case AV_PIX_FMT_YUVJ440P:
        format = AV_PIX_FMT_YUV440P;
        fullRange = 1;
        break;
      default:
        break;
    }
    const AVPixFmtDescriptor* desc = av_pix_fmt_desc_get(format);
    const bool deep = desc != nullptr && desc->comp[0].depth > 8;
    const AVPixelFormat dstFormat = deep ? AV_PIX_FMT_RGB48 : AV_PIX_FMT_RGB24;
    SwsContext* sws = sws_getCachedContext(
        scaler_.release(), frame->width, frame->height, format, width_, height_, dstFormat,
        SWS_BICUBIC | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, nullptr, nullptr, nullptr);
    scaler_.reset(sws);
    if (sws == nullptr) throw core::InputError("unsupported pixel format");
    if (desc != nullptr && !(desc->flags & AV_PIX_FMT_FLAG_RGB)) {
      // sws_getCoefficients falls back to BT.601 for untagged or unknown matrices.
      const int* coefficients = sws_getCoefficients(frame->colorspace);
      sws_setColorspaceDetails(sws, coefficients, fullRange, sws_getCoefficients(SWS_CS_DEFAULT), 1, 0,
                               1 << 16, 1 << 16);
    }
    const int bytesPerSample = deep ? 2 : 1;
    rgb_.resize(static_cast<std::size_t>(width_) * height_ * 3 * bytesPerSample);
    uint8_t* dst[4] = {rgb_.data(), nullptr, nullptr, nullptr};
    int dstStride[4] = {width_ * 3 * bytesPerSample, 0, 0, 0};
    sws_scale(sws, frame->data, frame->linesize, 0, frame->height, dst, dstStride);

    const std::size_t n = static_cast<std::size_t>(width_) * height_ * 3;
    const std::size_t start = out.size();
    out.resize(start + n);
    if (deep) {
      const auto* s = reinterpret_cast<const uint16_t*>(rgb_.data());
      for (std::size_t k = 0; k < n; ++k) out[start + k] = s[k] / 65535.0f;
    } else {
      for (std::size_t k = 0; k < n; ++k) out[start + k] = rgb_[k] / 255.0f;
    }
  }

 private:
  int width_, height_;
  Scaler scaler_;
  std::vector<uint8_t> rgb_;
};

}  // namespace

Video loadVideo(const fs::path& path, const VideoLoadOptions& options, const ProgressFn& progress,
                const CancelFn& cancelled) {
  if (options.maxFrames < 0) fail("read", "video", path, "the frame limit must not be negative");
  if (options.audioChannels < 0 || options.audioChannels > 2)
    fail("read", "video", path, "audio channels must be 1 or 2");
  FormatInput input = openInput(path, "video");

  const int videoIndex = av_find_best_stream(input.get(), AVMEDIA_TYPE_VIDEO, -1, -1, nullptr, 0);
  if (videoIndex < 0)
    fail("read", "video", path,
         std::string("it has no video stream (FFmpeg read it as '") + input->iformat->name + "')");
  AVStream* videoStream = input->streams[videoIndex];
  CodecContext decoder = openDecoder(videoStream, path, "video");
  const int width = videoStream->codecpar->width, height = videoStream->codecpar->height;
  if (width <= 0 || height <= 0) fail("read", "video", path, "the video has no picture size");

  AVRational rate = videoStream->avg_frame_rate;
  if (rate.num <= 0 || rate.den <= 0) rate = av_guess_frame_rate(input.get(), videoStream, nullptr);
  if (rate.num <= 0 || rate.den <= 0) fail("read", "video", path, "the video stream has no frame rate");
  const double fps = av_q2d(rate);

  const int audioIndex = av_find_best_stream(input.get(), AVMEDIA_TYPE_AUDIO, -1, videoIndex, nullptr, 0);
  std::optional<AudioDecoder> audio;
  if (audioIndex >= 0)
    audio.emplace(input->streams[audioIndex], path, options.audioSampleRate, options.audioChannels);

  std::int64_t expected = videoStream->nb_frames;
  if (expected <= 0 && input->duration > 0)
    expected = std::llround(input->duration / double(AV_TIME_BASE) * fps);
  if (options.maxFrames > 0 && (expected <= 0 || expected > options.maxFrames)) expected = options.maxFrames;

  const std::size_t frameFloats = static_cast<std::size_t>(width) * height * 3;
  std::vector<float> pixels;
  if (expected > 0 && static_cast<double>(expected) * frameFloats * sizeof(float) <= double(options.maxBytes))
    pixels.reserve(static_cast<std::size_t>(expected) * frameFloats);
  FrameConverter converter(width, height);
  Frame frame = makeFrame();
  Packet packet = makePacket();
  int frames = 0, badPackets = 0;
  bool videoDone = false;
  const double limitSeconds = options.maxFrames > 0 ? options.maxFrames / fps : 0.0;

  LogCapture log;
  auto receive = [&] {
    for (;;) {
      int err = avcodec_receive_frame(decoder.get(), frame.get());
      if (err == AVERROR(EAGAIN) || err == AVERROR_EOF) return;
      if (err < 0) {
        ++badPackets;
        return;
      }
      if (!videoDone) {
        if ((pixels.size() + frameFloats) * sizeof(float) > options.maxBytes)
          fail("read", "video", path,
               "the clip is too large to load whole: " + std::to_string(frames) + " frames of " +
                   std::to_string(width) + "x" + std::to_string(height) + " already take " +
                   std::to_string(pixels.size() * sizeof(float) >> 20) +
                   " MiB; load fewer frames (max_frames)");
        try {
          converter.append(frame.get(), pixels);
        } catch (const core::InputError& e) {
          fail("decode", "video", path, e.what());
        }
        ++frames;
        if (progress && expected > 0) progress(std::min(1.0, double(frames) / expected));
        if (options.maxFrames > 0 && frames >= options.maxFrames) videoDone = true;
      }
      av_frame_unref(frame.get());
    }
  };

  PacketReader reader(input.get());
  int err = 0;
  while ((err = reader.read(packet.get())) >= 0) {
    if (cancelled && cancelled()) throw core::Cancelled();
    if (packet->stream_index == videoIndex && !videoDone) {
      int sent = avcodec_send_packet(decoder.get(), packet.get());
      if (sent == AVERROR(EAGAIN)) {
        receive();
        sent = avcodec_send_packet(decoder.get(), packet.get());
      }
      if (sent < 0) ++badPackets;
      receive();
    } else if (audio && packet->stream_index == audioIndex) {
      const AVStream* s = input->streams[audioIndex];
      const bool beyond =
          videoDone && packet->pts != AV_NOPTS_VALUE &&
          (packet->pts - (s->start_time == AV_NOPTS_VALUE ? 0 : s->start_time)) * av_q2d(s->time_base) >
              limitSeconds + 0.5;
      if (!beyond) audio->send(packet.get());
    }
    av_packet_unref(packet.get());
    if (videoDone) {
      // Keep reading only while the sound has not reached the pictures' end.
      if (!audio) break;
      if (audio->frames() >= static_cast<std::int64_t>(std::ceil(limitSeconds * audio->sampleRate())) + 4096)
        break;
    }
  }
  // Stopping early at max_frames leaves err >= 0: only a read to the end is checked.
  if (err < 0) checkReadEnd(err, reader, path, "video");
  if (!videoDone) {
    avcodec_send_packet(decoder.get(), nullptr);
    receive();
  }
  if (frames == 0)
    fail("decode", "video", path,
         badPackets > 0 ? "no frame could be decoded (the stream is corrupt or truncated): " +
                              describe(AVERROR_INVALIDDATA, log)
                        : "the video stream has no frames");

  Video video;
  video.fps = fps;
  video.frames.count = frames;
  video.frames.width = width;
  video.frames.height = height;
  video.frames.channels = 3;
  video.frames.pixels = std::move(pixels);
  if (audio) {
    try {
      Audio sound = audio->finish();
      if (options.maxFrames > 0) {
        const auto keep = static_cast<std::size_t>(std::llround(frames / fps * sound.sampleRate));
        if (static_cast<std::size_t>(sound.frames()) > keep) {
          std::vector<float> trimmed;
          trimmed.reserve(keep * sound.channels);
          for (int c = 0; c < sound.channels; ++c)
            trimmed.insert(trimmed.end(), sound.channel(c), sound.channel(c) + keep);
          sound.samples = std::move(trimmed);
        }
      }
      video.audio = std::move(sound);
    } catch (const core::InputError&) {
      if (options.maxFrames == 0) throw;  // a cut-short read may legitimately hold no sound yet
    }
  }
  if (progress) progress(1.0);
  return video;
}

}  // namespace presence::media
