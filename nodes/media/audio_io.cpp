// Audio: decoding any container through libavformat/libavcodec, resampling with libswresample,
// and writing WAV through FFmpeg's wav muxer.
#include <algorithm>
#include <cmath>
#include <string>

extern "C" {
#include <libavutil/opt.h>
}

#include "ffmpeg_util.hpp"
#include "presence/core/atomic_file.hpp"

namespace presence::media {

namespace fs = std::filesystem;
using namespace detail;

namespace {

void checkChannels(int channels, const fs::path& path, std::string_view verb) {
  if (channels < 0 || channels > 2)
    fail(verb, "audio", path, "channels must be 1 (mono) or 2 (stereo), not " + std::to_string(channels));
}

void checkAudio(const Audio& audio, std::string_view what) {
  if (audio.channels < 1) throw core::InputError(std::string(what) + ": the audio has no channels");
  if (audio.sampleRate < 1) throw core::InputError(std::string(what) + ": the audio has no sample rate");
  if (audio.samples.size() % static_cast<std::size_t>(audio.channels) != 0)
    throw core::InputError(std::string(what) +
                           ": the audio's sample count is not a multiple of its channels");
}

}  // namespace

Audio loadAudio(const fs::path& path, int sampleRate, int channels, const CancelFn& cancelled) {
  checkChannels(channels, path, "read");
  if (sampleRate < 0 || sampleRate > 768000)
    fail("read", "audio", path, "the sample rate " + std::to_string(sampleRate) + " is out of range");
  FormatInput input = openInput(path, "audio");

  int index = av_find_best_stream(input.get(), AVMEDIA_TYPE_AUDIO, -1, -1, nullptr, 0);
  if (index < 0) {
    std::string cause = "it has no audio stream";
    if (input->iformat != nullptr) {
      cause += " (FFmpeg reads it as '" + std::string(input->iformat->name) + "'";
      for (unsigned i = 0; i < input->nb_streams; ++i) {
        const char* type = av_get_media_type_string(input->streams[i]->codecpar->codec_type);
        cause += std::string(i == 0 ? " with " : ", ") + "a " + (type != nullptr ? type : "data") +
                 " stream (" + avcodec_get_name(input->streams[i]->codecpar->codec_id) + ")";
      }
      cause += ")";
    }
    fail("read", "audio", path, cause);
  }
  AudioDecoder decoder(input->streams[index], path, sampleRate, channels);
  Packet packet = makePacket();
  PacketReader reader(input.get());
  int err = 0;
  int packets = 0;
  while ((err = reader.read(packet.get())) >= 0) {
    if (packet->stream_index == index) decoder.send(packet.get());
    av_packet_unref(packet.get());
    if (cancelled && (++packets % 64) == 0 && cancelled()) throw core::Cancelled();
  }
  checkReadEnd(err, reader, path, "audio");
  if (cancelled && cancelled()) throw core::Cancelled();
  return decoder.finish();
}

Audio resampleAudio(const Audio& audio, int sampleRate, int channels) {
  checkAudio(audio, "cannot resample audio");
  if (sampleRate < 1) throw core::InputError("cannot resample audio: the sample rate must be positive");
  if (channels < 1 || channels > 2)
    throw core::InputError("cannot resample audio: channels must be 1 or 2, not " + std::to_string(channels));
  if (audio.sampleRate == sampleRate && audio.channels == channels) return audio;

  const std::int64_t inFrames = audio.frames();
  Audio out;
  out.channels = channels;
  out.sampleRate = sampleRate;
  // Mono to stereo is a copy (libswresample's upmix would lower the level by 3 dB).
  const int swrOutChannels = audio.channels == 1 ? 1 : channels;
  std::vector<std::vector<float>> planes(swrOutChannels);
  if (audio.sampleRate == sampleRate && audio.channels == 1) {
    planes[0].assign(audio.samples.begin(), audio.samples.end());
  } else if (inFrames > 0) {
    AVChannelLayout inLayout = defaultLayout(audio.channels);
    AVChannelLayout outLayout = defaultLayout(swrOutChannels);
    SwrContext* raw = nullptr;
    int err = swr_alloc_set_opts2(&raw, &outLayout, AV_SAMPLE_FMT_FLTP, sampleRate, &inLayout,
                                  AV_SAMPLE_FMT_FLTP, audio.sampleRate, 0, nullptr);
    // Down-mixes are normalised (stereo to mono is the mean), so they never clip.
    if (err >= 0) err = av_opt_set_double(raw, "rematrix_maxval", 1.0, 0);
    if (err >= 0) err = swr_init(raw);
    Resampler swr(raw);
    if (err < 0) throw core::InputError("cannot resample audio: " + avErrorText(err));

    std::vector<const uint8_t*> in(audio.channels);
    for (int c = 0; c < audio.channels; ++c) in[c] = reinterpret_cast<const uint8_t*>(audio.channel(c));
    // Feed in blocks so the working buffers stay small.
    const int block = 65536;
    std::vector<uint8_t*> outPtr(swrOutChannels);
    auto run = [&](const uint8_t** src, int count) {
      for (;;) {
        int capacity = swr_get_out_samples(swr.get(), count);
        if (capacity <= 0) capacity = 4096;
        std::size_t start = planes[0].size();
        for (int c = 0; c < swrOutChannels; ++c) {
          planes[c].resize(start + capacity);
          outPtr[c] = reinterpret_cast<uint8_t*>(planes[c].data() + start);
        }
        int n = swr_convert(swr.get(), outPtr.data(), capacity, src, count);
        if (n < 0) n = 0;
        for (int c = 0; c < swrOutChannels; ++c) planes[c].resize(start + n);
        if (src != nullptr || n == 0) return;  // a flush repeats until it yields nothing
      }
    };
    for (std::int64_t pos = 0; pos < inFrames; pos += block) {
      int count = static_cast<int>(std::min<std::int64_t>(block, inFrames - pos));
      std::vector<const uint8_t*> src(audio.channels);
      for (int c = 0; c < audio.channels; ++c) src[c] = in[c] + pos * sizeof(float);
      run(src.data(), count);
    }
    run(nullptr, 0);
  }
  std::size_t frames = planes[0].size();
  out.samples.reserve(frames * channels);
  for (int c = 0; c < channels; ++c) {
    const auto& plane = planes[std::min(c, swrOutChannels - 1)];
    out.samples.insert(out.samples.end(), plane.begin(), plane.end());
  }
  return out;
}

Audio silentAudio(double seconds, int sampleRate, int channels) {
  if (sampleRate < 1 || channels < 1 || !(seconds >= 0.0) || !std::isfinite(seconds))
    throw core::InputError("cannot make silence: bad duration, sample rate or channel count");
  Audio audio;
  audio.sampleRate = sampleRate;
  audio.channels = channels;
  audio.samples.assign(static_cast<std::size_t>(std::llround(seconds * sampleRate)) * channels, 0.0f);
  return audio;
}

void writeWav(const Audio& audio, const fs::path& path) {
  checkAudio(audio, "cannot write audio '" + path.string() + "'");
  if (audio.channels > 8) fail("write", "audio", path, "at most 8 channels are supported");

  core::AtomicFile file(path);
  {
    FormatOutput output = openOutput(file.tempPath(), "wav", path, "audio");
    const AVCodec* codec = avcodec_find_encoder(AV_CODEC_ID_PCM_S16LE);
    if (codec == nullptr) fail("write", "audio", path, "FFmpeg has no pcm_s16le encoder");
    AVStream* stream = avformat_new_stream(output.get(), nullptr);
    CodecContext encoder(avcodec_alloc_context3(codec));
    if (stream == nullptr || !encoder) throw std::bad_alloc();
    encoder->sample_fmt = AV_SAMPLE_FMT_S16;
    encoder->sample_rate = audio.sampleRate;
    encoder->ch_layout = defaultLayout(audio.channels);
    encoder->time_base = AVRational{1, audio.sampleRate};

    LogCapture log;
    int err = avcodec_open2(encoder.get(), codec, nullptr);
    if (err >= 0) err = avcodec_parameters_from_context(stream->codecpar, encoder.get());
    stream->time_base = encoder->time_base;
    if (err >= 0) err = avio_open(&output->pb, file.tempPath().c_str(), AVIO_FLAG_WRITE);
    if (err >= 0) err = avformat_write_header(output.get(), nullptr);
    if (err < 0) fail("write", "audio", path, describe(err, log));

    const std::int64_t total = audio.frames();
    const int block = 4096;
    Frame frame = makeFrame();
    for (std::int64_t pos = 0; pos < total; pos += block) {
      const int n = static_cast<int>(std::min<std::int64_t>(block, total - pos));
      av_frame_unref(frame.get());
      frame->nb_samples = n;
      frame->format = AV_SAMPLE_FMT_S16;
      frame->sample_rate = audio.sampleRate;
      av_channel_layout_copy(&frame->ch_layout, &encoder->ch_layout);
      err = av_frame_get_buffer(frame.get(), 0);
      if (err < 0) fail("write", "audio", path, describe(err, log));
      auto* dst = reinterpret_cast<int16_t*>(frame->data[0]);
      for (int i = 0; i < n; ++i)
        for (int c = 0; c < audio.channels; ++c) {
          // FFmpeg's convention: float = s16 / 32768, so a round trip is exact to half a step.
          const float v = audio.channel(c)[pos + i];
          const long q = std::isnan(v) ? 0 : std::lrint(std::clamp(v, -1.0f, 1.0f) * 32768.0f);
          dst[i * audio.channels + c] = static_cast<int16_t>(std::clamp(q, -32768L, 32767L));
        }
      frame->pts = pos;
      encodeAndWrite(output.get(), encoder.get(), stream, frame.get(), path, "audio");
    }
    encodeAndWrite(output.get(), encoder.get(), stream, nullptr, path, "audio");
    err = av_write_trailer(output.get());
    if (err < 0) fail("write", "audio", path, describe(err, log));
    err = avio_closep(&output->pb);
    if (err < 0) fail("write", "audio", path, "closing the file failed: " + describe(err, log));
  }
  file.commit();
}

}  // namespace presence::media
