// Internal helpers for writing the media nodes: parameter and port specs, path handling,
// progress and cancellation adapters. Not installed.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "media_io.hpp"
#include "presence/core/node.hpp"

namespace presence::nodes::media {

namespace io = presence::media;
using namespace presence::core;

ParamSpec intParam(std::string name, std::int64_t def, double min, double max, std::string tooltip);
ParamSpec floatParam(std::string name, double def, double min, double max, std::string tooltip);
ParamSpec stringParam(std::string name, std::string def, std::string tooltip);
/// A several-line text parameter (a caption, lines of speech).
ParamSpec textParam(std::string name, std::string def, std::string tooltip);
ParamSpec boolParam(std::string name, bool def, std::string tooltip);
/// A file parameter (widget "file"); `multiline`: one path per line.
ParamSpec pathParam(std::string name, std::string tooltip, bool multiline = false);
ParamSpec enumParam(std::string name, std::vector<std::string> options, std::string def, std::string tooltip);
PortSpec port(std::string name, std::string_view type, std::string tooltip, bool optional = false);

/// A descriptor with the fields every media node sets (version 1).
NodeDescriptor describe(std::string id, std::string displayName, std::string category, std::string comfyName,
                        std::string description);

/// The paths of a (multiline) Path parameter: one per line, blank lines and lines starting
/// with '#' skipped, relative ones resolved against the graph's folder. Fails the parameter
/// ("no file given") when there is none.
std::vector<std::filesystem::path> inputPaths(const NodeContext& ctx, std::string_view param);

/// outputDirectory() / prefix + suffix, after checking the prefix parameter: not empty, not
/// absolute, no "..". A prefix may name subfolders ("shots/take1").
std::filesystem::path outputFile(const NodeContext& ctx, std::string_view prefixParam,
                                 std::string_view suffix);

/// Reports ctx.progress(from + fraction * (to - from), "<what> <i>/<n>") style progress.
io::ProgressFn progressOf(NodeContext& ctx, std::string what, int total, double from = 0.0, double to = 1.0);
/// ctx.cancelled() as a presence::media cancellation check.
io::CancelFn cancelOf(const NodeContext& ctx);

/// Runs `f`; an InputError it throws fails parameter `param` with the same message, so the
/// host's diagnostic names the parameter as well as the file.
template <class F>
auto blameParam(const NodeContext& ctx, std::string_view param, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const ParamError&) {
    throw;
  } catch (const InputError& e) {
    ctx.fail(param, e.what());
  }
}

}  // namespace presence::nodes::media
