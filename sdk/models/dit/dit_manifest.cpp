#include "presence/models/dit/dit_manifest.hpp"

#include <sstream>

namespace presence::models::dit {
namespace {

// Appends a tower's parameters in the order its PyTorch modules register them, so a manifest
// lines up with the public state dicts.
class TowerManifest {
 public:
  TowerManifest(const TowerConfig& t, const DitConfig& c, std::vector<ParameterSpec>& out)
      : t_(t), c_(c), out_(out) {}

  void build() {
    const int64_t d = t_.dim;
    if (t_.isVideo()) {
      add("patch_embedding.weight", {d, t_.inDim, t_.patchSize[0], t_.patchSize[1], t_.patchSize[2]}, "xavier_uniform");
      add("patch_embedding.bias", {d}, "zeros");
    } else {
      const int64_t k = t_.convKernel, h = t_.convMlpHidden();
      add("patch_embedding.0.weight", {d, t_.inDim, k}, "xavier_uniform");
      add("patch_embedding.0.bias", {d}, "zeros");
      add("patch_embedding.2.w1.weight", {h, d, k}, "xavier_uniform");
      add("patch_embedding.2.w2.weight", {d, h, k}, "xavier_uniform");
      add("patch_embedding.2.w3.weight", {h, d, k}, "xavier_uniform");
    }
    linear("text_embedding.0", d, t_.textDim, "normal_0.02");
    linear("text_embedding.2", d, d, "normal_0.02");
    linear("time_embedding.0", d, t_.freqDim, "normal_0.02");
    linear("time_embedding.2", d, d, "normal_0.02");
    linear("time_projection.1", 6 * d, d);
    for (int64_t i = 0; i < t_.numLayers; ++i) block("blocks." + std::to_string(i) + ".");
    add("head.head.weight", {t_.headOutFeatures(), d}, "zeros");
    add("head.head.bias", {t_.headOutFeatures()}, "zeros");
    add("head.modulation", {1, 2, d}, "modulation");
  }

 private:
  void add(const std::string& name, std::vector<int64_t> shape, std::string init,
           ParameterRole role = ParameterRole::Forward, std::string twin = {}) {
    ParameterSpec p;
    p.name = t_.prefix + "." + name;
    p.shape = std::move(shape);
    p.dtype = c_.weightDtype;
    p.role = role;
    p.init = std::move(init);
    if (!twin.empty()) p.twin = t_.prefix + "." + twin;
    out_.push_back(std::move(p));
  }
  void linear(const std::string& name, int64_t outF, int64_t inF, const std::string& init = "xavier_uniform",
              ParameterRole role = ParameterRole::Forward, const std::string& twin = {}) {
    add(name + ".weight", {outF, inF}, init, role, twin.empty() ? "" : twin + ".weight");
    add(name + ".bias", {outF}, "zeros", role, twin.empty() ? "" : twin + ".bias");
  }
  void attention(const std::string& base, const std::string& suffix, ParameterRole role, const std::string& twinBase) {
    const int64_t d = t_.dim;
    const bool prime = !twinBase.empty();
    for (const char* proj : {"q", "k", "v", "o"})
      linear(base + proj + suffix, d, d, "xavier_uniform", role, prime ? twinBase + proj : "");
    if (t_.qkNorm) {
      for (const char* norm : {"norm_q", "norm_k"})
        add(base + norm + suffix + ".weight", {d}, "ones", role, prime ? twinBase + norm + ".weight" : "");
    }
  }

  void block(const std::string& b) {
    const int64_t d = t_.dim;
    // norm1 and norm2 are LayerNorms without affine parameters.
    attention(b + "self_attn.", "", ParameterRole::Forward, "");
    if (t_.crossAttnNorm) {
      add(b + "norm3.weight", {d}, "ones");
      add(b + "norm3.bias", {d}, "zeros");
    }
    attention(b + "cross_attn.", "", ParameterRole::Forward, "");
    if (c_.fusion) {
      // The released FusionModel.init_weights scales the video tower's fusion projections by 0.1.
      const std::string fusionInit = t_.isVideo() ? "xavier_uniform_0.1" : "xavier_uniform";
      linear(b + "cross_attn.k_fusion", d, d, fusionInit);
      linear(b + "cross_attn.v_fusion", d, d, fusionInit);
      add(b + "cross_attn.pre_attn_norm_fusion.weight", {d}, "ones");
      add(b + "cross_attn.pre_attn_norm_fusion.bias", {d}, "zeros");
      if (t_.qkNorm) add(b + "cross_attn.norm_k_fusion.weight", {d}, "ones");
    }
    linear(b + "ffn.0", t_.ffnDim, d);
    linear(b + "ffn.2", d, t_.ffnDim);
    add(b + "modulation", {1, 6, d}, "modulation");
    if (!t_.primeWeightsStored) return;
    // The reference path's decoupled weights (eq. 6). Only self-attention, modulation and FFN
    // are read, and only where the tower uses them; the norm3 and cross-attention copies exist
    // in the released files but references skip text cross-attention.
    const ParameterRole used = t_.primeWeightsUsed ? ParameterRole::Forward : ParameterRole::StoredOnly;
    add(b + "modulation_prime", {1, 6, d}, "modulation", used, b + "modulation");
    attention(b + "self_attn.", "_prime", used, b + "self_attn.");
    if (t_.crossAttnNorm) {
      add(b + "norm3_prime.weight", {d}, "ones", ParameterRole::StoredOnly, b + "norm3.weight");
      add(b + "norm3_prime.bias", {d}, "zeros", ParameterRole::StoredOnly, b + "norm3.bias");
    }
    attention(b + "cross_attn_prime.", "", ParameterRole::StoredOnly, b + "cross_attn.");
    linear(b + "ffn_prime.0", t_.ffnDim, d, "xavier_uniform", used, b + "ffn.0");
    linear(b + "ffn_prime.2", d, t_.ffnDim, "xavier_uniform", used, b + "ffn.2");
  }

  const TowerConfig& t_;
  const DitConfig& c_;
  std::vector<ParameterSpec>& out_;
};

int64_t product(const std::vector<int64_t>& shape) {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return n;
}

}  // namespace

int64_t ParameterSpec::numel() const { return product(shape); }

int64_t Manifest::tensorCount(bool includeExtensions) const {
  int64_t n = 0;
  for (const auto& p : parameters) n += includeExtensions || p.role != ParameterRole::Extension;
  return n;
}

int64_t Manifest::parameterCount(bool includeExtensions) const {
  int64_t n = 0;
  for (const auto& p : parameters)
    if (includeExtensions || p.role != ParameterRole::Extension) n += p.numel();
  return n;
}

int64_t Manifest::forwardTensorCount() const {
  int64_t n = 0;
  for (const auto& p : parameters) n += p.role != ParameterRole::StoredOnly;
  return n;
}

int64_t Manifest::forwardParameterCount() const {
  int64_t n = 0;
  for (const auto& p : parameters)
    if (p.role != ParameterRole::StoredOnly) n += p.numel();
  return n;
}

int64_t Manifest::find(const std::string& name) const {
  for (size_t i = 0; i < parameters.size(); ++i)
    if (parameters[i].name == name) return static_cast<int64_t>(i);
  return -1;
}

Manifest buildManifest(const DitConfig& config) {
  config.validate();
  Manifest m;
  TowerManifest(config.video, config, m.parameters).build();
  TowerManifest(config.audio, config, m.parameters).build();
  if (config.identity.maxSubjects > 0) {
    ParameterSpec ids;
    ids.name = "identity_embeddings";
    ids.shape = {config.identity.maxSubjects, config.video.dim};
    ids.dtype = config.weightDtype;
    ids.role = ParameterRole::Extension;
    ids.init = "zeros";
    m.parameters.push_back(std::move(ids));
  }
  return m;
}

const char* toString(ParameterRole role) {
  switch (role) {
    case ParameterRole::Forward: return "forward";
    case ParameterRole::StoredOnly: return "stored-only";
    case ParameterRole::Extension: return "extension";
  }
  return "?";
}

std::string formatManifest(const Manifest& manifest) {
  std::ostringstream out;
  for (const auto& p : manifest.parameters) {
    out << p.name << "\t[";
    for (size_t i = 0; i < p.shape.size(); ++i) out << (i ? ", " : "") << p.shape[i];
    out << "]\t" << p.dtype << "\t" << toString(p.role) << "\n";
  }
  return out.str();
}

}  // namespace presence::models::dit
