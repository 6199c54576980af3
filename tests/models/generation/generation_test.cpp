// The generation model (tiny preset on seeded random weights) and one generation end to end:
// sharing through the model cache, refusals, same seed same bits, shapes and durations.
#include "presence/models/generation/generation.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "presence/core/error.hpp"
#include "presence/models/video/wan_video_vae.hpp"
#include "presence/runtime/safetensors_writer.hpp"

namespace presence::models::generation {
namespace {

namespace fs = std::filesystem;

GenerationModelSpec tinySpec(uint64_t seed = 0) {
  GenerationModelSpec spec;
  spec.preset = "tiny";
  spec.device = "cpu";
  spec.seed = seed;
  return spec;
}

GenerationSettings tinySettings(uint64_t seed) {
  GenerationSettings s;
  s.width = 64;
  s.height = 64;
  s.frames = 9;
  s.fps = 24.0;
  s.seed = seed;
  s.sampler.steps = 3;
  s.sampler.skipLayers = {1};
  return s;
}

// A face of 64 x 64 and 1.5 s of a tone, encoded as one subject.
IdentitySet oneSubject(const GenerationModel& model) {
  SubjectReference s;
  s.slot = 0;
  s.name = "subject 1";
  s.face = model.encodeFrames(at::rand({1, 64, 64, 3}, at::make_generator<at::CPUGeneratorImpl>(5)));
  const auto t = at::arange(24000, at::kFloat) / 16000.0;
  s.voice = model.encodeWaveform(at::sin(t * 2 * M_PI * 220.0) * 0.5);
  IdentitySet set;
  set.modelKey = model.key();
  return set.with(s, model.maxSubjects());
}

struct Generation : ::testing::Test {
  runtime::ModelCache cache;
  std::shared_ptr<GenerationModel> model = loadGenerationModel(tinySpec(), cache);
};

TEST_F(Generation, LoadsOnceAndSaysTheWeightsAreRandom) {
  auto again = loadGenerationModel(tinySpec(), cache);
  EXPECT_EQ(again.get(), model.get());
  EXPECT_EQ(cache.stats().loads, 1u);
  auto other = loadGenerationModel(tinySpec(7), cache);
  EXPECT_NE(other.get(), model.get());
  EXPECT_NE(other->key(), model->key());
  EXPECT_EQ(model->randomComponents(), (std::vector<std::string>{"dit", "text", "video_vae", "audio_vae"}));
  EXPECT_NE(model->describe().find("RANDOM WEIGHTS"), std::string::npos);
  EXPECT_EQ(model->sizeMultiple(), 32);
  EXPECT_EQ(model->videoLatentChannels(), model->ditConfig().video.inDim);
  EXPECT_GT(model->bytes(), 0u);
}

TEST_F(Generation, RefusesWhatCannotLoad) {
  auto message = [&](const GenerationModelSpec& spec) -> std::string {
    try {
      loadGenerationModel(spec, cache);
    } catch (const core::InputError& e) {
      return e.what();
    }
    return "(loaded)";
  };
  GenerationModelSpec spec = tinySpec();
  spec.preset = "iap";
  EXPECT_NE(message(spec).find("dit: preset 'iap' has public sizes and needs its checkpoint"), std::string::npos)
      << message(spec);
  spec = tinySpec();
  spec.preset = "huge";
  EXPECT_NE(message(spec).find("unknown generation preset 'huge'"), std::string::npos);
  spec = tinySpec();
  spec.videoVaeCheckpoint = "/nonexistent/vae.safetensors";
  EXPECT_NE(message(spec).find("video_vae: file not found: /nonexistent/vae.safetensors"), std::string::npos);

  // A video VAE checkpoint of another preset: the strict report names the component and a tensor.
  const fs::path dir = fs::temp_directory_path() / ("presence_generation_test_" + std::to_string(::getpid()));
  fs::create_directories(dir);
  const auto small = video::videoVaePreset("small");
  runtime::saveSafetensors(dir / "vae.safetensors", video::WanVideoVae::randomStateDict(small, 1));
  spec = tinySpec();
  spec.videoVaeCheckpoint = dir / "vae.safetensors";
  const std::string mismatch = message(spec);
  EXPECT_EQ(mismatch.rfind("video_vae: ", 0), 0u) << mismatch;
  EXPECT_NE(mismatch.find("encoder."), std::string::npos) << mismatch;
  fs::remove_all(dir);
}

TEST_F(Generation, SameSeedSameBitsAndTheClipHasItsDuration) {
  const EncodedCaption caption = encodeCaption(*model, "Subject 1 says: <S>Hello.<E>", "blur", "muffled");
  EXPECT_EQ(caption.prompt.embeddings.size(0), 1);
  EXPECT_LE(caption.promptTokens, model->textLength());
  const IdentitySet ids = oneSubject(*model);

  int steps = 0;
  GenerationReport report;
  const GeneratedLatents a =
      generate(*model, caption, ids, tinySettings(3), [&](const sampling::StepInfo&) { ++steps; }, nullptr, &report);
  EXPECT_EQ(steps, 3);
  EXPECT_EQ(report.forwardPasses, 6);  // two guidance passes a step
  // Reference keys and values computed once per tower and pass: the positive pass's faces and voices,
  // the negative pass's faces (it skips block 1 and drops the voices); read from the cache after.
  EXPECT_EQ(report.referenceCacheMisses, 3);
  EXPECT_EQ(report.referenceCacheHits, 6);
  const GeneratedLatents b = generate(*model, caption, ids, tinySettings(3));
  const GeneratedLatents c = generate(*model, caption, ids, tinySettings(4));
  EXPECT_TRUE(at::equal(a.latent.video, b.latent.video));
  EXPECT_TRUE(at::equal(a.latent.audio, b.latent.audio));
  EXPECT_FALSE(at::allclose(a.latent.video, c.latent.video));

  // 9 frames of 64 x 64: 3 latent frames of 4 x 4; 0.375 s of audio latents.
  EXPECT_EQ(a.latent.video.sizes(), (std::vector<int64_t>{1, model->videoLatentChannels(), 3, 4, 4}));
  EXPECT_EQ(a.latent.audio.size(1), model->audioLatentLength(9.0 / 24.0));

  const DecodedClip clip = decode(*model, a);
  EXPECT_EQ(clip.frames.sizes(), (std::vector<int64_t>{9, 64, 64, 3}));
  EXPECT_GE(clip.frames.min().item<float>(), 0.0f);
  EXPECT_LE(clip.frames.max().item<float>(), 1.0f);
  EXPECT_EQ(clip.waveform.size(0), 6000);  // 9 / 24 s at 16 kHz
  EXPECT_EQ(clip.sampleRate, 16000);
}

TEST_F(Generation, EncodeIsWhatDecodeInverts) {
  // 9 frames of 64 x 64 and a tone of 0.5 s: the sound is cut to the frames' 0.375 s.
  const at::Tensor frames = at::rand({9, 64, 64, 3}, at::make_generator<at::CPUGeneratorImpl>(2));
  const at::Tensor tone = at::sin(at::arange(8000, at::kFloat) / 16000.0 * 2 * M_PI * 220.0) * 0.5;
  const GeneratedLatents latents = encode(*model, frames, 24.0, tone);
  EXPECT_EQ(latents.frames, 9);
  EXPECT_EQ(latents.latent.video.sizes(), (std::vector<int64_t>{1, model->videoLatentChannels(), 3, 4, 4}));
  EXPECT_TRUE(at::equal(latents.latent.audio, model->encodeWaveform(tone.narrow(0, 0, 6000))));
  const DecodedClip clip = decode(*model, latents);
  EXPECT_EQ(clip.frames.sizes(), (std::vector<int64_t>{9, 64, 64, 3}));
  EXPECT_EQ(clip.waveform.size(0), 6000);
  // A short sound is padded with silence to the frames' duration.
  EXPECT_TRUE(at::equal(encode(*model, frames, 24.0, tone.narrow(0, 0, 4000)).latent.audio,
                        model->encodeWaveform(at::constant_pad_nd(tone.narrow(0, 0, 4000), {0, 2000}))));
  EXPECT_FALSE(encode(*model, frames, 24.0, at::Tensor()).latent.hasAudio());

  EXPECT_EQ(framesAtMost(*model, 12), 9);
  EXPECT_EQ(framesAtMost(*model, 1), 1);
  EXPECT_EQ(framesAtMost(*model, 0), 0);
  EXPECT_THROW(encode(*model, frames.narrow(0, 0, 8), 24.0, tone), core::InputError);
  EXPECT_THROW(encode(*model, frames.narrow(1, 0, 48), 24.0, tone), core::InputError);
  EXPECT_THROW(encode(*model, frames, 0.0, tone), core::InputError);
  EXPECT_THROW(encode(*model, frames.select(3, 0), 24.0, tone), core::InputError);
}

TEST_F(Generation, ReferenceCacheGivesTheSameClip) {
  const EncodedCaption caption = encodeCaption(*model, "a person talks", "blur", "muffled");
  const IdentitySet ids = oneSubject(*model);
  GenerationSettings cached = tinySettings(9), uncached = tinySettings(9);
  uncached.referenceCache = false;
  const auto a = generate(*model, caption, ids, cached);
  const auto b = generate(*model, caption, ids, uncached);
  EXPECT_TRUE(at::allclose(a.latent.video, b.latent.video, 1e-4, 1e-4));
  EXPECT_TRUE(at::allclose(a.latent.audio, b.latent.audio, 1e-4, 1e-4));
}

TEST_F(Generation, RefusesMixedModelsAndBadSettings) {
  auto other = loadGenerationModel(tinySpec(11), cache);
  const EncodedCaption caption = encodeCaption(*other, "a person talks", "blur", "muffled");
  EXPECT_THROW(generate(*model, caption, {}, tinySettings(1)), core::InputError);
  EXPECT_THROW(encodeCaption(*model, "  ", "", ""), core::InputError);

  const EncodedCaption ours = encodeCaption(*model, "a person talks", "blur", "muffled");
  auto param = [&](GenerationSettings s) -> std::string {
    try {
      generate(*model, ours, {}, s);
    } catch (const core::ParamError& e) {
      return e.param();
    }
    return "";
  };
  GenerationSettings s = tinySettings(1);
  s.width = 48;
  EXPECT_EQ(param(s), "width");
  s = tinySettings(1);
  s.frames = 10;
  EXPECT_EQ(param(s), "frames");
  s = tinySettings(1);
  s.sampler.steps = 0;
  EXPECT_EQ(param(s), "steps");
  EXPECT_EQ(framesForDuration(*model, 2.0, 24.0), 49);
  EXPECT_EQ(framesForDuration(*model, 0.01, 24.0), 5);
}

}  // namespace
}  // namespace presence::models::generation
