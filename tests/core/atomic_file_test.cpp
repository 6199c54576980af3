// Atomic writes: a file appears whole or not at all.
#include <gtest/gtest.h>

#include <fstream>
#include <set>

#include "presence/core/atomic_file.hpp"
#include "presence/core/error.hpp"
#include "test_nodes.hpp"

using namespace presence::core;
using presence::test::readText;
using presence::test::TempDir;
using presence::test::writeText;

TEST(AtomicFile, TempIsBesideTheTargetHiddenWithSameExtension) {
  TempDir dir;
  AtomicFile file(dir.path() / "video.mp4");
  EXPECT_EQ(file.target(), dir.path() / "video.mp4");
  EXPECT_EQ(file.tempPath().parent_path(), dir.path());
  EXPECT_NE(file.tempPath(), file.target());
  EXPECT_EQ(file.tempPath().filename().string().front(), '.');
  EXPECT_EQ(file.tempPath().extension(), ".mp4");
  EXPECT_FALSE(std::filesystem::exists(file.tempPath()));  // reserved, not created
}

TEST(AtomicFile, TwoWritersToOneTargetGetDifferentTemps) {
  TempDir dir;
  AtomicFile a(dir.path() / "x.txt"), b(dir.path() / "x.txt");
  EXPECT_NE(a.tempPath(), b.tempPath());
}

TEST(AtomicFile, CommitRenamesOntoTarget) {
  TempDir dir;
  const auto target = dir.path() / "out.txt";
  {
    AtomicFile file(target);
    writeText(file.tempPath(), "hello");
    EXPECT_FALSE(std::filesystem::exists(target));  // nothing at the target before commit
    file.commit();
    EXPECT_FALSE(std::filesystem::exists(file.tempPath()));
    EXPECT_EQ(readText(target), "hello");
  }
  EXPECT_EQ(readText(target), "hello");  // the destructor leaves a committed file alone
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"out.txt"});
}

TEST(AtomicFile, CommitReplacesAnExistingFile) {
  TempDir dir;
  const auto target = dir.path() / "out.txt";
  writeText(target, "old contents");
  AtomicFile file(target);
  writeText(file.tempPath(), "new");
  EXPECT_EQ(readText(target), "old contents");
  file.commit();
  EXPECT_EQ(readText(target), "new");
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"out.txt"});
}

TEST(AtomicFile, DestructorWithoutCommitLeavesNoFile) {
  TempDir dir;
  const auto target = dir.path() / "out.txt";
  {
    AtomicFile file(target);
    writeText(file.tempPath(), "half written");
    ASSERT_TRUE(std::filesystem::exists(file.tempPath()));
  }
  EXPECT_FALSE(std::filesystem::exists(target));
  EXPECT_TRUE(dir.entries().empty());  // neither the target nor the temporary
}

TEST(AtomicFile, DestructorWithoutCommitKeepsTheOldTarget) {
  TempDir dir;
  const auto target = dir.path() / "out.txt";
  writeText(target, "previous");
  {
    AtomicFile file(target);
    writeText(file.tempPath(), "abandoned");
  }
  EXPECT_EQ(readText(target), "previous");
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"out.txt"});
}

TEST(AtomicFile, ExceptionUnwindingRemovesTemp) {
  TempDir dir;
  try {
    AtomicFile file(dir.path() / "out.bin");
    writeText(file.tempPath(), "partial");
    throw std::runtime_error("writer failed");
  } catch (const std::runtime_error&) {
  }
  EXPECT_TRUE(dir.entries().empty());
}

TEST(AtomicFile, CommitWithNothingWrittenThrows) {
  TempDir dir;
  AtomicFile file(dir.path() / "empty.txt");
  EXPECT_THROW(file.commit(), Error);
  EXPECT_FALSE(std::filesystem::exists(dir.path() / "empty.txt"));
}

TEST(AtomicFile, CreatesTheTargetFolder) {
  TempDir dir;
  const auto target = dir.path() / "a" / "b" / "out.txt";
  AtomicFile file(target);
  EXPECT_TRUE(std::filesystem::is_directory(dir.path() / "a" / "b"));
  writeText(file.tempPath(), "deep");
  file.commit();
  EXPECT_EQ(readText(target), "deep");
}

TEST(AtomicFile, WriteFileAtomically) {
  TempDir dir;
  const auto target = dir.path() / "notes.json";
  writeFileAtomically(target, std::string("{\"a\": 1}\n\0tail", 15));
  EXPECT_EQ(readText(target), std::string("{\"a\": 1}\n\0tail", 15));
  writeFileAtomically(target, "");
  EXPECT_EQ(readText(target), "");
  EXPECT_EQ(dir.entries(), std::vector<std::string>{"notes.json"});
}

TEST(AtomicFileSet, CommitAllMakesEveryFileAppear) {
  TempDir dir;
  AtomicFileSet set;
  for (int i = 0; i < 3; ++i) {
    const auto& temp = set.add(dir.path() / ("frame" + std::to_string(i) + ".png"));
    EXPECT_EQ(temp.parent_path(), dir.path());
    writeText(temp, "frame " + std::to_string(i));
  }
  EXPECT_EQ(set.targets().size(), 3u);
  set.commitAll();
  EXPECT_EQ(dir.entries(), (std::vector<std::string>{"frame0.png", "frame1.png", "frame2.png"}));
  EXPECT_EQ(readText(dir.path() / "frame1.png"), "frame 1");
}

TEST(AtomicFileSet, AbandonedSetLeavesNothing) {
  TempDir dir;
  {
    AtomicFileSet set;
    for (int i = 0; i < 3; ++i) writeText(set.add(dir.path() / ("f" + std::to_string(i) + ".txt")), "x");
  }
  EXPECT_TRUE(dir.entries().empty());
}

TEST(AtomicFileSet, FailedCommitAllLeavesNoTarget) {
  // "appear together or not at all": when one member was never written, commitAll fails and
  // none of the others may have been moved into place.
  TempDir dir;
  {
    AtomicFileSet set;
    writeText(set.add(dir.path() / "a.txt"), "a");
    (void)set.add(dir.path() / "b.txt");  // never written
    writeText(set.add(dir.path() / "c.txt"), "c");
    EXPECT_THROW(set.commitAll(), Error);
  }
  EXPECT_TRUE(dir.entries().empty()) << "left: " << ::testing::PrintToString(dir.entries());
}
