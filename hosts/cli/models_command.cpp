#include "models_command.hpp"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <functional>
#include <iostream>
#include <sstream>

#include "presence/core/error.hpp"
#include "presence/models/audio/bigvgan_config.hpp"
#include "presence/models/audio/vae_config.hpp"
#include "presence/models/dit/dit_manifest.hpp"
#include "presence/models/dit/dit_presets.hpp"
#include "presence/models/text/umt5_manifest.hpp"
#include "presence/models/text/umt5_presets.hpp"
#include "presence/models/video/video_vae_config.hpp"

namespace presence::cli {
namespace {

// One parameter as `presence models --manifest` prints it, whatever the architecture.
struct ManifestLine {
  std::string name;
  std::vector<int64_t> shape;
  std::string dtype;
  std::string role;
};

struct PresetFacts {
  std::string summary;
  std::string weightDtype;
  int64_t tensors = 0;             ///< in the official layout
  int64_t parameters = 0;          ///< in the official layout
  int64_t extensionParameters = 0;  ///< ours, not in public files
  int64_t forwardParameters = 0;
  std::vector<ManifestLine> lines;
};

// An architecture family: its presets and how to describe one from its config alone.
struct Family {
  std::string id;     ///< "dit", "text"
  std::string title;  ///< for people
  std::function<std::vector<std::string>()> presets;
  std::function<PresetFacts(const std::string&)> describe;
};

PresetFacts describeDit(const std::string& name) {
  using namespace presence::models::dit;
  const DitConfig c = preset(name);
  const Manifest m = buildManifest(c);
  PresetFacts f{presetSummary(name), c.weightDtype, m.tensorCount(false), m.parameterCount(false),
                m.parameterCount() - m.parameterCount(false), m.forwardParameterCount(), {}};
  for (const auto& p : m.parameters) f.lines.push_back({p.name, p.shape, p.dtype, toString(p.role)});
  return f;
}

PresetFacts describeText(const std::string& name) {
  using namespace presence::models::text;
  const Umt5Config c = umt5Preset(name);
  const Umt5Manifest m = buildUmt5Manifest(c);
  PresetFacts f{umt5PresetSummary(name), c.weightDtype, m.tensorCount(), m.parameterCount(), 0, m.parameterCount(),
                {}};
  for (const auto& p : m.parameters) f.lines.push_back({p.name, p.shape, c.weightDtype, "forward"});
  return f;
}

PresetFacts describeAudioVae(const std::string& name) {
  using namespace presence::models::audio;
  const AudioVaeConfig c = audioVaePreset(name);
  const AudioVaeManifest m = buildAudioVaeManifest(c);
  std::string summary = name == "mmaudio16k" ? "public MMAudio 16 kHz mel VAE" : "same architecture, smaller";
  summary += " (80 mels -> " + std::to_string(c.embedDim) + " latent channels, hidden " +
             std::to_string(c.hiddenDim) + ", " + std::to_string(c.temporalDownsample()) + "x down in time)";
  PresetFacts f{summary, "f32", m.tensorCount(), m.parameterCount(), 0, m.parameterCount(), {}};
  for (const auto& t : m.tensors) f.lines.push_back({t.name, t.shape, t.dtype, t.buffer ? "buffer" : "forward"});
  return f;
}

PresetFacts describeVideoVae(const std::string& name) {
  using namespace presence::models::video;
  const WanVaeConfig c = videoVaePreset(name);
  const VideoVaeManifest m = buildVideoVaeManifest(c);
  std::string summary = name == "wan22" ? "public Wan2.2 VAE; " : "same architecture, smaller; ";
  summary += videoVaeSummary(c);
  PresetFacts f{summary, "f32", m.tensorCount(), m.parameterCount(), 0, m.parameterCount(), {}};
  for (const auto& t : m.tensors) f.lines.push_back({t.name, t.shape, t.dtype, "forward"});
  return f;
}

PresetFacts describeVocoder(const std::string& name) {
  using namespace presence::models::audio;
  const BigVganConfig c = bigVganPreset(name);
  const BigVganManifest m = buildBigVganManifest(c);
  PresetFacts f{describeBigVgan(c), "f32", m.tensorCount(), m.parameterCount(), 0, m.parameterCount(), {}};
  for (const auto& t : m.tensors) f.lines.push_back({t.name, t.shape, t.dtype, t.buffer ? "buffer" : "forward"});
  return f;
}

const std::vector<Family>& families() {
  static const std::vector<Family> all = {
      {"dit", "Dual-tower diffusion transformer", [] { return models::dit::presetNames(); }, describeDit},
      {"text", "Text encoder (UMT5)", [] { return models::text::umt5PresetNames(); }, describeText},
      {"audio-vae", "Audio VAE (MMAudio, 16 kHz)", [] { return models::audio::audioVaePresetNames(); },
       describeAudioVae},
      {"video-vae", "Video VAE (Wan2.2)", [] { return models::video::videoVaePresetNames(); }, describeVideoVae},
      {"vocoder", "Vocoder (BigVGAN; Griffin-Lim needs no weights)", [] { return models::audio::bigVganPresetNames(); },
       describeVocoder},
  };
  return all;
}

// "family:preset", or a bare preset name: the DiT's first, then any family that has it.
std::pair<const Family*, std::string> resolve(const std::string& spec) {
  const auto colon = spec.find(':');
  if (colon != std::string::npos) {
    const std::string family = spec.substr(0, colon), name = spec.substr(colon + 1);
    for (const auto& f : families())
      if (f.id == family) return {&f, name};
    throw core::InputError("unknown model family '" + family + "' (known: dit, text, audio-vae, video-vae, vocoder)");
  }
  for (const auto& f : families())
    for (const auto& name : f.presets())
      if (name == spec) return {&f, spec};
  std::string known;
  for (const auto& f : families())
    for (const auto& name : f.presets()) known += (known.empty() ? "" : ", ") + f.id + ":" + name;
  throw core::InputError("unknown model preset '" + spec + "' (known: " + known + ")");
}

int64_t bytesPerElement(const std::string& dtype) { return dtype == "f32" ? 4 : 2; }

std::string gigabytes(int64_t bytes) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2f GB", static_cast<double>(bytes) / 1e9);
  return buffer;
}

}  // namespace

int modelsCommand(const std::string& manifestPreset, bool json) {
  try {
    if (!manifestPreset.empty()) {
      const auto [family, name] = resolve(manifestPreset);
      const PresetFacts facts = family->describe(name);
      if (json) {
        nlohmann::json list = nlohmann::json::array();
        for (const auto& l : facts.lines)
          list.push_back({{"name", l.name}, {"shape", l.shape}, {"dtype", l.dtype}, {"role", l.role}});
        std::cout << list.dump(1) << "\n";
        return 0;
      }
      std::ostringstream out;
      for (const auto& l : facts.lines) {
        out << l.name << "\t[";
        for (size_t i = 0; i < l.shape.size(); ++i) out << (i ? ", " : "") << l.shape[i];
        out << "]\t" << l.dtype << "\t" << l.role << "\n";
      }
      std::cout << out.str();
      return 0;
    }
    nlohmann::json list = nlohmann::json::array();
    for (const auto& family : families()) {
      if (!json) std::cout << family.title << " (" << family.id << ")\n";
      for (const auto& name : family.presets()) {
        const PresetFacts f = family.describe(name);
        const int64_t bytes = (f.parameters + f.extensionParameters) * bytesPerElement(f.weightDtype);
        if (json) {
          list.push_back({{"family", family.id},
                          {"name", name},
                          {"summary", f.summary},
                          {"tensors", f.tensors},
                          {"parameters", f.parameters},
                          {"extension_parameters", f.extensionParameters},
                          {"forward_parameters", f.forwardParameters},
                          {"weight_dtype", f.weightDtype},
                          {"bytes", bytes}});
          continue;
        }
        std::cout << "  " << family.id << ":" << name << ": " << f.summary << "\n"
                  << "    " << f.tensors << " tensors, " << f.parameters << " parameters in the official layout";
        if (f.extensionParameters > 0) std::cout << " (+" << f.extensionParameters << " ours)";
        std::cout << ", " << f.forwardParameters << " read by the forward pass, " << gigabytes(bytes) << " as "
                  << f.weightDtype << "\n";
      }
    }
    if (json) std::cout << list.dump(1) << "\n";
    return 0;
  } catch (const core::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 2;
  }
}

}  // namespace presence::cli
