// presence.load_model: a generation model from the runtime's shared model cache.
#include <algorithm>

#include "generate_nodes.hpp"
#include "node_util.hpp"
#include "presence/models/generation/payloads.hpp"

namespace presence::nodes::generate {
namespace {

using namespace presence::core;
using media::enumParam;
using media::intParam;
using media::pathParam;
using media::port;
namespace gen = presence::models::generation;

// A checkpoint path: the '<param>_file' input when connected (a training node's output), else the
// parameter: empty stays empty (random weights), relative ones are resolved against the graph's
// folder.
std::filesystem::path optionalPath(const NodeContext& ctx, std::string_view param) {
  const std::string input = std::string(param) + "_file";
  if (ctx.hasInput(input)) {
    const std::filesystem::path path = ctx.inputAs<std::string>(input);
    if (!std::filesystem::exists(path)) throw core::InputError("input '" + input + "': file not found: " + path.string());
    return path;
  }
  const std::string text = ctx.paramString(param);
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) return {};
  const auto path = ctx.inputPath(param);
  if (!std::filesystem::exists(path)) ctx.fail(param, "file not found: " + path.string());
  return path;
}

class LoadModelNode final : public Node {
 public:
  void execute(NodeContext& ctx) override {
    gen::GenerationModelSpec spec;
    spec.preset = ctx.paramString("preset");
    spec.ditCheckpoint = optionalPath(ctx, "dit_checkpoint");
    spec.textCheckpoint = optionalPath(ctx, "text_checkpoint");
    spec.tokenizer = optionalPath(ctx, "tokenizer");
    spec.videoVaeCheckpoint = optionalPath(ctx, "video_vae_checkpoint");
    spec.audioVaeCheckpoint = optionalPath(ctx, "audio_vae_checkpoint");
    spec.vocoderCheckpoint = optionalPath(ctx, "vocoder_checkpoint");
    spec.device = ctx.paramString("device");
    spec.dtype = ctx.paramString("dtype");
    spec.seed = static_cast<uint64_t>(ctx.paramInt("seed"));
    ctx.progress(0.0, "loading");
    auto model = media::blameParam(ctx, "preset", [&] { return gen::loadGenerationModel(spec); });
    const auto& randomParts = model->randomComponents();
    const bool random = std::find(randomParts.begin(), randomParts.end(), "dit") != randomParts.end();
    ctx.log(random ? LogLevel::Warning : LogLevel::Info, model->describe());
    ctx.setOutput("model", Value::make(types::Model, gen::ModelHandle{std::move(model)}));
  }
};

}  // namespace

void registerLoadModelNode(NodeRegistry& registry, const std::string& origin) {
  auto d = media::describe(
      "presence.load_model", "Load Model", "generate", "PresenceLoadModel",
      "Loads a generation model: the dual-tower DiT with its text encoder, video VAE, audio VAE and "
      "vocoder. Every node and graph of the process that asks for the same files and settings shares one "
      "copy (the runtime's model cache). A component without a checkpoint runs on seeded random weights "
      "(small and tiny presets only; the log says so); the public 'iap' preset needs every file. "
      "Checkpoints whose tensors do not match the preset are refused with the missing, unexpected and "
      "mis-shaped names.");
  d.params = {
      enumParam("preset", gen::generationPresetNames(), "small",
                "iap: the public Identity-as-Presence sizes (checkpoints required); small: the built-in "
                "model's sizes; tiny: for tests."),
      pathParam("dit_checkpoint", "DiT weights (.safetensors or a sharded *.index.json); empty: random."),
      pathParam("text_checkpoint", "UMT5 encoder weights; empty: random."),
      pathParam("tokenizer", "sentencepiece model of the text encoder; empty: the bundled caption tokenizer."),
      pathParam("video_vae_checkpoint", "Wan2.2 VAE weights; empty: random."),
      pathParam("audio_vae_checkpoint", "MMAudio VAE weights; empty: random."),
      pathParam("vocoder_checkpoint", "BigVGAN generator weights (iap); the small presets use Griffin-Lim."),
      enumParam("device", {"auto", "cpu", "cuda"}, "auto", "auto: the first CUDA device when there is one."),
      enumParam("dtype", {"auto", "f32", "bf16"}, "auto",
                "Compute dtype of the DiT; auto: bf16 on CUDA, the preset's choice on the CPU."),
      intParam("seed", 0, 0, 2147483647, "Seed of the random weights of components without a checkpoint.")};
  d.params.back().widget = "seed";
  // Checkpoints made by other nodes of the graph (the training recipe) override the parameters.
  for (const char* name : {"dit_checkpoint", "tokenizer", "video_vae_checkpoint", "audio_vae_checkpoint"})
    d.inputs.push_back(port(std::string(name) + "_file", types::Path,
                            std::string("Overrides '") + name + "' (e.g. a training node's output).", true));
  d.outputs = {port("model", types::Model, "The loaded model, shared through the model cache.")};
  registry.add<LoadModelNode>(std::move(d), origin);
}

}  // namespace presence::nodes::generate
