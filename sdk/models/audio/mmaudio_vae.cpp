#include "presence/models/audio/mmaudio_vae.hpp"

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>

#include "presence/core/error.hpp"
#include "presence/models/spec/state_dict_report.hpp"
#include "presence/runtime/checkpoint_reader.hpp"
#include "presence/runtime/rng.hpp"
#include "presence/runtime/torch_compat.hpp"

namespace presence::models::audio {

namespace {

constexpr double kSiluGain = 0.596;
constexpr double kResidualT = 0.3;
constexpr double kNormEps = 1e-4;

bool contains(const std::vector<int64_t>& list, int64_t value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

// Magnitude-preserving SiLU.
at::Tensor mpSilu(const at::Tensor& x) { return at::silu(x) / kSiluGain; }

// Magnitude-preserving blend of a residual and a branch.
at::Tensor mpSum(const at::Tensor& a, const at::Tensor& b, double t) {
  return at::lerp(a, b, t) / std::sqrt((1.0 - t) * (1.0 - t) + t * t);
}

// x / (eps + ||x||_dim / sqrt(size of dim)), the norm taken in float32.
at::Tensor unitNormalize(const at::Tensor& x, int64_t dim) {
  const at::Tensor norm = at::linalg_vector_norm(x.to(at::kFloat), 2, {dim}, /*keepdim=*/true);
  const at::Tensor scaled = norm * (1.0 / std::sqrt(static_cast<double>(x.size(dim)))) + kNormEps;
  return x / scaled.to(x.scalar_type());
}

}  // namespace

at::Tensor AudioVaePosterior::sample(at::Generator& generator) const {
  const at::Tensor eps = runtime::randn(mean.sizes(), generator, mean.scalar_type(), mean.device());
  return mean + at::exp(logvar * 0.5) * eps;
}

at::Tensor MmaudioVae::normalizeWeight(const at::Tensor& weight) {
  if (weight.dim() != 3) {
    throw core::InputError("audio VAE: expected a convolution weight [out, in, kernel], got " +
                           spec::formatShape(weight.sizes().vec()));
  }
  const at::Tensor w = weight.to(at::kFloat);
  const double fanIn = static_cast<double>(w.size(1) * w.size(2));
  const at::Tensor norm = at::linalg_vector_norm(w, 2, {1, 2}, /*keepdim=*/true);
  return w / (norm + kNormEps * std::sqrt(fanIn));
}

MmaudioVae::MmaudioVae(AudioVaeConfig config, const std::map<std::string, at::Tensor>& stateDict, MelConfig mel,
                       c10::Device device, c10::ScalarType dtype)
    : config_(std::move(config)), mel_(mel), device_(device), dtype_(dtype) {
  const AudioVaeManifest manifest = buildAudioVaeManifest(config_);
  if (mel_.config().numMels != config_.dataDim) {
    throw core::InputError("audio VAE: the mel front end has " + std::to_string(mel_.config().numMels) +
                           " bins but the VAE expects " + std::to_string(config_.dataDim));
  }
  std::set<std::string> expected;
  for (const auto& spec : manifest.tensors) {
    expected.insert(spec.name);
    const auto it = stateDict.find(spec.name);
    if (it == stateDict.end()) {
      throw core::InputError("audio VAE '" + config_.name + "': state dict lacks " + spec.name);
    }
    if (it->second.sizes() != c10::IntArrayRef(spec.shape)) {
      throw core::InputError("audio VAE '" + config_.name + "': " + spec.name + " has shape " +
                             spec::formatShape(it->second.sizes().vec()) + ", expected " + spec::formatShape(spec.shape));
    }
  }
  for (const auto& entry : stateDict) {
    if (expected.count(entry.first) == 0) {
      throw core::InputError("audio VAE '" + config_.name + "': unexpected tensor " + entry.first);
    }
  }
  for (const auto& spec : manifest.tensors) {
    const at::Tensor& raw = stateDict.at(spec.name);
    at::Tensor folded;
    if (spec.shape.size() == 3 && spec.name.rfind("data_", 0) != 0) {
      folded = normalizeWeight(raw);
      if (spec.name == "encoder.conv_out.weight" || spec.name == "decoder.conv_out.weight") {
        const std::string owner = spec.name.substr(0, spec.name.find('.'));
        folded = folded * (stateDict.at(owner + ".learnable_gain").to(at::kFloat) + 1.0);
      }
    } else {
      folded = raw.to(at::kFloat);
    }
    weights_[spec.name] = folded.to(device_, dtype_).contiguous();
  }
}

std::unique_ptr<MmaudioVae> MmaudioVae::fromCheckpoint(const std::filesystem::path& path, AudioVaeConfig config,
                                                       c10::Device device, c10::ScalarType dtype) {
  const runtime::CheckpointReader reader(path);
  const auto stateDict = reader.loadAll(c10::Device(c10::DeviceType::CPU), c10::ScalarType::Float);
  return std::make_unique<MmaudioVae>(std::move(config), stateDict, MelConfig::mmaudio16k(), device, dtype);
}

std::map<std::string, at::Tensor> MmaudioVae::randomStateDict(const AudioVaeConfig& config, uint64_t seed) {
  at::Generator generator = runtime::makeGenerator(seed);
  std::map<std::string, at::Tensor> out;
  for (const auto& spec : buildAudioVaeManifest(config).tensors) {
    if (spec.name == "data_mean" || spec.shape.empty()) {
      out[spec.name] = at::zeros(spec.shape, at::kFloat);
    } else if (spec.name == "data_std") {
      out[spec.name] = at::ones(spec.shape, at::kFloat);
    } else {
      out[spec.name] = runtime::randn(spec.shape, generator);
    }
  }
  return out;
}

double MmaudioVae::latentsPerSecond() const {
  return static_cast<double>(mel_.config().sampleRate) /
         static_cast<double>(mel_.config().hopLength * config_.temporalDownsample());
}

const at::Tensor& MmaudioVae::weight(const std::string& name) const {
  const auto it = weights_.find(name);
  if (it == weights_.end()) {
    throw core::Error("audio VAE: no tensor " + name);
  }
  return it->second;
}

at::Tensor MmaudioVae::conv(const at::Tensor& x, const std::string& name) const {
  const at::Tensor& w = weight(name + ".weight");
  return at::conv1d(x, w, {}, /*stride=*/1, /*padding=*/w.size(2) / 2);
}

at::Tensor MmaudioVae::resnet(const at::Tensor& input, const std::string& name) const {
  const at::Tensor x = unitNormalize(input, 1);
  at::Tensor h = conv(mpSilu(x), name + ".conv1");
  h = conv(mpSilu(h), name + ".conv2");
  const at::Tensor skip = weights_.count(name + ".nin_shortcut.weight") ? conv(x, name + ".nin_shortcut") : x;
  return mpSum(skip, h, kResidualT);
}

at::Tensor MmaudioVae::attention(const at::Tensor& x, const std::string& name) const {
  const int64_t batch = x.size(0);
  const int64_t channels = x.size(1);
  const int64_t length = x.size(2);
  // qkv channels are interleaved (c, 3): reshape to [B, 1, C, 3, L], normalise over C.
  const at::Tensor y = unitNormalize(conv(x, name + ".qkv").reshape({batch, 1, channels, 3, length}), 2);
  const at::Tensor q = y.select(3, 0).transpose(2, 3);
  const at::Tensor k = y.select(3, 1).transpose(2, 3);
  const at::Tensor v = y.select(3, 2).transpose(2, 3);
  const at::Tensor h = runtime::attention(q, k, v).transpose(2, 3).reshape({batch, channels, length});
  return mpSum(x, conv(h, name + ".proj_out"), kResidualT);
}

at::Tensor MmaudioVae::encoderForward(const at::Tensor& input) const {
  const double clip = config_.clipAct;
  at::Tensor h = conv(input, "encoder.conv_in");
  for (int64_t level = 0; level < static_cast<int64_t>(config_.chMult.size()); ++level) {
    const std::string prefix = "encoder.down." + std::to_string(level);
    for (int64_t i = 0; i < config_.numResBlocks; ++i) {
      h = resnet(h, prefix + ".block." + std::to_string(i));
      if (contains(config_.attnLayers, level)) {
        h = attention(h, prefix + ".attn." + std::to_string(i));
      }
      h = h.clamp(-clip, clip);
    }
    if (contains(config_.downLayers, level)) {
      h = conv(h, prefix + ".downsample.conv1");
      h = at::avg_pool1d(h, {2}, {2});
      h = conv(h, prefix + ".downsample.conv2");
    }
  }
  h = resnet(h, "encoder.mid.block_1");
  h = attention(h, "encoder.mid.attn_1");
  h = resnet(h, "encoder.mid.block_2").clamp(-clip, clip);
  return conv(mpSilu(h), "encoder.conv_out");
}

at::Tensor MmaudioVae::decoderForward(const at::Tensor& z) const {
  const double clip = config_.clipAct;
  at::Tensor h = conv(z, "decoder.conv_in");
  h = resnet(h, "decoder.mid.block_1");
  h = attention(h, "decoder.mid.attn_1");
  h = resnet(h, "decoder.mid.block_2").clamp(-clip, clip);
  for (int64_t level = static_cast<int64_t>(config_.chMult.size()) - 1; level >= 0; --level) {
    const std::string prefix = "decoder.up." + std::to_string(level);
    for (int64_t i = 0; i < config_.numResBlocks + 1; ++i) {
      h = resnet(h, prefix + ".block." + std::to_string(i));
      if (contains(config_.attnLayers, level)) {
        h = attention(h, prefix + ".attn." + std::to_string(i));
      }
      h = h.clamp(-clip, clip);
    }
    if (contains(config_.downLayers, level - 1)) {
      // Nearest-exact 2× equals repeating each position twice.
      h = conv(at::repeat_interleave(h, 2, 2), prefix + ".upsample.conv");
    }
  }
  return conv(mpSilu(h), "decoder.conv_out");
}

AudioVaePosterior MmaudioVae::encodeMel(const at::Tensor& mel) {
  runtime::InferenceGuard guard;
  return encodeMelDifferentiable(mel);
}

AudioVaePosterior MmaudioVae::encodeMelDifferentiable(const at::Tensor& mel) const {
  if (!mel.defined() || mel.dim() != 3 || mel.size(1) != config_.dataDim || mel.size(2) < config_.temporalDownsample()) {
    throw core::InputError("audio VAE: expected a mel [B, " + std::to_string(config_.dataDim) + ", frames >= " +
                           std::to_string(config_.temporalDownsample()) + "]");
  }
  const at::Tensor x = (mel.to(device_, dtype_) - weight("data_mean")) / weight("data_std");
  const at::Tensor moments = encoderForward(x);
  AudioVaePosterior posterior;
  posterior.mean = moments.narrow(1, 0, config_.embedDim).contiguous();
  posterior.logvar = moments.narrow(1, config_.embedDim, config_.embedDim).clamp(-30.0, 20.0).contiguous();
  return posterior;
}

at::Tensor MmaudioVae::decodeMel(const at::Tensor& latents) {
  runtime::InferenceGuard guard;
  return decodeMelDifferentiable(latents);
}

at::Tensor MmaudioVae::decodeMelDifferentiable(const at::Tensor& latents) const {
  if (!latents.defined() || latents.dim() != 3 || latents.size(1) != config_.embedDim || latents.size(2) < 1) {
    throw core::InputError("audio VAE: expected latents [B, " + std::to_string(config_.embedDim) + ", L]");
  }
  const at::Tensor out = decoderForward(latents.to(device_, dtype_));
  return out * weight("data_std") + weight("data_mean");
}

at::Tensor MmaudioVae::encode(const at::Tensor& waveform) {
  at::Tensor mel;
  {
    runtime::InferenceGuard guard;
    mel = mel_.logMel(waveform.to(device_));
  }
  return encodeMel(mel).mean.transpose(1, 2).contiguous();
}

at::Tensor MmaudioVae::decode(const at::Tensor& latents) {
  if (!latents.defined() || latents.dim() != 3 || latents.size(2) != config_.embedDim) {
    throw core::InputError("audio VAE: expected latents [B, L, " + std::to_string(config_.embedDim) + "]");
  }
  return decodeMel(latents.transpose(1, 2));
}

}  // namespace presence::models::audio
