// The UMT5 tokenizer: a sentencepiece model (the `spiece.model` of google/umt5-xxl, or one we
// train) plus the conventions of the Hugging Face T5 tokenizer the public pipelines call:
// whitespace runs collapsed, `</s>` appended, truncated to the text length with the `</s>`
// kept, padded with `<pad>`.
//
// No LibTorch: ids come back as plain vectors so a host can count tokens without loading a model.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace presence::models::text {

/// How a batch is padded.
enum class Padding {
  Longest,    ///< to the longest encoded prompt of the batch (at most maxLength)
  MaxLength,  ///< always to maxLength (what the released pipelines do)
};

struct TokenizerOptions {
  /// The longest id sequence kept, end-of-text token included (512 for UMT5 in Wan/Ovi).
  int64_t maxLength = 512;
  /// Collapse runs of whitespace to one space and trim the ends (the pipelines' `clean='whitespace'`).
  bool cleanWhitespace = true;
  /// Append the end-of-text id (`</s>`), as the T5 tokenizer does with special tokens on.
  bool appendEos = true;
};

/// A padded batch of token ids, row-major `[batch, length]`.
struct TokenizedBatch {
  int64_t batch = 0;
  int64_t length = 0;
  std::vector<int64_t> ids;      ///< batch * length ids; pad id past each row's length
  std::vector<int64_t> lengths;  ///< valid tokens per row (1..length when appendEos)

  /// Attention mask, row-major `[batch, length]`: 1 for valid tokens, 0 for padding.
  std::vector<int64_t> mask() const;
  /// Row `b`'s valid ids (padding left out).
  std::vector<int64_t> row(int64_t b) const;
};

/// Trains a sentencepiece model, with sentencepiece's command-line style arguments
/// ("--input=corpus.txt --model_prefix=out --vocab_size=8000 --pad_id=0 --eos_id=1 --unk_id=2
/// --bos_id=-1 --user_defined_symbols=<S>,<E>"). Writes `<model_prefix>.model` and `.vocab`.
/// Throws presence::core::InputError with sentencepiece's message on failure.
void trainSentencePieceModel(const std::string& arguments);

/// Trains a sentencepiece model on `sentences` (one per element, without line breaks; empty ones
/// skipped) with `arguments` as above but without --input and --model_prefix, and writes it to
/// `model` atomically. Unlike the file-based form, the model records no file names (sentencepiece
/// keeps --input and --model_prefix in it), so the same sentences and arguments give the same
/// bytes in any folder. Throws presence::core::InputError on failure.
void trainSentencePieceModel(const std::vector<std::string>& sentences, const std::string& arguments,
                             const std::filesystem::path& model);

/// A sentencepiece model with the T5 conventions above.
///
/// sentencepiece runs inside a bridge module (libpresence_sentencepiece_bridge.so, found at
/// $PRESENCE_SENTENCEPIECE_BRIDGE, else next to this library, else on the loader's path), loaded
/// once per process with dlmopen into a link-map namespace of its own: Debian's libsentencepiece
/// exports a bundled protobuf that clashes with LibTorch's libprotobuf (a process linking both
/// crashes while loading), so it is never linked into anything else. A missing bridge is a
/// core::Error.
///
/// Ownership: owns its sentencepiece processor (inside the bridge). Threading: immutable after construction;
/// every const member may be called from several threads (sentencepiece's encode/decode are const and
/// reentrant). Errors: the constructor throws presence::core::InputError naming the file when it is missing
/// or not a sentencepiece model, or when the model has no end-of-text id; encode/decode throw
/// presence::core::Error on a sentencepiece failure and InputError on an out-of-range id.
class Tokenizer {
 public:
  explicit Tokenizer(const std::filesystem::path& modelFile, TokenizerOptions options = {});
  ~Tokenizer();
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  Tokenizer(const Tokenizer&) = delete;
  Tokenizer& operator=(const Tokenizer&) = delete;

  const std::filesystem::path& path() const { return path_; }
  const TokenizerOptions& options() const { return options_; }
  int64_t maxLength() const { return options_.maxLength; }

  /// Number of pieces in the model. An encoder's embedding may have more rows (UMT5-XXL's has
  /// 256384); it must not have fewer.
  int64_t vocabSize() const;
  /// `<pad>`: 0 in T5 models; 0 also when a model defines none.
  int64_t padId() const { return padId_; }
  /// `</s>`: 1 in T5 models.
  int64_t eosId() const { return eosId_; }
  /// `<unk>`: 2 in T5 models.
  int64_t unkId() const { return unkId_; }

  /// The piece of one id (e.g. "▁hello", "</s>", "<S>"); throws InputError when out of range.
  std::string piece(int64_t id) const;
  /// The id of one piece, or unkId() when the model lacks it.
  int64_t pieceId(std::string_view piece) const;

  /// The text as the pipelines see it before sentencepiece (whitespace cleaned when asked).
  std::string clean(std::string_view text) const;

  /// Ids of one prompt: cleaned, encoded, cut to maxLength - 1 and terminated with eosId()
  /// (or cut to maxLength when appendEos is off). An empty prompt gives {eosId()}.
  std::vector<int64_t> encode(std::string_view text) const;
  /// The pieces of one prompt (no end-of-text token), for diagnostics.
  std::vector<std::string> encodePieces(std::string_view text) const;
  /// Encodes and pads a batch. An empty batch gives batch = length = 0.
  TokenizedBatch encodeBatch(const std::vector<std::string>& texts, Padding padding = Padding::Longest) const;

  /// Text of ids. With skipSpecial, pad and end-of-text ids are dropped (as the HF tokenizer's
  /// skip_special_tokens); decoding stops at nothing, so padding in the middle is dropped too.
  std::string decode(std::span<const int64_t> ids, bool skipSpecial = true) const;

 private:
  std::filesystem::path path_;
  TokenizerOptions options_;
  struct Model;
  std::unique_ptr<Model> model_;
  int64_t vocabSize_ = 0;
  int64_t padId_ = 0;
  int64_t eosId_ = 1;
  int64_t unkId_ = 2;
};

}  // namespace presence::models::text
