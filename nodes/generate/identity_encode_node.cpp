// presence.identity_encode: one subject's face and/or voice reference, added to an identity set.
#include <algorithm>
#include <cmath>

#include "generate_nodes.hpp"
#include "media_tensors.hpp"
#include "node_util.hpp"
#include "presence/models/generation/payloads.hpp"

namespace presence::nodes::generate {
namespace {

using namespace presence::core;
using media::floatParam;
using media::intParam;
using media::port;
using media::stringParam;
namespace gen = presence::models::generation;
namespace io = presence::media;

// Below this RMS a voice clip is treated as silence (about -60 dBFS).
constexpr double kSilenceRms = 1e-3;

class IdentityEncodeNode final : public Node {
 public:
  void execute(NodeContext& ctx) override {
    const auto& model = *ctx.inputAs<gen::ModelHandle>("model").model;
    gen::IdentitySet set;
    if (ctx.hasInput("identities")) {
      set = ctx.inputAs<gen::IdentitySet>("identities");
      if (!set.subjects.empty() && set.modelKey != model.encoderKey())
        throw InputError("input 'identities' was encoded with another model; connect every identity_encode to "
                         "the same presence.load_model");
    }
    set.modelKey = model.encoderKey();
    if (!ctx.hasInput("face") && !ctx.hasInput("voice"))
      throw InputError("neither 'face' nor 'voice' is connected: a subject needs at least one reference");

    gen::SubjectReference subject;
    const int64_t requestedSlot = ctx.paramInt("slot");
    subject.slot = requestedSlot >= 0 ? requestedSlot : set.nextFreeSlot();
    subject.name = ctx.paramString("name");
    if (subject.name.find_first_not_of(" \t") == std::string::npos)
      subject.name = "subject " + std::to_string(subject.slot + 1);
    if (requestedSlot >= model.maxSubjects())
      ctx.fail("slot", std::to_string(requestedSlot) + " is outside the model's " +
                           std::to_string(model.maxSubjects()) + " identity slots (0.." +
                           std::to_string(model.maxSubjects() - 1) + ")");
    if (static_cast<int64_t>(set.subjects.size()) >= model.maxSubjects())
      throw InputError("the model has " + std::to_string(model.maxSubjects()) +
                       " identity slots and the connected identities already use all of them");

    if (ctx.hasInput("face")) {
      ctx.progress(0.1, "encoding the face");
      subject.face = encodeFace(ctx, model, ctx.inputAs<ImageBatch>("face"), subject.faceViews);
    }
    ctx.throwIfCancelled();
    if (ctx.hasInput("voice")) {
      ctx.progress(0.5, "encoding the voice");
      subject.voice = encodeVoice(ctx, model, ctx.inputAs<Audio>("voice"), subject.voiceSeconds);
    }
    ctx.log(LogLevel::Info, subject.name + " in slot " + std::to_string(subject.slot) + ": " +
                                (subject.face.defined() ? std::to_string(subject.faceViews) + " face view(s)" +
                                                              (subject.faceViews < ctx.paramInt("min_views")
                                                                   ? " repeated into a grid of " +
                                                                         std::to_string(ctx.paramInt("min_views"))
                                                                   : "")
                                                        : "no face") +
                                ", " +
                                (subject.voice.defined() ? std::to_string(subject.voiceSeconds).substr(0, 4) + " s of voice"
                                                         : "no voice"));
    gen::IdentitySet out = media::blameParam(ctx, "slot", [&] { return set.with(std::move(subject), model.maxSubjects()); });
    ctx.setOutput("identities", Value::make(types::Identities, std::move(out)));
  }

 private:
  static at::Tensor encodeFace(NodeContext& ctx, const gen::GenerationModel& model, const ImageBatch& face,
                               int64_t& views) {
    if (face.empty()) throw InputError("input 'face' is an empty image");
    const int size = static_cast<int>(ctx.paramInt("reference_size"));
    if (size % model.sizeMultiple() != 0)
      ctx.fail("reference_size", std::to_string(size) + " is not a multiple of " +
                                     std::to_string(model.sizeMultiple()) + " (the model's pixels per token)");
    const ImageBatch rgb = io::toRgb(face);
    views = rgb.count;
    // A model trained on grids of N views sees one photo as a stranger layout than N copies of it.
    const ImageBatch filled = repeatViews(rgb, static_cast<int>(ctx.paramInt("min_views")));
    // One image is centre-cropped; several views are packed into the paper's near-square grid.
    const ImageBatch packed =
        filled.count == 1 ? io::centerCrop(filled, size, size) : io::packViewsGrid(filled, size, size).image;
    return model.encodeFrames(toTensor(packed));
  }

  // `views` with its views repeated in turn until it holds at least `count` of them.
  static ImageBatch repeatViews(const ImageBatch& views, int count) {
    if (views.count >= count) return views;
    ImageBatch out(count, views.height, views.width, views.channels);
    for (int i = 0; i < count; ++i)
      std::copy_n(views.frame(i % views.count), views.frameSize(), out.frame(i));
    return out;
  }

  static at::Tensor encodeVoice(NodeContext& ctx, const gen::GenerationModel& model, const Audio& voice,
                                double& seconds) {
    if (voice.frames() == 0) throw InputError("input 'voice' holds no samples");
    const Audio mono = io::resampleAudio(voice, static_cast<int>(model.audioSampleRate()), 1);
    const double minSeconds = ctx.paramFloat("min_voice_seconds");
    if (mono.seconds() < minSeconds)
      throw InputError("input 'voice' is " + std::to_string(mono.seconds()).substr(0, 5) + " s long, shorter than " +
                       "min_voice_seconds (" + std::to_string(minSeconds).substr(0, 4) + " s)");
    double energy = 0.0;
    for (const float s : mono.samples) energy += static_cast<double>(s) * s;
    const double rms = std::sqrt(energy / static_cast<double>(mono.samples.size()));
    if (rms < kSilenceRms)
      throw InputError("input 'voice' is silent (RMS " + std::to_string(rms) + "): give a clip of the person speaking");
    const auto maxSamples =
        static_cast<int64_t>(ctx.paramFloat("max_voice_seconds") * static_cast<double>(mono.sampleRate));
    const int64_t keep = std::min<int64_t>(mono.frames(), maxSamples);
    seconds = static_cast<double>(keep) / mono.sampleRate;
    const at::Tensor wave = at::from_blob(const_cast<float*>(mono.samples.data()), {keep}, at::kFloat).clone();
    return model.encodeWaveform(wave);
  }
};

}  // namespace

void registerIdentityEncodeNode(NodeRegistry& registry, const std::string& origin) {
  auto d = media::describe(
      "presence.identity_encode", "Identity Encode", "generate", "PresenceIdentityEncode",
      "Adds one subject to a set of identities: its face (one photo, or several views packed into the "
      "paper's dense near-square grid) encoded by the model's video VAE as one latent frame, and/or its voice "
      "encoded by the audio VAE, both bound to one identity slot. Chain nodes through 'identities' to add "
      "subject after subject; a subject may have only a face or only a voice.");
  d.inputs = {port("model", types::Model, "The model whose VAEs encode the references (and that will sample)."),
              port("identities", types::Identities, "Subjects added so far (optional).", true),
              port("face", types::Image, "The subject's face: one image, or several views of it.", true),
              port("voice", types::Audio, "A clip of the subject speaking (any rate; mixed to mono).", true)};
  d.params = {
      intParam("slot", -1, -1, 15, "Identity slot of this subject; -1: the lowest free slot."),
      stringParam("name", "", "Name used in messages; empty: 'subject <slot + 1>'."),
      intParam("reference_size", 256, 32, 1024,
               "Side of the square face reference in pixels (a multiple of the model's pixels per token, 32)."),
      intParam("min_views", 1, 1, 16,
               "A face given with fewer views is packed as a grid of this many, its views repeated in turn: "
               "the layout a model trained on multi-view grids expects (the built-in default model: 3). "
               "1: a single photo is centre-cropped, as the paper's one-shot references."),
      floatParam("min_voice_seconds", 1.0, 0.1, 30.0, "Shorter voice clips are refused."),
      floatParam("max_voice_seconds", 10.0, 0.5, 60.0, "Longer voice clips are cut to this length.")};
  d.params[2].step = 32;
  d.outputs = {port("identities", types::Identities, "The subjects so far, this one included.")};
  registry.add<IdentityEncodeNode>(std::move(d), origin);
}

}  // namespace presence::nodes::generate
