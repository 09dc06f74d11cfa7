#include "cmud/sim/disk.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "cmud/sim/world.h"

namespace cmud::sim {
namespace {

// The contract every FileSystem keeps, on the machine's and the simulator's.
class FileSystemContract : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (GetParam()) {
      char tmpl[] = "/tmp/cmud-disk-XXXXXX";
      ASSERT_NE(::mkdtemp(tmpl), nullptr);
      root_ = tmpl;
      fs_ = &posix_;
    } else {
      root_ = "/data";
      fs_ = &disk_;
    }
    ASSERT_TRUE(fs_->create_dirs(root_ + "/db").ok());
  }
  void TearDown() override {
    if (GetParam()) std::filesystem::remove_all(root_);
  }
  std::string path(const std::string& name) { return root_ + "/db/" + name; }

  PosixFileSystem posix_;
  Disk disk_;
  FileSystem* fs_ = nullptr;
  std::string root_;
};

TEST_P(FileSystemContract, AppendsReadsRenamesListsRemoves) {
  auto f = fs_->open_append(path("log"));
  ASSERT_TRUE(f.ok()) << f.status().to_string();
  ASSERT_TRUE((*f)->append("abc").ok());
  ASSERT_TRUE((*f)->sync().ok());
  ASSERT_TRUE((*f)->append("def").ok());
  EXPECT_EQ(fs_->read(path("log")).value(), "abcdef");
  // Reopening appends at the end.
  auto g = fs_->open_append(path("log"));
  ASSERT_TRUE(g.ok());
  ASSERT_TRUE((*g)->append("!").ok());
  EXPECT_EQ(fs_->read(path("log")).value(), "abcdef!");

  ASSERT_TRUE(fs_->rename(path("log"), path("old")).ok());
  EXPECT_EQ(fs_->read(path("log")).status().code(), ErrorCode::kNotFound);
  ASSERT_TRUE(fs_->create_dirs(path("sub")).ok());
  EXPECT_EQ(fs_->list(root_ + "/db").value(),
            (std::vector<std::string>{"old", "sub"}));
  ASSERT_TRUE(fs_->sync_dir(root_ + "/db").ok());
  ASSERT_TRUE(fs_->remove(path("old")).ok());
  EXPECT_EQ(fs_->list(root_ + "/db").value(),
            (std::vector<std::string>{"sub"}));
  EXPECT_EQ(fs_->remove(path("old")).code(), ErrorCode::kNotFound);
  EXPECT_EQ(fs_->open_append(path("none/x")).status().code(),
            ErrorCode::kNotFound);
}

INSTANTIATE_TEST_SUITE_P(PosixAndSimulated, FileSystemContract,
                         ::testing::Values(true, false), [](const auto& info) {
                           return info.param ? "Posix" : "Simulated";
                         });

TEST(Disk, ACrashKeepsWhatWasSyncedAndPerhapsAPrefixOfTheRest) {
  std::set<std::string> seen;
  for (uint64_t seed = 1; seed <= 40; ++seed) {
    Disk d;
    ASSERT_TRUE(d.create_dirs("/db").ok());
    auto f = std::move(d.open_append("/db/log")).value();
    ASSERT_TRUE(f->append("synced|").ok());
    ASSERT_TRUE(f->sync().ok());
    ASSERT_TRUE(d.sync_dir("/db").ok());
    ASSERT_TRUE(f->append("torn").ok());
    Rng rng(seed);
    d.crash(rng);
    std::string after = d.read("/db/log").value();
    ASSERT_TRUE(after.starts_with("synced|")) << after;
    ASSERT_TRUE(std::string("synced|torn").starts_with(after)) << after;
    seen.insert(after);
  }
  EXPECT_GE(seen.size(), 3u);  // whole, none and torn in between
}

TEST(Disk, ANameIsDurableOnlyOnceItsDirectoryIsSynced) {
  Disk d;
  ASSERT_TRUE(d.create_dirs("/db").ok());
  {
    auto f = std::move(d.open_append("/db/a")).value();
    ASSERT_TRUE(f->append("x").ok());
    ASSERT_TRUE(f->sync().ok());
  }
  ASSERT_TRUE(d.sync_dir("/db").ok());
  {
    auto f = std::move(d.open_append("/db/b.tmp")).value();
    ASSERT_TRUE(f->append("y").ok());
    ASSERT_TRUE(f->sync().ok());
  }
  ASSERT_TRUE(d.rename("/db/b.tmp", "/db/a").ok());  // not synced
  Rng rng(1);
  d.crash(rng);
  EXPECT_EQ(d.read("/db/a").value(), "x");
  EXPECT_EQ(d.read("/db/b.tmp").status().code(), ErrorCode::kNotFound);
}

TEST(Disk, AServerFindsItsDiskAfterACrash) {
  World w(1);
  {
    auto h = w.host("10.0.0.1:7000", 1);
    auto& fs = h->files();
    ASSERT_TRUE(fs.create_dirs("/data").ok());
    auto f = std::move(fs.open_append("/data/id")).value();
    ASSERT_TRUE(f->append("42").ok());
    ASSERT_TRUE(f->sync().ok());
    ASSERT_TRUE(fs.sync_dir("/data").ok());
    ASSERT_TRUE(f->append("lost").ok());
    h->stop();  // a crash
  }
  auto h = w.host("10.0.0.1:7000", 1);
  EXPECT_EQ(h->files().read("/data/id").value().substr(0, 2), "42");
  EXPECT_EQ(w.host("10.0.0.2:7000", 1)->files().list("/data").status().code(),
            ErrorCode::kNotFound);
}

}  // namespace
}  // namespace cmud::sim
