#include "presence/models/training/adamw.hpp"

#include <ATen/core/grad_mode.h>

#include <cmath>

#include "presence/core/error.hpp"

namespace presence::models::training {

AdamW::AdamW(std::vector<std::string> names, std::vector<at::Tensor> parameters, AdamWOptions options)
    : names_(std::move(names)), params_(std::move(parameters)), options_(options) {
  if (names_.size() != params_.size()) throw core::InputError("AdamW: names and parameters differ in count");
  if (options_.beta1 < 0 || options_.beta1 >= 1 || options_.beta2 < 0 || options_.beta2 >= 1)
    throw core::InputError("AdamW: betas must lie in [0, 1)");
  if (options_.eps <= 0 || options_.weightDecay < 0) throw core::InputError("AdamW: eps must be > 0, weight decay >= 0");
  for (const auto& p : params_) {
    m_.push_back(at::zeros_like(p, at::MemoryFormat::Contiguous).detach());
    v_.push_back(at::zeros_like(p, at::MemoryFormat::Contiguous).detach());
  }
}

void AdamW::step(double lr) {
  at::NoGradGuard noGrad;
  ++steps_;
  const double c1 = 1.0 - std::pow(options_.beta1, static_cast<double>(steps_));
  const double c2 = 1.0 - std::pow(options_.beta2, static_cast<double>(steps_));
  for (size_t i = 0; i < params_.size(); ++i) {
    at::Tensor& p = params_[i];
    const at::Tensor g = p.grad();
    if (!g.defined()) continue;
    if (options_.weightDecay != 0) p.mul_(1.0 - lr * options_.weightDecay);
    m_[i].mul_(options_.beta1).add_(g, 1.0 - options_.beta1);
    v_[i].mul_(options_.beta2).addcmul_(g, g, 1.0 - options_.beta2);
    const at::Tensor denom = (v_[i].sqrt() / std::sqrt(c2)).add_(options_.eps);
    p.addcdiv_(m_[i], denom, -lr / c1);
  }
}

void AdamW::zeroGrad() {
  for (auto& p : params_)
    if (p.grad().defined()) p.mutable_grad() = at::Tensor();
}

std::map<std::string, at::Tensor> AdamW::state() const {
  std::map<std::string, at::Tensor> out;
  for (size_t i = 0; i < names_.size(); ++i) {
    out["exp_avg/" + names_[i]] = m_[i];
    out["exp_avg_sq/" + names_[i]] = v_[i];
  }
  return out;
}

void AdamW::loadState(const std::map<std::string, at::Tensor>& state, int64_t steps) {
  at::NoGradGuard noGrad;
  for (size_t i = 0; i < names_.size(); ++i) {
    for (auto [prefix, dst] : {std::pair{std::string("exp_avg/"), &m_[i]}, std::pair{std::string("exp_avg_sq/"), &v_[i]}}) {
      auto it = state.find(prefix + names_[i]);
      if (it == state.end()) throw core::InputError("optimiser state lacks '" + prefix + names_[i] + "'");
      if (it->second.sizes() != dst->sizes())
        throw core::InputError("optimiser state '" + prefix + names_[i] + "' has the wrong shape");
      dst->copy_(it->second);
    }
  }
  steps_ = steps;
}

double clipGradNorm(const std::vector<at::Tensor>& parameters, double maxNorm) {
  at::NoGradGuard noGrad;
  double sq = 0.0;
  for (const auto& p : parameters)
    if (p.grad().defined()) sq += p.grad().to(at::kDouble).pow(2).sum().item<double>();
  const double norm = std::sqrt(sq);
  if (maxNorm > 0 && norm > maxNorm) {
    const double coef = maxNorm / (norm + 1e-6);
    for (const auto& p : parameters)
      if (p.grad().defined()) p.grad().mul_(coef);
  }
  return norm;
}

}  // namespace presence::models::training
