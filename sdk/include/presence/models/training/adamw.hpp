// AdamW on named parameter tensors (Loshchilov & Hutter; PyTorch's torch.optim.AdamW update), and
// gradient clipping by global norm. Our own so its state is a plain name -> tensor map that a
// checkpoint stores exactly.
#pragma once

#include <ATen/ATen.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace presence::models::training {

struct AdamWOptions {
  double learningRate = 1e-4;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weightDecay = 0.0;
};

/// Per step t (1-based), for each parameter p with a gradient g (those without one are skipped):
///   p ← p·(1 − lr·wd);  m ← β1·m + (1 − β1)·g;  v ← β2·v + (1 − β2)·g²
///   p ← p − lr/(1 − β1^t) · m / (sqrt(v)/sqrt(1 − β2^t) + ε)
/// Updates in place under no-grad. Not thread-safe.
class AdamW {
 public:
  AdamW(std::vector<std::string> names, std::vector<at::Tensor> parameters, AdamWOptions options);

  /// One update with learning rate `lr` (a schedule may change it per step).
  void step(double lr);
  void zeroGrad();
  int64_t stepCount() const { return steps_; }
  const AdamWOptions& options() const { return options_; }

  /// "exp_avg/<name>" and "exp_avg_sq/<name>" per parameter: the live moment tensors, not copies.
  std::map<std::string, at::Tensor> state() const;
  /// Restores state() output and the step count. Throws core::InputError naming a missing or
  /// mis-shaped moment.
  void loadState(const std::map<std::string, at::Tensor>& state, int64_t steps);

 private:
  std::vector<std::string> names_;
  std::vector<at::Tensor> params_, m_, v_;
  AdamWOptions options_;
  int64_t steps_ = 0;
};

/// The global L2 norm of the gradients (computed in double); when maxNorm > 0 and the norm
/// exceeds it, scales every gradient by maxNorm / (norm + 1e-6) as torch.nn.utils.clip_grad_norm_.
/// Returns the norm before clipping.
double clipGradNorm(const std::vector<at::Tensor>& parameters, double maxNorm);

}  // namespace presence::models::training
