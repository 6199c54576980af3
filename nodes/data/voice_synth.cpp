#include "voice_synth.hpp"

#include <dlfcn.h>
#include <espeak-ng/speak_lib.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <vector>

#include "presence/core/error.hpp"

namespace presence::nodes::data {
namespace {

// espeak-ng keeps hidden state across utterances (pitch flutter position, wave phase), so the
// same text gives different samples depending on what was spoken before. Each utterance is
// therefore synthesised by a fresh worker process (espeak_worker.cpp), which makes the output a
// pure function of text and voice. The worker is started with posix_spawn, not fork: fork runs
// the host's pthread_atfork handlers, and OpenBLAS's handler deadlocks when another thread of the
// host is inside a BLAS call (a model loading on a parallel branch of the graph).
std::mutex& espeakMutex() {
  static std::mutex m;
  return m;
}

// What the worker sends back for each event (espeak_worker.cpp writes the same layout).
struct WireEvent {
  std::int32_t type, audioPosition, textPosition, length;
  char phoneme[8];
};

// The worker executable: $PRESENCE_ESPEAK_WORKER, else next to this code's library or plugin,
// else the build tree's.
std::string workerPath() {
  if (const char* env = std::getenv("PRESENCE_ESPEAK_WORKER"); env != nullptr && *env != '\0') return env;
  Dl_info info{};
  if (dladdr(reinterpret_cast<const void*>(&workerPath), &info) != 0 && info.dli_fname != nullptr) {
    const auto beside = std::filesystem::path(info.dli_fname).parent_path() / "presence-espeak-worker";
    if (::access(beside.c_str(), X_OK) == 0) return beside.string();
  }
  return PRESENCE_ESPEAK_WORKER_BUILD_PATH;
}

}  // namespace

VoiceParams VoiceParams::random(std::mt19937_64& rng, int index, int count) {
  VoiceParams v;
  const bool female = index % 2 == 1;
  const int variant = static_cast<int>(rng() % (female ? 5 : 7)) + 1;
  v.voice = std::string(index % 3 == 2 ? "en" : "en-us") + (female ? "+f" : "+m") + std::to_string(variant);
  // Spread pitch over the identities so that voices differ in f0, not only in timbre.
  const double t = count > 1 ? double(index) / (count - 1) : 0.5;
  v.pitch = std::clamp(static_cast<int>(15 + 70 * t + int(rng() % 9) - 4), 0, 100);
  v.range = 30 + static_cast<int>(rng() % 50);
  v.rate = 150 + static_cast<int>(rng() % 60);
  const char* height = v.pitch < 35 ? "low" : v.pitch < 65 ? "medium" : "high";
  v.description = std::string("a ") + height + "-pitched " + (female ? "female" : "male") +
                  " voice, speaking " + (v.rate > 185 ? "fast" : "calmly");
  return v;
}

Utterance synthesise(const std::string& text, const VoiceParams& voice) {
  std::uint32_t seed = 2166136261u;  // FNV-1a of the request
  for (char ch :
       voice.voice + "|" + std::to_string(voice.pitch) + "|" + std::to_string(voice.rate) + "|" + text)
    seed = (seed ^ static_cast<unsigned char>(ch)) * 16777619u;

  std::lock_guard<std::mutex> lock(espeakMutex());
  const std::string worker = workerPath();
  if (::access(worker.c_str(), X_OK) != 0)
    throw core::Error("espeak-ng worker not found or not executable: " + worker + " (set PRESENCE_ESPEAK_WORKER)");
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw core::Error("espeak-ng: cannot create a pipe");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  const std::string pitch = std::to_string(voice.pitch), rate = std::to_string(voice.rate),
                    range = std::to_string(voice.range), seedText = std::to_string(seed);
  std::vector<char*> argv = {const_cast<char*>(worker.c_str()), const_cast<char*>(voice.voice.c_str()),
                             const_cast<char*>(rate.c_str()),   const_cast<char*>(pitch.c_str()),
                             const_cast<char*>(range.c_str()),  const_cast<char*>(seedText.c_str()),
                             const_cast<char*>(text.c_str()),   nullptr};
  pid_t pid = 0;
  const int spawned = ::posix_spawn(&pid, worker.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(fds[1]);
  if (spawned != 0) {
    ::close(fds[0]);
    throw core::Error("espeak-ng: cannot start " + worker + ": " + std::strerror(spawned));
  }
  std::string bytes;
  char buf[65536];
  for (;;) {
    const ssize_t r = ::read(fds[0], buf, sizeof buf);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    bytes.append(buf, static_cast<std::size_t>(r));
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (code == 3) throw core::Error("espeak-ng could not start (is espeak-ng-data installed?)");
  if (code == 4) throw core::Error("espeak-ng does not know the voice '" + voice.voice + "'");
  std::int32_t header[3] = {0, 0, 0};
  if (code != 0 || bytes.size() < sizeof header)
    throw core::Error("espeak-ng failed to synthesise \"" + text + "\" (exit code " + std::to_string(code) +
                      ")");
  std::memcpy(header, bytes.data(), sizeof header);
  const std::size_t need =
      sizeof header + std::size_t(header[1]) * sizeof(short) + std::size_t(header[2]) * sizeof(WireEvent);
  if (bytes.size() != need) throw core::Error("espeak-ng: truncated output for \"" + text + "\"");

  Utterance u;
  u.audio.channels = 1;
  u.audio.sampleRate = header[0];
  u.audio.samples.resize(static_cast<std::size_t>(header[1]));
  const char* p = bytes.data() + sizeof header;
  for (auto& v : u.audio.samples) {
    short s;
    std::memcpy(&s, p, sizeof s);
    p += sizeof s;
    v = s / 32768.0f;
  }
  std::vector<WireEvent> events(static_cast<std::size_t>(header[2]));
  if (!events.empty()) std::memcpy(events.data(), p, events.size() * sizeof(WireEvent));
  const double total = u.audio.seconds();
  // Each event's end is the next event's start of the same type (the last ends with the audio).
  auto timeline = [&](std::int32_t type, std::vector<Timed>& out) {
    for (const auto& e : events) {
      if (e.type != type) continue;
      const double t = std::min(total, e.audioPosition / 1000.0);
      if (!out.empty()) out.back().end = std::max(out.back().start, t);
      std::string label;
      if (type == espeakEVENT_PHONEME)
        label.assign(e.phoneme, strnlen(e.phoneme, sizeof e.phoneme));
      else
        label = text.substr(std::min<std::size_t>(text.size(), std::max(0, e.textPosition - 1)),
                            std::max(0, e.length));
      out.push_back({label, t, total});
    }
  };
  timeline(espeakEVENT_WORD, u.words);
  timeline(espeakEVENT_PHONEME, u.phonemes);
  return u;
}

float mouthOpenness(const std::string& ph) {
  if (ph.empty() || ph[0] == '_' || ph[0] == ';' || ph[0] == '\'' || ph[0] == ',')
    return 0.0f;  // pauses, stress
  const char c = ph[0];
  if (c == 'p' || c == 'b' || c == 'm') return 0.0f;  // bilabials close the lips
  if (c == 'a' || c == 'A' || c == 'O' || c == 'V' || c == '0' || c == 'o') return 1.0f;
  if (c == 'e' || c == 'E' || c == '@' || c == '3' || c == 'I' || c == 'i' || c == 'U' || c == 'u' ||
      c == 'W')
    return 0.7f;
  if (c == 'f' || c == 'v' || c == 'w') return 0.15f;
  return 0.35f;
}

}  // namespace presence::nodes::data
