#include <algorithm>
#include <cctype>
#include <presence/core/error.hpp>
#include <presence/models/sampling/dpm_solver.hpp>
#include <presence/models/sampling/euler_solver.hpp>
#include <presence/models/sampling/solver.hpp>
#include <presence/models/sampling/unipc_solver.hpp>
#include <string>
#include <utility>

namespace presence::models::sampling {

std::string_view solverName(Solver solver) {
  switch (solver) {
    case Solver::UniPC:
      return "unipc";
    case Solver::Euler:
      return "euler";
    case Solver::DpmPlusPlus:
      return "dpm++";
  }
  return "unknown";
}

Solver parseSolver(std::string_view name) {
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "unipc" || lower == "uni_pc" || lower == "uni-pc") return Solver::UniPC;
  if (lower == "euler") return Solver::Euler;
  if (lower == "dpm++" || lower == "dpmpp" || lower == "dpm++2m" || lower == "dpmpp_2m" ||
      lower == "dpm++_2m")
    return Solver::DpmPlusPlus;
  throw core::InputError("unknown solver '" + std::string(name) + "': expected unipc, euler or dpm++");
}

at::ScalarType workingDtype(at::ScalarType dtype) { return dtype == at::kDouble ? at::kDouble : at::kFloat; }

FlowSolver::FlowSolver(FlowSchedule schedule) : schedule_(std::move(schedule)) {
  if (schedule_.steps() < 1 || schedule_.sigmas.size() != schedule_.timesteps.size() + 1)
    throw core::Error("flow solver: a schedule needs at least one step and steps + 1 sigmas");
}

SolverStep FlowSolver::step(int index, const at::Tensor& sample, const at::Tensor& velocity) {
  if (index != next_) {
    throw core::Error("flow solver: step " + std::to_string(index) + " called, expected step " +
                      std::to_string(next_) + " of " + std::to_string(schedule_.steps()));
  }
  if (!sample.defined() || !velocity.defined())
    throw core::Error("flow solver: undefined sample or velocity");
  if (sample.sizes() != velocity.sizes()) {
    throw core::Error("flow solver: velocity shape " + std::string(c10::str(velocity.sizes())) +
                      " differs from the latent's " + std::string(c10::str(sample.sizes())));
  }
  const auto dtype = workingDtype(sample.scalar_type());
  const at::Tensor x = sample.to(dtype);
  const at::Tensor v = velocity.to(x.device(), dtype);
  const double sigma = schedule_.sigmas[static_cast<size_t>(index)];
  at::Tensor x0 = at::add(x, v, -sigma);
  at::Tensor next = advance(index, x, v, x0);
  ++next_;
  return {std::move(next), std::move(x0)};
}

void FlowSolver::reset() {
  next_ = 0;
  resetState();
}

std::unique_ptr<FlowSolver> makeSolver(Solver kind, const FlowSchedule& schedule) {
  switch (kind) {
    case Solver::UniPC:
      return std::make_unique<UniPCSolver>(schedule);
    case Solver::Euler:
      return std::make_unique<EulerSolver>(schedule);
    case Solver::DpmPlusPlus:
      return std::make_unique<DpmPlusPlusSolver>(schedule);
  }
  throw core::Error("flow solver: unknown solver kind");
}

}  // namespace presence::models::sampling
