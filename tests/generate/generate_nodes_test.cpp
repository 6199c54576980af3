// The generation nodes run directly: descriptors, the model shared by two loads, and every error
// path of identity_encode, caption_compose and the sampler named by node parameter or input.
#include <algorithm>
#include <cmath>

#include "fake_context.hpp"
#include "generate_test_util.hpp"
#include "media_io.hpp"
#include "presence/core/executor.hpp"
#include "presence/models/generation/payloads.hpp"
#include "test_util.hpp"

namespace presence::generate::testing {
namespace {

using presence::testing::FakeContext;
namespace gen = presence::models::generation;

struct GenerateNodes : ::testing::Test {
  media::testing::TempDir out;

  const NodeDescriptor& d(const std::string& id) { return *registry().find(id); }
  FakeContext context(const std::string& id) { return FakeContext(d(id), out.path(), out.path()); }
  void run(const std::string& id, FakeContext& ctx) { registry().create(id)->execute(ctx); }

  Value model() {
    FakeContext ctx = context("presence.load_model");
    ctx.set("preset", "tiny").set("device", "cpu");
    run("presence.load_model", ctx);
    return ctx.outputs.at("model");
  }
  static Value face(int side = 64) {
    ImageBatch img(1, side, side, 3);
    for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = static_cast<float>(i % 97) / 97.0f;
    return Value::make(types::Image, img);
  }
  static Value voice(double seconds, float amplitude) {
    Audio a;
    a.channels = 1;
    a.sampleRate = 22050;  // resampled by the node
    for (int i = 0; i < static_cast<int>(seconds * 22050); ++i)
      a.samples.push_back(amplitude * static_cast<float>(std::sin(2 * M_PI * 200.0 * i / 22050.0)));
    return Value::make(types::Audio, a);
  }
  std::string failure(const std::string& id, FakeContext& ctx) { return presence::testing::failureOf(registry(), id, ctx); }
};

TEST_F(GenerateNodes, DescriptorsAreCompleteAndTwoLoadsShareOneModel) {
  for (const char* id : {"presence.load_model", "presence.identity_encode", "presence.caption_compose",
                         "presence.sampler", "presence.vae_decode", "presence.vae_encode"}) {
    const NodeDescriptor* desc = registry().find(id);
    ASSERT_NE(desc, nullptr) << id;
    EXPECT_TRUE(checkDescriptor(*desc).empty()) << id;
    EXPECT_FALSE(desc->comfyName.empty()) << id;
    EXPECT_GT(desc->description.size(), 80u) << id;
  }
  const Value a = model(), b = model();
  EXPECT_EQ(a.as<gen::ModelHandle>().model.get(), b.as<gen::ModelHandle>().model.get());
  FakeContext ctx = context("presence.load_model");
  ctx.set("preset", "tiny").set("device", "cpu");
  run("presence.load_model", ctx);
  bool warned = false;
  for (const auto& line : ctx.logs) warned = warned || line.find("RANDOM WEIGHTS") != std::string::npos;
  EXPECT_TRUE(warned);
}

TEST_F(GenerateNodes, LoadModelNamesTheMissingFileAndThePublicPresetsNeeds) {
  FakeContext ctx = context("presence.load_model");
  ctx.set("preset", "tiny").set("dit_checkpoint", "missing.safetensors");
  EXPECT_NE(failure("presence.load_model", ctx).find("dit_checkpoint: file not found"), std::string::npos);
  FakeContext iap = context("presence.load_model");
  iap.set("preset", "iap").set("device", "cpu");
  EXPECT_NE(failure("presence.load_model", iap).find("preset: dit: preset 'iap' has public sizes"), std::string::npos)
      << failure("presence.load_model", iap);
}

TEST_F(GenerateNodes, IdentityEncodeChainsSubjectsAndRefusesBadReferences) {
  const Value m = model();
  FakeContext first = context("presence.identity_encode");
  first.link("model", m).link("face", face()).link("voice", voice(1.5, 0.5)).set("reference_size", 64);
  run("presence.identity_encode", first);
  const auto& one = first.outputs.at("identities").as<gen::IdentitySet>();
  ASSERT_EQ(one.subjects.size(), 1u);
  EXPECT_EQ(one.subjects[0].slot, 0);
  EXPECT_EQ(one.subjects[0].face.size(2), 1);  // one latent frame
  EXPECT_NEAR(one.subjects[0].voiceSeconds, 1.5, 1e-3);

  FakeContext second = context("presence.identity_encode");
  second.link("model", m).link("identities", first.outputs.at("identities")).link("voice", voice(2.0, 0.3));
  run("presence.identity_encode", second);
  const auto& two = second.outputs.at("identities").as<gen::IdentitySet>();
  ASSERT_EQ(two.subjects.size(), 2u);
  EXPECT_EQ(two.subjects[1].slot, 1);  // automatic: the next free slot
  EXPECT_FALSE(two.subjects[1].face.defined());  // voice only

  auto fresh = [&] {
    FakeContext c = context("presence.identity_encode");
    c.link("model", m).set("reference_size", 64);
    return c;
  };
  FakeContext none = fresh();
  EXPECT_NE(failure("presence.identity_encode", none).find("neither 'face' nor 'voice'"), std::string::npos);
  FakeContext empty = fresh();
  empty.link("face", Value::make(types::Image, ImageBatch{}));
  EXPECT_EQ(failure("presence.identity_encode", empty), "input: input 'face' is an empty image");
  FakeContext silent = fresh();
  silent.link("voice", voice(2.0, 0.0f));
  EXPECT_NE(failure("presence.identity_encode", silent).find("input 'voice' is silent"), std::string::npos);
  FakeContext shortVoice = fresh();
  shortVoice.link("voice", voice(0.4, 0.5f));
  EXPECT_NE(failure("presence.identity_encode", shortVoice).find("shorter than min_voice_seconds"), std::string::npos);
  FakeContext badSize = fresh();
  badSize.link("face", face()).set("reference_size", 48);
  EXPECT_NE(failure("presence.identity_encode", badSize).find("reference_size: 48 is not a multiple of 32"),
            std::string::npos);
  FakeContext taken = fresh();
  taken.link("identities", first.outputs.at("identities")).link("face", face()).set("slot", 0);
  const std::string takenMessage = failure("presence.identity_encode", taken);
  EXPECT_EQ(takenMessage.rfind("slot: ", 0), 0u) << takenMessage;
  EXPECT_NE(takenMessage.find("identity slot 0 is already taken"), std::string::npos) << takenMessage;
  FakeContext outside = fresh();
  outside.link("face", face()).set("slot", 4);
  EXPECT_NE(failure("presence.identity_encode", outside).find("slot: 4 is outside the model's 4 identity slots"),
            std::string::npos);

  // A fifth subject for a model with four slots.
  Value chain = second.outputs.at("identities");
  for (int k = 0; k < 2; ++k) {
    FakeContext more = fresh();
    more.link("identities", chain).link("face", face());
    run("presence.identity_encode", more);
    chain = more.outputs.at("identities");
  }
  FakeContext fifth = fresh();
  fifth.link("identities", chain).link("face", face());
  EXPECT_NE(failure("presence.identity_encode", fifth).find("already use all of them"), std::string::npos);
}

TEST_F(GenerateNodes, IdentityEncodeRepeatsAPhotoIntoTheGridMinViewsAsksFor) {
  const Value m = model();
  auto encode = [&](const Value& image, int64_t minViews) {
    FakeContext ctx = context("presence.identity_encode");
    ctx.link("model", m).link("face", image).set("reference_size", 64).set("min_views", minViews);
    run("presence.identity_encode", ctx);
    return ctx.outputs.at("identities").as<gen::IdentitySet>().subjects.at(0).face;
  };
  // The same photo given three times, packed as three views.
  const ImageBatch photo = face().as<ImageBatch>();
  ImageBatch three(3, photo.height, photo.width, photo.channels);
  for (int i = 0; i < 3; ++i) std::copy_n(photo.frame(0), photo.frameSize(), three.frame(i));
  const at::Tensor asGiven = encode(Value::make(types::Image, three), 1);

  const at::Tensor repeated = encode(face(), 3);
  EXPECT_TRUE(at::equal(repeated, asGiven));
  const at::Tensor single = encode(face(), 1);  // centre-cropped: another picture
  ASSERT_EQ(single.sizes(), repeated.sizes());
  EXPECT_FALSE(at::allclose(single, repeated));
  // Views already at least min_views are left as they are.
  EXPECT_TRUE(at::equal(encode(Value::make(types::Image, three), 2), asGiven));
}

TEST_F(GenerateNodes, CaptionComposeBindsSubjectsToIdentitySlots) {
  const Value m = model();
  FakeContext faces = context("presence.identity_encode");
  faces.link("model", m).link("face", face()).set("slot", 2).set("reference_size", 64);
  run("presence.identity_encode", faces);

  FakeContext ctx = context("presence.caption_compose");
  ctx.link("model", m).link("identities", faces.outputs.at("identities"));
  ctx.set("scene", "a room").set("subject1_speech", "Hello there.\nBye.");
  run("presence.caption_compose", ctx);
  const std::string text = ctx.outputs.at("text").as<std::string>();
  EXPECT_EQ(text, "A room. Subject 3 says: <S>Hello there.<E> Subject 3 says: <S>Bye.<E>");
  const auto& caption = ctx.outputs.at("caption").as<gen::EncodedCaption>();
  EXPECT_EQ(caption.text, text);
  EXPECT_EQ(caption.negativeVideoText, gen::kDefaultVideoNegative);

  FakeContext placed = context("presence.caption_compose");
  placed.link("model", m).link("identities", faces.outputs.at("identities"));
  placed.set("subject1_position", "right").set("subject1_appearance", "a man");
  run("presence.caption_compose", placed);
  EXPECT_EQ(placed.outputs.at("text").as<std::string>(), "Subject 3, on the right, a man.");
  placed.set("subject1_position", "above");
  EXPECT_NE(failure("presence.caption_compose", placed).find("subject1_position: unknown position 'above'"),
            std::string::npos);

  FakeContext tooMany = context("presence.caption_compose");
  tooMany.link("model", m).link("identities", faces.outputs.at("identities")).set("subject2_appearance", "a man");
  EXPECT_NE(failure("presence.caption_compose", tooMany).find("subject2_appearance: subject 2 is described"),
            std::string::npos);
  FakeContext empty = context("presence.caption_compose");
  empty.link("model", m);
  EXPECT_NE(failure("presence.caption_compose", empty).find("scene: the caption is empty"), std::string::npos);
}

TEST_F(GenerateNodes, SamplerNamesBadParameters) {
  const Value m = model();
  FakeContext cap = context("presence.caption_compose");
  cap.link("model", m).set("scene", "a room");
  run("presence.caption_compose", cap);
  auto sampler = [&] {
    FakeContext c = context("presence.sampler");
    c.link("model", m).link("caption", cap.outputs.at("caption")).set("width", 64).set("height", 64);
    c.set("steps", 1).set("duration", 0.2);
    return c;
  };
  FakeContext width = sampler();
  width.set("width", 80);
  EXPECT_NE(failure("presence.sampler", width).find("width: 80 is not a positive multiple of 32"), std::string::npos);
  FakeContext frames = sampler();
  frames.set("frames", 10);
  EXPECT_NE(failure("presence.sampler", frames).find("frames: 10 frames"), std::string::npos);
  FakeContext skip = sampler();
  skip.set("skip_layers", "7");
  EXPECT_NE(failure("presence.sampler", skip).find("skip_layers: block 7 does not exist"), std::string::npos);
  skip.set("skip_layers", "x");
  EXPECT_NE(failure("presence.sampler", skip).find("skip_layers: 'x' is not a block index"), std::string::npos);
  FakeContext good = sampler();
  run("presence.sampler", good);
  const auto& latents = good.outputs.at("latent").as<gen::GeneratedLatents>();
  EXPECT_EQ(latents.frames, 5);  // 0.2 s at 24 fps rounds to the shortest valid clip

  FakeContext cancelled = sampler();
  cancelled.cancel = true;
  EXPECT_THROW(run("presence.sampler", cancelled), Cancelled);
  EXPECT_TRUE(cancelled.outputs.empty());
}

TEST_F(GenerateNodes, VaeEncodeIsTheInverseVaeDecodeReadsAndNamesBadFrames) {
  const Value m = model();
  const auto& handle = m.as<gen::ModelHandle>();
  // 15 frames of 70 x 66 at 24 fps with 0.8 s of sound at 22.05 kHz.
  Video clip;
  clip.fps = 24.0;
  clip.frames = ImageBatch(15, 66, 70, 3);
  for (size_t i = 0; i < clip.frames.pixels.size(); ++i) clip.frames.pixels[i] = static_cast<float>(i % 89) / 89.0f;
  clip.audio = voice(0.8, 0.5).as<Audio>();
  FakeContext enc = context("presence.vae_encode");
  enc.link("model", m).link("video", Value::make(types::Video, clip));
  run("presence.vae_encode", enc);
  const auto& latents = enc.outputs.at("latent").as<gen::GeneratedLatents>();
  // The longest valid frame count (1 + 4k) and the centred 64 x 64 crop of whole tokens, encoded
  // exactly as the model's video VAE encodes them.
  EXPECT_EQ(latents.frames, 13);
  EXPECT_EQ(latents.width, 64);
  EXPECT_EQ(latents.height, 64);
  EXPECT_DOUBLE_EQ(latents.fps, 24.0);
  const ImageBatch crop = media::centerCrop(clip.frames, 64, 64);
  at::Tensor pixels = at::empty({13, 64, 64, 3}, at::kFloat);
  std::copy_n(crop.pixels.begin(), pixels.numel(), pixels.data_ptr<float>());
  EXPECT_TRUE(at::equal(latents.latent.video, handle.model->encodeFrames(pixels).to(at::kFloat)));
  ASSERT_TRUE(latents.latent.hasAudio());
  EXPECT_EQ(latents.latent.audio.size(2), handle.model->audioLatentChannels());

  // vae_decode turns it back into 13 frames of 64 x 64 and the sound of their duration.
  FakeContext dec = context("presence.vae_decode");
  dec.link("model", m).link("latent", enc.outputs.at("latent"));
  run("presence.vae_decode", dec);
  const auto& video = dec.outputs.at("video").as<Video>();
  EXPECT_EQ(video.frames.count, 13);
  EXPECT_EQ(video.frames.width, 64);
  ASSERT_TRUE(video.audio.has_value());
  EXPECT_NEAR(video.audio->seconds(), 13.0 / 24.0, 1e-3);

  // Frames without sound, at the node's fps; an AUDIO input gives them sound.
  FakeContext image = context("presence.vae_encode");
  image.link("model", m).link("image", face()).set("fps", 12.0);
  run("presence.vae_encode", image);
  const auto& still = image.outputs.at("latent").as<gen::GeneratedLatents>();
  EXPECT_EQ(still.frames, 1);
  EXPECT_DOUBLE_EQ(still.fps, 12.0);
  EXPECT_FALSE(still.latent.hasAudio());
  image.link("audio", voice(0.5, 0.5));
  run("presence.vae_encode", image);
  EXPECT_TRUE(image.outputs.at("latent").as<gen::GeneratedLatents>().latent.hasAudio());

  auto fresh = [&] {
    FakeContext c = context("presence.vae_encode");
    c.link("model", m);
    return c;
  };
  FakeContext none = fresh();
  EXPECT_NE(failure("presence.vae_encode", none).find("exactly one of 'video' and 'image'"), std::string::npos);
  FakeContext both = fresh();
  both.link("video", Value::make(types::Video, clip)).link("image", face());
  EXPECT_NE(failure("presence.vae_encode", both).find("exactly one of 'video' and 'image'"), std::string::npos);
  FakeContext empty = fresh();
  empty.link("image", Value::make(types::Image, ImageBatch{}));
  EXPECT_NE(failure("presence.vae_encode", empty).find("input 'image' holds no frames"), std::string::npos);
  FakeContext tiny = fresh();
  tiny.link("image", face(16));
  EXPECT_NE(failure("presence.vae_encode", tiny).find("input 'image' is 16x16, smaller than one token (32 pixels)"),
            std::string::npos)
      << failure("presence.vae_encode", tiny);
}

}  // namespace
}  // namespace presence::generate::testing
