// presence.train_video_vae / presence.train_audio_vae: train the small VAEs of a built-in model on
// a dataset folder (the paper reuses frozen public VAEs; a model trained from nothing needs its own).
#include <algorithm>
#include <cmath>
#include <cstring>
#include <sstream>

#include "node_util.hpp"
#include "presence/data/dataset.hpp"
#include "presence/models/training/autoencoder_training.hpp"
#include "presence/runtime/safetensors_writer.hpp"
#include "train_node_util.hpp"
#include "train_nodes.hpp"

namespace presence::nodes::train {
namespace {

using namespace presence::core;
using media::boolParam;
using media::enumParam;
using media::floatParam;
using media::intParam;
using media::pathParam;
using media::port;
using media::stringParam;
namespace tr = presence::models::training;
namespace io = presence::media;
namespace fs = std::filesystem;

enum class Kind { Video, Audio };

class TrainAutoencoderNode final : public Node {
 public:
  explicit TrainAutoencoderNode(Kind kind) : kind_(kind) {}

  void execute(NodeContext& ctx) override {
    const auto manifest =
        media::blameParam(ctx, "folder", [&] { return presence::data::readDataset(datasetFolder(ctx)); });
    const fs::path target = media::outputFile(ctx, "filename_prefix", ".safetensors");
    const fs::path checkpoints = media::outputFile(ctx, "filename_prefix", "_checkpoints");

    tr::AutoencoderTrainOptions o;
    o.adam.learningRate = ctx.paramFloat("learning_rate");
    o.steps = ctx.paramInt("iterations");
    o.batchSize = ctx.paramInt("batch_size");
    o.klWeight = ctx.paramFloat("kl_weight");
    o.seed = static_cast<uint64_t>(ctx.paramInt("seed"));
    o.checkpointDir = checkpoints;
    o.checkpointEvery = ctx.paramInt("checkpoint_every");
    o.bf16Autocast = ctx.paramBool("bf16");
    o.cancel = nullptr;
    o.progress = [&ctx](const tr::AutoencoderProgress& p) {
      ctx.progress(static_cast<double>(p.step) / p.totalSteps,
                   "step " + std::to_string(p.step) + "/" + std::to_string(p.totalSteps) + ", loss " +
                       std::to_string(p.loss) + ", ETA " + secondsText(p.etaSeconds));
      return ctx.cancelled();
    };
    const std::string preset = ctx.paramString("preset");
    const int64_t maxClips = ctx.paramInt("max_clips");
    const int threads = trainingThreads(ctx, /*float32MatrixProducts=*/false);

    tr::AutoencoderTrainResult result;
    std::map<std::string, std::string> metadata{{"presence.preset", preset}};
    if (kind_ == Kind::Video) {
      o.cropSize = ctx.paramInt("crop_size");
      o.cropFrames = ctx.paramInt("crop_frames");
      o.colourWeight = ctx.paramFloat("colour_weight");
      o.motionWeight = ctx.paramFloat("motion_weight");
      if (o.motionWeight > 0.0 && o.cropFrames < 2)
        ctx.fail("motion_weight", "needs crop_frames of at least 5 (a 1-frame crop has no frame-to-frame change)");
      const auto config = media::blameParam(ctx, "preset", [&] { return models::video::videoVaePreset(preset); });
      const int64_t tc = config.temporalCompression();
      if (o.cropFrames < 1 || (o.cropFrames - 1) % tc != 0)
        ctx.fail("crop_frames", std::to_string(o.cropFrames) + " is not 1 + k·" + std::to_string(tc) +
                                    " (the VAE keeps the first frame and compresses the rest by " + std::to_string(tc) + ")");
      const int64_t steadyFrames = tr::videoSteadyCropFrames(config);
      if (o.cropFrames < steadyFrames)
        ctx.log(LogLevel::Warning, "crop_frames " + std::to_string(o.cropFrames) +
                                       ": crops this short never train the state later chunks decode from; the "
                                       "clip check will show it (take " + std::to_string(steadyFrames) + " or more)");
      std::vector<at::Tensor> clips;
      for (const auto& clip : manifest.clips) {
        if (!clip.video) continue;
        if (maxClips > 0 && static_cast<int64_t>(clips.size()) >= maxClips) break;
        ctx.throwIfCancelled();
        ctx.progress(0.0, "reading " + clip.video->filename().string());
        const ImageBatch frames = io::toRgb(io::loadVideo(*clip.video).frames);
        at::Tensor t = at::empty({frames.count, frames.height, frames.width, 3}, at::kFloat);
        std::memcpy(t.data_ptr<float>(), frames.pixels.data(), frames.pixels.size() * sizeof(float));
        clips.push_back(t);
      }
      if (clips.empty()) throw InputError("dataset " + manifest.root.string() + " has no video clips to train a video VAE on");
      // Clips too short for the crops are a crop_frames problem, not a crop_size one.
      int64_t longest = 0;
      for (const auto& c : clips) longest = std::max<int64_t>(longest, c.size(0));
      if (longest < o.cropFrames)
        ctx.fail("crop_frames", std::to_string(o.cropFrames) + " frames per crop, but the longest of the " +
                                    std::to_string(clips.size()) + " clips read has " + std::to_string(longest));
      result = media::blameParam(
          ctx, "crop_size", [&] { return runtime::runWithIntraOpThreads(threads, [&] { return tr::trainVideoVae(config, clips, o); }); });
      metadata["presence.frames_seen"] = std::to_string(result.step * o.batchSize * o.cropFrames);
    } else {
      o.cropLatents = ctx.paramInt("crop_latents");
      o.harmonicWeight = ctx.paramFloat("harmonic_weight");
      std::vector<at::Tensor> waves;
      for (const auto& clip : manifest.clips) {
        if (!clip.audio) continue;
        if (maxClips > 0 && static_cast<int64_t>(waves.size()) >= maxClips) break;
        ctx.throwIfCancelled();
        const Audio audio = io::loadAudio(*clip.audio, 16000, 1);
        waves.push_back(at::from_blob(const_cast<float*>(audio.samples.data()), {audio.frames()}, at::kFloat).clone());
      }
      if (waves.empty()) throw InputError("dataset " + manifest.root.string() + " has no audio to train an audio VAE on");
      const auto config = media::blameParam(ctx, "preset", [&] { return models::audio::audioVaePreset(preset); });
      result = media::blameParam(
          ctx, "crop_latents", [&] { return runtime::runWithIntraOpThreads(threads, [&] { return tr::trainAudioVae(config, waves, o); }); });
    }
    ctx.throwIfCancelled();
    if (result.cancelled) throw Cancelled();

    std::ostringstream stats;
    stats.precision(3);
    double meanStd = 0.0;
    for (double s : result.latentStd) meanStd += s / static_cast<double>(result.latentStd.size());
    stats << (kind_ == Kind::Video ? "video" : "audio") << " VAE '" << preset << "': " << result.step
          << " steps, last loss " << (result.history.empty() ? 0.0 : result.history.back().trainLoss)
          << ", reconstruction PSNR " << result.psnr << " dB, latent std (mean over channels) " << meanStd;
    metadata["presence.psnr_db"] = std::to_string(result.psnr);
    if (kind_ == Kind::Audio) {
      stats << ", harmonic correlation " << result.harmonicCorrelation;
      metadata["presence.harmonic_correlation"] = std::to_string(result.harmonicCorrelation);
    } else {
      stats << ", block colour error " << result.colourError;
      metadata["presence.colour_error"] = std::to_string(result.colourError);
      if (!std::isnan(result.motionCorrelation)) {
        stats << ", motion correlation " << result.motionCorrelation;
        metadata["presence.motion_correlation"] = std::to_string(result.motionCorrelation);
      }
      if (result.clipCheck) {
        const auto& c = *result.clipCheck;
        stats << "; whole clips as generation decodes them (" << c.clips << " clips, " << c.frames
              << " frames): PSNR " << c.psnr << " dB, motion correlation " << c.motionCorrelation;
        metadata["presence.clip_psnr_db"] = std::to_string(c.psnr);
        metadata["presence.clip_motion_correlation"] = std::to_string(c.motionCorrelation);
      }
    }
    metadata["presence.steps"] = std::to_string(result.step);
    std::map<std::string, at::Tensor> stored;
    const bool bf16 = ctx.paramString("dtype") == "bf16";
    for (const auto& [name, t] : result.stateDict) stored[name] = bf16 ? t.to(at::kBFloat16) : t;
    runtime::saveSafetensors(target, stored, {metadata, {}});
    ctx.log(LogLevel::Info, stats.str() + "; wrote " + target.string());

    FileList files;
    files.paths.push_back(target.string());
    if (fs::exists(checkpoints / "loss_curve.csv")) files.paths.push_back((checkpoints / "loss_curve.csv").string());
    ctx.setOutput("path", Value::make(types::Path, target.string()));
    ctx.setOutput("loss_plot", Value::make(types::Image, plotImage(tr::renderLossPlot(result.history))));
    ctx.setOutput("files", Value::make(types::Files, std::move(files)));
  }

 private:
  Kind kind_;
};

void add(NodeRegistry& registry, const std::string& origin, Kind kind) {
  const bool video = kind == Kind::Video;
  auto d = media::describe(
      video ? "presence.train_video_vae" : "presence.train_audio_vae", video ? "Train Video VAE" : "Train Audio VAE",
      "train", video ? "PresenceTrainVideoVae" : "PresenceTrainAudioVae",
      std::string(video ? "Trains a Wan2.2-architecture video VAE (the small or tiny preset) on the video clips of a dataset "
                          "folder: random crops of 1 + 4k frames, L1 reconstruction plus a weighted KL term and, with "
                          "colour_weight, an L1 term on 8×8-pixel block means, with motion_weight one on the "
                          "frame-to-frame change. The latent mean and scale measured after training are folded into "
                          "the weights, so its latents have zero mean and unit variance per channel. "
                        : "Trains an MMAudio-architecture audio VAE (the small or tiny preset) on the audio of a dataset "
                          "folder: random log-mel crops, L1 reconstruction in units of the data's per-bin spread plus a "
                          "weighted KL term and, with harmonic_weight, an L1 term on the harmonic ripple below 1.5 kHz "
                          "that keeps a voice's pitch; the mel normalisation comes from the data. ") +
          "Writes '<filename_prefix>.safetensors' (public tensor names, loadable by presence.load_model) atomically; "
          "checkpoints go beside it and running again resumes from the last one.");
  d.inputs = {port("path", types::Path, "The dataset folder (overrides 'folder'), e.g. from synth_dataset.", true)};
  d.params = {pathParam("folder", "The dataset folder (dataset.json, identities.jsonl, manifest.jsonl)."),
              enumParam("preset", {"small", "tiny"}, "small", "The architecture size (the generation preset's)."),
              intParam("max_clips", 0, 0, 1000000, "Read only the first clips with media; 0: all."),
              floatParam("learning_rate", 3e-4, 0.0, 1.0, "AdamW learning rate."),
              floatParam("kl_weight", video ? 1e-4 : 1e-3, 0.0, 10.0, "Weight of the KL term against the L1 term."),
              intParam("batch_size", video ? 4 : 8, 1, 1024, "Crops per step."),
              intParam("iterations", 500, 1, 100000000, "Total optimiser steps (a resumed run counts on)."),
              intParam("seed", 0, 0, 2147483647, "Seed of the initial weights, crops and noise.")};
  d.params.back().widget = "seed";
  if (video) {
    d.params.push_back(intParam("crop_size", 64, 0, 4096, "Crop side in pixels (a multiple of 16 for small); 0: whole frames."));
    d.params.push_back(intParam("crop_frames", 13, 1, 1024,
                                "Frames per crop (1 + 4k). Generation decodes a clip chunk by chunk, each latent "
                                "frame from the state the ones before it left; crops of 13 frames or more train "
                                "every weight that state uses, 9-frame crops all but the oldest tap of the "
                                "decoder's first time upsample, and 5-frame crops leave every frame after the "
                                "fifth blurred (docs/models/default.md). Shorter crops are warned about. The "
                                "result's clip check (whole clips, decoded as generation does) is logged and "
                                "stored either way."));
    d.params.push_back(floatParam("colour_weight", 0.0, 0.0, 100.0,
                                  "Weight of an L1 term on the means of 8×8-pixel blocks (the low-frequency colour of "
                                  "skin and hair), in the pixel L1's units; 0: off. The result's colour check (block "
                                  "colour error) is logged and stored either way."));
    d.params.push_back(floatParam("motion_weight", 0.0, 0.0, 100.0,
                                  "Weight of an L1 term on the frame-to-frame change (a mouth opening, a head "
                                  "turning), in units of the data's mean change; 0: off (the default model's small VAE "
                                  "gained nothing from it: docs/models/default.md). The result's motion check (motion "
                                  "correlation) is logged and stored either way."));
  } else {
    d.params.push_back(intParam("crop_latents", 32, 1, 100000, "Crop length in latent frames (31.25 a second)."));
    d.params.push_back(floatParam("harmonic_weight", 1.0, 0.0, 100.0,
                                  "Weight of an L1 term on the log-mel's bin-to-bin steps below 1.5 kHz (the harmonics "
                                  "that carry a voice's pitch), in units of the data's mean step; 1 keeps pitch at some "
                                  "cost in envelope (docs/models/default.md); 0: off. The result's pitch check "
                                  "(harmonic correlation) is logged and stored either way."));
  }
  d.params.push_back(intParam("checkpoint_every", 0, 0, 100000000, "Steps between checkpoints; 0: only at the end."));
  d.params.push_back(boolParam("bf16", false,
                               "Forward under bfloat16 autocast (weights, optimiser and loss stay float32): a video VAE "
                               "step ran 1.6 times faster on a CPU with bf16 matrix units, at the same reconstruction "
                               "quality (docs/benchmarks.md). A checkpoint resumes only with the setting it was "
                               "trained with."));
  d.params.push_back(threadsParam());
  d.params.push_back(enumParam("dtype", {"bf16", "f32"}, "bf16", "Stored precision of the weights (bf16 halves the file)."));
  d.params.push_back(stringParam("filename_prefix", video ? "models/video_vae" : "models/audio_vae",
                                 "Output file (without .safetensors) inside the output directory."));
  d.outputs = {port("path", types::Path, "The written .safetensors file."),
               port("loss_plot", types::Image, "The loss curve."),
               port("files", types::Files, "The weights and the loss CSV.")};
  d.sideEffects = true;
  registry.add(std::move(d), [kind] { return std::unique_ptr<Node>(new TrainAutoencoderNode(kind)); }, origin);
}

}  // namespace

void registerTrainAutoencoderNodes(NodeRegistry& registry, const std::string& origin) {
  add(registry, origin, Kind::Video);
  add(registry, origin, Kind::Audio);
}

}  // namespace presence::nodes::train
