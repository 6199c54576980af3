#include "ffmpeg_util.hpp"

#include <algorithm>
#include <cstdarg>
#include <mutex>

extern "C" {
#include <libavutil/error.h>
#include <libavutil/log.h>
#include <libavutil/opt.h>
}

namespace presence::media::detail {

namespace fs = std::filesystem;

std::string avErrorText(int code) {
  char text[AV_ERROR_MAX_STRING_SIZE] = {};
  av_strerror(code, text, sizeof text);
  return text;
}

// ---------------------------------------------------------------------------------------------
// Log capture

namespace {

thread_local LogCapture* tlsCapture = nullptr;

void logCallback(void* avcl, int level, const char* fmt, va_list args) {
  if (tlsCapture != nullptr) {
    // Capturing: keep warnings and errors for the exception message, drop chatter (x264's
    // "using cpu capabilities", ...), print nothing.
    if (level > AV_LOG_WARNING) return;
    char line[1024] = {};
    int printPrefix = 0;
    va_list copy;
    va_copy(copy, args);
    av_log_format_line2(avcl, level, fmt, copy, line, sizeof line, &printPrefix);
    va_end(copy);
    tlsCapture->add(level, line);
    return;
  }
  av_log_default_callback(avcl, level, fmt, args);
}

void installLogCallback() {
  static std::once_flag once;
  std::call_once(once, [] { av_log_set_callback(&logCallback); });
}

}  // namespace

LogCapture::LogCapture() : previous_(tlsCapture) {
  installLogCallback();
  tlsCapture = this;
}

LogCapture::~LogCapture() { tlsCapture = previous_; }

void LogCapture::add(int level, std::string line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r' || line.back() == ' ')) line.pop_back();
  if (line.empty() || errors_.size() >= 16) return;
  // Errors first, so firstError() prefers them over warnings.
  if (level <= AV_LOG_ERROR) {
    auto firstWarning = std::find_if(errors_.begin(), errors_.end(),
                                     [](const std::string& s) { return s.rfind("W:", 0) == 0; });
    errors_.insert(firstWarning, "E:" + line);
  } else {
    errors_.push_back("W:" + line);
  }
}

std::string LogCapture::firstError(Level level) const {
  if (errors_.empty()) return {};
  if (level == ErrorsOnly && errors_.front().rfind("E:", 0) != 0) return {};
  return errors_.front().substr(2);
}

std::string describe(int code, const LogCapture& log) {
  std::string text = avErrorText(code);
  std::string detail = log.firstError();
  if (!detail.empty() && detail != text) text += " (FFmpeg: " + detail + ")";
  return text;
}

// ---------------------------------------------------------------------------------------------

Frame makeFrame() {
  Frame f(av_frame_alloc());
  if (!f) throw std::bad_alloc();
  return f;
}

Packet makePacket() {
  Packet p(av_packet_alloc());
  if (!p) throw std::bad_alloc();
  return p;
}

FormatInput openInput(const fs::path& path, std::string_view what) {
  checkReadable(path, what);

  LogCapture log;
  AVFormatContext* raw = nullptr;
  int err = avformat_open_input(&raw, path.c_str(), nullptr, nullptr);
  if (err < 0) {
    if (err == AVERROR_INVALIDDATA) {
      std::string cause = "not a media file FFmpeg can read, or corrupt or truncated";
      const std::string detail = log.firstError();
      if (!detail.empty()) cause += " (FFmpeg: " + detail + ")";
      fail("read", what, path, cause);
    }
    fail("read", what, path, describe(err, log));
  }
  FormatInput input(raw);
  err = avformat_find_stream_info(input.get(), nullptr);
  if (err < 0) fail("read", what, path, "cannot find its streams: " + describe(err, log));
  return input;
}

int PacketReader::read(AVPacket* packet) {
  LogCapture log;
  const int err = av_read_frame(input_, packet);
  if (error_.empty()) error_ = log.firstError(LogCapture::ErrorsOnly);
  return err;
}

void checkReadEnd(int err, const PacketReader& reader, const fs::path& path, std::string_view what) {
  if (err < 0 && err != AVERROR_EOF) {
    std::string cause = "reading failed (damaged or truncated file): " + avErrorText(err);
    if (!reader.loggedError().empty()) cause += " (FFmpeg: " + reader.loggedError() + ")";
    fail("read", what, path, cause);
  }
  if (!reader.loggedError().empty())
    fail("read", what, path, "the file is damaged or truncated (FFmpeg: " + reader.loggedError() + ")");
}

CodecContext openDecoder(AVStream* stream, const fs::path& path, std::string_view what) {
  const AVCodec* decoder = avcodec_find_decoder(stream->codecpar->codec_id);
  if (decoder == nullptr)
    fail("decode", what, path,
         std::string("no decoder for codec '") + avcodec_get_name(stream->codecpar->codec_id) + "'");
  CodecContext ctx(avcodec_alloc_context3(decoder));
  if (!ctx) throw std::bad_alloc();
  LogCapture log;
  int err = avcodec_parameters_to_context(ctx.get(), stream->codecpar);
  if (err >= 0) {
    ctx->pkt_timebase = stream->time_base;
    ctx->thread_count = 0;  // automatic
    err = avcodec_open2(ctx.get(), decoder, nullptr);
  }
  if (err < 0)
    fail("decode", what, path,
         std::string("cannot open the ") + decoder->name + " decoder: " + describe(err, log));
  return ctx;
}

FormatOutput openOutput(const fs::path& file, const char* formatName, const fs::path& target,
                        std::string_view what) {
  LogCapture log;
  AVFormatContext* raw = nullptr;
  int err = avformat_alloc_output_context2(&raw, nullptr, formatName, file.c_str());
  if (err < 0 || raw == nullptr)
    fail("write", what, target, "cannot create the container: " + describe(err, log));
  FormatOutput output(raw);
  return output;
}

void encodeAndWrite(AVFormatContext* format, AVCodecContext* encoder, AVStream* stream, const AVFrame* frame,
                    const fs::path& target, std::string_view what) {
  LogCapture log;
  int err = avcodec_send_frame(encoder, frame);
  if (err < 0 && err != AVERROR_EOF) fail("write", what, target, "encoding failed: " + describe(err, log));
  Packet packet = makePacket();
  for (;;) {
    err = avcodec_receive_packet(encoder, packet.get());
    if (err == AVERROR(EAGAIN) || err == AVERROR_EOF) return;
    if (err < 0) fail("write", what, target, "encoding failed: " + describe(err, log));
    packet->stream_index = stream->index;
    av_packet_rescale_ts(packet.get(), encoder->time_base, stream->time_base);
    err = av_interleaved_write_frame(format, packet.get());
    if (err < 0) fail("write", what, target, "writing failed: " + describe(err, log));
  }
}

AVChannelLayout defaultLayout(int channels) {
  AVChannelLayout layout{};
  av_channel_layout_default(&layout, channels);
  return layout;
}

// ---------------------------------------------------------------------------------------------
// AudioDecoder

AudioDecoder::AudioDecoder(AVStream* stream, const fs::path& path, int sampleRate, int channels)
    : path_(path), codec_(openDecoder(stream, path, "audio")), frame_(makeFrame()) {
  if (channels < 0 || channels > 2) fail("read", "audio", path, "channels must be 1 or 2");
  if (sampleRate < 0) fail("read", "audio", path, "the sample rate must be positive");
  outRate_ = sampleRate > 0 ? sampleRate : codec_->sample_rate;
  int inChannels = codec_->ch_layout.nb_channels;
  outChannels_ = channels > 0 ? channels : (inChannels == 1 ? 1 : 2);
  planes_.resize(outChannels_);
}

AudioDecoder::~AudioDecoder() { av_channel_layout_uninit(&swrInLayout_); }

void AudioDecoder::ensureResampler(const AVFrame* frame) {
  AVChannelLayout inLayout{};
  if (frame->ch_layout.nb_channels > 0 && frame->ch_layout.order != AV_CHANNEL_ORDER_UNSPEC)
    av_channel_layout_copy(&inLayout, &frame->ch_layout);
  else
    av_channel_layout_default(&inLayout, std::max(1, frame->ch_layout.nb_channels));
  if (swr_ && swrInRate_ == frame->sample_rate && swrInFormat_ == frame->format &&
      av_channel_layout_compare(&inLayout, &swrInLayout_) == 0) {
    av_channel_layout_uninit(&inLayout);
    return;
  }
  if (swr_) {
    // The stream changed its parameters midway: drain the old resampler first.
    SwrContext* old = swr_.get();
    std::vector<std::vector<float>> tmp(planes_.size());
    for (;;) {
      std::vector<uint8_t*> out;
      for (auto& t : tmp) {
        t.assign(4096, 0.0f);
        out.push_back(reinterpret_cast<uint8_t*>(t.data()));
      }
      int n = swr_convert(old, out.data(), 4096, nullptr, 0);
      if (n <= 0) break;
      for (std::size_t c = 0; c < planes_.size(); ++c)
        planes_[c].insert(planes_[c].end(), tmp[c].begin(), tmp[c].begin() + n);
    }
    swr_.reset();
  }
  if (outRate_ <= 0) outRate_ = frame->sample_rate;
  if (frame->sample_rate <= 0) fail("decode", "audio", path_, "the stream has no sample rate");

  // Mono is resampled as mono and then copied into both channels: libswresample's own upmix
  // lowers the level by 3 dB.
  int swrOutChannels = (inLayout.nb_channels == 1) ? 1 : outChannels_;
  AVChannelLayout outLayout = defaultLayout(swrOutChannels);
  SwrContext* swr = nullptr;
  int err = swr_alloc_set_opts2(&swr, &outLayout, AV_SAMPLE_FMT_FLTP, outRate_, &inLayout,
                                static_cast<AVSampleFormat>(frame->format), frame->sample_rate, 0, nullptr);
  // Down-mixes are normalised (stereo to mono is the mean), so they never clip.
  if (err >= 0) err = av_opt_set_double(swr, "rematrix_maxval", 1.0, 0);
  if (err >= 0) err = swr_init(swr);
  if (err < 0) {
    swr_free(&swr);
    av_channel_layout_uninit(&inLayout);
    fail("decode", "audio", path_, "cannot set up the resampler: " + avErrorText(err));
  }
  swr_.reset(swr);
  av_channel_layout_uninit(&swrInLayout_);
  swrInLayout_ = inLayout;
  swrInRate_ = frame->sample_rate;
  swrInFormat_ = frame->format;
}

void AudioDecoder::convert(const AVFrame* frame) {
  ensureResampler(frame);
  int swrOut = swrInLayout_.nb_channels == 1 ? 1 : outChannels_;
  int capacity = swr_get_out_samples(swr_.get(), frame->nb_samples);
  if (capacity <= 0) capacity = frame->nb_samples + 256;
  std::vector<uint8_t*> out(swrOut);
  std::size_t start = planes_[0].size();
  for (int c = 0; c < swrOut; ++c) {
    planes_[c].resize(start + capacity);
    out[c] = reinterpret_cast<uint8_t*>(planes_[c].data() + start);
  }
  int n = swr_convert(swr_.get(), out.data(), capacity, const_cast<const uint8_t**>(frame->extended_data),
                      frame->nb_samples);
  if (n < 0) n = 0;
  for (int c = 0; c < swrOut; ++c) planes_[c].resize(start + n);
  for (int c = swrOut; c < outChannels_; ++c) planes_[c] = planes_[0];
}

void AudioDecoder::receiveFrames() {
  for (;;) {
    int err = avcodec_receive_frame(codec_.get(), frame_.get());
    if (err == AVERROR(EAGAIN) || err == AVERROR_EOF) return;
    if (err < 0) {
      ++badPackets_;
      return;
    }
    if (frame_->nb_samples > 0) {
      convert(frame_.get());
      ++goodFrames_;
    }
    av_frame_unref(frame_.get());
  }
}

void AudioDecoder::send(const AVPacket* packet) {
  LogCapture log;  // corrupt packets are counted, not printed
  int err = avcodec_send_packet(codec_.get(), packet);
  if (err == AVERROR(EAGAIN)) {
    receiveFrames();
    err = avcodec_send_packet(codec_.get(), packet);
  }
  if (err < 0 && err != AVERROR_EOF) ++badPackets_;
  receiveFrames();
}

Audio AudioDecoder::finish() {
  {
    LogCapture log;
    avcodec_send_packet(codec_.get(), nullptr);
    receiveFrames();
  }
  if (goodFrames_ == 0)
    fail("decode", "audio", path_,
         badPackets_ > 0 ? "no audio could be decoded (the stream is corrupt or truncated)"
                         : "the audio stream is empty");
  if (swr_) {
    int swrOut = swrInLayout_.nb_channels == 1 ? 1 : outChannels_;
    for (;;) {
      std::vector<uint8_t*> out(swrOut);
      std::size_t start = planes_[0].size();
      const int capacity = 4096;
      for (int c = 0; c < swrOut; ++c) {
        planes_[c].resize(start + capacity);
        out[c] = reinterpret_cast<uint8_t*>(planes_[c].data() + start);
      }
      int n = swr_convert(swr_.get(), out.data(), capacity, nullptr, 0);
      if (n < 0) n = 0;
      for (int c = 0; c < swrOut; ++c) planes_[c].resize(start + n);
      if (n == 0) break;
    }
    for (int c = swrOut; c < outChannels_; ++c) planes_[c] = planes_[0];
  }
  av_channel_layout_uninit(&swrInLayout_);

  Audio audio;
  audio.channels = outChannels_;
  audio.sampleRate = outRate_;
  std::size_t frames = planes_[0].size();
  audio.samples.reserve(frames * outChannels_);
  for (auto& plane : planes_) audio.samples.insert(audio.samples.end(), plane.begin(), plane.end());
  planes_.assign(outChannels_, {});
  return audio;
}

}  // namespace presence::media::detail
