#include "presence/models/video/wan_video_vae.hpp"

#include <cmath>
#include <deque>
#include <vector>

#include "presence/core/error.hpp"
#include "presence/models/spec/state_dict_report.hpp"
#include "presence/runtime/checkpoint_reader.hpp"
#include "presence/runtime/rng.hpp"
#include "presence/runtime/torch_compat.hpp"

namespace presence::models::video {

namespace {

// The state a stream carries between chunks: one slot per causal operation, visited in the same
// order by every chunk (vae2_2.py's feat_cache / feat_idx).
class CausalCache {
 public:
  void rewind() { next_ = 0; }
  at::Tensor& slot() {
    if (next_ == slots_.size()) {
      slots_.emplace_back();
    }
    return slots_[next_++];
  }

 private:
  std::deque<at::Tensor> slots_;  // a deque keeps references to earlier slots valid as it grows
  size_t next_ = 0;
};

// [B, C, T, H, W] ↔ [B·T, C, H, W] for the per-frame 2-D operations.
at::Tensor toFrames(const at::Tensor& x) {
  return x.permute({0, 2, 1, 3, 4}).reshape({x.size(0) * x.size(2), x.size(1), x.size(3), x.size(4)});
}
at::Tensor fromFrames(const at::Tensor& y, int64_t batch) {
  const int64_t frames = y.size(0) / batch;
  return y.reshape({batch, frames, y.size(1), y.size(2), y.size(3)}).permute({0, 2, 1, 3, 4});
}

// "b c f (h q) (w r) -> b (c r q) f h w": the channel index runs c, then the w offset, then the h offset.
at::Tensor patchify(const at::Tensor& x, int64_t p) {
  if (p == 1) {
    return x;
  }
  const int64_t b = x.size(0), c = x.size(1), f = x.size(2), h = x.size(3) / p, w = x.size(4) / p;
  return x.reshape({b, c, f, h, p, w, p}).permute({0, 1, 6, 4, 2, 3, 5}).reshape({b, c * p * p, f, h, w});
}

at::Tensor unpatchify(const at::Tensor& x, int64_t p) {
  if (p == 1) {
    return x;
  }
  const int64_t b = x.size(0), c = x.size(1) / (p * p), f = x.size(2), h = x.size(3), w = x.size(4);
  return x.reshape({b, c, p, p, f, h, w}).permute({0, 1, 4, 5, 3, 6, 2}).reshape({b, c, f, h * p, w * p});
}

class Network {
 public:
  Network(const WanVaeConfig& config, const std::map<std::string, at::Tensor>& weights)
      : c_(config), w_(weights) {}

  // Encoder3d on one chunk.
  at::Tensor encoder(at::Tensor x, CausalCache& cache) const {
    cache.rewind();
    const auto dims = c_.encoderDims();
    x = causalConv(x, "encoder.conv1", &cache.slot());
    for (int64_t i = 0; i < c_.levels(); ++i) {
      const std::string prefix = "encoder.downsamples." + std::to_string(i) + ".downsamples.";
      const bool down = i != c_.levels() - 1;
      const bool temporal = down && c_.temporalDownsample[static_cast<size_t>(i)];
      const at::Tensor input = x;
      for (int64_t j = 0; j < c_.numResBlocks; ++j) {
        x = residual(x, prefix + std::to_string(j), cache);
      }
      if (down) {
        x = downsample(x, prefix + std::to_string(c_.numResBlocks), temporal, cache);
      }
      x = x + avgDown(input, dims[static_cast<size_t>(i + 1)], temporal ? 2 : 1, down ? 2 : 1);
    }
    x = middle(x, "encoder.middle", cache);
    x = at::silu(rmsNorm(x, "encoder.head.0"));
    return causalConv(x, "encoder.head.2", &cache.slot());
  }

  // Decoder3d on one chunk; `first` when the chunk starts the stream.
  at::Tensor decoder(at::Tensor x, CausalCache& cache, bool first) const {
    cache.rewind();
    const auto dims = c_.decoderDims();
    x = causalConv(x, "decoder.conv1", &cache.slot());
    x = middle(x, "decoder.middle", cache);
    for (int64_t i = 0; i < c_.levels(); ++i) {
      const std::string prefix = "decoder.upsamples." + std::to_string(i) + ".upsamples.";
      const bool up = i != c_.levels() - 1;
      const bool temporal =
          up && c_.temporalDownsample[c_.temporalDownsample.size() - 1 - static_cast<size_t>(i)];
      at::Tensor h = x;
      for (int64_t j = 0; j < c_.numResBlocks + 1; ++j) {
        h = residual(h, prefix + std::to_string(j), cache);
      }
      if (up) {
        h = upsample(h, prefix + std::to_string(c_.numResBlocks + 1), temporal, cache);
        // Up_ResidualBlock adds its duplicate shortcut only where it resamples.
        h = h + dupUp(x, dims[static_cast<size_t>(i + 1)], temporal ? 2 : 1, 2, first);
      }
      x = h;
    }
    x = at::silu(rmsNorm(x, "decoder.head.0"));
    return causalConv(x, "decoder.head.2", &cache.slot());
  }

  at::Tensor pointwise(const at::Tensor& x, const std::string& name) const {
    return at::conv3d(x, w(name + ".weight"), w(name + ".bias"));
  }

 private:
  const at::Tensor& w(const std::string& name) const {
    const auto it = w_.find(name);
    if (it == w_.end()) {
      throw core::Error("video VAE: no tensor " + name);
    }
    return it->second;
  }

  // CausalConv3d: zero "same" padding in space, kt − 1 frames before the stream in time. With a
  // cache slot, the last kt − 1 input frames of the previous chunk stand in for the zeros.
  at::Tensor causalConv(const at::Tensor& x, const std::string& name, at::Tensor* cache) const {
    const at::Tensor& weight = w(name + ".weight");
    const int64_t kt = weight.size(2);
    at::Tensor input = x;
    if (kt > 1) {
      if (cache != nullptr && cache->defined()) {
        input = at::cat({*cache, x}, 2);
      }
      const int64_t missing = kt - 1 - (input.size(2) - x.size(2));
      if (cache != nullptr) {
        const int64_t keep = std::min<int64_t>(kt - 1, input.size(2));
        *cache = input.narrow(2, input.size(2) - keep, keep).clone();
      }
      if (missing > 0) {
        input = at::constant_pad_nd(input, {0, 0, 0, 0, missing, 0});
      }
    }
    return at::conv3d(input, weight, w(name + ".bias"), {1, 1, 1},
                      {0, weight.size(3) / 2, weight.size(4) / 2});
  }

  // RMS_norm: F.normalize over channels, times sqrt(C) and gamma.
  at::Tensor rmsNorm(const at::Tensor& x, const std::string& name) const {
    const at::Tensor norm = at::linalg_vector_norm(x, 2, {1}, /*keepdim=*/true).clamp_min(1e-12);
    return x / norm * (std::sqrt(static_cast<double>(x.size(1))) * w(name + ".gamma"));
  }

  at::Tensor residual(const at::Tensor& x, const std::string& name, CausalCache& cache) const {
    const at::Tensor shortcut = w_.count(name + ".shortcut.weight") ? pointwise(x, name + ".shortcut") : x;
    at::Tensor h =
        causalConv(at::silu(rmsNorm(x, name + ".residual.0")), name + ".residual.2", &cache.slot());
    h = causalConv(at::silu(rmsNorm(h, name + ".residual.3")), name + ".residual.6", &cache.slot());
    return h + shortcut;
  }

  // Single-head self-attention within each frame.
  at::Tensor attention(const at::Tensor& x, const std::string& name) const {
    const int64_t b = x.size(0), c = x.size(1), hgt = x.size(3), wid = x.size(4);
    const at::Tensor frames = rmsNorm(toFrames(x), name + ".norm");
    const int64_t n = frames.size(0);
    const at::Tensor qkv = at::conv2d(frames, w(name + ".to_qkv.weight"), w(name + ".to_qkv.bias"))
                               .reshape({n, 1, 3 * c, hgt * wid})
                               .transpose(2, 3);
    const at::Tensor q = qkv.narrow(3, 0, c).contiguous();
    const at::Tensor k = qkv.narrow(3, c, c).contiguous();
    const at::Tensor v = qkv.narrow(3, 2 * c, c).contiguous();
    const at::Tensor o = runtime::attention(q, k, v).squeeze(1).transpose(1, 2).reshape({n, c, hgt, wid});
    return fromFrames(at::conv2d(o, w(name + ".proj.weight"), w(name + ".proj.bias")), b) + x;
  }

  at::Tensor middle(at::Tensor x, const std::string& name, CausalCache& cache) const {
    x = residual(x, name + ".0", cache);
    x = attention(x, name + ".1");
    return residual(x, name + ".2", cache);
  }

  // Resample downsample2d/3d: pad right and bottom by one, 3×3 stride 2 per frame; in 3-D then a
  // (3,1,1) stride-2 time conv over [previous frame, chunk] that lets the stream's first frame
  // through unchanged: out[0] = x[0], out[k] = conv(x[2k−2], x[2k−1], x[2k]).
  at::Tensor downsample(const at::Tensor& x, const std::string& name, bool temporal,
                        CausalCache& cache) const {
    at::Tensor y = at::constant_pad_nd(toFrames(x), {0, 1, 0, 1});
    y = fromFrames(at::conv2d(y, w(name + ".resample.1.weight"), w(name + ".resample.1.bias"), {2, 2}),
                   x.size(0));
    if (!temporal) {
      return y;
    }
    at::Tensor& previous = cache.slot();
    const at::Tensor& tw = w(name + ".time_conv.weight");
    const at::Tensor& tb = w(name + ".time_conv.bias");
    at::Tensor out;
    if (!previous.defined()) {
      out = y.narrow(2, 0, 1);
      if (y.size(2) >= 3) {
        out = at::cat({out, at::conv3d(y, tw, tb, {2, 1, 1})}, 2);
      }
    } else {
      out = at::conv3d(at::cat({previous, y}, 2), tw, tb, {2, 1, 1});
    }
    previous = y.narrow(2, y.size(2) - 1, 1).clone();
    return out;
  }

  // Resample upsample2d/3d: in 3-D first a causal (3,1,1) time conv to 2C channels, interleaved
  // into two frames each; the stream's first frame skips it (and is not in its causal window).
  // Then nearest 2× and a 3×3 conv per frame.
  at::Tensor upsample(const at::Tensor& x, const std::string& name, bool temporal, CausalCache& cache) const {
    at::Tensor y = x;
    if (temporal) {
      at::Tensor& started = cache.slot();
      at::Tensor& convCache = cache.slot();
      at::Tensor head;
      at::Tensor body = x;
      if (!started.defined()) {
        started = at::ones({1});
        head = x.narrow(2, 0, 1);
        body = x.narrow(2, 1, x.size(2) - 1);
      }
      if (body.size(2) > 0) {
        const int64_t b = body.size(0), c = body.size(1), t = body.size(2), h = body.size(3),
                      wd = body.size(4);
        body = causalConv(body, name + ".time_conv", &convCache)
                   .reshape({b, 2, c, t, h, wd})
                   .permute({0, 2, 3, 1, 4, 5})
                   .reshape({b, c, 2 * t, h, wd});
      }
      if (head.defined()) {
        y = body.size(2) > 0 ? at::cat({head, body}, 2) : head;
      } else {
        y = body;
      }
    }
    at::Tensor frames = toFrames(y);
    // nearest-exact at an exact 2× picks source pixel floor(i / 2), as nearest does.
    frames = at::upsample_nearest2d(frames, {frames.size(2) * 2, frames.size(3) * 2});
    frames = at::conv2d(frames, w(name + ".resample.1.weight"), w(name + ".resample.1.bias"), {1, 1}, {1, 1});
    return fromFrames(frames, y.size(0));
  }

  // AvgDown3D: zero frames in front up to a multiple of ft, space-to-channel by (ft, fs, fs), then
  // the mean over groups of in·factor/out channels.
  static at::Tensor avgDown(const at::Tensor& x, int64_t out, int64_t ft, int64_t fs) {
    const int64_t pad = (ft - x.size(2) % ft) % ft;
    const at::Tensor y = pad > 0 ? at::constant_pad_nd(x, {0, 0, 0, 0, pad, 0}) : x;
    const int64_t b = y.size(0), c = y.size(1), t = y.size(2) / ft, h = y.size(3) / fs, wd = y.size(4) / fs;
    const int64_t group = c * ft * fs * fs / out;
    return y.reshape({b, c, t, ft, h, fs, wd, fs})
        .permute({0, 1, 3, 5, 7, 2, 4, 6})
        .reshape({b, out, group, t, h, wd})
        .mean(2);
  }

  // DupUp3D: repeat channels, channel-to-space by (ft, fs, fs); the stream's first frame yields
  // only the last of its ft frames.
  static at::Tensor dupUp(const at::Tensor& x, int64_t out, int64_t ft, int64_t fs, bool first) {
    const int64_t b = x.size(0), c = x.size(1), t = x.size(2), h = x.size(3), wd = x.size(4);
    at::Tensor y = at::repeat_interleave(x, out * ft * fs * fs / c, 1)
                       .reshape({b, out, ft, fs, fs, t, h, wd})
                       .permute({0, 1, 5, 2, 6, 3, 7, 4})
                       .reshape({b, out, t * ft, h * fs, wd * fs});
    if (first && ft > 1) {
      y = y.narrow(2, ft - 1, y.size(2) - (ft - 1));
    }
    return y;
  }

  const WanVaeConfig& c_;
  const std::map<std::string, at::Tensor>& w_;
};

at::Tensor statistics(const std::vector<double>& values, int64_t z, double fallback) {
  std::vector<float> data(static_cast<size_t>(z), static_cast<float>(fallback));
  for (size_t i = 0; i < values.size() && i < data.size(); ++i) {
    data[i] = static_cast<float>(values[i]);
  }
  return at::tensor(data, at::kFloat).reshape({1, z, 1, 1, 1});
}

}  // namespace

VideoVaeLoadReport WanVideoVae::checkStateDict(const WanVaeConfig& config,
                                               const std::map<std::string, at::Tensor>& stateDict) {
  std::map<std::string, std::vector<int64_t>> shapes;
  for (const auto& [name, tensor] : stateDict) {
    shapes[name] = tensor.sizes().vec();
  }
  return checkVideoVaeShapes(config, shapes);
}

WanVideoVae::WanVideoVae(WanVaeConfig config, const std::map<std::string, at::Tensor>& stateDict,
                         c10::Device device, c10::ScalarType dtype)
    : config_(std::move(config)), device_(device), dtype_(dtype) {
  const VideoVaeLoadReport report = checkStateDict(config_, stateDict);
  if (!report.empty()) {
    throw core::InputError("video VAE '" + config_.name + "': the state dict does not match the config:\n" +
                           report.describe());
  }
  for (const auto& [name, tensor] : stateDict) {
    weights_[name] = tensor.to(device_, dtype_).contiguous();
  }
  mean_ = statistics(config_.latentMean, config_.zDim, 0.0).to(device_, dtype_);
  std_ = statistics(config_.latentStd, config_.zDim, 1.0).to(device_, dtype_);
}

std::unique_ptr<WanVideoVae> WanVideoVae::fromCheckpoint(const std::filesystem::path& path,
                                                         WanVaeConfig config, c10::Device device,
                                                         c10::ScalarType dtype) {
  const runtime::CheckpointReader reader(path);
  const auto stateDict = reader.loadAll(c10::Device(c10::DeviceType::CPU), c10::ScalarType::Float);
  return std::make_unique<WanVideoVae>(std::move(config), stateDict, device, dtype);
}

std::map<std::string, at::Tensor> WanVideoVae::randomStateDict(const WanVaeConfig& config, uint64_t seed) {
  at::Generator generator = runtime::makeGenerator(seed);
  std::map<std::string, at::Tensor> out;
  for (const auto& spec : buildVideoVaeManifest(config).tensors) {
    const bool isGamma = spec.name.size() > 6 && spec.name.compare(spec.name.size() - 6, 6, ".gamma") == 0;
    if (isGamma) {
      out[spec.name] = at::ones(spec.shape, at::kFloat);
    } else if (spec.shape.size() == 1) {
      out[spec.name] = at::zeros(spec.shape, at::kFloat);
    } else {
      const int64_t fanIn = spec.numel() / spec.shape[0];
      out[spec.name] = runtime::randn(spec.shape, generator) * (1.0 / std::sqrt(static_cast<double>(fanIn)));
    }
  }
  return out;
}

const at::Tensor& WanVideoVae::weight(const std::string& name) const {
  const auto it = weights_.find(name);
  if (it == weights_.end()) {
    throw core::Error("video VAE: no tensor " + name);
  }
  return it->second;
}

at::Tensor WanVideoVae::encode(const at::Tensor& frames) { return encodeImpl(frames, true); }
at::Tensor WanVideoVae::decode(const at::Tensor& latents) { return decodeImpl(latents, true); }
at::Tensor WanVideoVae::encodeWhole(const at::Tensor& frames) { return encodeImpl(frames, false); }
at::Tensor WanVideoVae::decodeWhole(const at::Tensor& latents) { return decodeImpl(latents, false); }

at::Tensor WanVideoVae::encodeImpl(const at::Tensor& frames, bool chunked) {
  if (!frames.defined() || (frames.dim() != 4 && frames.dim() != 5) || frames.size(-1) != 3) {
    throw core::InputError("video VAE: expected frames [N, H, W, 3] or [B, N, H, W, 3], got " +
                           (frames.defined() ? spec::formatShape(frames.sizes().vec()) : std::string("nothing")));
  }
  if (!at::isFloatingType(frames.scalar_type())) {
    throw core::InputError("video VAE: frames must be floating point in 0..1");
  }
  const at::Tensor clip = frames.dim() == 4 ? frames.unsqueeze(0) : frames;
  const int64_t count = clip.size(1);
  const int64_t s = spatialCompression();
  if (!isValidFrameCount(count)) {
    throw core::InputError("video VAE: " + std::to_string(count) + " frames; the count must be 1 + k·" +
                           std::to_string(temporalCompression()));
  }
  if (clip.size(2) % s != 0 || clip.size(3) % s != 0 || clip.size(2) == 0 || clip.size(3) == 0) {
    throw core::InputError("video VAE: frame size " + std::to_string(clip.size(3)) + "x" +
                           std::to_string(clip.size(2)) + " must be a positive multiple of " +
                           std::to_string(s));
  }
  runtime::InferenceGuard guard;
  const Network net(config_, weights_);
  at::Tensor x = clip.to(device_, dtype_).permute({0, 4, 1, 2, 3}) * 2.0 - 1.0;
  x = patchify(x, config_.patchSize);
  CausalCache cache;
  at::Tensor moments;
  if (chunked) {
    // The first frame alone, then chunks of temporalCompression() frames.
    const int64_t step = temporalCompression();
    std::vector<at::Tensor> outs;
    outs.push_back(net.encoder(x.narrow(2, 0, 1), cache));
    for (int64_t start = 1; start < count; start += step) {
      outs.push_back(net.encoder(x.narrow(2, start, step), cache));
    }
    moments = outs.size() == 1 ? outs.front() : at::cat(outs, 2);
  } else {
    moments = net.encoder(x, cache);
  }
  const at::Tensor mu = net.pointwise(moments, "conv1").narrow(1, 0, config_.zDim);
  return ((mu - mean_) / std_).contiguous();
}

at::Tensor WanVideoVae::decodeImpl(const at::Tensor& latents, bool chunked) {
  if (!latents.defined() || latents.dim() != 5 || latents.size(1) != config_.zDim || latents.size(2) < 1 ||
      latents.size(3) < 1 || latents.size(4) < 1) {
    throw core::InputError("video VAE: expected latents [B, " + std::to_string(config_.zDim) +
                           ", F, H, W], got " +
                           (latents.defined() ? spec::formatShape(latents.sizes().vec()) : std::string("nothing")));
  }
  runtime::InferenceGuard guard;
  const Network net(config_, weights_);
  const at::Tensor z = latents.to(device_, dtype_) * std_ + mean_;
  const at::Tensor x = net.pointwise(z, "conv2");
  // [B, 12, T, h, w] in [−1, 1] → [B, T, H, W, 3] in 0..1, float on the CPU.
  const auto toImage = [&](const at::Tensor& patches) {
    const at::Tensor rgb = unpatchify(patches, config_.patchSize).clamp(-1.0, 1.0);
    return ((rgb.permute({0, 2, 3, 4, 1}) + 1.0) * 0.5).to(c10::Device(c10::DeviceType::CPU), at::kFloat);
  };
  CausalCache cache;
  if (!chunked) {
    return toImage(net.decoder(x, cache, /*first=*/true)).contiguous();
  }
  const int64_t frames = decodedFrames(latents.size(2));
  const int64_t p = spatialCompression();
  at::Tensor out =
      at::empty({latents.size(0), frames, latents.size(3) * p, latents.size(4) * p, 3}, at::kFloat);
  int64_t written = 0;
  for (int64_t i = 0; i < latents.size(2); ++i) {
    const at::Tensor piece = toImage(net.decoder(x.narrow(2, i, 1), cache, /*first=*/i == 0));
    out.narrow(1, written, piece.size(1)).copy_(piece);
    written += piece.size(1);
  }
  if (written != frames) {
    throw core::Error("video VAE: decoded " + std::to_string(written) + " frames, expected " +
                      std::to_string(frames));
  }
  return out;
}

at::Tensor WanVideoVae::trainingMoments(const WanVaeConfig& config, const std::map<std::string, at::Tensor>& weights,
                                        const at::Tensor& frames) {
  const Network net(config, weights);
  at::Tensor x = frames.permute({0, 4, 1, 2, 3}) * 2.0 - 1.0;
  CausalCache cache;
  return net.pointwise(net.encoder(patchify(x, config.patchSize), cache), "conv1");
}

at::Tensor WanVideoVae::trainingDecode(const WanVaeConfig& config, const std::map<std::string, at::Tensor>& weights,
                                       const at::Tensor& latents) {
  const Network net(config, weights);
  CausalCache cache;
  const at::Tensor patches = net.decoder(net.pointwise(latents, "conv2"), cache, /*first=*/true);
  return unpatchify(patches, config.patchSize).permute({0, 2, 3, 4, 1});
}

}  // namespace presence::models::video
