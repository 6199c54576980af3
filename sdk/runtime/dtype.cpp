#include "presence/runtime/dtype.hpp"

#include <array>
#include <cctype>

#include "presence/core/error.hpp"

namespace presence::runtime {

namespace {
using c10::ScalarType;

struct Row {
  ScalarType type;
  std::string_view shortName;
  StDtype st;
};
constexpr std::array<Row, 10> kRows{{
    {ScalarType::Float, "f32", StDtype::F32},
    {ScalarType::BFloat16, "bf16", StDtype::BF16},
    {ScalarType::Half, "f16", StDtype::F16},
    {ScalarType::Double, "f64", StDtype::F64},
    {ScalarType::Long, "i64", StDtype::I64},
    {ScalarType::Int, "i32", StDtype::I32},
    {ScalarType::Short, "i16", StDtype::I16},
    {ScalarType::Char, "i8", StDtype::I8},
    {ScalarType::Byte, "u8", StDtype::U8},
    {ScalarType::Bool, "bool", StDtype::Bool},
}};

struct Alias {
  std::string_view name;
  ScalarType type;
};
constexpr std::array<Alias, 14> kAliases{{
    {"float32", ScalarType::Float},  {"float", ScalarType::Float},     {"fp32", ScalarType::Float},
    {"bfloat16", ScalarType::BFloat16}, {"float16", ScalarType::Half}, {"half", ScalarType::Half},
    {"fp16", ScalarType::Half},      {"float64", ScalarType::Double},  {"double", ScalarType::Double},
    {"int64", ScalarType::Long},     {"int32", ScalarType::Int},       {"int16", ScalarType::Short},
    {"int8", ScalarType::Char},      {"uint8", ScalarType::Byte},
}};

const Row* rowOf(ScalarType type) {
  for (const auto& r : kRows)
    if (r.type == type) return &r;
  return nullptr;
}

std::string lower(std::string_view s) {
  std::string out;
  for (char c : s)
    if (!std::isspace(static_cast<unsigned char>(c))) out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

[[noreturn]] void unsupported(ScalarType type, std::string_view what) {
  throw core::InputError(std::string("dtype ") + c10::toString(type) + " has no " + std::string(what));
}
}  // namespace

std::string dtypeName(ScalarType type) {
  if (const auto* r = rowOf(type)) return std::string(r->shortName);
  unsupported(type, "Presence name (supported: f32, bf16, f16, f64, i64, i32, i16, i8, u8, bool)");
}

ScalarType parseDtype(std::string_view name) {
  const std::string key = lower(name);
  for (const auto& r : kRows)
    if (r.shortName == key) return r.type;
  for (const auto& a : kAliases)
    if (a.name == key) return a.type;
  for (const auto& r : kRows)
    if (lower(stDtypeName(r.st)) == key) return r.type;
  throw core::InputError("unknown dtype '" + std::string(name) +
                         "': expected f32, bf16, f16, f64, i64, i32, i16, i8, u8 or bool (or float32, bfloat16, "
                         "float16, F32, BF16, ...)");
}

std::string_view safetensorsDtypeName(ScalarType type) { return stDtypeName(toStDtype(type)); }

std::optional<ScalarType> scalarTypeFromSafetensors(std::string_view name) {
  if (const auto st = stDtypeFromName(name)) return toScalarType(*st);
  return std::nullopt;
}

ScalarType toScalarType(StDtype dtype) {
  for (const auto& r : kRows)
    if (r.st == dtype) return r.type;
  return ScalarType::Undefined;
}

StDtype toStDtype(ScalarType type) {
  if (const auto* r = rowOf(type)) return r->st;
  unsupported(type, "safetensors equivalent here (supported: F32, BF16, F16, F64, I64, I32, I16, I8, U8, BOOL)");
}

DtypePolicy DtypePolicy::forModel(std::string_view cpuDtype) {
  const ScalarType t = parseDtype(cpuDtype);
  if (t != ScalarType::Float && t != ScalarType::BFloat16)
    throw core::InputError("a model's CPU dtype must be f32 or bf16, not '" + std::string(cpuDtype) + "'");
  DtypePolicy p;
  p.cpu = t;
  return p;
}

ScalarType DtypePolicy::computeDtype(const c10::Device& device) const {
  return device.is_cuda() ? cuda : cpu;
}

ScalarType DtypePolicy::resolve(const c10::Device& device, std::string_view requested) const {
  const std::string key = lower(requested);
  if (key.empty() || key == "auto") return computeDtype(device);
  const ScalarType t = parseDtype(requested);
  if (t != ScalarType::Float && t != ScalarType::BFloat16 && t != ScalarType::Half)
    throw core::InputError("compute dtype must be auto, f32, bf16 or f16, not '" + std::string(requested) + "'");
  return t;
}

}  // namespace presence::runtime
