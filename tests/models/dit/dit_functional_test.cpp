// Sinusoid, RoPE and token layout against their definitions; weight allocation against the manifest.
#include "presence/models/dit/dit_functional.hpp"

#include <ATen/core/grad_mode.h>
#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <string>

#include "dit_test_util.hpp"
#include "presence/core/error.hpp"
#include "presence/models/dit/dit_manifest.hpp"

namespace presence::models::dit {
namespace {

using test::randn;

TEST(DitSinusoid, MatchesTheDefinitionForKnownTimesteps) {
  const at::Tensor t = at::tensor({0.0, 1.0, 500.0, 999.0}, at::TensorOptions().dtype(at::kFloat));
  const at::Tensor e = sinusoidalEmbedding(8, t);
  ASSERT_EQ(e.scalar_type(), at::kDouble);
  ASSERT_EQ(e.sizes(), (at::IntArrayRef{4, 8}));
  const double freqs[4] = {1.0, 0.1, 0.01, 0.001};  // 10000^(-i/4)
  const double ts[4] = {0.0, 1.0, 500.0, 999.0};
  for (int n = 0; n < 4; ++n) {
    for (int i = 0; i < 4; ++i) {
      EXPECT_NEAR(e[n][i].item<double>(), std::cos(ts[n] * freqs[i]), 1e-12) << n << "," << i;
      EXPECT_NEAR(e[n][4 + i].item<double>(), std::sin(ts[n] * freqs[i]), 1e-12) << n << "," << i;
    }
  }
  EXPECT_DOUBLE_EQ(e[0][0].item<double>(), 1.0);
  EXPECT_DOUBLE_EQ(e[0][4].item<double>(), 0.0);
}

TEST(DitRope, FrequenciesOfTheFullSizeSplit) {
  const DitConfig iap = preset("iap");
  EXPECT_EQ(iap.video.ropeTimePairs(), 22);
  EXPECT_EQ(iap.video.ropeSpacePairs(), 21);
  const at::Tensor ft = ropeFrequencies(22, 10000.0);
  const at::Tensor fs = ropeFrequencies(21, 10000.0);
  for (int i = 0; i < 22; ++i)
    EXPECT_NEAR(ft[i].item<double>(), 1.0 / std::pow(10000.0, 2.0 * i / 44.0), 1e-15);
  for (int i = 0; i < 21; ++i)
    EXPECT_NEAR(fs[i].item<double>(), 1.0 / std::pow(10000.0, 2.0 * i / 42.0), 1e-15);
}

// Expected angle of pair j of a video token (f, h, w), written out from rope_params /
// rope_apply_3d: the pair index within its section picks the frequency.
double videoAngle(const TowerConfig& t, int64_t j, double f, double h, double w) {
  const int64_t tp = t.ropeTimePairs(), sp = t.ropeSpacePairs();
  if (j < tp) return f / std::pow(t.ropeTheta, 2.0 * j / (2.0 * tp));
  if (j < tp + sp) return h / std::pow(t.ropeTheta, 2.0 * (j - tp) / (2.0 * sp));
  return w / std::pow(t.ropeTheta, 2.0 * (j - tp - sp) / (2.0 * sp));
}

TEST(DitRope, VideoRotationEqualsComplexMultiplication) {
  const TowerConfig tower = test::tinyConfig().video;  // head dim 32: 16 pairs split 6 / 5 / 5
  const int64_t f = 3, h = 2, w = 4, heads = tower.numHeads, d = tower.headDim(), pairs = d / 2;
  const at::Tensor positions = gridPositions(f, h, w, 5);
  const at::Tensor x = randn({2, f * h * w, heads, d}, 1);
  const at::Tensor rotated = applyRope(x, ropeTable(ropeAngles(tower, positions), at::kCPU));

  at::Tensor angles = at::empty({f * h * w, pairs}, at::TensorOptions().dtype(at::kDouble));
  for (int64_t n = 0; n < f * h * w; ++n) {
    // token order f·H·W + h·W + w, time from the offset 5
    const double tf = 5 + n / (h * w), th = (n / w) % h, tw = n % w;
    EXPECT_EQ(positions[n][0].item<double>(), tf);
    EXPECT_EQ(positions[n][1].item<double>(), th);
    EXPECT_EQ(positions[n][2].item<double>(), tw);
    for (int64_t j = 0; j < pairs; ++j) angles[n][j] = videoAngle(tower, j, tf, th, tw);
  }
  const at::Tensor z =
      at::view_as_complex(x.to(at::kDouble).reshape({2, f * h * w, heads, pairs, 2}).contiguous());
  const at::Tensor rot = at::polar(at::ones_like(angles), angles).view({1, f * h * w, 1, pairs});
  const at::Tensor expected = at::view_as_real(z * rot).flatten(3);
  EXPECT_LT(test::maxAbsDiff(rotated, expected), 1e-5);
}

TEST(DitRope, AudioSharesTheVideoTimeAxisAndPassesTheRestThrough) {
  const DitConfig c = test::tinyConfig();
  const TowerConfig& audio = c.audio;
  const int64_t len = 40, tp = audio.ropeTimePairs(), pairs = audio.ropePairs();
  ASSERT_DOUBLE_EQ(audio.temporalRopeScale, 0.19676);
  const at::Tensor pos = at::arange(len, at::TensorOptions().dtype(at::kDouble));
  const at::Tensor a = ropeAngles(audio, pos);
  ASSERT_EQ(a.sizes(), (at::IntArrayRef{len, pairs}));
  // Audio position p rotates like a video frame at p * scale: the frequency ratio is the scale.
  const at::Tensor onVideoAxis =
      at::stack({pos * audio.temporalRopeScale, at::zeros_like(pos), at::zeros_like(pos)}, -1);
  const at::Tensor v = ropeAngles(c.video, onVideoAxis);
  EXPECT_LT(test::maxAbsDiff(a.narrow(1, 0, tp), v.narrow(1, 0, tp)), 1e-12);
  for (int64_t j = 0; j < tp; ++j)
    EXPECT_NEAR(a[1][j].item<double>() / (1.0 / std::pow(audio.ropeTheta, 2.0 * j / (2.0 * tp))), 0.19676,
                1e-12);
  EXPECT_EQ(a.narrow(1, tp, pairs - tp).abs().max().item<double>(), 0.0);

  const at::Tensor x = randn({1, len, audio.numHeads, audio.headDim()}, 2);
  const at::Tensor r = applyRope(x, ropeTable(a, at::kCPU));
  EXPECT_TRUE(at::equal(r.narrow(3, 2 * tp, 2 * (pairs - tp)), x.narrow(3, 2 * tp, 2 * (pairs - tp))));
  const at::Tensor z =
      at::view_as_complex(x.to(at::kDouble).reshape({1, len, audio.numHeads, pairs, 2}).contiguous());
  const at::Tensor expected =
      at::view_as_real(z * at::polar(at::ones_like(a), a).view({1, len, 1, pairs})).flatten(3);
  EXPECT_LT(test::maxAbsDiff(r, expected), 1e-5);
  // The released bf16 rounding of the 1-D result is an option.
  const at::Tensor compat = applyRope(x, ropeTable(a, at::kCPU, true));
  EXPECT_TRUE(at::equal(compat, r.to(at::kBFloat16).to(at::kFloat)));
}

// On CUDA builds a GPU runs RoPE as one kernel of its own: the same rotations as the CPU's for
// float32 and bf16 inputs, per-item and shared tables, the released bf16 rounding, non-contiguous
// inputs, and with a graph (where the LibTorch path runs, so gradients flow).
TEST(DitRope, TheGpuGivesTheCpuRotations) {
  if (!at::hasCUDA()) GTEST_SKIP() << "no CUDA device";
  const TowerConfig tower = test::tinyConfig().video;
  const int64_t f = 3, h = 2, w = 4, n = f * h * w, heads = tower.numHeads, d = tower.headDim();
  const at::Device cuda(at::kCUDA, 0);
  // Within one bf16 rounding of the CPU's result (the two may round a float32 that differs in its
  // last bit to neighbouring bf16 values).
  const auto withinOneBf16Step = [](const at::Tensor& got, const at::Tensor& want) {
    const at::Tensor g = got.cpu().to(at::kDouble), e = want.to(at::kDouble);
    return ((g - e).abs() - e.abs() * std::ldexp(1.0, -7) - 1e-6).max().item<double>() <= 0.0;
  };
  const at::Tensor shared = ropeAngles(tower, gridPositions(f, h, w, 5));                        // [L, P]
  const at::Tensor perItem = at::stack({shared, ropeAngles(tower, gridPositions(f, h, w, 9))});  // [2, L, P]
  const at::Tensor x = randn({2, n, heads, d}, 3) * 4.0;
  for (const at::Tensor& angles : {shared, perItem})
    for (bool round : {false, true}) {
      const RopeTable cpu = ropeTable(angles, at::kCPU, round), gpu = ropeTable(angles, cuda, round);
      const at::Tensor got = applyRope(x.to(cuda), gpu), want = applyRope(x, cpu);
      if (round)
        EXPECT_TRUE(withinOneBf16Step(got, want)) << "bf16-rounded result, table " << angles.sizes();
      else
        EXPECT_LT(test::maxAbsDiff(got.cpu(), want), 1e-5) << angles.sizes();
      const at::Tensor xb = x.to(at::kBFloat16);
      const at::Tensor gotB = applyRope(xb.to(cuda), gpu);
      EXPECT_EQ(gotB.scalar_type(), at::kBFloat16);
      EXPECT_TRUE(withinOneBf16Step(gotB, applyRope(xb, cpu))) << "bf16 input, table " << angles.sizes();
      // A view with other strides (the heads of a wider tensor) is read correctly.
      const at::Tensor wide = randn({2, n, 2 * heads, d}, 4).to(cuda);
      const at::Tensor view = wide.narrow(2, heads, heads);
      const at::Tensor wantView = applyRope(view.cpu().contiguous(), cpu);
      if (round)
        EXPECT_TRUE(withinOneBf16Step(applyRope(view, gpu), wantView));
      else
        EXPECT_LT(test::maxAbsDiff(applyRope(view, gpu).cpu(), wantView), 1e-5);
    }
  // With a graph: gradients reach x. A rotation keeps the norm, so d/dx sum(rope(x)²) = 2x.
  const at::Tensor xg = x.to(cuda).requires_grad_(true);
  applyRope(xg, ropeTable(shared, cuda)).pow(2).sum().backward();
  ASSERT_TRUE(xg.grad().defined());
  EXPECT_LT(test::maxAbsDiff(xg.grad().cpu(), 2 * x), 1e-4);
}

TEST(DitGelu, TanhApproximationMatchesItsDefinitionWithAndWithoutAGraph) {
  const at::Tensor x = randn({3, 257}, 11) * 4;  // tails where tanh saturates, odd length
  const at::Tensor xd = x.to(at::kDouble);
  const at::Tensor z = 0.7978845608028654 * (xd + 0.044715 * xd * xd * xd);
  const at::Tensor expected = 0.5 * xd * (1 + at::tanh(z));
  {
    at::NoGradGuard noGrad;  // inference: the in-place path where LibTorch 1.x takes it
    EXPECT_LT(test::maxAbsDiff(geluTanh(x), expected), 1e-5);
    EXPECT_EQ(geluTanh(x.to(at::kBFloat16)).scalar_type(), at::kBFloat16);
    // bf16: the exact value of the bf16 input, rounded once (half a bf16 ulp is 2^-9 relative).
    const at::Tensor xb = x.to(at::kBFloat16);
    const at::Tensor expectedB = at::gelu(xb.to(at::kDouble), "tanh");
    const at::Tensor error = (geluTanh(xb).to(at::kDouble) - expectedB).abs();
    EXPECT_TRUE(at::all(error <= expectedB.abs() * std::ldexp(1.0, -8) + 1e-6).item<bool>())
        << "max error " << error.max().item<double>();
  }
  // Training: the graph is recorded and the gradient is GELU's.
  const at::Tensor leaf = x.clone().requires_grad_(true);
  geluTanh(leaf).sum().backward();
  const at::Tensor reference = x.clone().requires_grad_(true);
  at::gelu(reference, "tanh").sum().backward();
  EXPECT_LT(test::maxAbsDiff(leaf.grad(), reference.grad()), 1e-5);
}

// Wan's norms normalise in float32 and round once: on every device a bf16 result is within one
// bf16 rounding (2^-8 relative) of the exact value, and float32 inputs keep float32 accuracy.
TEST(DitNorms, LayerNormAndRmsNormMatchTheirDefinitions) {
  const at::Tensor x = test::randn({3, 50, 96}, 5) * 3.0 + 0.5;
  const at::Tensor w = 1.0 + 0.1 * test::randn({96}, 6), b = 0.1 * test::randn({96}, 7);
  const at::Tensor xd = x.to(at::kBFloat16).to(at::kDouble);  // what a bf16 input holds
  const at::Tensor wd = w.to(at::kBFloat16).to(at::kDouble), bd = b.to(at::kBFloat16).to(at::kDouble);
  const at::Tensor centred = xd - xd.mean(-1, true);
  const at::Tensor ln = centred / at::sqrt(centred.pow(2).mean(-1, true) + 1e-6) * wd + bd;
  const at::Tensor rms =
      (xd / at::sqrt(xd.pow(2).mean(-1, true) + 1e-6)).to(at::kBFloat16).to(at::kDouble) * wd;
  const auto check = [&](const at::Device& device) {
    const auto bf16 = at::TensorOptions().dtype(at::kBFloat16).device(device);
    const at::Tensor xb = x.to(bf16), wb = w.to(bf16), bb = b.to(bf16);
    const at::Tensor l = layerNorm(xb, 1e-6, wb, bb), r = rmsNorm(xb, wb, 1e-6);
    EXPECT_EQ(l.scalar_type(), at::kBFloat16);
    EXPECT_EQ(r.scalar_type(), at::kBFloat16);
    // One rounding of the result, plus the weight product's for rms (done in bf16, as released).
    EXPECT_LT(((l.cpu().to(at::kDouble) - ln).abs() / (ln.abs() + 1e-2)).max().item<double>(), 8e-3)
        << device;
    EXPECT_LT(((r.cpu().to(at::kDouble) - rms).abs() / (rms.abs() + 1e-2)).max().item<double>(), 8e-3)
        << device;
    const at::Tensor xf = xb.to(at::kFloat), wf = wb.to(at::kFloat), bf = bb.to(at::kFloat);
    EXPECT_LT(test::maxAbsDiff(layerNorm(xf, 1e-6, wf, bf).cpu(), ln), 1e-4) << device;
    EXPECT_LT(
        test::maxAbsDiff(layerNorm(xf, 1e-6).cpu(), centred / at::sqrt(centred.pow(2).mean(-1, true) + 1e-6)),
        1e-4)
        << device;
  };
  check(at::kCPU);
  if (at::hasCUDA()) check(at::Device(at::kCUDA, 0));
}

TEST(DitLayout, UnpatchifyInvertsPatchifyAndFollowsTheEinsumLayout) {
  for (const std::array<int64_t, 3> patch :
       {std::array<int64_t, 3>{1, 2, 2}, std::array<int64_t, 3>{2, 2, 2}}) {
    const int64_t b = 2, c = 3, f = 2, h = 4, w = 6;
    const at::Tensor video =
        at::arange(b * c * f * h * w, at::TensorOptions().dtype(at::kFloat)).view({b, c, f, h, w});
    const at::Tensor tokens = patchify(video, patch);
    const auto [pt, ph, pw] = patch;
    const int64_t fg = f / pt, hg = h / ph, wg = w / pw;
    ASSERT_EQ(tokens.sizes(), (at::IntArrayRef{b, fg * hg * wg, pt * ph * pw * c}));
    EXPECT_TRUE(at::equal(unpatchify(tokens, {fg, hg, wg}, patch, c), video));
    // Token (f, h, w) = f·H·W + h·W + w; feature ((p·ph + q)·pw + r)·C + c.
    for (int64_t bi = 0; bi < b; ++bi)
      for (int64_t fi = 0; fi < fg; ++fi)
        for (int64_t hi = 0; hi < hg; ++hi)
          for (int64_t wi = 0; wi < wg; ++wi)
            for (int64_t p = 0; p < pt; ++p)
              for (int64_t q = 0; q < ph; ++q)
                for (int64_t r = 0; r < pw; ++r)
                  for (int64_t ci = 0; ci < c; ++ci) {
                    const int64_t token = (fi * hg + hi) * wg + wi,
                                  feature = ((p * ph + q) * pw + r) * c + ci;
                    ASSERT_EQ(tokens[bi][token][feature].item<float>(),
                              video[bi][ci][fi * pt + p][hi * ph + q][wi * pw + r].item<float>());
                  }
  }
}

TEST(DitWeights, AllocationFollowsTheManifest) {
  for (const std::string& name : presetNames()) {
    const DitConfig c = name == "tiny" ? preset(name) : test::tinySized(name);
    const Manifest m = buildManifest(c);
    const DitWeights w = DitWeights::allocate(c, at::kCPU, 1);
    EXPECT_EQ(w.parameterCount(), m.forwardParameterCount()) << name;
    EXPECT_EQ(static_cast<int64_t>(w.names().size()), m.forwardTensorCount()) << name;
    EXPECT_TRUE(w.missing().empty()) << name;
    std::set<std::string> storedOnly;
    for (const auto& p : m.parameters) {
      if (p.role == ParameterRole::StoredOnly) {
        storedOnly.insert(p.name);
      } else {
        EXPECT_EQ(w.get(p.name).sizes(), at::IntArrayRef(p.shape)) << p.name;
      }
    }
    const auto ignored = w.ignoredStoredOnly();
    EXPECT_EQ(std::set<std::string>(ignored.begin(), ignored.end()), storedOnly) << name;
    if (name == "iap") {
      EXPECT_FALSE(storedOnly.empty());
    }
    EXPECT_EQ(w.get(c.video.prefix + ".blocks.0.ffn.0.weight").scalar_type(), dtypeFromString(c.weightDtype));

    const DitWeights all = DitWeights::allocate(c, at::kCPU, at::kFloat, 1, true);
    EXPECT_EQ(all.parameterCount(), m.parameterCount()) << name;
    EXPECT_TRUE(all.ignoredStoredOnly().empty());
    for (const auto& p : m.parameters)
      if (p.role == ParameterRole::StoredOnly) {
        EXPECT_TRUE(at::equal(all.get(p.name), all.get(p.twin))) << p.name;
      }
  }
  // The small preset at its real size.
  const DitConfig small = preset("small");
  EXPECT_EQ(DitWeights::allocate(small, at::kCPU, 3).parameterCount(),
            buildManifest(small).forwardParameterCount());
}

TEST(DitWeights, InitialisationKinds) {
  const DitConfig c = test::tinyConfig();
  const DitWeights w = DitWeights::allocate(c, at::kCPU, at::kFloat, 5);
  // xavier_uniform on [out, rest]: U(-b, b), b = sqrt(6 / (fan_in + fan_out)).
  const at::Tensor q = w.get("video_model.blocks.0.self_attn.q.weight");
  const double bound = std::sqrt(6.0 / (64 + 64));
  EXPECT_LE(q.abs().max().item<double>(), bound);
  EXPECT_NEAR(q.std().item<double>(), bound / std::sqrt(3.0), 0.05 * bound);
  const at::Tensor pe = w.get("video_model.patch_embedding.weight");  // [64, 4, 1, 2, 2]: fan_in 16
  EXPECT_LE(pe.abs().max().item<double>(), std::sqrt(6.0 / (16 + 64)));
  EXPECT_GT(pe.abs().max().item<double>(), 0.9 * std::sqrt(6.0 / (16 + 64)));
  // The released init scales the video tower's fusion projections by 0.1, not the audio tower's.
  EXPECT_LE(w.get("video_model.blocks.0.cross_attn.k_fusion.weight").abs().max().item<double>(), 0.1 * bound);
  EXPECT_NEAR(w.get("video_model.blocks.0.cross_attn.v_fusion.weight").std().item<double>(),
              0.1 * bound / std::sqrt(3.0), 0.005 * bound);
  EXPECT_GT(w.get("audio_model.blocks.0.cross_attn.k_fusion.weight").abs().max().item<double>(), 0.5 * bound);
  const at::Tensor mod = w.get("audio_model.blocks.1.modulation");  // randn / sqrt(dim)
  EXPECT_NEAR(mod.std().item<double>(), 1.0 / 8.0, 0.02);
  EXPECT_NEAR(w.get("video_model.text_embedding.0.weight").std().item<double>(), 0.02, 0.002);
  EXPECT_EQ(w.get("video_model.head.head.weight").abs().max().item<double>(), 0.0);
  EXPECT_EQ(w.get("identity_embeddings").abs().max().item<double>(), 0.0);
  EXPECT_TRUE(at::equal(w.get("video_model.blocks.0.norm3.weight"), at::ones({64})));
  // Deterministic, and per tensor: a one-block config shares block 0 with the two-block one.
  const DitWeights again = DitWeights::allocate(test::tinyConfig(1), at::kCPU, at::kFloat, 5);
  EXPECT_TRUE(at::equal(again.get("video_model.blocks.0.self_attn.q.weight"), q));
  EXPECT_FALSE(at::equal(
      DitWeights::allocate(c, at::kCPU, at::kFloat, 6).get("video_model.blocks.0.self_attn.q.weight"), q));
}

TEST(DitWeights, DrawingOnTheDeviceKeepsEachInitialisation) {
  const DitConfig c = test::tinyConfig();
  const std::string q = "video_model.blocks.0.self_attn.q.weight";
  const double bound = std::sqrt(6.0 / (64 + 64));
  // On the CPU the device source is the CPU source.
  const DitWeights cpu = DitWeights::allocate(c, at::kCPU, at::kFloat, 5);
  const DitWeights same = DitWeights::allocate(c, at::kCPU, at::kFloat, 5, false, RandomSource::Device);
  for (const auto& name : cpu.names()) EXPECT_TRUE(at::equal(cpu.get(name), same.get(name))) << name;
  if (!at::hasCUDA()) GTEST_SKIP() << "no CUDA device";
  const at::Device cuda(at::kCUDA, 0);
  const DitWeights w = DitWeights::allocate(c, cuda, at::kFloat, 5, false, RandomSource::Device);
  EXPECT_TRUE(w.get(q).is_cuda());
  EXPECT_LE(w.get(q).abs().max().item<double>(), bound);
  EXPECT_NEAR(w.get(q).std().item<double>(), bound / std::sqrt(3.0), 0.05 * bound);
  EXPECT_NEAR(w.get("audio_model.blocks.1.modulation").std().item<double>(), 1.0 / 8.0, 0.02);
  EXPECT_EQ(w.get("video_model.head.head.weight").abs().max().item<double>(), 0.0);
  EXPECT_TRUE(at::equal(w.get("video_model.blocks.0.norm3.weight").cpu(), at::ones({64})));
  // Reproducible per (seed, name) on the device, independent of the other tensors.
  const DitWeights again =
      DitWeights::allocate(test::tinyConfig(1), cuda, at::kFloat, 5, false, RandomSource::Device);
  EXPECT_TRUE(at::equal(again.get(q), w.get(q)));
  EXPECT_FALSE(at::equal(w.get(q).cpu(), cpu.get(q)));  // other numbers than the CPU's
}

TEST(DitWeights, MissingWeightsAreNamedAndPrimesComeFromTwins) {
  const DitConfig c = test::tinyConfig(1);
  const DitWeights full = DitWeights::allocate(c, at::kCPU, at::kFloat, 5);
  DitWeights w = DitWeights::empty(c);
  try {
    (void)w.get("video_model.blocks.0.self_attn.q.weight");
    FAIL() << "no throw";
  } catch (const core::Error& e) {
    EXPECT_NE(std::string(e.what()).find("video_model.blocks.0.self_attn.q.weight"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(w.set("video_model.blocks.0.nonsense.weight", at::zeros({1})), core::Error);
  EXPECT_THROW(w.set("video_model.blocks.0.self_attn.q.weight", at::zeros({2, 2})), core::Error);
  for (const auto& name : full.names())
    if (name.find("_prime") == std::string::npos && name != "identity_embeddings")
      w.set(name, full.get(name));
  EXPECT_FALSE(w.missing().empty());
  EXPECT_THROW(DualTowerDit(std::make_shared<DitWeights>(w)), core::Error);
  EXPECT_GT(w.fillPrimeFromTwins(), 0);
  EXPECT_TRUE(at::equal(w.get("video_model.blocks.0.self_attn.q_prime.weight"),
                        full.get("video_model.blocks.0.self_attn.q.weight")));
  EXPECT_TRUE(
      at::equal(w.get("video_model.blocks.0.modulation_prime"), full.get("video_model.blocks.0.modulation")));
  EXPECT_TRUE(
      at::equal(w.get("video_model.blocks.0.ffn_prime.2.bias"), full.get("video_model.blocks.0.ffn.2.bias")));
  ASSERT_EQ(w.missing(), std::vector<std::string>{"identity_embeddings"});
  EXPECT_EQ(w.initialiseMissing(1), 1);
  EXPECT_EQ(w.get("identity_embeddings").abs().max().item<double>(), 0.0);
  EXPECT_NO_THROW(DualTowerDit(std::make_shared<DitWeights>(w)));
}

}  // namespace
}  // namespace presence::models::dit
