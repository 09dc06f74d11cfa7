// What a server measures of the commands it runs: calls, time, failures and
// latency percentiles per command (INFO commandstats, latencystats), error
// replies by code (INFO errorstats), the slow log (SLOWLOG) and latency
// events (LATENCY), under Redis's names.
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cmud::server {

struct Command;

// Where a command's statistics go: one slot per command of the table, and
// one per subcommand of those that have them ("client|list"), as Redis
// counts them. Thread-safe (immutable once built).
class StatSlots {
 public:
  static const StatSlots& get() {
    static const StatSlots slots;
    return slots;
  }
  size_t size() const { return names_.size(); }
  // The slot of c run with args (args[1] names a subcommand, if c has them;
  // an unknown one counts on c itself).
  size_t slot(const Command& c, std::span<const std::string_view> args) const;
  // "set", "client|list".
  const std::string& name(size_t slot) const { return names_[slot]; }
  // Whether the slot is a command's that has no subcommands (its slot
  // does not depend on the arguments).
  bool plain(size_t slot) const {
    return slot < first_sub_.size() && first_sub_[slot] == 0;
  }
  // The slot named so (lower case), or nullopt.
  std::optional<size_t> find(std::string_view name) const;
  // Whether the command of the slot is flagged fast (LATENCY's
  // "fast-command" event).
  bool fast(size_t slot) const { return fast_[slot]; }

 private:
  StatSlots();
  const Command* table_;
  std::vector<std::string> names_;
  std::vector<bool> fast_;
  // By command index: the slot of its first subcommand; 0 if it has none.
  std::vector<size_t> first_sub_;
};

// Latencies of one command: log-linear buckets of nanoseconds, 16 per power
// of two (at most 1/16 off), from 1 ns to about 18 minutes.
struct LatencyBuckets {
  static constexpr size_t kSub = 16;
  static constexpr size_t kCount = kSub * 38;
  static size_t bucket(uint64_t ns) {
    if (ns < kSub) return static_cast<size_t>(ns);
    size_t msb = 63 - static_cast<size_t>(std::countl_zero(ns));
    size_t sub = static_cast<size_t>(ns >> (msb - 4)) & (kSub - 1);
    return std::min(kSub * (msb - 3) + sub, kCount - 1);
  }
  // The largest value that falls in bucket i.
  static uint64_t upper(size_t i);
};

// The statistics of every command a server ran since start or CONFIG
// RESETSTAT, one shard per query actor. Thread-safe: a shard is written only
// by its actor's worker (the sessions of that actor's ports), with relaxed
// stores and no locks on the command path; anyone may read and reset.
class CommandStats {
 public:
  struct Totals {
    uint64_t calls = 0;
    uint64_t ns = 0;
    uint64_t rejected = 0;  // refused before running (arity, ACL, OOM...)
    uint64_t failed = 0;    // ran and answered an error
    std::vector<uint64_t> histogram;  // LatencyBuckets; empty if no call
  };
  // Distinct error codes counted per shard (Redis's limit); past it, error
  // replies are counted only in total.
  static constexpr size_t kMaxErrorCodes = 128;

  class Shard {
   public:
    explicit Shard(const CommandStats& owner);
    ~Shard();
    // A command of `slot` that ran for ns (its error, if any, is counted by
    // failed() and error_reply()).
    void call(size_t slot, uint64_t ns, bool track_latency) {
      catch_up();
      Counters& c = counters_[slot];
      bump(c.calls);
      bump(c.ns, ns);
      if (!track_latency) return;
      auto* h = c.histogram.load(std::memory_order_relaxed);
      if (h == nullptr) [[unlikely]]
        h = make_histogram(c);
      bump(h[LatencyBuckets::bucket(ns)]);
    }
    // More time for a call already counted (a command's later ops).
    void add_time(size_t slot, uint64_t ns) {
      catch_up();
      bump(counters_[slot].ns, ns);
    }
    void failed(size_t slot) {
      catch_up();
      bump(counters_[slot].failed);
    }
    void rejected(size_t slot) {
      catch_up();
      bump(counters_[slot].rejected);
    }
    // An error reply (the RESP text, "-CODE message\r\n" or just the
    // message): counts its code, the first word (Redis's rule).
    void error_reply(std::string_view reply);

   private:
    friend class CommandStats;
    struct Counters {
      std::atomic<uint64_t> calls{0}, ns{0}, rejected{0}, failed{0};
      // LatencyBuckets::kCount counters, made on the first tracked call.
      std::atomic<std::atomic<uint64_t>*> histogram{nullptr};
    };
    // Zeroes the shard if a reset happened since it was last written.
    void catch_up() {
      if (generation_.load(std::memory_order_relaxed) !=
          owner_.generation_.load(std::memory_order_relaxed)) [[unlikely]] {
        clear();
      }
    }
    void clear();
    static std::atomic<uint64_t>* make_histogram(Counters& c);
    static void bump(std::atomic<uint64_t>& a, uint64_t by = 1) {
      a.store(a.load(std::memory_order_relaxed) + by,
              std::memory_order_relaxed);
    }

    const CommandStats& owner_;
    std::unique_ptr<Counters[]> counters_;
    // The reset generation the counters belong to; a reader ignores a shard
    // that is behind (it reads as zero).
    std::atomic<uint64_t> generation_{0};
    std::atomic<uint64_t> error_replies_{0};
    mutable std::mutex errors_mu_;  // written rarely: on error replies
    std::map<std::string, uint64_t, std::less<>> errors_;
  };

  explicit CommandStats(size_t shards);
  Shard& shard(size_t i) { return *shards_[i]; }
  size_t shards() const { return shards_.size(); }
  // One slot, summed over the shards.
  Totals totals(size_t slot) const;
  // Error replies by code, summed; and all of them.
  std::map<std::string, uint64_t, std::less<>> errors() const;
  uint64_t error_replies() const;
  // CONFIG RESETSTAT: everything reads as zero from now on (each shard
  // clears itself when next written).
  void reset() { generation_.fetch_add(1, std::memory_order_acq_rel); }

 private:
  bool current(const Shard& s) const {
    return s.generation_.load(std::memory_order_acquire) ==
           generation_.load(std::memory_order_acquire);
  }
  std::atomic<uint64_t> generation_{0};
  std::vector<std::unique_ptr<Shard>> shards_;
};

// The slow log of one server (SLOWLOG): commands that ran at least
// slowlog-log-slower-than microseconds, newest first, at most
// slowlog-max-len of them. Thread-safe.
class SlowLog {
 public:
  // Redis's limits on what an entry keeps of a command.
  static constexpr size_t kMaxArgs = 32;
  static constexpr size_t kMaxArgBytes = 128;
  struct Entry {
    uint64_t id = 0;
    int64_t time = 0;  // unix seconds
    uint64_t us = 0;
    std::vector<std::string> args;
    std::string addr;
    std::string name;
  };
  // Adds an entry; `secret(i)` says which arguments to redact.
  void add(std::span<const std::string_view> args, uint64_t us,
           std::string_view addr, std::string_view name, size_t max_len,
           bool (*secret)(std::span<const std::string_view>, size_t));
  // The newest `count` entries, newest first.
  std::vector<Entry> latest(size_t count) const;
  size_t size() const;
  void reset();

 private:
  mutable std::mutex mu_;
  std::deque<Entry> entries_;  // newest at the front
  uint64_t next_id_ = 0;
};

// Latency events of one server (LATENCY): samples at or above
// latency-monitor-threshold milliseconds, the largest of each second, the
// last 160 seconds that had one. Thread-safe.
class LatencyMonitor {
 public:
  static constexpr size_t kHistory = 160;
  struct Sample {
    int64_t time = 0;  // unix seconds
    uint64_t ms = 0;
  };
  struct Event {
    std::string name;
    std::deque<Sample> history;  // oldest first
    uint64_t max = 0;            // since start or the event's reset
  };
  void add(std::string_view event, uint64_t ms, int64_t now_s);
  std::vector<Event> events() const;
  std::optional<Event> event(std::string_view name) const;
  // Forgets the events named (every event when none is): how many it had.
  size_t reset(std::span<const std::string_view> names);

 private:
  mutable std::mutex mu_;
  std::map<std::string, Event, std::less<>> events_;
};

// Whether args[i] is a password that logs must not show: AUTH's arguments,
// HELLO's after AUTH, ACL SETUSER's password rules and ACL SIGNUP's password.
bool secret_argument(std::span<const std::string_view> args, size_t i);

}  // namespace cmud::server
