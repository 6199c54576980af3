// Writing a plugin: PRESENCE_PLUGIN(name, version) { registry.add(...); }
#pragma once

#include <cstdio>
#include <exception>
#include <string>

#include "presence/core/plugin_abi.h"
#include "presence/core/registry.hpp"
#include "presence/core/version.hpp"

namespace presence::core {

/// The C++ standard library ABI this translation unit is compiled against. A plugin compiled
/// against another one cannot share std::string, std::function or exceptions with the host.
inline const char* compilerAbiTag() {
#if defined(_LIBCPP_VERSION)
#define PRESENCE_STDLIB_ "libc++"
#elif defined(__GLIBCXX__)
#define PRESENCE_STDLIB_ "libstdc++"
#else
#define PRESENCE_STDLIB_ "unknown-stdlib"
#endif
#if defined(_GLIBCXX_USE_CXX11_ABI) && _GLIBCXX_USE_CXX11_ABI == 0
#define PRESENCE_STRABI_ "/cxx98"
#else
#define PRESENCE_STRABI_ "/cxx11"
#endif
#if UINTPTR_MAX == 0xffffffffffffffffu
  return PRESENCE_STDLIB_ PRESENCE_STRABI_ "/64";
#else
  return PRESENCE_STDLIB_ PRESENCE_STRABI_ "/32";
#endif
#undef PRESENCE_STDLIB_
#undef PRESENCE_STRABI_
}

}  // namespace presence::core

/// Plugins that link LibTorch define this to their LibTorch version before including this file
/// (the runtime's CMake target does it for them).
#ifndef PRESENCE_PLUGIN_TORCH_VERSION
#define PRESENCE_PLUGIN_TORCH_VERSION ""
#endif
/// Tests define these to build deliberately mismatched plugins.
#ifndef PRESENCE_PLUGIN_SDK_VERSION
#define PRESENCE_PLUGIN_SDK_VERSION PRESENCE_VERSION_STRING
#endif
#ifndef PRESENCE_PLUGIN_ABI_VERSION_OVERRIDE
#define PRESENCE_PLUGIN_ABI_VERSION_OVERRIDE PRESENCE_PLUGIN_ABI_VERSION
#endif

#if defined(_WIN32)
#define PRESENCE_PLUGIN_EXPORT __declspec(dllexport)
#else
#define PRESENCE_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

/// Defines the plugin's entry point. The block that follows receives
/// `presence::core::NodeRegistry& registry` and adds node types to it; an exception thrown there
/// refuses the plugin with its message.
#define PRESENCE_PLUGIN(PLUGIN_NAME, PLUGIN_VERSION)                                              \
  static void presencePluginRegister_(::presence::core::NodeRegistry& registry);                 \
  static int presencePluginRegisterC_(void* registry, char* error, size_t errorSize) {           \
    try {                                                                                         \
      presencePluginRegister_(*static_cast<::presence::core::NodeRegistry*>(registry));          \
      return 0;                                                                                   \
    } catch (const std::exception& e) {                                                           \
      std::snprintf(error, errorSize, "%s", e.what());                                            \
    } catch (...) {                                                                               \
      std::snprintf(error, errorSize, "unknown exception while registering nodes");              \
    }                                                                                             \
    return 1;                                                                                     \
  }                                                                                               \
  extern "C" PRESENCE_PLUGIN_EXPORT const PresencePluginInfo* presence_plugin_entry(void) {       \
    static const PresencePluginInfo info = {                                                      \
        PRESENCE_PLUGIN_ABI_VERSION_OVERRIDE, PRESENCE_PLUGIN_SDK_VERSION,                          \
        PRESENCE_PLUGIN_TORCH_VERSION,        ::presence::core::compilerAbiTag(),                \
        PLUGIN_NAME,                          PLUGIN_VERSION,                                     \
        &presencePluginRegisterC_};                                                               \
    return &info;                                                                                 \
  }                                                                                               \
  static void presencePluginRegister_(::presence::core::NodeRegistry& registry)
