// Training throughput of the `small` DiT preset per stage, float32 and bf16 autocast, and the
// share of this machine's matrix-product rate it reaches; then the `small` video and audio VAEs'
// training steps at the default model's recipe settings, and with more than one thread a stage-2
// step beside another thread's idle OpenMP pool (not in CTest; docs/benchmarks.md).
// Usage: training_bench [steps per case, default 3] [intra-op threads, default LibTorch's]
#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include "presence/models/audio/vae_config.hpp"
#include "presence/models/dit/dit_presets.hpp"
#include "presence/models/training/autoencoder_training.hpp"
#include "presence/models/training/trainer.hpp"
#include "presence/models/video/video_vae_config.hpp"
#include "presence/runtime/intra_op_threads.hpp"
#include "presence/runtime/rng.hpp"

using namespace presence::models;
using Clock = std::chrono::steady_clock;

namespace {

double secondsSince(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// FLOP/s of a plain n×n matmul in `dtype` (best of a few runs).
double matmulRate(at::ScalarType dtype) {
  const int64_t n = 1024;
  const at::Tensor a = at::randn({n, n}).to(dtype), b = at::randn({n, n}).to(dtype);
  at::mm(a, b);
  double best = 1e30;
  for (int r = 0; r < 5; ++r) {
    const auto t = Clock::now();
    at::mm(a, b);
    best = std::min(best, secondsSince(t));
  }
  return 2.0 * n * n * n / best;
}

training::TrainingBatch benchBatch(const dit::DitConfig& c) {
  training::TrainingBatch b;
  b.video = presence::runtime::randn({1, c.video.inDim, 13, 8, 8}, 1);  // 49 frames at 128x128
  b.audio = presence::runtime::randn({1, 64, c.audio.inDim}, 2);
  b.text = presence::runtime::randn({1, 64, c.video.textDim}, 3);
  b.references.faces = presence::runtime::randn({1, c.video.inDim, 1, 4, 4}, 4);
  b.references.voices = {presence::runtime::randn({1, 100, c.audio.inDim}, 5)};
  return b;
}

// Seconds a step of `trainer` on the bench batch, after a warm-up step (allocations, autocast cache).
double stepSeconds(training::Trainer& trainer, const dit::DitConfig& cfg, int64_t steps) {
  auto source = training::cyclingBatchSource({benchBatch(cfg)});
  trainer.trainStep(source);
  const auto t = Clock::now();
  for (int64_t s = 0; s < steps; ++s) trainer.trainStep(source);
  return secondsSince(t) / static_cast<double>(steps);
}

// Seconds a step of a VAE trainer's run, the first step (allocations) left out.
double vaeStepSeconds(const training::AutoencoderTrainResult& r) {
  const auto& h = r.history;
  return (h.back().seconds - h.front().seconds) / static_cast<double>(h.size() - 1);
}

// The recipe's VAE settings (samples/graphs/train_default_model.json) on random clips: the cost of
// a step does not depend on what the pixels or samples are.
void vaeTable(int64_t steps) {
  std::vector<at::Tensor> clips, waves;
  for (int i = 0; i < 4; ++i) {
    clips.push_back(at::rand({49, 128, 128, 3}));
    waves.push_back(at::rand({32000}) * 0.2 - 0.1);
  }
  std::printf("\n| VAE | dtype | s/step | throughput |\n|---|---|---|---|\n");
  for (bool bf16 : {false, true}) {
    training::AutoencoderTrainOptions o;
    o.steps = steps + 1;
    o.batchSize = 4;
    o.cropSize = 64;
    o.cropFrames = 13;
    o.klWeight = 1e-4;
    o.bf16Autocast = bf16;
    const double s = vaeStepSeconds(training::trainVideoVae(video::videoVaePreset("small"), clips, o));
    std::printf("| video `small`, 4 crops of 13 frames at 64×64 | %s | %.3f | %.1f frames/s |\n",
                bf16 ? "bf16 autocast" : "f32", s, 4 * 13 / s);
    std::fflush(stdout);
  }
  for (bool bf16 : {false, true}) {
    training::AutoencoderTrainOptions o;
    o.steps = steps + 1;
    o.batchSize = 8;
    o.cropLatents = 32;
    o.bf16Autocast = bf16;
    const double s = vaeStepSeconds(training::trainAudioVae(audio::audioVaePreset("small"), waves, o));
    std::printf("| audio `small`, 8 crops of 32 latents (1.02 s) | %s | %.3f | %.1f s of audio/s |\n",
                bf16 ? "bf16 autocast" : "f32", s, 8 * 32 / 31.25 / s);
    std::fflush(stdout);
  }
}

// Seconds a stage-2 step in bf16 on `threads` intra-op threads (on the intra-op thread).
double stage2Bf16Step(const dit::DitConfig& cfg, int64_t steps, int threads) {
  return presence::runtime::runWithIntraOpThreads(threads, [&] {
    auto weights = std::make_shared<dit::DitWeights>(dit::DitWeights::allocate(cfg, at::kCPU, at::kFloat, 1));
    training::TrainerOptions o;
    o.stage = training::Stage::Stage2Joint;
    o.steps = steps + 1;
    o.bf16Autocast = true;
    training::Trainer trainer(weights, o);
    return stepSeconds(trainer, cfg, steps);
  });
}

// OpenMP keeps a pool of workers for each thread that ran more than one intra-op thread, while
// that thread lives; once the pools hold more threads than there are cores, its workers spin far
// less before sleeping. The same stage-2 step alone and while another
// live thread holds such a pool (an executor worker that ran an earlier node itself). Run before
// the main thread opens a pool of its own.
std::string poolTable(const dit::DitConfig& cfg, int64_t steps, int threads) {
  char row[160];
  std::string table = "\n| stage2, bf16 autocast, " + std::to_string(threads) +
                      " threads, on the intra-op thread | s/step |\n|---|---|\n";
  std::snprintf(row, sizeof row, "| no other OpenMP pool alive | %.3f |\n", stage2Bf16Step(cfg, steps, threads));
  table += row;
  std::atomic<int> phase{0};
  std::thread keeper([&] {
    const presence::runtime::IntraOpThreads guard(threads);
    (at::ones({1 << 21}) * 2.0).sum().item<double>();
    phase = 1;
    while (phase.load() < 2) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  });
  while (phase.load() < 1) std::this_thread::yield();
  std::snprintf(row, sizeof row, "| another live thread ran %d threads before (its pool idle) | %.3f |\n", threads,
                stage2Bf16Step(cfg, steps, threads));
  table += row;
  phase = 2;
  keeper.join();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  std::snprintf(row, sizeof row, "| that thread ended | %.3f |\n", stage2Bf16Step(cfg, steps, threads));
  return table + row;
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t steps = argc > 1 ? std::stoll(argv[1]) : 3;
  const int threads = argc > 2 ? std::stoi(argv[2]) : 0;
  const dit::DitConfig cfg = dit::preset("small");
  const std::string pools = threads > 1 ? poolTable(cfg, steps, threads) : std::string();
  if (threads > 0) at::set_num_threads(threads);
  const double rate32 = matmulRate(at::kFloat), rate16 = matmulRate(at::kBFloat16);
  std::printf("threads %d; 1024^3 matmul: f32 %.1f GFLOP/s, bf16 %.1f GFLOP/s\n", at::get_num_threads(), rate32 / 1e9,
              rate16 / 1e9);
  // Tokens each tower processes per sample: noisy latents + references + text (cross-attention
  // projections), patch 1x2x2 on video.
  const double videoTokens = 13.0 * 4 * 4 + 1 * 2 * 2, audioTokens = 64.0 + 100;
  std::printf("| stage | dtype | trainable params | s/step | samples/s | GFLOP/s (6·P·T) | share of matmul |\n");
  std::printf("|---|---|---|---|---|---|---|\n");
  for (auto stage : {training::Stage::Stage1Audio, training::Stage::Stage1Video, training::Stage::Stage2Joint,
                     training::Stage::Stage3MultiView}) {
    for (bool bf16 : {false, true}) {
      auto weights = std::make_shared<dit::DitWeights>(dit::DitWeights::allocate(cfg, at::kCPU, at::kFloat, 1));
      training::TrainerOptions o;
      o.stage = stage;
      o.steps = steps + 1;
      o.bf16Autocast = bf16;
      training::Trainer trainer(weights, o);
      const double perStep = stepSeconds(trainer, cfg, steps);
      // FLOPs: 6 x (parameters of each running tower) x (its tokens).
      double flops = 0, params = 0;
      for (const auto& n : weights->names()) {
        if (!training::stageUsesFusion(stage) && n.find("_fusion") != std::string::npos) continue;  // masked
        const double p = static_cast<double>(weights->get(n).numel());
        if (n.rfind("video_model.", 0) == 0 && training::stageUsesVideo(stage)) flops += 6 * p * videoTokens;
        if (n.rfind("audio_model.", 0) == 0 && training::stageUsesAudio(stage)) flops += 6 * p * audioTokens;
      }
      for (const auto& n : trainer.trainableNames()) params += static_cast<double>(weights->get(n).numel());
      const double achieved = flops / perStep;
      std::printf("| %s | %s | %.2fM | %.3f | %.2f | %.1f | %.0f%% |\n", training::stageName(stage).c_str(),
                  bf16 ? "bf16 autocast" : "f32", params / 1e6, perStep, 1.0 / perStep, achieved / 1e9,
                  100.0 * achieved / (bf16 ? rate16 : rate32));
      std::fflush(stdout);
    }
  }
  vaeTable(steps);
  std::printf("%s", pools.c_str());
  return 0;
}
