// The training side of flow matching, on the same conventions as the samplers:
// x_t = (1 − t)·x0 + t·noise, model time t·1000, velocity target noise − x0 (MODEL.md eq. 1-2).
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <optional>

namespace presence::models::sampling {

/// How training noise levels are drawn before the shift.
enum class TimeSampling {
  Uniform,      ///< t ~ U(0, 1)
  LogitNormal,  ///< t = sigmoid(n), n ~ N(logitMean, logitStd²)
};

struct TrainingTimeSpec {
  TimeSampling sampling = TimeSampling::Uniform;
  double logitMean = 0.0;
  double logitStd = 1.0;
  /// Warp applied after drawing, as at inference: t' = shift·t / (1 + (shift − 1)·t).
  double shift = 1.0;
};

/// Draws `batch` noise levels in [0, 1] per `spec` from `generator` (the global default
/// generator when empty), as a float32 tensor `[batch]` on `device`. Throws
/// presence::core::InputError for batch < 1, shift <= 0 or logitStd <= 0.
at::Tensor flowMatchingTrainingSigmas(int64_t batch, const TrainingTimeSpec& spec,
                                      std::optional<at::Generator> generator = std::nullopt,
                                      at::Device device = at::kCPU);

/// Model timesteps for sigmas: sigma·1000 (no rounding: training sees continuous time).
at::Tensor timestepsFromSigmas(const at::Tensor& sigmas);

/// (1 − sigma)·x0 + sigma·noise with one sigma per batch row (`[B]`, broadcast over the other
/// dimensions) or a scalar tensor. x0 and noise must have the same shape.
at::Tensor noisyLatent(const at::Tensor& x0, const at::Tensor& noise, const at::Tensor& sigmas);

/// The velocity target noise − x0.
at::Tensor velocityTarget(const at::Tensor& x0, const at::Tensor& noise);

/// The data prediction x − sigma·velocity, with sigma as in noisyLatent.
at::Tensor dataPrediction(const at::Tensor& latent, const at::Tensor& velocity, const at::Tensor& sigmas);

}  // namespace presence::models::sampling
