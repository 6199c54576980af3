#include "voice_synth.hpp"

#include <espeak-ng/speak_lib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "presence/core/error.hpp"

namespace presence::nodes::data {
namespace {

// espeak-ng keeps hidden state across utterances (pitch flutter position, wave phase), so the
// same text gives different samples depending on what was spoken before. Each utterance is
// therefore synthesised in a forked child with a fresh, never-initialised espeak-ng (the parent
// never initialises it), which makes the output a pure function of text and voice. glibc makes
// malloc and stdio safe to use in a child forked from a threaded process; the child touches
// nothing else and leaves with _exit.
std::mutex& espeakMutex() {
  static std::mutex m;
  return m;
}

struct Collector {
  std::vector<short> samples;
  std::vector<espeak_EVENT> events;
};
Collector* collector = nullptr;  // the child's, set before synthesis

int collect(short* wav, int count, espeak_EVENT* events) {
  if (wav != nullptr && count > 0) collector->samples.insert(collector->samples.end(), wav, wav + count);
  for (espeak_EVENT* e = events; e != nullptr && e->type != espeakEVENT_LIST_TERMINATED; ++e)
    if (e->type == espeakEVENT_WORD || e->type == espeakEVENT_PHONEME) collector->events.push_back(*e);
  return 0;
}

// What the child sends back through the pipe for each event.
struct WireEvent {
  std::int32_t type, audioPosition, textPosition, length;
  char phoneme[8];
};

bool writeAll(int fd, const void* data, std::size_t n) {
  const char* p = static_cast<const char*>(data);
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<std::size_t>(w);
  }
  return true;
}

[[noreturn]] void childSynthesise(int fd, const std::string& text, const VoiceParams& voice, unsigned seed) {
  int status = 2;
  try {
    Collector c;
    collector = &c;
    const int rate = espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 200, nullptr,
                                       espeakINITIALIZE_PHONEME_EVENTS | espeakINITIALIZE_DONT_EXIT);
    if (rate <= 0) ::_exit(3);
    espeak_SetSynthCallback(collect);
    if (espeak_SetVoiceByName(voice.voice.c_str()) != EE_OK) ::_exit(4);
    espeak_SetParameter(espeakRATE, voice.rate, 0);
    espeak_SetParameter(espeakPITCH, voice.pitch, 0);
    espeak_SetParameter(espeakRANGE, voice.range, 0);
    std::srand(seed);  // espeak-ng draws its noise (fricatives, breath) from rand()
    if (espeak_Synth(text.c_str(), text.size() + 1, 0, POS_CHARACTER, 0, espeakCHARS_UTF8, nullptr,
                     nullptr) != EE_OK ||
        espeak_Synchronize() != EE_OK)
      ::_exit(5);
    const std::int32_t header[3] = {rate, static_cast<std::int32_t>(c.samples.size()),
                                    static_cast<std::int32_t>(c.events.size())};
    std::vector<WireEvent> events;
    for (const auto& e : c.events) {
      WireEvent w{e.type, e.audio_position, e.text_position, e.length, {}};
      if (e.type == espeakEVENT_PHONEME) std::memcpy(w.phoneme, e.id.string, sizeof w.phoneme);
      events.push_back(w);
    }
    if (writeAll(fd, header, sizeof header) &&
        writeAll(fd, c.samples.data(), c.samples.size() * sizeof(short)) &&
        writeAll(fd, events.data(), events.size() * sizeof(WireEvent)))
      status = 0;
  } catch (...) {
  }
  ::_exit(status);
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
  int fds[2];
  if (::pipe(fds) != 0) throw core::Error("espeak-ng: cannot create a pipe");
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    throw core::Error("espeak-ng: cannot fork");
  }
  if (pid == 0) {
    ::close(fds[0]);
    childSynthesise(fds[1], text, voice, seed);
  }
  ::close(fds[1]);
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
