// Writing MP4: H.264 (libx264) video and AAC (FFmpeg's native encoder) sound, durations matched.
#include <algorithm>
#include <cmath>

extern "C" {
#include <libavutil/opt.h>
#include <libavutil/rational.h>
}

#include "ffmpeg_util.hpp"
#include "presence/core/atomic_file.hpp"

namespace presence::media {

namespace fs = std::filesystem;
using namespace detail;

namespace {

/// The frame rate as an exact rational: NTSC rates (23.976, 29.97, 59.94, ...) become
/// N*1000/1001, anything else av_d2q's nearest fraction.
AVRational exactRate(double fps) {
  const double ntsc = fps * 1.001;
  if (std::abs(fps - std::round(fps)) > 1e-3 && std::abs(ntsc - std::round(ntsc)) < 2e-3)
    return AVRational{static_cast<int>(std::lround(ntsc)) * 1000, 1001};
  return av_d2q(fps, 100000);
}

bool supportsRate(const AVCodec* codec, int rate) {
  if (codec->supported_samplerates == nullptr) return true;
  for (const int* r = codec->supported_samplerates; *r != 0; ++r)
    if (*r == rate) return true;
  return false;
}

}  // namespace

Mp4Report muxMp4(const ImageBatch& frames, double fps, const Audio* audio, const fs::path& path,
                 const Mp4Options& options, const ProgressFn& progress, const CancelFn& cancelled) {
  const std::string what = "cannot write video '" + path.string() + "'";
  checkBatch(frames, what);
  if (!std::isfinite(fps) || fps <= 0.0 || fps > 1000.0)
    fail("write", "video", path, "the frame rate must be in 0..1000, not " + std::to_string(fps));
  if (options.crf < 0 || options.crf > 51)
    fail("write", "video", path, "crf must be in 0..51, not " + std::to_string(options.crf));
  if (audio != nullptr && (audio->channels < 1 || audio->sampleRate < 1))
    fail("write", "video", path, "the audio has no channels or no sample rate");

  Mp4Report report;
  report.frames = frames.count;
  report.width = frames.width + (frames.width & 1);
  report.height = frames.height + (frames.height & 1);
  report.padded = report.width != frames.width || report.height != frames.height;
  const AVRational rate = exactRate(fps);
  report.fps = av_q2d(rate);

  core::AtomicFile file(path);
  {
    LogCapture log;
    FormatOutput output = openOutput(file.tempPath(), "mp4", path, "video");

    // --- video encoder
    const AVCodec* videoCodec = avcodec_find_encoder_by_name("libx264");
    if (videoCodec == nullptr) fail("write", "video", path, "this FFmpeg has no libx264 encoder");
    CodecContext video(avcodec_alloc_context3(videoCodec));
    AVStream* videoStream = avformat_new_stream(output.get(), nullptr);
    if (!video || videoStream == nullptr) throw std::bad_alloc();
    video->width = report.width;
    video->height = report.height;
    video->pix_fmt = AV_PIX_FMT_YUV420P;
    video->time_base = av_inv_q(rate);
    video->framerate = rate;
    video->sample_aspect_ratio = AVRational{1, 1};
    video->color_range = AVCOL_RANGE_MPEG;
    video->colorspace = AVCOL_SPC_BT709;
    video->color_primaries = AVCOL_PRI_BT709;
    video->color_trc = AVCOL_TRC_BT709;
    video->thread_count = 0;
    if (output->oformat->flags & AVFMT_GLOBALHEADER) video->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    av_opt_set(video->priv_data, "preset", options.preset.c_str(), 0);
    av_opt_set(video->priv_data, "crf", std::to_string(options.crf).c_str(), 0);
    av_opt_set(video->priv_data, "x264-params", "log=0", 0);  // errors only
    int err = avcodec_open2(video.get(), videoCodec, nullptr);
    if (err < 0) fail("write", "video", path, "cannot open the H.264 encoder: " + describe(err, log));
    err = avcodec_parameters_from_context(videoStream->codecpar, video.get());
    if (err < 0) fail("write", "video", path, describe(err, log));
    videoStream->time_base = video->time_base;
    videoStream->avg_frame_rate = rate;

    // --- audio encoder
    CodecContext sound;
    AVStream* audioStream = nullptr;
    Audio pcm;
    std::int64_t targetSamples = 0;
    if (audio != nullptr) {
      const AVCodec* audioCodec = avcodec_find_encoder_by_name("aac");
      if (audioCodec == nullptr) fail("write", "video", path, "this FFmpeg has no aac encoder");
      const int sampleRate = supportsRate(audioCodec, audio->sampleRate) ? audio->sampleRate : 48000;
      const int channels = std::min(audio->channels, 2);
      pcm = resampleAudio(*audio, sampleRate, channels);
      // frames / fps seconds, in samples, computed on the exact rational rate.
      targetSamples =
          av_rescale_q_rnd(frames.count, av_inv_q(rate), AVRational{1, sampleRate}, AV_ROUND_NEAR_INF);
      if (pcm.frames() < targetSamples)
        report.audioSamplesAdded = targetSamples - pcm.frames();
      else
        report.audioSamplesRemoved = pcm.frames() - targetSamples;

      sound.reset(avcodec_alloc_context3(audioCodec));
      audioStream = avformat_new_stream(output.get(), nullptr);
      if (!sound || audioStream == nullptr) throw std::bad_alloc();
      sound->sample_fmt = AV_SAMPLE_FMT_FLTP;
      sound->sample_rate = sampleRate;
      sound->ch_layout = defaultLayout(channels);
      sound->bit_rate = options.audioBitrate;
      sound->time_base = AVRational{1, sampleRate};
      if (output->oformat->flags & AVFMT_GLOBALHEADER) sound->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
      err = avcodec_open2(sound.get(), audioCodec, nullptr);
      if (err < 0) fail("write", "video", path, "cannot open the AAC encoder: " + describe(err, log));
      err = avcodec_parameters_from_context(audioStream->codecpar, sound.get());
      if (err < 0) fail("write", "video", path, describe(err, log));
      audioStream->time_base = sound->time_base;
      report.hasAudio = true;
      report.audioSampleRate = sampleRate;
      report.audioChannels = channels;
    }

    err = avio_open(&output->pb, file.tempPath().c_str(), AVIO_FLAG_WRITE);
    if (err < 0) fail("write", "video", path, "cannot create the file: " + describe(err, log));
    AVDictionary* muxerOptions = nullptr;
    if (options.faststart) av_dict_set(&muxerOptions, "movflags", "+faststart", 0);
    err = avformat_write_header(output.get(), &muxerOptions);
    av_dict_free(&muxerOptions);
    if (err < 0) fail("write", "video", path, "cannot write the header: " + describe(err, log));

    // --- pictures: float RGB -> 8-bit RGB (edge-padded to even size) -> yuv420p BT.709
    Scaler scaler(sws_getContext(report.width, report.height, AV_PIX_FMT_RGB24, report.width, report.height,
                                 AV_PIX_FMT_YUV420P, SWS_BICUBIC | SWS_ACCURATE_RND, nullptr, nullptr,
                                 nullptr));
    if (!scaler) fail("write", "video", path, "cannot set up the colour conversion");
    const int* bt709 = sws_getCoefficients(SWS_CS_ITU709);
    sws_setColorspaceDetails(scaler.get(), bt709, 1, bt709, 0, 0, 1 << 16, 1 << 16);
    Frame picture = makeFrame();
    picture->format = AV_PIX_FMT_YUV420P;
    picture->width = report.width;
    picture->height = report.height;
    err = av_frame_get_buffer(picture.get(), 0);
    if (err < 0) throw std::bad_alloc();
    std::vector<uint8_t> rgb(static_cast<std::size_t>(report.width) * report.height * 3);
    std::vector<float> frameRgbBuffer;

    // --- sound: frame_size-sample AAC frames up to a given sample position
    Frame chunk = makeFrame();
    std::int64_t audioPos = 0;
    const bool smallLast = sound && (sound->codec->capabilities & AV_CODEC_CAP_SMALL_LAST_FRAME);
    // Whole frames up to `until`; `last`: everything that is left, the last frame possibly short.
    auto sendAudio = [&](std::int64_t until, bool last) {
      if (!sound) return;
      const int frameSize = sound->frame_size > 0 ? sound->frame_size : 1024;
      for (;;) {
        const std::int64_t remaining = targetSamples - audioPos;
        if (remaining <= 0) return;
        if (!last && audioPos + frameSize > std::min(until, targetSamples)) return;
        const int n = static_cast<int>(std::min<std::int64_t>(frameSize, remaining));
        av_frame_unref(chunk.get());
        chunk->nb_samples = smallLast ? n : frameSize;
        chunk->format = AV_SAMPLE_FMT_FLTP;
        chunk->sample_rate = sound->sample_rate;
        av_channel_layout_copy(&chunk->ch_layout, &sound->ch_layout);
        if (av_frame_get_buffer(chunk.get(), 0) < 0) throw std::bad_alloc();
        const std::int64_t have = pcm.frames();
        for (int c = 0; c < pcm.channels; ++c) {
          auto* dst = reinterpret_cast<float*>(chunk->data[c]);
          const float* src = pcm.channel(c);
          for (int i = 0; i < chunk->nb_samples; ++i) {
            const std::int64_t k = audioPos + i;
            dst[i] = (i < n && k < have) ? src[k] : 0.0f;  // silence past the sound's end
          }
        }
        chunk->pts = audioPos;
        encodeAndWrite(output.get(), sound.get(), audioStream, chunk.get(), path, "video");
        audioPos += n;
      }
    };

    for (int i = 0; i < frames.count; ++i) {
      if (cancelled && cancelled()) throw core::Cancelled();
      frameRgb(frames, i, frameRgbBuffer);
      const int w = frames.width, h = frames.height, W = report.width, H = report.height;
      for (int y = 0; y < H; ++y) {
        const int sy = std::min(y, h - 1);
        for (int x = 0; x < W; ++x) {
          const int sx = std::min(x, w - 1);
          const float* s = frameRgbBuffer.data() + (static_cast<std::size_t>(sy) * w + sx) * 3;
          uint8_t* d = rgb.data() + (static_cast<std::size_t>(y) * W + x) * 3;
          for (int c = 0; c < 3; ++c) {
            const float v = std::isnan(s[c]) ? 0.0f : std::clamp(s[c], 0.0f, 1.0f);
            d[c] = static_cast<uint8_t>(std::lrint(v * 255.0f));
          }
        }
      }
      if (av_frame_make_writable(picture.get()) < 0) throw std::bad_alloc();
      const uint8_t* src[4] = {rgb.data(), nullptr, nullptr, nullptr};
      const int srcStride[4] = {report.width * 3, 0, 0, 0};
      sws_scale(scaler.get(), src, srcStride, 0, report.height, picture->data, picture->linesize);
      picture->pts = i;
      // Sound up to the end of this picture, so the muxer interleaves without buffering much.
      if (sound) sendAudio(av_rescale_q(i + 1, video->time_base, sound->time_base), false);
      encodeAndWrite(output.get(), video.get(), videoStream, picture.get(), path, "video");
      if (progress) progress(double(i + 1) / frames.count);
    }
    if (cancelled && cancelled()) throw core::Cancelled();
    sendAudio(targetSamples, true);
    encodeAndWrite(output.get(), video.get(), videoStream, nullptr, path, "video");
    if (sound) encodeAndWrite(output.get(), sound.get(), audioStream, nullptr, path, "video");

    err = av_write_trailer(output.get());
    if (err < 0) fail("write", "video", path, "cannot finish the file: " + describe(err, log));
    err = avio_closep(&output->pb);
    if (err < 0) fail("write", "video", path, "closing the file failed: " + describe(err, log));
  }
  file.commit();
  return report;
}

}  // namespace presence::media
