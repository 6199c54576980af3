#include "presence/core/types.hpp"

namespace presence::core {

std::string_view toString(ParamType type) {
  switch (type) {
    case ParamType::Int: return "INT";
    case ParamType::Float: return "FLOAT";
    case ParamType::Bool: return "BOOL";
    case ParamType::String: return "STRING";
    case ParamType::Path: return "PATH";
    case ParamType::Enum: return "ENUM";
  }
  return "?";
}

bool parseParamType(std::string_view name, ParamType& out) {
  for (ParamType t : {ParamType::Int, ParamType::Float, ParamType::Bool, ParamType::String,
                      ParamType::Path, ParamType::Enum}) {
    if (toString(t) == name) {
      out = t;
      return true;
    }
  }
  return false;
}

}  // namespace presence::core
