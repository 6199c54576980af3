#include <cmath>
#include <cstdio>
#include <presence/core/error.hpp>
#include <presence/models/sampling/schedule.hpp>
#include <string>

namespace presence::models::sampling {

namespace {

void require(bool ok, const std::string& what) {
  if (!ok) throw core::InputError("flow-matching schedule: " + what);
}

}  // namespace

double shiftSigma(double sigma, double shift) {
  // Multiply first, then divide: the order the public code evaluates it in.
  return (shift * sigma) / (1.0 + (shift - 1.0) * sigma);
}

std::vector<double> linspace(double start, double stop, int count) {
  std::vector<double> values;
  if (count <= 0) return values;
  values.reserve(static_cast<size_t>(count));
  if (count == 1) {
    values.push_back(start);
    return values;
  }
  const double step = (stop - start) / static_cast<double>(count - 1);
  for (int i = 0; i < count; ++i) values.push_back(static_cast<double>(i) * step + start);
  values.back() = stop;
  return values;
}

FlowSchedule makeSchedule(const ScheduleSpec& spec) {
  require(spec.steps >= 1, "steps must be at least 1, got " + std::to_string(spec.steps));
  require(std::isfinite(spec.shift) && spec.shift > 0.0,
          "shift must be positive, got " + std::to_string(spec.shift));
  require(spec.sigmaStart > 0.0 && spec.sigmaStart <= 1.0,
          "the first sigma must be in (0, 1], got " + std::to_string(spec.sigmaStart));

  std::vector<double> raw;
  if (spec.spacing == SigmaSpacing::DropLast) {
    raw = linspace(spec.sigmaStart, 0.0, spec.steps + 1);
    raw.pop_back();
  } else {
    require(spec.sigmaEnd > 0.0 && spec.sigmaEnd <= spec.sigmaStart,
            "the last sigma must be in (0, first sigma], got " + std::to_string(spec.sigmaEnd));
    // diffusers spaces timesteps (sigma·1000) and divides by 1000 again.
    raw = linspace(spec.sigmaStart * 1000.0, spec.sigmaEnd * 1000.0, spec.steps);
    for (double& s : raw) s /= 1000.0;
  }

  FlowSchedule schedule;
  schedule.sigmas.reserve(raw.size() + 1);
  schedule.timesteps.reserve(raw.size());
  for (double s : raw) {
    const double shifted = shiftSigma(s, spec.shift);
    const double used = spec.float32Sigmas ? static_cast<double>(static_cast<float>(shifted)) : shifted;
    schedule.sigmas.push_back(used);
    schedule.timesteps.push_back(spec.rounding == TimestepRounding::Truncate ? std::trunc(shifted * 1000.0)
                                                                             : used * 1000.0);
  }
  schedule.sigmas.push_back(0.0);

  for (size_t i = 0; i + 1 < schedule.sigmas.size(); ++i) {
    require(schedule.sigmas[i] > schedule.sigmas[i + 1] && schedule.sigmas[i] <= 1.0,
            "sigmas must decrease strictly from at most 1 (step " + std::to_string(i) + " of " +
                std::to_string(spec.steps) + ")");
  }
  return schedule;
}

std::string describe(const FlowSchedule& schedule) {
  char buffer[160];
  std::snprintf(buffer, sizeof buffer, "%d steps, sigma %.6g -> 0, timesteps %.6g -> %.6g", schedule.steps(),
                schedule.sigmas.empty() ? 0.0 : schedule.sigmas.front(),
                schedule.timesteps.empty() ? 0.0 : schedule.timesteps.front(),
                schedule.timesteps.empty() ? 0.0 : schedule.timesteps.back());
  return buffer;
}

}  // namespace presence::models::sampling
