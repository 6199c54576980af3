// Synthesised background sound for the dataset's scenes (namespace presence::nodes::data):
// rain (filtered noise bursts), hum (50/100 Hz harmonics), birdsong (chirps), crowd (a babble of
// band-passed noise). Deterministic by seed; reentrant.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace presence::nodes::data {

enum class Ambience { None, Rain, Hum, Birdsong, Crowd };

const char* toString(Ambience a);
/// The caption's words for it ("steady rain").
const char* describe(Ambience a);

/// `count` mono samples at `sampleRate`, peak about `level`.
std::vector<float> synthAmbience(Ambience kind, std::int64_t count, int sampleRate, float level,
                                 std::uint64_t seed);

}  // namespace presence::nodes::data
