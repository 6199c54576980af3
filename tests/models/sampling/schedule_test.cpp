// Schedules against numbers derived here from the formulas, independently of the library code.
#include <gtest/gtest.h>

#include <cmath>
#include <presence/core/error.hpp>
#include <presence/models/sampling/sampler_settings.hpp>
#include <presence/models/sampling/schedule.hpp>

namespace ps = presence::models::sampling;

namespace {

double shifted(double sigma, double shift) { return shift * sigma / (1.0 + (shift - 1.0) * sigma); }
double asFloat(double x) { return static_cast<double>(static_cast<float>(x)); }

}  // namespace

TEST(Schedule, ShiftFormula) {
  EXPECT_DOUBLE_EQ(ps::shiftSigma(0.0, 5.0), 0.0);
  EXPECT_DOUBLE_EQ(ps::shiftSigma(1.0, 5.0), 1.0);
  EXPECT_DOUBLE_EQ(ps::shiftSigma(0.5, 5.0), 2.5 / 3.0);
  EXPECT_DOUBLE_EQ(ps::shiftSigma(0.25, 3.0), 0.75 / 1.5);
  EXPECT_DOUBLE_EQ(ps::shiftSigma(0.3, 1.0), 0.3);
}

TEST(Schedule, LinspaceMatchesNumpy) {
  const auto v = ps::linspace(1.0, 0.0, 5);
  ASSERT_EQ(v.size(), 5u);
  EXPECT_EQ(v[0], 1.0);
  EXPECT_EQ(v[1], 0.75);
  EXPECT_EQ(v[2], 0.5);
  EXPECT_EQ(v[3], 0.25);
  EXPECT_EQ(v[4], 0.0);  // numpy sets the end point exactly
  EXPECT_EQ(ps::linspace(3.0, 7.0, 1), std::vector<double>{3.0});
}

TEST(Schedule, UniformConventionShift1) {
  ps::SamplerSettings settings;
  settings.schedule = ps::ScheduleConvention::Uniform;
  settings.steps = 4;
  settings.shift = 1.0;
  const auto s = ps::makeSchedule(settings);
  ASSERT_EQ(s.steps(), 4);
  const std::vector<double> sigmas{1.0, 0.75, 0.5, 0.25, 0.0};
  const std::vector<double> timesteps{1000.0, 750.0, 500.0, 250.0};
  for (size_t i = 0; i < sigmas.size(); ++i) EXPECT_DOUBLE_EQ(s.sigmas[i], sigmas[i]) << i;
  for (size_t i = 0; i < timesteps.size(); ++i) EXPECT_DOUBLE_EQ(s.timesteps[i], timesteps[i]) << i;
}

TEST(Schedule, UniformConventionShift5) {
  ps::SamplerSettings settings;
  settings.schedule = ps::ScheduleConvention::Uniform;
  settings.steps = 4;
  settings.shift = 5.0;
  const auto s = ps::makeSchedule(settings);
  // 5σ/(1+4σ) at σ = 1, 3/4, 1/2, 1/4: 1, 15/16, 5/6, 5/8.
  const std::vector<double> sigmas{1.0, 15.0 / 16.0, 5.0 / 6.0, 5.0 / 8.0, 0.0};
  for (size_t i = 0; i < sigmas.size(); ++i) EXPECT_NEAR(s.sigmas[i], sigmas[i], 1e-15) << i;
  for (size_t i = 0; i < 4; ++i) EXPECT_NEAR(s.timesteps[i], 1000.0 * sigmas[i], 1e-12) << i;
}

TEST(Schedule, ReleasedUniPC) {
  // FlowUniPCMultistepScheduler(shift=1).set_timesteps(4, shift=5): sigma_max is 1 − 1/1000 held
  // in float32; sigmas linspace(sigma_max, 0, 5)[:-1], shifted, stored as float32; timesteps
  // int64(σ·1000).
  ps::SamplerSettings settings;  // defaults: UniPC, released schedule, shift 5
  settings.steps = 4;
  const auto s = ps::makeSchedule(settings);
  ASSERT_EQ(s.steps(), 4);
  const double sigmaMax = asFloat(0.999);
  EXPECT_NEAR(sigmaMax, 0.99900001287460327, 1e-16);
  for (int i = 0; i < 4; ++i) {
    const double expected = shifted(sigmaMax * (4 - i) / 4.0, 5.0);
    EXPECT_NEAR(s.sigmas[static_cast<size_t>(i)], asFloat(expected), 1e-7) << i;
    EXPECT_EQ(s.sigmas[static_cast<size_t>(i)], asFloat(s.sigmas[static_cast<size_t>(i)]))
        << "float32 sigma " << i;
  }
  EXPECT_EQ(s.sigmas.back(), 0.0);
  // Hand-computed: 5σ/(1+4σ) for σ = 0.999, 0.74925, 0.4995, 0.24975 → 0.99980, 0.93727, 0.83306, 0.62469.
  const std::vector<double> timesteps{999.0, 937.0, 833.0, 624.0};
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(s.timesteps[i], timesteps[i]) << i;
}

TEST(Schedule, ReleasedDpmPlusPlus) {
  // get_sampling_sigmas(4, 5): linspace(1, 0, 5)[:4] shifted: 1, 15/16, 5/6, 5/8.
  ps::SamplerSettings settings;
  settings.solver = ps::Solver::DpmPlusPlus;
  settings.steps = 4;
  const auto s = ps::makeSchedule(settings);
  const std::vector<double> sigmas{1.0, 15.0 / 16.0, 5.0 / 6.0, 5.0 / 8.0, 0.0};
  for (size_t i = 0; i < sigmas.size(); ++i) EXPECT_EQ(s.sigmas[i], asFloat(sigmas[i])) << i;
  const std::vector<double> timesteps{1000.0, 937.0, 833.0, 625.0};
  for (size_t i = 0; i < 4; ++i) EXPECT_EQ(s.timesteps[i], timesteps[i]) << i;
}

TEST(Schedule, ReleasedEulerFollowsDiffusers) {
  // FlowMatchEulerDiscreteScheduler(shift=5): sigma_min = shift(1/1000) = 0.005/1.004; the
  // timesteps linspace(1000, 1000·sigma_min, N) / 1000 are shifted again; timesteps σ·1000.
  ps::SamplerSettings settings;
  settings.solver = ps::Solver::Euler;
  settings.steps = 4;
  const auto s = ps::makeSchedule(settings);
  const double sigmaMin = 0.005 / 1.004;
  for (int i = 0; i < 4; ++i) {
    const double raw = 1.0 + i * (sigmaMin - 1.0) / 3.0;
    EXPECT_NEAR(s.sigmas[static_cast<size_t>(i)], shifted(raw, 5.0), 2e-7) << i;
    EXPECT_NEAR(s.timesteps[static_cast<size_t>(i)], 1000.0 * shifted(raw, 5.0), 2e-4) << i;
  }
  EXPECT_NEAR(s.sigmas[3], 0.0244141, 1e-6);  // 5·0.00498/(1 + 4·0.00498)
  EXPECT_EQ(s.sigmas.back(), 0.0);
}

TEST(Schedule, TimestepRoundingOverride) {
  ps::SamplerSettings settings;
  settings.steps = 4;
  settings.timestepRounding = ps::TimestepRounding::Exact;
  const auto s = ps::makeSchedule(settings);
  for (size_t i = 0; i < 4; ++i) EXPECT_DOUBLE_EQ(s.timesteps[i], 1000.0 * s.sigmas[i]) << i;
  EXPECT_NE(s.timesteps[0], std::trunc(s.timesteps[0]));

  settings.schedule = ps::ScheduleConvention::Uniform;
  settings.timestepRounding = ps::TimestepRounding::Truncate;
  const auto t = ps::makeSchedule(settings);
  EXPECT_EQ(t.timesteps[1], 937.0);
}

TEST(Schedule, StrictlyDecreasingToZeroForManySettings) {
  for (auto solver : {ps::Solver::UniPC, ps::Solver::Euler, ps::Solver::DpmPlusPlus}) {
    for (auto convention : {ps::ScheduleConvention::Released, ps::ScheduleConvention::Uniform}) {
      for (double shift : {0.5, 1.0, 3.0, 5.0, 12.0}) {
        for (int steps : {1, 2, 3, 7, 50, 200}) {
          ps::SamplerSettings settings;
          settings.solver = solver;
          settings.schedule = convention;
          settings.shift = shift;
          settings.steps = steps;
          const auto s = ps::makeSchedule(settings);
          ASSERT_EQ(s.steps(), steps);
          ASSERT_EQ(s.sigmas.size(), static_cast<size_t>(steps) + 1);
          EXPECT_EQ(s.sigmas.back(), 0.0);
          EXPECT_LE(s.sigmas.front(), 1.0);
          for (int i = 0; i < steps; ++i) {
            EXPECT_GT(s.sigmas[static_cast<size_t>(i)], s.sigmas[static_cast<size_t>(i) + 1]);
            EXPECT_GE(s.timesteps[static_cast<size_t>(i)], 0.0);
            EXPECT_LE(s.timesteps[static_cast<size_t>(i)], 1000.0);
          }
        }
      }
    }
  }
}

TEST(Schedule, InvalidSpecsThrow) {
  ps::ScheduleSpec spec;
  spec.steps = 0;
  EXPECT_THROW(ps::makeSchedule(spec), presence::core::InputError);
  spec.steps = 10;
  spec.shift = 0.0;
  EXPECT_THROW(ps::makeSchedule(spec), presence::core::InputError);
  spec.shift = 1.0;
  spec.sigmaStart = 1.5;
  EXPECT_THROW(ps::makeSchedule(spec), presence::core::InputError);
  spec.sigmaStart = 1.0;
  spec.spacing = ps::SigmaSpacing::Inclusive;
  spec.sigmaEnd = 0.0;
  EXPECT_THROW(ps::makeSchedule(spec), presence::core::InputError);
}

TEST(SamplerSettings, DefaultsAreTheReleasedPipeline) {
  const ps::SamplerSettings s;
  EXPECT_EQ(s.solver, ps::Solver::UniPC);
  EXPECT_EQ(s.steps, 50);
  EXPECT_EQ(s.shift, 5.0);
  EXPECT_EQ(s.videoGuidance, 4.0);
  EXPECT_EQ(s.audioGuidance, 3.0);
  EXPECT_EQ(s.skipLayers, std::vector<int>{11});
  EXPECT_TRUE(s.negativeDropsVoiceReferences);
  EXPECT_NO_THROW(s.validate());
  const auto schedule = ps::makeSchedule(s);
  EXPECT_EQ(schedule.steps(), 50);
  EXPECT_EQ(schedule.timesteps.front(), 999.0);
}

TEST(SamplerSettings, ValidateNamesTheField) {
  auto expectParam = [](ps::SamplerSettings s, const std::string& field) {
    try {
      s.validate();
      ADD_FAILURE() << "no error for " << field;
    } catch (const presence::core::ParamError& e) {
      EXPECT_EQ(e.param(), field);
    }
  };
  ps::SamplerSettings s;
  s.steps = 0;
  expectParam(s, "steps");
  s = {};
  s.shift = -1.0;
  expectParam(s, "shift");
  s = {};
  s.videoGuidance = std::nan("");
  expectParam(s, "video_guidance");
  s = {};
  s.audioGuidance = INFINITY;
  expectParam(s, "audio_guidance");
  s = {};
  s.skipLayers = {3, -1};
  expectParam(s, "skip_layers");
}

TEST(Solvers, NamesRoundTrip) {
  for (auto solver : {ps::Solver::UniPC, ps::Solver::Euler, ps::Solver::DpmPlusPlus})
    EXPECT_EQ(ps::parseSolver(ps::solverName(solver)), solver);
  EXPECT_EQ(ps::parseSolver("UniPC"), ps::Solver::UniPC);
  EXPECT_EQ(ps::parseSolver("dpmpp"), ps::Solver::DpmPlusPlus);
  EXPECT_THROW(ps::parseSolver("heun"), presence::core::InputError);
}
