#include "ambience.hpp"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <random>

namespace presence::nodes::data {
namespace {

constexpr double kTwoPi = 2.0 * std::numbers::pi;

// A two-pole resonator: band-passes white noise around `hz` (used for rain and babble).
struct Resonator {
  double a1 = 0, a2 = 0, gain = 0, y1 = 0, y2 = 0;
  Resonator(double hz, double q, int rate) {
    const double r = std::exp(-std::numbers::pi * hz / (q * rate));
    a1 = 2 * r * std::cos(kTwoPi * hz / rate);
    a2 = -r * r;
    gain = 1 - r;
  }
  double operator()(double x) {
    const double y = gain * x + a1 * y1 + a2 * y2;
    y2 = y1;
    y1 = y;
    return y;
  }
};

void normalise(std::vector<float>& s, float level) {
  float peak = 0;
  for (float v : s) peak = std::max(peak, std::abs(v));
  if (peak > 0)
    for (float& v : s) v *= level / peak;
}

}  // namespace

const char* toString(Ambience a) {
  switch (a) {
    case Ambience::Rain:
      return "rain";
    case Ambience::Hum:
      return "hum";
    case Ambience::Birdsong:
      return "birdsong";
    case Ambience::Crowd:
      return "crowd";
    default:
      return "none";
  }
}

const char* describe(Ambience a) {
  switch (a) {
    case Ambience::Rain:
      return "steady rain";
    case Ambience::Hum:
      return "a low electrical hum";
    case Ambience::Birdsong:
      return "birds singing";
    case Ambience::Crowd:
      return "the murmur of a distant crowd";
    default:
      return "";
  }
}

std::vector<float> synthAmbience(Ambience kind, std::int64_t count, int rate, float level,
                                 std::uint64_t seed) {
  std::vector<float> s(static_cast<std::size_t>(std::max<std::int64_t>(0, count)), 0.0f);
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> noise(0.0, 1.0);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  switch (kind) {
    case Ambience::None:
      return s;
    case Ambience::Rain: {
      // Drops: short decaying bursts of high-passed noise at random times over a soft bed.
      Resonator bed(3000, 0.7, rate);
      double env = 0, prev = 0;
      for (auto& v : s) {
        if (u(rng) < 150.0 / rate) env = 0.5 + u(rng);
        env *= std::exp(-1.0 / (0.004 * rate));
        const double n = noise(rng);
        v = static_cast<float>(0.3 * bed(n) + env * (n - prev));
        prev = n;
      }
      break;
    }
    case Ambience::Hum: {
      const double phase = u(rng) * kTwoPi;
      for (std::size_t i = 0; i < s.size(); ++i) {
        const double t = double(i) / rate;
        s[i] = static_cast<float>(std::sin(kTwoPi * 50 * t + phase) + 0.6 * std::sin(kTwoPi * 100 * t) +
                                  0.25 * std::sin(kTwoPi * 150 * t + phase));
      }
      break;
    }
    case Ambience::Birdsong: {
      // Chirps: short tones sweeping upwards, a few per second.
      std::size_t i = 0;
      while (i < s.size()) {
        i += static_cast<std::size_t>(rate * (0.08 + 0.35 * u(rng)));
        const double f0 = 2500 + 2000 * u(rng), sweep = 1500 + 2500 * u(rng), len = 0.04 + 0.06 * u(rng);
        double ph = 0;
        for (std::size_t k = 0; k < static_cast<std::size_t>(len * rate) && i + k < s.size(); ++k) {
          const double t = double(k) / rate;
          ph += kTwoPi * (f0 + sweep * t / len) / rate;
          s[i + k] += static_cast<float>(std::sin(std::numbers::pi * t / len) * std::sin(ph));
        }
      }
      break;
    }
    case Ambience::Crowd: {
      // Babble: several band-passed noise "voices" around speech formants with slow syllabic
      // amplitude modulation.
      for (int voice = 0; voice < 6; ++voice) {
        Resonator f1(300 + 500 * u(rng), 3, rate), f2(1000 + 1500 * u(rng), 4, rate);
        const double rateHz = 3 + 3 * u(rng), ph = u(rng) * kTwoPi;
        for (std::size_t i = 0; i < s.size(); ++i) {
          const double n = noise(rng);
          const double am = 0.5 + 0.5 * std::sin(kTwoPi * rateHz * i / rate + ph);
          s[i] += static_cast<float>(am * (f1(n) + 0.5 * f2(n)));
        }
      }
      break;
    }
  }
  normalise(s, level);
  return s;
}

}  // namespace presence::nodes::data
