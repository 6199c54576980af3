// presence.load_dataset: reads a dataset folder and encodes every clip once with the model.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>
#include <unordered_set>

#include "copy_caption.hpp"
#include "face_cover.hpp"
#include "node_util.hpp"
#include "presence/models/generation/payloads.hpp"
#include "train_node_util.hpp"
#include "train_nodes.hpp"
#include "training_dataset.hpp"

namespace presence::nodes::train {
namespace {

using namespace presence::core;
using media::enumParam;
using media::intParam;
using media::pathParam;
using media::port;
namespace gen = presence::models::generation;
namespace io = presence::media;

at::Tensor framesTensor(const ImageBatch& images) {
  auto out = at::empty({images.count, images.height, images.width, images.channels}, at::kFloat);
  std::memcpy(out.data_ptr<float>(), images.pixels.data(), images.pixels.size() * sizeof(float));
  return out;
}

at::Tensor waveTensor(const Audio& mono, int64_t maxSamples) {
  const int64_t n = std::min<int64_t>(mono.frames(), maxSamples);
  return at::from_blob(const_cast<float*>(mono.samples.data()), {n}, at::kFloat).clone();
}

at::Tensor cpu(const at::Tensor& t) { return t.detach().to(at::kCPU, at::kFloat).contiguous(); }

// Keeps the first frames so that the count is one the video VAE accepts (1 + 4k).
ImageBatch trimFrames(const gen::GenerationModel& model, const ImageBatch& frames, const std::string& where) {
  const int n = static_cast<int>(gen::framesAtMost(model, frames.count));
  if (n < 1) throw InputError(where + ": no valid frame count in " + std::to_string(frames.count) + " frames");
  if (n == frames.count) return frames;
  ImageBatch out(n, frames.height, frames.width, frames.channels);
  std::copy_n(frames.pixels.begin(), out.pixels.size(), out.pixels.begin());
  return out;
}

class LoadDatasetNode final : public Node {
 public:
  void execute(NodeContext& ctx) override {
    const auto& model = *ctx.inputAs<gen::ModelHandle>("model").model;
    const std::filesystem::path folder = datasetFolder(ctx);
    const auto manifest = media::blameParam(ctx, "folder", [&] { return presence::data::readDataset(folder); });

    const int64_t m = model.sizeMultiple();
    const int refSize = static_cast<int>(ctx.paramInt("reference_size"));
    if (refSize % m != 0)
      ctx.fail("reference_size", std::to_string(refSize) + " is not a multiple of " + std::to_string(m) +
                                     " (the model's pixels per token)");
    const int rate = static_cast<int>(model.audioSampleRate());
    const int64_t maxClips = ctx.paramInt("max_clips");
    const bool gridsEverywhere = ctx.paramString("stage12_faces") == "all_views";
    const std::size_t n = maxClips > 0 ? std::min(manifest.clips.size(), static_cast<std::size_t>(maxClips)) : manifest.clips.size();

    const int64_t colourCopies = ctx.paramInt("colour_copies");
    const uint64_t colourSeed = static_cast<uint64_t>(ctx.paramInt("colour_seed"));
    const bool copiesWithoutLooks = ctx.paramString("copy_captions") == "without_looks";
    const double checkHueTurn = static_cast<double>(ctx.paramInt("check_hue_turn")) * M_PI / 180.0;

    TrainingDataset out;
    out.modelKey = model.encoderKey();
    out.root = manifest.root;
    // Recoloured copies go after every original, one round of copies after another, so that a
    // batch (cut from clips of one shape in dataset order) never pairs a clip with its own copy
    // when other clips of its shape exist.
    std::vector<std::vector<EncodedClip>> copyRounds(static_cast<std::size_t>(colourCopies));
    std::unordered_set<std::string> manifestIds;
    for (const auto& c : manifest.clips) manifestIds.insert(c.id);
    for (std::size_t i = 0; i < n; ++i) {
      ctx.throwIfCancelled();
      const auto& clip = manifest.clips[i];
      ctx.progress(static_cast<double>(i) / n, "encoding clip " + std::to_string(i + 1) + "/" + std::to_string(n));
      const std::string where = "manifest.jsonl:" + std::to_string(clip.line) + " (clip '" + clip.id + "')";
      EncodedClip e;
      e.id = clip.id;
      e.split = clip.split;
      e.kind = clip.kind;
      double seconds = clip.duration;
      std::optional<ImageBatch> frames;
      if (clip.video) {
        const Video video = io::loadVideo(*clip.video);
        if (video.frames.count == 0) throw InputError(where + ": the video has no frames");
        const int w = static_cast<int>(std::max<int64_t>(m, video.frames.width / m * m));
        const int h = static_cast<int>(std::max<int64_t>(m, video.frames.height / m * m));
        frames = trimFrames(model, io::centerCrop(io::toRgb(video.frames), w, h), where);
        if (video.fps > 0) seconds = frames->count / video.fps;
        e.faceCover = faceCover(clip.subjects, video.frames.width, video.frames.height, w, h, model.spatialCompression());
      }
      if (clip.audio) {
        const Audio audio = io::loadAudio(*clip.audio, rate, 1);
        if (audio.frames() == 0) throw InputError(where + ": the audio has no samples");
        const auto limit = clip.video ? static_cast<int64_t>(seconds * rate + 0.5) : audio.frames();
        e.audio = cpu(model.encodeWaveform(waveTensor(audio, std::max<int64_t>(1, limit))));
      }
      std::vector<ImageBatch> faceViews;  // per subject with a face, all its views
      for (const auto& s : clip.subjects) {
        if (s.slot < 0 || s.slot >= model.maxSubjects()) continue;
        if (!s.faceRefs.empty()) {
          std::vector<std::filesystem::path> paths;
          for (const auto& f : s.faceRefs) paths.push_back(f.path);
          faceViews.push_back(io::toRgb(io::readImages(paths, io::FitMode::Resize)));
          e.faceSlots.push_back(s.slot);
          e.faceIdentities.push_back(s.identity);
          e.faceViews.push_back(faceViews.back().count);
        }
        if (s.voiceRef) {
          const Audio voice = io::loadAudio(*s.voiceRef, rate, 1);
          if (voice.frames() > 0) {
            e.voices.push_back(cpu(model.encodeWaveform(waveTensor(voice, int64_t{10} * rate))));
            e.voiceSlots.push_back(s.slot);
            e.voiceIdentities.push_back(s.identity);
          }
        }
      }
      // A caption's embeddings [1, textLength, textDim] (zero padded) and its token count.
      auto encodeCaption = [&](const std::string& caption, EncodedClip& c) {
        const auto text = model.encodeText({caption});
        at::Tensor emb = cpu(text.embeddings);
        const int64_t len = model.textLength();
        if (emb.size(1) < len) emb = at::constant_pad_nd(emb, {0, 0, 0, len - emb.size(1)});
        c.text = emb.slice(1, 0, len).contiguous();
        c.textTokens = std::min<int64_t>(len, text.lengths[0].item<int64_t>());
      };
      encodeCaption(clip.caption.text, e);

      // The clip's pictures (frames and face references), hues turned by `radians` (0: as read).
      auto encodePictures = [&](EncodedClip& c, double radians) {
        auto encode = [&](const ImageBatch& image) {
          return cpu(model.encodeFrames(framesTensor(radians == 0.0 ? image : io::rotateHue(image, radians))));
        };
        if (frames) c.video = encode(*frames);
        for (const ImageBatch& views : faceViews) {
          // Stage 3 trains on the packed grid of every view (paper section 3.4); stages 1 and 2 on
          // the first view alone (one-shot, as a user gives one photo), or on the grid as well.
          ImageBatch first(1, views.height, views.width, views.channels);
          std::copy_n(views.pixels.begin(), first.pixels.size(), first.pixels.begin());
          const at::Tensor grid = views.count == 1 ? encode(io::centerCrop(first, refSize, refSize))
                                                   : encode(io::packViewsGrid(views, refSize, refSize).image);
          c.multiViewFaces.push_back(grid);
          c.faces.push_back(gridsEverywhere || views.count == 1 ? grid : encode(io::centerCrop(first, refSize, refSize)));
        }
      };
      // Recoloured copies of training clips that show faces: the same sound, caption and voices,
      // frames and face references turned alike, so that only the reference tells a face's colours.
      if (clip.split == presence::data::Split::Train && frames && !faceViews.empty() && colourCopies > 0) {
        // The copies' caption: the original's (shared), or without the colour words that no
        // longer hold, encoded once for all of them.
        EncodedClip copyBase = e;  // shares the audio, text and voice tensors
        if (copiesWithoutLooks)
          encodeCaption(media::blameParam(ctx, "copy_captions", [&] { return captionWithoutLooks(clip); }), copyBase);
        for (int64_t k = 1; k <= colourCopies; ++k) {
          EncodedClip c = copyBase;
          c.id = clip.id + "/hue" + std::to_string(k);
          if (manifestIds.count(c.id))
            ctx.fail("colour_copies", "the recoloured copy of clip '" + clip.id + "' would be named '" + c.id +
                                          "', which is a clip of the manifest already");
          encodePictures(c, recolouredCopyHue(colourSeed, clip.id, k, colourCopies));
          copyRounds[static_cast<std::size_t>(k - 1)].push_back(std::move(c));
        }
      }
      encodePictures(e, 0.0);
      // Validation clips that show faces, turned for the reference check's colour variant.
      if (clip.split == presence::data::Split::Val && frames && !faceViews.empty() && checkHueTurn != 0.0) {
        EncodedClip turned;
        encodePictures(turned, checkHueTurn);
        e.hueTurned = EncodedClip::HueTurned{checkHueTurn, turned.video, turned.faces, turned.multiViewFaces};
      }
      out.clips.push_back(std::move(e));
    }
    std::size_t recoloured = 0;
    for (auto& round : copyRounds)
      for (auto& c : round) {
        out.clips.push_back(std::move(c));
        ++recoloured;
      }
    ctx.log(LogLevel::Info, "dataset " + manifest.root.string() + ": " + std::to_string(out.clips.size()) +
                                " clips (" + std::to_string(out.count(presence::data::ClipKind::AudioVideo)) + " av, " +
                                std::to_string(out.count(presence::data::ClipKind::Speech)) + " speech, " +
                                std::to_string(out.count(presence::data::ClipKind::Video)) + " video; " +
                                std::to_string(out.count({}, presence::data::Split::Val)) + " val" +
                                (recoloured ? "; " + std::to_string(recoloured) + " of them recoloured copies" : "") + ")");
    ctx.setOutput("dataset", Value::make(types::Dataset, std::move(out)));
  }
};

}  // namespace

void registerLoadDatasetNode(NodeRegistry& registry, const std::string& origin) {
  auto d = media::describe(
      "presence.load_dataset", "Load Dataset", "train", "PresenceLoadDataset",
      "Reads and validates a training dataset folder (docs/dataset-format.md) and encodes every clip once "
      "with the model: video frames centre-cropped to a multiple of the model's pixels per token and trimmed "
      "to a valid frame count, audio at the model's rate in mono, face references (every view packed into "
      "a grid for stage 3; for stages 1 and 2 the first view alone or the same grid, by stage12_faces), voice "
      "references and caption embeddings. Keeps each clip's split and kind. Optionally adds recoloured copies "
      "of the training clips (colour_copies); encodes the validation clips' pictures hue-turned as well for the "
      "reference check (check_hue_turn).");
  d.inputs = {port("model", types::Model, "The model whose encoders encode the clips (the one to train)."),
              port("path", types::Path, "The dataset folder (overrides 'folder'), e.g. from synth_dataset.", true)};
  d.params = {pathParam("folder", "The dataset folder (dataset.json, identities.jsonl, manifest.jsonl)."),
              intParam("max_clips", 0, 0, 1000000, "Encode only the first clips of the manifest; 0: all."),
              intParam("reference_size", 64, 16, 1024,
                       "Side of the square face reference in pixels (a multiple of the model's pixels per token)."),
              enumParam("stage12_faces", {"first_view", "all_views"}, "first_view",
                        "Face references of stages 1 and 2: the first view alone (one photo, as generation is "
                        "usually given; the paper's one-shot references) or every view packed into a grid, as "
                        "stage 3 always uses."),
              intParam("colour_copies", 0, 0, 8,
                       "Recoloured copies of every training clip that shows faces: its frames and face "
                       "references with their hues turned alike about the grey axis (a random turn per copy, "
                       "copies spread round the colour circle), its sound and voice references unchanged, its "
                       "caption as copy_captions says. A face's colours then follow only its reference, not "
                       "its identity or caption, which a model of few identities otherwise learns by heart; "
                       "the whole frame turns, so the caption's colour words no longer hold for the copies. "
                       "Copies come after "
                       "every original, one round after another. Validation clips are not copied. 0: none."),
              intParam("colour_seed", 0, 0, 2147483647, "Seed of the copies' hue turns."),
              intParam("check_hue_turn", 120, 0, 359,
                       "Degrees by which the validation clips that show faces are also encoded with their frames "
                       "and face references hue-turned alike, for the stages' reference check: its colour gain "
                       "says whether the model takes colours from its face references. 0: not encoded, no "
                       "colour gain. Training is unchanged either way."),
              enumParam("copy_captions", {"as_read", "without_looks"}, "as_read",
                        "The recoloured copies' caption: as read (the original's, whose colour words no longer "
                        "hold for the copy), or without the looks: the scene (the backdrop) and each subject's "
                        "appearance left out, so that nothing but the face reference tells the copy's colours. "
                        "without_looks needs those phrases word for word in the caption, as synth_dataset "
                        "writes them.")};
  d.outputs = {port("dataset", types::Dataset, "The encoded clips, in memory.")};
  registry.add<LoadDatasetNode>(std::move(d), origin);
}

}  // namespace presence::nodes::train
