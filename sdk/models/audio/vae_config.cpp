#include "presence/models/audio/vae_config.hpp"

#include <algorithm>
#include <sstream>

#include "presence/core/error.hpp"

namespace presence::models::audio {

namespace {

void require(bool ok, const std::string& what) {
  if (!ok) {
    throw core::InputError("audio VAE config: " + what);
  }
}

bool contains(const std::vector<int64_t>& list, int64_t value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

class Builder {
 public:
  void conv(const std::string& name, int64_t out, int64_t in, int64_t kernel) {
    manifest.tensors.push_back({name + ".weight", {out, in, kernel}, "f32", false});
  }
  void resnet(const std::string& name, int64_t in, int64_t out, int64_t kernel) {
    conv(name + ".conv1", out, in, kernel);
    conv(name + ".conv2", out, out, kernel);
    if (in != out) {
      conv(name + ".nin_shortcut", out, in, 1);
    }
  }
  void attention(const std::string& name, int64_t channels) {
    conv(name + ".qkv", channels * 3, channels, 1);
    conv(name + ".proj_out", channels, channels, 1);
  }
  void scalar(const std::string& name) { manifest.tensors.push_back({name, {}, "f32", false}); }

  AudioVaeManifest manifest;
};

}  // namespace

void AudioVaeConfig::validate() const {
  require(dataDim > 0, "dataDim must be positive");
  require(embedDim > 0, "embedDim must be positive");
  require(hiddenDim > 0, "hiddenDim must be positive");
  require(!chMult.empty(), "chMult must not be empty");
  for (const int64_t m : chMult) {
    require(m > 0, "chMult entries must be positive");
  }
  require(numResBlocks > 0, "numResBlocks must be positive");
  require(kernelSize > 0 && kernelSize % 2 == 1, "kernelSize must be odd and positive");
  require(clipAct > 0.0, "clipAct must be positive");
  for (const int64_t d : downLayers) {
    require(d >= 0 && d < static_cast<int64_t>(chMult.size()) - 1,
            "downLayers entries must name a level below the last");
  }
}

int64_t AudioVaeConfig::temporalDownsample() const {
  int64_t factor = 1;
  for (int64_t level = 0; level < static_cast<int64_t>(chMult.size()); ++level) {
    if (contains(downLayers, level)) {
      factor *= 2;
    }
  }
  return factor;
}

AudioVaeConfig audioVaePreset(const std::string& name) {
  AudioVaeConfig c;
  c.name = name;
  if (name == "mmaudio16k") {
    return c;
  }
  if (name == "small") {
    c.hiddenDim = 64;
    return c;
  }
  if (name == "tiny") {
    c.hiddenDim = 16;
    c.numResBlocks = 1;
    return c;
  }
  throw core::InputError("unknown audio VAE preset '" + name + "' (known: mmaudio16k, small, tiny)");
}

std::vector<std::string> audioVaePresetNames() { return {"mmaudio16k", "small", "tiny"}; }

int64_t AudioVaeTensorSpec::numel() const {
  int64_t n = 1;
  for (const int64_t d : shape) {
    n *= d;
  }
  return n;
}

int64_t AudioVaeManifest::parameterCount() const {
  int64_t n = 0;
  for (const auto& t : tensors) {
    n += t.buffer ? 0 : t.numel();
  }
  return n;
}

int64_t AudioVaeManifest::elementCount() const {
  int64_t n = 0;
  for (const auto& t : tensors) {
    n += t.numel();
  }
  return n;
}

int64_t AudioVaeManifest::find(const std::string& name) const {
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (tensors[i].name == name) {
      return static_cast<int64_t>(i);
    }
  }
  return -1;
}

AudioVaeManifest buildAudioVaeManifest(const AudioVaeConfig& c) {
  c.validate();
  Builder b;
  const int64_t k = c.kernelSize;
  const auto levels = static_cast<int64_t>(c.chMult.size());
  b.manifest.tensors.push_back({"data_mean", {1, c.dataDim, 1}, "f32", true});
  b.manifest.tensors.push_back({"data_std", {1, c.dataDim, 1}, "f32", true});

  // Encoder: a module's own parameter (learnable_gain) precedes its children in a state dict.
  b.scalar("encoder.learnable_gain");
  b.conv("encoder.conv_in", c.hiddenDim, c.dataDim, k);
  int64_t width = c.hiddenDim;
  for (int64_t level = 0; level < levels; ++level) {
    const std::string prefix = "encoder.down." + std::to_string(level);
    const int64_t out = c.hiddenDim * c.chMult[static_cast<size_t>(level)];
    for (int64_t i = 0; i < c.numResBlocks; ++i) {
      b.resnet(prefix + ".block." + std::to_string(i), width, out, k);
      width = out;
    }
    if (contains(c.attnLayers, level)) {
      for (int64_t i = 0; i < c.numResBlocks; ++i) {
        b.attention(prefix + ".attn." + std::to_string(i), width);
      }
    }
    if (contains(c.downLayers, level)) {
      b.conv(prefix + ".downsample.conv1", width, width, 1);
      b.conv(prefix + ".downsample.conv2", width, width, 1);
    }
  }
  b.resnet("encoder.mid.block_1", width, width, k);
  b.attention("encoder.mid.attn_1", width);
  b.resnet("encoder.mid.block_2", width, width, k);
  b.conv("encoder.conv_out", 2 * c.embedDim, width, k);

  // Decoder: up.N is level N (the Python prepends each level as it builds from the top down).
  b.scalar("decoder.learnable_gain");
  width = c.bottleneckDim();
  b.conv("decoder.conv_in", width, c.embedDim, k);
  b.resnet("decoder.mid.block_1", width, width, 3);
  b.attention("decoder.mid.attn_1", width);
  b.resnet("decoder.mid.block_2", width, width, 3);
  // Widths per level, built top-down, listed bottom-up.
  std::vector<AudioVaeManifest> perLevel(static_cast<size_t>(levels));
  for (int64_t level = levels - 1; level >= 0; --level) {
    Builder lb;
    const std::string prefix = "decoder.up." + std::to_string(level);
    const int64_t out = c.hiddenDim * c.chMult[static_cast<size_t>(level)];
    for (int64_t i = 0; i < c.numResBlocks + 1; ++i) {
      lb.resnet(prefix + ".block." + std::to_string(i), width, out, 3);
      width = out;
    }
    if (contains(c.attnLayers, level)) {
      for (int64_t i = 0; i < c.numResBlocks + 1; ++i) {
        lb.attention(prefix + ".attn." + std::to_string(i), width);
      }
    }
    if (contains(c.downLayers, level - 1)) {  // the decoder's levels are shifted by one
      lb.conv(prefix + ".upsample.conv", width, width, 3);
    }
    perLevel[static_cast<size_t>(level)] = lb.manifest;
  }
  for (const auto& level : perLevel) {
    b.manifest.tensors.insert(b.manifest.tensors.end(), level.tensors.begin(), level.tensors.end());
  }
  b.conv("decoder.conv_out", c.dataDim, width, k);
  return b.manifest;
}

std::string formatAudioVaeManifest(const AudioVaeManifest& manifest) {
  std::ostringstream out;
  for (const auto& t : manifest.tensors) {
    out << t.name << "\t[";
    for (size_t i = 0; i < t.shape.size(); ++i) {
      out << (i ? ", " : "") << t.shape[i];
    }
    out << "]\t" << t.dtype << "\n";
  }
  return out.str();
}

}  // namespace presence::models::audio
