#include <cmath>
#include <presence/core/error.hpp>
#include <presence/models/sampling/training.hpp>
#include <string>
#include <vector>

namespace presence::models::sampling {

namespace {

// sigmas [B] (or a scalar) → a tensor that broadcasts against `like` [B, ...].
at::Tensor broadcastSigmas(const at::Tensor& sigmas, const at::Tensor& like) {
  at::Tensor s = sigmas.to(like.device(), like.scalar_type());
  if (s.dim() == 0) return s;
  if (s.dim() != 1 || like.dim() < 1 || s.size(0) != like.size(0)) {
    throw core::InputError("flow matching: sigmas of shape " + std::string(c10::str(sigmas.sizes())) +
                           " do not match a latent batch of shape " + std::string(c10::str(like.sizes())));
  }
  std::vector<int64_t> shape(static_cast<size_t>(like.dim()), 1);
  shape[0] = s.size(0);
  return s.reshape(shape);
}

void requireSameShape(const at::Tensor& a, const at::Tensor& b, const char* what) {
  if (!a.defined() || !b.defined() || a.sizes() != b.sizes()) {
    throw core::InputError(std::string("flow matching: ") + what + " need defined tensors of one shape");
  }
}

}  // namespace

at::Tensor flowMatchingTrainingSigmas(int64_t batch, const TrainingTimeSpec& spec,
                                      std::optional<at::Generator> generator, at::Device device) {
  if (batch < 1)
    throw core::InputError("flow matching: batch must be at least 1, got " + std::to_string(batch));
  if (!std::isfinite(spec.shift) || spec.shift <= 0.0)
    throw core::InputError("flow matching: shift must be positive, got " + std::to_string(spec.shift));
  if (spec.sampling == TimeSampling::LogitNormal && !(spec.logitStd > 0.0 && std::isfinite(spec.logitStd)))
    throw core::InputError("flow matching: logit-normal std must be positive, got " +
                           std::to_string(spec.logitStd));

  c10::optional<at::Generator> gen;
  if (generator) gen = *generator;
  const auto options = at::TensorOptions().dtype(at::kFloat).device(device);
  at::Tensor t;
  if (spec.sampling == TimeSampling::Uniform) {
    t = at::rand({batch}, gen, options);
  } else {
    t = at::sigmoid(at::randn({batch}, gen, options) * spec.logitStd + spec.logitMean);
  }
  if (spec.shift != 1.0) t = (t * spec.shift) / ((t * (spec.shift - 1.0)) + 1.0);
  return t;
}

at::Tensor timestepsFromSigmas(const at::Tensor& sigmas) { return sigmas * 1000.0; }

at::Tensor noisyLatent(const at::Tensor& x0, const at::Tensor& noise, const at::Tensor& sigmas) {
  requireSameShape(x0, noise, "data and noise");
  const at::Tensor s = broadcastSigmas(sigmas, x0);
  return x0 * (1.0 - s) + noise * s;
}

at::Tensor velocityTarget(const at::Tensor& x0, const at::Tensor& noise) {
  requireSameShape(x0, noise, "data and noise");
  return noise - x0;
}

at::Tensor dataPrediction(const at::Tensor& latent, const at::Tensor& velocity, const at::Tensor& sigmas) {
  requireSameShape(latent, velocity, "latent and velocity");
  return latent - velocity * broadcastSigmas(sigmas, latent);
}

}  // namespace presence::models::sampling
