#include <presence/core/error.hpp>
#include <presence/models/sampling/sampler.hpp>
#include <string>
#include <utility>

namespace presence::models::sampling {

namespace {

void throwIfCancelled(const core::CancelToken* cancel) {
  if (cancel != nullptr && cancel->cancelled()) throw core::Cancelled();
}

std::string shapeOf(const at::Tensor& t) { return c10::str(t.sizes()); }

// Checks one tower of the noise and returns it in the working dtype.
at::Tensor prepareNoise(const at::Tensor& noise, int64_t rank, const char* tower, const char* layout) {
  if (!noise.defined()) return noise;
  if (noise.dim() != rank) {
    throw core::InputError(std::string("sampler: ") + tower + " noise must be " + layout + ", got shape " +
                           shapeOf(noise));
  }
  if (!c10::isFloatingType(noise.scalar_type()))
    throw core::InputError(std::string("sampler: ") + tower + " noise must be floating point");
  for (int64_t d = 0; d < rank; ++d) {
    if (noise.size(d) == 0) throw core::InputError(std::string("sampler: ") + tower + " noise is empty");
  }
  return noise.to(workingDtype(noise.scalar_type()));
}

// Checks one tower of a denoiser output against the latent it was given.
at::Tensor prepareVelocity(const at::Tensor& velocity, const at::Tensor& latent, const char* tower,
                           const GuidancePass& pass) {
  if (!latent.defined()) return at::Tensor();
  const char* passName = pass.kind == GuidanceKind::Conditional ? "conditional" : "unconditional";
  if (!velocity.defined()) {
    throw core::Error(std::string("sampler: the denoiser returned no ") + tower + " velocity in the " +
                      passName + " pass");
  }
  if (velocity.sizes() != latent.sizes()) {
    throw core::Error(std::string("sampler: the denoiser's ") + tower + " velocity has shape " +
                      shapeOf(velocity) + " in the " + passName + " pass, expected " + shapeOf(latent));
  }
  return velocity.to(latent.device(), latent.scalar_type());
}

}  // namespace

JointSampler::JointSampler(const JointLatent& noise, const SamplerSettings& settings) {
  settings.validate();
  if (noise.empty()) throw core::InputError("sampler: the noise has neither a video nor an audio latent");
  latent_.video = prepareNoise(noise.video, 5, "video", "[B, C, F, H, W]");
  latent_.audio = prepareNoise(noise.audio, 3, "audio", "[B, L, C]");
  if (latent_.hasVideo() && latent_.hasAudio() && latent_.video.size(0) != latent_.audio.size(0)) {
    throw core::InputError("sampler: video batch " + std::to_string(latent_.video.size(0)) +
                           " differs from audio batch " + std::to_string(latent_.audio.size(0)));
  }
  schedule_ = makeSchedule(settings);
  plan_ = makeGuidancePlan(settings, latent_.hasVideo(), latent_.hasAudio());
  if (latent_.hasVideo()) videoSolver_ = makeSolver(settings.solver, schedule_);
  if (latent_.hasAudio()) audioSolver_ = makeSolver(settings.solver, schedule_);
}

JointSampler::~JointSampler() = default;

StepInfo JointSampler::step(JointDenoiser& denoiser, const core::CancelToken* cancel) {
  if (done()) throw core::Error("sampler: all " + std::to_string(schedule_.steps()) + " steps are done");
  const auto i = static_cast<size_t>(index_);

  DenoiseStep where;
  where.timestep = schedule_.timesteps[i];
  where.sigma = schedule_.sigmas[i];
  where.index = index_;
  where.count = schedule_.steps();

  std::vector<JointLatent> outputs;
  outputs.reserve(plan_.passes.size());
  for (const GuidancePass& pass : plan_.passes) {
    throwIfCancelled(cancel);
    JointLatent out = denoiser.velocity(latent_, where, pass);
    JointLatent checked;
    checked.video = prepareVelocity(out.video, latent_.video, "video", pass);
    checked.audio = prepareVelocity(out.audio, latent_.audio, "audio", pass);
    outputs.push_back(std::move(checked));
  }
  const JointLatent velocity = combineGuidance(plan_, outputs);

  StepInfo info;
  info.step = index_;
  info.total = schedule_.steps();
  info.sigma = schedule_.sigmas[i];
  info.sigmaNext = schedule_.sigmas[i + 1];
  info.timestep = schedule_.timesteps[i];

  JointLatent next;
  if (videoSolver_) {
    SolverStep s = videoSolver_->step(index_, latent_.video, velocity.video);
    next.video = std::move(s.next);
    info.x0.video = std::move(s.x0);
  }
  if (audioSolver_) {
    SolverStep s = audioSolver_->step(index_, latent_.audio, velocity.audio);
    next.audio = std::move(s.next);
    info.x0.audio = std::move(s.x0);
  }
  latent_ = std::move(next);
  ++index_;
  info.latent = latent_;
  return info;
}

JointLatent sample(JointDenoiser& denoiser, const JointLatent& noise, const SamplerSettings& settings,
                   const StepCallback& onStep, const core::CancelToken* cancel) {
  JointSampler sampler(noise, settings);
  while (!sampler.done()) {
    StepInfo info = sampler.step(denoiser, cancel);
    if (onStep) onStep(info);
  }
  return sampler.latent();
}

}  // namespace presence::models::sampling
