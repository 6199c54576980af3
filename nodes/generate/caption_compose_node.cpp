// presence.caption_compose: the paper's structured caption, written in the model's syntax and
// encoded by its text encoder.
#include <sstream>

#include "generate_nodes.hpp"
#include "node_util.hpp"
#include "presence/models/generation/payloads.hpp"

namespace presence::nodes::generate {
namespace {

using namespace presence::core;
using media::boolParam;
using media::enumParam;
using media::port;
using media::stringParam;
using media::textParam;
namespace gen = presence::models::generation;

constexpr int kSubjectGroups = 4;

std::string subjectParam(int n, std::string_view field) { return "subject" + std::to_string(n) + "_" + std::string(field); }

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);)
    if (line.find_first_not_of(" \t\r") != std::string::npos) out.push_back(line);
  return out;
}

bool blank(const std::string& s) { return s.find_first_not_of(" \t\r\n") == std::string::npos; }

class CaptionComposeNode final : public Node {
 public:
  void execute(NodeContext& ctx) override {
    const auto& model = *ctx.inputAs<gen::ModelHandle>("model").model;
    const gen::IdentitySet* identities =
        ctx.hasInput("identities") ? &ctx.inputAs<gen::IdentitySet>("identities") : nullptr;

    gen::StructuredCaption caption;
    caption.scene = ctx.paramString("scene");
    caption.camera = ctx.paramString("camera");
    caption.ambience = ctx.paramString("ambience");
    caption.soundEffects = ctx.paramString("sound_effects");
    caption.speechInTurns = ctx.paramBool("speech_in_turns");
    for (int n = 1; n <= kSubjectGroups; ++n) {
      gen::SubjectCaption s;
      s.anchor = ctx.paramString(subjectParam(n, "anchor"));
      const std::string position = ctx.paramString(subjectParam(n, "position"));
      s.position = position == "unsaid" ? "" : position;
      if (!s.position.empty() && s.position != "left" && s.position != "right" && s.position != "center")
        ctx.fail(subjectParam(n, "position"),
                 "unknown position '" + position + "' (known: unsaid, left, right, center)");
      s.appearance = ctx.paramString(subjectParam(n, "appearance"));
      s.actions = ctx.paramString(subjectParam(n, "actions"));
      s.voice = ctx.paramString(subjectParam(n, "voice"));
      s.speech = lines(ctx.paramString(subjectParam(n, "speech")));
      if (blank(s.anchor) && s.position.empty() && blank(s.appearance) && blank(s.actions) && blank(s.voice) &&
          s.speech.empty())
        continue;
      // Subject n is bound to the n-th connected identity's slot (the anchor carries it).
      s.slot = n - 1;
      if (identities != nullptr) {
        if (static_cast<size_t>(n) > identities->subjects.size())
          ctx.fail(subjectParam(n, "appearance"), "subject " + std::to_string(n) + " is described but the connected " +
                                                      "identities hold only " +
                                                      std::to_string(identities->subjects.size()) + " subject(s)");
        s.slot = identities->subjects[n - 1].slot;
      }
      caption.subjects.push_back(std::move(s));
    }
    const std::string syntaxName = ctx.paramString("syntax");
    const gen::CaptionSyntax syntax =
        syntaxName == "model" ? model.captionSyntax() : gen::parseCaptionSyntax(syntaxName);
    const std::string text = media::blameParam(ctx, "scene", [&] { return gen::composeCaption(caption, syntax); });

    ctx.progress(0.3, "encoding the caption");
    gen::EncodedCaption encoded = gen::encodeCaption(model, text, ctx.paramString("negative_video"),
                                                     ctx.paramString("negative_audio"));
    ctx.log(LogLevel::Info, "caption (" + std::to_string(encoded.promptTokens) + " tokens): " + text);
    if (encoded.truncated)
      ctx.log(LogLevel::Warning, "the caption fills the model's " + std::to_string(model.textLength()) +
                                     " text tokens and may have been cut; shorten it");
    ctx.setOutput("caption", Value::make(types::Caption, std::move(encoded)));
    ctx.setOutput("text", Value::make(types::String, text));
  }
};

}  // namespace

void registerCaptionComposeNode(NodeRegistry& registry, const std::string& origin) {
  auto d = media::describe(
      "presence.caption_compose", "Caption Compose", "generate", "PresenceCaptionCompose",
      "Builds the structured caption of the paper (section 3.2): scene, camera, and per subject an anchor "
      "bound to its identity slot that carries the subject's appearance, actions and lines of speech (in "
      "turns when several subjects speak), then the audio description (voices, ambience, sound effects). "
      "Writes it in the model's syntax (speech as <S>...<E>; the audio description as 'Audio: ...' or "
      "<AUDCAP>...<ENDAUDCAP>), encodes it and the negative prompts with the model's text encoder, and "
      "logs the final text. Subject N is bound to the N-th subject of the connected identities.");
  d.inputs = {port("model", types::Model, "The model whose text encoder encodes the caption."),
              port("identities", types::Identities,
                   "The subjects (optional): subject N of the caption gets the N-th identity's slot.", true)};
  d.params = {
      enumParam("syntax", {"model", "audio_suffix", "audcap"}, "model",
                "model: what the loaded model expects; audio_suffix: 'Audio: ...' (Ovi 960, "
                "Identity-as-Presence); audcap: <AUDCAP>...<ENDAUDCAP> (Ovi 720)."),
      textParam("scene", "", "Where it happens and what it looks like."),
      textParam("camera", "", "Shot and camera movement (static, pan, zoom, ...)."),
      textParam("ambience", "", "Background sound (rain, hum, birdsong, crowd)."),
      textParam("sound_effects", "", "Sound effects."),
      boolParam("speech_in_turns", true,
                "Several speakers alternate line by line; off: each subject's lines are written together.")};
  for (int n = 1; n <= kSubjectGroups; ++n) {
    const std::string who = "Subject " + std::to_string(n);
    d.params.push_back(stringParam(subjectParam(n, "anchor"), "",
                                   who + "'s unique identifier in the caption; empty: 'Subject <slot + 1>'."));
    d.params.push_back(enumParam(subjectParam(n, "position"), {"unsaid", "left", "right", "center"}, "unsaid",
                                 who + "'s place in the frame, written before the appearance ('" + who +
                                     ", on the left, ...', 'in the center'); left and right in the form "
                                     "synth_dataset's random_sides captions use for two subjects."));
    d.params.push_back(textParam(subjectParam(n, "appearance"), "", who + "'s appearance."));
    d.params.push_back(textParam(subjectParam(n, "actions"), "", who + "'s actions and expressions."));
    d.params.push_back(stringParam(subjectParam(n, "voice"), "", who + "'s voice, for the audio description."));
    d.params.push_back(textParam(subjectParam(n, "speech"), "", who + "'s lines of speech, one per line."));
  }
  d.params.push_back(stringParam("negative_video", std::string(gen::kDefaultVideoNegative),
                                 "Negative prompt of the video tower's guidance pass."));
  d.params.push_back(stringParam("negative_audio", std::string(gen::kDefaultAudioNegative),
                                 "Negative prompt of the audio tower's guidance pass."));
  d.outputs = {port("caption", types::Caption, "The encoded caption and negative prompts."),
               port("text", types::String, "The caption text as the model reads it.")};
  registry.add<CaptionComposeNode>(std::move(d), origin);
}

}  // namespace presence::nodes::generate
