// presence.synth_dataset: writes the synthetic identity-labelled audio-video world.
#include "data_nodes.hpp"
#include "node_util.hpp"
#include "synth_dataset.hpp"

namespace presence::nodes::data {
namespace {

using namespace presence::core;
using media::boolParam;
using media::floatParam;
using media::intParam;
using media::port;
using media::stringParam;

class SynthDatasetNode final : public Node {
 public:
  void execute(NodeContext& ctx) override {
    SynthOptions o;
    o.identities = static_cast<int>(ctx.paramInt("identities"));
    o.clipsPerIdentity = static_cast<int>(ctx.paramInt("clips_per_identity"));
    o.seed = static_cast<std::uint64_t>(ctx.paramInt("seed"));
    o.width = static_cast<int>(ctx.paramInt("width"));
    o.height = static_cast<int>(ctx.paramInt("height"));
    o.fps = ctx.paramFloat("fps");
    o.clipSeconds = ctx.paramFloat("clip_seconds");
    o.twoSubjectShare = ctx.paramFloat("two_subject_share");
    o.speechOnlyShare = ctx.paramFloat("speech_only_share");
    o.videoOnlyShare = ctx.paramFloat("video_only_share");
    o.valFraction = ctx.paramFloat("val_fraction");
    o.randomSides = ctx.paramBool("random_sides");
    if (o.width % 2 != 0) ctx.fail("width", "must be even (H.264 4:2:0)");
    if (o.height % 2 != 0) ctx.fail("height", "must be even (H.264 4:2:0)");
    if (o.speechOnlyShare + o.videoOnlyShare > 1.0)
      ctx.fail("video_only_share", "speech-only plus video-only shares exceed 1");
    const auto folder = media::outputFile(ctx, "folder", "");
    const int total = o.identities * o.clipsPerIdentity;
    const auto report = media::blameParam(ctx, "folder", [&] {
      return generateSynthDataset(o, folder, media::progressOf(ctx, "clip", total), media::cancelOf(ctx));
    });
    ctx.log(LogLevel::Info, "wrote dataset " + folder.string() + ": " + std::to_string(report.clips) +
                                " clips (" + std::to_string(report.av) + " av, " +
                                std::to_string(report.speech) + " speech, " + std::to_string(report.video) +
                                " video; " + std::to_string(report.twoSubject) + " with two subjects; " +
                                std::to_string(report.val) + " val) of " + std::to_string(o.identities) +
                                " identities");
    FileList files;
    files.paths = report.files;
    ctx.setOutput("path", Value::make(types::Path, folder.string()));
    ctx.setOutput("files", Value::make(types::Files, std::move(files)));
  }
};

}  // namespace

void registerSynthDatasetNode(NodeRegistry& registry, const std::string& origin) {
  auto d = media::describe(
      "presence.synth_dataset", "Synthetic Dataset", "data", "PresenceSynthDataset",
      "Writes a synthetic identity-labelled audio-video dataset (docs/dataset-format.md): N identities, each "
      "with a procedurally drawn face (shape, skin, hair, eyes, hairstyle, accessories) and an espeak-ng "
      "voice "
      "(voice, variant, pitch, rate). Clips show one or two subjects speaking in turns, with head pose, "
      "expression and a mouth driven by espeak-ng's phoneme timings, synthesised ambience (rain, hum, "
      "birdsong, crowd) and camera moves (pan, zoom) that the structured caption describes. Each subject "
      "gets face references in other poses and expressions (front, left, right) and a voice reference from "
      "another utterance. Some clips are speech-only (with transcripts) or video-only. Deterministic by "
      "seed; the folder appears complete or not at all.");
  d.params = {
      stringParam("folder", "datasets/synth", "The dataset folder inside the output directory."),
      intParam("identities", 4, 1, 1000, "How many identities (faces and voices)."),
      intParam("clips_per_identity", 4, 1, 10000, "Clips led by each identity."),
      intParam("seed", 0, 0, 2147483647, "The world's seed: the same seed writes the same dataset."),
      intParam("width", 128, 16, 4096, "Frame width in pixels (even)."),
      intParam("height", 128, 16, 4096, "Frame height in pixels (even)."),
      floatParam("fps", 25.0, 1.0, 120.0, "Frames per second."),
      floatParam("clip_seconds", 2.0, 0.5, 60.0, "Mean clip length in seconds (clips vary by 20 %)."),
      floatParam("two_subject_share", 0.25, 0.0, 1.0, "Share of clips with two subjects speaking in turns."),
      floatParam("speech_only_share", 0.15, 0.0, 1.0, "Share of speech-only clips (audio and transcript)."),
      floatParam("video_only_share", 0.15, 0.0, 1.0, "Share of video-only clips (silent or ambience only)."),
      floatParam("val_fraction", 0.1, 0.0, 1.0, "Share of clips in the held-out validation split."),
      boolParam("random_sides", false,
                "Two-subject clips put subject 1 on the left or the right at random, and their captions say "
                "which (\"Subject 1, on the right, ...\"). Off: subject 1 always stands on the left and the "
                "captions do not say.")};
  d.params[3].widget = "seed";
  d.outputs = {port("path", types::Path, "The dataset folder."),
               port("files", types::Files, "Every file written.")};
  d.sideEffects = true;
  registry.add<SynthDatasetNode>(std::move(d), origin);
}

}  // namespace presence::nodes::data
