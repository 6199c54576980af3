// Child process of the kill-and-resume test: trains stage 2 of the tiny preset for <steps> steps
// with a checkpoint every 2 steps in <checkpoint dir> (resuming from the newest), then writes the
// final weights to <out.safetensors>. PRESENCE_TRAINING_PAUSE_AT="<point>:<step>" makes it write
// the file PRESENCE_TRAINING_PAUSE_MARKER and sleep at that hook point, for the test to SIGKILL.
#include <ATen/Parallel.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <thread>

#include "presence/runtime/safetensors_writer.hpp"
#include "training_test_util.hpp"

using namespace presence::models;

int main(int argc, char** argv) {
  if (argc != 4) {
    std::cerr << "usage: training_resume_helper <checkpoint dir> <steps> <out.safetensors>\n";
    return 2;
  }
  try {
    at::set_num_threads(1);  // the same reduction order in every process
    auto weights = training::test::tinyWeights(21);
    training::TrainerOptions o;
    o.stage = training::Stage::Stage2Joint;
    o.steps = std::stoll(argv[2]);
    o.adam.learningRate = 1e-3;
    o.adam.weightDecay = 0.01;
    o.maxGradNorm = 1.0;
    o.seed = 99;
    o.checkpointDir = argv[1];
    o.checkpointEvery = 2;
    const char* pause = std::getenv("PRESENCE_TRAINING_PAUSE_AT");
    const char* marker = std::getenv("PRESENCE_TRAINING_PAUSE_MARKER");
    if (pause && marker) {
      const std::string spec = pause;
      o.testHook = [spec, marker = std::string(marker)](std::string_view point, int64_t step) {
        if (spec != std::string(point) + ":" + std::to_string(step)) return;
        std::ofstream(marker) << "paused\n";
        std::this_thread::sleep_for(std::chrono::seconds(120));
      };
    }
    const auto cfg = weights->config();
    std::vector<training::TrainingBatch> batches;
    for (uint64_t k = 0; k < 3; ++k) batches.push_back(training::test::tinyBatch(cfg, 1, 300 + 10 * k));
    training::Trainer trainer(weights, o);
    const auto result = trainer.run(training::cyclingBatchSource(batches, 2), {batches[0]});
    std::map<std::string, at::Tensor> out;
    for (const auto& n : weights->names()) out[n] = weights->get(n).detach();
    presence::runtime::saveSafetensors(argv[3], out);
    std::cout << "start " << result.startStep << " end " << result.step << "\n";
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "training_resume_helper: " << e.what() << "\n";
    return 1;
  }
}
