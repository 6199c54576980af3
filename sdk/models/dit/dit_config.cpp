#include "presence/models/dit/dit_config.hpp"

#include <string>

#include "presence/core/error.hpp"

namespace presence::models::dit {
namespace {

[[noreturn]] void fail(const std::string& where, const std::string& cause) {
  throw core::InputError("DiT config: " + where + ": " + cause);
}

void validateTower(const TowerConfig& t, const std::string& which) {
  auto positive = [&](int64_t v, const char* field) {
    if (v <= 0) fail(which + "." + field, "must be positive, got " + std::to_string(v));
  };
  positive(t.inDim, "in_dim");
  positive(t.outDim, "out_dim");
  positive(t.dim, "dim");
  positive(t.ffnDim, "ffn_dim");
  positive(t.freqDim, "freq_dim");
  positive(t.numHeads, "num_heads");
  positive(t.numLayers, "num_layers");
  positive(t.textDim, "text_dim");
  positive(t.textLen, "text_len");
  positive(t.convKernel, "conv_kernel");
  positive(t.convMlpMultipleOf, "conv_mlp_multiple_of");
  for (int64_t p : t.patchSize) positive(p, "patch_size");
  if (t.prefix.empty()) fail(which + ".prefix", "is empty");
  if (t.freqDim % 2 != 0) fail(which + ".freq_dim", "must be even, got " + std::to_string(t.freqDim));
  if (t.dim % t.numHeads != 0)
    fail(which + ".dim", std::to_string(t.dim) + " is not divisible by num_heads " + std::to_string(t.numHeads));
  if (t.headDim() % 2 != 0) fail(which + ".head_dim", "must be even for RoPE, got " + std::to_string(t.headDim()));
  if (t.isVideo() && t.ropeSpacePairs() < 1)
    fail(which + ".head_dim", "too small to split RoPE over time, height and width");
  if (!t.isVideo() && (t.patchSize != std::array<int64_t, 3>{1, 1, 1}))
    fail(which + ".patch_size", "an audio tower does not patchify; use (1, 1, 1)");
  if (!t.isVideo() && t.convKernel % 2 == 0)
    fail(which + ".conv_kernel", "must be odd so the sequence length is kept");
  if (t.primeWeightsUsed && !t.primeWeightsStored)
    fail(which + ".prime_weights_used", "needs prime_weights_stored");
  if (!(t.eps > 0)) fail(which + ".eps", "must be positive");
  if (!(t.temporalRopeScale > 0)) fail(which + ".temporal_rope_scale", "must be positive");
}

}  // namespace

int64_t TowerConfig::convMlpHidden() const {
  const int64_t hidden = (2 * 4 * dim) / 3;
  return convMlpMultipleOf * ((hidden + convMlpMultipleOf - 1) / convMlpMultipleOf);
}

void DitConfig::validate() const {
  if (name.empty()) fail("name", "is empty");
  validateTower(video, "video");
  validateTower(audio, "audio");
  if (!video.isVideo()) fail("video.patch_embedding", "the video tower needs a Conv3d patch embedding");
  if (audio.isVideo()) fail("audio.patch_embedding", "the audio tower needs a 1-D patch embedding");
  if (video.numLayers != audio.numLayers)
    fail("num_layers", "the towers must have equal depth for per-block fusion (video " +
                           std::to_string(video.numLayers) + ", audio " + std::to_string(audio.numLayers) + ")");
  if ((fusion || identity.maxSubjects > 0) && video.dim != audio.dim)
    fail("dim", "fusion and shared identity embeddings need equal tower widths (video " +
                    std::to_string(video.dim) + ", audio " + std::to_string(audio.dim) + ")");
  if (video.numHeads != audio.numHeads && fusion)
    fail("num_heads", "fusion attention needs equal head counts in both towers");
  if (identity.maxSubjects < 0) fail("identity.max_subjects", "must not be negative");
  if (identity.audioReferenceOffset < 0) fail("identity.audio_reference_offset", "must not be negative");
  for (const auto* d : {&weightDtype}) {
    if (*d != "bf16" && *d != "f32" && *d != "f16") fail("weight_dtype", "'" + *d + "' is not bf16, f16 or f32");
  }
  if (cpuComputeDtype != "f32" && cpuComputeDtype != "bf16")
    fail("cpu_compute_dtype", "'" + cpuComputeDtype + "' is not f32 or bf16");
}

}  // namespace presence::models::dit
