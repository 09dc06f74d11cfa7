// cmud-sim: runs the storage cluster on the deterministic simulator for many
// seeds and prints one summary line; any failing seed prints itself and the
// command that replays it.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

#include "sim_cluster.h"

namespace {

double cpu_seconds() {
  return static_cast<double>(std::clock()) / CLOCKS_PER_SEC;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace cmud::server::sim;
  CLI::App app{
      "Runs a simulated CMUD cluster (the real query actors and coordinator "
      "on virtual time and a simulated network) under seeded faults, and "
      "checks convergence, acknowledged writes, deletes and message rates."};
  uint64_t seeds = 100;
  uint64_t first = 1;
  SimOptions o;
  std::string faults = faults_name(kDefaultFaults);
  double traffic_s = 60;
  double settle_s = 30;
  app.add_option("--seeds", seeds, "How many seeds to run")
      ->check(CLI::Range(uint64_t{1}, uint64_t{10'000'000}));
  app.add_option("--first", first, "The first seed");
  app.add_option("--servers", o.servers, "Servers in the cluster")
      ->check(CLI::Range(size_t{1}, size_t{16}));
  app.add_option("--actors", o.actors, "Query actors per server")
      ->check(CLI::Range(size_t{1}, size_t{16}));
  app.add_option("--faults", faults,
                 "Comma-separated: jitter, skew, drop, partition, crash; or "
                 "all, none")
      ->capture_default_str();
  app.add_option("--traffic-seconds", traffic_s,
                 "Simulated seconds of traffic and faults per seed")
      ->check(CLI::Range(0.1, 3600.0))
      ->capture_default_str();
  app.add_option("--settle-seconds", settle_s,
                 "Simulated seconds after faults heal before the checks")
      ->check(CLI::Range(0.0, 3600.0))
      ->capture_default_str();
  app.add_option("--ops-per-second", o.ops_per_sec, "Client operations")
      ->check(CLI::Range(0.1, 10000.0))
      ->capture_default_str();
  app.add_option("--keys", o.keys, "Distinct keys the clients touch")
      ->check(CLI::Range(size_t{1}, size_t{1'000'000}))
      ->capture_default_str();
  app.add_option("--flush-one-in", o.flush_one_in,
                 "About one op in this many is a FLUSHALL (0: none)")
      ->capture_default_str();
  app.add_option("--repair-interval-ms", o.repair_interval_ms,
                 "The servers' anti-entropy interval; 0 switches repair off")
      ->check(CLI::Range(int64_t{0}, int64_t{600'000}))
      ->capture_default_str();
  size_t measure_keys = 0;
  int64_t latency_ms = 250;
  app.add_option("--measure-repair", measure_keys,
                 "Instead of seeds: measure repair of this many divergent "
                 "keys between two servers (--actors each, --latency-ms)")
      ->check(CLI::Range(size_t{1}, size_t{10'000'000}));
  app.add_option("--latency-ms", latency_ms,
                 "One-way latency for --measure-repair")
      ->check(CLI::Range(int64_t{0}, int64_t{10'000}))
      ->capture_default_str();
  std::string durable = "off";
  app.add_option("--durable", durable,
                 "Servers keep their store on their simulated disks with "
                 "this fsync policy, and the checkers hold them to it: "
                 "always (no acknowledged write lost), everysec (only the "
                 "last second before a crash), no, or off (memory only)")
      ->check(CLI::IsMember({"always", "everysec", "no", "off"}))
      ->capture_default_str();
  app.add_flag("--skip-fsync", o.skip_fsync,
               "With --durable: the servers never fsync, yet the checkers "
               "expect the policy (shows they catch it)");
  bool trace = false;
  app.add_flag("--trace", trace,
               "Print each seed's faults and failures as they happened");
  bool keep_going = false;
  app.add_flag("--keep-going", keep_going,
               "Run every seed even after one fails");
  CLI11_PARSE(app, argc, argv);

  if (measure_keys > 0) {
    RepairFigures f = measure_repair(measure_keys, o.actors, latency_ms, first);
    std::printf(
        "repair of %zu divergent keys, 2 servers x %zu actors, %lld ms "
        "one-way: %s in %.1f s simulated, %llu bytes in %llu messages; idle "
        "after: %.0f bytes/s per server pair; %.1f s CPU\n",
        measure_keys, o.actors, static_cast<long long>(latency_ms),
        f.converged ? "converged" : "NOT converged",
        static_cast<double>(f.converge_ms) / 1000,
        static_cast<unsigned long long>(f.bytes),
        static_cast<unsigned long long>(f.messages), f.idle_bytes_per_sec,
        f.cpu_seconds);
    return f.converged ? 0 : 1;
  }

  std::string error;
  auto bits = parse_faults(faults, error);
  if (!bits) {
    std::fprintf(stderr, "cmud-sim: %s\n", error.c_str());
    return 2;
  }
  o.faults = *bits;
  o.trace = trace;
  if (durable != "off") o.durable = *cmud::durable::parse_fsync(durable);
  o.traffic_ms = static_cast<int64_t>(traffic_s * 1000);
  o.settle_ms = static_cast<int64_t>(settle_s * 1000);

  double cpu0 = cpu_seconds();
  uint64_t ran = 0, failed = 0, writes = 0, events = 0, snapshots = 0;
  uint64_t complete_checked = 0, no_claim = 0, no_horizon = 0;
  uint64_t collected = 0, seeds_collecting = 0, idle_checked = 0;
  int64_t worst_lag = 0, worst_horizon_lag = 0;
  std::vector<int64_t> end_lags;  // as the traffic ended, seeds with one
  uint64_t end_no_horizon = 0, collected_in_traffic = 0;
  int64_t simulated = 0;
  std::optional<uint64_t> first_failed;
  std::string first_failure;
  for (uint64_t s = first; s < first + seeds; ++s) {
    o.seed = s;
    SimResult r = run_seed(o);
    ++ran;
    writes += r.writes_acked;
    events += r.events;
    snapshots += r.snapshots;
    simulated += r.simulated_ms;
    complete_checked += r.complete_checked;
    collected += r.tombstones_collected;
    idle_checked += r.idle_checked ? 1 : 0;
    seeds_collecting += r.tombstones_collected > 0 ? 1 : 0;
    if (r.final_complete_lag_ms < 0) {
      ++no_claim;
    } else {
      worst_lag = std::max(worst_lag, r.final_complete_lag_ms);
    }
    collected_in_traffic += r.tombstones_collected_in_traffic;
    if (r.traffic_end_horizon_lag_ms < 0) {
      ++end_no_horizon;
    } else {
      end_lags.push_back(r.traffic_end_horizon_lag_ms);
    }
    if (r.final_horizon_lag_ms < 0) {
      ++no_horizon;
    } else {
      worst_horizon_lag = std::max(worst_horizon_lag, r.final_horizon_lag_ms);
    }
    if (trace) {
      for (const auto& line : r.trace) {
        std::printf("seed %llu: %s\n", static_cast<unsigned long long>(s),
                    line.c_str());
      }
    }
    if (!r.ok()) {
      ++failed;
      std::printf("seed %llu failed: %s\n  replay: %s\n",
                  static_cast<unsigned long long>(s), r.failures[0].c_str(),
                  replay_command(o).c_str());
      for (size_t i = 1; i < r.failures.size() && i < 5; ++i) {
        std::printf("  also: %s\n", r.failures[i].c_str());
      }
      if (!first_failed) {
        first_failed = s;
        first_failure = r.failures[0];
      }
      if (!keep_going) break;
    }
  }
  double cpu = cpu_seconds() - cpu0;
  std::string failing = "none";
  if (first_failed) {
    failing = std::to_string(*first_failed) + " (" + first_failure + ")";
  }
  double n = static_cast<double>(ran);
  std::printf(
      "%llu seeds, %llu failed, first failing seed %s; faults %s, %zu "
      "servers x %zu actors; %.1f s CPU (%.1f ms per seed for %.0f s "
      "simulated), %llu writes acknowledged, %llu events\n",
      static_cast<unsigned long long>(ran),
      static_cast<unsigned long long>(failed), failing.c_str(),
      faults_name(o.faults).c_str(), o.servers, o.actors, cpu, 1000 * cpu / n,
      static_cast<double>(simulated) / 1000 / n,
      static_cast<unsigned long long>(writes),
      static_cast<unsigned long long>(events));
  std::printf(
      "completeness: %llu writes checked against replicas' claims; at the "
      "end the claims lagged the clock by at most %.1f s (%llu seeds had a "
      "replica claiming nothing)\n",
      static_cast<unsigned long long>(complete_checked),
      static_cast<double>(worst_lag) / 1000,
      static_cast<unsigned long long>(no_claim));
  std::printf(
      "cluster horizon: at the end it lagged the clock by at most %.1f s "
      "(%llu seeds had a replica with none)\n",
      static_cast<double>(worst_horizon_lag) / 1000,
      static_cast<unsigned long long>(no_horizon));
  std::sort(end_lags.begin(), end_lags.end());
  auto at = [&](double q) {
    if (end_lags.empty()) return 0.0;
    size_t i =
        static_cast<size_t>(q * static_cast<double>(end_lags.size() - 1));
    return static_cast<double>(end_lags[i]) / 1000;
  };
  std::printf(
      "as the traffic ended: the horizon lagged the clock by %.1f s (median), "
      "%.1f s (90th percentile) (%llu seeds had a replica with none); %llu "
      "tombstones freed by then\n",
      at(0.5), at(0.9), static_cast<unsigned long long>(end_no_horizon),
      static_cast<unsigned long long>(collected_in_traffic));
  std::printf(
      "tombstone collection: %llu tombstones freed by the replicas read at "
      "the end, in %llu seeds; idle traffic checked in %llu seeds\n",
      static_cast<unsigned long long>(collected),
      static_cast<unsigned long long>(seeds_collecting),
      static_cast<unsigned long long>(idle_checked));
  if (o.durable) {
    std::printf("snapshots: %llu (numbers on the disks at the end, summed)\n",
                static_cast<unsigned long long>(snapshots));
  }
  return failed == 0 ? 0 : 1;
}
