// Audio nodes: loading any audio (or a video's sound track) and saving WAV.
#include <cstdio>
#include <string>

#include "media_nodes.hpp"
#include "node_util.hpp"

namespace presence::nodes::media {

namespace {

std::string describeAudio(const Audio& a) {
  char text[96];
  std::snprintf(text, sizeof text, "%.3f s, %d Hz, %d channel(s)", a.seconds(), a.sampleRate, a.channels);
  return text;
}

class LoadAudioNode final : public Node {
 public:
  void execute(NodeContext& ctx) override {
    const auto path = inputPaths(ctx, "path").front();
    const int rate = static_cast<int>(ctx.paramInt("sample_rate"));
    const int channels = ctx.paramString("channels") == "stereo" ? 2 : 1;
    ctx.progress(0.0, "decoding");
    Audio audio = blameParam(ctx, "path", [&] { return io::loadAudio(path, rate, channels, cancelOf(ctx)); });
    ctx.log(LogLevel::Info, "loaded " + describeAudio(audio));
    ctx.setOutput("audio", Value::make(types::Audio, std::move(audio)));
  }
};

class SaveAudioNode final : public Node {
 public:
  void execute(NodeContext& ctx) override {
    const auto& audio = ctx.inputAs<Audio>("audio");
    const auto file = outputFile(ctx, "filename_prefix", ".wav");
    io::writeWav(audio, file);
    ctx.log(LogLevel::Info, "wrote " + file.string() + " (" + describeAudio(audio) + ")");
    FileList files;
    files.paths.push_back(file.string());
    ctx.setOutput("files", Value::make(types::Files, std::move(files)));
  }
};

}  // namespace

void registerAudioNodes(NodeRegistry& registry, const std::string& origin) {
  {
    auto d =
        describe("presence.load_audio", "Load Audio", "media/audio", "PresenceLoadAudio",
                 "Loads the sound of an audio or video file (WAV, FLAC, OGG, MP3, M4A, MP4, ...; any format "
                 "FFmpeg reads) and resamples it to the given rate and channel count, keeping its duration: "
                 "a reference voice clip or a soundtrack.");
    d.params = {
        pathParam("path", "The audio or video file; a relative path is resolved against the graph's folder."),
        intParam("sample_rate", 16000, 8000, 192000,
                 "Sample rate of the result in Hz (16000 is the rate of the audio model)."),
        enumParam("channels", {"mono", "stereo"}, "mono",
                  "mono: channels are mixed down to one; stereo: two channels (mono is copied to both).")};
    d.outputs = {port("audio", types::Audio, "The waveform [channels, samples] in -1..1 at sample_rate.")};
    registry.add<LoadAudioNode>(std::move(d), origin);
  }
  {
    auto d =
        describe("presence.save_audio", "Save Audio", "media/audio", "PresenceSaveAudio",
                 "Saves the audio as a 16-bit PCM WAV file <prefix>.wav in the output folder, at its own "
                 "sample rate and channel count. The file is written to a temporary name and renamed.");
    d.inputs = {port("audio", types::Audio, "The audio to save; samples outside -1..1 are clipped.")};
    d.params = {
        stringParam("filename_prefix", "audio",
                    "File name inside the output folder, without extension (.wav is added). May start "
                    "with subfolders (voices/alice).")};
    d.outputs = {port("files", types::Files, "The path of the WAV file written.")};
    d.sideEffects = true;
    registry.add<SaveAudioNode>(std::move(d), origin);
  }
}

}  // namespace presence::nodes::media
