// Video nodes: loading a clip (pictures, sound, frame rate) and muxing frames with sound to MP4.
#include <cstdio>
#include <string>

#include "media_nodes.hpp"
#include "node_util.hpp"

namespace presence::nodes::media {

namespace {

/// Rate of the silence load_video outputs for a clip without sound: the audio model's rate.
constexpr int kSilenceSampleRate = 16000;

class LoadVideoNode final : public Node {
 public:
  void execute(NodeContext& ctx) override {
    const auto path = inputPaths(ctx, "path").front();
    io::VideoLoadOptions options;
    options.maxFrames = static_cast<int>(ctx.paramInt("max_frames"));
    Video video = blameParam(ctx, "path", [&] {
      return io::loadVideo(path, options, progressOf(ctx, "decoding", 0), cancelOf(ctx));
    });
    Audio audio = video.audio ? *video.audio : io::silentAudio(video.seconds(), kSilenceSampleRate, 1);
    char text[160];
    std::snprintf(text, sizeof text, "loaded %d frames of %dx%d at %.3f fps%s", video.frames.count,
                  video.frames.width, video.frames.height, video.fps,
                  video.audio ? ", with sound" : ", no sound (silent audio output)");
    ctx.log(LogLevel::Info, text);
    const double fps = video.fps;
    ImageBatch frames = video.frames;  // IMAGE shares nothing with VIDEO: payloads are immutable copies
    ctx.setOutput("image", Value::make(types::Image, std::move(frames)));
    ctx.setOutput("audio", Value::make(types::Audio, std::move(audio)));
    ctx.setOutput("fps", Value::make(types::Float, fps));
    ctx.setOutput("video", Value::make(types::Video, std::move(video)));
  }
};

class MuxVideoNode final : public Node {
 public:
  void execute(NodeContext& ctx) override {
    const auto& frames = ctx.inputAs<ImageBatch>("image");
    const Audio* audio = ctx.hasInput("audio") ? &ctx.inputAs<Audio>("audio") : nullptr;
    const double fps = ctx.paramFloat("fps");
    io::Mp4Options options;
    options.crf = static_cast<int>(ctx.paramInt("crf"));
    const auto file = outputFile(ctx, "filename_prefix", ".mp4");
    const auto report =
        io::muxMp4(frames, fps, audio, file, options, progressOf(ctx, "frame", frames.count), cancelOf(ctx));
    char text[256];
    std::snprintf(text, sizeof text, "wrote %s: %d frames %dx%d at %.3f fps%s", file.string().c_str(),
                  report.frames, report.width, report.height, report.fps,
                  report.hasAudio ? ", AAC sound" : ", no sound");
    ctx.log(LogLevel::Info, text);
    if (report.padded)
      ctx.log(LogLevel::Warning,
              "the frame size is odd; H.264 needs an even size, so the edge pixels were repeated "
              "to " +
                  std::to_string(report.width) + "x" + std::to_string(report.height));
    if (report.audioSamplesAdded > 0 || report.audioSamplesRemoved > 0) {
      std::snprintf(text, sizeof text, "the sound was %s by %.3f s to match the pictures' duration",
                    report.audioSamplesAdded > 0 ? "padded with silence" : "trimmed",
                    double(report.audioSamplesAdded + report.audioSamplesRemoved) / report.audioSampleRate);
      ctx.log(LogLevel::Info, text);
    }
    FileList files;
    files.paths.push_back(file.string());
    ctx.setOutput("files", Value::make(types::Files, std::move(files)));
  }
};

}  // namespace

void registerVideoNodes(NodeRegistry& registry, const std::string& origin) {
  {
    auto d =
        describe("presence.load_video", "Load Video", "media/video", "PresenceLoadVideo",
                 "Loads a video file (MP4, MOV, MKV, WebM, ...; any format FFmpeg reads): its frames as RGB "
                 "images, its sound, and its frame rate.");
    d.params = {
        pathParam("path", "The video file; a relative path is resolved against the graph's folder."),
        intParam("max_frames", 0, 0, 100000,
                 "Load at most this many frames from the start (the sound is cut at the same time); 0 "
                 "loads every frame.")};
    d.outputs = {
        port("video", types::Video,
             "The clip: frames, frame rate and sound (absent when the file has none)."),
        port("image", types::Image, "The frames as an IMAGE batch [N,H,W,3] in 0..1."),
        port("audio", types::Audio,
             "The sound at its own sample rate (mono or stereo). When the file has no sound: silent mono "
             "audio at 16 kHz lasting as long as the frames."),
        port("fps", types::Float, "The frame rate (the stream's average rate, e.g. 23.976).")};
    registry.add<LoadVideoNode>(std::move(d), origin);
  }
  {
    auto d = describe(
        "presence.mux_video", "Mux Video (MP4)", "media/video", "PresenceMuxVideo",
        "Encodes frames as H.264 and, when linked, audio as AAC into <prefix>.mp4 in the output "
        "folder. The sound is trimmed or padded with silence to last exactly as long as the frames.");
    d.inputs = {port("image", types::Image, "The frames, in order."),
                port("audio", types::Audio,
                     "Optional sound; trimmed or padded with silence to frames / fps seconds.", true)};
    d.params = {
        floatParam("fps", 25.0, 1.0, 240.0,
                   "Frame rate of the video; fractional rates are kept exactly (23.976 -> 24000/1001)."),
        intParam("crf", 20, 0, 51,
                 "H.264 quality (x264 constant rate factor): lower is better and larger; 18-23 is "
                 "visually good, 0 is lossless."),
        stringParam("filename_prefix", "video",
                    "File name inside the output folder, without extension (.mp4 is added). May start "
                    "with subfolders (renders/take1).")};
    d.outputs = {port("files", types::Files, "The path of the MP4 file written.")};
    d.sideEffects = true;
    registry.add<MuxVideoNode>(std::move(d), origin);
  }
}

}  // namespace presence::nodes::media
