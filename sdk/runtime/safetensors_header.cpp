#include "presence/runtime/safetensors_header.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <limits>
#include <set>

#include <nlohmann/json.hpp>

#include "presence/runtime/format_error.hpp"

namespace presence::runtime {

namespace {

using Json = nlohmann::json;

struct DtypeRow {
  StDtype dtype;
  std::string_view name;
  std::size_t size;
};
constexpr std::array<DtypeRow, 10> kDtypes{{
    {StDtype::Bool, "BOOL", 1},
    {StDtype::U8, "U8", 1},
    {StDtype::I8, "I8", 1},
    {StDtype::I16, "I16", 2},
    {StDtype::I32, "I32", 4},
    {StDtype::I64, "I64", 8},
    {StDtype::F16, "F16", 2},
    {StDtype::BF16, "BF16", 2},
    {StDtype::F32, "F32", 4},
    {StDtype::F64, "F64", 8},
}};

/// A name as it appears in a message: quoted, control bytes escaped, long names shortened, so a
/// hostile header cannot produce a 100 MB or multi-line error message.
std::string quoteName(std::string_view name) {
  constexpr std::size_t kMax = 120;
  std::string out = "'";
  const std::size_t n = std::min(name.size(), kMax);
  for (std::size_t i = 0; i < n; ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    if (c < 0x20 || c == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (name.size() > kMax) out += "...";
  out += "'";
  return out;
}

/// A JSON value as it appears in a message, shortened.
std::string shortDump(const Json& value) {
  std::string s = value.dump(-1, ' ', false, Json::error_handler_t::replace);
  if (s.size() > 80) s = s.substr(0, 77) + "...";
  return s;
}

std::string supportedDtypes() {
  std::string s;
  for (const auto& row : kDtypes) {
    if (!s.empty()) s += ", ";
    s += row.name;
  }
  return s;
}

bool mulOverflows(std::uint64_t a, std::uint64_t b, std::uint64_t& out) {
  return __builtin_mul_overflow(a, b, &out);
}

/// A non-negative integer JSON number, or nullopt (negative, fractional, not a number).
std::optional<std::uint64_t> asUnsigned(const Json& v) {
  if (v.is_number_unsigned()) return v.get<std::uint64_t>();
  if (v.is_number_integer() && v.get<std::int64_t>() >= 0) return static_cast<std::uint64_t>(v.get<std::int64_t>());
  return std::nullopt;
}

class HeaderParser {
 public:
  HeaderParser(std::uint64_t dataBytes, const std::string& label) : dataBytes_(dataBytes), label_(label) {}

  [[noreturn]] void fail(const std::string& problem) const { throw FormatError(label_, problem); }
  [[noreturn]] void failTensor(const std::string& name, const std::string& problem) const {
    fail("tensor " + quoteName(name) + ": " + problem);
  }

  Json parseJson(std::string_view text) {
    // Rejects duplicated keys (nlohmann would keep the last silently) and nesting deeper than a
    // valid header ever needs, before the nesting could cost stack or memory.
    std::vector<std::set<std::string>> keys;  // one per open object; arrays push an unused set
    std::string tensor;                       // the root key being parsed, for messages
    auto callback = [&](int depth, Json::parse_event_t event, Json& parsed) {
      switch (event) {
        case Json::parse_event_t::object_start:
        case Json::parse_event_t::array_start:
          if (depth > kMaxDepth) {
            if (tensor.empty()) fail("header JSON is nested deeper than a safetensors header can be");
            failTensor(tensor, "entry is nested deeper than a safetensors header can be");
          }
          keys.emplace_back();
          break;
        case Json::parse_event_t::object_end:
        case Json::parse_event_t::array_end:
          if (!keys.empty()) keys.pop_back();
          break;
        case Json::parse_event_t::key: {
          const auto& key = parsed.get_ref<const std::string&>();
          if (depth == 1) tensor = key;
          if (!keys.empty() && !keys.back().insert(key).second) {
            if (depth == 1) fail("tensor " + quoteName(key) + " appears twice in the header");
            failTensor(tensor, "key " + quoteName(key) + " appears twice");
          }
          break;
        }
        case Json::parse_event_t::value:
          break;
      }
      return true;
    };
    try {
      return Json::parse(text.begin(), text.end(), callback, /*allow_exceptions=*/true);
    } catch (const Json::exception& e) {
      // parse_error, and out_of_range for a number no double holds ("2E624", found by fuzzing).
      std::string what = e.what();
      // "[json.exception.parse_error.101] parse error at line 1, column 2: ..." -> drop the id.
      if (auto pos = what.find("] "); pos != std::string::npos) what = what.substr(pos + 2);
      fail("header is not valid JSON: " + what);
    }
  }

  SafetensorsHeader parse(std::string_view text) {
    const Json root = parseJson(text);
    if (!root.is_object()) fail(std::string("header is not a JSON object (it is ") + root.type_name() + ")");

    SafetensorsHeader header;
    header.dataBytes = dataBytes_;
    header.tensors.reserve(root.size());
    for (const auto& [name, entry] : root.items()) {
      if (name == "__metadata__") {
        parseMetadata(entry, header.metadata);
      } else {
        header.tensors.push_back(parseTensor(name, entry));
      }
    }
    checkOverlaps(header.tensors);
    std::sort(header.tensors.begin(), header.tensors.end(),
              [](const StTensorInfo& a, const StTensorInfo& b) { return a.name < b.name; });
    return header;
  }

 private:
  static constexpr int kMaxDepth = 3;

  void parseMetadata(const Json& entry, std::map<std::string, std::string>& out) const {
    if (!entry.is_object()) fail(std::string("__metadata__ is not an object (it is ") + entry.type_name() + ")");
    for (const auto& [key, value] : entry.items()) {
      if (!value.is_string())
        fail("__metadata__ value of " + quoteName(key) + " is not a string (it is " + value.type_name() + ")");
      out.emplace(key, value.get<std::string>());
    }
  }

  StTensorInfo parseTensor(const std::string& name, const Json& entry) const {
    if (!entry.is_object()) failTensor(name, std::string("entry is not an object (it is ") + entry.type_name() + ")");
    StTensorInfo info;
    info.name = name;

    const auto dtypeIt = entry.find("dtype");
    if (dtypeIt == entry.end()) failTensor(name, "no dtype");
    if (!dtypeIt->is_string()) failTensor(name, "dtype " + shortDump(*dtypeIt) + " is not a string");
    const auto& dtypeName = dtypeIt->get_ref<const std::string&>();
    const auto dtype = stDtypeFromName(dtypeName);
    if (!dtype) failTensor(name, "unknown dtype " + quoteName(dtypeName) + " (supported: " + supportedDtypes() + ")");
    info.dtype = *dtype;

    const auto shapeIt = entry.find("shape");
    if (shapeIt == entry.end()) failTensor(name, "no shape");
    if (!shapeIt->is_array()) failTensor(name, "shape " + shortDump(*shapeIt) + " is not an array");
    info.shape.reserve(shapeIt->size());
    for (const auto& dim : *shapeIt) {
      if (dim.is_number_integer() && !dim.is_number_unsigned() && dim.get<std::int64_t>() < 0)
        failTensor(name, "shape " + shortDump(*shapeIt) + " has a negative dimension");
      const auto value = asUnsigned(dim);
      if (!value) failTensor(name, "shape " + shortDump(*shapeIt) + " holds " + shortDump(dim) + ", not an integer");
      if (*value > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
        failTensor(name, "shape " + shortDump(*shapeIt) + " has a dimension too large to index");
      info.shape.push_back(static_cast<std::int64_t>(*value));
    }

    const auto offsetsIt = entry.find("data_offsets");
    if (offsetsIt == entry.end()) failTensor(name, "no data_offsets");
    if (!offsetsIt->is_array() || offsetsIt->size() != 2)
      failTensor(name, "data_offsets " + shortDump(*offsetsIt) + " is not a pair [begin, end]");
    const auto begin = asUnsigned((*offsetsIt)[0]), end = asUnsigned((*offsetsIt)[1]);
    if (!begin || !end)
      failTensor(name, "data_offsets " + shortDump(*offsetsIt) + " are not non-negative integers");
    info.begin = *begin;
    info.end = *end;
    const std::string range = "[" + std::to_string(info.begin) + ", " + std::to_string(info.end) + "]";
    if (info.begin > info.end) failTensor(name, "data_offsets " + range + " end before they begin");
    if (info.end > dataBytes_)
      failTensor(name, "data_offsets " + range + " run past the end of the data (" + std::to_string(dataBytes_) +
                           " bytes; is the file truncated?)");

    std::uint64_t bytes = stDtypeSize(info.dtype);
    bool overflow = false;
    for (const auto d : info.shape) overflow = overflow || mulOverflows(bytes, static_cast<std::uint64_t>(d), bytes);
    const std::string expected = "shape " + shapeToString(info.shape) + " x " + std::string(stDtypeName(info.dtype));
    if (overflow) failTensor(name, expected + " is too large to address");
    if (bytes != info.end - info.begin)
      failTensor(name, "data_offsets " + range + " do not match " + expected + " = " + std::to_string(bytes) + " bytes");
    return info;
  }

  void checkOverlaps(const std::vector<StTensorInfo>& tensors) const {
    std::vector<const StTensorInfo*> byOffset;
    byOffset.reserve(tensors.size());
    for (const auto& t : tensors)
      if (t.end > t.begin) byOffset.push_back(&t);  // empty ranges overlap nothing
    std::sort(byOffset.begin(), byOffset.end(), [](const StTensorInfo* a, const StTensorInfo* b) {
      return a->begin != b->begin ? a->begin < b->begin : a->name < b->name;
    });
    const StTensorInfo* reach = nullptr;  // the tensor that ends furthest so far
    for (const auto* t : byOffset) {
      if (reach != nullptr && t->begin < reach->end) {
        auto describe = [](const StTensorInfo* x) {
          return quoteName(x->name) + " [" + std::to_string(x->begin) + ", " + std::to_string(x->end) + "]";
        };
        fail("tensors " + describe(reach) + " and " + describe(t) + " overlap");
      }
      if (reach == nullptr || t->end > reach->end) reach = t;
    }
  }

  std::uint64_t dataBytes_;
  const std::string& label_;
};

}  // namespace

std::optional<StDtype> stDtypeFromName(std::string_view name) {
  for (const auto& row : kDtypes)
    if (row.name == name) return row.dtype;
  return std::nullopt;
}

std::string_view stDtypeName(StDtype dtype) {
  for (const auto& row : kDtypes)
    if (row.dtype == dtype) return row.name;
  return "?";
}

std::size_t stDtypeSize(StDtype dtype) {
  for (const auto& row : kDtypes)
    if (row.dtype == dtype) return row.size;
  return 0;
}

std::uint64_t StTensorInfo::numel() const {
  std::uint64_t n = 1;
  for (const auto d : shape) n *= static_cast<std::uint64_t>(d);
  return n;
}

const StTensorInfo* SafetensorsHeader::find(std::string_view name) const {
  auto it = std::lower_bound(tensors.begin(), tensors.end(), name,
                             [](const StTensorInfo& t, std::string_view n) { return t.name < n; });
  return it != tensors.end() && it->name == name ? &*it : nullptr;
}

std::string shapeToString(std::span<const std::int64_t> shape) {
  std::string s = "[";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i != 0) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

SafetensorsHeader parseSafetensorsHeaderJson(std::string_view json, std::uint64_t dataBytes,
                                             const std::string& label) {
  return HeaderParser(dataBytes, label).parse(json);
}

SafetensorsHeader parseSafetensorsHeader(std::span<const std::byte> file, std::uint64_t fileSize,
                                         const std::string& label) {
  static_assert(std::endian::native == std::endian::little, "safetensors I/O assumes a little-endian host");
  if (fileSize < 8)
    throw FormatError(label, "file is " + std::to_string(fileSize) +
                                 " bytes, too short for a safetensors file (the header length alone is 8 bytes)");
  if (file.size() < 8) throw FormatError(label, "only " + std::to_string(file.size()) + " bytes of the file are available");
  std::uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | std::to_integer<std::uint64_t>(file[static_cast<std::size_t>(i)]);
  if (n > fileSize - 8)
    throw FormatError(label, "header length " + std::to_string(n) + " is larger than the " +
                                 std::to_string(fileSize - 8) + " bytes that follow it (not a safetensors file, or truncated)");
  if (n > kMaxSafetensorsHeaderBytes)
    throw FormatError(label, "header length " + std::to_string(n) + " exceeds the limit of " +
                                 std::to_string(kMaxSafetensorsHeaderBytes) + " bytes");
  if (file.size() - 8 < n)
    throw FormatError(label, "only " + std::to_string(file.size()) + " bytes of the file are available, the header needs " +
                                 std::to_string(n + 8));
  const std::string_view json(reinterpret_cast<const char*>(file.data()) + 8, static_cast<std::size_t>(n));
  auto header = parseSafetensorsHeaderJson(json, fileSize - 8 - n, label);
  header.headerBytes = n;
  header.dataOffset = 8 + n;
  return header;
}

}  // namespace presence::runtime
