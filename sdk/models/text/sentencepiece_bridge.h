/* C interface of the sentencepiece bridge module (libpresence_sentencepiece_bridge.so).
 *
 * Why a bridge: Debian's libsentencepiece bundles and exports its own protobuf-lite, whose
 * symbols clash with the libprotobuf LibTorch loads (a process with both crashes in protobuf's
 * static initialisers). The bridge links libsentencepiece and is opened by tokenizer.cpp with
 * dlmopen(LM_ID_NEWLM), so sentencepiece, its protobuf and its own libstdc++ copy stay in a
 * namespace of their own. The two sides then have separate heaps: only plain C data crosses
 * this boundary, every buffer belongs to the caller, and no exception escapes the bridge.
 *
 * Sized outputs return the size needed (elements or bytes); when it exceeds `capacity` nothing
 * useful was written and the caller retries with a larger buffer. -1 means failure, with a
 * NUL-terminated message in `error` (truncated to errorCapacity). */
#ifndef PRESENCE_SENTENCEPIECE_BRIDGE_H
#define PRESENCE_SENTENCEPIECE_BRIDGE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PRESENCE_SPM_BRIDGE_VERSION 2

typedef struct PresenceSpmInfo {
  int32_t pieceSize;
  int32_t padId; /* -1 when the model has none */
  int32_t eosId;
  int32_t unkId;
} PresenceSpmInfo;

int32_t presence_spm_bridge_version(void);
/* Loads a serialised ModelProto. Returns a handle, or NULL with `error` set. */
void* presence_spm_open(const char* data, size_t size, char* error, size_t errorCapacity);
void presence_spm_close(void* handle);
void presence_spm_info(const void* handle, PresenceSpmInfo* info);
/* Ids of `text` (no special tokens added). */
int64_t presence_spm_encode(const void* handle, const char* text, size_t size, int32_t* ids, size_t capacity,
                            char* error, size_t errorCapacity);
/* Pieces of `text`, each followed by a NUL byte. */
int64_t presence_spm_encode_pieces(const void* handle, const char* text, size_t size, char* out,
                                   size_t capacity, char* error, size_t errorCapacity);
/* UTF-8 text of ids (not NUL-terminated). */
int64_t presence_spm_decode(const void* handle, const int32_t* ids, size_t count, char* out, size_t capacity,
                            char* error, size_t errorCapacity);
/* The piece of an id (not NUL-terminated); -1 when out of range. */
int64_t presence_spm_id_to_piece(const void* handle, int32_t id, char* out, size_t capacity);
/* The id of a piece (the unknown id when absent). */
int32_t presence_spm_piece_to_id(const void* handle, const char* piece, size_t size);
/* Trains a model with sentencepiece's command-line style arguments. 0 on success. */
int32_t presence_spm_train(const char* args, char* error, size_t errorCapacity);
/* Receives the serialised model of presence_spm_train_text (called once, before it returns). */
typedef void (*PresenceSpmModelSink)(void* user, const char* data, size_t size);
/* Trains a model on the lines of `text` (split at '\n', empty lines skipped) with sentencepiece's
   command-line style arguments, which must not name --input or --model_prefix, and hands the
   serialised model to `sink`. No file is read or written. 0 on success. */
int32_t presence_spm_train_text(const char* args, const char* text, size_t size, PresenceSpmModelSink sink,
                                void* user, char* error, size_t errorCapacity);

#ifdef __cplusplus
}
#endif

#endif
