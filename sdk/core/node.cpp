#include "presence/core/node.hpp"

#include "presence/core/error.hpp"

namespace presence::core {

std::filesystem::path NodeContext::inputPath(std::string_view name) const {
  std::filesystem::path path = paramString(name);
  if (path.empty()) fail(name, "no file given");
  if (path.is_relative()) path = graphDirectory() / path;
  return path.lexically_normal();
}

void NodeContext::fail(std::string_view param, std::string_view cause) const {
  throw ParamError(std::string(param), std::string(cause));
}

}  // namespace presence::core
