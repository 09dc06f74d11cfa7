#include "cmud/durable/log.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <thread>

#include "cmud/sim/disk.h"
#include "cmud/sim/world.h"
#include "faulty_files.h"

namespace cmud::durable {
namespace {

std::string file_of(std::initializer_list<std::string_view> payloads) {
  std::string out(kLogMagic);
  for (auto p : payloads) append_record(out, p);
  return out;
}

TEST(Parse, ReadsBackEveryRecord) {
  std::string big(100000, 'x');
  std::string bytes = file_of({"a", "", big, "last"});
  Parsed p = parse(bytes, kLogMagic);
  EXPECT_EQ(p.tail, Parsed::Tail::kClean);
  ASSERT_EQ(p.records.size(), 4u);
  EXPECT_EQ(p.records[0], "a");
  EXPECT_EQ(p.records[1], "");
  EXPECT_EQ(p.records[2], big);
  EXPECT_EQ(p.records[3], "last");
  EXPECT_EQ(p.valid_bytes, bytes.size());
}

TEST(Parse, AnEmptyFileOrAMagicCutShortIsNoData) {
  EXPECT_EQ(parse("", kLogMagic).tail, Parsed::Tail::kClean);
  Parsed p = parse(kLogMagic.substr(0, 3), kLogMagic);
  EXPECT_EQ(p.tail, Parsed::Tail::kTorn);
  EXPECT_TRUE(p.records.empty());
  EXPECT_EQ(parse("NOTALOG!", kLogMagic).tail, Parsed::Tail::kCorrupt);
  EXPECT_EQ(parse(file_of({"a"}), kSnapshotMagic).tail, Parsed::Tail::kCorrupt);
}

TEST(Parse, ALastRecordCutAtAnyByteIsATornTail) {
  std::string whole = file_of({"first", "second", "the last one"});
  size_t last_at = file_of({"first", "second"}).size();
  for (size_t cut = last_at + 1; cut < whole.size(); ++cut) {
    Parsed p = parse(std::string_view(whole).substr(0, cut), kLogMagic);
    EXPECT_EQ(p.tail, Parsed::Tail::kTorn) << "cut at " << cut;
    ASSERT_EQ(p.records.size(), 2u) << "cut at " << cut;
    EXPECT_EQ(p.valid_bytes, last_at);
  }
}

TEST(Parse, AZeroFilledTailIsTorn) {
  std::string bytes = file_of({"first", "second"});
  bytes.append(4096, '\0');
  Parsed p = parse(bytes, kLogMagic);
  EXPECT_EQ(p.tail, Parsed::Tail::kTorn);
  EXPECT_EQ(p.records.size(), 2u);
}

TEST(Parse, ABitFlipInTheMiddleIsCorruptionAndInTheLastRecordATear) {
  std::string bytes = file_of({"first", "second", "third"});
  size_t second_at = file_of({"first"}).size();
  size_t third_at = file_of({"first", "second"}).size();
  // Every bit of the second record: its length, checksum and payload.
  for (size_t i = second_at; i < third_at; ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string b = bytes;
      b[i] = static_cast<char>(b[i] ^ (1 << bit));
      Parsed p = parse(b, kLogMagic);
      EXPECT_EQ(p.tail, Parsed::Tail::kCorrupt) << "byte " << i;
      EXPECT_EQ(p.records.size(), 1u);
      EXPECT_NE(p.problem.find(std::to_string(second_at)), std::string::npos)
          << p.problem;
    }
  }
  std::string b = bytes;
  b[bytes.size() - 1] ^= 1;
  EXPECT_EQ(parse(b, kLogMagic).tail, Parsed::Tail::kTorn);
}

TEST(FsyncPolicy, ParsesRedisNames) {
  EXPECT_EQ(*parse_fsync("always"), Fsync::kAlways);
  EXPECT_EQ(*parse_fsync("everysec"), Fsync::kEverySec);
  EXPECT_EQ(*parse_fsync("no"), Fsync::kNo);
  EXPECT_EQ(parse_fsync("sometimes").status().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(fsync_name(Fsync::kEverySec), "everysec");
}

std::string rec(std::string_view payload) {
  std::string out;
  append_record(out, payload);
  return out;
}

class LogTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(disk_.create_dirs("/d").ok()); }
  // Every record of every segment, and whether any file is corrupt.
  std::vector<std::string> read_all(bool& corrupt) {
    std::vector<std::string> out;
    corrupt = false;
    auto names = disk_.list("/d");
    for (const auto& name : *names) {
      auto bytes = disk_.read("/d/" + name);
      Parsed p = parse(*bytes, kLogMagic);
      corrupt |= p.tail == Parsed::Tail::kCorrupt;
      for (auto r : p.records) out.emplace_back(r);
    }
    return out;
  }

  sim::Disk disk_;
  sim::Rng rng_{7};
};

TEST_F(LogTest, SyncedRecordsAndTheSegmentNameSurviveACrash) {
  Log log(disk_, "/d", "log-1-0");
  ASSERT_TRUE(log.append(rec("one") + rec("two")).ok());
  EXPECT_TRUE(log.unsynced());
  ASSERT_TRUE(log.sync().ok());
  EXPECT_FALSE(log.unsynced());
  ASSERT_TRUE(log.append(rec("three")).ok());  // never synced
  disk_.crash(rng_);
  bool corrupt = true;
  auto records = read_all(corrupt);
  EXPECT_FALSE(corrupt);
  ASSERT_GE(records.size(), 2u);
  EXPECT_EQ(records[0], "one");
  EXPECT_EQ(records[1], "two");
}

TEST_F(LogTest, WithoutSyncACrashMayLoseTheWholeSegment) {
  Log log(disk_, "/d", "log-1-0");
  ASSERT_TRUE(log.append(rec("one")).ok());
  disk_.crash(rng_);
  // The name was never made durable: the file is gone with its data.
  EXPECT_TRUE(disk_.list("/d")->empty());
}

TEST_F(LogTest, AShortWriteAbandonsTheSegmentAndNeverLeavesDamageInside) {
  testing::FaultyFiles faulty(disk_);
  Log log(faulty, "/d", "log-1-0");
  ASSERT_TRUE(log.append(rec("one")).ok());
  faulty.space = 5;  // the next append is cut after 5 bytes
  EXPECT_EQ(log.append(rec("lost write")).code(), ErrorCode::kIo);
  faulty.space = UINT64_MAX;  // space comes back
  ASSERT_TRUE(log.append(rec("two")).ok());
  ASSERT_TRUE(log.sync().ok());
  EXPECT_EQ(log.segments(), 2u);
  bool corrupt = true;
  auto records = read_all(corrupt);
  EXPECT_FALSE(corrupt);  // the cut record is the first segment's torn end
  EXPECT_EQ(records, (std::vector<std::string>{"one", "two"}));
}

TEST_F(LogTest, FailedSyncsAndAReadOnlyDiskReportErrors) {
  testing::FaultyFiles faulty(disk_);
  Log log(faulty, "/d", "log-1-0");
  ASSERT_TRUE(log.append(rec("one")).ok());
  faulty.fail_sync = true;
  EXPECT_EQ(log.sync().code(), ErrorCode::kIo);
  faulty.fail_sync = false;
  faulty.read_only = true;
  EXPECT_EQ(log.append(rec("two")).code(), ErrorCode::kIo);
  EXPECT_EQ(log.append(rec("three")).code(), ErrorCode::kIo);
  faulty.read_only = false;
  ASSERT_TRUE(log.append(rec("four")).ok());
  ASSERT_TRUE(log.sync().ok());
  disk_.crash(rng_);
  bool corrupt = true;
  auto records = read_all(corrupt);
  EXPECT_FALSE(corrupt);
  EXPECT_EQ(records.back(), "four");
}

TEST_F(LogTest, AppendsGoOnWhileASyncRunsAndWaitForTheNext) {
  Log log(disk_, "/d", "log-1-0");
  ASSERT_TRUE(log.append(rec("one")).ok());
  Log::SyncJob job = log.begin_sync();
  EXPECT_FALSE(log.unsynced());
  ASSERT_TRUE(log.append(rec("two")).ok());  // while the disk works
  EXPECT_TRUE(log.unsynced());
  Log::run_sync(disk_, job);
  ASSERT_TRUE(log.end_sync(job).ok());
  EXPECT_TRUE(log.unsynced());  // "two" waits for the next sync
  Log::SyncJob idle = log.begin_sync();
  Log::run_sync(disk_, idle);
  ASSERT_TRUE(log.end_sync(idle).ok());
  EXPECT_FALSE(log.unsynced());
  disk_.crash(rng_);
  bool corrupt = true;
  EXPECT_EQ(read_all(corrupt), (std::vector<std::string>{"one", "two"}));
  EXPECT_FALSE(corrupt);
}

TEST_F(LogTest, AFailedSyncAbandonsItsSegmentUnlessARotationClosedItFirst) {
  testing::FaultyFiles faulty(disk_);
  Log log(faulty, "/d", "log-1-0");
  ASSERT_TRUE(log.append(rec("one")).ok());
  faulty.fail_sync = true;
  Log::SyncJob job = log.begin_sync();
  Log::run_sync(faulty, job);
  EXPECT_EQ(log.end_sync(job).code(), ErrorCode::kIo);
  // Its tail is unknown: the next append starts a segment.
  ASSERT_TRUE(log.append(rec("two")).ok());
  EXPECT_EQ(log.segments(), 2u);
  // A failure of a segment a rotation closed meanwhile leaves the new one.
  job = log.begin_sync();
  (void)log.rotate();
  ASSERT_TRUE(log.append(rec("three")).ok());
  EXPECT_EQ(log.segments(), 3u);
  Log::run_sync(faulty, job);
  EXPECT_EQ(log.end_sync(job).code(), ErrorCode::kIo);
  ASSERT_TRUE(log.append(rec("four")).ok());
  EXPECT_EQ(log.segments(), 3u);
  // The names wait for a sync that works.
  faulty.fail_sync = false;
  ASSERT_TRUE(log.sync().ok());
  disk_.crash(rng_);
  bool corrupt = true;
  auto records = read_all(corrupt);
  EXPECT_FALSE(corrupt);
  ASSERT_GE(records.size(), 2u);
  EXPECT_EQ(records[records.size() - 2], "three");
  EXPECT_EQ(records.back(), "four");
}

// On the machine's files, a sync on another thread beside appends (what
// the server does under everysec; the sanitizer builds check it).
TEST(LogOnDisk, ASyncOnAnotherThreadBesideAppendsLosesNothing) {
  char tmpl[] = "/tmp/cmud-log-test-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  PosixFileSystem fs;
  {
    Log log(fs, dir, "log-1-0");
    std::string expect;
    for (int round = 0; round < 20; ++round) {
      ASSERT_TRUE(log.append(rec("r" + std::to_string(round))).ok());
      Log::SyncJob job = log.begin_sync();
      std::thread t([&] { Log::run_sync(fs, job); });
      for (int i = 0; i < 50; ++i) {
        ASSERT_TRUE(log.append(rec(std::to_string(i))).ok());
      }
      t.join();
      ASSERT_TRUE(log.end_sync(job).ok());
    }
    ASSERT_TRUE(log.sync().ok());
    EXPECT_EQ(log.segments(), 1u);
  }
  auto bytes = fs.read(dir + "/log-1-0-1.log");
  ASSERT_TRUE(bytes.ok()) << bytes.status().message();
  Parsed p = parse(*bytes, kLogMagic);
  EXPECT_EQ(p.tail, Parsed::Tail::kClean);
  ASSERT_EQ(p.records.size(), 20u * 51u);
  EXPECT_EQ(p.records[51], "r1");
  EXPECT_EQ(p.records.back(), "49");
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace cmud::durable
