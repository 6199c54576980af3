#include "node_util.hpp"

#include <algorithm>
#include <cmath>

namespace presence::nodes::media {

namespace fs = std::filesystem;

ParamSpec intParam(std::string name, std::int64_t def, double min, double max, std::string tooltip) {
  ParamSpec p;
  p.name = std::move(name);
  p.type = ParamType::Int;
  p.defaultValue = def;
  p.min = min;
  p.max = max;
  p.step = 1;
  p.tooltip = std::move(tooltip);
  return p;
}

ParamSpec floatParam(std::string name, double def, double min, double max, std::string tooltip) {
  ParamSpec p;
  p.name = std::move(name);
  p.type = ParamType::Float;
  p.defaultValue = def;
  p.min = min;
  p.max = max;
  p.tooltip = std::move(tooltip);
  return p;
}

ParamSpec stringParam(std::string name, std::string def, std::string tooltip) {
  ParamSpec p;
  p.name = std::move(name);
  p.type = ParamType::String;
  p.defaultValue = std::move(def);
  p.tooltip = std::move(tooltip);
  return p;
}

ParamSpec pathParam(std::string name, std::string tooltip, bool multiline) {
  ParamSpec p;
  p.name = std::move(name);
  p.type = ParamType::Path;
  p.defaultValue = "";
  p.multiline = multiline;
  p.widget = "file";
  p.tooltip = std::move(tooltip);
  return p;
}

ParamSpec textParam(std::string name, std::string def, std::string tooltip) {
  ParamSpec p = stringParam(std::move(name), std::move(def), std::move(tooltip));
  p.multiline = true;
  return p;
}

ParamSpec boolParam(std::string name, bool def, std::string tooltip) {
  ParamSpec p;
  p.name = std::move(name);
  p.type = ParamType::Bool;
  p.defaultValue = def;
  p.tooltip = std::move(tooltip);
  return p;
}

ParamSpec enumParam(std::string name, std::vector<std::string> options, std::string def,
                    std::string tooltip) {
  ParamSpec p;
  p.name = std::move(name);
  p.type = ParamType::Enum;
  p.options = std::move(options);
  p.defaultValue = std::move(def);
  p.tooltip = std::move(tooltip);
  return p;
}

PortSpec port(std::string name, std::string_view type, std::string tooltip, bool optional) {
  PortSpec p;
  p.name = std::move(name);
  p.type = std::string(type);
  p.tooltip = std::move(tooltip);
  p.optional = optional;
  return p;
}

NodeDescriptor describe(std::string id, std::string displayName, std::string category, std::string comfyName,
                        std::string description) {
  NodeDescriptor d;
  d.id = std::move(id);
  d.version = 1;
  d.displayName = std::move(displayName);
  d.category = std::move(category);
  d.comfyName = std::move(comfyName);
  d.description = std::move(description);
  return d;
}

namespace {
std::string trim(std::string_view s) {
  const auto begin = s.find_first_not_of(" \t\r");
  if (begin == std::string_view::npos) return {};
  const auto end = s.find_last_not_of(" \t\r");
  return std::string(s.substr(begin, end - begin + 1));
}
}  // namespace

std::vector<fs::path> inputPaths(const NodeContext& ctx, std::string_view param) {
  const std::string text = ctx.paramString(param);
  std::vector<fs::path> paths;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    const std::string line = trim(std::string_view(text).substr(start, end - start));
    if (!line.empty() && line[0] != '#') {
      fs::path p(line);
      if (p.is_relative()) p = ctx.graphDirectory() / p;
      paths.push_back(p.lexically_normal());
    }
    start = end + 1;
  }
  if (paths.empty()) ctx.fail(param, "no file given");
  return paths;
}

fs::path outputFile(const NodeContext& ctx, std::string_view prefixParam, std::string_view suffix) {
  const std::string prefix = trim(ctx.paramString(prefixParam));
  if (prefix.empty()) ctx.fail(prefixParam, "the file name prefix is empty");
  const fs::path relative(prefix);
  if (relative.is_absolute() || relative.has_root_name())
    ctx.fail(prefixParam, "'" + prefix + "' is absolute; give a name inside the output folder");
  for (const auto& part : relative)
    if (part == "..") ctx.fail(prefixParam, "'" + prefix + "' leaves the output folder ('..')");
  if (relative.filename().empty() || prefix.back() == '/')
    ctx.fail(prefixParam, "'" + prefix + "' names a folder; end it with a file name prefix");
  return (ctx.outputDirectory() / (prefix + std::string(suffix))).lexically_normal();
}

io::ProgressFn progressOf(NodeContext& ctx, std::string what, int total, double from, double to) {
  return [&ctx, what = std::move(what), total, from, to](double fraction) {
    fraction = std::clamp(fraction, 0.0, 1.0);
    std::string message = what;
    if (total > 0) {
      const int done = static_cast<int>(std::lround(fraction * total));
      message += " " + std::to_string(done) + "/" + std::to_string(total);
    }
    ctx.progress(from + fraction * (to - from), message);
  };
}

io::CancelFn cancelOf(const NodeContext& ctx) {
  return [&ctx] { return ctx.cancelled(); };
}

}  // namespace presence::nodes::media
