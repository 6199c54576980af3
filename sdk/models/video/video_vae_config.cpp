#include "presence/models/video/video_vae_config.hpp"

#include <set>
#include <sstream>

#include "presence/core/error.hpp"

namespace presence::models::video {

namespace {

void require(bool ok, const std::string& what) {
  if (!ok) {
    throw core::InputError("video VAE config: " + what);
  }
}

// The per-channel latent statistics of the public Wan2.2 VAE (Wan2_2_VAE in vae2_2.py): they live
// in the code, not in the checkpoint.
const std::vector<double>& wan22Mean() {
  static const std::vector<double> values = {
      -0.2289, -0.0052, -0.1323, -0.2339, -0.2799, 0.0174,  0.1838,  0.1557,  -0.1382, 0.0542,
      0.2813,  0.0891,  0.1570,  -0.0098, 0.0375,  -0.1825, -0.2246, -0.1207, -0.0698, 0.5109,
      0.2665,  -0.2108, -0.2158, 0.2502,  -0.2055, -0.0322, 0.1109,  0.1567,  -0.0729, 0.0899,
      -0.2799, -0.1230, -0.0313, -0.1649, 0.0117,  0.0723,  -0.2839, -0.2083, -0.0520, 0.3748,
      0.0152,  0.1957,  0.1433,  -0.2944, 0.3573,  -0.0548, -0.1681, -0.0667};
  return values;
}

const std::vector<double>& wan22Std() {
  static const std::vector<double> values = {
      0.4765, 1.0364, 0.4514, 1.1677, 0.5313, 0.4990, 0.4818, 0.5013, 0.8158, 1.0344, 0.5894, 1.0901,
      0.6885, 0.6165, 0.8454, 0.4978, 0.5759, 0.3523, 0.7135, 0.6804, 0.5833, 1.4146, 0.8986, 0.5659,
      0.7069, 0.5338, 0.4889, 0.4917, 0.4069, 0.4999, 0.6866, 0.4093, 0.5709, 0.6065, 0.6415, 0.4944,
      0.5726, 1.2042, 0.5458, 1.6887, 0.3971, 1.0600, 0.3943, 0.5537, 0.5444, 0.4089, 0.7468, 0.7744};
  return values;
}

class Builder {
 public:
  void conv(const std::string& name, std::vector<int64_t> weightShape) {
    const int64_t out = weightShape.front();
    manifest.tensors.push_back({name + ".weight", std::move(weightShape), "f32"});
    manifest.tensors.push_back({name + ".bias", {out}, "f32"});
  }
  void conv3(const std::string& name, int64_t out, int64_t in, int64_t kt, int64_t ks) {
    conv(name, {out, in, kt, ks, ks});
  }
  void gamma(const std::string& name, std::vector<int64_t> shape) {
    manifest.tensors.push_back({name + ".gamma", std::move(shape), "f32"});
  }
  // ResidualBlock: residual = [RMS_norm, SiLU, conv, RMS_norm, SiLU, Dropout, conv], then shortcut.
  void residual(const std::string& name, int64_t in, int64_t out) {
    gamma(name + ".residual.0", {in, 1, 1, 1});
    conv3(name + ".residual.2", out, in, 3, 3);
    gamma(name + ".residual.3", {out, 1, 1, 1});
    conv3(name + ".residual.6", out, out, 3, 3);
    if (in != out) {
      conv3(name + ".shortcut", out, in, 1, 1);
    }
  }
  void attention(const std::string& name, int64_t dim) {
    gamma(name + ".norm", {dim, 1, 1});
    conv(name + ".to_qkv", {3 * dim, dim, 1, 1});
    conv(name + ".proj", {dim, dim, 1, 1});
  }
  void middle(const std::string& name, int64_t dim) {
    residual(name + ".0", dim, dim);
    attention(name + ".1", dim);
    residual(name + ".2", dim, dim);
  }

  VideoVaeManifest manifest;
};


std::string withThousands(int64_t value) {
  std::string digits = std::to_string(value);
  for (int64_t i = static_cast<int64_t>(digits.size()) - 3; i > 0; i -= 3) {
    digits.insert(static_cast<size_t>(i), ",");
  }
  return digits;
}

}  // namespace

void WanVaeConfig::validate() const {
  require(encoderDim > 0 && decoderDim > 0, "encoderDim and decoderDim must be positive");
  require(zDim > 0, "zDim must be positive");
  require(dimMult.size() >= 2, "dimMult needs at least two levels");
  for (const int64_t m : dimMult) {
    require(m > 0, "dimMult entries must be positive");
  }
  require(numResBlocks > 0, "numResBlocks must be positive");
  require(patchSize >= 1, "patchSize must be positive");
  require(temporalDownsample.size() == dimMult.size() - 1,
          "temporalDownsample needs one entry per level but the last");
  require(latentMean.empty() || static_cast<int64_t>(latentMean.size()) == zDim,
          "latentMean needs zDim entries");
  require(latentStd.empty() || static_cast<int64_t>(latentStd.size()) == zDim,
          "latentStd needs zDim entries");
  for (const double s : latentStd) {
    require(s > 0.0, "latentStd entries must be positive");
  }
  // The parameter-free shortcuts regroup channels: AvgDown3D averages in·factor/out channels,
  // DupUp3D repeats out·factor/in times.
  const auto enc = encoderDims();
  for (int64_t i = 0; i + 1 < static_cast<int64_t>(enc.size()); ++i) {
    const bool down = i != levels() - 1;
    const int64_t factor = (down && temporalDownsample[static_cast<size_t>(i)] ? 2 : 1) * (down ? 4 : 1);
    require((enc[static_cast<size_t>(i)] * factor) % enc[static_cast<size_t>(i + 1)] == 0,
            "encoder level " + std::to_string(i) + ": widths do not divide for the average shortcut");
  }
  const auto dec = decoderDims();
  for (int64_t i = 0; i + 1 < static_cast<int64_t>(dec.size()); ++i) {
    const bool up = i != levels() - 1;
    if (!up) {
      continue;
    }
    const bool temporal = temporalDownsample[temporalDownsample.size() - 1 - static_cast<size_t>(i)];
    const int64_t factor = (temporal ? 2 : 1) * 4;
    require((dec[static_cast<size_t>(i + 1)] * factor) % dec[static_cast<size_t>(i)] == 0,
            "decoder level " + std::to_string(i) + ": widths do not divide for the duplicate shortcut");
  }
}

int64_t WanVaeConfig::temporalCompression() const {
  int64_t factor = 1;
  for (const bool t : temporalDownsample) {
    factor *= t ? 2 : 1;
  }
  return factor;
}

int64_t WanVaeConfig::spatialCompression() const { return patchSize * (int64_t{1} << (levels() - 1)); }

std::vector<int64_t> WanVaeConfig::encoderDims() const {
  std::vector<int64_t> dims = {encoderDim};
  for (const int64_t m : dimMult) {
    dims.push_back(encoderDim * m);
  }
  return dims;
}

std::vector<int64_t> WanVaeConfig::decoderDims() const {
  std::vector<int64_t> dims = {decoderDim * dimMult.back()};
  for (auto it = dimMult.rbegin(); it != dimMult.rend(); ++it) {
    dims.push_back(decoderDim * *it);
  }
  return dims;
}

WanVaeConfig videoVaePreset(const std::string& name) {
  WanVaeConfig c;
  c.name = name;
  if (name == "wan22") {
    c.latentMean = wan22Mean();
    c.latentStd = wan22Std();
    return c;
  }
  if (name == "small") {
    c.encoderDim = 16;
    c.decoderDim = 24;
    c.zDim = 16;
    return c;
  }
  if (name == "tiny") {
    c.encoderDim = 8;
    c.decoderDim = 8;
    c.zDim = 4;
    c.dimMult = {1, 2, 2, 2};
    c.numResBlocks = 1;
    return c;
  }
  throw core::InputError("unknown video VAE preset '" + name + "' (known: wan22, small, tiny)");
}

std::vector<std::string> videoVaePresetNames() { return {"wan22", "small", "tiny"}; }

int64_t VideoVaeTensorSpec::numel() const {
  int64_t n = 1;
  for (const int64_t d : shape) {
    n *= d;
  }
  return n;
}

int64_t VideoVaeManifest::parameterCount() const {
  int64_t n = 0;
  for (const auto& t : tensors) {
    n += t.numel();
  }
  return n;
}

int64_t VideoVaeManifest::find(const std::string& name) const {
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (tensors[i].name == name) {
      return static_cast<int64_t>(i);
    }
  }
  return -1;
}

VideoVaeManifest buildVideoVaeManifest(const WanVaeConfig& c) {
  c.validate();
  Builder b;
  const int64_t levels = c.levels();
  const int64_t nrb = c.numResBlocks;

  // Encoder3d: conv1, downsamples (Down_ResidualBlock: avg_shortcut has no parameters), middle, head.
  const auto enc = c.encoderDims();
  b.conv3("encoder.conv1", enc[0], c.patchChannels(), 3, 3);
  for (int64_t i = 0; i < levels; ++i) {
    const std::string prefix = "encoder.downsamples." + std::to_string(i) + ".downsamples.";
    const int64_t in = enc[static_cast<size_t>(i)];
    const int64_t out = enc[static_cast<size_t>(i + 1)];
    for (int64_t j = 0; j < nrb; ++j) {
      b.residual(prefix + std::to_string(j), j == 0 ? in : out, out);
    }
    if (i != levels - 1) {
      const std::string resample = prefix + std::to_string(nrb);
      b.conv(resample + ".resample.1", {out, out, 3, 3});  // index 0 is the ZeroPad2d
      if (c.temporalDownsample[static_cast<size_t>(i)]) {
        b.conv3(resample + ".time_conv", out, out, 3, 1);
      }
    }
  }
  const int64_t encTop = enc.back();
  b.middle("encoder.middle", encTop);
  b.gamma("encoder.head.0", {encTop, 1, 1, 1});
  b.conv3("encoder.head.2", 2 * c.zDim, encTop, 3, 3);

  b.conv3("conv1", 2 * c.zDim, 2 * c.zDim, 1, 1);
  b.conv3("conv2", c.zDim, c.zDim, 1, 1);

  // Decoder3d: conv1, middle, upsamples (Up_ResidualBlock: numResBlocks + 1 blocks), head.
  const auto dec = c.decoderDims();
  b.conv3("decoder.conv1", dec[0], c.zDim, 3, 3);
  b.middle("decoder.middle", dec[0]);
  for (int64_t i = 0; i < levels; ++i) {
    const std::string prefix = "decoder.upsamples." + std::to_string(i) + ".upsamples.";
    const int64_t in = dec[static_cast<size_t>(i)];
    const int64_t out = dec[static_cast<size_t>(i + 1)];
    for (int64_t j = 0; j < nrb + 1; ++j) {
      b.residual(prefix + std::to_string(j), j == 0 ? in : out, out);
    }
    if (i != levels - 1) {
      const std::string resample = prefix + std::to_string(nrb + 1);
      b.conv(resample + ".resample.1", {out, out, 3, 3});  // index 0 is the Upsample
      if (c.temporalDownsample[c.temporalDownsample.size() - 1 - static_cast<size_t>(i)]) {
        b.conv3(resample + ".time_conv", 2 * out, out, 3, 1);
      }
    }
  }
  const int64_t decOut = dec.back();
  b.gamma("decoder.head.0", {decOut, 1, 1, 1});
  b.conv3("decoder.head.2", c.patchChannels(), decOut, 3, 3);
  return b.manifest;
}

std::string formatVideoVaeManifest(const VideoVaeManifest& manifest) {
  std::ostringstream out;
  for (const auto& t : manifest.tensors) {
    out << t.name << "\t" << spec::formatShape(t.shape) << "\t" << t.dtype << "\n";
  }
  return out.str();
}

std::string videoVaeSummary(const WanVaeConfig& c) {
  const VideoVaeManifest m = buildVideoVaeManifest(c);
  std::ostringstream out;
  out << c.name << ": Wan2.2 video VAE, z " << c.zDim << ", encoder " << c.encoderDim << ", decoder "
      << c.decoderDim << ", dim_mult " << spec::formatShape(c.dimMult) << ", " << c.numResBlocks << " res blocks, "
      << c.spatialCompression() << "x space, " << c.temporalCompression() << "x time (first frame kept), "
      << m.tensorCount() << " tensors, " << withThousands(m.parameterCount()) << " parameters";
  return out.str();
}

VideoVaeLoadReport checkVideoVaeShapes(const WanVaeConfig& config,
                                       const std::map<std::string, std::vector<int64_t>>& shapes) {
  std::vector<std::pair<std::string, std::vector<int64_t>>> expected;
  for (const auto& t : buildVideoVaeManifest(config).tensors) expected.emplace_back(t.name, t.shape);
  return spec::compareStateDict(expected, shapes);
}

}  // namespace presence::models::video
