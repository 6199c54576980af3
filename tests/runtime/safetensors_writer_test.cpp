// Writing safetensors atomically: a file appears whole or not at all.
#include <gtest/gtest.h>

#include <ATen/ATen.h>

#include "presence/core/error.hpp"
#include "presence/runtime/safetensors.hpp"
#include "presence/runtime/safetensors_writer.hpp"
#include "presence/runtime/tensor_util.hpp"
#include "test_util.hpp"

using namespace presence::runtime;
using namespace presence::runtime::test;

namespace {
std::map<std::string, at::Tensor> threeTensors() {
  return {{"a", at::ones({16})}, {"b", at::zeros({4, 4}, at::kBFloat16)}, {"c", at::arange(10, at::kLong)}};
}
}  // namespace

TEST(SafetensorsWriter, FailureMidWriteLeavesNothingAndKeepsTheOldFile) {
  TempDir dir;
  const auto target = dir / "model.safetensors";
  saveSafetensors(target, {{"old", at::ones({3})}});
  const auto before = readBytes(target);

  SafetensorsWriteOptions options;
  options.progress = [](std::string_view name, std::size_t done, std::size_t total) {
    EXPECT_EQ(total, 3u);
    if (name == "b") {
      EXPECT_EQ(done, 1u);
      throw presence::core::Cancelled();  // after "a" was written
    }
  };
  EXPECT_THROW(saveSafetensors(target, threeTensors(), options), presence::core::Cancelled);
  EXPECT_EQ(dir.entries(), std::set<std::string>{"model.safetensors"});  // no temporary left
  EXPECT_EQ(readBytes(target), before);
}

TEST(SafetensorsWriter, FolderThatCannotBeCreatedIsAnErrorAndLeavesNothing) {
  TempDir dir;
  writeBytes(dir / "file", "x");
  EXPECT_THROW(saveSafetensors(dir / "file" / "sub" / "m.safetensors", threeTensors()), presence::core::InputError);
  EXPECT_EQ(dir.entries(), std::set<std::string>{"file"});
}

TEST(SafetensorsWriter, CreatesMissingFolders) {
  TempDir dir;
  saveSafetensors(dir / "a" / "b" / "m.safetensors", threeTensors());
  EXPECT_EQ(SafetensorsFile::open(dir / "a" / "b" / "m.safetensors")->size(), 3u);
}

TEST(SafetensorsWriter, RefusesWhatSafetensorsCannotHoldBeforeWritingAnything) {
  TempDir dir;
  const auto target = dir / "m.safetensors";
  auto expectRefused = [&](std::map<std::string, at::Tensor> tensors, const std::string& words) {
    try {
      saveSafetensors(target, tensors);
      ADD_FAILURE() << "accepted: " << words;
    } catch (const presence::core::InputError& e) {
      EXPECT_NE(std::string(e.what()).find(target.string()), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
    }
    EXPECT_TRUE(dir.entries().empty());
  };
  expectRefused({{"z", at::ones({2}, at::kComplexFloat)}}, "tensor 'z'");
  expectRefused({{"__metadata__", at::ones({2})}}, "reserved");
  expectRefused({{"", at::ones({2})}}, "must not be empty");
  expectRefused({{"u", at::Tensor()}}, "undefined");
  expectRefused({{"s", at::ones({2, 2}).to_sparse()}}, "dense");
  expectRefused({{std::string("bad\xff"), at::ones({1})}}, "UTF-8");
}

TEST(SafetensorsWriter, NoTensorsIsAValidFile) {
  TempDir dir;
  saveSafetensors(dir / "empty.safetensors", {});
  EXPECT_EQ(SafetensorsFile::open(dir / "empty.safetensors")->size(), 0u);
}
