// presence.vae_decode: the joint latent back to frames and sound.
#include "generate_nodes.hpp"
#include "media_tensors.hpp"
#include "node_util.hpp"
#include "presence/models/generation/payloads.hpp"

namespace presence::nodes::generate {
namespace {

using namespace presence::core;
using media::port;
namespace gen = presence::models::generation;

class VaeDecodeNode final : public Node {
 public:
  void execute(NodeContext& ctx) override {
    const auto& model = *ctx.inputAs<gen::ModelHandle>("model").model;
    const auto& latents = ctx.inputAs<gen::GeneratedLatents>("latent");
    ctx.progress(0.0, "decoding");
    const gen::DecodedClip clip = gen::decode(model, latents);
    ctx.throwIfCancelled();
    Video video;
    video.fps = clip.fps;
    if (clip.frames.defined()) video.frames = toImageBatch(clip.frames);
    if (clip.waveform.defined()) video.audio = toAudio(clip.waveform, static_cast<int>(clip.sampleRate));
    ctx.log(LogLevel::Info, std::to_string(video.frames.count) + " frames " + std::to_string(video.frames.width) + "x" +
                                std::to_string(video.frames.height) + ", " +
                                (video.audio ? std::to_string(video.audio->seconds()).substr(0, 5) + " s of sound"
                                             : std::string("no sound")));
    ctx.setOutput("image", Value::make(types::Image, video.frames));
    ctx.setOutput("audio", Value::make(types::Audio, video.audio.value_or(Audio{1, static_cast<int>(clip.sampleRate), {}})));
    ctx.setOutput("video", Value::make(types::Video, std::move(video)));
  }
};

}  // namespace

void registerVaeDecodeNode(NodeRegistry& registry, const std::string& origin) {
  auto d = media::describe(
      "presence.vae_decode", "VAE Decode", "generate", "PresenceVaeDecode",
      "Decodes a sampled latent: the video VAE turns the video latent into frames, decoding in temporal "
      "chunks with its causal cache so memory stays bounded for long clips; the audio VAE and the vocoder "
      "turn the audio latent into a waveform cut to the clip's duration.");
  d.inputs = {port("model", types::Model, "The model that sampled the latent."),
              port("latent", types::LatentAV, "The sampled latent (presence.sampler).")};
  d.outputs = {port("video", types::Video, "Frames at the clip's frame rate, with the sound."),
               port("image", types::Image, "The frames [N, H, W, 3]."),
               port("audio", types::Audio, "The sound, mono at the model's rate (16 kHz).")};
  registry.add<VaeDecodeNode>(std::move(d), origin);
}

}  // namespace presence::nodes::generate
