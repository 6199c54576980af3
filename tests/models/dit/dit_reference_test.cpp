// The forward pass against a literal, float64 transcription of the released Python code
// (Identity-as-Presence iap_fusion_model.py FusionModelIDAV.forward / single_fusion_block_forward,
// iap_base_model.py WanTransformer3DModel.prepare_transformer_block_kwargs, WanSelfAttention,
// rope_params / rope_apply_* / rope_apply_prime_*, Head, unpatchify), batch 1 as the released code
// supports, with its conventions: text zero-padded to text_len and unmasked, RoPE through
// complex numbers, Conv3d / ChannelLastConv1d patch embeddings, no identity table.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "dit_test_util.hpp"

namespace presence::models::dit {
namespace {

using at::Tensor;
using test::randn;

struct Ref {
  const DitWeights& w;
  std::string prefix;
  Tensor p(const std::string& name) const { return w.get(prefix + "." + name).to(at::kDouble); }
  Tensor lin(const std::string& name, const Tensor& x) const {
    return at::linear(x, p(name + ".weight"), p(name + ".bias"));
  }
};

// WanRMSNorm / WanLayerNorm
Tensor rms(const Tensor& x, const Tensor& w, double eps) {
  return x * at::rsqrt(x.pow(2).mean(-1, true) + eps) * w;
}
Tensor ln(const Tensor& x, double eps, const Tensor& w = {}, const Tensor& b = {}) {
  return at::layer_norm(x, {x.size(-1)}, w, b, eps);
}

// rope_params(max_seq_len, dim, theta, freqs_scaling) -> complex128 [max_seq_len, dim / 2]
Tensor ropeParams(int64_t maxLen, int64_t dim, double theta = 10000.0, double scaling = 1.0) {
  const auto f64 = at::TensorOptions().dtype(at::kDouble);
  Tensor freqs = 1.0 / at::pow(theta, at::arange(0, dim, 2, f64).div(static_cast<double>(dim)));
  freqs = scaling * freqs;
  freqs = at::outer(at::arange(maxLen, f64), freqs);
  return at::polar(at::ones_like(freqs), freqs);
}

// rope_apply_3d with offsets (f, h, w) for x [1, L, n, d]
Tensor ropeApply3d(const Tensor& x, int64_t f, int64_t h, int64_t w, const Tensor& freqs, int64_t fo = 0) {
  const int64_t n = x.size(2), c = x.size(3) / 2, len = f * h * w;
  const auto parts = freqs.split_with_sizes({c - 2 * (c / 3), c / 3, c / 3}, 1);
  const Tensor xi = at::view_as_complex(x[0].narrow(0, 0, len).reshape({len, n, -1, 2}).contiguous());
  const Tensor fi = at::cat({parts[0].narrow(0, fo, f).view({f, 1, 1, -1}).expand({f, h, w, -1}),
                             parts[1].narrow(0, 0, h).view({1, h, 1, -1}).expand({f, h, w, -1}),
                             parts[2].narrow(0, 0, w).view({1, 1, w, -1}).expand({f, h, w, -1})},
                            -1)
                        .reshape({len, 1, -1});
  return at::view_as_real(xi * fi).flatten(2).unsqueeze(0);
}

// rope_apply_1d / rope_apply_prime_1d (positions start..start+L)
Tensor ropeApply1d(const Tensor& x, const Tensor& freqs, int64_t start = 0) {
  const int64_t len = x.size(1), n = x.size(2), cRope = freqs.size(1);
  const Tensor xi = at::view_as_complex(x[0].reshape({len, n, -1, 2}).contiguous());
  const Tensor rot = xi.narrow(2, 0, cRope) * freqs.narrow(0, start, len).unsqueeze(1);
  const Tensor rest = xi.narrow(2, cRope, xi.size(2) - cRope);
  return at::view_as_real(at::cat({rot, rest}, 2)).flatten(2).unsqueeze(0);
}

// flash_attention on [B, L, n, d] without masks
Tensor attn(const Tensor& q, const Tensor& k, const Tensor& v) {
  const Tensor qt = q.transpose(1, 2), kt = k.transpose(1, 2), vt = v.transpose(1, 2);
  const Tensor s = at::matmul(qt, kt.transpose(-2, -1)) / std::sqrt(static_cast<double>(q.size(3)));
  return at::matmul(at::softmax(s, -1), vt).transpose(1, 2);
}

Tensor sinusoid(int64_t dim, const Tensor& pos) {
  const int64_t half = dim / 2;
  const Tensor p = pos.to(at::kDouble);
  const Tensor s =
      at::outer(p, at::pow(10000.0, -at::arange(half, p.options()).div(static_cast<double>(half))));
  return at::cat({at::cos(s), at::sin(s)}, 1);
}

TEST(DitReference, MatchesTheReleasedForwardTranscribed) {
  const DitConfig c = test::tinyConfig(2);
  auto weights = test::testWeights(c, 3);
  const DualTowerDit model(weights);
  const DitWeights& W = *weights;
  const Ref V{W, "video_model"}, A{W, "audio_model"};
  const int64_t dim = c.video.dim, n = c.video.numHeads, d = dim / n, eps6 = 0;
  (void)eps6;
  const double eps = c.video.eps;

  // Inputs: video [1, 16, 3, 4, 6], audio 11 latents, 2 faces of 4x4, 2 voices of 6 latents.
  const int64_t F = 3, H = 4, Wd = 6, La = 11, Lv = 6;
  const Tensor video = randn({1, c.video.inDim, F, H, Wd}, 1), audio = randn({1, La, c.audio.inDim}, 2);
  const Tensor textV = randn({1, 5, c.video.textDim}, 3), textA = randn({1, 7, c.audio.textDim}, 4);
  const Tensor faces = randn({1, c.video.inDim, 2, 4, 4}, 5);
  const Tensor voice0 = randn({1, Lv, c.audio.inDim}, 6), voice1 = randn({1, Lv, c.audio.inDim}, 7);
  const double t = 650.0;

  DitInputs in;
  in.video = video;
  in.audio = audio;
  in.t = at::full({1}, t);
  in.videoText = textV;
  in.audioText = textA;
  in.references.faces = faces;
  in.references.voices = {voice0, voice1};
  DitForwardOptions released;
  released.maskTextPadding = false;
  released.identityEmbeddings = false;
  const DitOutputs ours = model.forward(in, released);

  // ---- the transcription, in float64
  const int64_t f = F, h = H / 2, w = Wd / 2, Ltok = f * h * w;
  const Tensor freqsV = at::cat(
      {ropeParams(1024, d - 4 * (d / 6)), ropeParams(1024, 2 * (d / 6)), ropeParams(1024, 2 * (d / 6))}, 1);
  const Tensor freqsA = ropeParams(1024, d - 4 * (d / 6), 10000.0, c.audio.temporalRopeScale);

  // patch embeddings
  Tensor vid = at::conv3d(video.to(at::kDouble), V.p("patch_embedding.weight"), V.p("patch_embedding.bias"),
                          {1, 2, 2}, at::IntArrayRef{0, 0, 0})
                   .flatten(2)
                   .transpose(1, 2);
  auto audioEmbed = [&](const Tensor& x) {
    auto conv = [](const Tensor& in, const Tensor& wt, const Tensor& b) {
      return at::conv1d(in.permute({0, 2, 1}), wt, b, 1, 3).permute({0, 2, 1});  // ChannelLastConv1d
    };
    const Tensor y =
        at::silu(conv(x.to(at::kDouble), A.p("patch_embedding.0.weight"), A.p("patch_embedding.0.bias")));
    return conv(at::silu(conv(y, A.p("patch_embedding.2.w1.weight"), {})) *
                    conv(y, A.p("patch_embedding.2.w3.weight"), {}),
                A.p("patch_embedding.2.w2.weight"), {});
  };
  Tensor aud = audioEmbed(audio);
  const Tensor facesTok = at::conv3d(faces.to(at::kDouble), V.p("patch_embedding.weight"),
                                     V.p("patch_embedding.bias"), {1, 2, 2}, at::IntArrayRef{0, 0, 0});
  const int64_t fp = 2, hp = 2, wp = 2;
  Tensor vidPrime = facesTok.flatten(2).transpose(1, 2);
  Tensor audPrime = at::cat({audioEmbed(voice0), audioEmbed(voice1)}, 1);  // padded to Lv each, flattened

  // time: e per token, e0 = time_projection(e); references at t = 0
  auto timeEmb = [&](const Ref& R, int64_t len, double tt) {
    const Tensor s =
        sinusoid(c.video.freqDim, at::full({len}, tt, at::TensorOptions().dtype(at::kDouble))).unsqueeze(0);
    const Tensor e = R.lin("time_embedding.2", at::silu(R.lin("time_embedding.0", s)));
    return std::make_pair(e, R.lin("time_projection.1", at::silu(e)).unflatten(2, {6, dim}));
  };
  auto [vidE, vidE0] = timeEmb(V, Ltok, t);
  auto [audE, audE0] = timeEmb(A, La, t);
  const Tensor vidE0Prime = timeEmb(V, vidPrime.size(1), 0.0).second;
  const Tensor audE0Prime = timeEmb(A, audPrime.size(1), 0.0).second;

  // text: zero-padded to text_len, no mask
  auto textEmb = [&](const Ref& R, const Tensor& u) {
    const Tensor padded =
        at::cat({u.to(at::kDouble), at::zeros({1, c.video.textLen - u.size(1), u.size(2)}, at::kDouble)}, 1);
    return R.lin("text_embedding.2", at::gelu(R.lin("text_embedding.0", padded), "tanh"));
  };
  const Tensor ctxV = textEmb(V, textV), ctxA = textEmb(A, textA);

  auto chunks = [](const Tensor& mod, const Tensor& e0) { return (mod.unsqueeze(0) + e0).chunk(6, 2); };
  auto sq = [](const Tensor& t2) { return t2.squeeze(2); };
  auto heads = [&](const Tensor& x) { return x.view({1, -1, n, d}); };

  // WanSelfAttention.forward with x_prime (asymmetric_attention_reverse)
  auto selfAttn = [&](const Ref& R, const std::string& b, const Tensor& x, const Tensor& xp, bool video3d,
                      bool prime) {
    const std::string s = prime ? "_prime" : "";
    Tensor q = heads(rms(R.lin(b + "self_attn.q", x), R.p(b + "self_attn.norm_q.weight"), eps));
    Tensor k = heads(rms(R.lin(b + "self_attn.k", x), R.p(b + "self_attn.norm_k.weight"), eps));
    const Tensor v = heads(R.lin(b + "self_attn.v", x));
    Tensor qp =
        heads(rms(R.lin(b + "self_attn.q" + s, xp), R.p(b + "self_attn.norm_q" + s + ".weight"), eps));
    Tensor kp =
        heads(rms(R.lin(b + "self_attn.k" + s, xp), R.p(b + "self_attn.norm_k" + s + ".weight"), eps));
    const Tensor vp = heads(R.lin(b + "self_attn.v" + s, xp));
    if (video3d) {
      q = ropeApply3d(q, f, h, w, freqsV);
      k = ropeApply3d(k, f, h, w, freqsV);
      qp = ropeApply3d(qp, fp, hp, wp, freqsV, /*x_prime_rope_offsets[0] = F*/ f);
      kp = ropeApply3d(kp, fp, hp, wp, freqsV, f);
    } else {
      q = ropeApply1d(q, freqsA);
      k = ropeApply1d(k, freqsA);
      qp = ropeApply1d(qp, freqsA, c.identity.audioReferenceOffset);
      kp = ropeApply1d(kp, freqsA, c.identity.audioReferenceOffset);
    }
    const Tensor outX = attn(q, at::cat({k, kp}, 1), at::cat({v, vp}, 1)).flatten(2);
    const Tensor outP = attn(qp, kp, vp).flatten(2);
    return std::make_pair(R.lin(b + "self_attn.o", outX), R.lin(b + "self_attn.o" + s, outP));
  };

  // single_fusion_cross_attention_ffn_forward
  auto crossFfn = [&](const Ref& R, const std::string& b, const Tensor& src, bool srcVideo,
                      const Tensor& target, const Tensor& ctx, const std::vector<Tensor>& e) {
    const std::string ca = b + "cross_attn.";
    const Tensor x3 = ln(src, eps, R.p(b + "norm3.weight"), R.p(b + "norm3.bias"));
    Tensor q = heads(rms(R.lin(ca + "q", x3), R.p(ca + "norm_q.weight"), eps));
    const Tensor k = heads(rms(R.lin(ca + "k", ctx), R.p(ca + "norm_k.weight"), eps));
    const Tensor v = heads(R.lin(ca + "v", ctx));
    Tensor x = attn(q, k, v);
    const Tensor tn =
        ln(target, 1e-6, R.p(ca + "pre_attn_norm_fusion.weight"), R.p(ca + "pre_attn_norm_fusion.bias"));
    Tensor kt = heads(rms(R.lin(ca + "k_fusion", tn), R.p(ca + "norm_k_fusion.weight"), 1e-6));
    const Tensor vt = heads(R.lin(ca + "v_fusion", tn));
    q = srcVideo ? ropeApply3d(q, f, h, w, freqsV) : ropeApply1d(q, freqsA);
    kt = srcVideo ? ropeApply1d(kt, freqsA) : ropeApply3d(kt, f, h, w, freqsV);
    x = x + attn(q, kt, vt);
    Tensor out = src + R.lin(ca + "o", x.flatten(2));
    const Tensor y =
        R.lin(b + "ffn.2", at::gelu(R.lin(b + "ffn.0", ln(out, eps) * (1 + sq(e[4])) + sq(e[3])), "tanh"));
    return out + y * sq(e[5]);
  };

  for (int64_t i = 0; i < c.video.numLayers; ++i) {
    const std::string b = "blocks." + std::to_string(i) + ".";
    // audio: modulation (ordinary weights for x_prime too)
    const auto ae = chunks(A.p(b + "modulation"), audE0);
    const auto aep = chunks(A.p(b + "modulation"), audE0Prime);
    auto [ay, ayp] = selfAttn(A, b, ln(aud, eps) * (1 + sq(ae[1])) + sq(ae[0]),
                              ln(audPrime, eps) * (1 + sq(aep[1])) + sq(aep[0]), false, false);
    aud = aud + ay * sq(ae[2]);
    audPrime = audPrime + ayp * sq(aep[2]);
    // video: modulation_prime for x_prime
    const auto ve = chunks(V.p(b + "modulation"), vidE0);
    const auto vep = chunks(V.p(b + "modulation_prime"), vidE0Prime);
    auto [vy, vyp] = selfAttn(V, b, ln(vid, eps) * (1 + sq(ve[1])) + sq(ve[0]),
                              ln(vidPrime, eps) * (1 + sq(vep[1])) + sq(vep[0]), true, true);
    vid = vid + vy * sq(ve[2]);
    vidPrime = vidPrime + vyp * sq(vep[2]);
    const Tensor ogAudio = aud;
    aud = crossFfn(A, b, aud, false, vid, ctxA, ae);
    vid = crossFfn(V, b, vid, true, ogAudio, ctxV, ve);
    // x_prime FFNs (no cross-attention: enable_prime_cross_attn = False)
    vidPrime =
        vidPrime +
        V.lin(b + "ffn_prime.2",
              at::gelu(V.lin(b + "ffn_prime.0", ln(vidPrime, eps) * (1 + sq(vep[4])) + sq(vep[3])), "tanh")) *
            sq(vep[5]);
    audPrime =
        audPrime +
        A.lin(b + "ffn.2",
              at::gelu(A.lin(b + "ffn.0", ln(audPrime, eps) * (1 + sq(aep[4])) + sq(aep[3])), "tanh")) *
            sq(aep[5]);
  }
  // Head with e (not e0), then unpatchify
  auto headOut = [&](const Ref& R, const Tensor& x, const Tensor& e) {
    const auto m = (R.p("head.modulation").unsqueeze(0) + e.unsqueeze(2)).chunk(2, 2);
    return R.lin("head.head", ln(x, eps) * (1 + sq(m[1])) + sq(m[0]));
  };
  const Tensor vOut = headOut(V, vid, vidE)[0].view({f, h, w, 1, 2, 2, c.video.outDim});
  const Tensor expectedVideo =
      at::einsum("fhwpqrc->cfphqwr", {vOut}).reshape({c.video.outDim, f, h * 2, w * 2}).unsqueeze(0);
  const Tensor expectedAudio = headOut(A, aud, audE);

  const double vScale = expectedVideo.abs().max().item<double>(),
               aScale = expectedAudio.abs().max().item<double>();
  ASSERT_GT(vScale, 1e-2);
  ASSERT_GT(aScale, 1e-2);
  EXPECT_LT(test::maxAbsDiff(ours.video, expectedVideo), 1e-4 * vScale);
  EXPECT_LT(test::maxAbsDiff(ours.audio, expectedAudio), 1e-4 * aScale);

  // The references matter in both the transcription and ours; so does fusion.
  DitInputs noRefs = in;
  noRefs.references = {};
  EXPECT_GT(test::maxAbsDiff(model.forward(noRefs, released).video, expectedVideo), 1e-3 * vScale);
}

}  // namespace
}  // namespace presence::models::dit
