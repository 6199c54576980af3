#include "presence/models/text/umt5_manifest.hpp"

#include <cmath>
#include <sstream>

namespace presence::models::text {

namespace {

std::string normalInit(double std) {
  std::ostringstream out;
  out << "normal_" << std;
  return out.str();
}

}  // namespace

int64_t Umt5ParameterSpec::numel() const {
  int64_t n = 1;
  for (int64_t d : shape) {
    n *= d;
  }
  return n;
}

int64_t Umt5Manifest::parameterCount() const {
  int64_t n = 0;
  for (const auto& p : parameters) {
    n += p.numel();
  }
  return n;
}

int64_t Umt5Manifest::find(const std::string& name) const {
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    if (parameters[i].name == name) {
      return static_cast<int64_t>(i);
    }
  }
  return -1;
}

Umt5Manifest buildUmt5Manifest(const Umt5Config& config) {
  config.validate();
  const auto dim = config.dim;
  const auto dimAttn = config.dimAttn;
  const auto ffn = config.ffnDim;
  const auto d = static_cast<double>(dim);
  // Standard deviations of the public code's init_weights.
  const auto posStd = 1.0 / std::sqrt(2.0 * static_cast<double>(config.numBuckets * config.numHeads));
  Umt5Manifest m;
  auto add = [&m](std::string name, std::vector<int64_t> shape, std::string init) {
    m.parameters.push_back({std::move(name), std::move(shape), std::move(init)});
  };
  add("token_embedding.weight", {config.vocabSize, dim}, "normal_1");
  if (config.sharedPos) {
    add("pos_embedding.embedding.weight", {config.numBuckets, config.numHeads}, normalInit(posStd));
  }
  for (int64_t i = 0; i < config.numLayers; ++i) {
    const auto b = "blocks." + std::to_string(i) + ".";
    add(b + "norm1.weight", {dim}, "ones");
    add(b + "attn.q.weight", {dimAttn, dim}, normalInit(1.0 / std::sqrt(d * static_cast<double>(dimAttn))));
    add(b + "attn.k.weight", {dimAttn, dim}, normalInit(1.0 / std::sqrt(d)));
    add(b + "attn.v.weight", {dimAttn, dim}, normalInit(1.0 / std::sqrt(d)));
    add(b + "attn.o.weight", {dim, dimAttn}, normalInit(1.0 / std::sqrt(static_cast<double>(dimAttn))));
    add(b + "norm2.weight", {dim}, "ones");
    add(b + "ffn.gate.0.weight", {ffn, dim}, normalInit(1.0 / std::sqrt(d)));
    add(b + "ffn.fc1.weight", {ffn, dim}, normalInit(1.0 / std::sqrt(d)));
    add(b + "ffn.fc2.weight", {dim, ffn}, normalInit(1.0 / std::sqrt(static_cast<double>(ffn))));
    if (!config.sharedPos) {
      add(b + "pos_embedding.embedding.weight", {config.numBuckets, config.numHeads}, normalInit(posStd));
    }
  }
  add("norm.weight", {dim}, "ones");
  return m;
}

std::string formatUmt5Manifest(const Umt5Manifest& manifest) {
  std::ostringstream out;
  for (const auto& p : manifest.parameters) {
    out << p.name << "\t[";
    for (std::size_t i = 0; i < p.shape.size(); ++i) {
      out << (i ? ", " : "") << p.shape[i];
    }
    out << "]\n";
  }
  return out.str();
}

}  // namespace presence::models::text
