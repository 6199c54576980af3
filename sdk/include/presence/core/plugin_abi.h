/* The plugin ABI: the one C entry point every node library exports, and its handshake.
 * A host loads a shared library, calls `presence_plugin_entry`, compares the handshake with its
 * own values and refuses the library, saying what differs, when they do not match. Only then
 * does it call `register_nodes`. */
#ifndef PRESENCE_CORE_PLUGIN_ABI_H
#define PRESENCE_CORE_PLUGIN_ABI_H

#include <stddef.h>
#include <stdint.h>

#define PRESENCE_PLUGIN_ABI_VERSION 1u
#define PRESENCE_PLUGIN_ENTRY_NAME "presence_plugin_entry"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct PresencePluginInfo {
  uint32_t abi_version;       /* PRESENCE_PLUGIN_ABI_VERSION the plugin was built with */
  const char* sdk_version;    /* "0.1.0": major.minor must match the host's */
  const char* torch_version;  /* LibTorch the plugin was built with, "" when it uses none */
  const char* compiler_abi;   /* C++ standard library and its ABI, e.g. "libstdc++/cxx11/64" */
  const char* name;           /* "presence-media" */
  const char* version;        /* the plugin's own version */
  /* Registers the node types into `registry` (a presence::core::NodeRegistry*). Returns 0 on
   * success; otherwise writes a message into `error` (at most error_size bytes, terminated). */
  int (*register_nodes)(void* registry, char* error, size_t error_size);
} PresencePluginInfo;

typedef const PresencePluginInfo* (*PresencePluginEntry)(void);

#ifdef __cplusplus
}
#endif

#endif
