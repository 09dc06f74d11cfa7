// World: a deterministic simulation of many actor systems (FoundationDB's
// sim2, CAF's deterministic fixture). Every system of a test cluster runs on
// a Host this world makes: one thread (the caller of run_until), virtual
// time, and a simulated network that delays, drops, partitions and keeps
// order within a pair of systems only. Every choice (which ready worker runs
// next, each message's latency, each drop) is drawn from one seed, so a run
// replays exactly.
//
//   sim::World world(seed);
//   actor::SystemConfig c;
//   c.runtime_host = world.host("10.0.0.1:7000", /*workers=*/2);
//   auto sys = actor::System::create(std::move(c));
//   ... spawn actors, tell ...
//   world.run_until(world.now_ms() + 60'000);
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "cmud/actor/host.h"
#include "cmud/actor/message.h"
#include "cmud/sim/disk.h"

namespace cmud::sim {

// Every random choice of a run comes from here (splitmix64: small, fast,
// and the same on every platform, unlike std's distributions).
// Thread-compatible.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  // Uniform in [0, n); 0 when n is 0.
  uint64_t below(uint64_t n) { return n == 0 ? 0 : next() % n; }
  // Uniform in [lo, hi].
  int64_t between(int64_t lo, int64_t hi) {
    return lo + static_cast<int64_t>(below(static_cast<uint64_t>(hi - lo) + 1));
  }
  // True with probability p.
  bool chance(double p) {
    return static_cast<double>(next() >> 11) * 0x1.0p-53 < p;
  }

 private:
  uint64_t state_;
};

// How the simulated network treats a message. Changeable at any time.
struct NetworkOptions {
  // One-way latency, drawn per message; messages of one ordered pair of
  // systems still arrive in the order sent (as over one TCP connection),
  // those of different pairs in any order.
  int64_t latency_min_ms = 1;
  int64_t latency_max_ms = 10;
  // Chance that a message is lost (each lost message is one the runtime's
  // at-most-once contract allows to lose: a reset connection).
  double drop = 0;
};

// What the network carried; for checkers.
struct Delivery {
  const std::string& from;
  const std::string& to;
  const actor::Message& msg;
};

class SimHost;

// Thread-compatible: one thread drives it, and every host it made runs on
// that thread.
class World {
 public:
  // Wall clocks start here (2027-01-15), plus each host's offset.
  static constexpr uint64_t kEpochMs = 1'800'000'000'000;

  explicit World(uint64_t seed);
  ~World();
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  int64_t now_ms() const { return now_; }
  Rng& rng() { return rng_; }
  NetworkOptions& network() { return net_; }

  // A host for one system at `address` with `workers` workers. One live
  // host per address: a crashed system (its System destroyed) may be
  // started again at the same address with a new host.
  std::shared_ptr<actor::Host> host(const std::string& address, size_t workers);
  // The wall clock of the host at `address` reads kEpochMs + now +
  // offset; may be changed at any time (a clock that jumps).
  void set_clock_offset(const std::string& address, int64_t offset_ms);
  int64_t clock_offset(const std::string& address) const;

  // The disk of the server at `address`: it outlives the server's crashes
  // (every stop of a simulated host is a crash, see Disk).
  Disk& disk(const std::string& address);
  // What the host at `address` reads and writes: its disk, unless `files`
  // (not owned; null restores the disk) wraps it to inject faults below it.
  void set_files(const std::string& address, FileSystem* files);
  FileSystem& files(const std::string& address);

  // Messages between a and b (both ways) are lost until healed.
  void partition(const std::string& a, const std::string& b);
  void heal(const std::string& a, const std::string& b);
  void heal_all();
  bool partitioned(const std::string& a, const std::string& b) const;

  // Called for every message the network delivers, before delivery.
  void on_deliver(std::function<void(const Delivery&)> f) {
    on_deliver_ = std::move(f);
  }

  // Runs fn at time t (not on any worker; it may create or destroy
  // systems). REQUIRES: t >= now_ms().
  void at(int64_t t, std::function<void()> fn);
  // Runs every task and timer due up to time t, then sets the time to t.
  // Returns false if it stopped early at the event limit (a livelock).
  bool run_until(int64_t t, uint64_t max_events = 50'000'000);

  uint64_t events() const { return events_; }
  uint64_t messages_sent() const { return sent_; }
  uint64_t messages_dropped() const { return dropped_; }

 private:
  friend class SimHost;
  using Task = std::function<void()>;
  struct Timer {
    int64_t at;
    uint64_t tiebreak;
    uint64_t seq;
    uint64_t host;  // 0: a world task
    size_t worker;
    Task task;
    bool operator>(const Timer& o) const {
      if (at != o.at) return at > o.at;
      if (tiebreak != o.tiebreak) return tiebreak > o.tiebreak;
      return seq > o.seq;
    }
  };
  struct Worker {
    uint64_t host = 0;
    std::queue<Task> tasks;
    bool listed = false;  // in ready_
  };

  void post(uint64_t host, size_t worker, Task task);
  void post_after(uint64_t host, size_t worker, int64_t delay, Task task);
  void send(const SimHost& from, const std::string& to, uint64_t target,
            const actor::Message& msg);
  void remove(uint64_t host);
  void push_timer(int64_t at, uint64_t host, size_t worker, Task task,
                  std::optional<uint64_t> tiebreak = std::nullopt);

  Rng rng_;
  NetworkOptions net_;
  int64_t now_ = 0;
  uint64_t seq_ = 0;
  uint64_t next_host_ = 1;
  uint64_t events_ = 0;
  uint64_t sent_ = 0;
  uint64_t dropped_ = 0;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_;
  std::unordered_map<uint64_t, SimHost*> hosts_;       // live, by id
  std::unordered_map<std::string, uint64_t> by_addr_;  // live, by address
  std::map<std::string, int64_t> offsets_;
  std::map<std::string, std::unique_ptr<Disk>> disks_;
  std::map<std::string, FileSystem*> files_;  // set_files
  std::set<std::pair<std::string, std::string>> cut_;
  // When the last message of each ordered pair arrives, and its tiebreak:
  // one arriving at the same time shares it, so that seq keeps them in
  // order.
  std::map<std::pair<std::string, std::string>, std::pair<int64_t, uint64_t>>
      last_arrival_;
  // Workers with tasks ready now; one is drawn at random per step.
  std::vector<Worker*> ready_;
  std::function<void(const Delivery&)> on_deliver_;
};

}  // namespace cmud::sim
