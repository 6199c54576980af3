// Runs a libFuzzer target without libFuzzer, so every compiler (and CI with g++) exercises it:
// each file of the seed corpus, then a fixed number of deterministic mutations of them (bit and
// byte flips, truncations, header-length rewrites, spliced JSON), through LLVMFuzzerTestOneInput.
// Usage: fuzz_driver CORPUS_DIR [ITERATIONS]
#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

namespace {

std::vector<std::uint8_t> readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::vector<std::uint8_t> mutate(std::vector<std::uint8_t> bytes, std::mt19937_64& rng,
                                 const std::vector<std::vector<std::uint8_t>>& corpus) {
  auto pick = [&](std::size_t n) { return n == 0 ? 0 : static_cast<std::size_t>(rng() % n); };
  switch (rng() % 6) {
    case 0:  // flip bits
      for (int i = 0, n = 1 + static_cast<int>(rng() % 4); i < n && !bytes.empty(); ++i)
        bytes[pick(bytes.size())] ^= static_cast<std::uint8_t>(1u << (rng() % 8));
      break;
    case 1:  // interesting byte values
      if (!bytes.empty()) bytes[pick(bytes.size())] = std::array<std::uint8_t, 6>{0, 0xff, '"', '[', '-', '9'}[rng() % 6];
      break;
    case 2:  // truncate
      bytes.resize(pick(bytes.size() + 1));
      break;
    case 3: {  // rewrite the header length
      if (bytes.size() < 8) bytes.resize(8);
      const std::uint64_t values[] = {0, 1, bytes.size(), bytes.size() - 8, bytes.size() + 1, ~0ull, 1ull << 40};
      std::uint64_t v = values[rng() % std::size(values)];
      for (int i = 0; i < 8; ++i) bytes[i] = static_cast<std::uint8_t>(v >> (8 * i));
      break;
    }
    case 4: {  // splice a piece of another input
      const auto& other = corpus[pick(corpus.size())];
      if (other.empty() || bytes.empty()) break;
      const std::size_t from = pick(other.size()), len = 1 + pick(std::min<std::size_t>(64, other.size() - from));
      const std::size_t at = pick(bytes.size());
      bytes.insert(bytes.begin() + static_cast<std::ptrdiff_t>(at), other.begin() + static_cast<std::ptrdiff_t>(from),
                   other.begin() + static_cast<std::ptrdiff_t>(from + len));
      break;
    }
    default: {  // change a digit inside the JSON (shapes, offsets)
      for (std::size_t tries = 0; tries < 32 && bytes.size() > 8; ++tries) {
        const std::size_t i = 8 + pick(bytes.size() - 8);
        if (bytes[i] >= '0' && bytes[i] <= '9') {
          bytes[i] = static_cast<std::uint8_t>('0' + rng() % 10);
          break;
        }
      }
    }
  }
  return bytes;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR [ITERATIONS]\n", argv[0]);
    return 2;
  }
  const long iterations = argc > 2 ? std::strtol(argv[2], nullptr, 10) : 20000;
  // Sorted, so the mutations are the same on every machine whatever order the folder lists in.
  std::vector<std::filesystem::path> seeds;
  for (const auto& entry : std::filesystem::directory_iterator(argv[1]))
    if (entry.is_regular_file()) seeds.push_back(entry.path());
  std::sort(seeds.begin(), seeds.end());
  std::vector<std::vector<std::uint8_t>> corpus;
  for (const auto& seed : seeds) corpus.push_back(readFile(seed));
  if (corpus.empty()) {
    std::fprintf(stderr, "no seed files in %s\n", argv[1]);
    return 2;
  }
  for (const auto& seed : corpus) LLVMFuzzerTestOneInput(seed.data(), seed.size());
  std::mt19937_64 rng(20261122);
  for (long i = 0; i < iterations; ++i) {
    auto input = mutate(corpus[rng() % corpus.size()], rng, corpus);
    for (int more = static_cast<int>(rng() % 3); more > 0; --more) input = mutate(std::move(input), rng, corpus);
    LLVMFuzzerTestOneInput(input.data(), input.size());
  }
  std::printf("%zu seeds and %ld mutated inputs: no crash\n", corpus.size(), iterations);
  return 0;
}
