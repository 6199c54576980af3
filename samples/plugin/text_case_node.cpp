// A third-party node: changes the case of a text. It uses only the installed SDK headers and
// Presence::core, and exports its nodes through the same entry point as the built-in libraries.
#include <presence/core/plugin.hpp>

#include <cctype>

namespace {

using namespace presence::core;

class TextCaseNode final : public Node {
 public:
  void execute(NodeContext& ctx) override {
    std::string text = ctx.inputAs<std::string>("text");
    const std::string mode = ctx.paramString("mode");
    bool wordStart = true;
    for (char& c : text) {
      const auto u = static_cast<unsigned char>(c);
      if (mode == "upper") c = static_cast<char>(std::toupper(u));
      else if (mode == "lower") c = static_cast<char>(std::tolower(u));
      else c = static_cast<char>(wordStart ? std::toupper(u) : std::tolower(u));
      wordStart = std::isspace(u) != 0;
    }
    ctx.setOutput("text", Value::make(types::String, std::move(text)));
  }
};

}  // namespace

PRESENCE_PLUGIN("example-text", "1.0.0") {
  NodeDescriptor d;
  d.id = "example.text_case";
  d.displayName = "Text Case";
  d.category = "example/text";
  d.description = "Changes a text to upper case, lower case or title case.";
  d.comfyName = "ExampleTextCase";
  d.inputs = {{"text", std::string(types::String), "The text to change."}};
  ParamSpec mode;
  mode.name = "mode";
  mode.type = ParamType::Enum;
  mode.defaultValue = "upper";
  mode.options = {"upper", "lower", "title"};
  mode.tooltip = "Which case to write the text in.";
  d.params = {mode};
  d.outputs = {{"text", std::string(types::String), "The text in the chosen case."}};
  registry.add<TextCaseNode>(d);
}
