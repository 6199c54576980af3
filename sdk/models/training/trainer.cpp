#include "presence/models/training/trainer.hpp"

#include <ATen/core/grad_mode.h>

#include <chrono>
#include <cmath>

#include "presence/core/error.hpp"
#include "presence/models/training/cpu_autocast.hpp"
#include "presence/runtime/rng.hpp"
#include "presence/runtime/tensor_util.hpp"
#include "presence/runtime/torch_compat.hpp"

namespace presence::models::training {
namespace fs = std::filesystem;
namespace {

// Validation draws come from their own stream so they never coincide with a training step's.
constexpr uint64_t kValidationStream = 0x76616C6964ULL;

// What a run's guidance dropout was; a run without it records share 0, as do checkpoints from
// before the option.
nlohmann::json guidanceDropoutJson(const GuidanceDropout& d) {
  if (d.share <= 0.0) return {{"share", 0.0}};
  return {{"share", d.share},
          {"face_share", d.faceShare},
          {"negative_video", d.negativeVideoText},
          {"negative_audio", d.negativeAudioText}};
}

double seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

}  // namespace

BatchSource cyclingBatchSource(std::vector<TrainingBatch> batches, int64_t accumulation) {
  if (batches.empty()) throw core::InputError("no training batches");
  if (accumulation < 1) throw core::InputError("gradient accumulation must be >= 1");
  return [batches = std::move(batches), accumulation](int64_t step) {
    std::vector<TrainingBatch> out;
    for (int64_t k = 0; k < accumulation; ++k)
      out.push_back(batches[static_cast<size_t>((step * accumulation + k) % static_cast<int64_t>(batches.size()))]);
    return out;
  };
}

Trainer::Trainer(std::shared_ptr<dit::DitWeights> weights, TrainerOptions options)
    : weights_(std::move(weights)), options_(std::move(options)) {
  if (!weights_) throw core::InputError("trainer: no weights");
  if (options_.adam.learningRate <= 0) options_.adam.learningRate = defaultLearningRate(options_.stage);
  if (options_.steps < 0 || options_.warmupSteps < 0 || options_.checkpointEvery < 0 || options_.validateEvery < 0)
    throw core::InputError("trainer: steps, warm-up, checkpoint and validation intervals must be >= 0");
  if (options_.maxGradNorm < 0) throw core::InputError("trainer: maxGradNorm must be >= 0");
  if (!(options_.faceLossWeight > 0)) throw core::InputError("trainer: faceLossWeight must be > 0");
  options_.guidanceDropout.validate(weights_->config());
  for (const auto& name : weights_->names())
    if (weights_->get(name).scalar_type() != at::kFloat)
      throw core::InputError("trainer: weight '" + name +
                             "' is not float32; training keeps float32 master weights (DitWeights::to)");
  {
    std::map<std::string, at::Tensor> start;
    for (const auto& name : weights_->names()) start.emplace(name, weights_->get(name));
    startWeights_ = runtime::contentFingerprint(start);
  }
  names_ = trainableParameterNames(*weights_, options_.stage);
  weights_->setRequiresGrad(false);
  for (const auto& n : names_) {
    at::Tensor t = weights_->get(n);
    t.set_requires_grad(true);
    params_.push_back(t);
  }
  model_ = std::make_unique<dit::DualTowerDit>(weights_, at::kFloat);
  adam_ = std::make_unique<AdamW>(names_, params_, options_.adam);
}

double Trainer::learningRate(int64_t step) const {
  const double lr = options_.adam.learningRate;
  if (options_.warmupSteps <= 0) return lr;
  return lr * std::min(1.0, static_cast<double>(step + 1) / static_cast<double>(options_.warmupSteps));
}

double Trainer::trainStep(const BatchSource& source) {
  const int64_t s = step_;
  std::vector<TrainingBatch> micro = source(s);
  if (micro.empty()) throw core::InputError("step " + std::to_string(s) + " has no micro-batches");
  int64_t total = 0;
  for (size_t k = 0; k < micro.size(); ++k) {
    validateBatch(weights_->config(), micro[k], options_.stage,
                  "micro-batch " + std::to_string(k) + " of step " + std::to_string(s));
    total += micro[k].batchSize();
  }
  const uint64_t stepSeed = runtime::deriveSeed(options_.seed, static_cast<uint64_t>(s));
  LossOptions lo{options_.stage, options_.audioWeight, options_.time, options_.guidanceDropout, std::nullopt,
                 options_.faceLossWeight};
  adam_->zeroGrad();
  double loss = 0.0;
  int64_t first = 0;
  for (const auto& b : micro) {
    // Weighted by its share of the step's samples: accumulation equals one large batch.
    const double share = static_cast<double>(b.batchSize()) / static_cast<double>(total);
    at::Tensor l;
    {
      CpuAutocast autocast(options_.bf16Autocast);
      l = flowMatchingLoss(*model_, b, lo, stepSeed, first).total;
    }
    (l.to(at::kFloat) * share).backward();
    loss += l.item<double>() * share;
    first += b.batchSize();
  }
  if (!std::isfinite(loss)) throw core::Error("training diverged: loss is " + std::to_string(loss) + " at step " +
                                              std::to_string(s));
  if (options_.testHook) options_.testHook("step.accumulated", s);
  lastGradNorm_ = clipGradNorm(params_, options_.maxGradNorm);
  const double lr = learningRate(s);
  adam_->step(lr);
  adam_->zeroGrad();
  ++step_;
  LossRecord r;
  r.step = step_;
  r.trainLoss = loss;
  r.learningRate = lr;
  history_.push_back(r);
  return loss;
}

double Trainer::validationLoss(const std::vector<TrainingBatch>& batches) const {
  return validationLosses(batches).total;
}

ValidationLosses Trainer::validationLosses(const std::vector<TrainingBatch>& batches,
                                           std::optional<double> sigma) const {
  if (batches.empty()) throw core::InputError("no validation batches");
  at::NoGradGuard noGrad;
  const uint64_t seed = runtime::deriveSeed(options_.seed, kValidationStream);
  // Always conditioned: validation measures the model as the sampler's conditioned pass uses it.
  const LossOptions lo{options_.stage, options_.audioWeight, options_.time, GuidanceDropout{}, sigma};
  auto value = [](const at::Tensor& t) { return t.defined() ? t.item<double>() : std::nan(""); };
  ValidationLosses sum;
  int64_t count = 0, first = 0;
  for (size_t k = 0; k < batches.size(); ++k) {
    validateBatch(weights_->config(), batches[k], options_.stage, "validation batch " + std::to_string(k));
    CpuAutocast autocast(options_.bf16Autocast);
    const LossTerms l = flowMatchingLoss(*model_, batches[k], lo, seed, first);
    const auto n = static_cast<double>(batches[k].batchSize());
    sum.total += l.total.item<double>() * n;
    sum.video += value(l.video) * n;
    sum.audio += value(l.audio) * n;
    count += batches[k].batchSize();
    first += batches[k].batchSize();
  }
  const auto n = static_cast<double>(count);
  return {sum.total / n, sum.video / n, sum.audio / n};
}

nlohmann::json Trainer::configJson() const {
  const auto& a = options_.adam;
  return {{"stage", stageName(options_.stage)},
          {"model", weights_->config().name},
          {"seed", std::to_string(options_.seed)},
          {"steps", options_.steps},
          {"warmup_steps", options_.warmupSteps},
          {"audio_weight", options_.audioWeight},
          {"face_loss_weight", options_.faceLossWeight},
          {"max_grad_norm", options_.maxGradNorm},
          {"bf16_autocast", options_.bf16Autocast},
          {"adamw", {{"lr", a.learningRate}, {"beta1", a.beta1}, {"beta2", a.beta2}, {"eps", a.eps},
                     {"weight_decay", a.weightDecay}}},
          {"time_shift", options_.time.shift},
          {"guidance_dropout", guidanceDropoutJson(options_.guidanceDropout)},
          {"start_weights", startWeights_},
          {"trainable", static_cast<int64_t>(names_.size())},
          {"seconds", seconds_}};
}

fs::path Trainer::saveCheckpoint() {
  if (options_.checkpointDir.empty()) throw core::InputError("trainer: no checkpoint folder set");
  TrainingCheckpoint ck;
  ck.step = step_;
  for (const auto& n : weights_->names()) ck.tensors["model/" + n] = weights_->get(n).detach();
  for (const auto& [k, t] : adam_->state()) ck.tensors["adam/" + k] = t;
  ck.history = history_;
  ck.config = configJson();
  const fs::path saved = saveTrainingCheckpoint(options_.checkpointDir, ck, options_.keepCheckpoints, options_.testHook);
  // Beside the checkpoints, for people and plots; the checkpoint's own copy is the one resumed.
  writeLossCurveCsv(options_.checkpointDir / "loss_curve.csv", history_);
  return saved;
}

void loadCheckpointWeights(const fs::path& folder, dit::DitWeights& weights) {
  const TrainingCheckpoint ck = loadTrainingCheckpoint(folder);
  at::NoGradGuard noGrad;
  for (const auto& n : weights.names()) {
    auto it = ck.tensors.find("model/" + n);
    if (it == ck.tensors.end()) throw core::InputError("checkpoint " + folder.string() + " has no weight '" + n + "'");
    at::Tensor t = weights.get(n);
    if (it->second.sizes() != t.sizes())
      throw core::InputError("checkpoint " + folder.string() + " weight '" + n + "' has another shape");
    t.copy_(it->second);
  }
}

bool Trainer::resume() {
  if (options_.checkpointDir.empty()) return false;
  const auto latest = latestTrainingCheckpoint(options_.checkpointDir);
  if (!latest) return false;
  const TrainingCheckpoint ck = loadTrainingCheckpoint(*latest);
  if (ck.config.value("stage", "") != stageName(options_.stage))
    throw core::InputError("checkpoint " + latest->string() + " belongs to " + ck.config.value("stage", "?") +
                           ", not " + stageName(options_.stage) + " (use another checkpoint folder)");
  // Checkpoints from before this check have no fingerprint and are trusted as before.
  if (const std::string from = ck.config.value("start_weights", ""); !from.empty() && from != startWeights_)
    throw core::InputError("checkpoint " + latest->string() +
                           " continues training that started from other weights than this run's input model "
                           "(an upstream stage or checkpoint changed); delete its folder to train from the new "
                           "input, or use another checkpoint folder");
  // A run resumed with another dropout would mix two regimes in one set of weights.
  const nlohmann::json before = ck.config.value("guidance_dropout", nlohmann::json{{"share", 0.0}});
  const nlohmann::json now = guidanceDropoutJson(options_.guidanceDropout);
  if (before != now)
    throw core::InputError("checkpoint " + latest->string() + " was trained with guidance dropout " + before.dump() +
                           ", this run asks for " + now.dump() +
                           " (set the same guidance_dropout settings, or use another checkpoint folder)");
  // Likewise a face weight; checkpoints from before it trained with 1.
  if (const double was = ck.config.value("face_loss_weight", 1.0); was != options_.faceLossWeight)
    throw core::InputError("checkpoint " + latest->string() + " was trained with face_loss_weight " +
                           std::to_string(was) + ", this run asks for " + std::to_string(options_.faceLossWeight) +
                           " (set the same face_loss_weight, or use another checkpoint folder)");
  // And its precision; checkpoints from before the record trained in float32 or said so.
  if (const bool was = ck.config.value("bf16_autocast", false); was != options_.bf16Autocast)
    throw core::ParamError("bf16", "checkpoint " + latest->string() + " was trained with bf16 autocast " +
                                       (was ? "on" : "off") + "; resume it with the same setting, or use another "
                                       "checkpoint folder");
  loadCheckpointWeights(*latest, *weights_);
  std::map<std::string, at::Tensor> state;
  for (const auto& [k, t] : ck.tensors)
    if (k.rfind("adam/", 0) == 0) state[k.substr(5)] = t;
  adam_->loadState(state, ck.step);
  step_ = ck.step;
  history_ = ck.history;
  seconds_ = ck.config.value("seconds", 0.0);
  return true;
}

TrainingResult Trainer::run(const BatchSource& source, const std::vector<TrainingBatch>& validation) {
  TrainingResult result;
  if (options_.resume) resume();
  result.startStep = step_;
  const bool checkpoints = !options_.checkpointDir.empty();
  const auto start = std::chrono::steady_clock::now();
  const double before = seconds_;
  while (step_ < options_.steps) {
    if (options_.cancel && options_.cancel->cancelled()) {
      result.cancelled = true;
      break;
    }
    const double loss = trainStep(source);
    seconds_ = before + seconds(start);
    LossRecord& rec = history_.back();
    const bool last = step_ == options_.steps;
    if (!validation.empty() && (last || (options_.validateEvery > 0 && step_ % options_.validateEvery == 0))) {
      const ValidationLosses v = validationLosses(validation);
      rec.valLoss = v.total;
      rec.valVideoLoss = v.video;
      rec.valAudioLoss = v.audio;
    }
    rec.seconds = seconds_;
    if (checkpoints && (last || (options_.checkpointEvery > 0 && step_ % options_.checkpointEvery == 0)))
      result.lastCheckpoint = saveCheckpoint();
    if (options_.progress) {
      TrainingProgress p;
      p.step = step_;
      p.totalSteps = options_.steps;
      p.loss = loss;
      p.gradNorm = lastGradNorm_;
      p.learningRate = rec.learningRate;
      p.valLoss = rec.valLoss;
      p.elapsedSeconds = seconds_;
      const double perStep = seconds(start) / static_cast<double>(step_ - result.startStep);
      p.etaSeconds = perStep * static_cast<double>(options_.steps - step_);
      if (options_.progress(p)) {
        result.cancelled = step_ < options_.steps;
        break;
      }
    }
  }
  result.step = step_;
  return result;
}

}  // namespace presence::models::training
