// presence.vae_encode: frames and sound to the joint latent, the inverse of vae_decode. Encoding a
// clip and decoding it again shows what the model's VAEs and vocoder keep of it (the ceiling of
// anything the model generates), and gives a latent of real footage to work from.
#include "generate_nodes.hpp"
#include "media_io.hpp"
#include "media_tensors.hpp"
#include "node_util.hpp"
#include "presence/models/generation/payloads.hpp"

namespace presence::nodes::generate {
namespace {

using namespace presence::core;
using media::floatParam;
using media::port;
namespace gen = presence::models::generation;
namespace io = presence::media;

class VaeEncodeNode final : public Node {
 public:
  void execute(NodeContext& ctx) override {
    const auto& model = *ctx.inputAs<gen::ModelHandle>("model").model;
    const bool hasVideo = ctx.hasInput("video"), hasImage = ctx.hasInput("image");
    if (hasVideo == hasImage) throw InputError("give the frames in exactly one of 'video' and 'image'");
    ImageBatch frames;
    double fps = ctx.paramFloat("fps");
    std::optional<Audio> sound;
    const char* framesInput = hasVideo ? "video" : "image";
    if (hasVideo) {
      const auto& video = ctx.inputAs<Video>("video");
      frames = video.frames;
      if (video.fps > 0) fps = video.fps;
      sound = video.audio;
    } else {
      frames = ctx.inputAs<ImageBatch>("image");
    }
    if (ctx.hasInput("audio")) sound = ctx.inputAs<Audio>("audio");
    if (frames.empty()) throw InputError(std::string("input '") + framesInput + "' holds no frames");

    // The largest centred picture of whole tokens and the longest frame count the VAE accepts.
    const int m = static_cast<int>(model.sizeMultiple());
    if (frames.width < m || frames.height < m)
      throw InputError(std::string("input '") + framesInput + "' is " + std::to_string(frames.width) + "x" +
                       std::to_string(frames.height) + ", smaller than one token (" + std::to_string(m) + " pixels)");
    const int w = frames.width / m * m, h = frames.height / m * m;
    const auto n = static_cast<int>(gen::framesAtMost(model, frames.count));
    const at::Tensor pixels = toTensor(io::centerCrop(io::toRgb(frames), w, h)).narrow(0, 0, n);
    if (n != frames.count || w != frames.width || h != frames.height)
      ctx.log(LogLevel::Info, "encoding " + std::to_string(n) + " of " + std::to_string(frames.count) + " frames at " +
                                  std::to_string(w) + "x" + std::to_string(h) + " (the video VAE takes 1 + " +
                                  std::to_string(model.temporalCompression()) + "k frames of whole " +
                                  std::to_string(m) + "-pixel tokens)");

    at::Tensor wave;
    if (sound && sound->frames() > 0) {
      const Audio mono = io::resampleAudio(*sound, static_cast<int>(model.audioSampleRate()), 1);
      wave = at::from_blob(const_cast<float*>(mono.samples.data()), {mono.frames()}, at::kFloat).clone();
    }
    ctx.progress(0.0, "encoding");
    gen::GeneratedLatents latents = gen::encode(model, pixels, fps, wave);
    ctx.throwIfCancelled();
    ctx.log(LogLevel::Info, std::to_string(n) + " frames at " + std::to_string(fps).substr(0, 5) + " fps, " +
                                (wave.defined() ? "with" : "without") + " sound");
    ctx.setOutput("latent", Value::make(types::LatentAV, std::move(latents)));
  }
};

}  // namespace

void registerVaeEncodeNode(NodeRegistry& registry, const std::string& origin) {
  auto d = media::describe(
      "presence.vae_encode", "VAE Encode", "generate", "PresenceVaeEncode",
      "Encodes frames and their sound into the joint latent presence.vae_decode reads: the video VAE takes the "
      "largest centred crop of whole tokens and the longest frame count it accepts (1 + 4k), the audio VAE the "
      "sound of those frames' duration. Encoding a clip and decoding it again shows what the model's VAEs and "
      "vocoder keep of it, the ceiling of what the model can generate.");
  d.inputs = {port("model", types::Model, "The model whose VAEs encode (and will decode) the latent."),
              port("video", types::Video, "Frames with their frame rate and sound (give this or 'image').", true),
              port("image", types::Image, "Frames without sound, at 'fps' (give this or 'video').", true),
              port("audio", types::Audio, "Sound; replaces the video's own (optional).", true)};
  d.outputs = {port("latent", types::LatentAV, "The joint latent, for presence.vae_decode.")};
  d.params = {floatParam("fps", 24.0, 1.0, 120.0, "Frame rate of 'image' frames (a video keeps its own).")};
  registry.add<VaeEncodeNode>(std::move(d), origin);
}

}  // namespace presence::nodes::generate
