// The training nodes on the tiny preset: load_dataset payload counts, each stage writing checkpoints
// and a loss CSV, resuming, the errors for unsuitable datasets and missing folders, the VAE and
// tokenizer trainers feeding load_model, and save_model round-tripping trained weights.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <thread>
#include <vector>

#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>

#include "copy_caption.hpp"
#include "fake_context.hpp"
#include "generate_nodes.hpp"
#include "presence/core/error.hpp"
#include "presence/core/registry.hpp"
#include "presence/data/dataset.hpp"
#include "presence/models/generation/generation.hpp"
#include "presence/models/generation/payloads.hpp"
#include "presence/models/generation/structured_caption.hpp"
#include "presence/runtime/checkpoint_reader.hpp"
#include "presence/runtime/model_key.hpp"
#include "presence/runtime/safetensors.hpp"
#include "presence/runtime/safetensors_writer.hpp"
#include "stage_batches.hpp"
#include "synth_dataset.hpp"
#include "test_util.hpp"
#include "train_nodes.hpp"
#include "training_dataset.hpp"

namespace presence::nodes::train {
namespace {

namespace fs = std::filesystem;
using namespace presence::core;
using presence::data::ClipKind;
using presence::data::Split;
using presence::media::testing::TempDir;
using presence::testing::FakeContext;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

NodeRegistry& registry() {
  static NodeRegistry* r = [] {
    auto* reg = new NodeRegistry;
    generate::registerGenerateNodes(*reg);
    registerTrainNodes(*reg);
    return reg;
  }();
  return *r;
}

int lines(const fs::path& p) {
  std::ifstream in(p);
  int n = 0;
  for (std::string l; std::getline(in, l);) ++n;
  return n;
}

// Copies dataset folder `from` to `to` and rewrites its manifest through `edit`, which gets the
// manifest's records and the index of the first training clip that shows a face (a clip
// load_dataset makes recoloured copies of). Returns that clip's id.
template <typename Edit>
std::string editedManifestCopy(const fs::path& from, const fs::path& to, Edit edit) {
  fs::copy(from, to, fs::copy_options::recursive);
  std::vector<nlohmann::json> clips;
  {
    std::ifstream in(to / "manifest.jsonl");
    for (std::string l; std::getline(in, l);)
      if (!l.empty()) clips.push_back(nlohmann::json::parse(l));
  }
  for (std::size_t i = 0; i < clips.size(); ++i) {
    const auto& c = clips[i];
    if (c.value("split", "") == "train" && c.contains("video") && !c["video"].is_null() && c.contains("subjects") &&
        !c["subjects"].empty() && c["subjects"][0].contains("face_refs") && !c["subjects"][0]["face_refs"].empty()) {
      const std::string id = c["id"];
      edit(clips, i);
      std::ofstream o(to / "manifest.jsonl", std::ios::trunc);
      for (const auto& r : clips) o << r.dump() << "\n";
      return id;
    }
  }
  ADD_FAILURE() << from << " has no training clip that shows a face";
  return {};
}

// `image` with its hues turned by `radians`, encoded by the model's video VAE.
at::Tensor encodedTurned(const models::generation::GenerationModel& model, const ImageBatch& image, double radians) {
  const ImageBatch turned = presence::media::rotateHue(image, radians);
  const at::Tensor pixels =
      at::from_blob(const_cast<float*>(turned.pixels.data()), {turned.count, turned.height, turned.width, 3}, at::kFloat)
          .clone();
  return model.encodeFrames(pixels).to(at::kFloat);
}

// The clip's frames as load_dataset encodes them: centre-cropped to the model's multiple, trimmed
// to a frame count its VAE accepts.
ImageBatch clipFrames(const models::generation::GenerationModel& model, const presence::data::Clip& clip) {
  const ImageBatch video = presence::media::toRgb(presence::media::loadVideo(*clip.video).frames);
  const int64_t mult = model.sizeMultiple();
  ImageBatch frames = presence::media::centerCrop(video, static_cast<int>(video.width / mult * mult),
                                                  static_cast<int>(video.height / mult * mult));
  frames.count = static_cast<int>(models::generation::framesAtMost(model, frames.count));
  frames.pixels.resize(frames.frameSize() * frames.count);
  return frames;
}

// The first subject's one-shot face reference: its first view, centre-cropped to 64 pixels.
ImageBatch firstFace(const presence::data::Clip& clip) {
  return presence::media::centerCrop(
      presence::media::toRgb(presence::media::readImage(clip.subjects[0].faceRefs[0].path)), 64, 64);
}

class TrainNodes : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    root_ = fs::temp_directory_path() / ("presence-train-" + std::to_string(::getpid()));
    fs::remove_all(root_);
    presence::nodes::data::SynthOptions o;
    o.identities = 5;
    o.clipsPerIdentity = 2;
    o.seed = 3;
    o.width = o.height = 64;
    o.clipSeconds = 0.6;
    o.twoSubjectShare = 0.0;
    o.speechOnlyShare = 0.3;
    o.videoOnlyShare = 0.3;
    o.valFraction = 0.2;
    presence::nodes::data::generateSynthDataset(o, root_ / "mixed");
    o.speechOnlyShare = 0.0;
    o.identities = 2;
    presence::nodes::data::generateSynthDataset(o, root_ / "nospeech");
    o.identities = 8;  // enough pairs that a validation clip has one of two other identities
    o.twoSubjectShare = 1.0;
    o.videoOnlyShare = 0.0;
    o.valFraction = 0.5;
    presence::nodes::data::generateSynthDataset(o, root_ / "pairs");
  }
  static void TearDownTestSuite() { fs::remove_all(root_); }

  TempDir out;
  const NodeDescriptor& d(const std::string& id) { return *registry().find(id); }
  FakeContext context(const std::string& id) { return FakeContext(d(id), out.path(), out.path()); }
  void run(const std::string& id, FakeContext& ctx) { registry().create(id)->execute(ctx); }
  std::string failure(const std::string& id, FakeContext& ctx) { return presence::testing::failureOf(registry(), id, ctx); }
  Value model() {
    FakeContext ctx = context("presence.load_model");
    ctx.set("preset", "tiny").set("device", "cpu");
    run("presence.load_model", ctx);
    return ctx.outputs.at("model");
  }
  Value dataset(const std::string& name) {
    FakeContext ctx = context("presence.load_dataset");
    ctx.set("folder", (root_ / name).string()).link("model", model());
    run("presence.load_dataset", ctx);
    return ctx.outputs.at("dataset");
  }
  // Runs a stage; returns its context (outputs, logs).
  FakeContext stage(const std::string& id, const Value& ds, int iterations, const std::string& prefix,
                    const std::string& tower = "") {
    FakeContext ctx = context(id);
    ctx.link("model", model()).link("dataset", ds);
    ctx.set("iterations", iterations).set("checkpoint_prefix", prefix).set("seed", 5);
    if (!tower.empty()) ctx.set("tower", tower);
    run(id, ctx);
    return ctx;
  }
  void expectRun(FakeContext& ctx, const std::string& prefix, int steps) {
    const fs::path folder = out.path() / prefix;
    char name[32];
    std::snprintf(name, sizeof name, "step-%08d", steps);
    EXPECT_TRUE(fs::is_directory(folder / name)) << folder / name;
    EXPECT_EQ(lines(folder / "loss_curve.csv"), steps + 1);
    const auto& files = ctx.outputs.at("files").as<FileList>().paths;
    ASSERT_FALSE(files.empty());
    EXPECT_EQ(fs::path(files.front()).filename(), "loss_curve.csv");
    EXPECT_GE(files.size(), 3u);  // the CSV and the checkpoint's two files
    const auto& plot = ctx.outputs.at("loss_plot").as<ImageBatch>();
    EXPECT_EQ(plot.count, 1);
    EXPECT_EQ(plot.channels, 3);
    const auto& trained = ctx.outputs.at("model").as<models::generation::ModelHandle>().model;
    EXPECT_NE(trained->key(), model().as<models::generation::ModelHandle>().model->key());
  }
  static inline fs::path root_;
};

TEST_F(TrainNodes, DatasetPayloadHasTheManifestsClipsPerSplitAndKind) {
  const Value v = dataset("mixed");
  const auto& ds = v.as<TrainingDataset>();
  const auto manifest = presence::data::readDataset(root_ / "mixed");
  ASSERT_EQ(ds.clips.size(), manifest.clips.size());
  for (auto kind : {ClipKind::AudioVideo, ClipKind::Speech, ClipKind::Video})
    for (auto split : {Split::Train, Split::Val})
      EXPECT_EQ(ds.count(kind, split), presence::data::filterClips(manifest, kind, split).size())
          << presence::data::toString(kind) << "/" << presence::data::toString(split);
  EXPECT_GT(ds.count(ClipKind::Speech, Split::Train), 0u);
  EXPECT_GT(ds.count(ClipKind::Video, Split::Train), 0u);
  for (const auto& c : ds.clips) {
    EXPECT_EQ(c.video.defined(), c.kind != ClipKind::Speech) << c.id;
    if (c.kind != ClipKind::Video) {
      EXPECT_TRUE(c.audio.defined()) << c.id;
    }
    EXPECT_TRUE(c.text.defined());
    if (c.kind == ClipKind::AudioVideo) {
      EXPECT_TRUE(c.multiView()) << c.id;
      // Stages 1 and 2 see one photo per subject, as at generation; stage 3 every view in a grid.
      ASSERT_EQ(c.faces.size(), c.multiViewFaces.size()) << c.id;
      for (std::size_t k = 0; k < c.faces.size(); ++k) {
        EXPECT_EQ(c.faces[k].size(2), 1) << c.id;
        EXPECT_EQ(c.faces[k].sizes(), c.multiViewFaces[k].sizes()) << c.id;
        EXPECT_GT(c.faceViews[k], 1) << c.id;
        EXPECT_FALSE(at::allclose(c.faces[k], c.multiViewFaces[k])) << c.id << ": one-shot face is the grid";
        EXPECT_TRUE(c.facesFor(true)[k].is_same(c.multiViewFaces[k]));
        EXPECT_TRUE(c.facesFor(false)[k].is_same(c.faces[k]));
      }
    }
  }
  EXPECT_GT(payloadBytes(ds), 0u);

  // Validation clips that show faces are also encoded hue-turned (check_hue_turn, 120 degrees by
  // default) for the reference check; training clips are not.
  const auto& enc = *model().as<models::generation::ModelHandle>().model;
  std::size_t turned = 0;
  for (std::size_t i = 0; i < manifest.clips.size(); ++i) {
    const auto& clip = manifest.clips[i];
    const EncodedClip& c = ds.clips[i];
    ASSERT_EQ(c.id, clip.id);
    const bool shown = clip.split == Split::Val && clip.video && !c.faces.empty();
    ASSERT_EQ(c.hueTurned.has_value(), shown) << c.id;
    if (!shown) continue;
    ++turned;
    EXPECT_NEAR(c.hueTurned->radians, 2 * M_PI / 3, 1e-12);
    EXPECT_TRUE(at::allclose(encodedTurned(enc, clipFrames(enc, clip), 2 * M_PI / 3), c.hueTurned->video, 1e-5, 1e-5))
        << c.id;
    EXPECT_TRUE(at::allclose(encodedTurned(enc, firstFace(clip), 2 * M_PI / 3), c.hueTurned->faces[0], 1e-5, 1e-5))
        << c.id;
    ASSERT_EQ(c.hueTurned->multiViewFaces.size(), c.multiViewFaces.size());
    EXPECT_EQ(c.hueTurned->multiViewFaces[0].sizes(), c.multiViewFaces[0].sizes());
    EXPECT_FALSE(at::allclose(c.hueTurned->multiViewFaces[0], c.multiViewFaces[0], 1e-3, 1e-3)) << c.id;
  }
  EXPECT_GT(turned, 0u);

  FakeContext capped = context("presence.load_dataset");
  capped.set("folder", (root_ / "mixed").string()).set("max_clips", 2).link("model", model());
  run("presence.load_dataset", capped);
  EXPECT_EQ(capped.outputs.at("dataset").as<TrainingDataset>().clips.size(), 2u);

  FakeContext unturned = context("presence.load_dataset");
  unturned.set("folder", (root_ / "mixed").string()).set("check_hue_turn", 0).link("model", model());
  run("presence.load_dataset", unturned);
  const auto& plain = unturned.outputs.at("dataset").as<TrainingDataset>();
  for (const auto& c : plain.clips) EXPECT_FALSE(c.hueTurned) << c.id;
  EXPECT_LT(payloadBytes(plain), payloadBytes(ds));

  // stage12_faces all_views: stages 1 and 2 get the same grids as stage 3.
  FakeContext grids = context("presence.load_dataset");
  grids.set("folder", (root_ / "mixed").string()).set("stage12_faces", "all_views").link("model", model());
  run("presence.load_dataset", grids);
  int checked = 0;
  for (const auto& c : grids.outputs.at("dataset").as<TrainingDataset>().clips)
    for (std::size_t k = 0; k < c.faces.size(); ++k, ++checked) EXPECT_TRUE(c.faces[k].is_same(c.multiViewFaces[k])) << c.id;
  EXPECT_GT(checked, 0);
}

// Each clip's face cover is the share of every latent position that its subjects' face boxes
// cover (up to the pixel-centre rounding at the box edges); copies share it, batches stack it, a
// clip whose manifest gives no boxes has none, and the stages' face_loss_weight trains with it.
TEST_F(TrainNodes, FaceCoversFollowTheManifestsBoxes) {
  const auto manifest = presence::data::readDataset(root_ / "pairs");
  const Value m = model();
  const auto& gm = *m.as<models::generation::ModelHandle>().model;
  FakeContext ctx = context("presence.load_dataset");
  ctx.set("folder", (root_ / "pairs").string()).set("colour_copies", 1).link("model", m);
  run("presence.load_dataset", ctx);
  const auto& ds = ctx.outputs.at("dataset").as<TrainingDataset>();
  std::map<std::string, const EncodedClip*> byId;
  for (const auto& c : ds.clips) byId[c.id] = &c;
  const int64_t k = gm.spatialCompression();
  // The share of the cell [x0, x1) x [y0, y1) (pixels) inside the union of two boxes.
  auto overlap = [](double a0, double a1, double b0, double b1) { return std::max(0.0, std::min(a1, b1) - std::max(a0, b0)); };
  std::size_t checked = 0;
  for (const auto& clip : manifest.clips) {
    if (!clip.video) continue;
    const EncodedClip& e = *byId.at(clip.id);
    ASSERT_TRUE(e.faceCover.defined()) << clip.id;
    ASSERT_EQ(e.faceCover.sizes(), (std::vector<int64_t>{1, 1, 1, e.video.size(3), e.video.size(4)})) << clip.id;
    ASSERT_EQ(e.video.size(4) * k, 64) << "the test's frames need no crop";
    ASSERT_EQ(clip.subjects.size(), 2u);
    const auto& A = *clip.subjects[0].faceBox;
    const auto& B = *clip.subjects[1].faceBox;
    const double side = 64.0;
    for (int64_t y = 0; y < e.video.size(3); ++y)
      for (int64_t x = 0; x < e.video.size(4); ++x) {
        const double cx0 = x * k, cx1 = cx0 + k, cy0 = y * k, cy1 = cy0 + k;
        auto in = [&](const presence::data::FaceBox& b) {
          return overlap(cx0, cx1, b.x0 * side, b.x1 * side) * overlap(cy0, cy1, b.y0 * side, b.y1 * side);
        };
        const double both = overlap(cx0, cx1, std::max(A.x0, B.x0) * side, std::min(A.x1, B.x1) * side) *
                            overlap(cy0, cy1, std::max(A.y0, B.y0) * side, std::min(A.y1, B.y1) * side);
        const double expected = (in(A) + in(B) - both) / double(k * k);
        EXPECT_NEAR(e.faceCover[0][0][0][y][x].item<double>(), expected, 2.5 / k) << clip.id << " at " << x << "," << y;
      }
    if (byId.count(clip.id + "/hue1")) {
      EXPECT_TRUE(byId.at(clip.id + "/hue1")->faceCover.is_same(e.faceCover));
    }
    ++checked;
  }
  ASSERT_GE(checked, 4u);
  // A batch stacks its clips' covers, zeros for a clip without one (video only: the sounds differ in length).
  std::vector<const EncodedClip*> pair;
  for (const auto& c : ds.clips)
    if (c.video.defined() && (pair.empty() || c.video.sizes() == pair[0]->video.sizes()) && pair.size() < 2) pair.push_back(&c);
  ASSERT_EQ(pair.size(), 2u);
  EncodedClip unlocated = *pair[1];
  unlocated.faceCover = at::Tensor();
  const auto batch = makeBatch({pair[0], &unlocated}, models::training::Stage::Stage1Video);
  ASSERT_TRUE(batch.faceCover.defined());
  EXPECT_TRUE(at::equal(batch.faceCover[0], pair[0]->faceCover[0]));
  EXPECT_EQ(batch.faceCover[1].sum().item<double>(), 0.0);
  EXPECT_FALSE(makeBatch({&unlocated}, models::training::Stage::Stage1Video).faceCover.defined());

  // A manifest without boxes gives no covers.
  const fs::path bare = out.path() / "pairs_without_boxes";
  editedManifestCopy(root_ / "pairs", bare, [](std::vector<nlohmann::json>& clips, std::size_t) {
    for (auto& c : clips)
      for (auto& sub : c["subjects"]) sub.erase("face_box");
  });
  FakeContext plain = context("presence.load_dataset");
  plain.set("folder", bare.string()).link("model", m);
  run("presence.load_dataset", plain);
  for (const auto& c : plain.outputs.at("dataset").as<TrainingDataset>().clips) EXPECT_FALSE(c.faceCover.defined()) << c.id;

  // The stage trains with the weight: the same seed, another first loss.
  auto firstLoss = [&](double weight, const std::string& prefix) {
    FakeContext st = context("presence.train_stage2");
    st.link("model", m).link("dataset", ctx.outputs.at("dataset"));
    st.set("iterations", 1).set("checkpoint_prefix", prefix).set("seed", 5).set("face_loss_weight", weight);
    run("presence.train_stage2", st);
    std::ifstream in(out.path() / prefix / "loss_curve.csv");
    std::string header, row;
    std::getline(in, header);
    std::getline(in, row);
    return std::stod(row.substr(row.find(',') + 1));
  };
  EXPECT_NE(firstLoss(1.0, "fw1"), firstLoss(8.0, "fw8"));

  // A weight with nothing to weight is refused, naming the parameter, before any checkpoint is written.
  FakeContext unboxed = context("presence.train_stage2");
  unboxed.link("model", m).link("dataset", plain.outputs.at("dataset"));
  unboxed.set("iterations", 1).set("checkpoint_prefix", "fw_unboxed").set("face_loss_weight", 4.0);
  const std::string noBoxes = failure("presence.train_stage2", unboxed);
  EXPECT_EQ(noBoxes.rfind("face_loss_weight: ", 0), 0u) << noBoxes;
  EXPECT_NE(noBoxes.find("has a face box"), std::string::npos) << noBoxes;
  unboxed.set("face_loss_weight", 1.0);
  EXPECT_EQ(failure("presence.train_stage2", unboxed), "(ran)") << "weight 1 needs no boxes";
  FakeContext audioTower = context("presence.train_stage1");
  audioTower.link("model", m).link("dataset", dataset("mixed")).set("tower", "audio");
  audioTower.set("iterations", 1).set("checkpoint_prefix", "fw_audio").set("face_loss_weight", 4.0);
  const std::string audioOnly = failure("presence.train_stage1", audioTower);
  EXPECT_EQ(audioOnly.rfind("face_loss_weight: ", 0), 0u) << audioOnly;
  EXPECT_NE(audioOnly.find("audio tower"), std::string::npos) << audioOnly;
  EXPECT_FALSE(fs::exists(out.path() / "fw_audio"));
}

TEST_F(TrainNodes, RecolouredCopiesTurnPicturesAlikeAndShareSoundAndCaption) {
  const auto manifest = presence::data::readDataset(root_ / "mixed");
  const Value m = model();
  auto load = [&](int copies, int seed) {
    FakeContext ctx = context("presence.load_dataset");
    ctx.set("folder", (root_ / "mixed").string()).set("colour_copies", copies).set("colour_seed", seed).link("model", m);
    run("presence.load_dataset", ctx);
    return ctx.outputs.at("dataset");
  };
  const Value v = load(2, 4);
  const auto& ds = v.as<TrainingDataset>();
  std::map<std::string, const EncodedClip*> byId;
  for (const auto& c : ds.clips) byId[c.id] = &c;
  ASSERT_EQ(byId.size(), ds.clips.size()) << "ids are unique";

  std::size_t copied = 0;
  for (const auto& clip : manifest.clips) {
    bool faces = false;
    for (const auto& sub : clip.subjects) faces = faces || !sub.faceRefs.empty();
    const bool shown = clip.split == Split::Train && clip.video && faces;
    ASSERT_TRUE(byId.count(clip.id)) << clip.id;
    const EncodedClip& orig = *byId[clip.id];
    double previous = 0.0;
    for (int k = 1; k <= 2; ++k) {
      const std::string id = clip.id + "/hue" + std::to_string(k);
      ASSERT_EQ(byId.count(id), shown ? 1u : 0u) << id;
      if (!shown) continue;
      ++copied;
      // Each copy's turn lies in its own third of the circle, apart from the original's.
      const double hue = recolouredCopyHue(4, clip.id, k, 2);
      EXPECT_GE(hue, 2 * M_PI * (k - 0.5) / 3) << id;
      EXPECT_LT(hue, 2 * M_PI * (k + 0.5) / 3) << id;
      EXPECT_GT(hue, previous);
      previous = hue;
      const EncodedClip& c = *byId[id];
      EXPECT_EQ(c.split, Split::Train);
      EXPECT_EQ(c.kind, orig.kind);
      // The same sound, caption and voices (shared, not re-encoded) ...
      EXPECT_EQ(c.audio.defined(), orig.audio.defined()) << id;
      if (orig.audio.defined()) {
        EXPECT_TRUE(c.audio.is_same(orig.audio)) << id;
      }
      EXPECT_TRUE(c.text.is_same(orig.text)) << id;
      ASSERT_EQ(c.voices.size(), orig.voices.size()) << id;
      for (std::size_t j = 0; j < c.voices.size(); ++j) EXPECT_TRUE(c.voices[j].is_same(orig.voices[j])) << id;
      EXPECT_EQ(c.faceIdentities, orig.faceIdentities);
      EXPECT_EQ(c.faceSlots, orig.faceSlots);
      // ... other pictures: the frames and every face reference, each the original turned.
      ASSERT_EQ(c.video.sizes(), orig.video.sizes()) << id;
      EXPECT_FALSE(at::allclose(c.video, orig.video, 1e-3, 1e-3)) << id << ": frames not recoloured";
      ASSERT_EQ(c.faces.size(), orig.faces.size()) << id;
      for (std::size_t j = 0; j < c.faces.size(); ++j) {
        EXPECT_FALSE(at::allclose(c.faces[j], orig.faces[j], 1e-3, 1e-3)) << id << ": face not recoloured";
        EXPECT_FALSE(at::allclose(c.multiViewFaces[j], orig.multiViewFaces[j], 1e-3, 1e-3)) << id;
      }
      // The frames and the one-shot face (the first view, centre-cropped) are the original's
      // pictures turned by the copy's hue, then encoded: both by the same turn.
      const auto& enc = *m.as<models::generation::ModelHandle>().model;
      EXPECT_TRUE(at::allclose(encodedTurned(enc, firstFace(clip), hue), c.faces[0], 1e-5, 1e-5)) << id;
      EXPECT_TRUE(at::allclose(encodedTurned(enc, clipFrames(enc, clip), hue), c.video, 1e-5, 1e-5))
          << id << ": frames turned otherwise";
    }
  }
  EXPECT_GT(copied, 0u);
  EXPECT_EQ(ds.clips.size(), manifest.clips.size() + copied);
  // Copies come after every original, the first round of copies before the second.
  for (std::size_t i = 0; i < ds.clips.size(); ++i) {
    const bool copy = ds.clips[i].id.find("/hue") != std::string::npos;
    EXPECT_EQ(copy, i >= manifest.clips.size()) << i << " " << ds.clips[i].id;
    if (copy) {
      EXPECT_EQ(ds.clips[i].id.back(), i < manifest.clips.size() + copied / 2 ? '1' : '2') << ds.clips[i].id;
    }
  }
  // The payload grows by the copies' own pictures only: their sound, caption and voices are shared.
  auto bytes = [](const at::Tensor& t) { return static_cast<std::size_t>(t.numel()) * t.element_size(); };
  std::size_t pictures = 0;
  for (const auto& c : ds.clips) {
    if (c.id.find("/hue") == std::string::npos) continue;
    pictures += bytes(c.video);
    for (std::size_t j = 0; j < c.faces.size(); ++j)
      pictures += bytes(c.faces[j]) + (c.multiViewFaces[j].is_same(c.faces[j]) ? 0 : bytes(c.multiViewFaces[j]));
  }
  EXPECT_EQ(payloadBytes(ds), payloadBytes(load(0, 4).as<TrainingDataset>()) + pictures);
  EXPECT_EQ(ds.count({}, Split::Val), presence::data::filterClips(manifest, {}, Split::Val).size());

  // The same seed gives the same copies; another seed other turns.
  const Value again = load(2, 4);
  const Value other = load(2, 5);
  const auto& a = again.as<TrainingDataset>().clips;
  const auto& o = other.as<TrainingDataset>().clips;
  ASSERT_EQ(a.size(), ds.clips.size());
  ASSERT_EQ(o.size(), ds.clips.size());
  int differ = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].id, ds.clips[i].id);
    if (ds.clips[i].video.defined()) {
      EXPECT_TRUE(at::equal(a[i].video, ds.clips[i].video)) << a[i].id;
      if (!at::equal(o[i].video, ds.clips[i].video)) ++differ;
    }
  }
  EXPECT_EQ(differ, static_cast<int>(copied));
}

TEST(CopyCaption, LeavesOutTheSceneAndEachAppearanceWithTheirSeparators) {
  presence::data::Clip clip;
  clip.id = "c7";
  clip.caption.scene = "Indoors in front of a blue studio backdrop";
  clip.caption.text =
      "Indoors in front of a blue studio backdrop. A slow pan. Subject 1, on the left, a person with red hair, pale "
      "skin and green eyes, smiles. Subject 2, a person with black hair, looks ahead. Subject 1 says: <S>hi<E>";
  clip.subjects.resize(2);
  clip.subjects[0].appearance = "a person with red hair, pale skin and green eyes";
  clip.subjects[1].slot = 1;
  clip.subjects[1].appearance = "a person with black hair";
  EXPECT_EQ(captionWithoutLooks(clip),
            "A slow pan. Subject 1, on the left, smiles. Subject 2, looks ahead. Subject 1 says: <S>hi<E>");

  // One appearance that begins with the other's, and two that read alike: each still goes whole.
  presence::data::Clip alike = clip;
  alike.caption.text = "Subject 1, a person with black hair and a hat, waves. Subject 2, a person with black hair, "
                       "nods. Subject 3, a person with black hair, smiles.";
  alike.caption.scene.clear();
  alike.subjects.resize(3);
  alike.subjects[0].appearance = "a person with black hair and a hat";
  alike.subjects[1].appearance = "a person with black hair";
  alike.subjects[2].slot = 2;
  alike.subjects[2].appearance = "a person with black hair";
  EXPECT_EQ(captionWithoutLooks(alike), "Subject 1, waves. Subject 2, nods. Subject 3, smiles.");

  // Nothing to leave out: the caption as it is.
  presence::data::Clip plain = clip;
  plain.caption.scene.clear();
  for (auto& s : plain.subjects) s.appearance.clear();
  EXPECT_EQ(captionWithoutLooks(plain), plain.caption.text);

  // A phrase the caption does not hold word for word is an error naming clip, subject and phrase.
  presence::data::Clip loose = clip;
  loose.subjects[1].appearance = "a person with dark hair";
  try {
    captionWithoutLooks(loose);
    FAIL() << "expected an InputError";
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("clip 'c7'"), std::string::npos) << msg;
    EXPECT_NE(msg.find("subject 2's appearance 'a person with dark hair'"), std::string::npos) << msg;
  }
}

TEST_F(TrainNodes, RecolouredCopiesCanLeaveTheLooksOutOfTheirCaptions) {
  const auto manifest = presence::data::readDataset(root_ / "mixed");
  const Value m = model();
  const auto& enc = m.as<models::generation::ModelHandle>().model;
  FakeContext ctx = context("presence.load_dataset");
  ctx.set("folder", (root_ / "mixed").string()).set("colour_copies", 2).set("copy_captions", "without_looks");
  ctx.link("model", m);
  run("presence.load_dataset", ctx);
  const auto& ds = ctx.outputs.at("dataset").as<TrainingDataset>();
  std::map<std::string, const EncodedClip*> byId;
  for (const auto& c : ds.clips) byId[c.id] = &c;
  int copies = 0;
  for (const auto& clip : manifest.clips) {
    if (!byId.count(clip.id + "/hue1")) continue;
    const EncodedClip &orig = *byId.at(clip.id), &first = *byId.at(clip.id + "/hue1"),
                      &second = *byId.at(clip.id + "/hue2");
    ++copies;
    // The copies' caption is the original's without its looks, encoded once for both copies;
    // the original keeps its own.
    const std::string without = captionWithoutLooks(clip);
    ASSERT_NE(without, clip.caption.text) << clip.id;
    EXPECT_EQ(without.find(clip.subjects[0].appearance), std::string::npos) << without;
    const auto text = enc->encodeText({without});
    const int64_t tokens = std::min<int64_t>(enc->textLength(), text.lengths[0].item<int64_t>());
    EXPECT_EQ(first.textTokens, tokens) << clip.id;
    EXPECT_LE(first.textTokens, orig.textTokens) << clip.id;  // equal where both fill the tiny preset's length
    EXPECT_TRUE(at::allclose(first.text.slice(1, 0, tokens), text.embeddings.to(at::kFloat).slice(1, 0, tokens)))
        << clip.id;
    EXPECT_TRUE(second.text.is_same(first.text)) << clip.id;
    EXPECT_FALSE(at::allclose(first.text, orig.text)) << clip.id;
    // Sound and voices are still the original's.
    if (orig.audio.defined()) {
      EXPECT_TRUE(first.audio.is_same(orig.audio)) << clip.id;
    }
  }
  EXPECT_GT(copies, 0);
}

TEST_F(TrainNodes, CopyCaptionsWithoutTheLooksRefuseACaptionThatDoesNotHoldThem) {
  const fs::path folder = out.path() / "loose";
  const std::string changed = editedManifestCopy(root_ / "mixed", folder, [](auto& clips, std::size_t shown) {
    clips[shown]["subjects"][0]["appearance"] = "a person the caption does not describe";
  });
  ASSERT_FALSE(changed.empty());
  FakeContext ctx = context("presence.load_dataset");
  ctx.set("folder", folder.string()).set("colour_copies", 1).set("copy_captions", "without_looks");
  ctx.link("model", model());
  const std::string msg = failure("presence.load_dataset", ctx);
  EXPECT_EQ(msg.rfind("copy_captions: ", 0), 0u) << msg;
  EXPECT_NE(msg.find("clip '" + changed + "'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("'a person the caption does not describe'"), std::string::npos) << msg;
  // The same dataset loads with the captions as read.
  FakeContext asRead = context("presence.load_dataset");
  asRead.set("folder", folder.string()).set("colour_copies", 1).link("model", model());
  run("presence.load_dataset", asRead);
}

TEST_F(TrainNodes, RecolouredCopyNamedLikeAManifestClipIsRefused) {
  // A copy of a shown training clip would be named '<id>/hue1'; give another clip that id.
  const fs::path folder = out.path() / "clash";
  const std::string shown = editedManifestCopy(root_ / "mixed", folder, [](auto& clips, std::size_t i) {
    clips[i == 0 ? 1 : 0]["id"] = clips[i]["id"].template get<std::string>() + "/hue1";
  });
  ASSERT_FALSE(shown.empty());
  FakeContext ctx = context("presence.load_dataset");
  ctx.set("folder", folder.string()).set("colour_copies", 1).link("model", model());
  const std::string msg = failure("presence.load_dataset", ctx);
  EXPECT_EQ(msg.rfind("colour_copies: ", 0), 0u) << msg;
  EXPECT_NE(msg.find("'" + shown + "/hue1'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("a clip of the manifest already"), std::string::npos) << msg;
}

TEST_F(TrainNodes, MissingFolderFailsNamingTheParameter) {
  FakeContext ctx = context("presence.load_dataset");
  ctx.set("folder", (root_ / "does-not-exist").string()).link("model", model());
  const std::string msg = failure("presence.load_dataset", ctx);
  EXPECT_EQ(msg.rfind("folder: ", 0), 0u) << msg;
  EXPECT_NE(msg.find("does-not-exist"), std::string::npos) << msg;
}

TEST_F(TrainNodes, Stage1BothTowersWriteCheckpointsAndLossCurves) {
  const Value ds = dataset("mixed");
  FakeContext audio = stage("presence.train_stage1", ds, 2, "s1a", "audio");
  expectRun(audio, "s1a", 2);
  FakeContext video = stage("presence.train_stage1", ds, 2, "s1v", "video");
  expectRun(video, "s1v", 2);
}

TEST_F(TrainNodes, Stage2ResumesFromItsCheckpoint) {
  const Value ds = dataset("mixed");
  FakeContext first = stage("presence.train_stage2", ds, 2, "s2");
  expectRun(first, "s2", 2);
  FakeContext second = stage("presence.train_stage2", ds, 3, "s2");
  expectRun(second, "s2", 3);
  bool resumed = false;
  for (const auto& l : second.logs) resumed = resumed || l.find("resumed from step 2") != std::string::npos;
  EXPECT_TRUE(resumed);
}

// 'threads' holds for the node's run and is given back; float32 on more than one thread is
// warned about (OpenBLAS's own threads contend with them), bf16 on more than one is not.
TEST_F(TrainNodes, StageThreadsHoldForTheRunAndFloat32IsWarnedAbout) {
  const Value ds = dataset("mixed");
  const int before = at::get_num_threads();
  auto warned = [](const FakeContext& ctx) {
    bool w = false;
    for (const auto& l : ctx.logs) w = w || l.find("in float32: OpenBLAS's own threads") != std::string::npos;
    return w;
  };
  for (bool bf16 : {false, true}) {
    FakeContext ctx = context("presence.train_stage1");
    ctx.link("model", model()).link("dataset", ds).set("tower", "video").set("iterations", 1);
    ctx.set("checkpoint_prefix", bf16 ? "threads_bf16" : "threads_f32").set("threads", before + 1).set("bf16", bf16);
    // Where the trainer reports its steps: the count, on the intra-op thread, not the caller's (which
    // would keep an OpenMP pool for its life).
    std::vector<int> during;
    bool onTheCallersThread = false;
    ctx.onProgress = [&, caller = std::this_thread::get_id()](std::string_view message) {
      if (message.rfind("step ", 0) != 0) return;
      during.push_back(at::get_num_threads());
      onTheCallersThread = onTheCallersThread || std::this_thread::get_id() == caller;
    };
    run("presence.train_stage1", ctx);
    ASSERT_FALSE(during.empty());
    for (int n : during) EXPECT_EQ(n, before + 1);
    EXPECT_FALSE(onTheCallersThread);
    EXPECT_EQ(at::get_num_threads(), before);
    EXPECT_EQ(warned(ctx), !bf16);
  }
}

TEST_F(TrainNodes, Stage3TrainsOnMultiViewClips) {
  FakeContext ctx = stage("presence.train_stage3", dataset("mixed"), 2, "s3");
  expectRun(ctx, "s3", 2);
}

// guidance_dropout trains the sampler's negative pass: every step of a share-1 run sees the
// negative prompts instead of the captions, so its weights depend on negative_video and differ
// from a run without dropout; the checkpoint records the share.
TEST_F(TrainNodes, GuidanceDropoutTrainsWithTheNegativePrompts) {
  const Value ds = dataset("mixed");
  auto trainedWith = [&](double share, const std::string& negativeVideo, const std::string& prefix) {
    FakeContext ctx = context("presence.train_stage2");
    ctx.link("model", model()).link("dataset", ds);
    ctx.set("iterations", 2).set("checkpoint_prefix", prefix).set("seed", 5);
    ctx.set("guidance_dropout", share).set("guidance_dropout_faces", 0.0).set("negative_video", negativeVideo);
    run("presence.train_stage2", ctx);
    return ctx.outputs.at("model").as<models::generation::ModelHandle>().model->dit()->weights().get(
        "video_model.head.head.weight").clone();
  };
  const std::string negative(models::generation::kDefaultVideoNegative);
  const at::Tensor none = trainedWith(0.0, negative, "gd0");
  const at::Tensor all = trainedWith(1.0, negative, "gd1");
  const at::Tensor otherPrompt = trainedWith(1.0, "washed out colours", "gd1b");
  EXPECT_FALSE(at::equal(none, all));
  EXPECT_FALSE(at::equal(all, otherPrompt));
  EXPECT_TRUE(at::equal(all, trainedWith(1.0, negative, "gd1c")));  // deterministic
  std::ifstream info(out.path() / "gd1" / "step-00000002" / "trainer.json");
  const auto recorded = nlohmann::json::parse(info).at("config").at("guidance_dropout");
  EXPECT_EQ(recorded.at("share").get<double>(), 1.0);
  EXPECT_EQ(recorded.at("face_share").get<double>(), 0.0);
  EXPECT_EQ(recorded.at("negative_video").get<std::string>(), negative);

  // The audio tower reads negative_audio (stage 1 audio: the video prompt does not reach it).
  auto audioTrained = [&](const std::string& negativeVideo, const std::string& negativeAudio, const std::string& prefix) {
    FakeContext ctx = context("presence.train_stage1");
    ctx.link("model", model()).link("dataset", ds).set("tower", "audio");
    ctx.set("iterations", 2).set("checkpoint_prefix", prefix).set("seed", 5).set("guidance_dropout", 1.0);
    ctx.set("negative_video", negativeVideo).set("negative_audio", negativeAudio);
    run("presence.train_stage1", ctx);
    return ctx.outputs.at("model").as<models::generation::ModelHandle>().model->dit()->weights().get(
        "audio_model.head.head.weight").clone();
  };
  // Both prompts are encoded in one padded batch, so the other prompt's length may move the last
  // float bits (as in caption_compose); a different audio prompt moves the weights far more.
  const at::Tensor audioBase = audioTrained(negative, "", "gda");
  const double otherVideo = (audioBase - audioTrained("washed out colours", "", "gdb")).abs().max().item<double>();
  const double otherAudio = (audioBase - audioTrained(negative, "muffled", "gdc")).abs().max().item<double>();
  EXPECT_LT(otherVideo, 1e-7);  // measured 3.5e-10
  EXPECT_GT(otherAudio, 1e-5);   // measured 3.6e-4

  // Resuming with another dropout is refused under checkpoint_prefix.
  FakeContext other = context("presence.train_stage2");
  other.link("model", model()).link("dataset", ds);
  other.set("iterations", 3).set("checkpoint_prefix", "gd1").set("seed", 5).set("guidance_dropout", 0.0);
  const std::string msg = failure("presence.train_stage2", other);
  EXPECT_NE(msg.find("checkpoint_prefix"), std::string::npos) << msg;
  EXPECT_NE(msg.find("guidance dropout"), std::string::npos) << msg;
}

// A stage that trained the negative pass without faces says so in its model, save_model writes it
// into the checkpoint and load_model reads it back: the sampler's negative_pass_faces 'as_trained'
// acts on it. The audio tower sees no faces, so its stage never records it.
TEST_F(TrainNodes, StagesRecordWhetherTheyTaughtTheNegativePassWithoutFaces) {
  namespace gen = models::generation;
  const Value ds = dataset("mixed");
  auto learned = [](const Value& m) {
    return m.as<gen::ModelHandle>().model->guidanceTraining().negativeWithoutFaces;
  };
  auto trained = [&](const std::string& id, const Value& input, double share, double faces, const std::string& prefix,
                     const std::string& tower = "") {
    FakeContext ctx = context(id);
    ctx.link("model", input).link("dataset", ds).set("iterations", 1).set("checkpoint_prefix", prefix);
    ctx.set("guidance_dropout", share).set("guidance_dropout_faces", faces);
    if (!tower.empty()) ctx.set("tower", tower);
    run(id, ctx);
    return ctx.outputs.at("model");
  };
  EXPECT_FALSE(learned(model()));
  EXPECT_FALSE(learned(trained("presence.train_stage1", model(), 1.0, 1.0, "rec_audio", "audio")));
  EXPECT_FALSE(learned(trained("presence.train_stage2", model(), 0.0, 1.0, "rec_none")));
  EXPECT_FALSE(learned(trained("presence.train_stage2", model(), 1.0, 0.0, "rec_keep")));
  const Value taught = trained("presence.train_stage2", model(), 1.0, 0.5, "rec_drop");
  EXPECT_TRUE(learned(taught));
  const Value later = trained("presence.train_stage3", taught, 0.0, 0.0, "rec_later");
  EXPECT_TRUE(learned(later));  // what an earlier stage taught stays in the weights' record

  for (const int maxShardMb : {0, 1}) {
    FakeContext save = context("presence.save_model");
    save.link("model", later).set("filename_prefix", "rec/dit" + std::to_string(maxShardMb)).set("dtype", "f32");
    save.set("max_shard_mb", static_cast<std::int64_t>(maxShardMb));
    run("presence.save_model", save);
    FakeContext load = context("presence.load_model");
    load.set("preset", "tiny").set("device", "cpu").set("dtype", "f32");
    load.set("dit_checkpoint", save.outputs.at("path").as<std::string>());
    run("presence.load_model", load);
    EXPECT_TRUE(learned(load.outputs.at("model"))) << maxShardMb;
  }

  // A record that is not the object it should be names the file instead of being read as false.
  try {
    gen::GuidanceTraining::fromMetadata({{gen::GuidanceTraining::kMetadataKey, "{\"negative_without_faces\":1}"}},
                                        "dit.safetensors");
    ADD_FAILURE() << "a malformed record was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("dit.safetensors"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("presence.guidance_training"), std::string::npos) << e.what();
  }
}

TEST_F(TrainNodes, AudioStageRefusesADatasetWithoutSpeechOnlyClips) {
  const Value ds = dataset("nospeech");
  EXPECT_EQ(ds.as<TrainingDataset>().count(ClipKind::Speech), 0u);
  FakeContext ctx = context("presence.train_stage1");
  ctx.link("model", model()).link("dataset", ds).set("tower", "audio").set("iterations", 1);
  EXPECT_EQ(failure("presence.train_stage1", ctx), "input: dataset has no speech-only clips for the audio stage");
  EXPECT_FALSE(fs::exists(out.path() / "train/stage1"));
}

// The recipe's component trainers: each writes a file that load_model takes through its *_file
// input, so those components stop being random.
TEST_F(TrainNodes, VaeAndTokenizerTrainersWriteFilesThatLoadModelReads) {
  FakeContext video = context("presence.train_video_vae");
  video.set("folder", (root_ / "mixed").string()).set("preset", "tiny").set("iterations", 2).set("crop_size", 32);
  video.set("filename_prefix", "m/video_vae").set("batch_size", 2);
  run("presence.train_video_vae", video);
  const auto videoFile = video.outputs.at("path").as<std::string>();
  EXPECT_EQ(videoFile, (out.path() / "m/video_vae.safetensors").string());
  EXPECT_TRUE(fs::exists(out.path() / "m/video_vae_checkpoints/loss_curve.csv"));
  EXPECT_EQ(lines(out.path() / "m/video_vae_checkpoints/loss_curve.csv"), 3);
  // The clip check (whole clips decoded as generation does) is stored with the weights and logged.
  const auto stored = runtime::SafetensorsFile::open(videoFile)->metadata();
  ASSERT_TRUE(stored.count("presence.clip_psnr_db")) << "no clip check stored";
  EXPECT_GT(std::stod(stored.at("presence.clip_psnr_db")), 0.0);
  EXPECT_TRUE(stored.count("presence.clip_motion_correlation"));
  bool logged = false, warned = false;
  for (const auto& l : video.logs) logged = logged || l.find("whole clips as generation decodes them") != std::string::npos;
  for (const auto& l : video.logs) warned = warned || l.find("crop_frames") != std::string::npos;
  EXPECT_TRUE(logged);
  EXPECT_FALSE(warned) << "the default crop length trains the steady chunk state";
  FakeContext shortCrops = context("presence.train_video_vae");  // 5-frame crops: warned
  shortCrops.set("folder", (root_ / "mixed").string()).set("preset", "tiny").set("iterations", 1).set("crop_size", 32);
  shortCrops.set("filename_prefix", "m/video_vae_short").set("batch_size", 2).set("crop_frames", 5);
  run("presence.train_video_vae", shortCrops);
  warned = false;
  for (const auto& l : shortCrops.logs) warned = warned || l.rfind("crop_frames 5: ", 0) == 0;
  EXPECT_TRUE(warned);

  FakeContext audio = context("presence.train_audio_vae");
  audio.set("folder", (root_ / "mixed").string()).set("preset", "tiny").set("iterations", 2).set("crop_latents", 8);
  audio.set("filename_prefix", "m/audio_vae");
  run("presence.train_audio_vae", audio);

  FakeContext tok = context("presence.train_tokenizer");
  tok.set("folder", (root_ / "mixed").string()).set("vocab_size", 200).set("filename_prefix", "m/tok");
  run("presence.train_tokenizer", tok);
  const fs::path tokFile = tok.outputs.at("path").as<std::string>();
  EXPECT_TRUE(fs::exists(tokFile));
  int leftovers = 0;  // no corpus file, no temporary sentencepiece output, no partial write
  for (const auto& e : fs::directory_iterator(out.path() / "m")) {
    const std::string name = e.path().filename().string();
    leftovers += name.find(".tmp-") != std::string::npos || name.find(".partial-") != std::string::npos ||
                 e.path().extension() == ".txt" || e.path().extension() == ".vocab";
  }
  EXPECT_EQ(leftovers, 0);
  // Trained in memory: another folder gets the same bytes, and the model names no folder.
  FakeContext tok2 = context("presence.train_tokenizer");
  tok2.set("folder", (root_ / "mixed").string()).set("vocab_size", 200).set("filename_prefix", "elsewhere/tok");
  run("presence.train_tokenizer", tok2);
  const std::string tokBytes = slurp(tokFile);
  EXPECT_EQ(tokBytes, slurp(tok2.outputs.at("path").as<std::string>()));
  EXPECT_EQ(tokBytes.find(out.path().string()), std::string::npos);

  FakeContext load = context("presence.load_model");
  load.set("preset", "tiny").set("device", "cpu");
  load.link("video_vae_checkpoint_file", Value::make(types::Path, videoFile));
  load.link("audio_vae_checkpoint_file", audio.outputs.at("path"));
  load.link("tokenizer_file", tok.outputs.at("path"));
  run("presence.load_model", load);
  const auto& m = *load.outputs.at("model").as<models::generation::ModelHandle>().model;
  EXPECT_EQ(m.randomComponents(), (std::vector<std::string>{"dit", "text"}));
  EXPECT_EQ(m.spec().tokenizer, tokFile);

  // A saved DiT records its components by relative path and content hash: two saves beside
  // each other write the same bytes (no time in them), and nothing names the run's folder.
  std::vector<std::string> saved;
  for (const char* prefix : {"m/dit_a", "m/dit_b"}) {
    FakeContext save = context("presence.save_model");
    save.link("model", load.outputs.at("model")).set("filename_prefix", prefix).set("dtype", "bf16");
    run("presence.save_model", save);
    saved.push_back(save.outputs.at("path").as<std::string>());
  }
  const std::string savedBytes = slurp(saved[0]);
  EXPECT_EQ(savedBytes, slurp(saved[1]));
  EXPECT_EQ(savedBytes.find(out.path().string()), std::string::npos);
  const auto provenance = nlohmann::json::parse(runtime::CheckpointReader(saved[0]).metadata().at("presence.model"));
  EXPECT_EQ(provenance["files"]["video_vae"]["file"], "video_vae.safetensors") << provenance.dump();
  EXPECT_EQ(provenance["files"]["video_vae"]["xxh3"], runtime::fileContentHash(videoFile));
  EXPECT_EQ(provenance["files"]["tokenizer"]["xxh3"], runtime::fileContentHash(tokFile));
  EXPECT_EQ(provenance["random"], nlohmann::json::array({"dit", "text"}));

  // A sharded component is recorded by its index, with the hash of the index and of every shard.
  std::map<std::string, at::Tensor> vaeTensors;
  for (const auto& name : runtime::CheckpointReader(videoFile).names())
    vaeTensors[name] = runtime::CheckpointReader(videoFile).view(name).clone();
  const fs::path vaeIndex =
      runtime::saveShardedSafetensors(out.path() / "m" / "vae_shards", "model", vaeTensors, 64 * 1024);
  const auto vaeFiles = runtime::CheckpointReader(vaeIndex).files();
  ASSERT_GE(vaeFiles.size(), 3u) << "an index and at least two shards";
  FakeContext shardedLoad = context("presence.load_model");
  shardedLoad.set("preset", "tiny").set("device", "cpu").set("video_vae_checkpoint", vaeIndex.string());
  run("presence.load_model", shardedLoad);
  FakeContext shardedSave = context("presence.save_model");
  shardedSave.link("model", shardedLoad.outputs.at("model")).set("filename_prefix", "m/dit_s").set("dtype", "bf16");
  run("presence.save_model", shardedSave);
  const auto shardedProvenance = nlohmann::json::parse(
      runtime::CheckpointReader(shardedSave.outputs.at("path").as<std::string>()).metadata().at("presence.model"));
  const auto& vae = shardedProvenance["files"]["video_vae"];
  EXPECT_EQ(vae["file"], "vae_shards/model.safetensors.index.json") << vae.dump();
  ASSERT_TRUE(vae["xxh3"].is_object()) << vae.dump();
  EXPECT_EQ(vae["xxh3"].size(), vaeFiles.size()) << vae.dump();
  for (const auto& f : vaeFiles) {
    const std::string rel = "vae_shards/" + f.filename().string();
    ASSERT_TRUE(vae["xxh3"].contains(rel)) << rel << " in " << vae.dump();
    EXPECT_EQ(vae["xxh3"][rel], runtime::fileContentHash(f)) << rel;
  }

  // A component gone since loading does not cost the trained weights: saved, hash null, warned.
  fs::remove(tokFile);
  FakeContext gone = context("presence.save_model");
  gone.link("model", load.outputs.at("model")).set("filename_prefix", "m/dit_c").set("dtype", "bf16");
  run("presence.save_model", gone);
  const auto goneProvenance = nlohmann::json::parse(
      runtime::CheckpointReader(gone.outputs.at("path").as<std::string>()).metadata().at("presence.model"));
  EXPECT_TRUE(goneProvenance["files"]["tokenizer"]["xxh3"].is_null()) << goneProvenance.dump();
  EXPECT_EQ(goneProvenance["files"]["video_vae"]["xxh3"], runtime::fileContentHash(videoFile));
  bool hashWarned = false;
  for (const auto& l : gone.logs)
    hashWarned = hashWarned || l.find("the tokenizer file is not recorded with a hash") != std::string::npos;
  EXPECT_TRUE(hashWarned);
}

TEST_F(TrainNodes, ComponentTrainersNameTheBadParameter) {
  FakeContext video = context("presence.train_video_vae");
  video.set("folder", (root_ / "mixed").string()).set("preset", "tiny").set("iterations", 1).set("crop_size", 24);
  const std::string msg = failure("presence.train_video_vae", video);
  EXPECT_EQ(msg.rfind("crop_size: ", 0), 0u) << msg;
  EXPECT_FALSE(fs::exists(out.path() / "models/video_vae.safetensors"));

  FakeContext still = context("presence.train_video_vae");  // a motion term on 1-frame crops
  still.set("folder", (root_ / "mixed").string()).set("preset", "tiny").set("iterations", 1).set("crop_size", 32);
  still.set("crop_frames", 1).set("motion_weight", 1.0);
  const std::string motionMsg = failure("presence.train_video_vae", still);
  EXPECT_EQ(motionMsg.rfind("motion_weight: ", 0), 0u) << motionMsg;
  EXPECT_NE(motionMsg.find("crop_frames"), std::string::npos) << motionMsg;

  FakeContext odd = context("presence.train_video_vae");  // not 1 + 4k frames
  odd.set("folder", (root_ / "mixed").string()).set("preset", "tiny").set("iterations", 1).set("crop_size", 32);
  odd.set("crop_frames", 6);
  const std::string oddMsg = failure("presence.train_video_vae", odd);
  EXPECT_EQ(oddMsg.rfind("crop_frames: 6 is not 1 + k·4", 0), 0u) << oddMsg;

  FakeContext longCrops = context("presence.train_video_vae");  // longer than any clip (0.6 s ± 20 %)
  longCrops.set("folder", (root_ / "mixed").string()).set("preset", "tiny").set("iterations", 1).set("crop_size", 32);
  longCrops.set("crop_frames", 101);
  const std::string longMsg = failure("presence.train_video_vae", longCrops);
  EXPECT_EQ(longMsg.rfind("crop_frames: 101 frames per crop, but the longest of the ", 0), 0u) << longMsg;

  // A bf16 run (on two intra-op threads, given back afterwards) resumed in float32 names 'bf16'.
  const int threadsBefore = at::get_num_threads();
  FakeContext bf16 = context("presence.train_audio_vae");
  bf16.set("folder", (root_ / "mixed").string()).set("preset", "tiny").set("iterations", 1).set("crop_latents", 8);
  bf16.set("filename_prefix", "m/audio_bf16").set("bf16", true).set("threads", threadsBefore + 1);
  std::vector<int> during;  // the count where the trainer reports its steps
  bf16.onProgress = [&](std::string_view message) {
    if (message.rfind("step ", 0) == 0) during.push_back(at::get_num_threads());
  };
  run("presence.train_audio_vae", bf16);
  ASSERT_FALSE(during.empty());
  for (int n : during) EXPECT_EQ(n, threadsBefore + 1);
  EXPECT_EQ(at::get_num_threads(), threadsBefore);
  // The refusal comes from the thread the training runs on, and still names the parameter.
  FakeContext resumedF32 = context("presence.train_audio_vae");
  resumedF32.set("folder", (root_ / "mixed").string()).set("preset", "tiny").set("iterations", 2).set("crop_latents", 8);
  resumedF32.set("filename_prefix", "m/audio_bf16").set("threads", threadsBefore + 1);
  const std::string bf16Msg = failure("presence.train_audio_vae", resumedF32);
  EXPECT_EQ(bf16Msg.rfind("bf16: checkpoint ", 0), 0u) << bf16Msg;
  EXPECT_NE(bf16Msg.find("trained with bf16 autocast on"), std::string::npos) << bf16Msg;

  FakeContext tok = context("presence.train_tokenizer");
  tok.set("folder", (root_ / "nothing-here").string());
  EXPECT_EQ(failure("presence.train_tokenizer", tok).rfind("folder: ", 0), 0u);

  FakeContext load = context("presence.load_model");
  load.set("preset", "tiny").link("video_vae_checkpoint_file", Value::make(types::Path, (out.path() / "none.safetensors").string()));
  const std::string loadMsg = failure("presence.load_model", load);
  EXPECT_NE(loadMsg.find("video_vae_checkpoint_file"), std::string::npos) << loadMsg;
}

TEST_F(TrainNodes, SavedModelLoadsBackWithTheTrainedWeights) {
  FakeContext trained = stage("presence.train_stage2", dataset("mixed"), 2, "s2save");
  FakeContext save = context("presence.save_model");
  save.link("model", trained.outputs.at("model")).set("filename_prefix", "m/dit").set("dtype", "f32");
  run("presence.save_model", save);
  const std::string file = save.outputs.at("path").as<std::string>();
  FakeContext load = context("presence.load_model");
  load.set("preset", "tiny").set("device", "cpu").set("dtype", "f32").set("dit_checkpoint", file);
  run("presence.load_model", load);
  // A trained DiT on seeded encoders is not reported as an untrained model.
  std::string logged;
  for (const auto& l : load.logs) logged += l + "\n";
  EXPECT_EQ(logged.find("RANDOM WEIGHTS"), std::string::npos) << logged;
  EXPECT_NE(logged.find("seeded random, frozen (seed 0): text video_vae audio_vae"), std::string::npos) << logged;
  const auto& a = trained.outputs.at("model").as<models::generation::ModelHandle>().model->dit()->weights();
  const auto& b = load.outputs.at("model").as<models::generation::ModelHandle>().model->dit()->weights();
  int compared = 0;
  for (const auto& name : a.names()) {
    EXPECT_TRUE(at::equal(a.get(name).to(at::kFloat), b.get(name).to(at::kFloat))) << name;
    ++compared;
  }
  EXPECT_GT(compared, 10);
  // Training changed them: they differ from the untrained model's.
  const auto& base = model().as<models::generation::ModelHandle>().model->dit()->weights();
  bool changed = false;
  for (const auto& name : a.names()) changed = changed || !at::equal(a.get(name), base.get(name));
  EXPECT_TRUE(changed);
}

// Rerunning a graph resumes a stage only when its input model is the one its checkpoints started
// from; after an upstream change the stage says so and names checkpoint_prefix.
TEST_F(TrainNodes, AStageRefusesCheckpointsOfAnotherInputModel) {
  const Value ds = dataset("mixed");
  FakeContext first = stage("presence.train_stage2", ds, 2, "s2from");
  FakeContext again = stage("presence.train_stage2", ds, 3, "s2from");
  std::string logged;
  for (const auto& l : again.logs) logged += l + "\n";
  EXPECT_NE(logged.find("resumed from step 2"), std::string::npos) << logged;

  FakeContext other = context("presence.train_stage2");
  other.link("model", first.outputs.at("model")).link("dataset", ds);
  other.set("iterations", 4).set("checkpoint_prefix", "s2from").set("seed", 5);
  const std::string msg = failure("presence.train_stage2", other);
  EXPECT_EQ(msg.rfind("checkpoint_prefix: ", 0), 0u) << msg;
  EXPECT_NE(msg.find("started from other weights"), std::string::npos) << msg;
  EXPECT_FALSE(fs::exists(out.path() / "s2from" / "step-00000004"));
}

// The end-of-stage reference check: paired validation losses of the references' tower with each
// clip's own references, another identity's, and the two subjects' exchanged, at fixed noise
// levels; in the log and in reference_check.json.
TEST_F(TrainNodes, ReferenceCheckComparesOwnOtherAndExchangedReferences) {
  FakeContext ctx = stage("presence.train_stage2", dataset("pairs"), 1, "s2check");
  const fs::path file = out.path() / "s2check" / "reference_check.json";
  const auto& files = ctx.outputs.at("files").as<FileList>().paths;
  EXPECT_NE(std::find(files.begin(), files.end(), file.string()), files.end());
  std::ifstream in(file);
  const auto j = nlohmann::json::parse(in);
  for (const char* kind : {"faces", "voices"}) {
    SCOPED_TRACE(kind);
    ASSERT_TRUE(j.contains(kind)) << j.dump();
    const auto& k = j.at(kind);
    EXPECT_GE(k.at("clips").get<int>(), 1);
    EXPECT_GE(k.at("two_subject_clips").get<int>(), 1);
    // Other references change the model's predictions, so the paired losses differ.
    EXPECT_NE(k.at("other_identity").get<double>(), k.at("own").get<double>());
    EXPECT_NE(k.at("exchanged").get<double>(), k.at("own_two_subject").get<double>());
    EXPECT_DOUBLE_EQ(k.at("identity_gain").get<double>(), k.at("other_identity").get<double>() - k.at("own").get<double>());
    EXPECT_DOUBLE_EQ(k.at("binding_gain").get<double>(),
                     k.at("exchanged").get<double>() - k.at("own_two_subject").get<double>());
    // The tower the references condition, at every noise level; the headline is their mean.
    EXPECT_EQ(k.at("tower_loss"), std::string(kind) == "faces" ? "video" : "audio");
    const auto own = k.at("own_by_level").get<std::vector<double>>();
    const auto other = k.at("other_identity_by_level").get<std::vector<double>>();
    const auto gain = k.at("identity_gain_by_level").get<std::vector<double>>();
    ASSERT_EQ(own.size(), j.at("noise_levels").size());
    ASSERT_EQ(other.size(), own.size());
    ASSERT_EQ(gain.size(), own.size());
    EXPECT_EQ(k.at("binding_gain_by_level").size(), own.size());
    double mean = 0.0;
    for (std::size_t l = 0; l < own.size(); ++l) {
      mean += own[l] / static_cast<double>(own.size());
      EXPECT_DOUBLE_EQ(gain[l], other[l] - own[l]) << l;
      if (l > 0) {
        EXPECT_NE(own[l], own[l - 1]) << "the levels are evaluated apart";
      }
    }
    EXPECT_NEAR(k.at("own").get<double>(), mean, 1e-12);
  }
  EXPECT_EQ(j.at("noise_levels").get<std::vector<double>>(), (std::vector<double>{0.25, 0.5, 0.75, 1.0}));
  // The colour variant: the validation clips hue-turned with their turned face references against
  // the original ones; faces only.
  const auto& faces = j.at("faces");
  EXPECT_GE(faces.at("recoloured_clips").get<int>(), 1);
  EXPECT_DOUBLE_EQ(faces.at("hue_turn_degrees").get<double>(), 120.0);
  EXPECT_NE(faces.at("recoloured_own").get<double>(), faces.at("own").get<double>()) << "the clips are turned";
  EXPECT_NE(faces.at("recoloured_original_references").get<double>(), faces.at("recoloured_own").get<double>());
  EXPECT_DOUBLE_EQ(faces.at("colour_gain").get<double>(),
                   faces.at("recoloured_original_references").get<double>() - faces.at("recoloured_own").get<double>());
  EXPECT_EQ(faces.at("colour_gain_by_level").size(), j.at("noise_levels").size());
  EXPECT_FALSE(j.at("voices").contains("colour_gain"));
  std::string logged;
  for (const auto& l : ctx.logs) logged += l + "\n";
  EXPECT_NE(logged.find("reference check, faces: video loss with own references"), std::string::npos) << logged;
  EXPECT_NE(logged.find("by noise level 0.25: "), std::string::npos) << logged;
  EXPECT_NE(logged.find("reference check, voices:"), std::string::npos) << logged;
  EXPECT_NE(logged.find("clips hue-turned by 120 degrees with their turned references"), std::string::npos) << logged;

  // A dataset loaded without the turned pictures has no colour variant.
  FakeContext load = context("presence.load_dataset");
  load.set("folder", (root_ / "pairs").string()).set("check_hue_turn", 0).link("model", model());
  run("presence.load_dataset", load);
  stage("presence.train_stage2", load.outputs.at("dataset"), 1, "s2nocolour");
  std::ifstream plainIn(out.path() / "s2nocolour" / "reference_check.json");
  const auto plain = nlohmann::json::parse(plainIn);
  EXPECT_FALSE(plain.at("faces").contains("colour_gain")) << plain.dump();
  EXPECT_TRUE(plain.at("faces").contains("identity_gain")) << plain.dump();
}

// Sharded saving keeps every tracked file small (the default model's DiT is committed this way)
// and loads back through its index; a second save into the same folder leaves one checkpoint there.
TEST_F(TrainNodes, ShardedSaveLoadsBackThroughItsIndex) {
  FakeContext trained = stage("presence.train_stage2", dataset("mixed"), 2, "s2shard");
  const auto& a = trained.outputs.at("model").as<models::generation::ModelHandle>().model->dit()->weights();
  auto save = [&](int maxShardMb) {
    FakeContext ctx = context("presence.save_model");
    ctx.link("model", trained.outputs.at("model")).set("filename_prefix", "m/dit").set("dtype", "f32");
    ctx.set("max_shard_mb", static_cast<std::int64_t>(maxShardMb));
    run("presence.save_model", ctx);
    return ctx;
  };
  FakeContext small = save(1);
  const fs::path index = small.outputs.at("path").as<std::string>();
  EXPECT_EQ(index.filename(), "model.safetensors.index.json");
  const auto& written = small.outputs.at("files").as<FileList>().paths;
  ASSERT_GE(written.size(), 3u);  // the index and at least two shards: the tiny DiT is over 1 MiB in f32
  for (const auto& file : written) {
    if (fs::path(file).extension() == ".safetensors") {
      EXPECT_LE(fs::file_size(file), (1u << 20) + 65536) << file;
    }
  }

  FakeContext load = context("presence.load_model");
  load.set("preset", "tiny").set("device", "cpu").set("dtype", "f32").set("dit_checkpoint", index.string());
  run("presence.load_model", load);
  const auto& b = load.outputs.at("model").as<models::generation::ModelHandle>().model->dit()->weights();
  for (const auto& name : a.names()) EXPECT_TRUE(at::equal(a.get(name), b.get(name).to(at::kFloat))) << name;

  // Larger shards, same folder: fewer shards, and none of the first save's left behind.
  FakeContext large = save(64);
  const auto& again = large.outputs.at("files").as<FileList>().paths;
  EXPECT_EQ(again.size(), 2u);
  std::set<std::string> entries;
  for (const auto& e : fs::directory_iterator(index.parent_path())) entries.insert(e.path().string());
  EXPECT_EQ(entries, std::set<std::string>(again.begin(), again.end()));
}

}  // namespace
}  // namespace presence::nodes::train
