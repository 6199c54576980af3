// presence.train_stage1 / train_stage2 / train_stage3: the three training stages on a DATASET.
#include <algorithm>
#include <map>

#include "node_util.hpp"
#include "presence/core/atomic_file.hpp"
#include "presence/models/generation/generation.hpp"
#include "presence/models/generation/payloads.hpp"
#include "presence/models/generation/structured_caption.hpp"
#include "presence/models/training/trainer.hpp"
#include "presence/runtime/rng.hpp"
#include "reference_check.hpp"
#include "stage_batches.hpp"
#include "train_node_util.hpp"
#include "train_nodes.hpp"
#include "training_dataset.hpp"

namespace presence::nodes::train {
namespace {

using namespace presence::core;
using media::boolParam;
using media::enumParam;
using media::floatParam;
using media::intParam;
using media::port;
using media::stringParam;
namespace gen = presence::models::generation;
namespace tr = presence::models::training;
namespace fs = std::filesystem;

enum class Kind { Stage1, Stage2, Stage3 };

class TrainStageNode final : public Node {
 public:
  explicit TrainStageNode(Kind kind) : kind_(kind) {}

  void execute(NodeContext& ctx) override {
    const auto& base = ctx.inputAs<gen::ModelHandle>("model").model;
    const auto& dataset = ctx.inputAs<TrainingDataset>("dataset");
    if (dataset.modelKey != base->encoderKey())
      throw InputError("input 'dataset' was encoded with another model; connect load_dataset to the same model");
    tr::Stage stage = tr::Stage::Stage2Joint;
    if (kind_ == Kind::Stage1)
      stage = ctx.paramString("tower") == "audio" ? tr::Stage::Stage1Audio : tr::Stage::Stage1Video;
    if (kind_ == Kind::Stage3) stage = tr::Stage::Stage3MultiView;

    // The stage's clips.
    std::vector<const EncodedClip*> train, val;
    for (const auto& c : dataset.clips) {
      bool ok = false;
      switch (stage) {
        case tr::Stage::Stage1Audio: ok = c.kind == presence::data::ClipKind::Speech; break;
        case tr::Stage::Stage1Video: ok = c.kind == presence::data::ClipKind::Video; break;
        case tr::Stage::Stage2Joint: ok = c.kind == presence::data::ClipKind::AudioVideo; break;
        case tr::Stage::Stage3MultiView: ok = c.kind == presence::data::ClipKind::AudioVideo && c.multiView(); break;
      }
      if (ok) (c.split == presence::data::Split::Val ? val : train).push_back(&c);
    }
    if (train.empty()) {
      const char* what = stage == tr::Stage::Stage1Audio   ? "speech-only clips for the audio stage"
                         : stage == tr::Stage::Stage1Video ? "video-only clips for the video stage"
                         : stage == tr::Stage::Stage2Joint ? "audio-video clips for stage 2"
                                                           : "audio-video clips with multi-view face references for stage 3";
      throw InputError(std::string("dataset has no ") + (val.empty() ? "" : "training ") + what);
    }
    // A face weight that could weight nothing is a mistake in the graph, not a setting to ignore.
    if (const double faceWeight = ctx.paramFloat("face_loss_weight"); faceWeight != 1.0) {
      if (stage == tr::Stage::Stage1Audio)
        ctx.fail("face_loss_weight", "weights the video loss, and the audio tower has none; leave it at 1");
      if (std::none_of(train.begin(), train.end(), [](const EncodedClip* c) { return c->faceCover.defined(); }))
        ctx.fail("face_loss_weight", "is " + std::to_string(faceWeight) + ", but none of the " +
                                         std::to_string(train.size()) +
                                         " training clips has a face box (the manifest's face_box); leave it at 1 "
                                         "or add the boxes");
    }

    const int64_t batchSize = ctx.paramInt("batch_size");
    const int64_t accumulation = ctx.paramInt("grad_accumulation");
    const uint64_t seed = static_cast<uint64_t>(ctx.paramInt("seed"));
    auto batches = std::make_shared<std::vector<tr::TrainingBatch>>();
    for (const auto& group : bucketed(train, stage, batchSize)) batches->push_back(makeBatch(group, stage));
    std::vector<tr::TrainingBatch> validation;
    for (const auto& group : bucketed(val, stage, batchSize)) validation.push_back(makeBatch(group, stage));
    // Micro-batch i of the run: epoch i / n, in an order shuffled by (seed, epoch).
    tr::BatchSource source = [batches, accumulation, seed](int64_t step) {
      const auto n = static_cast<int64_t>(batches->size());
      std::vector<tr::TrainingBatch> out;
      for (int64_t j = 0; j < accumulation; ++j) {
        const int64_t i = step * accumulation + j;
        std::vector<std::size_t> order(n);
        for (int64_t k = 0; k < n; ++k) order[k] = static_cast<std::size_t>(k);
        order = presence::data::shuffled(std::move(order), runtime::deriveSeed(seed, static_cast<uint64_t>(i / n)));
        out.push_back((*batches)[order[i % n]]);
      }
      return out;
    };

    // Float32 master weights, copied so the input model stays as it is.
    const auto& src = base->dit()->weights();
    auto weights = std::make_shared<models::dit::DitWeights>(models::dit::DitWeights::empty(src.config()));
    for (const auto& name : src.names()) weights->set(name, src.get(name).detach().to(at::kFloat).clone());

    const std::string prefix = ctx.paramString("checkpoint_prefix");
    const fs::path folder = media::outputFile(ctx, "checkpoint_prefix", "");
    tr::TrainerOptions o;
    o.stage = stage;
    o.adam.learningRate = ctx.paramFloat("learning_rate");
    o.adam.beta1 = ctx.paramFloat("beta1");
    o.adam.beta2 = ctx.paramFloat("beta2");
    o.adam.eps = ctx.paramFloat("eps");
    o.adam.weightDecay = ctx.paramFloat("weight_decay");
    o.steps = ctx.paramInt("iterations");
    o.audioWeight = kind_ == Kind::Stage1 ? 1.0 : ctx.paramFloat("audio_loss_weight");
    o.faceLossWeight = ctx.paramFloat("face_loss_weight");
    o.maxGradNorm = ctx.paramFloat("clip_grad_norm");
    o.bf16Autocast = ctx.paramBool("bf16");
    o.seed = seed;
    o.guidanceDropout.share = ctx.paramFloat("guidance_dropout");
    o.guidanceDropout.faceShare = ctx.paramFloat("guidance_dropout_faces");
    if (o.guidanceDropout.share > 0.0) {
      // The negative prompts the sampler will give each tower, encoded by the model's own text
      // encoder as caption_compose does (an empty one is its end token alone), cut to their length
      // and cloned: the encoder returns inference-mode tensors, which autograd may not save.
      auto& g = o.guidanceDropout;
      g.negativeVideoText = ctx.paramString("negative_video");
      g.negativeAudioText = ctx.paramString("negative_audio");
      const auto encoded = base->encodeText({g.negativeVideoText, g.negativeAudioText});
      auto row = [&](int64_t i, at::Tensor& out, int64_t& tokens) {
        const models::TextEmbeddings prompt = encoded.row(i);
        tokens = prompt.lengths[0].item<int64_t>();
        out = prompt.embeddings.to(at::kCPU, at::kFloat).clone();
      };
      row(0, g.negativeVideo, g.negativeVideoTokens);
      row(1, g.negativeAudio, g.negativeAudioTokens);
    }
    o.checkpointDir = folder;
    o.checkpointEvery = ctx.paramInt("checkpoint_every");
    o.validateEvery = ctx.paramInt("validate_every");
    o.resume = false;  // resumed below, so that a checkpoint that does not fit names checkpoint_prefix
    o.progress = [&ctx](const tr::TrainingProgress& p) {
      ctx.progress(p.totalSteps > 0 ? static_cast<double>(p.step) / p.totalSteps : 1.0,
                   "step " + std::to_string(p.step) + "/" + std::to_string(p.totalSteps) + ", loss " +
                       std::to_string(p.loss) + ", ETA " + secondsText(p.etaSeconds));
      return ctx.cancelled();
    };

    const int threads = trainingThreads(ctx, /*float32MatrixProducts=*/!o.bf16Autocast);
    tr::Trainer trainer(weights, o);
    media::blameParam(ctx, "checkpoint_prefix", [&] { return trainer.resume(); });
    const auto result = runtime::runWithIntraOpThreads(threads, [&] { return trainer.run(source, validation); });
    for (const auto& name : weights->names()) weights->get(name).requires_grad_(false);
    ctx.throwIfCancelled();
    ctx.log(LogLevel::Info, tr::stageName(stage) + ": " + std::to_string(train.size()) + " training clips in " +
                                std::to_string(batches->size()) + " batches, " + std::to_string(val.size()) +
                                " validation clips; " +
                                (result.startStep > 0 ? "resumed from step " + std::to_string(result.startStep) + ", "
                                                      : std::string()) +
                                "now at step " + std::to_string(result.step));

    FileList files;
    if (fs::exists(folder / "loss_curve.csv")) files.paths.push_back((folder / "loss_curve.csv").string());
    if (!val.empty()) {
      ctx.progress(1.0, "reference check on " + std::to_string(val.size()) + " validation clips");
      const ReferenceCheck check =
          runtime::runWithIntraOpThreads(threads, [&] { return checkReferences(trainer, val, stage); });
      for (const auto& line : check.summary()) ctx.log(LogLevel::Info, "reference check, " + line);
      const fs::path checkFile = folder / "reference_check.json";
      core::writeFileAtomically(checkFile, check.toJson().dump(2) + "\n");
      files.paths.push_back(checkFile.string());
    }
    if (result.lastCheckpoint)
      for (const auto& e : fs::directory_iterator(*result.lastCheckpoint))
        if (e.is_regular_file()) files.paths.push_back(e.path().string());
    std::sort(files.paths.begin() + (files.paths.empty() ? 0 : 1), files.paths.end());

    // Recorded so that the sampler uses the negative pass without faces by default for this model
    // (save_model writes it into the checkpoint). The audio tower sees no faces.
    gen::GuidanceTraining guidance = base->guidanceTraining();
    if (stage != tr::Stage::Stage1Audio && o.guidanceDropout.share > 0.0 && o.guidanceDropout.faceShare > 0.0 &&
        result.step > 0)
      guidance.negativeWithoutFaces = true;
    auto trained = gen::withDitWeights(
        *base, weights, "|" + tr::stageName(stage) + ":" + prefix + "@" + std::to_string(result.step), guidance);
    ctx.setOutput("model", Value::make(types::Model, gen::ModelHandle{std::move(trained)}));
    ctx.setOutput("loss_plot", Value::make(types::Image, plotImage(tr::renderLossPlot(trainer.history()))));
    ctx.setOutput("files", Value::make(types::Files, std::move(files)));
  }

 private:
  Kind kind_;
};

void add(NodeRegistry& registry, const std::string& origin, Kind kind) {
  const int n = kind == Kind::Stage1 ? 1 : kind == Kind::Stage2 ? 2 : 3;
  const std::string id = "presence.train_stage" + std::to_string(n);
  const char* what =
      kind == Kind::Stage1
          ? "Stage 1: trains one tower (audio on speech-only clips, video on video-only clips) with the "
            "cross-modal fusion masked; the other tower and the fusion weights stay frozen."
      : kind == Kind::Stage2 ? "Stage 2: trains both towers and the fusion jointly on audio-video clips "
                               "(loss = video + λ·audio)."
                             : "Stage 3: fine-tunes everything on audio-video clips with multi-view face references "
                               "(a tenth of the learning rate by default).";
  auto d = media::describe(
      id, "Train Stage " + std::to_string(n), "train", "PresenceTrainStage" + std::to_string(n),
      std::string(what) +
          " Batches hold clips of equal latent shape and are drawn deterministically from (seed, step). "
          "Checkpoints go to 'checkpoint_prefix' in the output folder; running again resumes from the last one, "
          "and refuses checkpoints of training that started from another input model. At the end a reference "
          "check compares the validation loss of the references' tower (video for faces, audio for voices) "
          "with each clip's own face / voice references against another identity's and, in two-subject clips, "
          "the subjects' references exchanged, all at the same fixed noise levels (0.25, 0.5, 0.75, 1), so that "
          "stages and runs compare (logged and written to reference_check.json): a positive gain means the "
          "model follows, and binds, its references. Validation clips load_dataset also encoded hue-turned "
          "(check_hue_turn) are evaluated turned, with their turned face references against the original ones: "
          "a positive colour gain means the model takes colours from its face references. "
          "Outputs the trained model (sharing the encoders), the loss plot and the written files.");
  d.inputs = {port("model", types::Model, "The model to train (its weights are copied, not changed)."),
              port("dataset", types::Dataset, "Clips encoded by presence.load_dataset with the same model.")};
  if (kind == Kind::Stage1) d.params.push_back(enumParam("tower", {"audio", "video"}, "audio", "The tower to train."));
  if (kind != Kind::Stage1)
    d.params.push_back(floatParam("audio_loss_weight", 1.0, 0.0, 100.0, "λ: weight of the audio loss."));
  d.params.push_back(floatParam(
      "face_loss_weight", 1.0, 0.01, 100.0,
      "Weight of the video loss inside the clips' face boxes (the manifest's face_box) against the rest of the "
      "frame; the loss stays a weighted mean. Faces fill a small part of a frame, yet they are what the face "
      "references decide. 1: every latent position alike; clips without boxes are weighted alike either way. "
      "Validation losses stay unweighted. Other than 1, refused for the audio tower and for training clips "
      "without any box."));
  d.params.push_back(floatParam("learning_rate", kind == Kind::Stage3 ? 1e-5 : 1e-4, 0.0, 1.0, "AdamW learning rate."));
  d.params.push_back(floatParam("beta1", 0.9, 0.0, 0.999999, "AdamW β1."));
  d.params.push_back(floatParam("beta2", 0.999, 0.0, 0.999999, "AdamW β2."));
  d.params.push_back(floatParam("eps", 1e-8, 0.0, 1.0, "AdamW ε."));
  d.params.push_back(floatParam("weight_decay", 0.0, 0.0, 1.0, "AdamW decoupled weight decay."));
  d.params.push_back(intParam("batch_size", 1, 1, 1024, "Clips per micro-batch (clips of equal latent shape)."));
  d.params.push_back(intParam("grad_accumulation", 1, 1, 1024, "Micro-batches per optimiser step."));
  d.params.push_back(intParam("iterations", 100, 1, 100000000, "Total optimiser steps (a resumed run counts on)."));
  d.params.push_back(intParam("seed", 0, 0, 2147483647, "Seed of the batch order, noise levels and noise."));
  d.params.back().widget = "seed";
  d.params.push_back(floatParam(
      "guidance_dropout", 0.1, 0.0, 1.0,
      "Share of micro-batches trained as the sampler's negative pass sees them (each tower's negative prompt "
      "instead of the caption, no voice references), so classifier-free guidance subtracts a prediction the "
      "model has learned. 0: never."));
  d.params.push_back(floatParam("guidance_dropout_faces", 0.5, 0.0, 1.0,
                                "Of those, the share also trained without the face references (the sampler's "
                                "negative_pass_faces 'drop'; its 'as_trained' uses it when this is above 0)."));
  d.params.push_back(stringParam("negative_video", std::string(gen::kDefaultVideoNegative),
                                 "The video negative prompt guidance will use (caption_compose's default)."));
  d.params.push_back(stringParam("negative_audio", std::string(gen::kDefaultAudioNegative),
                                 "The audio negative prompt guidance will use (caption_compose's default)."));
  d.params.push_back(boolParam("bf16", false, "Forward under bfloat16 autocast (weights stay float32)."));
  d.params.push_back(threadsParam());
  d.params.push_back(floatParam("clip_grad_norm", 1.0, 0.0, 1e6, "Global gradient norm limit; 0: no clipping."));
  d.params.push_back(intParam("checkpoint_every", 0, 0, 100000000, "Steps between checkpoints; 0: only at the end."));
  d.params.push_back(intParam("validate_every", 0, 0, 100000000, "Steps between validations; 0: only at the end."));
  d.params.push_back(stringParam("checkpoint_prefix", "train/stage" + std::to_string(n),
                                 "Checkpoint folder inside the output directory; an existing run there is resumed."));
  d.outputs = {port("model", types::Model, "The model with the trained DiT weights."),
               port("loss_plot", types::Image, "The loss curve (train blue, validation orange)."),
               port("files", types::Files,
                    "The loss CSV (training loss; validation loss in total and per tower) and the last "
                    "checkpoint's files.")};
  d.sideEffects = true;
  registry.add(std::move(d), [kind] { return std::unique_ptr<Node>(new TrainStageNode(kind)); }, origin);
}

}  // namespace

void registerTrainStageNodes(NodeRegistry& registry, const std::string& origin) {
  add(registry, origin, Kind::Stage1);
  add(registry, origin, Kind::Stage2);
  add(registry, origin, Kind::Stage3);
}

}  // namespace presence::nodes::train
