// presence.sampler: samples the joint audio-video latent from a caption and identities.
#include <chrono>
#include <cmath>
#include <sstream>

#include "generate_nodes.hpp"
#include "media_tensors.hpp"
#include "node_util.hpp"
#include "presence/models/generation/payloads.hpp"

namespace presence::nodes::generate {
namespace {

using namespace presence::core;
using media::boolParam;
using media::enumParam;
using media::floatParam;
using media::intParam;
using media::port;
using media::stringParam;
namespace gen = presence::models::generation;
namespace sampling = presence::models::sampling;

// "auto": the released model skips block 11 of 30 in its negative pass; smaller models skip the
// block at the same relative depth. "none": no skip-layer guidance. Else a comma-separated list.
std::vector<int> skipLayers(const NodeContext& ctx, int64_t numLayers) {
  const std::string text = ctx.paramString("skip_layers");
  if (text == "auto") return {static_cast<int>(std::lround(11.0 * static_cast<double>(numLayers) / 30.0))};
  if (text == "none" || text.empty()) return {};
  std::vector<int> out;
  std::istringstream in(text);
  for (std::string item; std::getline(in, item, ',');) {
    try {
      size_t used = 0;
      const int layer = std::stoi(item, &used);
      if (item.find_first_not_of(" \t", used) != std::string::npos) throw std::invalid_argument(item);
      if (layer < 0 || layer >= numLayers)
        ctx.fail("skip_layers", "block " + std::to_string(layer) + " does not exist (the model has " +
                                    std::to_string(numLayers) + " blocks, 0.." + std::to_string(numLayers - 1) + ")");
      out.push_back(layer);
    } catch (const std::logic_error&) {
      ctx.fail("skip_layers", "'" + item + "' is not a block index (give 'auto', 'none' or e.g. '3,4')");
    }
  }
  return out;
}

class SamplerNode final : public Node {
 public:
  void execute(NodeContext& ctx) override {
    const auto& model = *ctx.inputAs<gen::ModelHandle>("model").model;
    const auto& caption = ctx.inputAs<gen::EncodedCaption>("caption");
    const gen::IdentitySet noIdentities;
    const gen::IdentitySet& identities =
        ctx.hasInput("identities") ? ctx.inputAs<gen::IdentitySet>("identities") : noIdentities;

    gen::GenerationSettings settings;
    settings.width = ctx.paramInt("width");
    settings.height = ctx.paramInt("height");
    settings.fps = ctx.paramFloat("fps");
    const int64_t frames = ctx.paramInt("frames");
    const double duration = ctx.paramFloat("duration");
    if (frames == 0 && duration <= 0.0) ctx.fail("duration", "give a duration, or a frame count in 'frames'");
    settings.frames = frames > 0 ? frames : gen::framesForDuration(model, duration, settings.fps);
    settings.seed = static_cast<uint64_t>(ctx.paramInt("seed"));
    settings.referenceCache = ctx.paramBool("reference_cache");
    settings.sampler.solver = sampling::parseSolver(ctx.paramString("solver"));
    settings.sampler.steps = static_cast<int>(ctx.paramInt("steps"));
    settings.sampler.shift = ctx.paramFloat("shift");
    settings.sampler.videoGuidance = ctx.paramFloat("video_guidance");
    settings.sampler.audioGuidance = ctx.paramFloat("audio_guidance");
    settings.sampler.skipLayers = skipLayers(ctx, model.ditConfig().video.numLayers);
    // as_trained: the pass the model's training taught it, as its checkpoint records (the released
    // pipeline keeps the faces, and a model never trained without them has not learned that pass).
    const std::string negativeFaces = ctx.paramString("negative_pass_faces");
    settings.sampler.negativeDropsFaceReferences =
        negativeFaces == "drop" || (negativeFaces == "as_trained" && model.guidanceTraining().negativeWithoutFaces);
    const int previewEvery = static_cast<int>(ctx.paramInt("preview_every"));
    try {
      settings.validate(model);
    } catch (const ParamError& e) {
      ctx.fail(e.param(), e.what());
    }

    ctx.log(LogLevel::Info, std::to_string(settings.frames) + " frames at " + std::to_string(settings.fps).substr(0, 5) +
                                " fps (" + std::to_string(settings.seconds()).substr(0, 5) + " s), " +
                                std::to_string(settings.width) + "x" + std::to_string(settings.height) + ", " +
                                std::to_string(identities.subjects.size()) + " subject(s), " +
                                std::to_string(settings.sampler.steps) + " steps" +
                                (settings.sampler.negativeDropsFaceReferences ? ", negative pass without faces" : ""));
    const auto start = std::chrono::steady_clock::now();
    auto onStep = [&](const sampling::StepInfo& step) {
      const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      const double eta = elapsed / (step.step + 1) * (step.total - step.step - 1);
      char message[96];
      std::snprintf(message, sizeof message, "step %d/%d, %.1f s left", step.step + 1, step.total, eta);
      ctx.progress(step.progress(), message);
      // A low-resolution preview: the first frame of the current prediction, decoded alone.
      if (previewEvery > 0 && ((step.step + 1) % previewEvery == 0) && step.step + 1 < step.total &&
          step.x0.hasVideo()) {
        const at::Tensor first = step.x0.video.narrow(2, 0, 1);
        ctx.preview(Value::make(types::Image, toImageBatch(model.decodeFrames(first).select(0, 0))));
      }
      // Cancellation within one step: checked after every step (the sampler also checks between passes).
      ctx.throwIfCancelled();
    };
    gen::GenerationReport report;
    gen::GeneratedLatents latents = gen::generate(model, caption, identities, settings, onStep, nullptr, &report);
    ctx.log(LogLevel::Info, std::to_string(report.forwardPasses) + " forward passes; reference cache " +
                                std::to_string(report.referenceCacheHits) + " hits, " +
                                std::to_string(report.referenceCacheMisses) + " misses");
    ctx.setOutput("latent", Value::make(types::LatentAV, std::move(latents)));
  }
};

}  // namespace

void registerSamplerNode(NodeRegistry& registry, const std::string& origin) {
  auto d = media::describe(
      "presence.sampler", "Sampler", "generate", "PresenceSampler",
      "Samples the joint video and audio latent of a clip with the flow-matching sampler: noise from the "
      "seed, the caption and its negative prompts, and every subject's face and voice references (their "
      "keys and values computed once per generation when the reference cache is on). Classifier-free "
      "guidance per modality and skip-layer guidance as in the released pipeline. Reports progress each "
      "step, previews the first frame every few steps, and stops within one step when cancelled.");
  d.inputs = {port("model", types::Model, "The model to sample with."),
              port("caption", types::Caption, "The encoded caption (presence.caption_compose)."),
              port("identities", types::Identities, "The subjects' references (optional).", true)};
  d.params = {
      floatParam("duration", 2.0, 0.0, 60.0,
                 "Length in seconds; the frame count is the nearest the video VAE accepts. Ignored when "
                 "frames > 0."),
      intParam("frames", 0, 0, 1001, "Frame count (1 + 4k); 0: from the duration."),
      intParam("width", 256, 32, 2048, "Width in pixels, a multiple of 32."),
      intParam("height", 256, 32, 2048, "Height in pixels, a multiple of 32."),
      floatParam("fps", 24.0, 1.0, 120.0, "Frames per second of the clip."),
      intParam("steps", 20, 1, 200, "Sampler steps (the released pipeline uses 50)."),
      enumParam("solver", {"unipc", "euler", "dpm++"}, "unipc",
                "unipc: UniPC order 2 (bh2), as released; euler; dpm++: DPM-Solver++ 2M."),
      floatParam("shift", 5.0, 0.1, 20.0, "Timestep shift of the flow schedule."),
      floatParam("video_guidance", 4.0, 1.0, 20.0, "Classifier-free guidance of the video tower (1: off)."),
      floatParam("audio_guidance", 3.0, 1.0, 20.0, "Classifier-free guidance of the audio tower (1: off)."),
      stringParam("skip_layers", "auto",
                  "Blocks the negative pass skips: auto (block 11 of 30, at the same depth in smaller models), "
                  "none, or a list such as '3,4'."),
      enumParam("negative_pass_faces", {"as_trained", "keep", "drop"}, "as_trained",
                "Whether the negative pass keeps the face references (it always drops the voices). drop: video "
                "guidance also pushes towards each subject's face, which binds each face to its subject in a "
                "model trained with the stages' guidance_dropout_faces; keep: as the released pipeline; "
                "as_trained: drop when the model's checkpoint records that its training taught that pass "
                "(presence.save_model writes it), keep otherwise."),
      intParam("seed", 0, 0, 2147483647, "Noise seed: the same seed gives the same clip."),
      boolParam("reference_cache", true,
                "Compute the references' keys and values once per generation instead of once per step."),
      intParam("preview_every", 5, 0, 200, "Preview the first frame every N steps (0: never).")};
  d.params[2].step = 32;
  d.params[3].step = 32;
  for (auto& p : d.params)
    if (p.name == "seed") p.widget = "seed";
  d.outputs = {port("latent", types::LatentAV, "The sampled video and audio latents.")};
  registry.add<SamplerNode>(std::move(d), origin);
}

}  // namespace presence::nodes::generate
