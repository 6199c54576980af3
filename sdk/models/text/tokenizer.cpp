#include "presence/models/text/tokenizer.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <fstream>
#include <system_error>

#include "presence/core/atomic_file.hpp"
#include "presence/core/error.hpp"
#include "sentencepiece_bridge.h"

namespace presence::models::text {

namespace {

constexpr const char* kBridgeFile = "libpresence_sentencepiece_bridge.so";

/// The bridge module's entry points, loaded once per process.
struct Bridge {
  decltype(&presence_spm_open) open = nullptr;
  decltype(&presence_spm_close) close = nullptr;
  decltype(&presence_spm_info) info = nullptr;
  decltype(&presence_spm_encode) encode = nullptr;
  decltype(&presence_spm_encode_pieces) encodePieces = nullptr;
  decltype(&presence_spm_decode) decode = nullptr;
  decltype(&presence_spm_id_to_piece) idToPiece = nullptr;
  decltype(&presence_spm_piece_to_id) pieceToId = nullptr;
  decltype(&presence_spm_train) train = nullptr;
  decltype(&presence_spm_train_text) trainText = nullptr;
};

void locateThisLibrary() {}

template <typename Fn>
void bind(void* library, const char* symbol, Fn& fn, const std::string& path) {
  void* address = ::dlsym(library, symbol);
  if (address == nullptr) {
    throw core::Error("sentencepiece bridge " + path + " lacks " + symbol);
  }
  fn = reinterpret_cast<Fn>(address);
}

Bridge loadBridge() {
  std::vector<std::string> candidates;
  if (const char* env = std::getenv("PRESENCE_SENTENCEPIECE_BRIDGE"); env != nullptr && *env != '\0') {
    candidates.emplace_back(env);
  }
  Dl_info info{};
  if (::dladdr(reinterpret_cast<void*>(&locateThisLibrary), &info) != 0 && info.dli_fname != nullptr) {
    candidates.push_back((std::filesystem::path(info.dli_fname).parent_path() / kBridgeFile).string());
  }
  candidates.emplace_back(kBridgeFile);
  std::string errors;
  for (const auto& path : candidates) {
    // A link-map namespace of its own: the bridge, libsentencepiece, its bundled protobuf and its
    // own libstdc++ see none of the process's other libraries (RTLD_DEEPBIND is not enough: it
    // binds libstdc++'s std::cerr to the uninitialised original instead of the executable's copy).
    void* library = ::dlmopen(LM_ID_NEWLM, path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (library == nullptr) {
      const char* why = ::dlerror();
      errors += "\n  " + path + ": " + (why ? why : "not found");
      continue;
    }
    using VersionFn = decltype(&presence_spm_bridge_version);
    VersionFn version = nullptr;
    bind(library, "presence_spm_bridge_version", version, path);
    if (version() != PRESENCE_SPM_BRIDGE_VERSION) {
      throw core::Error("sentencepiece bridge " + path + " has interface version " +
                        std::to_string(version()) + ", expected " +
                        std::to_string(PRESENCE_SPM_BRIDGE_VERSION));
    }
    Bridge b;
    bind(library, "presence_spm_open", b.open, path);
    bind(library, "presence_spm_close", b.close, path);
    bind(library, "presence_spm_info", b.info, path);
    bind(library, "presence_spm_encode", b.encode, path);
    bind(library, "presence_spm_encode_pieces", b.encodePieces, path);
    bind(library, "presence_spm_decode", b.decode, path);
    bind(library, "presence_spm_id_to_piece", b.idToPiece, path);
    bind(library, "presence_spm_piece_to_id", b.pieceToId, path);
    bind(library, "presence_spm_train", b.train, path);
    bind(library, "presence_spm_train_text", b.trainText, path);
    return b;  // kept open for the life of the process
  }
  throw core::Error(std::string("cannot load the sentencepiece bridge ") + kBridgeFile + ":" + errors);
}

const Bridge& bridge() {
  static const Bridge b = loadBridge();
  return b;
}

using ErrorBuffer = std::array<char, 512>;

/// Calls a sized-output bridge function, growing the buffer until the result fits.
template <typename T, typename Call>
std::vector<T> sized(Call call, const std::string& what) {
  std::vector<T> out(256);
  for (;;) {
    ErrorBuffer error{};
    const int64_t n = call(out.data(), out.size(), error.data(), error.size());
    if (n < 0) {
      throw core::Error(what + ": " + error.data());
    }
    if (static_cast<std::size_t>(n) <= out.size()) {
      out.resize(static_cast<std::size_t>(n));
      return out;
    }
    out.resize(static_cast<std::size_t>(n));
  }
}

bool isSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

}  // namespace

struct Tokenizer::Model {
  void* handle = nullptr;
  ~Model() {
    if (handle != nullptr) {
      bridge().close(handle);
    }
  }
};

void trainSentencePieceModel(const std::string& arguments) {
  ErrorBuffer error{};
  if (bridge().train(arguments.c_str(), error.data(), error.size()) != 0) {
    throw core::InputError(std::string("training a sentencepiece model failed: ") + error.data());
  }
}

void trainSentencePieceModel(const std::vector<std::string>& sentences, const std::string& arguments,
                             const std::filesystem::path& model) {
  for (const char* named : {"--input=", "--model_prefix="})
    if (arguments.find(named) != std::string::npos)
      throw core::InputError(std::string("training a sentencepiece model from sentences: the arguments name ") +
                             named + "... (the sentences are the input and the model goes to " + model.string() +
                             ")");
  std::string text;
  for (const auto& s : sentences) {
    if (s.find('\n') != std::string::npos)
      throw core::InputError("training a sentencepiece model: a sentence contains a line break");
    text += s;
    text += '\n';
  }
  // The sink runs inside the bridge's call: it must not throw through the bridge's frames.
  struct Received {
    std::string bytes;
    bool failed = false;
  } received;
  const PresenceSpmModelSink sink = [](void* user, const char* data, size_t size) noexcept {
    auto* r = static_cast<Received*>(user);
    try {
      r->bytes.assign(data, size);
    } catch (...) {
      r->failed = true;
    }
  };
  ErrorBuffer error{};
  if (bridge().trainText(arguments.c_str(), text.data(), text.size(), sink, &received, error.data(),
                         error.size()) != 0)
    throw core::InputError(std::string("training a sentencepiece model failed: ") + error.data());
  if (received.failed || received.bytes.empty())
    throw core::InputError("training a sentencepiece model for " + model.string() +
                           ": no model came back (out of memory?)");
  core::writeFileAtomically(model, received.bytes);
}

std::vector<int64_t> TokenizedBatch::mask() const {
  std::vector<int64_t> out(static_cast<std::size_t>(batch * length), 0);
  for (int64_t b = 0; b < batch; ++b) {
    for (int64_t i = 0; i < lengths[static_cast<std::size_t>(b)]; ++i) {
      out[static_cast<std::size_t>(b * length + i)] = 1;
    }
  }
  return out;
}

std::vector<int64_t> TokenizedBatch::row(int64_t b) const {
  if (b < 0 || b >= batch) {
    throw core::InputError("TokenizedBatch::row: row " + std::to_string(b) + " out of range (batch " +
                           std::to_string(batch) + ")");
  }
  auto first = ids.begin() + b * length;
  return std::vector<int64_t>(first, first + lengths[static_cast<std::size_t>(b)]);
}

Tokenizer::Tokenizer(const std::filesystem::path& modelFile, TokenizerOptions options)
    : path_(modelFile), options_(options), model_(std::make_unique<Model>()) {
  if (options_.maxLength < 1) {
    throw core::InputError("tokenizer " + path_.string() + ": maxLength must be at least 1, got " +
                           std::to_string(options_.maxLength));
  }
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path_, ec)) {
    throw core::InputError("tokenizer model " + path_.string() + " does not exist or is not a file");
  }
  // Read the bytes ourselves so a sentencepiece error can be reported with our file name.
  std::ifstream in(path_, std::ios::binary);
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) {
    throw core::InputError("tokenizer model " + path_.string() + " could not be read");
  }
  ErrorBuffer error{};
  model_->handle = bridge().open(bytes.data(), bytes.size(), error.data(), error.size());
  if (model_->handle == nullptr) {
    throw core::InputError("tokenizer model " + path_.string() +
                           " is not a valid sentencepiece model: " + error.data());
  }
  PresenceSpmInfo info{};
  bridge().info(model_->handle, &info);
  if (info.pieceSize <= 0) {
    throw core::InputError("tokenizer model " + path_.string() + " has no pieces");
  }
  if (info.eosId < 0) {
    throw core::InputError("tokenizer model " + path_.string() + " defines no end-of-text piece (</s>)");
  }
  vocabSize_ = info.pieceSize;
  eosId_ = info.eosId;
  padId_ = info.padId >= 0 ? info.padId : 0;
  unkId_ = info.unkId;
}

Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;

int64_t Tokenizer::vocabSize() const { return vocabSize_; }

std::string Tokenizer::piece(int64_t id) const {
  if (id < 0 || id >= vocabSize()) {
    throw core::InputError("tokenizer " + path_.string() + ": id " + std::to_string(id) +
                           " out of range (vocabulary of " + std::to_string(vocabSize()) + ")");
  }
  const auto bytes = sized<char>(
      [&](char* out, std::size_t capacity, char*, std::size_t) {
        return bridge().idToPiece(model_->handle, static_cast<int32_t>(id), out, capacity);
      },
      "tokenizer " + path_.string());
  return std::string(bytes.begin(), bytes.end());
}

int64_t Tokenizer::pieceId(std::string_view piece) const {
  return bridge().pieceToId(model_->handle, piece.data(), piece.size());
}

std::string Tokenizer::clean(std::string_view text) const {
  if (!options_.cleanWhitespace) {
    return std::string(text);
  }
  std::string out;
  out.reserve(text.size());
  bool pendingSpace = false;
  for (char c : text) {
    if (isSpace(c)) {
      pendingSpace = !out.empty();
      continue;
    }
    if (pendingSpace) {
      out.push_back(' ');
      pendingSpace = false;
    }
    out.push_back(c);
  }
  return out;
}

std::vector<std::string> Tokenizer::encodePieces(std::string_view text) const {
  const auto cleaned = clean(text);
  const auto joined = sized<char>(
      [&](char* out, std::size_t capacity, char* error, std::size_t errorCapacity) {
        return bridge().encodePieces(model_->handle, cleaned.data(), cleaned.size(), out, capacity, error,
                                     errorCapacity);
      },
      "tokenizer " + path_.string() + ": encoding failed");
  std::vector<std::string> pieces;
  std::string current;
  for (char c : joined) {
    if (c == '\0') {
      pieces.push_back(std::move(current));
      current.clear();
    } else {
      current.push_back(c);
    }
  }
  return pieces;
}

std::vector<int64_t> Tokenizer::encode(std::string_view text) const {
  const auto cleaned = clean(text);
  auto raw = sized<int32_t>(
      [&](int32_t* out, std::size_t capacity, char* error, std::size_t errorCapacity) {
        return bridge().encode(model_->handle, cleaned.data(), cleaned.size(), out, capacity, error,
                               errorCapacity);
      },
      "tokenizer " + path_.string() + ": encoding failed");
  const auto keep =
      static_cast<std::size_t>(options_.appendEos ? options_.maxLength - 1 : options_.maxLength);
  if (raw.size() > keep) {
    raw.resize(keep);
  }
  std::vector<int64_t> ids(raw.begin(), raw.end());
  if (options_.appendEos) {
    ids.push_back(eosId_);
  }
  return ids;
}

TokenizedBatch Tokenizer::encodeBatch(const std::vector<std::string>& texts, Padding padding) const {
  std::vector<std::vector<int64_t>> rows;
  rows.reserve(texts.size());
  int64_t longest = 0;
  for (const auto& text : texts) {
    rows.push_back(encode(text));
    longest = std::max<int64_t>(longest, static_cast<int64_t>(rows.back().size()));
  }
  TokenizedBatch out;
  out.batch = static_cast<int64_t>(texts.size());
  if (out.batch == 0) {
    return out;
  }
  out.length = padding == Padding::MaxLength ? options_.maxLength : longest;
  out.ids.assign(static_cast<std::size_t>(out.batch * out.length), padId_);
  out.lengths.reserve(rows.size());
  for (std::size_t b = 0; b < rows.size(); ++b) {
    std::copy(rows[b].begin(), rows[b].end(), out.ids.begin() + static_cast<int64_t>(b) * out.length);
    out.lengths.push_back(static_cast<int64_t>(rows[b].size()));
  }
  return out;
}

std::string Tokenizer::decode(std::span<const int64_t> ids, bool skipSpecial) const {
  std::vector<int32_t> raw;
  raw.reserve(ids.size());
  for (int64_t id : ids) {
    if (id < 0 || id >= vocabSize()) {
      throw core::InputError("tokenizer " + path_.string() + ": cannot decode id " + std::to_string(id) +
                             " (vocabulary of " + std::to_string(vocabSize()) + ")");
    }
    if (skipSpecial && (id == padId_ || id == eosId_)) {
      continue;
    }
    raw.push_back(static_cast<int32_t>(id));
  }
  const auto bytes = sized<char>(
      [&](char* out, std::size_t capacity, char* error, std::size_t errorCapacity) {
        return bridge().decode(model_->handle, raw.data(), raw.size(), out, capacity, error, errorCapacity);
      },
      "tokenizer " + path_.string() + ": decoding failed");
  return std::string(bytes.begin(), bytes.end());
}

}  // namespace presence::models::text
