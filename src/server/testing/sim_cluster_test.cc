// The storage cluster on the simulator: a fixed set of seeds that must pass
// (cmud-sim runs many more), and replay.
#include "sim_cluster.h"

#include <gtest/gtest.h>

namespace cmud::server::sim {
namespace {

// Returns the runs' snapshots (SimResult::snapshots), summed.
uint64_t expect_seeds_pass(SimOptions o, uint64_t first, uint64_t count) {
  uint64_t snapshots = 0;
  for (uint64_t s = first; s < first + count; ++s) {
    o.seed = s;
    SimResult r = run_seed(o);
    EXPECT_TRUE(r.ok()) << r.failures[0] << "\n  replay: " << replay_command(o);
    if (!r.ok()) break;
    EXPECT_GT(r.writes_acked, 0u);
    EXPECT_LE(r.max_pair_msgs_per_sec, 10u);
    snapshots += r.snapshots;
  }
  return snapshots;
}

TEST(SimCluster, EveryFaultPassesAFixedSetOfSeeds) {
  expect_seeds_pass({}, 1, 150);
}

TEST(SimCluster, EachFaultAlonePasses) {
  for (Fault f : {kJitter, kSkew, kDrop, kPartition, kCrash}) {
    SCOPED_TRACE(faults_name(f));
    SimOptions o;
    o.faults = f;
    expect_seeds_pass(o, 1000, 20);
  }
}

// Seeds that once failed, each for a hole since closed.
TEST(SimCluster, SeedsThatOnceFailedPass) {
  // A late counter came back after its key's tombstone was freed: counters
  // now carry when they were made.
  expect_seeds_pass({}, 6525, 1);
  // Membership flapping during restarts sent a query actor 11 control
  // messages in a second: the coordinator's outbox paces them.
  SimOptions durable;
  durable.durable = durable::Fsync::kEverySec;
  expect_seeds_pass(durable, 20157, 1);
  // A new start whose horizon was behind the floor began a counter
  // without a stamp on the floor, where a dead one had been freed: such a
  // counter is stamped now.
  expect_seeds_pass({}, 794, 1);
  // A start without --join, cut off from its peers past the member
  // timeout, took its own actors for the whole cluster: a lone start now
  // waits the grace period before its horizon moves.
  SimOptions wide;
  wide.servers = 2;
  wide.actors = 4;
  expect_seeds_pass(wide, 801, 1);
  // A new start got an expired value whose value had been freed as an
  // empty value; a late PERSIST then showed "" there and "v721" elsewhere,
  // under equal digests: a freed value now travels marked as freed.
  expect_seeds_pass({}, 19391, 1);
  // A restarted durable server's clock started below a counter's stamp it
  // recovered, so its PEXPIRE lost to it: recovery counts expiries' and
  // increments' clocks too.
  expect_seeds_pass(durable, 21094, 1);
  // A counter begun where its key was gone lent its stamp, as expiry, to a
  // live counter it met first; that counter's EXPIRE, older than the
  // stamp, then no longer applied there, while replicas that had it first
  // let the stamped counter win: increments were lost. Both are held now
  // until the order is known (kv::Store::apply_pair).
  expect_seeds_pass(durable, 36, 1);
  // A new start (no horizon yet, so no stamp) began a counter on the
  // floor where a replica had freed the key's expired value, which it had
  // shown: the checker took the new counter for an old version back.
  SimOptions five;
  five.servers = 5;
  five.actors = 1;
  expect_seeds_pass(five, 191, 1);
}

// The checkers are not idle: without anti-entropy, lost batches leave
// replicas apart.
TEST(SimCluster, WithoutRepairDropsAreCaught) {
  SimOptions o;
  o.faults = kDrop;
  o.repair_interval_ms = 0;
  int failed = 0;
  for (uint64_t s = 1; s <= 10; ++s) {
    o.seed = s;
    SimResult r = run_seed(o);
    if (!r.ok()) {
      ++failed;
      EXPECT_NE(r.failures[0].find("[converged]"), std::string::npos)
          << r.failures[0];
    }
  }
  EXPECT_GE(failed, 3);
}

// Durable servers under every fault: with always no acknowledged write is
// lost to a crash, with everysec only the last second's. Many keys, so a
// lost write is not hidden by a later write to the same key.
TEST(SimCluster, DurableServersLoseNoAcknowledgedWrite) {
  SimOptions o;
  o.keys = 100'000;
  o.durable = durable::Fsync::kAlways;
  uint64_t snapshots = expect_seeds_pass(o, 1, 20);
  o.durable = durable::Fsync::kEverySec;
  snapshots += expect_seeds_pass(o, 1, 20);
  // Logs outgrow the (small) threshold: snapshots run amid the faults.
  EXPECT_GT(snapshots, 40u * 3);
}

// The same checkers catch servers that skip their fsyncs (the simulated
// disk drops what was not synced when a server crashes).
TEST(SimCluster, WithoutFsyncDurableCrashesAreCaught) {
  SimOptions o;
  o.keys = 100'000;
  o.durable = durable::Fsync::kAlways;
  o.skip_fsync = true;
  o.flush_one_in = 0;  // a clear would excuse the writes it covers
  int failed = 0;
  for (uint64_t s = 1; s <= 5; ++s) {
    o.seed = s;
    SimResult r = run_seed(o);
    if (!r.ok()) {
      ++failed;
      // A restarted server that lost writes it had claimed to hold may
      // also refuse them for good once the horizon passed them: its
      // replicas then differ at the end ([converged]), a loss as well.
      EXPECT_TRUE(r.failures[0].starts_with("[acked-lost]") ||
                  r.failures[0].starts_with("[deleted-came-back]") ||
                  r.failures[0].starts_with("[incr-lost]") ||
                  r.failures[0].starts_with("[converged]"))
          << r.failures[0];
    }
  }
  EXPECT_GE(failed, 4);
}

TEST(SimCluster, OtherShapesPass) {
  SimOptions o;
  o.servers = 1;
  o.actors = 4;
  expect_seeds_pass(o, 1, 10);
  o.servers = 5;
  o.actors = 1;
  expect_seeds_pass(o, 1, 10);
  o.servers = 2;
  o.actors = 3;
  o.keys = 3;  // every write collides
  expect_seeds_pass(o, 1, 10);
}

// What replicas claim to hold completely (repair::Knowledge) is checked
// against every acknowledged write (checker "complete", in every run), and
// in a healthy cluster the claims follow the clock closely.
TEST(SimCluster, ClaimsToHoldEveryOlderWriteAreCheckedAndAdvance) {
  SimOptions o;
  o.faults = 0;
  for (uint64_t s = 1; s <= 5; ++s) {
    o.seed = s;
    SimResult r = run_seed(o);
    ASSERT_TRUE(r.ok()) << r.failures[0];
    EXPECT_GT(r.complete_checked, 1000u);
    // Rounds back off to one every 8 s once converged; a bound reaches
    // every replica within two of them. Freeing tombstones changes one
    // replica's digests a moment before another's, and a round that finds
    // a difference learns nothing: a third round, at worst.
    EXPECT_GE(r.final_complete_lag_ms, 0);
    EXPECT_LE(r.final_complete_lag_ms, 30'000);
    // The cluster's horizon: the servers' claims, kept 12 s behind their
    // clocks for starts not known yet, and a gossip round.
    EXPECT_GE(r.final_horizon_lag_ms, 0);
    EXPECT_LE(r.final_horizon_lag_ms, 60'000);
  }
}

// Tombstones below the cluster's horizon are freed, under every fault, and
// every checker still holds: no deleted key comes back, no acknowledged
// write is lost, the replicas converge (with the freed tombstones left out
// of the comparison). Writes keep most groups' digests apart while traffic
// runs, so most of the freeing happens in a lull or once it ends.
TEST(SimCluster, TombstonesAreCollectedUnderFaultsAndNothingComesBack) {
  SimOptions o;
  uint64_t collected = 0, seeds_collecting = 0;
  const uint64_t seeds = 30;
  for (uint64_t s = 1; s <= seeds; ++s) {
    o.seed = s;
    SimResult r = run_seed(o);
    EXPECT_TRUE(r.ok()) << r.failures[0] << "\n  replay: " << replay_command(o);
    collected += r.tombstones_collected;
    seeds_collecting += r.tombstones_collected > 0 ? 1 : 0;
  }
  EXPECT_GE(seeds_collecting, seeds * 8 / 10);
  EXPECT_GT(collected, seeds * 10);
}

// 400 writes a second over 2 000 keys with no lull and no clear (a clear
// would free the tombstones first), under `faults`.
SimOptions never_pausing(unsigned faults) {
  SimOptions o;
  o.faults = faults;
  o.lulls = false;
  o.ops_per_sec = 400;
  o.keys = 2000;
  o.flush_one_in = 0;
  return o;
}

// Writes that never pause keep the replicas' digests apart; the sync
// streams' claims still move the horizon, and tombstones are freed.
TEST(SimCluster, TheHorizonFollowsTheClockUnderWritesThatNeverPause) {
  SimOptions o = never_pausing(0);
  o.settle_ms = 1000;  // read right after the last write
  for (uint64_t s = 1; s <= 4; ++s) {
    o.seed = s;
    SimResult r = run_seed(o);
    EXPECT_TRUE(r.ok()) << r.failures[0] << "\n  replay: " << replay_command(o);
    // The margin (12 s here) and a gossip round or two; -1: none at all.
    EXPECT_GE(r.final_horizon_lag_ms, 0) << replay_command(o);
    EXPECT_LE(r.final_horizon_lag_ms, 20'000) << replay_command(o);
    EXPECT_GT(r.tombstones_collected, 0u) << replay_command(o);
  }
}

// Lost batches leave holes in what the sync streams' claims teach, and
// writes that never pause keep the digests that would bridge them apart:
// the horizon stopped at the first loss (about 55 s behind as the 60 s of
// traffic ended, a few hundred tombstones freed). Each receiver now asks
// the sender to bridge the hole (QueryActor::bridge), and the horizon
// follows the clock through the losses.
TEST(SimCluster, TheHorizonFollowsTheClockThroughLostBatches) {
  SimOptions o = never_pausing(kDrop);
  for (uint64_t s : {4, 5, 6, 8}) {
    o.seed = s;
    SimResult r = run_seed(o);
    EXPECT_TRUE(r.ok()) << r.failures[0] << "\n  replay: " << replay_command(o);
    // The margin (12 s here) and a gossip round or two.
    EXPECT_GE(r.traffic_end_horizon_lag_ms, 0) << replay_command(o);
    EXPECT_LE(r.traffic_end_horizon_lag_ms, 20'000) << replay_command(o);
    EXPECT_GT(r.tombstones_collected_in_traffic, 1000u) << replay_command(o);
  }
}

TEST(SimCluster, ASeedReplaysExactly) {
  SimOptions o;
  o.faults = kJitter | kSkew | kCrash | kDrop;
  o.trace = true;
  o.seed = 42;
  SimResult a = run_seed(o);
  SimResult b = run_seed(o);
  EXPECT_EQ(a.trace, b.trace);
  EXPECT_EQ(a.failures, b.failures);
  EXPECT_EQ(a.events, b.events);
  EXPECT_EQ(a.writes_acked, b.writes_acked);
  o.seed = 43;
  EXPECT_NE(run_seed(o).events, a.events);
}

TEST(SimCluster, FaultListsParse) {
  std::string error;
  EXPECT_EQ(parse_faults("jitter,crash", error), kJitter | kCrash);
  EXPECT_EQ(parse_faults("none", error), 0u);
  EXPECT_EQ(faults_name(*parse_faults("all", error)),
            "jitter,skew,drop,partition,crash");
  EXPECT_FALSE(parse_faults("jitter,flood", error));
  EXPECT_NE(error.find("unknown fault 'flood'"), std::string::npos);
}

}  // namespace
}  // namespace cmud::server::sim
