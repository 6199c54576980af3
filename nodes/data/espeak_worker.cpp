// The espeak-ng worker: synthesises one utterance with a fresh espeak-ng and writes the samples
// and the word and phoneme events to standard output (voice_synth.cpp reads them). A process of
// its own per utterance, because espeak-ng keeps hidden state between utterances.
//
//   presence-espeak-worker VOICE RATE PITCH RANGE SEED TEXT
//
// Exit codes: 0 done, 2 usage or output error, 3 espeak-ng did not start, 4 unknown voice,
// 5 synthesis failed.
#include <espeak-ng/speak_lib.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct Collector {
  std::vector<short> samples;
  std::vector<espeak_EVENT> events;
};
Collector* collector = nullptr;  // set before synthesis

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



}  // namespace

int main(int argc, char** argv) {
  if (argc != 7) return 2;
  const std::string voice = argv[1], text = argv[6];
  const int rate = std::atoi(argv[2]), pitch = std::atoi(argv[3]), range = std::atoi(argv[4]);
  const auto seed = static_cast<unsigned>(std::strtoul(argv[5], nullptr, 10));
  Collector c;
  collector = &c;
  const int sampleRate = espeak_Initialize(AUDIO_OUTPUT_SYNCHRONOUS, 200, nullptr,
                                           espeakINITIALIZE_PHONEME_EVENTS | espeakINITIALIZE_DONT_EXIT);
  if (sampleRate <= 0) return 3;
  espeak_SetSynthCallback(collect);
  if (espeak_SetVoiceByName(voice.c_str()) != EE_OK) return 4;
  espeak_SetParameter(espeakRATE, rate, 0);
  espeak_SetParameter(espeakPITCH, pitch, 0);
  espeak_SetParameter(espeakRANGE, range, 0);
  std::srand(seed);  // espeak-ng draws its noise (fricatives, breath) from rand()
  if (espeak_Synth(text.c_str(), text.size() + 1, 0, POS_CHARACTER, 0, espeakCHARS_UTF8, nullptr, nullptr) != EE_OK ||
      espeak_Synchronize() != EE_OK)
    return 5;
  const std::int32_t header[3] = {sampleRate, static_cast<std::int32_t>(c.samples.size()),
                                  static_cast<std::int32_t>(c.events.size())};
  std::vector<WireEvent> events;
  for (const auto& e : c.events) {
    WireEvent w{e.type, e.audio_position, e.text_position, e.length, {}};
    if (e.type == espeakEVENT_PHONEME) std::memcpy(w.phoneme, e.id.string, sizeof w.phoneme);
    events.push_back(w);
  }
  const bool ok = writeAll(STDOUT_FILENO, header, sizeof header) &&
                  writeAll(STDOUT_FILENO, c.samples.data(), c.samples.size() * sizeof(short)) &&
                  writeAll(STDOUT_FILENO, events.data(), events.size() * sizeof(WireEvent));
  return ok ? 0 : 2;
}
