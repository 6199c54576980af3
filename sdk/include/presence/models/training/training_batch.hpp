// Training examples, the three training stages and the flow-matching loss (MODEL.md eq. 2).
//
// A TrainingBatch holds in-memory latents (the dataset reader produces them); the loss draws each
// sample's noise level and noise from its own seed, so a batch of 2 and two micro-batches of 1
// see the same randomness. Errors: presence::core::InputError naming the input and the rule.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "presence/models/dit/dual_tower_dit.hpp"
#include "presence/models/sampling/training.hpp"

namespace presence::models::training {

/// One (micro-)batch. Either latent may be undefined for a unimodal stage.
struct TrainingBatch {
  at::Tensor video;  ///< [B, Cv, F, H, W] clean video latents, or undefined
  at::Tensor audio;  ///< [B, L, Ca] clean audio latents (channel-last), or undefined
  at::Tensor text;   ///< [B, Lt, textDim] text-encoder output, fed to both towers
  std::vector<int64_t> textLengths;  ///< valid tokens per item; empty: all Lt
  dit::DitReferences references;     ///< faces / voices / identity slots, as at generation
  /// [B, 1, 1, H, W]: the share (0..1) of each video latent position inside a face box of its
  /// clip, for LossOptions::faceWeight; undefined when no clip's faces are located.
  at::Tensor faceCover;

  int64_t batchSize() const;
};

/// Paper section 3.4. Stage 1 trains one tower with the cross-modal fusion masked; stage 2 trains
/// everything jointly; stage 3 is stage 2 on multi-view reference batches (faces required) with
/// a tenth of the learning rate by default (defaultLearningRate).
enum class Stage { Stage1Audio, Stage1Video, Stage2Joint, Stage3MultiView };

/// "stage1-audio", "stage1-video", "stage2", "stage3".
std::string stageName(Stage stage);
/// The inverse; throws core::InputError listing the names.
Stage stageFromName(const std::string& name);
bool stageUsesVideo(Stage stage);
bool stageUsesAudio(Stage stage);
/// Fusion is masked (forward with fusion = false) in stage 1 only.
bool stageUsesFusion(Stage stage);
/// 1e-4 (MODEL.md) for stages 1 and 2, 1e-5 for the stage-3 fine-tune.
double defaultLearningRate(Stage stage);

/// The weights a stage trains, in manifest order. Stage 1: the stage's tower (prefix
/// "video_model." / "audio_model.") without its "_fusion" projections, plus the shared identity
/// table; the other tower and all fusion weights stay frozen. Stages 2 and 3: every weight.
std::vector<std::string> trainableParameterNames(const dit::DitWeights& weights, Stage stage);

/// Checks a batch against the model and the stage: ranks, channels, batch sizes, text width and
/// length, the towers the stage needs, faces for stage 3. `where` prefixes messages
/// ("micro-batch 1 of step 7"). Throws core::InputError.
void validateBatch(const dit::DitConfig& config, const TrainingBatch& batch, Stage stage, const std::string& where);

/// Trains the prediction classifier-free guidance subtracts. The sampler's negative pass
/// (MODEL.md "Sampling") gives each tower its negative prompt, drops the voice references and,
/// with negative_pass_faces 'drop', the face references; a model never trained on that input makes
/// guidance extrapolate from an arbitrary prediction. A micro-batch drawn for it (probability
/// `share`) is trained on that pass's inputs, without faces in `faceShare` of those. The block
/// that skip-layer guidance skips in that pass is not skipped here: it is a perturbation at
/// sampling time, not a conditioning to learn. The SDK default is off; the stage nodes' is 0.1.
struct GuidanceDropout {
  double share = 0.0;      ///< of micro-batches trained as the negative pass; 0: never
  double faceShare = 0.5;  ///< of those, also without the face references
  at::Tensor negativeVideo;  ///< [1, Ln, textDim] the video tower's negative prompt
  int64_t negativeVideoTokens = 0;
  at::Tensor negativeAudio;  ///< [1, Ln, textDim] the audio tower's negative prompt
  int64_t negativeAudioTokens = 0;
  /// The prompts' text, recorded in checkpoints and compared when a run resumes.
  std::string negativeVideoText, negativeAudioText;

  /// Throws core::InputError when a share is outside [0, 1], or share > 0 without both prompts,
  /// with a token count outside them, or with a width or length `config`'s towers do not take.
  void validate(const dit::DitConfig& config) const;
};

/// What one micro-batch is conditioned on.
enum class Conditioning { Full, NegativePass, NegativePassWithoutFaces };

/// The draw for the micro-batch whose first sample is `firstSample` of the step seeded `seed`:
/// a stream of its own, so the noise and noise levels are those of a run without dropout.
Conditioning drawConditioning(const GuidanceDropout& dropout, uint64_t seed, int64_t firstSample);

struct LossOptions {
  Stage stage = Stage::Stage2Joint;
  double audioWeight = 1.0;  ///< λ of eq. 2 (stage 2 and 3; stage 1 trains one tower)
  sampling::TrainingTimeSpec time;
  GuidanceDropout guidanceDropout;  ///< validation leaves it off
  /// Every sample at this noise level in [0, 1] instead of the level drawn per `time` (checks
  /// that compare conditionings level by level); the noise itself is drawn as without it.
  std::optional<double> sigma;
  /// Weight of the video loss at latent positions inside a face box (batch.faceCover, blended by
  /// its share) relative to the rest of the frame, > 0; the term stays a weighted mean, so 1 is
  /// the plain mean. Faces are a small part of a frame, and what the face references decide.
  double faceWeight = 1.0;
};

struct LossTerms {
  at::Tensor total;  ///< scalar: video + λ·audio (the stage's towers only)
  at::Tensor video;  ///< scalar mean over the video elements, or undefined
  at::Tensor audio;  ///< scalar mean over the audio elements, or undefined
};

/// Eq. 2 on one batch: for item i, sigma and noise are drawn from a generator seeded with
/// runtime::deriveSeed(seed, firstSample + i) (sigma, then video noise, then audio noise);
/// x_t = (1 − σ)x0 + σε, target ε − x0, per-tower means (the video's weighted by
/// options.faceWeight inside face boxes when the batch locates faces); the conditioning drawn by
/// drawConditioning(options.guidanceDropout, seed, firstSample). Differentiable.
LossTerms flowMatchingLoss(const dit::DualTowerDit& model, const TrainingBatch& batch, const LossOptions& options,
                           uint64_t seed, int64_t firstSample = 0);

}  // namespace presence::models::training
