#include "presence/models/dit/dit_weights.hpp"

#include <ATen/CPUGeneratorImpl.h>

#include <cmath>
#include <mutex>
#include <string>

#include "presence/core/error.hpp"

namespace presence::models::dit {
namespace {

std::string shapeString(at::IntArrayRef shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

// FNV-1a over the name, mixed with the seed: a stable per-tensor seed.
uint64_t tensorSeed(uint64_t seed, const std::string& name) {
  uint64_t h = 1469598103934665603ULL ^ (seed * 0x9E3779B97F4A7C15ULL);
  for (unsigned char c : name) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

}  // namespace

at::ScalarType dtypeFromString(const std::string& name) {
  if (name == "bf16") return at::kBFloat16;
  if (name == "f16") return at::kHalf;
  if (name == "f32") return at::kFloat;
  throw core::InputError("unknown dtype '" + name + "' (expected bf16, f16 or f32)");
}

DitWeights::DitWeights(DitConfig config, Manifest manifest)
    : config_(std::move(config)), manifest_(std::move(manifest)) {
  for (size_t i = 0; i < manifest_.parameters.size(); ++i)
    index_.emplace(manifest_.parameters[i].name, static_cast<int64_t>(i));
}

DitWeights DitWeights::empty(const DitConfig& config) { return DitWeights(config, buildManifest(config)); }

DitWeights DitWeights::allocate(const DitConfig& config, at::Device device, uint64_t seed,
                                bool allocateStoredOnly) {
  return allocate(config, device, dtypeFromString(config.weightDtype), seed, allocateStoredOnly);
}

DitWeights DitWeights::allocate(const DitConfig& config, at::Device device, at::ScalarType dtype,
                                uint64_t seed, bool allocateStoredOnly, RandomSource source) {
  DitWeights w = empty(config);
  for (const ParameterSpec& spec : w.manifest_.parameters) {
    if (spec.role == ParameterRole::StoredOnly) continue;
    w.tensors_.emplace(spec.name, w.initialise(spec, seed, device, dtype, source));
  }
  if (allocateStoredOnly) {
    for (const ParameterSpec& spec : w.manifest_.parameters) {
      if (spec.role != ParameterRole::StoredOnly) continue;
      // The released checkpoints hold copies of their twins (load_fusion_checkpoint_id).
      auto twin = w.tensors_.find(spec.twin);
      w.tensors_.emplace(spec.name, twin != w.tensors_.end()
                                        ? twin->second.clone()
                                        : w.initialise(spec, seed, device, dtype, source));
    }
  }
  return w;
}

at::Tensor DitWeights::initialise(const ParameterSpec& spec, uint64_t seed, at::Device device,
                                  at::ScalarType dtype, RandomSource source) const {
  const bool onDevice = source == RandomSource::Device && !device.is_cpu();
  // Where the values are drawn: the CPU, or the target device for RandomSource::Device.
  const auto drawOn = at::TensorOptions().dtype(at::kFloat).device(onDevice ? device : at::Device(at::kCPU));
  at::Generator gen;
  if (onDevice) {
    gen = at::globalContext().defaultGenerator(device);
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_current_seed(tensorSeed(seed, spec.name));
  } else {
    gen = at::make_generator<at::CPUGeneratorImpl>(tensorSeed(seed, spec.name));
  }
  at::Tensor t;
  const std::string& kind = spec.init;
  if (kind == "zeros") {
    t = at::zeros(spec.shape, drawOn);
  } else if (kind == "ones") {
    t = at::ones(spec.shape, drawOn);
  } else if (kind.rfind("xavier_uniform", 0) == 0) {
    // torch.nn.init.xavier_uniform_ on weight.flatten(1): fan_out = shape[0], fan_in = the rest;
    // "xavier_uniform_<s>" scales the result by s afterwards.
    double scale = 1.0;
    if (kind.size() > 14) {
      if (kind[14] != '_') throw core::Error("DiT weights: unknown init '" + kind + "' for " + spec.name);
      try {
        scale = std::stod(kind.substr(15));
      } catch (const std::exception&) {
        throw core::Error("DiT weights: unknown init '" + kind + "' for " + spec.name);
      }
    }
    const int64_t fanOut = spec.shape.empty() ? 1 : spec.shape[0];
    const int64_t fanIn = fanOut > 0 ? spec.numel() / fanOut : 0;
    const double bound = scale * std::sqrt(6.0 / static_cast<double>(fanIn + fanOut));
    t = at::empty(spec.shape, drawOn).uniform_(-bound, bound, gen);
  } else if (kind == "modulation") {
    // nn.Parameter(torch.randn(1, n, dim) / dim**0.5)
    const double dim = static_cast<double>(spec.shape.back());
    t = at::empty(spec.shape, drawOn).normal_(0.0, 1.0 / std::sqrt(dim), gen);
  } else if (kind.rfind("normal", 0) == 0) {
    double std = 1.0;
    if (kind.size() > 6) {
      if (kind[6] != '_') throw core::Error("DiT weights: unknown init '" + kind + "' for " + spec.name);
      try {
        std = std::stod(kind.substr(7));
      } catch (const std::exception&) {
        throw core::Error("DiT weights: unknown init '" + kind + "' for " + spec.name);
      }
    }
    t = at::empty(spec.shape, drawOn).normal_(0.0, std, gen);
  } else {
    throw core::Error("DiT weights: unknown init '" + kind + "' for " + spec.name);
  }
  return t.to(device, dtype);
}

bool DitWeights::contains(const std::string& name) const { return tensors_.count(name) != 0; }

const at::Tensor& DitWeights::get(const std::string& name) const {
  auto it = tensors_.find(name);
  if (it != tensors_.end()) return it->second;
  if (index_.count(name) == 0)
    throw core::Error("DiT weights: '" + name + "' is not a parameter of the " + config_.name + " model");
  throw core::Error("DiT weights: weight '" + name + "' is missing");
}

void DitWeights::set(const std::string& name, at::Tensor tensor) {
  auto it = index_.find(name);
  if (it == index_.end())
    throw core::Error("DiT weights: '" + name + "' is not a parameter of the " + config_.name + " model");
  const ParameterSpec& spec = manifest_.parameters[it->second];
  if (!tensor.defined()) throw core::Error("DiT weights: '" + name + "' is an undefined tensor");
  if (tensor.sizes() != at::IntArrayRef(spec.shape))
    throw core::Error("DiT weights: '" + name + "' has shape " + shapeString(tensor.sizes()) + ", expected " +
                      shapeString(spec.shape));
  tensors_[name] = std::move(tensor);
}

std::vector<std::string> DitWeights::names() const {
  std::vector<std::string> out;
  for (const auto& p : manifest_.parameters)
    if (contains(p.name)) out.push_back(p.name);
  return out;
}

std::vector<std::string> DitWeights::missing() const {
  std::vector<std::string> out;
  for (const auto& p : manifest_.parameters)
    if (p.role != ParameterRole::StoredOnly && !contains(p.name)) out.push_back(p.name);
  return out;
}

std::vector<std::string> DitWeights::ignoredStoredOnly() const {
  std::vector<std::string> out;
  for (const auto& p : manifest_.parameters)
    if (p.role == ParameterRole::StoredOnly && !contains(p.name)) out.push_back(p.name);
  return out;
}

int64_t DitWeights::fillPrimeFromTwins() {
  int64_t filled = 0;
  for (const auto& p : manifest_.parameters) {
    if (p.twin.empty() || contains(p.name)) continue;
    auto twin = tensors_.find(p.twin);
    if (twin == tensors_.end()) continue;
    tensors_.emplace(p.name, twin->second.detach().clone());
    ++filled;
  }
  return filled;
}

int64_t DitWeights::initialiseMissing(uint64_t seed) {
  at::Device device = at::kCPU;
  at::ScalarType dtype = dtypeFromString(config_.weightDtype);
  if (!tensors_.empty()) {
    device = tensors_.begin()->second.device();
    dtype = tensors_.begin()->second.scalar_type();
  }
  int64_t created = 0;
  for (const auto& p : manifest_.parameters) {
    if (p.role == ParameterRole::StoredOnly || contains(p.name)) continue;
    tensors_.emplace(p.name, initialise(p, seed, device, dtype));
    ++created;
  }
  return created;
}

void DitWeights::setRequiresGrad(bool requiresGrad, const std::string& nameFilter) {
  for (auto& [name, t] : tensors_)
    if (nameFilter.empty() || name.find(nameFilter) != std::string::npos) t.set_requires_grad(requiresGrad);
}

std::vector<at::Tensor> DitWeights::parameters() const {
  std::vector<at::Tensor> out;
  for (const auto& p : manifest_.parameters) {
    auto it = tensors_.find(p.name);
    if (it != tensors_.end()) out.push_back(it->second);
  }
  return out;
}

int64_t DitWeights::parameterCount() const {
  int64_t n = 0;
  for (const auto& [name, t] : tensors_) n += t.numel();
  return n;
}

void DitWeights::to(at::Device device, at::ScalarType dtype) {
  for (auto& [name, t] : tensors_) t = t.detach().to(device, dtype);
}

}  // namespace presence::models::dit
