// The plugin ABI: a matching plugin registers its nodes; a mismatched handshake is refused
// with a message that says what differs, and registers nothing.
#include <gtest/gtest.h>

#include "presence/core/plugin.hpp"
#include "presence/core/plugin_loader.hpp"

namespace {

using namespace presence::core;
namespace fs = std::filesystem;

const fs::path kBad = PRESENCE_BAD_PLUGIN_DIR;
const fs::path kTest = PRESENCE_TEST_PLUGIN_DIR;
const fs::path kBuiltin = PRESENCE_BUILTIN_PLUGIN_DIR;

TEST(PluginLoader, LoadsAMatchingPluginThroughItsEntryPoint) {
  NodeRegistry registry;
  PluginLoader loader(registry);
  const auto report = loader.load(kTest / "presence_test_nodes.so");
  ASSERT_TRUE(report.loaded) << report.error;
  EXPECT_EQ(report.name, "presence-test-nodes");
  EXPECT_EQ(report.nodes.size(), 3u);
  ASSERT_NE(registry.find("presence.test_sleep"), nullptr);
  EXPECT_NE(registry.create("presence.test_sleep"), nullptr);
  EXPECT_EQ(registry.origin("presence.test_sleep"), report.file.string());
}

TEST(PluginLoader, RefusesAnotherAbiVersionAndSaysSo) {
  NodeRegistry registry;
  PluginLoader loader(registry);
  const auto report = loader.load(kBad / "mismatched_abi.so");
  EXPECT_FALSE(report.loaded);
  EXPECT_NE(report.error.find("plugin ABI version 99, host expects 1"), std::string::npos) << report.error;
  EXPECT_EQ(registry.size(), 0u);
}

TEST(PluginLoader, RefusesAnotherSdkMajorMinor) {
  NodeRegistry registry;
  PluginLoader loader(registry);
  const auto report = loader.load(kBad / "mismatched_sdk.so");
  EXPECT_FALSE(report.loaded);
  EXPECT_NE(report.error.find("built with Presence SDK 7.3.0, host runs SDK " PRESENCE_VERSION_STRING),
            std::string::npos)
      << report.error;
  EXPECT_EQ(registry.find("presence.mismatched_sdk"), nullptr);
}

TEST(PluginLoader, RefusesAnotherLibTorchWhenTheHostRunsOne) {
  NodeRegistry registry;
  HostAbi host = HostAbi::current();
  host.torchVersion = "1.13.1";
  PluginLoader loader(registry, host);
  const auto report = loader.load(kBad / "mismatched_torch.so");
  EXPECT_FALSE(report.loaded);
  EXPECT_NE(report.error.find("built against LibTorch 0.0.1-test, host runs LibTorch 1.13.1"), std::string::npos)
      << report.error;

  // A host without LibTorch has nothing to compare against: the plugin brings its own.
  NodeRegistry plain;
  PluginLoader plainLoader(plain);
  EXPECT_TRUE(plainLoader.load(kBad / "mismatched_torch.so").loaded);
}

TEST(PluginLoader, RefusesAnotherCompilerAbi) {
  NodeRegistry registry;
  HostAbi host = HostAbi::current();
  host.compilerAbi = "libc++/cxx11/64";
  PluginLoader loader(registry, host);
  const auto report = loader.load(kTest / "presence_test_nodes.so");
  EXPECT_FALSE(report.loaded);
  EXPECT_NE(report.error.find("C++ library ABI '" + std::string(compilerAbiTag()) + "', host uses 'libc++/cxx11/64'"),
            std::string::npos)
      << report.error;
  EXPECT_EQ(registry.size(), 0u);
}

TEST(PluginLoader, ListsEveryDifferenceAtOnce) {
  PresencePluginInfo info{PRESENCE_PLUGIN_ABI_VERSION, "9.0.0", "2.1.0", "libc++/cxx11/64", "x", "1", nullptr};
  HostAbi host = HostAbi::current();
  host.torchVersion = "1.13.1";
  const auto text = handshakeMismatch(info, host);
  EXPECT_NE(text.find("SDK 9.0.0"), std::string::npos) << text;
  EXPECT_NE(text.find("LibTorch 2.1.0"), std::string::npos) << text;
  EXPECT_NE(text.find("libc++"), std::string::npos) << text;
  EXPECT_NE(text.find("register_nodes"), std::string::npos) << text;
}

TEST(PluginLoader, RefusesALibraryWithoutTheEntryPoint) {
  NodeRegistry registry;
  PluginLoader loader(registry);
  const auto report = loader.load(kBad / "not_a_plugin.so");
  EXPECT_FALSE(report.loaded);
  EXPECT_NE(report.error.find("not a Presence plugin"), std::string::npos) << report.error;
}

TEST(PluginLoader, RefusesAMissingFile) {
  NodeRegistry registry;
  PluginLoader loader(registry);
  const auto report = loader.load(kBad / "no_such_plugin.so");
  EXPECT_FALSE(report.loaded);
  EXPECT_NE(report.error.find("cannot load the library"), std::string::npos) << report.error;
}

TEST(PluginLoader, AFailedRegistrationRegistersNothing) {
  NodeRegistry registry;
  PluginLoader loader(registry);
  const auto report = loader.load(kBad / "throwing_plugin.so");
  EXPECT_FALSE(report.loaded);
  EXPECT_NE(report.error.find("failed on purpose"), std::string::npos) << report.error;
  EXPECT_EQ(registry.find("presence.throwing_first"), nullptr);
}

TEST(PluginLoader, RefusesANodeIdAnotherPluginOwns) {
  NodeRegistry registry;
  PluginLoader loader(registry);
  ASSERT_TRUE(loader.load(kBuiltin / "presence_util.so").loaded);
  const auto report = loader.load(kBad / "duplicate_id.so");
  EXPECT_FALSE(report.loaded);
  EXPECT_NE(report.error.find("'presence.float_value' is already registered by"), std::string::npos) << report.error;
  EXPECT_NE(registry.origin("presence.float_value").find("presence_util.so"), std::string::npos);
}

TEST(PluginLoader, LoadsEachLibraryOnce) {
  NodeRegistry registry;
  PluginLoader loader(registry);
  ASSERT_TRUE(loader.load(kTest / "presence_test_nodes.so").loaded);
  EXPECT_TRUE(loader.loadAll({kTest, kTest}).empty());
  EXPECT_EQ(loader.load(kTest / "presence_test_nodes.so").error, "already loaded");
}

TEST(PluginLoader, SearchPathPutsTheSdkFolderFirstThenTheEnvironment) {
  ::setenv("PRESENCE_PLUGIN_PATH", "/first:/second", 1);
  const auto path = PluginLoader::defaultSearchPath();
  ::unsetenv("PRESENCE_PLUGIN_PATH");
  ASSERT_EQ(path.size(), 3u);
  // The built-in plugins sit next to libpresence_core, in the build tree as when installed.
  EXPECT_EQ(fs::weakly_canonical(path[0]), fs::weakly_canonical(kBuiltin));
  EXPECT_EQ(path[1], "/first");
  EXPECT_EQ(path[2], "/second");
}

}  // namespace
