// The bridge module: sentencepiece behind a C interface (see sentencepiece_bridge.h).
#include "sentencepiece_bridge.h"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <algorithm>
#include <cstring>
#include <exception>
#include <memory>
#include <string>
#include <vector>

namespace {

void setError(char* error, size_t capacity, const std::string& message) {
  if (error == nullptr || capacity == 0) {
    return;
  }
  const size_t n = std::min(capacity - 1, message.size());
  std::memcpy(error, message.data(), n);
  error[n] = '\0';
}

const sentencepiece::SentencePieceProcessor& processor(const void* handle) {
  return *static_cast<const sentencepiece::SentencePieceProcessor*>(handle);
}

int64_t copyOut(const std::string& bytes, char* out, size_t capacity) {
  if (bytes.size() <= capacity && !bytes.empty()) {
    std::memcpy(out, bytes.data(), bytes.size());
  }
  return static_cast<int64_t>(bytes.size());
}

// The sentences of a text buffer, one per non-empty line.
class TextLines final : public sentencepiece::SentenceIterator {
 public:
  TextLines(const char* text, size_t size) {
    size_t start = 0;
    for (size_t i = 0; i <= size; ++i) {
      if (i == size || text[i] == '\n') {
        if (i > start) lines_.emplace_back(text + start, i - start);
        start = i + 1;
      }
    }
  }
  bool done() const override { return next_ >= lines_.size(); }
  void Next() override { ++next_; }
  const std::string& value() const override { return lines_[next_]; }
  sentencepiece::util::Status status() const override { return {}; }

 private:
  std::vector<std::string> lines_;
  size_t next_ = 0;
};

}  // namespace

extern "C" {

int32_t presence_spm_bridge_version(void) { return PRESENCE_SPM_BRIDGE_VERSION; }

void* presence_spm_open(const char* data, size_t size, char* error, size_t errorCapacity) {
  try {
    auto p = std::make_unique<sentencepiece::SentencePieceProcessor>();
    const auto status = p->LoadFromSerializedProto(std::string_view(data, size));
    if (!status.ok()) {
      setError(error, errorCapacity, status.ToString());
      return nullptr;
    }
    return p.release();
  } catch (const std::exception& e) {
    setError(error, errorCapacity, e.what());
    return nullptr;
  }
}

void presence_spm_close(void* handle) { delete static_cast<sentencepiece::SentencePieceProcessor*>(handle); }

void presence_spm_info(const void* handle, PresenceSpmInfo* info) {
  const auto& p = processor(handle);
  info->pieceSize = p.GetPieceSize();
  info->padId = p.pad_id();
  info->eosId = p.eos_id();
  info->unkId = p.unk_id();
}

int64_t presence_spm_encode(const void* handle, const char* text, size_t size, int32_t* ids, size_t capacity,
                            char* error, size_t errorCapacity) {
  try {
    std::vector<int> out;
    const auto status = processor(handle).Encode(std::string_view(text, size), &out);
    if (!status.ok()) {
      setError(error, errorCapacity, status.ToString());
      return -1;
    }
    if (out.size() <= capacity) {
      std::copy(out.begin(), out.end(), ids);
    }
    return static_cast<int64_t>(out.size());
  } catch (const std::exception& e) {
    setError(error, errorCapacity, e.what());
    return -1;
  }
}

int64_t presence_spm_encode_pieces(const void* handle, const char* text, size_t size, char* out,
                                   size_t capacity, char* error, size_t errorCapacity) {
  try {
    std::vector<std::string> pieces;
    const auto status = processor(handle).Encode(std::string_view(text, size), &pieces);
    if (!status.ok()) {
      setError(error, errorCapacity, status.ToString());
      return -1;
    }
    std::string joined;
    for (const auto& piece : pieces) {
      joined += piece;
      joined.push_back('\0');
    }
    return copyOut(joined, out, capacity);
  } catch (const std::exception& e) {
    setError(error, errorCapacity, e.what());
    return -1;
  }
}

int64_t presence_spm_decode(const void* handle, const int32_t* ids, size_t count, char* out, size_t capacity,
                            char* error, size_t errorCapacity) {
  try {
    std::vector<int> in(ids, ids + count);
    std::string text;
    const auto status = processor(handle).Decode(in, &text);
    if (!status.ok()) {
      setError(error, errorCapacity, status.ToString());
      return -1;
    }
    return copyOut(text, out, capacity);
  } catch (const std::exception& e) {
    setError(error, errorCapacity, e.what());
    return -1;
  }
}

int64_t presence_spm_id_to_piece(const void* handle, int32_t id, char* out, size_t capacity) {
  const auto& p = processor(handle);
  if (id < 0 || id >= p.GetPieceSize()) {
    return -1;
  }
  return copyOut(p.IdToPiece(id), out, capacity);
}

int32_t presence_spm_piece_to_id(const void* handle, const char* piece, size_t size) {
  return processor(handle).PieceToId(std::string_view(piece, size));
}

int32_t presence_spm_train(const char* args, char* error, size_t errorCapacity) {
  try {
    const auto status = sentencepiece::SentencePieceTrainer::Train(args);
    if (!status.ok()) {
      setError(error, errorCapacity, status.ToString());
      return 1;
    }
    return 0;
  } catch (const std::exception& e) {
    setError(error, errorCapacity, e.what());
    return 1;
  }
}

int32_t presence_spm_train_text(const char* args, const char* text, size_t size, PresenceSpmModelSink sink,
                                void* user, char* error, size_t errorCapacity) {
  try {
    TextLines lines(text, size);
    std::string model;
    const auto status = sentencepiece::SentencePieceTrainer::Train(args, &lines, &model);
    if (!status.ok()) {
      setError(error, errorCapacity, status.ToString());
      return 1;
    }
    sink(user, model.data(), model.size());
    return 0;
  } catch (const std::exception& e) {
    setError(error, errorCapacity, e.what());
    return 1;
  }
}

}  // extern "C"
