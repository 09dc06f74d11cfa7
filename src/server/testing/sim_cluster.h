// A storage cluster on the deterministic simulator: K servers of A query
// actors each, the production coordinator and query actors on simulated
// hosts (cmud::sim), driven by a seeded workload and seeded faults, and
// checked on every run. cmud-sim runs many seeds; the server tests run a
// fixed set.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cmud/durable/log.h"

namespace cmud::server::sim {

// Faults a run may inject, on top of the network's ordinary latency.
enum Fault : unsigned {
  kJitter = 1u << 0,     // latency 1..300 ms per message: reorder pairs
  kSkew = 1u << 1,       // clocks apart by up to 5 s, and jumping
  kDrop = 1u << 2,       // spells of lost messages
  kPartition = 1u << 3,  // servers cut off from each other, then healed
  kCrash = 1u << 4,      // a server killed (memory lost), restarted later
};

// "jitter,skew,drop,partition,crash", "all" or "none" -> a set of Fault
// bits; nullopt (with `error` set) for an unknown name.
std::optional<unsigned> parse_faults(std::string_view list, std::string& error);
std::string faults_name(unsigned faults);

inline constexpr unsigned kAllFaults =
    kJitter | kSkew | kDrop | kPartition | kCrash;
// The default of cmud-sim and the tests.
inline constexpr unsigned kDefaultFaults = kAllFaults;

struct SimOptions {
  uint64_t seed = 1;
  size_t servers = 3;
  size_t actors = 2;
  unsigned faults = kDefaultFaults;
  // Cluster time with traffic and faults, then with neither (faults
  // healed) before the final checks: the bound within which replicas
  // must agree. Long enough for the horizon (12 s behind the clock here,
  // and held for the grace period after a crash) to pass the last writes,
  // so that their tombstones are freed before the end.
  int64_t traffic_ms = 60'000;
  int64_t settle_ms = 30'000;
  size_t keys = 24;  // small, so writes collide
  // Half the seeds pause their traffic for 15 to 25 s, faults going on:
  // a link whose receiver knew nothing of its sender yet (a restart, or a
  // first claim lost) waits for a matching digest, which writes keep
  // away, so much is freed in such a lull; traffic then resumes on top of
  // what was freed.
  bool lulls = true;
  double ops_per_sec = 40;  // client operations across the cluster
  // About one op in this many is a FLUSHALL (0: none).
  uint64_t flush_one_in = 200;
  // The servers' anti-entropy interval; 0 switches repair off (to show
  // what the checkers find without it).
  int64_t repair_interval_ms = 1000;
  bool trace = false;  // keep a log of faults and failures
  // Servers keep their store on their simulated disks with this policy
  // (nullopt: in memory only). The checkers then excuse no lost write
  // under kAlways, and under kEverySec only one acknowledged less than
  // kEverySecLossMs before its server crashed.
  std::optional<durable::Fsync> durable;
  // The servers skip every fsync while the checkers still expect
  // `durable`: shows that the checkers catch a missing fsync.
  bool skip_fsync = false;
};

// How long before a crash an acknowledged write may be lost under
// everysec: the second, plus one sync timer spacing and one turn.
inline constexpr int64_t kEverySecLossMs = 1200;

struct SimResult {
  // One line per violation: "[checker] detail". Empty: the run passed.
  std::vector<std::string> failures;
  std::vector<std::string> trace;  // with SimOptions::trace
  uint64_t writes_acked = 0;
  uint64_t reads = 0;
  uint64_t events = 0;
  uint64_t messages = 0;
  uint64_t dropped = 0;
  uint64_t crashes = 0;
  // Durable runs: snapshots each server's disk ended up numbered, summed
  // (each start and each snapshot while running adds one).
  uint64_t snapshots = 0;
  uint64_t max_pair_msgs_per_sec = 0;
  int64_t simulated_ms = 0;
  // Writes checked against a replica's claim to hold everything below a
  // version (repair::Knowledge), and how far, at the end, the least such
  // claim lagged the simulated wall clock (-1: a replica claimed nothing).
  uint64_t complete_checked = 0;
  int64_t final_complete_lag_ms = 0;
  // The same for the cluster's horizon (Members::horizon_hlc).
  int64_t final_horizon_lag_ms = 0;
  // Tombstones the replicas read at the end had freed, summed.
  uint64_t tombstones_collected = 0;
  // The same two as the traffic ends (before the quiet end lets digests
  // match): how far the horizon lagged, and what was freed by then.
  int64_t traffic_end_horizon_lag_ms = 0;
  uint64_t tombstones_collected_in_traffic = 0;
  // The quiet end was long enough to check the idle traffic.
  bool idle_checked = false;
  bool ok() const { return failures.empty(); }
};

// Runs one seed. Deterministic: the same options give the same result.
SimResult run_seed(const SimOptions& options);

// Repair measured on the simulator: two servers, `keys` entries written on
// the first while the second is cut off, then the cut healed.
struct RepairFigures {
  bool converged = false;
  int64_t converge_ms = 0;  // simulated, from the heal
  uint64_t bytes = 0;       // sent between the servers until then
  uint64_t messages = 0;
  double idle_bytes_per_sec = 0;  // per server pair, once converged
  double cpu_seconds = 0;         // of the whole measurement
};
RepairFigures measure_repair(size_t keys, size_t actors, int64_t latency_ms,
                             uint64_t seed);

// The command that replays a run.
std::string replay_command(const SimOptions& options);

}  // namespace cmud::server::sim
