// Wan2.2 VAE on the CPU (preset `small`, random weights): encode and decode throughput, and the
// peak resident memory of chunked against whole-clip decoding, each measured in a fresh child
// process (this program re-run with --decode-peak) so the peaks do not mix.
//
//   video_vae_bench [frames=17] [size=128] [peak_frames=33] [peak_size=256]
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>

#include "presence/models/video/wan_video_vae.hpp"
#include "presence/runtime/rng.hpp"

namespace {

using presence::models::video::videoVaePreset;
using presence::models::video::WanVideoVae;

// VmRSS (current) or VmHWM (peak) of this process, MiB.
double statusMiB(const char* key) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind(key, 0) == 0) {
      return std::strtod(line.c_str() + std::strlen(key) + 1, nullptr) / 1024.0;  // kB
    }
  }
  return -1.0;
}

double seconds(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

at::Tensor latentsFor(int64_t frames, int64_t size, int64_t z) {
  return presence::runtime::randn({1, z, 1 + (frames - 1) / 4, size / 16, size / 16}, 5);
}

// Child: decode once, print "<seconds> <rss before MiB> <peak MiB>".
int decodePeak(bool chunked, int64_t frames, int64_t size) {
  const auto config = videoVaePreset("small");
  WanVideoVae vae(config, WanVideoVae::randomStateDict(config, 1));
  const at::Tensor z = latentsFor(frames, size, config.zDim);
  const double before = statusMiB("VmRSS:");
  const auto start = std::chrono::steady_clock::now();
  const at::Tensor out = chunked ? vae.decode(z) : vae.decodeWhole(z);
  std::printf("%.3f %.1f %.1f\n", seconds(start), before, statusMiB("VmHWM:"));
  return out.size(1) == frames ? 0 : 1;
}

bool runChild(const char* self, const char* mode, int64_t frames, int64_t size, double out[3]) {
  int pipeFds[2];
  if (pipe(pipeFds) != 0) {
    return false;
  }
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(pipeFds[1], STDOUT_FILENO);
    close(pipeFds[0]);
    const std::string f = std::to_string(frames), s = std::to_string(size);
    execl(self, self, "--decode-peak", mode, f.c_str(), s.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  close(pipeFds[1]);
  char buffer[256] = {};
  const ssize_t n = read(pipeFds[0], buffer, sizeof(buffer) - 1);
  close(pipeFds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return n > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
         std::sscanf(buffer, "%lf %lf %lf", &out[0], &out[1], &out[2]) == 3;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 5 && std::strcmp(argv[1], "--decode-peak") == 0) {
    return decodePeak(std::strcmp(argv[2], "chunked") == 0, std::atoll(argv[3]), std::atoll(argv[4]));
  }
  const int64_t frames = argc > 1 ? std::atoll(argv[1]) : 17;
  const int64_t size = argc > 2 ? std::atoll(argv[2]) : 128;
  const int64_t peakFrames = argc > 3 ? std::atoll(argv[3]) : 33;
  const int64_t peakSize = argc > 4 ? std::atoll(argv[4]) : 256;

  const auto config = videoVaePreset("small");
  WanVideoVae vae(config, WanVideoVae::randomStateDict(config, 1));
  at::Generator gen = presence::runtime::makeGenerator(2);
  const at::Tensor clip = presence::runtime::rand({frames, size, size, 3}, gen);
  std::printf("video_vae_bench: preset small (%s), %d intra-op threads\n",
              presence::models::video::videoVaeSummary(config).c_str(), at::get_num_threads());

  vae.encode(clip.narrow(0, 0, 1));  // warm-up
  auto start = std::chrono::steady_clock::now();
  const at::Tensor z = vae.encode(clip);
  const double encodeS = seconds(start);
  start = std::chrono::steady_clock::now();
  const at::Tensor decoded = vae.decode(z);
  const double decodeS = seconds(start);
  std::printf("  %lld frames %lldx%lld -> latents [%lld, %lld, %lld, %lld]\n", static_cast<long long>(frames),
              static_cast<long long>(size), static_cast<long long>(size), static_cast<long long>(z.size(1)),
              static_cast<long long>(z.size(2)), static_cast<long long>(z.size(3)),
              static_cast<long long>(z.size(4)));
  std::printf("  encode %.2f s (%.2f frames/s), decode (chunked) %.2f s (%.2f frames/s)\n", encodeS,
              static_cast<double>(frames) / encodeS, decodeS, static_cast<double>(decoded.size(1)) / decodeS);

  std::printf("  decoding %lld frames %lldx%lld, each in its own process:\n",
              static_cast<long long>(peakFrames), static_cast<long long>(peakSize),
              static_cast<long long>(peakSize));
  for (const char* mode : {"chunked", "whole"}) {
    double r[3] = {};
    if (!runChild(argv[0], mode, peakFrames, peakSize, r)) {
      std::printf("    %s: child failed\n", mode);
      return 1;
    }
    std::printf("    %-7s %.2f s, peak RSS %.1f MiB (%.1f MiB before decoding, +%.1f MiB)\n", mode, r[0],
                r[2], r[1], r[2] - r[1]);
  }
  return 0;
}
