#include "cmud/durable/recovery.h"

#include <gtest/gtest.h>

#include "cmud/durable/log.h"
#include "cmud/kv/counter.h"
#include "cmud/sim/disk.h"
#include "cmud/sim/world.h"
#include "faulty_files.h"

namespace cmud::durable {
namespace {

kv::Version ver(uint64_t ms, uint64_t origin = 1) {
  return {kv::Version::pack(ms, 0), origin};
}

class RecoveryTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(disk_.create_dirs("/d").ok()); }

  // Appends one turn's record to the log file `name`, synced.
  void write_turn(const std::string& name,
                  std::initializer_list<
                      std::tuple<std::string, std::string, kv::Version, bool>>
                      entries) {
    EntryRecord rec;
    for (const auto& [k, v, version, deleted] : entries) {
      rec.add({k, v, version.hlc, version.origin, deleted, {}, {}});
    }
    write_record(name, rec);
  }
  void write_record(const std::string& name, EntryRecord& rec) {
    std::string framed;
    auto old = disk_.read("/d/" + name);
    if (!old.ok()) framed = kLogMagic;
    framed += rec.framed();
    auto f = disk_.open_append("/d/" + name);
    ASSERT_TRUE(f.ok());
    ASSERT_TRUE((*f)->append(framed).ok());
    ASSERT_TRUE((*f)->sync().ok());
    ASSERT_TRUE(disk_.sync_dir("/d").ok());
  }
  std::unique_ptr<Recovered> must_recover(bool repair = false) {
    auto r = recover(disk_, "/d", repair);
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? std::move(*r) : std::make_unique<Recovered>();
  }
  // Overwrites one byte of a file.
  void flip(const std::string& name, size_t at) {
    std::string bytes = *disk_.read("/d/" + name);
    bytes[at] = static_cast<char>(bytes[at] ^ 0x10);
    ASSERT_TRUE(disk_.remove("/d/" + name).ok());
    auto f = disk_.open_append("/d/" + name);
    ASSERT_TRUE((*f)->append(bytes).ok());
    ASSERT_TRUE((*f)->sync().ok());
  }

  sim::Disk disk_;
  sim::Rng rng_{3};
};

TEST_F(RecoveryTest, AMissingOrEmptyDirectoryIsAnEmptyStore) {
  auto r = recover(disk_, "/nowhere", false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->store.size(), 0u);
  EXPECT_EQ(must_recover()->store.size(), 0u);
}

TEST_F(RecoveryTest, LogsOfEveryActorMergeByVersionInAnyOrder) {
  write_turn("log-1-0-1.log",
             {{"a", "new", ver(20), false}, {"b", "b1", ver(10), false}});
  // A later file with an older version of a: it must not win.
  write_turn("log-1-1-1.log",
             {{"a", "old", ver(10), false}, {"c", "", ver(30), true}});
  write_turn("log-2-0-1.log", {{"b", "b2", ver(40, 2), false}});
  auto r = must_recover();
  EXPECT_EQ(r->store.get("a"), "new");
  EXPECT_EQ(r->store.get("b"), "b2");
  EXPECT_EQ(r->store.get("c"), std::nullopt);
  ASSERT_NE(r->store.find("c"), nullptr);  // the tombstone is kept
  EXPECT_TRUE(r->store.find("c")->deleted());
  EXPECT_EQ(r->max_hlc, ver(40).hlc);
  EXPECT_EQ(r->logs.size(), 3u);
  EXPECT_TRUE(r->warnings.empty());
}

TEST_F(RecoveryTest, ATornLastRecordIsCutAndReported) {
  write_turn("log-1-0-1.log", {{"a", "1", ver(10), false}});
  write_turn("log-1-0-1.log", {{"b", "2", ver(11), false}});
  std::string bytes = *disk_.read("/d/log-1-0-1.log");
  ASSERT_TRUE(disk_.remove("/d/log-1-0-1.log").ok());
  auto f = disk_.open_append("/d/log-1-0-1.log");
  ASSERT_TRUE((*f)->append(bytes.substr(0, bytes.size() - 3)).ok());
  auto r = must_recover();
  EXPECT_EQ(r->store.get("a"), "1");
  EXPECT_EQ(r->store.get("b"), std::nullopt);
  ASSERT_EQ(r->warnings.size(), 1u);
  EXPECT_NE(r->warnings[0].find("torn"), std::string::npos);
}

TEST_F(RecoveryTest, DamageInTheMiddleStopsRecoveryUnlessRepairIsAsked) {
  write_turn("log-1-0-1.log", {{"a", "1", ver(10), false}});
  size_t second = disk_.read("/d/log-1-0-1.log")->size();
  write_turn("log-1-0-1.log", {{"b", "2", ver(11), false}});
  write_turn("log-1-0-1.log", {{"c", "3", ver(12), false}});
  flip("log-1-0-1.log", second + 12);
  auto bad = recover(disk_, "/d", false);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), ErrorCode::kDecode);
  EXPECT_NE(bad.status().message().find("log-1-0-1.log"), std::string::npos);
  EXPECT_NE(bad.status().message().find("--repair-log"), std::string::npos);
  auto r = must_recover(/*repair=*/true);
  EXPECT_EQ(r->store.get("a"), "1");
  EXPECT_EQ(r->store.get("b"), std::nullopt);
  EXPECT_EQ(r->store.get("c"), std::nullopt);
  EXPECT_EQ(r->warnings.size(), 1u);
}

// The clock starts above every version recovered: an expiry's (EXPIRE,
// PERSIST, a counter's stamp) and a counter's last increment may be newer
// than their entry's, and an EXPIRE made after the restart must beat them
// (cmud-sim --durable everysec seed 21094).
TEST_F(RecoveryTest, TheClockStartsAboveExpiriesAndIncrementsToo) {
  EntryRecord rec;
  rec.add({"x", "v", ver(20).hlc, 1, false, {}, kv::Expiry{0, ver(50)}});
  kv::Counter n(0);
  ASSERT_TRUE(n.add(1, 3));
  n.mark_made(ver(60).hlc);
  std::string meta = n.encoded();
  rec.add({"n", "", ver(10).hlc, 1, false, meta, {}});
  write_record("log-1-0-1.log", rec);
  auto r = must_recover();
  EXPECT_EQ(r->store.get("n"), "3");
  EXPECT_EQ(r->max_hlc, ver(60).hlc);
}

TEST_F(RecoveryTest, CompactionFoldsLogsIntoOneSnapshotThatReadsBackTheSame) {
  write_turn("log-1-0-1.log",
             {{"a", "1", ver(10), false}, {"gone", "", ver(11), true}});
  write_turn("log-1-1-1.log", {{"b", std::string(3 << 20, 'v'), ver(12),
                                false}});  // several snapshot chunks
  auto r = must_recover();
  r->store.raise_floor(ver(5));
  ASSERT_TRUE(compact(disk_, "/d", *r).ok());
  EXPECT_EQ(r->snapshot, 1u);
  EXPECT_EQ(*disk_.list("/d"), std::vector<std::string>{"snapshot-1.snap"});
  disk_.crash(rng_);  // everything compaction wrote was synced
  auto again = must_recover();
  EXPECT_EQ(again->snapshot, 1u);
  EXPECT_EQ(again->store.get("a"), "1");
  EXPECT_EQ(again->store.get("b")->size(), size_t{3} << 20);
  ASSERT_NE(again->store.find("gone"), nullptr);
  EXPECT_EQ(again->store.floor(), ver(5));
  EXPECT_EQ(again->max_hlc, ver(12).hlc);
  // A second round replaces the first snapshot.
  write_turn("log-2-0-1.log", {{"a", "2", ver(20), false}});
  auto third = must_recover();
  ASSERT_TRUE(compact(disk_, "/d", *third).ok());
  EXPECT_EQ(*disk_.list("/d"), std::vector<std::string>{"snapshot-2.snap"});
  EXPECT_EQ(must_recover()->store.get("a"), "2");
}

TEST_F(RecoveryTest, ACrashInTheMiddleOfCompactionLosesNothing) {
  write_turn("log-1-0-1.log", {{"a", "1", ver(10), false}});
  write_turn("log-1-1-1.log", {{"b", "2", ver(11), false}});
  // The disk fills up while the snapshot is written: the logs stay, and
  // the partial snapshot never takes a snapshot's name.
  testing::FaultyFiles faulty(disk_);
  faulty.space = 20;
  auto r = must_recover();
  EXPECT_EQ(compact(faulty, "/d", *r).code(), ErrorCode::kIo);
  disk_.crash(rng_);
  auto again = must_recover();
  EXPECT_EQ(again->snapshot, 0u);
  EXPECT_EQ(again->store.get("a"), "1");
  EXPECT_EQ(again->store.get("b"), "2");
  // Read-only: compaction cannot start; nothing changes.
  faulty.space = UINT64_MAX;
  faulty.read_only = true;
  EXPECT_EQ(compact(faulty, "/d", *again).code(), ErrorCode::kIo);
  EXPECT_EQ(must_recover()->store.get("b"), "2");
}

TEST_F(RecoveryTest, ADamagedSnapshotStopsRecovery) {
  write_turn("log-1-0-1.log", {{"a", "1", ver(10), false}});
  auto r = must_recover();
  ASSERT_TRUE(compact(disk_, "/d", *r).ok());
  flip("snapshot-1.snap", 20);
  auto bad = recover(disk_, "/d", false);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("snapshot-1.snap"), std::string::npos);
}

TEST_F(RecoveryTest, AVersionBeyondAnyClockIsDamage) {
  write_turn("log-1-0-1.log", {{"a", "1", {~uint64_t{0}, 1}, false}});
  EXPECT_EQ(recover(disk_, "/d", false).status().code(), ErrorCode::kDecode);
}

}  // namespace
}  // namespace cmud::durable
