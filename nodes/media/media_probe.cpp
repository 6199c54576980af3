// Probing media files with libavformat: container, streams, codecs, durations, frame counts.
#include "ffmpeg_util.hpp"

namespace presence::media {

namespace fs = std::filesystem;
using namespace detail;

int MediaInfo::count(std::string_view mediaType) const {
  int n = 0;
  for (const auto& s : streams) n += s.mediaType == mediaType ? 1 : 0;
  return n;
}

const StreamInfo* MediaInfo::first(std::string_view mediaType) const {
  for (const auto& s : streams)
    if (s.mediaType == mediaType) return &s;
  return nullptr;
}

MediaInfo probeMedia(const fs::path& path) {
  FormatInput input = openInput(path, "media");
  MediaInfo info;
  info.path = path.string();
  info.format = input->iformat != nullptr ? input->iformat->name : "";
  if (input->duration != AV_NOPTS_VALUE && input->duration > 0)
    info.durationSeconds = input->duration / double(AV_TIME_BASE);

  bool needCount = false;
  for (unsigned i = 0; i < input->nb_streams; ++i) {
    const AVStream* s = input->streams[i];
    const AVCodecParameters* par = s->codecpar;
    StreamInfo stream;
    stream.index = static_cast<int>(i);
    const char* type = av_get_media_type_string(par->codec_type);
    stream.mediaType = type != nullptr ? type : "unknown";
    stream.codec = avcodec_get_name(par->codec_id);
    if (s->duration != AV_NOPTS_VALUE && s->duration > 0)
      stream.durationSeconds = s->duration * av_q2d(s->time_base);
    stream.frameCount = s->nb_frames;
    stream.sampleRate = par->sample_rate;
    stream.channels = par->ch_layout.nb_channels;
    stream.width = par->width;
    stream.height = par->height;
    if (s->avg_frame_rate.num > 0 && s->avg_frame_rate.den > 0) stream.fps = av_q2d(s->avg_frame_rate);
    needCount = needCount || stream.frameCount <= 0 || stream.durationSeconds <= 0.0;
    info.streams.push_back(stream);
  }

  if (needCount) {
    // The container does not say: count the packets and add up their durations.
    std::vector<std::int64_t> packets(input->nb_streams, 0), ticks(input->nb_streams, 0);
    Packet packet = makePacket();
    PacketReader reader(input.get());
    int err = 0;
    while ((err = reader.read(packet.get())) >= 0) {
      const int k = packet->stream_index;
      if (k >= 0 && k < static_cast<int>(packets.size())) {
        ++packets[k];
        ticks[k] += packet->duration;
      }
      av_packet_unref(packet.get());
    }
    checkReadEnd(err, reader, path, "media");
    for (auto& stream : info.streams) {
      const AVStream* s = input->streams[stream.index];
      if (stream.frameCount <= 0) stream.frameCount = packets[stream.index];
      if (stream.durationSeconds <= 0.0 && ticks[stream.index] > 0)
        stream.durationSeconds = ticks[stream.index] * av_q2d(s->time_base);
    }
  }
  return info;
}

}  // namespace presence::media
