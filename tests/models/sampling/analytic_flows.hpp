// Test denoisers with exactly known velocity fields and ODE solutions.
#pragma once

#include <ATen/ATen.h>

#include <cmath>
#include <functional>
#include <presence/models/interfaces/joint_denoiser.hpp>
#include <vector>

namespace presence::models::sampling::testing {

/// Data x0 ~ N(mu, s²) per element, noise N(0, 1), path x = (1 − σ)·x0 + σ·ε. The marginal
/// velocity E[ε − x0 | x] is affine in x:
///   v(x, σ) = −mu + (σ − (1 − σ)·s²) / var(σ) · (x − (1 − σ)·mu),  var(σ) = (1 − σ)²·s² + σ².
/// Its ODE keeps the standardised value z = (x − (1 − σ)·mu) / sqrt(var(σ)) constant, so the
/// exact solution from σ0 down to 0 is mu + s·z(σ0).
struct GaussianFlow {
  double mu = 0.0;
  double s = 1.0;

  double variance(double sigma) const {
    const double a = 1.0 - sigma;
    return a * a * s * s + sigma * sigma;
  }
  at::Tensor velocity(const at::Tensor& x, double sigma) const {
    if (s == 0.0) {
      // Point mass: every path is the straight line from ε to mu: v = (x − mu) / σ.
      return (x - mu) / sigma;
    }
    const double gain = (sigma - (1.0 - sigma) * s * s) / variance(sigma);
    return (x - (1.0 - sigma) * mu) * gain - mu;
  }
  /// Exact solution at σ = 0 of the ODE started at x (at noise level sigma0).
  at::Tensor solve(const at::Tensor& x, double sigma0) const {
    const at::Tensor z = (x - (1.0 - sigma0) * mu) / std::sqrt(variance(sigma0));
    return z * s + mu;
  }
};

/// A JointDenoiser over two independent Gaussian flows (one per tower) that records its calls.
class GaussianJointDenoiser : public JointDenoiser {
 public:
  GaussianJointDenoiser(GaussianFlow video, GaussianFlow audio) : video_(video), audio_(audio) {}

  struct Call {
    DenoiseStep step;
    GuidancePass pass;
    bool hadVideo = false;
    bool hadAudio = false;
  };

  JointLatent velocity(const JointLatent& latent, const DenoiseStep& step,
                       const GuidancePass& pass) override {
    calls.push_back({step, pass, latent.hasVideo(), latent.hasAudio()});
    if (onCall) onCall(calls.back());
    JointLatent v;
    if (latent.hasVideo()) v.video = video_.velocity(latent.video, step.sigma);
    if (latent.hasAudio()) v.audio = audio_.velocity(latent.audio, step.sigma);
    return v;
  }

  std::vector<Call> calls;
  std::function<void(const Call&)> onCall;

 private:
  GaussianFlow video_;
  GaussianFlow audio_;
};

}  // namespace presence::models::sampling::testing
