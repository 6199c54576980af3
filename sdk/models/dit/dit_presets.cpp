#include "presence/models/dit/dit_presets.hpp"

#include "presence/core/error.hpp"

namespace presence::models::dit {
namespace {

// The public Ovi / Identity-as-Presence towers (MODEL.md): Wan2.2-TI2V-5B shape.
DitConfig fullSize(const std::string& name, bool prime) {
  DitConfig c;
  c.name = name;
  c.video.prefix = "video_model";
  c.video.patchEmbedding = PatchEmbedding::Conv3d;
  c.video.patchSize = {1, 2, 2};
  c.video.inDim = c.video.outDim = 48;
  c.audio = c.video;
  c.audio.prefix = "audio_model";
  c.audio.patchEmbedding = PatchEmbedding::ConvMlp1d;
  c.audio.patchSize = {1, 1, 1};
  c.audio.inDim = c.audio.outDim = 20;
  c.audio.temporalRopeScale = 0.19676;
  c.video.primeWeightsStored = c.audio.primeWeightsStored = prime;
  c.video.primeWeightsUsed = prime;  // the released audio tower reuses its ordinary weights
  c.identity.maxSubjects = prime ? 4 : 0;
  c.weightDtype = "bf16";
  c.cpuComputeDtype = "bf16";
  return c;
}

DitConfig scaled(const std::string& name, int64_t dim, int64_t heads, int64_t ffn, int64_t layers, int64_t textDim,
                 int64_t textLen, int64_t freqDim, int64_t videoIn, int64_t audioIn, int64_t multipleOf) {
  DitConfig c = fullSize(name, true);
  for (TowerConfig* t : {&c.video, &c.audio}) {
    t->dim = dim;
    t->numHeads = heads;
    t->ffnDim = ffn;
    t->numLayers = layers;
    t->textDim = textDim;
    t->textLen = textLen;
    t->freqDim = freqDim;
    t->convMlpMultipleOf = multipleOf;
  }
  c.video.inDim = c.video.outDim = videoIn;
  c.audio.inDim = c.audio.outDim = audioIn;
  // Our own models: the audio tower reuses its ordinary weights for references, as released,
  // so it does not carry unused `_prime` copies.
  c.audio.primeWeightsStored = false;
  c.identity.maxSubjects = 4;
  c.identity.audioReferenceOffset = 64;
  c.weightDtype = "f32";
  c.cpuComputeDtype = "f32";
  return c;
}

}  // namespace

std::vector<std::string> presetNames() { return {"iap", "ovi", "small", "tiny"}; }

std::string presetSummary(const std::string& name) {
  if (name == "iap") return "Identity-as-Presence, public shapes and names (2 x 30 blocks, dim 3072, bf16)";
  if (name == "ovi") return "Ovi fusion model, public shapes and names, no _prime weights (bf16)";
  if (name == "small") return "same architecture, sized to train the built-in model on a CPU (dim 256, 4 blocks)";
  if (name == "tiny") return "same architecture, for unit tests (dim 64, 2 blocks)";
  throw core::InputError("unknown DiT preset '" + name + "'");
}

DitConfig preset(const std::string& name) {
  if (name == "iap") return fullSize("iap", true);
  if (name == "ovi") return fullSize("ovi", false);
  if (name == "small") return scaled("small", 256, 4, 1024, 4, 256, 256, 256, 16, 20, 256);
  if (name == "tiny") return scaled("tiny", 64, 2, 128, 2, 32, 32, 32, 4, 20, 32);
  std::string known;
  for (const auto& n : presetNames()) known += (known.empty() ? "" : ", ") + n;
  throw core::InputError("unknown DiT preset '" + name + "' (known: " + known + ")");
}

}  // namespace presence::models::dit
