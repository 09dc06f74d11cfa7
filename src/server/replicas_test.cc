#include "replicas.h"

#include <gtest/gtest.h>

#include "cmud/sim/disk.h"
#include "cmud/sim/world.h"

namespace cmud::server {
namespace {

TEST(NextIncarnation, CountsUpAcrossStartsAndCrashes) {
  sim::Disk disk;
  EXPECT_EQ(next_incarnation(disk, "/data").value(), 1u);
  EXPECT_EQ(next_incarnation(disk, "/data").value(), 2u);
  sim::Rng rng(7);
  disk.crash(rng);  // everything was synced before it was returned
  EXPECT_EQ(next_incarnation(disk, "/data").value(), 3u);
  EXPECT_EQ(disk.read("/data/incarnation").value(), "3\n");
}

TEST(NextIncarnation, ACrashMidWayLeavesTheLastOneIntact) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    sim::Disk disk;
    ASSERT_EQ(next_incarnation(disk, "/data").value(), 1u);
    // A start that died after writing its number aside, unsynced.
    auto f = std::move(disk.open_append("/data/incarnation.tmp")).value();
    ASSERT_TRUE(f->append("2\n").ok());
    sim::Rng rng(seed);
    disk.crash(rng);
    EXPECT_EQ(next_incarnation(disk, "/data").value(), 2u);
  }
}

TEST(NextIncarnation, ADamagedCounterIsAnErrorNotAReset) {
  sim::Disk disk;
  ASSERT_TRUE(disk.create_dirs("/data").ok());
  for (const char* bad : {"", "x\n", "12x", "18446744073709551615"}) {
    ASSERT_TRUE(disk.remove("/data/incarnation").ok() ||
                !disk.read("/data/incarnation").ok());
    auto f = std::move(disk.open_append("/data/incarnation")).value();
    ASSERT_TRUE(f->append(bad).ok());
    auto r = next_incarnation(disk, "/data");
    EXPECT_EQ(r.status().code(), ErrorCode::kDecode) << bad;
  }
}

}  // namespace
}  // namespace cmud::server
