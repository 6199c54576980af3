// Internal helpers shared by the FFmpeg-based readers and writers: owning handles, error text,
// opening inputs with clear messages, and an audio stream decoder that resamples as it goes.
// Not installed; include only from nodes/media/*.cpp.
#pragma once

extern "C" {
#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/channel_layout.h>
#include <libswresample/swresample.h>
#include <libswscale/swscale.h>
}

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "media_io.hpp"
#include "media_util.hpp"
#include "presence/core/error.hpp"

namespace presence::media::detail {

/// FFmpeg's text for an AVERROR code.
std::string avErrorText(int code);

/// While alive, FFmpeg's warnings and errors logged on this thread are kept here instead of
/// printed, so that an exception can quote the detail ("moov atom not found"); its info and
/// debug chatter is dropped. Nestable. Installs a process-wide av_log callback on first use,
/// which passes messages from threads that are not capturing to FFmpeg's default callback.
class LogCapture {
 public:
  LogCapture();
  ~LogCapture();
  LogCapture(const LogCapture&) = delete;
  LogCapture& operator=(const LogCapture&) = delete;
  enum Level { ErrorsOrWarnings, ErrorsOnly };
  /// The first captured error line (else the first warning, unless ErrorsOnly), or "".
  std::string firstError(Level level = ErrorsOrWarnings) const;
  void add(int level, std::string line);

 private:
  LogCapture* previous_;
  std::vector<std::string> errors_;
};

/// avErrorText(code), followed by FFmpeg's own logged detail when it says more.
std::string describe(int code, const LogCapture& log);

struct FormatInputDeleter {
  void operator()(AVFormatContext* c) const { avformat_close_input(&c); }
};
using FormatInput = std::unique_ptr<AVFormatContext, FormatInputDeleter>;

struct FormatOutputDeleter {
  void operator()(AVFormatContext* c) const {
    if (c == nullptr) return;
    if (c->pb != nullptr && !(c->oformat->flags & AVFMT_NOFILE)) avio_closep(&c->pb);
    avformat_free_context(c);
  }
};
using FormatOutput = std::unique_ptr<AVFormatContext, FormatOutputDeleter>;

struct CodecContextDeleter {
  void operator()(AVCodecContext* c) const { avcodec_free_context(&c); }
};
using CodecContext = std::unique_ptr<AVCodecContext, CodecContextDeleter>;

struct FrameDeleter {
  void operator()(AVFrame* f) const { av_frame_free(&f); }
};
using Frame = std::unique_ptr<AVFrame, FrameDeleter>;
Frame makeFrame();

struct PacketDeleter {
  void operator()(AVPacket* p) const { av_packet_free(&p); }
};
using Packet = std::unique_ptr<AVPacket, PacketDeleter>;
Packet makePacket();

struct SwrDeleter {
  void operator()(SwrContext* s) const { swr_free(&s); }
};
using Resampler = std::unique_ptr<SwrContext, SwrDeleter>;

struct SwsDeleter {
  void operator()(SwsContext* s) const { sws_freeContext(s); }
};
using Scaler = std::unique_ptr<SwsContext, SwsDeleter>;

/// Opens a media file for reading and finds its streams. `what` is "audio", "video" or
/// "media" for messages. Throws InputError for a missing, empty, unreadable or unrecognised file.
FormatInput openInput(const std::filesystem::path& path, std::string_view what);

/// av_read_frame, remembering the first error the demuxer logs on the way ("partial file"):
/// a truncated file often reads to a clean end of file, and only the log says it was cut.
class PacketReader {
 public:
  explicit PacketReader(AVFormatContext* input) : input_(input) {}
  /// av_read_frame's result.
  int read(AVPacket* packet);
  /// The first error the demuxer logged, or "".
  const std::string& loggedError() const { return error_; }

 private:
  AVFormatContext* input_;
  std::string error_;
};

/// Throws InputError when reading ended with an error other than end of file, or the demuxer
/// logged one (a truncated or damaged file).
void checkReadEnd(int err, const PacketReader& reader, const std::filesystem::path& path,
                  std::string_view what);

/// Opens a decoder for `stream`; throws InputError naming the file when no decoder exists.
CodecContext openDecoder(AVStream* stream, const std::filesystem::path& path, std::string_view what);

/// Creates an output context of format `formatName` writing to `file` (a temporary path);
/// messages name `target`.
FormatOutput openOutput(const std::filesystem::path& file, const char* formatName,
                        const std::filesystem::path& target, std::string_view what);

/// Sends `frame` (null: flush) to the encoder and writes every packet it gives back, rescaled
/// from the encoder's to the stream's time base, through the interleaving muxer.
void encodeAndWrite(AVFormatContext* format, AVCodecContext* encoder, AVStream* stream, const AVFrame* frame,
                    const std::filesystem::path& target, std::string_view what);

/// A channel layout of 1 (mono) or 2 (stereo) channels.
AVChannelLayout defaultLayout(int channels);

/// Decodes one audio stream and resamples it to float planar at a target rate and channel
/// count, accumulating the result. Feed it the stream's packets, then call finish().
class AudioDecoder {
 public:
  /// sampleRate / channels 0: the stream's own (channels > 2 become stereo).
  AudioDecoder(AVStream* stream, const std::filesystem::path& path, int sampleRate, int channels);
  ~AudioDecoder();
  AudioDecoder(const AudioDecoder&) = delete;
  AudioDecoder& operator=(const AudioDecoder&) = delete;

  int sampleRate() const { return outRate_; }
  int channels() const { return outChannels_; }
  /// Samples per channel produced so far.
  std::int64_t frames() const { return static_cast<std::int64_t>(planes_[0].size()); }
  /// Decodes a packet of this stream. Corrupt packets are skipped (counted).
  void send(const AVPacket* packet);
  /// Drains the decoder and flushes the resampler; returns the Audio.
  Audio finish();

 private:
  void receiveFrames();
  void convert(const AVFrame* frame);
  void ensureResampler(const AVFrame* frame);

  std::filesystem::path path_;
  CodecContext codec_;
  Resampler swr_;
  AVChannelLayout swrInLayout_{};
  int swrInRate_ = 0;
  int swrInFormat_ = -1;
  int outRate_ = 0, outChannels_ = 0;
  Frame frame_;
  std::vector<std::vector<float>> planes_;
  int badPackets_ = 0;
  int goodFrames_ = 0;
};

}  // namespace presence::media::detail
