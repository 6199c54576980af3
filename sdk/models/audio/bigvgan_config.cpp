#include "presence/models/audio/bigvgan_config.hpp"

#include <iomanip>
#include <sstream>

#include "presence/core/error.hpp"

namespace presence::models::audio {

namespace {

void require(bool ok, const std::string& what) {
  if (!ok) {
    throw core::InputError("BigVGAN config: " + what);
  }
}

std::string joined(const std::vector<int64_t>& values, const char* separator) {
  std::ostringstream out;
  for (size_t i = 0; i < values.size(); ++i) {
    out << (i ? separator : "") << values[i];
  }
  return out.str();
}

class Builder {
 public:
  explicit Builder(const BigVganConfig& config) : config_(config) {}

  // A weight-normalised convolution; `dim0` is the weight's first dimension (g's length).
  void conv(const std::string& name, std::vector<int64_t> weightShape, int64_t biasLength) {
    const int64_t dim0 = weightShape[0];
    manifest.tensors.push_back({name + ".bias", {biasLength}, "f32", false});
    manifest.tensors.push_back({name + ".weight_g", {dim0, 1, 1}, "f32", false});
    manifest.tensors.push_back({name + ".weight_v", std::move(weightShape), "f32", false});
    manifest.convolutions.push_back(name);
  }
  void activation(const std::string& name, int64_t channels) {
    manifest.tensors.push_back({name + ".act.alpha", {channels}, "f32", false});
    if (config_.activation == BigVganActivation::SnakeBeta) {
      manifest.tensors.push_back({name + ".act.beta", {channels}, "f32", false});
    }
    manifest.tensors.push_back({name + ".upsample.filter", {1, 1, config_.filterSize}, "f32", true});
    manifest.tensors.push_back(
        {name + ".downsample.lowpass.filter", {1, 1, config_.filterSize}, "f32", true});
  }

  BigVganManifest manifest;

 private:
  const BigVganConfig& config_;
};

}  // namespace

void BigVganConfig::validate() const {
  require(sampleRate > 0, "sampleRate must be positive");
  require(numMels > 0, "numMels must be positive");
  require(!upsampleRates.empty(), "upsampleRates must not be empty");
  require(upsampleKernelSizes.size() == upsampleRates.size(),
          "upsampleKernelSizes must have one entry per upsample rate");
  require(stageCount() < 62, "too many upsample stages");
  for (size_t i = 0; i < upsampleRates.size(); ++i) {
    const int64_t u = upsampleRates[i];
    const int64_t k = upsampleKernelSizes[i];
    require(u > 0, "upsampleRates entries must be positive");
    // Output length L·u needs an even, non-negative k − u (padding (k − u) / 2).
    require(k >= u && (k - u) % 2 == 0,
            "upsampleKernelSizes[" + std::to_string(i) + "] − rate must be even and non-negative");
  }
  const int64_t divisor = int64_t{1} << stageCount();
  require(upsampleInitialChannel >= divisor && upsampleInitialChannel % divisor == 0,
          "upsampleInitialChannel must be a positive multiple of 2^" + std::to_string(stageCount()));
  require(!resblockKernelSizes.empty(), "resblockKernelSizes must not be empty");
  require(resblockDilationSizes.size() == resblockKernelSizes.size(),
          "resblockDilationSizes must have one entry per resblock kernel size");
  for (size_t i = 0; i < resblockKernelSizes.size(); ++i) {
    require(resblockKernelSizes[i] > 0 && resblockKernelSizes[i] % 2 == 1,
            "resblockKernelSizes entries must be odd and positive");
    require(resblockDilationSizes[i].size() == 3,
            "each resblockDilationSizes entry needs 3 dilations (AMPBlock1)");
    for (const int64_t d : resblockDilationSizes[i]) {
      require(d > 0, "dilations must be positive");
    }
  }
  require(resampleRatio > 0, "resampleRatio must be positive");
  require(filterSize >= resampleRatio && filterSize % resampleRatio == 0,
          "filterSize must be a multiple of resampleRatio");
}

int64_t BigVganConfig::hopLength() const {
  int64_t hop = 1;
  for (const int64_t u : upsampleRates) {
    hop *= u;
  }
  return hop;
}

int64_t BigVganConfig::stageChannels(int64_t stage) const { return upsampleInitialChannel >> (stage + 1); }

BigVganConfig bigVganPreset(const std::string& name) {
  BigVganConfig c;
  c.name = name;
  if (name == "bigvgan16k") {
    return c;
  }
  if (name == "small") {
    c.upsampleInitialChannel = 128;
    return c;
  }
  if (name == "tiny") {
    c.upsampleInitialChannel = 64;
    c.resblockKernelSizes = {3, 7};
    c.resblockDilationSizes = {{1, 3, 5}, {1, 3, 5}};
    return c;
  }
  throw core::InputError("unknown BigVGAN preset '" + name + "' (known: bigvgan16k, small, tiny)");
}

std::vector<std::string> bigVganPresetNames() { return {"bigvgan16k", "small", "tiny"}; }

std::string describeBigVgan(const BigVganConfig& c) {
  const BigVganManifest m = buildBigVganManifest(c);
  std::ostringstream out;
  out << c.name << ": BigVGAN, " << c.numMels << " mels -> " << c.sampleRate << " Hz, hop " << c.hopLength()
      << " (rates " << joined(c.upsampleRates, "x") << "), " << c.upsampleInitialChannel
      << " initial channels, AMP kernels " << joined(c.resblockKernelSizes, "/") << ", "
      << (c.activation == BigVganActivation::SnakeBeta ? "snakebeta" : "snake")
      << (c.snakeLogscale ? " (log-scale)" : "") << ", " << std::fixed << std::setprecision(2)
      << static_cast<double>(m.parameterCount()) / 1e6 << "M parameters";
  return out.str();
}

int64_t BigVganTensorSpec::numel() const {
  int64_t n = 1;
  for (const int64_t d : shape) {
    n *= d;
  }
  return n;
}

int64_t BigVganManifest::parameterCount() const {
  int64_t n = 0;
  for (const auto& t : tensors) {
    n += t.buffer ? 0 : t.numel();
  }
  return n;
}

int64_t BigVganManifest::elementCount() const {
  int64_t n = 0;
  for (const auto& t : tensors) {
    n += t.numel();
  }
  return n;
}

int64_t BigVganManifest::find(const std::string& name) const {
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (tensors[i].name == name) {
      return static_cast<int64_t>(i);
    }
  }
  return -1;
}

BigVganManifest buildBigVganManifest(const BigVganConfig& c) {
  c.validate();
  Builder b(c);
  b.conv("conv_pre", {c.upsampleInitialChannel, c.numMels, 7}, c.upsampleInitialChannel);
  for (int64_t i = 0; i < c.stageCount(); ++i) {
    // ConvTranspose1d's weight is [in, out, kernel].
    const int64_t in = c.upsampleInitialChannel >> i;
    const int64_t out = c.stageChannels(i);
    b.conv("ups." + std::to_string(i) + ".0", {in, out, c.upsampleKernelSizes[static_cast<size_t>(i)]}, out);
  }
  int64_t block = 0;
  for (int64_t i = 0; i < c.stageCount(); ++i) {
    const int64_t ch = c.stageChannels(i);
    for (const int64_t k : c.resblockKernelSizes) {
      const std::string prefix = "resblocks." + std::to_string(block++);
      for (int j = 0; j < 3; ++j) {
        b.conv(prefix + ".convs1." + std::to_string(j), {ch, ch, k}, ch);
      }
      for (int j = 0; j < 3; ++j) {
        b.conv(prefix + ".convs2." + std::to_string(j), {ch, ch, k}, ch);
      }
      for (int j = 0; j < 6; ++j) {
        b.activation(prefix + ".activations." + std::to_string(j), ch);
      }
    }
  }
  const int64_t last = c.stageChannels(c.stageCount() - 1);
  b.activation("activation_post", last);
  b.conv("conv_post", {1, last, 7}, 1);
  return b.manifest;
}

std::string formatBigVganManifest(const BigVganManifest& manifest) {
  std::ostringstream out;
  for (const auto& t : manifest.tensors) {
    out << t.name << "\t[" << joined(t.shape, ", ") << "]\t" << t.dtype << (t.buffer ? "\tbuffer" : "")
        << "\n";
  }
  return out.str();
}

}  // namespace presence::models::audio
