// Type ids of values that travel along links, and the kinds of node parameters.
#pragma once

#include <string>
#include <string_view>

namespace presence::core {

/// A port's value type, as a string id ("IMAGE", "AUDIO", ...). Plugins may add their own ids;
/// two ports connect only when their ids are equal or one of them is `ANY`.
using TypeId = std::string;

namespace types {
inline constexpr std::string_view Image = "IMAGE";
inline constexpr std::string_view Audio = "AUDIO";
inline constexpr std::string_view Video = "VIDEO";
inline constexpr std::string_view LatentAV = "LATENT_AV";
inline constexpr std::string_view Identities = "IDENTITIES";
inline constexpr std::string_view Caption = "CAPTION";
inline constexpr std::string_view Model = "MODEL";
inline constexpr std::string_view Dataset = "DATASET";
inline constexpr std::string_view Checkpoint = "CHECKPOINT";
inline constexpr std::string_view Metrics = "METRICS";
inline constexpr std::string_view Int = "INT";
inline constexpr std::string_view Float = "FLOAT";
inline constexpr std::string_view Bool = "BOOL";
inline constexpr std::string_view String = "STRING";
inline constexpr std::string_view Path = "PATH";
inline constexpr std::string_view Files = "FILES";  ///< list of files a node wrote
inline constexpr std::string_view Any = "ANY";
}  // namespace types

/// The kind of a node parameter (a widget value set in the graph, not a link).
enum class ParamType { Int, Float, Bool, String, Path, Enum };

std::string_view toString(ParamType type);
/// Parses "INT", "FLOAT", ...; returns false for an unknown name.
bool parseParamType(std::string_view name, ParamType& out);

}  // namespace presence::core
