// Kill -9 in the middle of a step and of a checkpoint write, resume in a new process, and reach
// bit-identical weights; checkpoints are never partial, and damaged ones are refused by name.
#include <ATen/core/grad_mode.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include <nlohmann/json.hpp>

#include "training_test_util.hpp"

extern char** environ;

namespace presence::models::training {
namespace {
namespace fs = std::filesystem;

struct TempDir {
  fs::path path;
  TempDir() {
    path = fs::temp_directory_path() / ("presence-train-" + std::to_string(::getpid()) + "-" +
                                        std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()));
    fs::create_directories(path);
  }
  ~TempDir() { fs::remove_all(path); }
};

std::string readBytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// Starts the helper; with `pauseAt`, waits until it pauses there and SIGKILLs it. Returns the
// exit status (-SIGKILL when killed).
int runHelper(const fs::path& ckpt, int64_t steps, const fs::path& out, const std::string& pauseAt = {}) {
  const fs::path marker = out.string() + ".paused";
  fs::remove(marker);
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) env.emplace_back(*e);
  if (!pauseAt.empty()) {
    env.push_back("PRESENCE_TRAINING_PAUSE_AT=" + pauseAt);
    env.push_back("PRESENCE_TRAINING_PAUSE_MARKER=" + marker.string());
  }
  std::vector<char*> envp;
  for (auto& s : env) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string exe = PRESENCE_TRAINING_RESUME_HELPER, a1 = ckpt.string(), a2 = std::to_string(steps), a3 = out.string();
  char* argv[] = {exe.data(), a1.data(), a2.data(), a3.data(), nullptr};
  pid_t pid = 0;
  if (posix_spawn(&pid, exe.c_str(), nullptr, nullptr, argv, envp.data()) != 0) return -1000;
  if (!pauseAt.empty()) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);
    while (!fs::exists(marker) && std::chrono::steady_clock::now() < deadline) {
      int st = 0;
      if (waitpid(pid, &st, WNOHANG) == pid) return WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    kill(pid, SIGKILL);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -WTERMSIG(st);
}

std::vector<std::string> stepNames(const fs::path& dir) {
  std::vector<std::string> out;
  for (const auto& p : listTrainingCheckpoints(dir)) out.push_back(p.filename().string());
  return out;
}

TEST(TrainingResume, KillMidStepAndMidCheckpointThenResumeIsBitIdentical) {
  TempDir tmp;
  const fs::path straight = tmp.path / "straight", killed = tmp.path / "killed";
  ASSERT_EQ(runHelper(straight, 6, tmp.path / "straight.safetensors"), 0);

  // Killed in step index 3 (after the step-2 checkpoint, before the update).
  ASSERT_EQ(runHelper(killed, 6, tmp.path / "k1.safetensors", "step.accumulated:3"), -SIGKILL);
  EXPECT_EQ(stepNames(killed), (std::vector<std::string>{"step-00000002"}));
  // Resumed, then killed while the step-4 checkpoint is staged but not yet renamed into place.
  ASSERT_EQ(runHelper(killed, 6, tmp.path / "k2.safetensors", "checkpoint.staged:4"), -SIGKILL);
  EXPECT_EQ(stepNames(killed), (std::vector<std::string>{"step-00000002"}));
  EXPECT_TRUE(fs::exists(killed / ".tmp-step-00000004"));  // the half write, never read
  const auto ck = loadTrainingCheckpoint(killed / "step-00000002");
  EXPECT_EQ(ck.step, 2);
  EXPECT_EQ(ck.history.size(), 2u);

  ASSERT_EQ(runHelper(killed, 6, tmp.path / "resumed.safetensors"), 0);
  EXPECT_FALSE(fs::exists(killed / ".tmp-step-00000004"));
  EXPECT_EQ(stepNames(killed), (std::vector<std::string>{"step-00000004", "step-00000006"}));
  const std::string a = readBytes(tmp.path / "straight.safetensors"), b = readBytes(tmp.path / "resumed.safetensors");
  ASSERT_GT(a.size(), 1000u);
  EXPECT_TRUE(a == b) << "resumed weights differ from the uninterrupted run";
  // Loss history and optimiser state continue too.
  const auto s6 = loadTrainingCheckpoint(straight / "step-00000006"), k6 = loadTrainingCheckpoint(killed / "step-00000006");
  ASSERT_EQ(k6.history.size(), 6u);
  for (size_t i = 0; i < 6; ++i) EXPECT_EQ(s6.history[i].trainLoss, k6.history[i].trainLoss) << i;
  for (const auto& [name, t] : s6.tensors) EXPECT_TRUE(at::equal(t, k6.tensors.at(name))) << name;
}

TEST(TrainingResume, DamagedCheckpointIsRefusedNamingTheFile) {
  TempDir tmp;
  TrainingCheckpoint ck;
  ck.step = 5;
  ck.tensors["model/w"] = at::arange(100, at::kFloat);
  ck.config = {{"stage", "stage2"}};
  ck.history = {{1, 0.5, 0.6, 1e-4, 1.0, 0.45}};
  const fs::path dir = saveTrainingCheckpoint(tmp.path, ck);
  const auto ok = loadTrainingCheckpoint(dir);
  EXPECT_TRUE(at::equal(ok.tensors.at("model/w"), ck.tensors["model/w"]));
  EXPECT_EQ(ok.history[0].valLoss, 0.6);
  EXPECT_EQ(ok.history[0].valVideoLoss, 0.45);
  EXPECT_TRUE(std::isnan(ok.history[0].valAudioLoss));
  {
    // A checkpoint written before the per-tower losses were recorded still loads, without them.
    const std::string saved = readBytes(dir / "trainer.json");
    auto info = nlohmann::json::parse(saved);
    for (auto& r : info["history"]) r.erase("val_video_loss"), r.erase("val_audio_loss");
    std::ofstream(dir / "trainer.json", std::ios::trunc) << info.dump(1);
    const auto old = loadTrainingCheckpoint(dir);
    EXPECT_EQ(old.history[0].valLoss, 0.6);
    EXPECT_TRUE(std::isnan(old.history[0].valVideoLoss));
    std::ofstream(dir / "trainer.json", std::ios::trunc) << saved;
  }

  auto expectRefused = [&](const std::string& file) {
    try {
      loadTrainingCheckpoint(dir);
      FAIL() << "accepted a damaged " << file;
    } catch (const core::InputError& e) {
      EXPECT_NE(std::string(e.what()).find((dir / file).string()), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("incomplete or corrupt"), std::string::npos) << e.what();
    }
  };
  const std::string state = readBytes(dir / "state.safetensors");
  std::ofstream(dir / "state.safetensors", std::ios::binary | std::ios::trunc) << state.substr(0, state.size() / 2);
  expectRefused("state.safetensors");
  std::string flipped = state;
  flipped[flipped.size() - 3] ^= 0x5A;  // same size, one byte changed
  std::ofstream(dir / "state.safetensors", std::ios::binary | std::ios::trunc) << flipped;
  expectRefused("state.safetensors");
  std::ofstream(dir / "state.safetensors", std::ios::binary | std::ios::trunc) << state;
  std::ofstream(dir / "trainer.json", std::ios::trunc) << "{\"format\": \"presence-training";
  expectRefused("trainer.json");
}

TEST(TrainingResume, KeepsThePreviousCheckpointAndIgnoresTemporaryFolders) {
  TempDir tmp;
  fs::create_directories(tmp.path / ".tmp-step-00000009");  // a killed save
  fs::create_directories(tmp.path / "step-0000001x");       // not a checkpoint name
  EXPECT_FALSE(latestTrainingCheckpoint(tmp.path).has_value());
  TrainingCheckpoint ck;
  ck.tensors["model/w"] = at::ones({2});
  ck.config = nlohmann::json::object();
  for (int64_t s : {2, 4, 6}) {
    ck.step = s;
    saveTrainingCheckpoint(tmp.path, ck, 2);
  }
  EXPECT_EQ(stepNames(tmp.path), (std::vector<std::string>{"step-00000004", "step-00000006"}));
  EXPECT_EQ(*latestTrainingCheckpoint(tmp.path), tmp.path / "step-00000006");
  EXPECT_FALSE(fs::exists(tmp.path / ".tmp-step-00000009"));
}

// Options of a one-step stage-1 video run that checkpoints into `folder`.
TrainerOptions oneVideoStep(const fs::path& folder) {
  TrainerOptions o;
  o.stage = Stage::Stage1Video;
  o.steps = 1;
  o.checkpointDir = folder;
  return o;
}

void runOn(const std::shared_ptr<dit::DitWeights>& w, const TrainerOptions& o) {
  Trainer(w, o).run(cyclingBatchSource({test::tinyBatch(w->config(), 1, 1, true, false)}));
}

// A fresh trainer with options `o` refuses to resume, saying `what`.
void expectResumeRefused(const TrainerOptions& o, const std::string& what) {
  Trainer t(test::tinyWeights(), o);
  try {
    t.resume();
    FAIL() << "resumed; expected a refusal saying '" << what << "'";
  } catch (const core::InputError& e) {
    EXPECT_NE(std::string(e.what()).find(what), std::string::npos) << e.what();
  }
}

TEST(TrainingResume, StageMismatchIsRefused) {
  TempDir tmp;
  auto o = oneVideoStep(tmp.path);
  auto w = test::tinyWeights();
  runOn(w, o);
  EXPECT_EQ(readBytes(tmp.path / "loss_curve.csv")
                .rfind("step,train_loss,val_loss,learning_rate,seconds,val_video_loss,val_audio_loss\n1,", 0),
            0u);
  o.stage = Stage::Stage2Joint;
  expectResumeRefused(o, "belongs to stage1-video");
  // Starting stage 2 from the stage-1 weights is explicit.
  auto w2 = test::tinyWeights(1234);
  loadCheckpointWeights(tmp.path / "step-00000001", *w2);
  EXPECT_TRUE(at::equal(w2->get("video_model.head.head.weight"), w->get("video_model.head.head.weight")));
}

// A face loss weight is part of the run like the guidance dropout: another one is refused.
TEST(TrainingResume, OtherFaceLossWeightIsRefused) {
  TempDir tmp;
  auto o = oneVideoStep(tmp.path);
  o.faceLossWeight = 4.0;
  runOn(test::tinyWeights(), o);
  o.faceLossWeight = 1.0;
  expectResumeRefused(o, "was trained with face_loss_weight 4");
  o.faceLossWeight = 4.0;
  Trainer same(test::tinyWeights(), o);
  EXPECT_TRUE(same.resume());
}

// So is bf16 autocast, refused by naming the node's 'bf16' parameter.
TEST(TrainingResume, OtherBf16SettingIsRefused) {
  TempDir tmp;
  auto o = oneVideoStep(tmp.path);
  runOn(test::tinyWeights(), o);
  o.bf16Autocast = true;
  expectResumeRefused(o, "was trained with bf16 autocast off");
  Trainer refused(test::tinyWeights(), o);
  try {
    refused.resume();
    ADD_FAILURE() << "resumed a float32 checkpoint in bf16";
  } catch (const core::ParamError& e) {
    EXPECT_EQ(e.param(), "bf16");
  }
  o.bf16Autocast = false;
  Trainer same(test::tinyWeights(), o);
  EXPECT_TRUE(same.resume());
}

// A checkpoint continues the training that made it: resuming with other starting weights (an
// upstream stage that was extended and rerun) is refused rather than silently keeping the old
// result; the same starting weights (a rerun after a kill) resume as before.
TEST(TrainingResume, CheckpointOfOtherStartingWeightsIsRefused) {
  TempDir tmp;
  auto o = TrainerOptions{};
  o.stage = Stage::Stage1Video;
  o.steps = 2;
  o.checkpointDir = tmp.path;
  const auto batch = test::tinyBatch(test::tinyWeights()->config(), 1, 1, true, false);
  {
    Trainer first(test::tinyWeights(7), o);
    first.run(cyclingBatchSource({batch}));
  }
  o.steps = 3;
  Trainer same(test::tinyWeights(7), o);
  EXPECT_TRUE(same.resume());
  EXPECT_EQ(same.step(), 2);

  auto changed = test::tinyWeights(7);
  {
    at::NoGradGuard noGrad;
    changed->get("video_model.head.head.weight").view({-1})[0].add_(1e-3);  // one element, slightly
  }
  Trainer other(changed, o);
  try {
    other.resume();
    FAIL() << "resumed training that started from other weights";
  } catch (const core::InputError& e) {
    EXPECT_NE(std::string(e.what()).find("started from other weights"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(tmp.path.string()), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace presence::models::training
