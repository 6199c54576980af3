#include "presence/models/audio/bigvgan.hpp"

#include <ATen/Parallel.h>

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

constexpr double kSnakeEps = 1e-9;  // activations.py's no_div_by_zero
constexpr double kInitStd = 0.01;   // utils.py init_weights
constexpr const char* kOriginal0 = ".parametrizations.weight.original0";
constexpr const char* kOriginal1 = ".parametrizations.weight.original1";

bool endsWith(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string stripSuffix(const std::string& s, const std::string& suffix) {
  return s.substr(0, s.size() - suffix.size());
}

// "a, b, c (and 4 more)".
std::string listSome(const std::vector<std::string>& names) {
  constexpr size_t kShown = 6;
  std::string out;
  for (size_t i = 0; i < names.size() && i < kShown; ++i) {
    out += (i ? ", " : "") + names[i];
  }
  if (names.size() > kShown) {
    out += " (and " + std::to_string(names.size() - kShown) + " more)";
  }
  return out;
}

// UpSample1d on a float CPU tensor [B, C, L] as a direct polyphase sum (5-8× faster than ATen
// 1.13's depthwise transposed convolution here, same sums in the same order). `taps` is
// ratio · filter.
// With xp the replicate-padded row and n = m + cropLeft, the transposed convolution's output is
// y[n] = Σ_t xp[n / ratio − t] · taps[ratio·t + n % ratio], t < K / ratio: for each phase
// n % ratio, a contiguous correlation.
at::Tensor upsampleRowsCpu(const at::Tensor& input, const std::vector<float>& taps, int64_t ratio,
                           int64_t pad, int64_t cropLeft) {
  const at::Tensor x = input.contiguous();
  const int64_t rows = x.size(0) * x.size(1);
  const int64_t length = x.size(2);
  const int64_t phaseTaps = static_cast<int64_t>(taps.size()) / ratio;
  const int64_t outLength = length * ratio;
  at::Tensor out = at::empty({x.size(0), x.size(1), outLength}, x.options());
  const float* src = x.data_ptr<float>();
  float* dst = out.data_ptr<float>();
  const int64_t grain = std::max<int64_t>(1, 32768 / length);  // rows a task: keep tasks ≥ 32k samples
  at::parallel_for(0, rows, grain, [&](int64_t begin, int64_t end) {
    std::vector<float> padded(static_cast<size_t>(length + 2 * pad));
    std::vector<float> phase(static_cast<size_t>(length + 1));
    for (int64_t row = begin; row < end; ++row) {
      const float* in = src + row * length;
      for (int64_t j = 0; j < length + 2 * pad; ++j) {
        padded[static_cast<size_t>(j)] = in[std::clamp<int64_t>(j - pad, 0, length - 1)];
      }
      float* o = dst + row * outLength;
      for (int64_t p = 0; p < ratio; ++p) {
        // Outputs m = first + ratio·i have (m + cropLeft) % ratio == p and read xp from q0 + i.
        const int64_t first = ((p - cropLeft) % ratio + ratio) % ratio;
        const int64_t count = (outLength - first + ratio - 1) / ratio;
        const int64_t q0 = (first + cropLeft) / ratio;
        const float* from = padded.data() + q0;  // output i of the phase reads from[i − t]
        const float* w = taps.data() + p;        // tap t is w[ratio·t]
        float* acc = phase.data();
        int64_t i = 0;
        // Blocks of 8 outputs: fixed-size inner loops that GCC vectorises at -O2.
        for (; i + 8 <= count; i += 8) {
          float block[8] = {};
          for (int64_t t = 0; t < phaseTaps; ++t) {
            const float tap = w[ratio * t];
            const float* x = from + i - t;
            for (int k = 0; k < 8; ++k) {
              block[k] += tap * x[k];
            }
          }
          std::copy(block, block + 8, acc + i);
        }
        for (; i < count; ++i) {
          float sum = 0.0F;
          for (int64_t t = 0; t < phaseTaps; ++t) {
            sum += w[ratio * t] * from[i - t];
          }
          acc[i] = sum;
        }
        for (i = 0; i < count; ++i) {
          o[first + ratio * i] = acc[i];
        }
      }
    }
  });
  return out;
}

}  // namespace

at::Tensor BigVgan::foldWeightNorm(const at::Tensor& g, const at::Tensor& v) {
  if (!g.defined() || !v.defined() || v.dim() < 2 || g.dim() != v.dim() || g.size(0) != v.size(0) ||
      g.numel() != v.size(0)) {
    throw core::InputError("BigVGAN: weight norm needs g [" +
                           std::string(v.defined() ? std::to_string(v.size(0)) : "?") + ", 1, ...] for v " +
                           (v.defined() ? spec::formatShape(v.sizes().vec()) : std::string("(none)")));
  }
  const at::Tensor vf = v.to(at::kFloat);
  std::vector<int64_t> dims;
  for (int64_t d = 1; d < vf.dim(); ++d) {
    dims.push_back(d);
  }
  const at::Tensor norm = at::linalg_vector_norm(vf, 2, dims, /*keepdim=*/true);
  return vf * (g.to(at::kFloat) / norm);
}

at::Tensor BigVgan::kaiserSincFilter(double cutoff, double halfWidth, int64_t kernelSize) {
  if (kernelSize < 1 || cutoff < 0.0 || cutoff > 0.5) {
    throw core::InputError("BigVGAN: a low-pass filter needs kernelSize >= 1 and cutoff in [0, 0.5]");
  }
  const bool even = kernelSize % 2 == 0;
  const int64_t half = kernelSize / 2;
  // Kaiser's empirical formulas for the attenuation A and the window's beta.
  const double attenuation = 2.285 * static_cast<double>(half - 1) * M_PI * (4.0 * halfWidth) + 7.95;
  double beta = 0.0;
  if (attenuation > 50.0) {
    beta = 0.1102 * (attenuation - 8.7);
  } else if (attenuation >= 21.0) {
    beta = 0.5842 * std::pow(attenuation - 21.0, 0.4) + 0.07886 * (attenuation - 21.0);
  }
  const auto options = at::TensorOptions().dtype(at::kFloat);
  const at::Tensor window = at::kaiser_window(kernelSize, /*periodic=*/false, beta, options);
  const at::Tensor time =
      even ? at::arange(-half, half, options) + 0.5 : at::arange(kernelSize, options) - half;
  if (cutoff == 0.0) {
    return at::zeros({1, 1, kernelSize}, options);
  }
  at::Tensor filter = 2.0 * cutoff * window * at::sinc(2.0 * cutoff * time);
  filter = filter / filter.sum();  // unit DC gain: no leakage of a constant
  return filter.view({1, 1, kernelSize});
}

at::Tensor BigVgan::snake(const at::Tensor& x, const at::Tensor& alpha, const at::Tensor& beta,
                          bool logscale) {
  at::Tensor a = alpha.view({1, -1, 1}).to(x.scalar_type());
  at::Tensor b = beta.defined() ? beta.view({1, -1, 1}).to(x.scalar_type()) : a;
  if (logscale) {
    a = at::exp(a);
    b = at::exp(b);
  }
  return x + (1.0 / (b + kSnakeEps)) * at::sin(x * a).square();
}

at::Tensor BigVgan::upsample(const at::Tensor& x, const at::Tensor& filter, int64_t ratio) {
  const int64_t k = filter.size(-1);
  const int64_t channels = x.size(1);
  const int64_t pad = k / ratio - 1;
  const int64_t cropLeft = pad * ratio + (k - ratio) / 2;
  const int64_t cropRight = pad * ratio + (k - ratio + 1) / 2;
  const at::Tensor padded = at::replication_pad1d(x, {pad, pad});
  const at::Tensor weight =
      filter.to(x.scalar_type()).reshape({1, 1, k}).expand({channels, 1, k}).contiguous();
  // Zero-stuffing loses 1/ratio of the energy per sample: the factor restores unit gain.
  const at::Tensor y =
      at::conv_transpose1d(padded, weight, {}, {ratio}, {0}, {0}, channels) * static_cast<double>(ratio);
  return y.narrow(2, cropLeft, y.size(2) - cropLeft - cropRight);
}

at::Tensor BigVgan::downsample(const at::Tensor& x, const at::Tensor& filter, int64_t ratio) {
  const int64_t k = filter.size(-1);
  const int64_t channels = x.size(1);
  const int64_t padLeft = k / 2 - (k % 2 == 0 ? 1 : 0);
  const int64_t padRight = k / 2;
  const at::Tensor padded = at::replication_pad1d(x, {padLeft, padRight});
  const at::Tensor weight =
      filter.to(x.scalar_type()).reshape({1, 1, k}).expand({channels, 1, k}).contiguous();
  return at::conv1d(padded, weight, at::Tensor(), at::IntArrayRef{ratio}, at::IntArrayRef{0},
                    at::IntArrayRef{1}, channels);
}

BigVgan::BigVgan(BigVganConfig config, const std::map<std::string, at::Tensor>& stateDict, c10::Device device,
                 c10::ScalarType dtype)
    : config_(std::move(config)), device_(device), dtype_(dtype) {
  // LibTorch 1.13's CPU transposed convolution rejects bf16/f16 (oneDNN shape check): compute in
  // float32 there.
  if (device_.is_cpu() && (dtype_ == c10::ScalarType::BFloat16 || dtype_ == c10::ScalarType::Half)) {
    dtype_ = c10::ScalarType::Float;
  }
  const BigVganManifest manifest = buildBigVganManifest(config_);
  const std::string who = "BigVGAN '" + config_.name + "': ";

  // One spelling: parametrizations.weight.original0/1 → weight_g/weight_v.
  std::map<std::string, at::Tensor> given;
  std::map<std::string, std::string> originalKey;
  for (const auto& [key, tensor] : stateDict) {
    std::string name = key;
    if (endsWith(key, kOriginal0)) {
      name = stripSuffix(key, kOriginal0) + ".weight_g";
    } else if (endsWith(key, kOriginal1)) {
      name = stripSuffix(key, kOriginal1) + ".weight_v";
    }
    if (given.count(name)) {
      throw core::InputError(who + key + " and " + originalKey[name] +
                             " are the same tensor in two spellings");
    }
    given[name] = tensor;
    originalKey[name] = key;
  }

  std::vector<std::string> missing;
  std::vector<std::string> misShaped;
  std::set<std::string> used;
  std::set<std::string> folded;  // convolutions given as a plain, already folded `weight`
  for (const auto& prefix : manifest.convolutions) {
    if (given.count(prefix + ".weight") && !given.count(prefix + ".weight_g") &&
        !given.count(prefix + ".weight_v")) {
      folded.insert(prefix);
    }
  }
  for (const auto& spec : manifest.tensors) {
    std::string name = spec.name;
    const bool isG = endsWith(name, ".weight_g");
    const bool isV = endsWith(name, ".weight_v");
    const std::string convPrefix =
        (isG || isV) ? name.substr(0, name.size() - 9) : std::string();  // both 9 long
    if ((isG || isV) && folded.count(convPrefix)) {
      if (isG) {
        continue;
      }
      name = convPrefix + ".weight";
    }
    const auto it = given.find(name);
    if (it == given.end()) {
      missing.push_back(name);
      continue;
    }
    used.insert(name);
    if (it->second.sizes() != c10::IntArrayRef(spec.shape)) {
      misShaped.push_back(originalKey[name] + " has shape " + spec::formatShape(it->second.sizes().vec()) +
                          ", expected " + spec::formatShape(spec.shape));
    }
  }
  std::vector<std::string> unexpected;
  for (const auto& entry : given) {
    if (!used.count(entry.first)) {
      unexpected.push_back(originalKey[entry.first]);
    }
  }
  if (!missing.empty() || !misShaped.empty() || !unexpected.empty()) {
    std::string message = who + "the state dict does not match the config:";
    if (!missing.empty()) {
      message += " missing " + listSome(missing) + ";";
    }
    if (!misShaped.empty()) {
      message += " " + listSome(misShaped) + ";";
    }
    if (!unexpected.empty()) {
      message += " unexpected " + listSome(unexpected) + ";";
    }
    message.pop_back();
    throw core::InputError(message);
  }

  const auto toModel = [&](const at::Tensor& t) { return t.to(at::kFloat).to(device_, dtype_).contiguous(); };
  for (const auto& prefix : manifest.convolutions) {
    const at::Tensor w = folded.count(prefix)
                             ? given.at(prefix + ".weight").to(at::kFloat)
                             : foldWeightNorm(given.at(prefix + ".weight_g"), given.at(prefix + ".weight_v"));
    Conv conv;
    conv.weight = toModel(w);
    conv.bias = toModel(given.at(prefix + ".bias"));
    weights_[prefix + ".weight"] = conv.weight;
    weights_[prefix + ".bias"] = conv.bias;
    const int64_t k = conv.weight.size(2);
    if (prefix.rfind("ups.", 0) == 0) {
      const auto stage = static_cast<size_t>(std::stoll(prefix.substr(4)));
      conv.transposed = true;
      conv.stride = config_.upsampleRates[stage];
      conv.padding = (k - conv.stride) / 2;
    } else if (prefix.rfind("resblocks.", 0) == 0) {
      // resblocks.<block>.convs<1|2>.<j>: convs1 uses the j-th dilation, convs2 none.
      const size_t blockEnd = prefix.find('.', 10);
      const int64_t block = std::stoll(prefix.substr(10, blockEnd - 10));
      const bool first = prefix.compare(blockEnd + 1, 6, "convs1") == 0;
      const auto j = static_cast<size_t>(std::stoll(prefix.substr(prefix.rfind('.') + 1)));
      const auto kernelIndex =
          static_cast<size_t>(block % static_cast<int64_t>(config_.resblockKernelSizes.size()));
      conv.dilation = first ? config_.resblockDilationSizes[kernelIndex][j] : 1;
      conv.padding = (k * conv.dilation - conv.dilation) / 2;
    } else {
      conv.padding = (k - 1) / 2;
    }
    convs_[prefix] = conv;
  }
  const bool hasBeta = config_.activation == BigVganActivation::SnakeBeta;
  for (const auto& spec : manifest.tensors) {
    if (endsWith(spec.name, ".filter")) {
      weights_[spec.name] = toModel(given.at(spec.name));
    }
    if (!endsWith(spec.name, ".act.alpha")) {
      continue;
    }
    const std::string prefix = stripSuffix(spec.name, ".act.alpha");
    at::Tensor a = given.at(spec.name).to(at::kFloat);
    at::Tensor b = hasBeta ? given.at(prefix + ".act.beta").to(at::kFloat) : a;
    weights_[spec.name] = toModel(a);
    if (hasBeta) {
      weights_[prefix + ".act.beta"] = toModel(b);
    }
    if (config_.snakeLogscale) {
      a = at::exp(a);
      b = at::exp(b);
    }
    const int64_t channels = a.size(0);
    const int64_t k = config_.filterSize;
    Activation act;
    act.alpha = toModel(a.view({1, channels, 1}));
    act.invScale = toModel(1.0 / (b.view({1, channels, 1}) + kSnakeEps));
    // UpSample1d multiplies its output by the ratio: folded into the filter.
    act.up = toModel(given.at(prefix + ".upsample.filter").reshape({1, 1, k}).expand({channels, 1, k}) *
                     static_cast<double>(config_.resampleRatio));
    const at::Tensor upTaps = (given.at(prefix + ".upsample.filter").to(at::kFloat).flatten() *
                               static_cast<double>(config_.resampleRatio))
                                  .contiguous();
    act.upTaps.assign(upTaps.data_ptr<float>(), upTaps.data_ptr<float>() + upTaps.numel());
    act.down =
        toModel(given.at(prefix + ".downsample.lowpass.filter").reshape({1, 1, k}).expand({channels, 1, k}));
    activations_[prefix] = act;
  }
}

std::unique_ptr<BigVgan> BigVgan::fromCheckpoint(const std::filesystem::path& path, BigVganConfig config,
                                                 c10::Device device, c10::ScalarType dtype) {
  const runtime::CheckpointReader reader(path);
  const auto stateDict = reader.loadAll(c10::Device(c10::DeviceType::CPU), c10::ScalarType::Float);
  return std::make_unique<BigVgan>(std::move(config), stateDict, device, dtype);
}

std::map<std::string, at::Tensor> BigVgan::randomStateDict(const BigVganConfig& config, uint64_t seed) {
  at::Generator generator = runtime::makeGenerator(seed);
  const BigVganManifest manifest = buildBigVganManifest(config);
  const double ratio = static_cast<double>(config.resampleRatio);
  const at::Tensor filter = kaiserSincFilter(0.5 / ratio, 0.6 / ratio, config.filterSize);
  std::map<std::string, at::Tensor> out;
  for (const auto& spec : manifest.tensors) {
    if (endsWith(spec.name, ".weight_v")) {
      out[spec.name] = runtime::randn(spec.shape, generator) * kInitStd;
    } else if (endsWith(spec.name, ".filter")) {
      out[spec.name] = filter.clone();
    } else if (endsWith(spec.name, ".act.alpha") || endsWith(spec.name, ".act.beta")) {
      out[spec.name] =
          config.snakeLogscale ? at::zeros(spec.shape, at::kFloat) : at::ones(spec.shape, at::kFloat);
    } else {
      out[spec.name] = at::zeros(spec.shape, at::kFloat);  // biases; weight_g below
    }
  }
  // weight_norm initialises g to ||v||, so the folded weight is v itself.
  for (const auto& prefix : manifest.convolutions) {
    const at::Tensor& v = out.at(prefix + ".weight_v");
    out[prefix + ".weight_g"] = at::linalg_vector_norm(v, 2, {1, 2}, /*keepdim=*/true);
  }
  return out;
}

std::string BigVgan::name() const {
  return config_.name == "bigvgan16k" ? "bigvgan-16k" : "bigvgan-" + config_.name;
}

const at::Tensor& BigVgan::weight(const std::string& name) const {
  const auto it = weights_.find(name);
  if (it == weights_.end()) {
    throw core::Error("BigVGAN: no tensor " + name);
  }
  return it->second;
}

at::Tensor BigVgan::applyConv(const at::Tensor& x, const Conv& conv) const {
  if (conv.transposed) {
    return at::conv_transpose1d(x, conv.weight, conv.bias, {conv.stride}, {conv.padding});
  }
  return at::conv1d(x, conv.weight, conv.bias, {conv.stride}, {conv.padding}, {conv.dilation});
}

at::Tensor BigVgan::applyActivation(const at::Tensor& x, const Activation& act) const {
  const int64_t ratio = config_.resampleRatio;
  const int64_t k = config_.filterSize;
  const int64_t channels = x.size(1);
  // UpSample1d.
  const int64_t pad = k / ratio - 1;
  const int64_t cropLeft = pad * ratio + (k - ratio) / 2;
  const int64_t cropRight = pad * ratio + (k - ratio + 1) / 2;
  at::Tensor y;
  if (x.device().is_cpu() && x.scalar_type() == at::kFloat) {
    y = upsampleRowsCpu(x, act.upTaps, ratio, pad, cropLeft);
  } else {
    y = at::conv_transpose1d(at::replication_pad1d(x, {pad, pad}), act.up, {}, {ratio}, {0}, {0}, channels);
    y = y.narrow(2, cropLeft, y.size(2) - cropLeft - cropRight);  // act.up holds ratio · filter
  }
  // Snake(Beta).
  y = at::addcmul(y, act.invScale, at::sin(y * act.alpha).square());
  // DownSample1d.
  const int64_t padLeft = k / 2 - (k % 2 == 0 ? 1 : 0);
  return at::conv1d(at::replication_pad1d(y, {padLeft, k / 2}), act.down, at::Tensor(),
                    at::IntArrayRef{ratio}, at::IntArrayRef{0}, at::IntArrayRef{1}, channels);
}

at::Tensor BigVgan::activation1d(const at::Tensor& x, const std::string& prefix) const {
  const auto it = activations_.find(prefix);
  if (it == activations_.end()) {
    throw core::InputError("BigVGAN: no activation " + prefix);
  }
  runtime::InferenceGuard guard;
  return applyActivation(x.to(device_, dtype_), it->second);
}

at::Tensor BigVgan::ampBlock(const at::Tensor& input, int64_t block) const {
  const std::string prefix = "resblocks." + std::to_string(block);
  at::Tensor x = input;
  for (int j = 0; j < 3; ++j) {
    at::Tensor h = applyActivation(x, activations_.at(prefix + ".activations." + std::to_string(2 * j)));
    h = applyConv(h, convs_.at(prefix + ".convs1." + std::to_string(j)));
    h = applyActivation(h, activations_.at(prefix + ".activations." + std::to_string(2 * j + 1)));
    h = applyConv(h, convs_.at(prefix + ".convs2." + std::to_string(j)));
    x = x + h;
  }
  return x;
}

at::Tensor BigVgan::forward(const at::Tensor& mel) const {
  const auto kernels = static_cast<int64_t>(config_.resblockKernelSizes.size());
  at::Tensor x = applyConv(mel, convs_.at("conv_pre"));
  for (int64_t i = 0; i < config_.stageCount(); ++i) {
    x = applyConv(x, convs_.at("ups." + std::to_string(i) + ".0"));
    at::Tensor sum = ampBlock(x, i * kernels);
    for (int64_t j = 1; j < kernels; ++j) {
      sum = sum + ampBlock(x, i * kernels + j);
    }
    x = sum / static_cast<double>(kernels);
  }
  x = applyActivation(x, activations_.at("activation_post"));
  return at::tanh(applyConv(x, convs_.at("conv_post")));
}

at::Tensor BigVgan::vocode(const at::Tensor& mel) {
  if (!mel.defined() || (mel.dim() != 2 && mel.dim() != 3)) {
    throw core::InputError("BigVGAN: expected a mel [B, " + std::to_string(config_.numMels) + ", frames]");
  }
  const at::Tensor m = mel.dim() == 2 ? mel.unsqueeze(0) : mel;
  if (m.size(1) != config_.numMels || m.size(2) < 1) {
    throw core::InputError("BigVGAN: expected " + std::to_string(config_.numMels) +
                           " mel bins and at least one frame, got a mel of shape " +
                           spec::formatShape(mel.sizes().vec()));
  }
  runtime::InferenceGuard guard;
  const at::Tensor wave = forward(m.to(device_, dtype_));
  return wave.squeeze(1).to(at::kFloat).contiguous();
}

}  // namespace presence::models::audio
