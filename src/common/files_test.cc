// PosixFileSystem's errors; the contract it shares with the simulator's
// disk is tested on both in src/sim/disk_test.cc.
#include "cmud/common/files.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

namespace cmud {
namespace {

class PosixFiles : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/cmud-files-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  PosixFileSystem fs_;
  std::string dir_;
};

TEST_F(PosixFiles, MissingThingsAreNotFound) {
  EXPECT_EQ(fs_.read(dir_ + "/none").status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(fs_.list(dir_ + "/none").status().code(), ErrorCode::kNotFound);
  EXPECT_EQ(fs_.open_append(dir_ + "/no/file").status().code(),
            ErrorCode::kNotFound);
  EXPECT_EQ(fs_.remove(dir_ + "/none").code(), ErrorCode::kNotFound);
}

TEST_F(PosixFiles, WhatCannotBeDoneIsAnIoErrorThatSaysWhy) {
  auto f = fs_.open_append(dir_);  // a directory
  EXPECT_EQ(f.status().code(), ErrorCode::kIo);
  EXPECT_NE(f.status().message().find("Is a directory"), std::string::npos)
      << f.status().message();
  ASSERT_TRUE(fs_.create_dirs(dir_ + "/d/e").ok());
  EXPECT_EQ(fs_.rename(dir_ + "/d", dir_ + "/d/e").code(), ErrorCode::kIo);
}

}  // namespace
}  // namespace cmud
