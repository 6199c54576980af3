// Training the small video and audio VAEs (the paper reuses frozen public ones; the built-in model
// needs its own). Each is a VAE objective: reconstruction (L1) plus a weighted KL term of the
// encoder's diagonal Gaussian (optional terms: block colour for video, harmonic ripple for audio),
// AdamW, gradient clipping, atomic checkpoints that resume bit-identically (same draws from
// (seed, step)) and a loss history.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "presence/core/cancel_token.hpp"
#include "presence/models/audio/vae_config.hpp"
#include "presence/models/interfaces/video_vae.hpp"
#include "presence/models/training/adamw.hpp"
#include "presence/models/training/loss_curve.hpp"
#include "presence/models/video/video_vae_config.hpp"

namespace presence::models::training {

struct AutoencoderProgress {
  int64_t step = 0;  ///< steps completed
  int64_t totalSteps = 0;
  double loss = 0.0;
  double elapsedSeconds = 0.0;
  double etaSeconds = 0.0;
};

struct AutoencoderTrainOptions {
  AdamWOptions adam{3e-4, 0.9, 0.99, 1e-8, 0.0};
  int64_t steps = 500;
  int64_t batchSize = 4;       ///< crops per step
  double klWeight = 1e-3;      ///< weight of the KL term (per latent element) against the L1 term
  double maxGradNorm = 1.0;    ///< 0: no clipping
  uint64_t seed = 0;
  /// Video: crop side in pixels (a multiple of the spatial compression; 0: whole frames) and
  /// frames per crop (1 + k · temporal compression). Audio: crop length in latent frames.
  int64_t cropSize = 64;
  int64_t cropFrames = 5;
  int64_t cropLatents = 32;
  /// Audio: weight of an L1 term on the log-mel's steps from bin to bin below harmonicMaxHz, in
  /// units of the data's mean step there. That ripple is the harmonics that carry a voice's pitch;
  /// the plain L1 on the mel lets the decoder smooth it away (docs/models/default.md). 1 is the
  /// default model's setting; 0: off (the plain objective).
  double harmonicWeight = 1.0;
  double harmonicMaxHz = 1500.0;
  /// Video: weight of an L1 term on the means of colourBlock × colourBlock pixel blocks — the
  /// low-frequency colour that tells one face's skin and hair from another's, which the pixel L1
  /// weighs no more than any detail. 0: off.
  double colourWeight = 0.0;
  int64_t colourBlock = 8;
  /// Video: weight of an L1 term on the frame-to-frame change, in units of the data's mean change.
  /// What moves — a mouth opening, a head turning — is a small share of the pixels, and a latent
  /// frame spans four frames, so the pixel L1 lets the decoder hold a mouth still. 0: off.
  double motionWeight = 0.0;
  /// Forward passes under CPU bfloat16 autocast (convolutions in bf16; weights, optimiser and the
  /// loss terms stay float32). A video VAE step ran 1.6 times faster on a CPU with bf16 matrix
  /// units (docs/benchmarks.md); a run records it and resumes only with the same setting.
  bool bf16Autocast = false;
  std::filesystem::path checkpointDir;  ///< empty: no checkpoints, no resume
  int64_t checkpointEvery = 0;          ///< steps; 0: only at the end (when a folder is set)
  /// Per completed step; returning true cancels before the next step.
  std::function<bool(const AutoencoderProgress&)> progress;
  const core::CancelToken* cancel = nullptr;
};

/// What videoClipCheck measures.
struct VideoClipCheck {
  double psnr = 0.0;               ///< over every frame, pixels in 0..1
  double motionCorrelation = 0.0;  ///< as motionCorrelation(), over the same frames
  int64_t clips = 0, frames = 0;   ///< clips used; frames measured over all of them
};

struct AutoencoderTrainResult {
  /// The trained weights in the public names, ready for the VAE's constructor. The video VAE's
  /// latent normalisation is folded into conv1/conv2 so its latents have zero mean and unit
  /// variance per channel over the training crops.
  std::map<std::string, at::Tensor> stateDict;
  std::vector<LossRecord> history;
  int64_t startStep = 0;  ///< > 0 after a resume
  int64_t step = 0;
  bool cancelled = false;
  /// Measured on fixed crops after training: the reconstruction's PSNR in dB (video: pixels in
  /// 0..1; audio: log-mel in units of the data's per-bin standard deviation, peak 1) and the
  /// latents' per-channel mean and standard deviation before folding.
  double psnr = 0.0;
  /// Audio: the pitch check on the same crops — Pearson correlation of the reconstruction's
  /// bin-to-bin log-mel steps below harmonicMaxHz with the input's (1: every harmonic where it
  /// was; a voice smoothed into its envelope scores near 0).
  double harmonicCorrelation = 0.0;
  /// Video: the colour check on the same crops — mean absolute difference of the
  /// colourBlock-pixel block means between reconstruction and input, in 0..1 RGB units.
  double colourError = 0.0;
  /// Video: the motion check on the same crops — Pearson correlation of the reconstruction's
  /// frame-to-frame change with the input's (1: everything moves as it did; a reconstruction that
  /// holds still, or whose changes are its own flicker, scores 0). NaN for 1-frame crops.
  double motionCorrelation = std::numeric_limits<double>::quiet_NaN();
  /// Video: the clip check (videoClipCheck) of the trained weights on the first training clips;
  /// empty when no clip has a chunk after its first frame.
  std::optional<VideoClipCheck> clipCheck;
  std::vector<double> latentMean, latentStd;
};

/// The motion check: Pearson correlation of the frame-to-frame change of `recon` with that of
/// `input` (both [B, N, H, W, 3], N >= 2, in the same units). 1: everything changes as it did; a
/// reconstruction that holds still gives 0, one that moves backwards -1.
double motionCorrelation(const at::Tensor& recon, const at::Tensor& input);

/// The shortest crop (in frames) in which every weight that a long clip's later latent frames use
/// meets real input: 1 + 3 × temporal compression (13 for the Wan2.2 VAE). Its decoder's first
/// time upsample leaves the stream's first latent frame out of its 3-tap window, so shorter crops
/// never train that window's oldest tap. (The causal state's values, shaped by the stream's zero
/// padding through many stacked convolutions, settle only later.)
int64_t videoSteadyCropFrames(const video::WanVaeConfig& config);

/// The clip check: what generation gets from a video VAE. The crop checks see what training saw
/// (crops of 1 + 4k frames, decoded whole); generation decodes long clips chunk by chunk, every
/// latent frame from the causal state the ones before it left — a state that training on short
/// crops never reaches (videoSteadyCropFrames; docs/models/default.md). This encodes and decodes,
/// one clip at a time and chunked as in generation, the first `maxClips` clips that have a chunk
/// after their first frame: each clip's first frames, up to `maxFrames` cut to 1 + 4k (49: two
/// seconds at 24 fps, where error that builds up from chunk to chunk shows), and its
/// whole frames (the largest centred region of at most `maxSide` pixels a side whose sides the
/// VAE accepts). Empty when no clip qualifies; throws core::InputError for a bad argument.
std::optional<VideoClipCheck> videoClipCheck(VideoVae& vae, const std::vector<at::Tensor>& clips, int64_t maxClips = 4,
                                             int64_t maxFrames = 49, int64_t maxSide = 256);

/// Trains a video VAE on clips `[N, H, W, 3]` in 0..1 (N >= cropFrames, H and W >= cropSize).
/// Starts from random weights (seed) or the newest checkpoint in options.checkpointDir.
/// Throws core::InputError for no clips, clips too small for the crop, or bad options.
AutoencoderTrainResult trainVideoVae(const video::WanVaeConfig& config, const std::vector<at::Tensor>& clips,
                                     const AutoencoderTrainOptions& options);

/// Trains an MMAudio-style VAE on mono 16 kHz waveforms `[T]`; data_mean/data_std are set from
/// the data's log-mel statistics per bin before training and stay fixed.
AutoencoderTrainResult trainAudioVae(const audio::AudioVaeConfig& config, const std::vector<at::Tensor>& waveforms,
                                     const AutoencoderTrainOptions& options);

}  // namespace presence::models::training
