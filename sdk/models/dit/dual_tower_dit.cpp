#include "presence/models/dit/dual_tower_dit.hpp"

#include <ATen/core/grad_mode.h>

#include <algorithm>
#include <optional>
#include <sstream>
#include <string>
#include <utility>

#include "presence/core/error.hpp"
#include "presence/models/dit/dit_functional.hpp"
#include "presence/runtime/torch_compat.hpp"

// The forward pass follows, function by function:
//   Ovi            ovi/modules/fusion.py  FusionModel.single_fusion_block_forward,
//                                         single_fusion_cross_attention_(ffn_)forward, forward
//                  ovi/modules/model.py   WanModel.prepare_transformer_block_kwargs, Head, rope_*
//   Identity-as-Presence identity_as_presence/models/iap_fusion_model.py FusionModelIDAV (the
//                  reference tokens, `x_prime`), iap_base_model.py WanSelfAttention
//                  .asymmetric_attention_reverse, rope_apply_prime_*, prepare_transformer_block_kwargs
//   Wan2.2         wan/modules/model.py   (the tower itself)

namespace presence::models::dit {
namespace {

using at::Tensor;

[[noreturn]] void inputError(const std::string& what) { throw core::InputError("DiT input: " + what); }

std::string shapeOf(const Tensor& t) {
  if (!t.defined()) return "undefined";
  std::string s = "[";
  for (int64_t i = 0; i < t.dim(); ++i) s += (i ? ", " : "") + std::to_string(t.size(i));
  return s + "]";
}

Tensor castTo(const Tensor& t, at::ScalarType dt) { return t.scalar_type() == dt ? t : t.to(dt); }

std::string blockName(int64_t i) { return "blocks." + std::to_string(i) + "."; }

// The released fusion norms hard-code eps 1e-6 (inject_cross_attention_kv_projections).
constexpr double kFusionEps = 1e-6;

// One tower's weights, read in the compute dtype.
class TowerWeights {
 public:
  TowerWeights(const TowerConfig& cfg, const DitWeights& weights, at::ScalarType dt)
      : prefix_(cfg.prefix + "."), weights_(weights), dt_(dt) {}
  Tensor operator()(const std::string& name) const { return castTo(weights_.get(prefix_ + name), dt_); }

 private:
  std::string prefix_;
  const DitWeights& weights_;
  at::ScalarType dt_;
};

// normed·(1 + scale) + shift, and x + y·gate, each as one fused kernel.
Tensor modulate(const Tensor& normed, const Tensor& shift, const Tensor& scale) {
  return at::addcmul(shift, normed, 1 + scale);
}
Tensor gated(const Tensor& x, const Tensor& y, const Tensor& gate) { return at::addcmul(x, y, gate); }

// [B, L, dim] <-> [B, heads, L, headDim]
Tensor toHeads(const Tensor& x, int64_t heads) {
  return x.view({x.size(0), x.size(1), heads, x.size(2) / heads});
}
Tensor fromHeads(const Tensor& o) {
  return o.transpose(1, 2).reshape({o.size(0), o.size(2), o.size(1) * o.size(3)});
}

// Everything one tower carries through a call.
struct TowerRun {
  TowerRun(const TowerConfig& c, const DitWeights& weights, at::ScalarType dt, at::Device dev)
      : cfg(c), w(c, weights, dt), dtype(dt), device(dev) {}

  const TowerConfig& cfg;
  TowerWeights w;
  at::ScalarType dtype;
  at::Device device;

  // Noisy tokens.
  Tensor x;   // [B, L, dim]
  Tensor e;   // [B, 1 or L, dim]     time_embedding output (the head's modulation)
  Tensor e0;  // [B, 1 or L, 6, dim]  time_projection output (the blocks' modulation)
  RopeTable rope;
  std::array<int64_t, 3> grid{1, 1, 1};  // video token grid (F', H', W')
  Tensor ctx, ctxMask;                   // text context [B, Lt, dim] and its key mask [B, 1, 1, Lt]
  std::vector<Tensor> mod;               // the current block's six modulation chunks

  // Reference tokens (x_prime).
  bool refs = false;
  Tensor xr;   // [B, Lr, dim]
  Tensor er0;  // [1, 1, 6, dim]: modulation input at t = 0
  RopeTable ropeR;
  Tensor refValid;     // [B, Lr] bool, undefined when every reference token is real
  Tensor noisyMask;    // [B, 1, 1, L + Lr] or undefined
  Tensor refSelfMask;  // [B, 1, Lr, Lr] or undefined
  const ReferenceCache::Entry* cached = nullptr;
  bool fillCache = false;
  std::string cacheKey;
  ReferenceCache::Entry fresh;

  std::map<int64_t, Tensor>* traceStates = nullptr;
  std::map<int64_t, Tensor>* traceRefs = nullptr;

  Tensor linear(const std::string& name, const Tensor& in) const {
    return at::linear(in, w(name + ".weight"), w(name + ".bias"));
  }
  Tensor qkNorm(const std::string& name, const Tensor& in) const {
    return cfg.qkNorm ? rmsNorm(in, w(name + ".weight"), cfg.eps) : in;
  }
  Tensor ffn(const std::string& name, const Tensor& in) const {
    return linear(name + ".2", geluTanh(linear(name + ".0", in)));
  }
  int64_t heads() const { return cfg.numHeads; }
};

// ---------------------------------------------------------------- embeddings

// Conv3d(kernel = stride = patch) as a matmul over (c, p, q, r)-ordered patches; tokens in
// f·H'·W' + h·W' + w order (x.flatten(2).transpose(1, 2)).
Tensor videoPatchEmbedding(const TowerRun& r, const Tensor& latent) {
  const auto [pt, ph, pw] = r.cfg.patchSize;
  const int64_t b = latent.size(0), c = latent.size(1);
  const int64_t f = latent.size(2) / pt, h = latent.size(3) / ph, w = latent.size(4) / pw;
  const Tensor patches = latent.reshape({b, c, f, pt, h, ph, w, pw})
                             .permute({0, 2, 4, 6, 1, 3, 5, 7})
                             .reshape({b, f * h * w, c * pt * ph * pw});
  return at::linear(patches, r.w("patch_embedding.weight").reshape({r.cfg.dim, -1}),
                    r.w("patch_embedding.bias"));
}

// Sequential(ChannelLastConv1d(k, p), SiLU, ConvMLP: w2(silu(w1 x) * w3 x)). With `valid`
// ([B, L] bool) the hidden states are zeroed past each item's length between the convolutions,
// so a padded sequence embeds exactly as the unpadded one does.
Tensor audioPatchEmbedding(const TowerRun& r, const Tensor& latent, const Tensor& valid = {}) {
  const int64_t pad = r.cfg.convKernel / 2;
  const Tensor keep = valid.defined() ? valid.unsqueeze(1).to(r.dtype) : Tensor();
  auto masked = [&](const Tensor& t) { return keep.defined() ? t * keep : t; };
  const Tensor x = masked(latent.transpose(1, 2));  // [B, C, L]
  const Tensor y =
      masked(at::silu(at::conv1d(x, r.w("patch_embedding.0.weight"), r.w("patch_embedding.0.bias"), 1, pad)));
  const Tensor h = masked(at::silu(at::conv1d(y, r.w("patch_embedding.2.w1.weight"), {}, 1, pad)) *
                          at::conv1d(y, r.w("patch_embedding.2.w3.weight"), {}, 1, pad));
  return masked(at::conv1d(h, r.w("patch_embedding.2.w2.weight"), {}, 1, pad)).transpose(1, 2);
}

// e = time_embedding(sinusoid(t)), e0 = time_projection(e) as [.., 6, dim]. `t` is [B, n].
std::pair<Tensor, Tensor> timeEmbedding(const TowerRun& r, const Tensor& t) {
  const int64_t b = t.size(0), n = t.size(1);
  const Tensor s =
      castTo(sinusoidalEmbedding(r.cfg.freqDim, t).to(r.device), r.dtype).view({b, n, r.cfg.freqDim});
  const Tensor e = r.linear("time_embedding.2", at::silu(r.linear("time_embedding.0", s)));
  const Tensor e0 = r.linear("time_projection.1", at::silu(e)).view({b, n, 6, r.cfg.dim});
  return {e, e0};
}

void textEmbedding(TowerRun& r, const Tensor& text, const std::vector<int64_t>& lengths, bool maskPadding,
                   int64_t batch, const char* which) {
  if (!text.defined())
    inputError(std::string(which) + " text context is missing (the " + which + " tower runs)");
  if (text.dim() != 3 || text.size(0) != batch || text.size(2) != r.cfg.textDim)
    inputError(std::string(which) + " text context is " + shapeOf(text) + ", expected [" +
               std::to_string(batch) + ", tokens, " + std::to_string(r.cfg.textDim) + "]");
  const int64_t lt = text.size(1);
  if (lt > r.cfg.textLen || lt < 1)
    inputError(std::string(which) + " text context has " + std::to_string(lt) + " tokens; text_len is " +
               std::to_string(r.cfg.textLen));
  std::vector<int64_t> lens = lengths.empty() ? std::vector<int64_t>(batch, lt) : lengths;
  if (static_cast<int64_t>(lens.size()) != batch)
    inputError(std::string(which) + " text lengths: " + std::to_string(lens.size()) +
               " given for a batch of " + std::to_string(batch));
  bool padded = false;
  for (int64_t n : lens) {
    if (n < (maskPadding ? 1 : 0) || n > lt)
      inputError(std::string(which) + " text length " + std::to_string(n) + " is outside 1.." +
                 std::to_string(lt));
    padded = padded || n < lt;
  }
  Tensor ctx = castTo(text.to(r.device), r.dtype);
  Tensor valid;
  if (padded) {
    const Tensor lenT = at::tensor(lens, at::TensorOptions().dtype(at::kLong)).to(r.device);
    valid = at::arange(lt, at::TensorOptions().dtype(at::kLong).device(r.device)).unsqueeze(0) <
            lenT.unsqueeze(1);
  }
  if (maskPadding) {
    if (padded) r.ctxMask = valid.view({batch, 1, 1, lt});
  } else {
    // Released behaviour: u[:len] zero-padded to text_len, every key attended.
    if (padded) ctx = ctx * valid.unsqueeze(-1).to(r.dtype);
    if (lt < r.cfg.textLen)
      ctx = at::cat({ctx, at::zeros({batch, r.cfg.textLen - lt, r.cfg.textDim}, ctx.options())}, 1);
  }
  r.ctx = r.linear("text_embedding.2", geluTanh(r.linear("text_embedding.0", ctx)));
}

// t [B] (or scalar) or per-token [B, n] -> double [B, 1 or n] on the CPU.
Tensor timesteps(const Tensor& t, const Tensor& perToken, int64_t batch, int64_t tokens, const char* which) {
  if (perToken.defined()) {
    if (perToken.dim() != 2 || perToken.size(0) != batch || perToken.size(1) != tokens)
      inputError(std::string(which) + " per-token timesteps are " + shapeOf(perToken) + ", expected [" +
                 std::to_string(batch) + ", " + std::to_string(tokens) + "]");
    return perToken.to(at::kCPU, at::kDouble);
  }
  if (!t.defined()) inputError("timestep t is missing");
  Tensor tt = t.to(at::kCPU, at::kDouble).reshape({-1});
  if (tt.numel() == 1) tt = tt.expand({batch});
  if (tt.numel() != batch) inputError("t is " + shapeOf(t) + ", expected [" + std::to_string(batch) + "]");
  return tt.reshape({batch, 1});
}

// ---------------------------------------------------------------- references

std::vector<int64_t> subjectsOf(const std::vector<int64_t>& given, int64_t count, const char* which) {
  if (given.empty()) {
    std::vector<int64_t> ids(count);
    for (int64_t k = 0; k < count; ++k) ids[k] = k;
    return ids;
  }
  if (static_cast<int64_t>(given.size()) != count)
    inputError(std::string(which) + " subjects: " + std::to_string(given.size()) + " ids for " +
               std::to_string(count) + " references");
  return given;
}

// identity_embeddings rows of each reference's subject, repeated over its tokens: [Lr, dim].
Tensor identityRows(const Tensor& table, const std::vector<int64_t>& subjects,
                    const std::vector<int64_t>& tokensPer) {
  std::vector<int64_t> rows;
  for (size_t k = 0; k < subjects.size(); ++k) rows.insert(rows.end(), tokensPer[k], subjects[k]);
  const Tensor idx = at::tensor(rows, at::TensorOptions().dtype(at::kLong)).to(table.device());
  return table.index_select(0, idx);
}

void checkSubjects(const std::vector<int64_t>& subjects, int64_t maxSubjects, bool tableUsed,
                   const char* which) {
  for (int64_t s : subjects) {
    if (s < 0) inputError(std::string(which) + " subject id " + std::to_string(s) + " is negative");
    if (tableUsed && s >= maxSubjects)
      inputError(std::string(which) + " subject id " + std::to_string(s) +
                 " is outside the identity table's " + std::to_string(maxSubjects) + " slots");
  }
}

void finishReferenceMasks(TowerRun& r, int64_t batch, int64_t noisyLen) {
  if (!r.refValid.defined()) return;
  const int64_t lr = r.refValid.size(1);
  const auto boolOpts = at::TensorOptions().dtype(at::kBool).device(r.device);
  r.noisyMask =
      at::cat({at::ones({batch, noisyLen}, boolOpts), r.refValid}, 1).view({batch, 1, 1, noisyLen + lr});
  // A padding token may attend to itself, so no query row is empty (its output is never read).
  r.refSelfMask = at::logical_or(r.refValid.unsqueeze(1), at::eye(lr, boolOpts).unsqueeze(0)).unsqueeze(1);
}

std::string tensorIdentity(const Tensor& t) {
  if (!t.defined()) return "-";
  std::ostringstream s;
  s << t.data_ptr() << "@" << t._version() << shapeOf(t) << at::toString(t.scalar_type());
  return s.str();
}

template <typename T>
std::string joined(const T& values) {
  std::string s;
  for (const auto& v : values) s += std::to_string(v) + ",";
  return s;
}

// Face references: patch-embedded video latent frames at temporal index offset + k, h and w from 0.
void prepareFaces(TowerRun& r, const DitReferences& refs, const Tensor& idTable, int64_t offset) {
  const Tensor& faces = refs.faces;
  const auto [pt, ph, pw] = r.cfg.patchSize;
  const int64_t batch = r.x.size(0);
  if (faces.dim() != 5 || faces.size(0) != batch || faces.size(1) != r.cfg.inDim || faces.size(2) % pt ||
      faces.size(3) % ph || faces.size(4) % pw)
    inputError("faces are " + shapeOf(faces) + ", expected [" + std::to_string(batch) + ", " +
               std::to_string(r.cfg.inDim) + ", faces, h, w] with h, w multiples of the patch");
  const int64_t nFaces = faces.size(2) / pt, hp = faces.size(3) / ph, wp = faces.size(4) / pw;
  const int64_t perFace = hp * wp;
  const std::vector<int64_t> subjects = subjectsOf(refs.faceSubjects, nFaces, "face");
  r.xr = videoPatchEmbedding(r, castTo(faces.to(r.device), r.dtype));
  if (idTable.defined()) r.xr = r.xr + identityRows(idTable, subjects, std::vector<int64_t>(nFaces, perFace));
  if (refs.faceMask.defined()) {
    if (refs.faceMask.dim() != 2 || refs.faceMask.size(0) != batch || refs.faceMask.size(1) != nFaces)
      inputError("face mask is " + shapeOf(refs.faceMask) + ", expected [" + std::to_string(batch) + ", " +
                 std::to_string(nFaces) + "]");
    const Tensor m = refs.faceMask.to(r.device, at::kBool);
    if (!m.all().item<bool>()) r.refValid = m.repeat_interleave(perFace, 1);
  }
  r.ropeR = ropeTable(ropeAngles(r.cfg, gridPositions(nFaces, hp, wp, offset)), r.device);
}

// Voice references: each voice patch-embedded on its own (padding masked), concatenated; voice k
// token j of item b at 1-D position offset + k·stride_b + j.
void prepareVoices(TowerRun& r, const DitReferences& refs, const Tensor& idTable, int64_t offset,
                   int64_t slotStride, bool bf16Rope) {
  const int64_t batch = r.x.size(0);
  const int64_t nVoices = static_cast<int64_t>(refs.voices.size());
  if (!refs.voiceLengths.empty() && static_cast<int64_t>(refs.voiceLengths.size()) != nVoices)
    inputError("voice lengths: " + std::to_string(refs.voiceLengths.size()) + " lists for " +
               std::to_string(nVoices) + " voices");
  const std::vector<int64_t> subjects = subjectsOf(refs.voiceSubjects, nVoices, "voice");
  std::vector<std::vector<int64_t>> lens(nVoices);
  for (int64_t k = 0; k < nVoices; ++k) {
    const Tensor& v = refs.voices[k];
    if (!v.defined() || v.dim() != 3 || v.size(0) != batch || v.size(2) != r.cfg.inDim || v.size(1) < 1)
      inputError("voice " + std::to_string(k) + " is " + shapeOf(v) + ", expected [" + std::to_string(batch) +
                 ", length, " + std::to_string(r.cfg.inDim) + "]");
    lens[k] = refs.voiceLengths.empty() || refs.voiceLengths[k].empty()
                  ? std::vector<int64_t>(batch, v.size(1))
                  : refs.voiceLengths[k];
    if (static_cast<int64_t>(lens[k].size()) != batch)
      inputError("voice " + std::to_string(k) + " lengths: " + std::to_string(lens[k].size()) +
                 " for a batch of " + std::to_string(batch));
    for (int64_t n : lens[k])
      if (n < 0 || n > v.size(1))
        inputError("voice " + std::to_string(k) + " length " + std::to_string(n) + " is outside 0.." +
                   std::to_string(v.size(1)));
  }
  std::vector<int64_t> stride(batch, slotStride);
  for (int64_t b = 0; b < batch; ++b) {
    int64_t longest = 0;
    for (int64_t k = 0; k < nVoices; ++k) longest = std::max(longest, lens[k][b]);
    if (slotStride <= 0)
      stride[b] = longest;
    else if (longest > slotStride)
      inputError("a voice of " + std::to_string(longest) + " latents is longer than the voice slot stride " +
                 std::to_string(slotStride));
  }
  const auto longOpts = at::TensorOptions().dtype(at::kLong);
  const Tensor strideT = at::tensor(stride, longOpts);
  std::vector<Tensor> tokens, positions, valids;
  bool anyPadding = false;
  for (int64_t k = 0; k < nVoices; ++k) {
    const int64_t ls = refs.voices[k].size(1);
    const Tensor lenT = at::tensor(lens[k], longOpts);
    const Tensor j = at::arange(ls, longOpts).unsqueeze(0);
    const Tensor valid = j < lenT.unsqueeze(1);  // [B, ls] on the CPU
    const bool padded = !valid.all().item<bool>();
    anyPadding = anyPadding || padded;
    Tensor emb = audioPatchEmbedding(r, castTo(refs.voices[k].to(r.device), r.dtype),
                                     padded ? valid.to(r.device) : Tensor());
    if (idTable.defined()) emb = emb + identityRows(idTable, {subjects[k]}, {1});
    tokens.push_back(emb);
    valids.push_back(valid);
    positions.push_back(offset + k * strideT.unsqueeze(1) + j);  // [B, ls]
  }
  r.xr = at::cat(tokens, 1);
  if (anyPadding) r.refValid = at::cat(valids, 1).to(r.device);
  r.ropeR = ropeTable(ropeAngles(r.cfg, at::cat(positions, 1)), r.device, bf16Rope);
}

// ---------------------------------------------------------------- block

// The reference tokens' whole block (they skip text cross-attention and fusion): self-attention
// among references only, then the FFN; `_prime` weights where the tower uses them. Returns this
// layer's reference keys and values [B, heads, Lr, headDim] for the noisy tokens' attention.
std::pair<Tensor, Tensor> referenceBlock(TowerRun& r, int64_t i) {
  const std::string b = blockName(i);
  const std::string s = r.cfg.primeWeightsUsed ? "_prime" : "";
  const std::vector<Tensor> mod = (r.w(b + "modulation" + s).unsqueeze(0) + r.er0).unbind(2);
  const Tensor h = modulate(layerNorm(r.xr, r.cfg.eps), mod[0], mod[1]);
  const Tensor q =
      applyRope(toHeads(r.qkNorm(b + "self_attn.norm_q" + s, r.linear(b + "self_attn.q" + s, h)), r.heads()),
                r.ropeR)
          .transpose(1, 2);
  const Tensor k =
      applyRope(toHeads(r.qkNorm(b + "self_attn.norm_k" + s, r.linear(b + "self_attn.k" + s, h)), r.heads()),
                r.ropeR)
          .transpose(1, 2);
  const Tensor v = toHeads(r.linear(b + "self_attn.v" + s, h), r.heads()).transpose(1, 2);
  const Tensor y = r.linear(b + "self_attn.o" + s, fromHeads(runtime::attention(q, k, v, r.refSelfMask)));
  r.xr = gated(r.xr, y, mod[2]);
  r.xr = gated(r.xr, r.ffn(b + "ffn" + s, modulate(layerNorm(r.xr, r.cfg.eps), mod[3], mod[4])), mod[5]);
  if (r.traceRefs) (*r.traceRefs)[i] = r.xr;
  return {k, v};
}

// Self-attention part of block i: x += self_attn(norm1(x)·(1 + scale1) + shift1) · gate1, the
// noisy queries attending to cat(noisy, reference) keys.
void selfAttention(TowerRun& r, int64_t i) {
  const std::string b = blockName(i);
  r.mod = (r.w(b + "modulation").unsqueeze(0) + r.e0).unbind(2);
  const Tensor h = modulate(layerNorm(r.x, r.cfg.eps), r.mod[0], r.mod[1]);
  const Tensor q =
      applyRope(toHeads(r.qkNorm(b + "self_attn.norm_q", r.linear(b + "self_attn.q", h)), r.heads()), r.rope)
          .transpose(1, 2);
  Tensor k =
      applyRope(toHeads(r.qkNorm(b + "self_attn.norm_k", r.linear(b + "self_attn.k", h)), r.heads()), r.rope)
          .transpose(1, 2);
  Tensor v = toHeads(r.linear(b + "self_attn.v", h), r.heads()).transpose(1, 2);
  if (r.refs) {
    Tensor kr, vr;
    if (r.cached) {
      kr = r.cached->keys.at(i);
      vr = r.cached->values.at(i);
    } else {
      std::tie(kr, vr) = referenceBlock(r, i);
      if (r.fillCache) {
        r.fresh.keys[i] = kr.detach();
        r.fresh.values[i] = vr.detach();
      }
    }
    k = at::cat({k, castTo(kr, k.scalar_type())}, 2);
    v = at::cat({v, castTo(vr, v.scalar_type())}, 2);
  }
  const Tensor y = r.linear(b + "self_attn.o", fromHeads(runtime::attention(q, k, v, r.noisyMask)));
  r.x = gated(r.x, y, r.mod[2]);
}

// Cross step and FFN of block i: x += cross_attn(norm3(x)) where the queries attend to the text
// (unroped) and, with a fusion `target`, to the other tower's tokens through k_fusion / v_fusion
// (queries roped with this tower's positions, keys with the target's); the two attention outputs
// are summed before o. Then x += ffn(norm2(x)·(1 + scale2) + shift2) · gate2.
void crossAttentionAndFfn(TowerRun& r, int64_t i, const Tensor& target, const RopeTable* targetRope) {
  const std::string b = blockName(i);
  const std::string c = b + "cross_attn.";
  const Tensor n3 =
      r.cfg.crossAttnNorm ? layerNorm(r.x, r.cfg.eps, r.w(b + "norm3.weight"), r.w(b + "norm3.bias")) : r.x;
  const Tensor q = toHeads(r.qkNorm(c + "norm_q", r.linear(c + "q", n3)), r.heads());
  const Tensor kt = toHeads(r.qkNorm(c + "norm_k", r.linear(c + "k", r.ctx)), r.heads()).transpose(1, 2);
  const Tensor vt = toHeads(r.linear(c + "v", r.ctx), r.heads()).transpose(1, 2);
  Tensor out = runtime::attention(q.transpose(1, 2), kt, vt, r.ctxMask);
  if (target.defined()) {
    const Tensor tn = layerNorm(target, kFusionEps, r.w(c + "pre_attn_norm_fusion.weight"),
                                r.w(c + "pre_attn_norm_fusion.bias"));
    Tensor kf = r.linear(c + "k_fusion", tn);
    if (r.cfg.qkNorm) kf = rmsNorm(kf, r.w(c + "norm_k_fusion.weight"), kFusionEps);
    kf = applyRope(toHeads(kf, r.heads()), *targetRope).transpose(1, 2);
    const Tensor vf = toHeads(r.linear(c + "v_fusion", tn), r.heads()).transpose(1, 2);
    const Tensor qr = applyRope(q, r.rope).transpose(1, 2);
    out = out + runtime::attention(qr, kf, vf);
  }
  r.x = r.x + r.linear(c + "o", fromHeads(out));
  r.x = gated(r.x, r.ffn(b + "ffn", modulate(layerNorm(r.x, r.cfg.eps), r.mod[3], r.mod[4])), r.mod[5]);
}

// head(x, e): shift, scale = head.modulation + e; head.head(norm(x)·(1 + scale) + shift).
Tensor head(const TowerRun& r) {
  const Tensor m = r.w("head.modulation").unsqueeze(0) + r.e.unsqueeze(2);  // [B, 1 or L, 2, dim]
  return r.linear("head.head", modulate(layerNorm(r.x, r.cfg.eps), m.select(2, 0), m.select(2, 1)));
}

bool anyWeightRequiresGrad(const DitWeights& w) {
  for (const auto& t : w.parameters())
    if (t.requires_grad()) return true;
  return false;
}

}  // namespace

DualTowerDit::DualTowerDit(std::shared_ptr<const DitWeights> weights,
                           std::optional<at::ScalarType> computeDtype)
    : weights_(std::move(weights)) {
  if (!weights_) throw core::Error("DiT: no weights");
  const auto missing = weights_->missing();
  if (!missing.empty())
    throw core::Error("DiT: weight '" + missing.front() + "' is missing (" + std::to_string(missing.size()) +
                      " missing in all)");
  const auto params = weights_->parameters();
  device_ = params.front().device();
  for (const auto& name : weights_->names())
    if (weights_->get(name).device() != device_)
      throw core::Error("DiT: weight '" + name + "' is on " + weights_->get(name).device().str() +
                        ", others on " + device_.str());
  if (computeDtype)
    computeDtype_ = *computeDtype;
  else
    computeDtype_ = device_.is_cuda() ? at::kBFloat16 : dtypeFromString(config().cpuComputeDtype);
}

DitOutputs DualTowerDit::infer(const DitInputs& inputs, const DitForwardOptions& options,
                               ReferenceCache* cache) const {
  at::NoGradGuard noGrad;
  return forward(inputs, options, cache);
}

DitOutputs DualTowerDit::forward(const DitInputs& in, const DitForwardOptions& o,
                                 ReferenceCache* cache) const {
  const DitConfig& c = config();
  const bool hasVideo = in.video.defined(), hasAudio = in.audio.defined();
  if (!hasVideo && !hasAudio) inputError("neither a video nor an audio latent was given");
  for (int64_t i : o.skipLayers)
    if (i < 0 || i >= c.video.numLayers)
      inputError("skip layer " + std::to_string(i) + " is outside 0.." +
                 std::to_string(c.video.numLayers - 1));
  if (cache && at::GradMode::is_enabled() && anyWeightRequiresGrad(*weights_))
    throw core::Error(
        "DiT: a ReferenceCache is for inference; turn grad mode off (infer()) or drop the cache");

  int64_t batch = 0;
  if (hasVideo) {
    const auto [pt, ph, pw] = c.video.patchSize;
    const Tensor& v = in.video;
    if (v.dim() != 5 || v.size(1) != c.video.inDim || v.size(2) % pt || v.size(3) % ph || v.size(4) % pw ||
        v.size(2) == 0)
      inputError("video latent is " + shapeOf(v) + ", expected [B, " + std::to_string(c.video.inDim) +
                 ", F, H, W] with F, H, W multiples of the patch (" + std::to_string(pt) + ", " +
                 std::to_string(ph) + ", " + std::to_string(pw) + ")");
    batch = v.size(0);
  }
  if (hasAudio) {
    const Tensor& a = in.audio;
    if (a.dim() != 3 || a.size(2) != c.audio.inDim || a.size(1) < 1)
      inputError("audio latent is " + shapeOf(a) + ", expected [B, L, " + std::to_string(c.audio.inDim) +
                 "]");
    if (hasVideo && a.size(0) != batch)
      inputError("audio batch " + std::to_string(a.size(0)) + " differs from video batch " +
                 std::to_string(batch));
    batch = a.size(0);
  }

  const bool useIds = o.identityEmbeddings && c.identity.maxSubjects > 0;
  const Tensor idTable = useIds ? castTo(weights_->get("identity_embeddings"), computeDtype_) : Tensor();
  std::string skipKey = "skip:" + joined(o.skipLayers);

  std::optional<TowerRun> video, audio;
  if (hasVideo) {
    TowerRun& r = video.emplace(c.video, *weights_, computeDtype_, device_);
    const Tensor latent = castTo(in.video.to(device_), computeDtype_);
    const auto [pt, ph, pw] = c.video.patchSize;
    r.grid = {latent.size(2) / pt, latent.size(3) / ph, latent.size(4) / pw};
    r.x = videoPatchEmbedding(r, latent);
    const int64_t tokens = r.x.size(1);
    std::tie(r.e, r.e0) = timeEmbedding(r, timesteps(in.t, in.videoTimesteps, batch, tokens, "video"));
    r.rope = ropeTable(ropeAngles(c.video, gridPositions(r.grid[0], r.grid[1], r.grid[2])), device_);
    textEmbedding(r, in.videoText, in.videoTextLengths, o.maskTextPadding, batch, "video");
    if (o.trace) {
      r.traceStates = &o.trace->video;
      r.traceRefs = &o.trace->videoReferences;
    }
  }
  if (hasAudio) {
    TowerRun& r = audio.emplace(c.audio, *weights_, computeDtype_, device_);
    const Tensor latent = castTo(in.audio.to(device_), computeDtype_);
    r.x = audioPatchEmbedding(r, latent);
    const int64_t tokens = r.x.size(1);
    std::tie(r.e, r.e0) = timeEmbedding(r, timesteps(in.t, in.audioTimesteps, batch, tokens, "audio"));
    const Tensor pos = at::arange(tokens, at::TensorOptions().dtype(at::kDouble));
    r.rope = ropeTable(ropeAngles(c.audio, pos), device_, c.audioRopeBf16Compat);
    textEmbedding(r, in.audioText, in.audioTextLengths, o.maskTextPadding, batch, "audio");
    if (o.trace) {
      r.traceStates = &o.trace->audio;
      r.traceRefs = &o.trace->audioReferences;
    }
  }

  // References of the towers that run (a tower that does not run ignores its references).
  const DitReferences& refs = in.references;
  auto setUpReferences = [&](TowerRun& r, bool isVideo) {
    const int64_t faceOffset = o.faceFrameOffset >= 0 ? o.faceFrameOffset : r.grid[0];
    const int64_t voiceOffset =
        o.voicePositionOffset >= 0 ? o.voicePositionOffset : c.identity.audioReferenceOffset;
    std::string fingerprint;
    if (isVideo) {
      checkSubjects(refs.faceSubjects, c.identity.maxSubjects, useIds, "face");
      fingerprint = "faces:" + tensorIdentity(refs.faces) + "|mask:" + tensorIdentity(refs.faceMask) +
                    "|subjects:" + joined(refs.faceSubjects) + "|offset:" + std::to_string(faceOffset);
    } else {
      checkSubjects(refs.voiceSubjects, c.identity.maxSubjects, useIds, "voice");
      fingerprint = "subjects:" + joined(refs.voiceSubjects) + "|offset:" + std::to_string(voiceOffset) +
                    "|stride:" + std::to_string(o.voiceSlotStride);
      for (size_t k = 0; k < refs.voices.size(); ++k)
        fingerprint += "|voice:" + tensorIdentity(refs.voices[k]) +
                       (k < refs.voiceLengths.size() ? "/" + joined(refs.voiceLengths[k]) : "");
    }
    fingerprint += "|ids:" + std::to_string(useIds) + "|dtype:" + at::toString(computeDtype_);
    r.refs = true;
    if (cache) {
      r.cacheKey = c.name + "|" + r.cfg.prefix + "|" + skipKey;
      r.cached = cache->find(r.cacheKey, fingerprint);
      if (r.cached) {
        // An entry computed for another depth or batch size is not this pass's.
        bool fits = r.cached->keys.size() == static_cast<size_t>(r.cfg.numLayers);
        for (const Tensor& k : r.cached->keys) fits = fits && (!k.defined() || k.size(0) == batch);
        if (!fits) r.cached = nullptr;
      }
    }
    if (r.cached) {
      r.refValid = r.cached->keyMask;
    } else {
      if (isVideo)
        prepareFaces(r, refs, idTable, faceOffset);
      else
        prepareVoices(r, refs, idTable, voiceOffset, o.voiceSlotStride, c.audioRopeBf16Compat);
      if (r.traceRefs) (*r.traceRefs)[-1] = r.xr;
      // References are modulated at t = 0.
      const Tensor t0 = at::zeros({1, 1}, at::TensorOptions().dtype(at::kDouble));
      r.er0 = timeEmbedding(r, t0).second;
      if (cache) {
        r.fillCache = true;
        r.fresh.fingerprint = fingerprint;
        r.fresh.keys.assign(r.cfg.numLayers, Tensor());
        r.fresh.values.assign(r.cfg.numLayers, Tensor());
        r.fresh.keyMask = r.refValid;
      }
    }
    finishReferenceMasks(r, batch, r.x.size(1));
  };
  if (video && refs.hasFaces()) setUpReferences(*video, true);
  if (audio && refs.hasVoices()) setUpReferences(*audio, false);

  for (TowerRun* r : {video ? &*video : nullptr, audio ? &*audio : nullptr})
    if (r && r->traceStates) (*r->traceStates)[-1] = r->x;

  const bool fusion = o.fusion && c.fusion && video && audio;
  for (int64_t i = 0; i < c.video.numLayers; ++i) {
    if (o.skipLayers.count(i)) continue;  // the whole block, both towers and their references
    if (audio) selfAttention(*audio, i);
    if (video) selfAttention(*video, i);
    const Tensor ogAudio = audio ? audio->x : Tensor();
    if (audio) crossAttentionAndFfn(*audio, i, fusion ? video->x : Tensor(), fusion ? &video->rope : nullptr);
    if (video) crossAttentionAndFfn(*video, i, fusion ? ogAudio : Tensor(), fusion ? &audio->rope : nullptr);
    for (TowerRun* r : {video ? &*video : nullptr, audio ? &*audio : nullptr})
      if (r && r->traceStates) (*r->traceStates)[i] = r->x;
  }

  DitOutputs out;
  for (TowerRun* r : {video ? &*video : nullptr, audio ? &*audio : nullptr})
    if (r && r->fillCache) cache->store(r->cacheKey, std::move(r->fresh));
  if (video) {
    const Tensor tokens = head(*video);
    const at::ScalarType dt =
        at::isFloatingType(in.video.scalar_type()) ? in.video.scalar_type() : computeDtype_;
    out.video = unpatchify(tokens, video->grid, c.video.patchSize, c.video.outDim).to(dt);
  }
  if (audio) {
    const at::ScalarType dt =
        at::isFloatingType(in.audio.scalar_type()) ? in.audio.scalar_type() : computeDtype_;
    out.audio = head(*audio).to(dt);
  }
  return out;
}

}  // namespace presence::models::dit
