// Primitive value and arithmetic nodes: constants an artist wires into several nodes at once,
// and simple arithmetic on them (frames from seconds and fps, and the like).
#include <cmath>

#include "presence/core/plugin.hpp"

namespace presence::nodes::util {

using namespace presence::core;

namespace {

class FloatValueNode final : public Node {
 public:
  void execute(NodeContext& ctx) override { ctx.setOutput("value", Value::make(types::Float, ctx.paramFloat("value"))); }
};

class IntValueNode final : public Node {
 public:
  void execute(NodeContext& ctx) override {
    ctx.setOutput("value", Value::make(types::Int, ctx.paramInt("value")));
  }
};

class StringValueNode final : public Node {
 public:
  void execute(NodeContext& ctx) override {
    ctx.setOutput("value", Value::make(types::String, ctx.paramString("value")));
  }
};

class FloatMathNode final : public Node {
 public:
  void execute(NodeContext& ctx) override {
    const double a = ctx.hasInput("a") ? ctx.inputAs<double>("a") : ctx.paramFloat("value_a");
    const double b = ctx.hasInput("b") ? ctx.inputAs<double>("b") : ctx.paramFloat("value_b");
    const auto op = ctx.paramString("operation");
    double r = 0.0;
    if (op == "add") r = a + b;
    else if (op == "subtract") r = a - b;
    else if (op == "multiply") r = a * b;
    else if (op == "divide") {
      if (b == 0.0) ctx.fail("operation", "division by zero (b is 0)");
      r = a / b;
    } else if (op == "minimum") r = std::min(a, b);
    else if (op == "maximum") r = std::max(a, b);
    else if (op == "power") r = std::pow(a, b);
    if (!std::isfinite(r)) ctx.fail("operation", op + " of " + std::to_string(a) + " and " + std::to_string(b) + " is not finite");
    ctx.setOutput("result", Value::make(types::Float, r));
    ctx.setOutput("rounded", Value::make(types::Int, static_cast<std::int64_t>(std::llround(r))));
  }
};

ParamSpec numberParam(std::string name, ParamType type, nlohmann::json def, std::string tooltip) {
  ParamSpec p;
  p.name = std::move(name);
  p.type = type;
  p.defaultValue = std::move(def);
  p.tooltip = std::move(tooltip);
  return p;
}

}  // namespace

}  // namespace presence::nodes::util

PRESENCE_PLUGIN("presence-util", PRESENCE_VERSION_STRING) {
  using namespace presence::core;
  using namespace presence::nodes::util;
  {
    NodeDescriptor d;
    d.id = "presence.float_value";
    d.displayName = "Float";
    d.category = "utility/values";
    d.description = "A constant number, to wire one value (a frame rate, a duration) into several nodes.";
    d.comfyName = "PresenceFloatValue";
    d.params = {numberParam("value", ParamType::Float, 0.0, "The number this node outputs.")};
    d.outputs = {{"value", std::string(types::Float), "The number."}};
    registry.add<FloatValueNode>(d);
  }
  {
    NodeDescriptor d;
    d.id = "presence.int_value";
    d.displayName = "Integer";
    d.category = "utility/values";
    d.description = "A constant integer, to wire one value (a seed, a frame count) into several nodes.";
    d.comfyName = "PresenceIntValue";
    d.params = {numberParam("value", ParamType::Int, 0, "The integer this node outputs.")};
    d.outputs = {{"value", std::string(types::Int), "The integer."}};
    registry.add<IntValueNode>(d);
  }
  {
    NodeDescriptor d;
    d.id = "presence.string_value";
    d.displayName = "Text";
    d.category = "utility/values";
    d.description = "A constant text, to wire one caption or line of speech into several nodes.";
    d.comfyName = "PresenceStringValue";
    auto p = numberParam("value", ParamType::String, "", "The text this node outputs.");
    p.multiline = true;
    d.params = {p};
    d.outputs = {{"value", std::string(types::String), "The text."}};
    registry.add<StringValueNode>(d);
  }
  {
    NodeDescriptor d;
    d.id = "presence.float_math";
    d.displayName = "Math";
    d.category = "utility/values";
    d.description = "Arithmetic on two numbers, e.g. seconds × fps = frames. Each operand comes from its "
                    "input when linked, else from its parameter.";
    d.comfyName = "PresenceFloatMath";
    d.inputs = {{"a", std::string(types::Float), "First operand; overrides value_a when linked.", true},
                {"b", std::string(types::Float), "Second operand; overrides value_b when linked.", true}};
    auto op = numberParam("operation", ParamType::Enum, "add", "What to compute from a and b.");
    op.options = {"add", "subtract", "multiply", "divide", "minimum", "maximum", "power"};
    d.params = {numberParam("value_a", ParamType::Float, 0.0, "First operand when input a is not linked."),
                numberParam("value_b", ParamType::Float, 0.0, "Second operand when input b is not linked."), op};
    d.outputs = {{"result", std::string(types::Float), "The result."},
                 {"rounded", std::string(types::Int), "The result rounded to the nearest integer."}};
    registry.add<FloatMathNode>(d);
  }
}
