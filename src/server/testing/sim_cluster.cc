#include "sim_cluster.h"

#include <cinttypes>
#include <cstdio>

#include <spdlog/spdlog.h>
#include <algorithm>
#include <ctime>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <tuple>
#include <unordered_map>

#include "acl.h"
#include "cmud/actor/system.h"
#include "cmud/kv/counter.h"
#include "cmud/sim/world.h"
#include "messages.h"
#include "pubsub.h"
#include "query_wire.h"
#include "replicas.h"

namespace cmud::server::sim {
namespace {

using actor::ActorRef;
using actor::Message;

constexpr struct {
  const char* name;
  Fault bit;
} kFaultNames[] = {{"jitter", kJitter},
                   {"skew", kSkew},
                   {"drop", kDrop},
                   {"partition", kPartition},
                   {"crash", kCrash}};

// Versions a replica may hold back (kv::admit) in the simulation: below
// the skew the faults inject, so the hold path runs.
constexpr uint64_t kMaxSkewMs = 2000;
// The end of the settle time in which traffic between servers is checked,
// and its bound.
constexpr int64_t kIdleWindowMs = 10000;
constexpr double kMaxIdleBytesPerSec = 1000;
constexpr int64_t kIdleAfterMs = 2000;  // after the last entries crossed
// Shorter windows measure a burst: right after entries crossed, or a
// tombstone was freed, each pair's rounds are still at every second
// (they back off to every 8 s).
constexpr int64_t kMinIdleWindowMs = 4000;
constexpr int64_t kSkewMs = 5000;
// SyncOptions::unknown_source_margin: two servers' clocks may differ by
// twice the injected skew.
constexpr int64_t kUnknownSourceMarginMs = 2 * kSkewMs + 2000;
// SyncOptions::gc_grace: longer than any server stays down or cut off in
// the fault schedule, so that no acknowledged write is refused for coming
// back late.
constexpr int64_t kGcGraceMs = 20000;
// SyncOptions::member_timeout, which the servers keep.
constexpr int64_t kMemberTimeoutMs = 5000;
// What the simulated subscribers listen to.
constexpr std::string_view kChannel = "chat";
constexpr std::string_view kChannelPattern = "ch*";

struct Ver {
  uint64_t hlc = 0;
  uint64_t origin = 0;
  auto operator<=>(const Ver&) const = default;
};

std::string str(const Ver& v) {
  return std::to_string(v.hlc >> 16) + "." + std::to_string(v.hlc & 0xffff) +
         "/" + std::to_string(v.origin % 100000);
}

struct Item {
  std::string key;
  std::string value;
  Ver v;
  bool deleted = false;
  std::string meta;  // a counter's state
  uint64_t expire_at = 0;
  Ver expire_v;  // the version of the expiry (the write's when none)
  bool operator==(const Item&) const = default;
};

// The version an item beats others by: its own, but for a counter on the
// floor, which may have been started where its key was gone and then beats
// a dead entry older than its stamp (kv::Store::apply): its expiry's
// version (stamp, or a later expiry).
Ver effective(const Item& e, const Ver& floor) {
  return !e.meta.empty() && e.v == floor && e.v < e.expire_v ? e.expire_v : e.v;
}

std::string str(const Item& e) {
  std::string s =
      e.key + (e.deleted ? " deleted" : "=" + e.value) + " @" + str(e.v);
  if (e.expire_at != 0 || e.expire_v != e.v) {
    s += " expires " + std::to_string(e.expire_at) + " @" + str(e.expire_v);
  }
  return s;
}

bool parse_items(uint32_t count, std::string_view bytes,
                 std::vector<Item>& out) {
  codec::Reader r(bytes);
  for (uint32_t i = 0; i < count; ++i) {
    kv::EntryView e;
    if (!kv::read_entry(r, e)) return false;
    kv::Expiry x = e.expiry.value_or(kv::Expiry{0, e.version()});
    out.push_back(Item{std::string(e.key), std::string(e.value),
                       Ver{e.hlc, e.origin}, e.deleted, std::string(e.meta),
                       x.at_ms, Ver{x.version.hlc, x.version.origin}});
  }
  return true;
}

// One client operation and what came back so far.
struct Op {
  enum Kind { kSet, kDel, kGet, kFlush, kIncr, kExpire, kPublish } kind = kGet;
  size_t node = 0;
  uint64_t generation = 0;
  size_t actor = 0;
  std::string key;
  std::string value;
  bool replied = false;  // the QueryReply arrived
  std::optional<std::string> got;
  int64_t total = 0;  // INCR's answer
  // kIncr: empty for INCR; else INCRBYFLOAT's increment (its answer: got).
  std::string increment;
  // kSet: a TTL (PX); kExpire: PEXPIRE's (0: PERSIST).
  uint64_t ttl_ms = 0;
};

// An EXPIRE or PERSIST the client saw take effect (answer 1): the version
// its expiry took.
struct AckedExpiry {
  std::string key;
  Ver v;
  Ver value_v;  // of the value it was set on
  size_t node = 0;
  uint64_t generation = 0;
  int64_t at_ms = 0;
};

// An INCR the client saw acknowledged: the counter's state (its base
// version and every part) right after it, on the replica that took it.
struct AckedIncr {
  std::string key;
  Ver base;
  kv::Counter state;
  size_t node = 0;
  uint64_t generation = 0;
  int64_t at_ms = 0;
};

// A write (or, with `flush`, a FLUSHALL: the floor it raised) the client saw
// acknowledged, with the version it took.
struct Acked {
  std::string key;
  bool deleted = false;
  bool flush = false;
  Ver v;
  size_t node = 0;
  uint64_t generation = 0;
  int64_t at_ms = 0;
};

// A PUBLISH: who sent it (server, start, actor), its number among that
// publisher's, and whether and when it was acknowledged.
struct Published {
  size_t node = 0;
  uint64_t generation = 0;
  size_t actor = 0;
  uint64_t seq = 0;
  int64_t at_ms = 0;
  bool acked = false;
};

// The clients subscribed on one server (one start of it): one to the
// channel, one to a pattern that matches it. Records what each is handed.
class SimSubscriber final : public PubSub::Subscriber {
 public:
  void deliver(std::string_view pattern,
               const std::shared_ptr<const PubSubMessage>& m) override {
    got.emplace_back(std::string(pattern), m->message);
  }
  std::vector<std::pair<std::string, std::string>> got;
};

struct Node {
  std::string address;
  uint64_t generation = 0;          // bumped at every start
  std::shared_ptr<PubSub> pubsub;   // this start's
  std::shared_ptr<acl::Table> acl;  // this start's users
  std::unique_ptr<actor::System> system;
  std::vector<ActorRef> queries;
  std::set<uint64_t> incarnations;  // every one it started as
  std::vector<int64_t> crashed_ms;  // when generation g + 1 crashed
  bool up() const { return system != nullptr; }
};

// One seed's cluster, workload, faults and checkers. Thread-compatible: it
// and every system it starts run on the thread that calls run().
class Cluster {
 public:
  explicit Cluster(const SimOptions& o) : o_(o), world_(o.seed) {
    for (size_t i = 0; i < o.servers; ++i) {
      Node n;
      n.address = "10.0.0." + std::to_string(i + 1) + ":7000";
      index_[n.address] = i;
      nodes_.push_back(std::move(n));
    }
    world_.on_deliver([this](const cmud::sim::Delivery& d) { delivered(d); });
  }

  SimResult run();

 private:
  cmud::sim::Rng& rng() { return world_.rng(); }
  int64_t now() const { return world_.now_ms(); }
  void note(const std::string& what) {
    if (o_.trace)
      result_.trace.push_back(std::to_string(now()) + " ms: " + what);
  }
  void fail(const std::string& checker, const std::string& detail) {
    if (result_.failures.size() < 20) {
      result_.failures.push_back("[" + checker + "] " + detail);
    }
    note("FAILED [" + checker + "] " + detail);
  }

  void start(size_t i);
  void crash(size_t i);
  // CLUSTER FORGET of crashed server i on a random server that is up.
  void forget(size_t i);
  void check_rate(const Node& n);
  void schedule_faults();
  void next_op();
  void issue(std::shared_ptr<Op> op);
  void on_query_reply(const std::shared_ptr<Op>& op, Result<Message> m);
  void on_entries(const std::shared_ptr<Op>& op, Result<Message> m);
  void seen(const Op& op, const Item* e, const Ver& floor, uint64_t horizon);
  // Checker (g): a replica that claims to hold every write below
  // `complete` holds each acknowledged one of `key` (made by a server start
  // that is still up) or a newer version, or its floor passed it.
  // Only writers the replica's coordinator heard from (a while ago, so
  // that its actors know them) count: one that never reached it is not
  // among its sources (SyncOptions::unknown_source_margin covers those only
  // for a while).
  // A replica may lack the key when its tombstone, newer than the write,
  // was collected below the replica's horizon (`horizon`).
  void check_complete(size_t node, const std::string& where, uint64_t complete,
                      const std::string& key, const Item* e, const Ver& floor,
                      uint64_t horizon);
  // How far a claim (a version; 0: none) trails the simulated clock, kept
  // in `worst` as the largest so far, or -1 once one replica had none.
  void worst_lag(uint64_t hlc, int64_t& worst) const;
  // A counter on the floor shown after a newer version of its key was
  // freed here, begun after it (seen()).
  bool begun_where_freed(const std::string& key, const Item& e,
                         const Ver& floor, const Ver& shown,
                         uint64_t horizon) const;
  // SimResult::traffic_end_horizon_lag_ms and tombstones_collected_in_traffic.
  void sample_traffic_end();
  void acked(Acked a) {
    if (a.deleted) dead(a.key, a.v, 0);
    acked_by_key_[a.key].push_back(acked_.size());
    acked_.push_back(std::move(a));
  }
  // Tombstone collection. Records a state of `key` that was dead (deleted,
  // or expiring at expire_at) at versions up to `top`, seen anywhere.
  void dead(const std::string& key, const Ver& top, uint64_t expire_at) {
    auto [it, fresh] = dead_[key].try_emplace(top, expire_at);
    if (!fresh) it->second = std::min(it->second, expire_at);
  }
  void dead(const kv::EntryView& e) {
    if (!e.deleted && !(e.expiry && e.expiry->at_ms != 0)) return;
    Ver top = e.expiry ? Ver{e.expiry->version.hlc, e.expiry->version.origin}
                       : Ver{e.hlc, e.origin};
    dead(std::string(e.key), top, e.deleted ? 0 : e.expiry->at_ms);
  }
  void dead(const Item& e) {
    if (e.deleted || e.expire_at != 0) {
      dead(e.key, e.expire_v, e.deleted ? 0 : e.expire_at);
    }
  }
  // A tombstone, or expired by the latest clock of any replica.
  bool is_dead(const Item& e) const {
    return e.deleted || (e.expire_at != 0 && e.expire_at <= latest_clock());
  }
  uint64_t latest_clock() const {
    return cmud::sim::World::kEpochMs + static_cast<uint64_t>(now()) +
           2 * kSkewMs;
  }
  // Whether a replica whose horizon is `horizon` may lack `key` because a
  // tombstone that passed version `v` was freed, there or (learned by
  // repair) anywhere: a dead state of the key seen at a version in [v,
  // the greater horizon) (dead by now, if by expiry).
  bool collected(const std::string& key, const Ver& v, uint64_t horizon) const {
    horizon = std::max(horizon, collected_below_);
    auto it = dead_.find(key);
    if (it == dead_.end()) return false;
    for (auto d = it->second.lower_bound(v);
         d != it->second.end() && d->first.hlc < horizon; ++d) {
      if (d->second <= latest_clock()) return true;
    }
    return false;
  }
  void delivered(const cmud::sim::Delivery& d);
  void final_checks();
  // At most once, in order per publisher, and (without lossy faults)
  // every message on every server.
  void check_pubsub();
  static std::string publish_text(size_t node, uint64_t generation,
                                  size_t actor, uint64_t seq) {
    return "s" + std::to_string(node + 1) + "g" + std::to_string(generation) +
           "a" + std::to_string(actor) + "#" + std::to_string(seq);
  }
  // Whether a write acknowledged by (node, generation) at at_ms may be lost
  // to its server's crash, under the durability the run asks for.
  bool crash_may_lose(size_t node, uint64_t generation, int64_t at_ms) const;
  static std::string holder_key(std::string_view key, uint64_t hlc,
                                uint64_t origin) {
    std::string k(key);
    k.append(reinterpret_cast<const char*>(&hlc), sizeof hlc);
    k.append(reinterpret_cast<const char*>(&origin), sizeof origin);
    return k;
  }

  // Who may remember server i's address: one that is up and whose
  // coordinator heard from it (in its current start, or in any start when
  // durable: the members file keeps it).
  std::pair<size_t, uint64_t> knower(size_t node) const {
    return {node, o_.durable ? 0 : nodes_[node].generation};
  }
  bool known_by_a_member(size_t i) const {
    for (size_t j = 0; j < nodes_.size(); ++j) {
      if (j == i || !nodes_[j].up()) continue;
      auto it = knows_.find(knower(j));
      if (it != knows_.end() && it->second.contains(nodes_[i].address)) {
        return true;
      }
    }
    return false;
  }

  const SimOptions o_;
  cmud::sim::World world_;
  std::vector<Node> nodes_;
  std::map<std::string, size_t> index_;
  SimResult result_;
  int64_t traffic_end_ = 0;
  int64_t lull_from_ = 0, lull_to_ = 0;  // no ops between (SimOptions::lulls)
  uint64_t op_seq_ = 0;
  uint64_t del_seq_ = 0;
  std::vector<Acked> acked_;
  std::unordered_map<std::string, std::vector<size_t>> acked_by_key_;
  // When each server start (node, generation) first heard from each other
  // one, directly.
  std::map<std::pair<std::pair<size_t, uint64_t>, std::pair<size_t, uint64_t>>,
           int64_t>
      heard_at_;
  std::vector<AckedIncr> acked_incr_;
  std::vector<AckedExpiry> acked_expiry_;
  // What INCRs (1 each) and INCRBYFLOATs sent added up to, per key.
  std::map<std::string, long double> incr_issued_;
  // Pub/sub: every PUBLISH, how many each publisher (server, start, actor)
  // sent, and what each server start's subscribers were handed.
  std::vector<Published> published_;
  std::map<std::tuple<size_t, uint64_t, size_t>, uint64_t> publish_seq_;
  std::map<std::pair<size_t, uint64_t>, std::shared_ptr<SimSubscriber>>
      subscribers_;
  // Highest version each replica (node, generation, actor) has shown for
  // each key: it must never show an older one.
  std::map<std::tuple<size_t, uint64_t, size_t, std::string>, Ver> shown_;
  // Which servers (node, generation) a version reached over the network.
  std::unordered_map<std::string, std::vector<std::pair<size_t, uint64_t>>>
      holders_;
  // Addresses each server's coordinator heard from (see knower()).
  std::map<std::pair<size_t, uint64_t>, std::set<std::string>> knows_;
  // Servers a member forgot, and the generation forgotten: starts of them
  // are told to join until a member has heard from a later one.
  std::map<size_t, uint64_t> forgotten_;
  // The highest floor each server (node, generation) was sent.
  std::map<std::pair<size_t, uint64_t>, Ver> floor_reached_;
  // Bytes between each ordered pair of servers once the cluster should be
  // idle and converged (the last seconds of the settle time).
  // Entries still crossing then (held back by a replica whose clock is
  // behind, until it catches up: up to 2 * kSkewMs - kMaxSkewMs after the
  // last write) mean the cluster is not idle yet: the window starts a while
  // after the last of them.
  int64_t idle_from_ = INT64_MAX;
  int64_t last_entries_ms_ = 0;
  // Freeing tombstones changes the digests of one replica before another's
  // (each frees them as its horizon passes them): repair works until all
  // have. The idle window starts a while after the last.
  int64_t last_collected_ms_ = 0;
  // The highest horizon any replica freed tombstones below: a replica that
  // never held a key may learn its absence from one that freed it.
  uint64_t collected_below_ = 0;
  struct IdleMessage {
    int64_t at_ms = 0;
    std::pair<std::string, std::string> pair;
    size_t bytes = 0;
  };
  std::vector<IdleMessage> idle_messages_;
  // Final state per replica: dumps_[node][actor], and its floor.
  std::vector<std::vector<std::optional<std::vector<Item>>>> dumps_;
  std::vector<std::vector<Ver>> floors_;
  // The highest horizon a final read found (tombstones below it may be
  // gone anywhere).
  uint64_t final_horizon_ = 0;
  // Dead states seen of each key: by the version up to which they are
  // dead, the earliest expiry (0: deleted).
  std::unordered_map<std::string, std::map<Ver, uint64_t>> dead_;
};

void Cluster::start(size_t i) {
  Node& n = nodes_[i];
  ++n.generation;
  actor::SystemConfig c;
  c.runtime_host = world_.host(n.address, o_.actors);
  c.name = "sim-" + std::to_string(i + 1);
  c.on_error = [](const Status&) {};  // unreachable peers are routine here
  auto sys = actor::System::create(std::move(c));
  if (!sys.ok()) {
    fail("setup", "server " + n.address + ": " + sys.status().to_string());
    return;
  }
  n.system = std::move(sys).value();
  SyncOptions sync;
  // Every simulated server keeps its identity on its disk, which a crash
  // may tear: no start may reuse an incarnation.
  auto inc = next_incarnation(world_.disk(n.address), "/data");
  if (!inc.ok()) {
    fail("identity", "server " + n.address + ": " + inc.status().to_string());
    return;
  }
  if (!n.incarnations.insert(*inc).second) {
    fail("identity", "server " + n.address + " started twice as incarnation " +
                         std::to_string(*inc));
  }
  sync.incarnation = *inc;
  sync.admit.max_skew_ms = kMaxSkewMs;
  sync.unknown_source_margin =
      std::chrono::milliseconds(kUnknownSourceMarginMs);
  sync.gc_grace = std::chrono::milliseconds(kGcGraceMs);
  sync.on_collected = [this](size_t, uint64_t horizon) {
    last_collected_ms_ = now();
    collected_below_ = std::max(collected_below_, horizon);
  };
  // A dead state may have formed on each replica alone (a merge), never
  // crossing the network: it is seen as it goes.
  sync.on_freed = [this](const kv::Entry& e) {
    kv::Expiry x = e.expiry();
    dead(std::string(e.key()), Ver{x.version.hlc, x.version.origin},
         e.deleted() ? 0 : x.at_ms);
    return true;
  };
  // Declared before the system in Node: the actors using it go first.
  n.pubsub = std::make_shared<PubSub>();
  auto subscriber = std::make_shared<SimSubscriber>();
  n.pubsub->subscribe(subscriber.get(), kChannel);
  n.pubsub->psubscribe(subscriber.get(), kChannelPattern);
  subscribers_[{i, n.generation}] = subscriber;
  sync.pubsub = n.pubsub;
  n.acl = std::make_shared<acl::Table>();
  sync.acl = n.acl;
  sync.repair_interval = std::chrono::milliseconds(o_.repair_interval_ms);
  if (o_.durable) {
    sync.data_dir = "/data";
    sync.fsync = o_.skip_fsync ? durable::Fsync::kNo : *o_.durable;
    // Small, so that snapshots run (in the background) during faults.
    sync.log_rewrite_min_bytes = 16 << 10;
  }
  std::vector<std::string> join;
  std::vector<std::string> ports;
  // A restart is told whom to join only half the time: the members that
  // knew it must find it. When no member that is up knows it (it was
  // partitioned from them, and the ones that knew it restarted without a
  // data directory), it is told, as any operator would: a server nobody
  // knows that knows nobody cannot be found.
  // A forgotten server is known by nobody who would gossip to it.
  bool told = n.generation == 1 || rng().chance(0.5) || !known_by_a_member(i) ||
              forgotten_.contains(i);
  for (const auto& other : nodes_) {
    if (told && other.address != n.address) join.push_back(other.address);
  }
  for (size_t a = 0; a < o_.actors; ++a) {
    ports.push_back("10.0.0." + std::to_string(i + 1) + ":" +
                    std::to_string(7001 + a));
  }
  auto r = start_replicas(*n.system, std::move(ports), sync, std::move(join));
  if (!r.ok()) {
    fail("setup", "server " + n.address + ": " + r.status().to_string());
    return;
  }
  n.queries = r->queries;
  note("server " + std::to_string(i + 1) + " started (generation " +
       std::to_string(n.generation) + (told ? ")" : ", without --join)"));
}

void Cluster::check_rate(const Node& n) {
  uint64_t rate = n.system->stats().max_pair_msgs_per_sec;
  result_.max_pair_msgs_per_sec = std::max(result_.max_pair_msgs_per_sec, rate);
  if (rate > 10) {
    fail("rate", "server " + n.address + ": one actor sent another " +
                     std::to_string(rate) + " messages within one second");
  }
}

void Cluster::crash(size_t i) {
  Node& n = nodes_[i];
  check_rate(n);
  n.system.reset();  // memory lost; in-flight replies never come
  n.queries.clear();
  n.crashed_ms.resize(n.generation, now());
  ++result_.crashes;
  note("server " + std::to_string(i + 1) + " crashed");
}

void Cluster::forget(size_t i) {
  if (nodes_[i].up()) return;
  std::vector<size_t> up;
  for (size_t j = 0; j < nodes_.size(); ++j) {
    if (j != i && nodes_[j].up()) up.push_back(j);
  }
  if (up.empty()) return;
  Node& by = nodes_[up[rng().below(up.size())]];
  QueryRequest req;
  append_op(req, OpView::forget(nodes_[i].address));
  req.reply_to =
      by.system->completion_channel([this, i, gen = nodes_[i].generation,
                                     who = by.address](Result<Message> m) {
        if (!m.ok()) return;
        auto* r = m->as<QueryReply>();
        codec::Reader in(r ? std::string_view(r->results) : std::string_view());
        ResultView v;
        if (r == nullptr || r->count != 1 || !read_result(in, v)) {
          fail("protocol", "malformed reply to CLUSTER FORGET");
          return;
        }
        if (v.error()) {
          note("CLUSTER FORGET " + nodes_[i].address + " on " + who +
               " refused: " + std::string(*v.error()));
        } else if (!nodes_[i].up() && nodes_[i].generation == gen) {
          forgotten_[i] = gen;
          note("server " + std::to_string(i + 1) + " forgotten on " + who);
        }
      });
  by.system->tell(by.queries[0], std::move(req));
}

void Cluster::schedule_faults() {
  int64_t end = traffic_end_;
  unsigned f = o_.faults;
  world_.network().latency_min_ms = 1;
  world_.network().latency_max_ms = (f & kJitter) ? 300 : 5;
  if (f & kSkew) {
    for (const auto& n : nodes_) {
      world_.set_clock_offset(n.address, rng().between(-kSkewMs, kSkewMs));
    }
    for (int64_t t = rng().between(3000, 15000); t < end;
         t += rng().between(3000, 15000)) {
      world_.at(t, [this] {
        const auto& n = nodes_[rng().below(nodes_.size())];
        int64_t off = rng().between(-kSkewMs, kSkewMs);
        world_.set_clock_offset(n.address, off);
        note("clock of " + n.address + " jumps to offset " +
             std::to_string(off) + " ms");
      });
    }
  }
  if (f & kDrop) {
    for (int64_t t = rng().between(1000, 8000); t < end;
         t += rng().between(3000, 10000)) {
      int64_t len = rng().between(500, 5000);
      world_.at(t, [this, len] {
        double p = 0.05 + static_cast<double>(rng().below(45)) / 100;
        world_.network().drop = p;
        note("network drops " + std::to_string(int(p * 100)) + "% for " +
             std::to_string(len) + " ms");
      });
      world_.at(std::min(t + len, end), [this] { world_.network().drop = 0; });
    }
  }
  if ((f & kPartition) && nodes_.size() > 1) {
    for (int64_t t = rng().between(1000, 8000); t < end;
         t += rng().between(3000, 12000)) {
      int64_t len = rng().between(500, 8000);
      world_.at(t, [this, len, end] {
        size_t a = rng().below(nodes_.size());
        size_t b = (a + 1 + rng().below(nodes_.size() - 1)) % nodes_.size();
        auto x = nodes_[a].address, y = nodes_[b].address;
        world_.partition(x, y);
        note("partition " + x + " | " + y + " for " + std::to_string(len) +
             " ms");
        world_.at(std::min(now() + len, end),
                  [this, x, y] { world_.heal(x, y); });
      });
    }
  }
  if ((f & kCrash) && nodes_.size() > 1) {
    for (int64_t t = rng().between(5000, 15000); t < end;
         t += rng().between(8000, 20000)) {
      int64_t down = rng().between(500, 6000);
      // Some stay down past the member timeout and are forgotten
      // (CLUSTER FORGET) before their next start.
      bool forgotten = rng().chance(0.25);
      if (forgotten) {
        down = rng().between(kMemberTimeoutMs + 3000, kMemberTimeoutMs + 8000);
      }
      world_.at(t, [this, down, end, forgotten] {
        size_t i = rng().below(nodes_.size());
        size_t up = 0;
        for (const auto& n : nodes_) up += n.up() ? 1 : 0;
        if (!nodes_[i].up() || up < 2) return;
        crash(i);
        if (forgotten) {
          world_.at(std::min(now() + kMemberTimeoutMs + 1500, end),
                    [this, i] { forget(i); });
        }
        world_.at(std::min(now() + down, end), [this, i] {
          if (!nodes_[i].up()) start(i);
        });
      });
    }
  }
  world_.at(end, [this] {
    sample_traffic_end();
    world_.heal_all();
    world_.network().drop = 0;
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (!nodes_[i].up()) start(i);
    }
    note("traffic ends; faults healed");
  });
}

void Cluster::sample_traffic_end() {
  // Every replica's horizon and what it freed, as the last writes go (a
  // read of no key: just the replica's figures). In an event the run has
  // anyway, so the run up to here is the same as without it.
  for (auto& n : nodes_) {
    if (!n.up()) continue;
    for (size_t a = 0; a < o_.actors; ++a) {
      ReadReplica read;
      read.reply_to = n.system->completion_channel([this](Result<Message> m) {
        if (!m.ok()) return;
        if (auto* r = m->as<ReplicaEntries>()) {
          worst_lag(r->horizon_hlc, result_.traffic_end_horizon_lag_ms);
          result_.tombstones_collected_in_traffic += r->collected;
        }
      });
      n.system->tell(n.queries[a], std::move(read));
    }
  }
}

void Cluster::next_op() {
  int64_t gap = std::max<int64_t>(
      1, static_cast<int64_t>(2000.0 / std::max(o_.ops_per_sec, 0.001)));
  int64_t t = now() + rng().between(1, gap);
  if (t >= lull_from_ && t < lull_to_) t = lull_to_;
  if (t >= traffic_end_) return;
  world_.at(t, [this] {
    std::vector<size_t> up;
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (nodes_[i].up()) up.push_back(i);
    }
    if (!up.empty()) {
      auto op = std::make_shared<Op>();
      op->node = up[rng().below(up.size())];
      op->generation = nodes_[op->node].generation;
      op->actor = rng().below(o_.actors);
      op->key = "k" + std::to_string(rng().below(o_.keys));
      uint64_t roll = rng().below(100);
      op->kind = roll < 35   ? Op::kSet
                 : roll < 45 ? Op::kDel
                 : roll < 50 ? Op::kExpire
                 : roll < 60 ? Op::kIncr
                 : roll < 65 ? Op::kPublish
                             : Op::kGet;
      // One SET in five has a TTL; one expiry op in three is a PERSIST.
      // TTLs are short, so keys expire during the run, and while faults
      // and clock jumps go on.
      if ((op->kind == Op::kSet && rng().below(5) == 0) ||
          (op->kind == Op::kExpire && rng().below(3) != 0)) {
        op->ttl_ms = 100 + rng().below(4000);
      }
      if (op->kind == Op::kIncr) {
        // A few counters of their own, so increments collide. One in three
        // is an INCRBYFLOAT: of 2.0 on the same counters (integer and float
        // parts merge; the total stays whole, so INCR goes on), or of a
        // fraction on counters of floats. Steps are exact in binary, so the
        // sums are exact.
        uint64_t pick = rng().below(6);
        op->key = "c" + std::to_string(rng().below(4));
        long double step = 1;
        if (pick == 0) {
          op->increment = "2.0";
          step = 2;
        } else if (pick == 1) {
          op->key = "f" + std::to_string(rng().below(2));
          op->increment = rng().below(2) == 0 ? "0.5" : "1.25";
          step = op->increment == "0.5" ? 0.5L : 1.25L;
        }
        incr_issued_[op->key] += step;
      }
      if (op->kind == Op::kExpire && rng().below(4) == 0) {
        op->key = "c" + std::to_string(rng().below(4));  // counters expire
      }
      // A clear every few seconds, racing the writes on other servers.
      if (op->kind == Op::kGet && o_.flush_one_in > 0 &&
          rng().below(std::max<uint64_t>(1, o_.flush_one_in * 40 / 100)) == 0) {
        op->kind = Op::kFlush;
      }
      if (op->kind == Op::kSet) op->value = "v" + std::to_string(++op_seq_);
      // One SET in 16 and one DEL in 8 write an ACL user instead: the
      // system key space replicates as any key does, but no clear takes
      // it (checkers b, c and g).
      if (op->kind == Op::kSet && op_seq_ % 16 == 0) {
        op->key = acl::record_key("u" + std::to_string(op_seq_ / 16 % 3));
        op->value = "on nopass ~k" + std::to_string(op_seq_) + " -@all +get";
        op->ttl_ms = 0;
      }
      if (op->kind == Op::kDel && ++del_seq_ % 8 == 0) {
        op->key = acl::record_key("u" + std::to_string(del_seq_ / 8 % 3));
      }
      if (op->kind == Op::kPublish) {
        uint64_t seq = ++publish_seq_[{op->node, op->generation, op->actor}];
        op->value = publish_text(op->node, op->generation, op->actor, seq);
        op->total = static_cast<int64_t>(published_.size());
        published_.push_back(
            {op->node, op->generation, op->actor, seq, now(), false});
      }
      issue(op);
    }
    next_op();
  });
}

// A request and, right behind it in the same mailbox, a read of the key's
// entry: nothing can come between them, so the entry shows what the op
// left (and a write's version).
void Cluster::issue(std::shared_ptr<Op> op) {
  Node& n = nodes_[op->node];
  const ActorRef& q = n.queries[op->actor];
  QueryRequest req;
  if (op->kind == Op::kSet && op->ttl_ms != 0) {
    append_op(req, OpView::set_with(op->key, op->value, OpView::kSetExpireIn,
                                    op->ttl_ms));
  } else if (op->kind == Op::kSet) {
    append_op(req, OpView::set(op->key, op->value));
  } else if (op->kind == Op::kExpire) {
    append_op(req,
              op->ttl_ms == 0
                  ? OpView::expire(op->key, OpView::kExpirePersist, 0)
                  : OpView::expire(op->key, OpView::kSetExpireIn, op->ttl_ms));
  } else if (op->kind == Op::kDel) {
    std::string_view k = op->key;
    append_op(req, OpView::del(std::span<const std::string_view>(&k, 1)));
  } else if (op->kind == Op::kFlush) {
    append_op(req, OpView::flush());
  } else if (op->kind == Op::kIncr) {
    append_op(req, op->increment.empty()
                       ? OpView::incr(op->key, 1)
                       : OpView::incr_float(op->key, op->increment));
  } else if (op->kind == Op::kPublish) {
    append_op(req, OpView::publish(kChannel, op->value));
  } else {
    append_op(req, OpView::get(op->key));
  }
  req.reply_to = n.system->completion_channel(
      [this, op](Result<Message> m) { on_query_reply(op, std::move(m)); });
  ReadReplica read;
  read.keys.push_back(op->key);
  read.reply_to = n.system->completion_channel(
      [this, op](Result<Message> m) { on_entries(op, std::move(m)); });
  n.system->tell(q, std::move(req));
  if (op->kind != Op::kPublish) n.system->tell(q, std::move(read));
}

void Cluster::on_query_reply(const std::shared_ptr<Op>& op, Result<Message> m) {
  if (!m.ok()) return;  // the server crashed: never acknowledged
  auto* r = m->as<QueryReply>();
  codec::Reader in(r ? std::string_view(r->results) : std::string_view());
  ResultView v;
  if (r == nullptr || r->count != 1 || !read_result(in, v)) {
    fail("protocol", "malformed reply to an op on " + op->key);
    return;
  }
  if (op->kind == Op::kGet && v.value()) op->got = std::string(*v.value());
  if (op->kind == Op::kPublish) {
    // Both subscriptions of the publisher's own server, at once.
    if (v.integer() != 2) {
      fail("pubsub-receivers",
           "PUBLISH on server " + std::to_string(op->node + 1) + " reached " +
               std::to_string(v.integer()) + " of its 2 subscriptions");
    }
    published_[static_cast<size_t>(op->total)].acked = true;
    return;
  }
  if (op->kind == Op::kExpire) op->total = v.integer();
  if (op->kind == Op::kIncr) {
    if (v.error()) {
      fail("incr", (op->increment.empty() ? "INCR " : "INCRBYFLOAT ") +
                       op->key + " answered " + std::string(*v.error()));
      return;
    }
    op->total = v.integer();
    if (v.value()) op->got = std::string(*v.value());
  }
  op->replied = true;
}

void Cluster::on_entries(const std::shared_ptr<Op>& op, Result<Message> m) {
  if (!m.ok() || !op->replied) return;
  auto* r = m->as<ReplicaEntries>();
  std::vector<Item> items;
  if (r == nullptr || !parse_items(r->count, r->entries, items) ||
      items.size() > 1) {
    fail("protocol", "malformed entries for " + op->key);
    return;
  }
  const Item* e = items.empty() ? nullptr : &items[0];
  Ver floor{r->floor_hlc, r->floor_origin};
  std::string where = "server " + std::to_string(op->node + 1) + " actor " +
                      std::to_string(op->actor);
  if (e != nullptr) dead(*e);
  check_complete(op->node, where, r->complete_hlc, op->key, e, floor,
                 r->horizon_hlc);
  check_complete(op->node, where + " (the cluster's horizon)", r->horizon_hlc,
                 op->key, e, floor, r->horizon_hlc);
  switch (op->kind) {
    case Op::kFlush: {
      // A clear takes effect where it was made: the key read right after
      // it is gone, and the floor it raised is newer than anything shown.
      if (e != nullptr) {
        fail("own-write", where + ": FLUSHALL acknowledged, but " + op->key +
                              " is still " + str(*e));
      }
      auto it = shown_.find({op->node, op->generation, op->actor, op->key});
      if (it != shown_.end() && !(it->second < floor)) {
        fail("own-write", where + ": FLUSHALL raised the floor to " +
                              str(floor) + ", not above " + str(it->second) +
                              " which the replica had shown");
      }
      ++result_.writes_acked;
      acked(
          Acked{op->key, false, true, floor, op->node, op->generation, now()});
      return;
    }
    case Op::kGet: {
      ++result_.reads;
      std::optional<std::string> want;
      if (e != nullptr && !e->deleted) want = e->value;
      // An expiry this replica's clock has passed hides it; so does one it
      // passed before its clock jumped back (the value was freed). The
      // read ran a moment before this check: near the edge, either holds.
      if (want && e->expire_at != 0) {
        uint64_t clock =
            cmud::sim::World::kEpochMs +
            static_cast<uint64_t>(
                now() + world_.clock_offset(nodes_[op->node].address));
        uint64_t at = e->expire_at;
        bool may_be_gone = at <= clock + 2 * kSkewMs;  // offsets: ±kSkewMs
        bool may_be_there = at + 1000 > clock;
        if ((!op->got && may_be_gone) || (op->got == want && may_be_there)) {
          want = op->got;
        }
      }
      if (op->got != want) {
        fail("read", where + ": GET " + op->key + " answered " +
                         op->got.value_or("(nil)") + " but the replica holds " +
                         (e ? str(*e) : "nothing"));
      }
      seen(*op, e, floor, r->horizon_hlc);
      return;
    }
    case Op::kExpire: {
      // Answered 1: the expiry took a version of its own, above anything
      // the replica had shown (the value's version stays).
      if (op->total != 1) {
        seen(*op, e, floor, r->horizon_hlc);
        return;
      }
      if (e == nullptr || !(e->v < e->expire_v) ||
          (op->ttl_ms == 0) != (e->expire_at == 0)) {
        fail("own-write", where + ": " +
                              (op->ttl_ms ? "PEXPIRE " : "PERSIST ") + op->key +
                              " answered 1, but the replica then " + "holds " +
                              (e ? str(*e) : "nothing"));
        return;
      }
      ++result_.writes_acked;
      acked_expiry_.push_back(AckedExpiry{op->key, e->expire_v, e->v, op->node,
                                          op->generation, now()});
      seen(*op, e, floor, r->horizon_hlc);
      return;
    }
    case Op::kIncr: {
      // It counts where it was made: the replica holds a counter whose
      // total is the answer.
      std::optional<kv::Counter> c;
      if (e != nullptr) c = kv::Counter::decode(e->meta);
      std::string answer = op->increment.empty() ? std::to_string(op->total)
                                                 : op->got.value_or("");
      if (!c || answer != e->value) {
        fail("own-write",
             where + ": " + (op->increment.empty() ? "INCR " : "INCRBYFLOAT ") +
                 op->key + " answered " + answer +
                 " but the replica then holds " + (e ? str(*e) : "nothing"));
        return;
      }
      ++result_.writes_acked;
      acked_incr_.push_back(AckedIncr{op->key, e->v, std::move(*c), op->node,
                                      op->generation, now()});
      seen(*op, e, floor, r->horizon_hlc);
      return;
    }
    case Op::kPublish:
      return;  // no entry is read after it (check_pubsub)
    case Op::kSet:
    case Op::kDel: {
      bool del = op->kind == Op::kDel;
      // A write must take effect where it was made: its version beats
      // everything this replica had shown (the hybrid clock's promise).
      if (e == nullptr || e->deleted != del ||
          (!del && e->value != op->value)) {
        fail("own-write", where + ": " + (del ? "DEL " : "SET ") + op->key +
                              (del ? "" : "=" + op->value) +
                              " acknowledged, but the replica then holds " +
                              (e ? str(*e) : "nothing"));
        return;
      }
      auto it = shown_.find({op->node, op->generation, op->actor, op->key});
      if (it != shown_.end() && !(it->second < e->v)) {
        fail("own-write", where + ": " + op->key + " written at " + str(e->v) +
                              ", not above " + str(it->second) +
                              " which the replica had shown");
      }
      ++result_.writes_acked;
      acked(Acked{op->key, del, false, e->v, op->node, op->generation, now()});
      seen(*op, e, floor, r->horizon_hlc);
      return;
    }
  }
}

// Checker (c): a replica never shows an older version of a key than it
// showed before; so a deleted key never comes back where it was deleted.
// A key may vanish only when a clear passed what it showed (`floor`).
void Cluster::seen(const Op& op, const Item* e, const Ver& floor,
                   uint64_t horizon) {
  auto k = std::make_tuple(op.node, op.generation, op.actor, op.key);
  auto it = shown_.find(k);
  if (e == nullptr) {
    // (No clear passes a user: it never vanishes.) Nor may it vanish but
    // for a tombstone newer than what it showed, collected.
    if (it != shown_.end() &&
        (!(it->second < floor) || kv::is_system_key(op.key)) &&
        (kv::is_system_key(op.key) ||
         !collected(op.key, it->second, horizon))) {
      fail("went-back", "server " + std::to_string(op.node + 1) + " actor " +
                            std::to_string(op.actor) + " lost " + op.key +
                            " after showing " + str(it->second));
    }
    return;
  }
  if (it == shown_.end()) {
    shown_.emplace(k, e->v);
  } else if (e->v < it->second && effective(*e, floor) < it->second &&
             !begun_where_freed(op.key, *e, floor, it->second, horizon)) {
    fail("went-back", "server " + std::to_string(op.node + 1) + " actor " +
                          std::to_string(op.actor) + " shows " + str(*e) +
                          " after showing version " + str(it->second));
  } else {
    it->second = e->v;
  }
}

// A key may vanish once a dead state of it newer than what was shown is
// freed (above); an INCR there then starts a counter on the floor, as on a
// key never written (a new start that knows no horizon yet does not stamp
// it, kv::Store). Its version is the floor's, older than what was shown,
// but it is a new history, not an old one back: its newest increment was
// made after what was shown.
bool Cluster::begun_where_freed(const std::string& key, const Item& e,
                                const Ver& floor, const Ver& shown,
                                uint64_t horizon) const {
  if (e.meta.empty() || e.deleted || !(e.v == floor)) return false;
  auto c = kv::Counter::decode(e.meta);
  return c && c->made() > shown.hlc && collected(key, shown, horizon);
}

void Cluster::worst_lag(uint64_t hlc, int64_t& worst) const {
  if (hlc == 0 || worst < 0) {
    worst = -1;  // a replica claims nothing: that is what is reported
    return;
  }
  int64_t lag = static_cast<int64_t>(cmud::sim::World::kEpochMs) + now() -
                static_cast<int64_t>(hlc >> 16);
  worst = std::max(worst, lag);
}

void Cluster::check_complete(size_t node, const std::string& where,
                             uint64_t complete, const std::string& key,
                             const Item* e, const Ver& floor,
                             uint64_t horizon) {
  auto it = acked_by_key_.find(key);
  if (complete == 0 || it == acked_by_key_.end()) return;
  for (size_t i : it->second) {
    const Acked& w = acked_[i];
    // A start that crashed, or was forgotten, is no longer a source.
    if (w.v.hlc >= complete || !nodes_[w.node].up() ||
        nodes_[w.node].generation != w.generation) {
      continue;
    }
    auto f = forgotten_.find(w.node);
    if (f != forgotten_.end() && f->second == w.generation) continue;
    if (w.node != node) {
      auto h = heard_at_.find(
          {{node, nodes_[node].generation}, {w.node, w.generation}});
      if (h == heard_at_.end() || now() - h->second < 2000) continue;
    }
    ++result_.complete_checked;
    if (w.flush
            ? !(floor < w.v)
            : (w.v < floor || (e != nullptr && !(effective(*e, floor) < w.v)) ||
               (e == nullptr && collected(key, w.v, horizon)))) {
      continue;
    }
    fail("complete", where + " claims every write below " +
                         str(Ver{complete, 0}) + " but lacks " +
                         (w.flush     ? "FLUSHALL"
                          : w.deleted ? "DEL "
                                      : "SET ") +
                         key + " @" + str(w.v) + " (acknowledged by server " +
                         std::to_string(w.node + 1) + " at " +
                         std::to_string(w.at_ms) + " ms); it holds " +
                         (w.flush ? "floor " + str(floor)
                          : e     ? str(*e)
                                  : std::string("nothing")));
    return;
  }
}

void Cluster::delivered(const cmud::sim::Delivery& d) {
  if (now() >= idle_from_) {
    idle_messages_.push_back({now(), {d.from, d.to}, d.msg.encoded_size()});
  }
  if (auto* b = d.msg.as<SyncBatch>(); b != nullptr && b->count > 0) {
    last_entries_ms_ = now();
  }

  auto to = index_.find(d.to);
  if (to == index_.end()) return;
  if (nodes_[to->second].up() &&
      (d.msg.as<Gossip>() != nullptr || d.msg.as<JoinRequest>() != nullptr ||
       d.msg.as<JoinReply>() != nullptr)) {
    // Its coordinator now knows the sender (and keeps it in its members
    // file when durable).
    knows_[knower(to->second)].insert(d.from);
    auto from = index_.find(d.from);
    if (from != index_.end() && nodes_[from->second].up()) {
      heard_at_.try_emplace({{to->second, nodes_[to->second].generation},
                             {from->second, nodes_[from->second].generation}},
                            now());
    }
    if (from != index_.end()) {
      auto f = forgotten_.find(from->second);
      if (f != forgotten_.end() && nodes_[f->first].generation > f->second) {
        forgotten_.erase(f);  // a later start is known again
      }
    }
  }
  auto* b = d.msg.as<SyncBatch>();
  if (b == nullptr) return;
  Ver& reached = floor_reached_[{to->second, nodes_[to->second].generation}];
  reached = std::max(reached, Ver{b->floor_hlc, b->floor_origin});
  codec::Reader r(b->entries);
  kv::EntryView e;
  for (uint32_t i = 0; i < b->count && kv::read_entry(r, e); ++i) {
    holders_[holder_key(e.key, e.hlc, e.origin)].emplace_back(
        to->second, nodes_[to->second].generation);
    dead(e);
  }
}

void Cluster::final_checks() {
  check_pubsub();
  // (d) pair rates, over the whole run.
  for (const auto& n : nodes_) {
    if (n.up()) check_rate(n);
  }
  // An idle, converged cluster keeps quiet: repair exchanges digests, not
  // data (a few hundred bytes a second per pair, gossip included).
  int64_t idle_start = std::max({idle_from_, last_entries_ms_ + kIdleAfterMs,
                                 last_collected_ms_ + kIdleAfterMs});
  int64_t idle_end = traffic_end_ + o_.settle_ms;
  double idle_s = static_cast<double>(idle_end - idle_start) / 1000;
  // Gossip carries each server's actors and ports, and every actor opens
  // its own rounds: the bound grows with the actors per server.
  double bound =
      kMaxIdleBytesPerSec * std::max(1.0, static_cast<double>(o_.actors) / 4);
  std::map<std::pair<std::string, std::string>, uint64_t> idle_bytes;
  for (const auto& m : idle_messages_) {
    if (m.at_ms >= idle_start && m.at_ms < idle_end) {
      idle_bytes[m.pair] += m.bytes;
    }
  }
  // Too short a quiet end to measure: checked on the other seeds.
  if (idle_end - idle_start < kMinIdleWindowMs) {
    idle_bytes.clear();
  } else {
    result_.idle_checked = true;
  }
  for (const auto& [pair, bytes] : idle_bytes) {
    double rate = static_cast<double>(bytes) / idle_s;
    if (rate > bound) {
      fail("idle", pair.first + " sent " + pair.second + " " +
                       std::to_string(static_cast<int>(rate)) +
                       " bytes/s while idle and converged (at most " +
                       std::to_string(static_cast<int>(bound)) + ")");
    }
  }
  // (a) every replica of every server holds the same floor (merged by max,
  // so all agree once converged) and the same entries.
  for (size_t i = 0; i < nodes_.size(); ++i) {
    for (size_t a = 0; a < o_.actors; ++a) {
      if (dumps_[i][a] && floors_[i][a] != floors_[0][0]) {
        fail("converged", "server " + std::to_string(i + 1) + " actor " +
                              std::to_string(a) + " has floor " +
                              str(floors_[i][a]) + ", server 1 actor 0 " +
                              str(floors_[0][0]));
      }
    }
  }
  // Tombstones below the highest horizon may be freed on one replica and
  // not yet on another: they are left out of the comparison (their keys
  // are checked below, as any acknowledged write's).
  for (auto& per_node : dumps_) {
    for (auto& d : per_node) {
      if (!d) continue;
      std::erase_if(*d, [&](const Item& e) {
        return is_dead(e) && e.expire_v.hlc < final_horizon_ &&
               !kv::is_system_key(e.key);
      });
    }
  }
  const std::vector<Item>* first = nullptr;
  Ver first_floor;
  std::string first_name;
  for (size_t i = 0; i < nodes_.size(); ++i) {
    for (size_t a = 0; a < o_.actors; ++a) {
      std::string name =
          "server " + std::to_string(i + 1) + " actor " + std::to_string(a);
      if (!dumps_[i][a]) {
        fail("converged", name + " did not answer the final read");
        continue;
      }
      const auto& d = *dumps_[i][a];
      if (first == nullptr) {
        first = &d;
        first_floor = floors_[i][a];
        first_name = name;
        continue;
      }
      if (d == *first) continue;
      std::map<std::string, std::pair<std::string, std::string>> diff;
      for (const auto& e : *first) diff[e.key].first = str(e);
      for (const auto& e : d) diff[e.key].second = str(e);
      size_t n = 0;
      std::string example;
      for (const auto& [k, p] : diff) {
        if (p.first == p.second) continue;
        if (++n == 1) {
          example = k + ": " + (p.first.empty() ? "nothing" : p.first) +
                    " vs " + (p.second.empty() ? "nothing" : p.second);
        }
      }
      fail("converged", std::to_string(o_.settle_ms) +
                            " ms after faults healed, " + name +
                            " differs from " + first_name + " in " +
                            std::to_string(n) + " keys, e.g. " + example);
    }
  }
  if (first == nullptr) return;
  // (b) an acknowledged write is never lost unless a later version replaced
  // it or a clear passed it, or every server that held it crashed: in
  // memory only, at any time; durable with everysec, its own server within
  // kEverySecLossMs of the acknowledgement; durable with always, never. The
  // same holds for a clear: the final floor is at least its version.
  std::map<std::string, const Item*> final_by_key;
  for (const auto& e : *first) final_by_key[e.key] = &e;
  size_t lost = 0;
  for (const auto& w : acked_) {
    auto it = final_by_key.find(w.key);
    if (w.flush) {
      if (!(first_floor < w.v)) continue;
    } else {
      // cleared (but users: no clear takes them)
      if (w.v < first_floor && !kv::is_system_key(w.key)) continue;
      if (it != final_by_key.end() &&
          !(effective(*it->second, first_floor) < w.v)) {
        continue;
      }
      // a newer tombstone, collected
      if (it == final_by_key.end() && collected(w.key, w.v, final_horizon_)) {
        continue;
      }
    }
    bool excused = crash_may_lose(w.node, w.generation, w.at_ms);
    if (excused && w.flush) {
      for (const auto& [server, floor] : floor_reached_) {
        if (nodes_[server.first].generation == server.second &&
            !(floor < w.v)) {
          excused = false;
        }
      }
    } else if (excused) {
      auto h = holders_.find(holder_key(w.key, w.v.hlc, w.v.origin));
      if (h != holders_.end()) {
        for (auto [node, gen] : h->second) {
          if (nodes_[node].generation == gen) excused = false;
        }
      }
    }
    if (excused) continue;
    if (++lost > 3) continue;
    if (w.flush) {
      fail("flush-lost", "FLUSHALL @" + str(w.v) + " acknowledged by server " +
                             std::to_string(w.node + 1) + " at " +
                             std::to_string(w.at_ms) +
                             " ms, but the final floor is " + str(first_floor));
      continue;
    }
    fail(w.deleted ? "deleted-came-back" : "acked-lost",
         std::string(w.deleted ? "DEL " : "SET ") + w.key + " @" + str(w.v) +
             " acknowledged by server " + std::to_string(w.node + 1) + " at " +
             std::to_string(w.at_ms) + " ms, but the final state " + "holds " +
             (it == final_by_key.end() ? "nothing" : str(*it->second)));
  }
  // (e) counters. An acknowledged INCR's state (every part it held) is in
  // the final counter unless a newer write or a clear replaced its base,
  // or its server crashed and the run's durability allows the loss. And a
  // counter never counts more increments than were sent to its key.
  lost = 0;
  for (const auto& w : acked_incr_) {
    if (w.base < first_floor) continue;  // cleared
    auto it = final_by_key.find(w.key);
    const Item* f = it == final_by_key.end() ? nullptr : it->second;
    // a newer base; or a counter started on the floor again after this
    // one died (expired or deleted, and freed)
    if (f != nullptr && f->v != w.base && w.base < effective(*f, first_floor)) {
      continue;
    }
    if (f != nullptr && f->v == w.base && effective(*f, first_floor) != f->v &&
        collected(w.key, w.base, final_horizon_)) {
      continue;
    }
    // Collected, or dead below the horizon: its parts no longer matter
    // (and may differ between the replicas that still hold it).
    if ((f == nullptr || (is_dead(*f) && f->expire_v.hlc < final_horizon_)) &&
        collected(w.key, w.base, final_horizon_)) {
      continue;
    }
    std::optional<kv::Counter> got;
    if (f != nullptr && f->v == w.base) got = kv::Counter::decode(f->meta);
    if (got && !got->merge(w.state)) continue;  // holds all of it
    if (crash_may_lose(w.node, w.generation, w.at_ms)) continue;
    if (++lost > 3) continue;
    fail("incr-lost",
         "INCR " + w.key + " (total " + w.state.text() + ", base @" +
             str(w.base) + ") acknowledged by server " +
             std::to_string(w.node + 1) + " at " + std::to_string(w.at_ms) +
             " ms, but the final state holds " +
             (f == nullptr ? "nothing" : str(*f)));
  }
  // (f) an expiry (EXPIRE, PERSIST) that took effect stays unless a later
  // one replaced it (a SET's own included) or a clear took its key.
  lost = 0;
  for (const auto& w : acked_expiry_) {
    if (w.value_v < first_floor) continue;  // cleared
    auto it = final_by_key.find(w.key);
    const Item* f = it == final_by_key.end() ? nullptr : it->second;
    if (f != nullptr && !(f->expire_v < w.v)) continue;
    if (f == nullptr && collected(w.key, w.v, final_horizon_)) continue;
    if (crash_may_lose(w.node, w.generation, w.at_ms)) continue;
    if (++lost > 3) continue;
    fail("expiry-lost",
         "an expiry of " + w.key + " @" + str(w.v) +
             " acknowledged by server " + std::to_string(w.node + 1) + " at " +
             std::to_string(w.at_ms) + " ms, but the final state holds " +
             (f == nullptr ? "nothing" : str(*f)));
  }
  // (g) users: every server's ACL table holds what the replicas' records
  // say (the last writer's rules, or nothing for a deleted user).
  for (size_t i = 0; i < nodes_.size(); ++i) {
    if (!nodes_[i].up()) continue;
    for (const auto& e : *first) {
      auto name = acl::record_name(e.key);
      if (!name) continue;
      std::string want;
      if (!e.deleted) {
        auto u = acl::parse_user(std::string(*name), e.value);
        if (!u.ok()) fail("acl", "unreadable " + str(e));
        want = u.ok() ? u->describe() : "";
      }
      auto got = nodes_[i].acl->find(*name);
      if ((got ? got->describe() : "") != want) {
        fail("acl", "server " + std::to_string(i + 1) + " has user " +
                        std::string(*name) + " as '" +
                        (got ? got->describe() : "nothing") +
                        "', its replica " + str(e));
      }
    }
  }
  for (const auto& e : *first) {
    if (e.meta.empty()) continue;
    auto c = kv::Counter::decode(e.meta);
    long double sent = incr_issued_[e.key];
    if (!c || c->text() != e.value ||
        c->float_total() - c->base_value() > sent) {
      fail("incr-overcount", str(e) + " after increments adding up to " +
                                 kv::float_text(sent) + " were sent");
    }
  }
}

void Cluster::check_pubsub() {
  // What each publisher sent, by its text.
  std::map<std::string, const Published*> by_text;
  for (const auto& p : published_) {
    by_text[publish_text(p.node, p.generation, p.actor, p.seq)] = &p;
  }
  // Messages published before this, or while servers may drop, cut off
  // or restart, may miss a server (at most once); the rest may not.
  constexpr int64_t kFormedMs = 2000;
  bool lossless = (o_.faults & (kDrop | kPartition | kCrash)) == 0;
  for (const auto& [start, sub] : subscribers_) {
    std::string where = "server " + std::to_string(start.first + 1) +
                        " (start " + std::to_string(start.second) + ")";
    // (subscription, publisher) -> the last number handed out.
    std::map<std::pair<std::string, std::tuple<size_t, uint64_t, size_t>>,
             uint64_t>
        last;
    std::set<std::pair<std::string, const Published*>> got;
    for (const auto& [pattern, text] : sub->got) {
      auto it = by_text.find(text);
      if (it == by_text.end()) {
        fail("pubsub-invented",
             where + " was handed " + text + ", which nobody published");
        continue;
      }
      const Published& p = *it->second;
      uint64_t& prev = last[{pattern, {p.node, p.generation, p.actor}}];
      if (p.seq <= prev) {
        fail("pubsub-order", where + " was handed " + text + " after #" +
                                 std::to_string(prev) + " of its publisher" +
                                 (pattern.empty() ? "" : " (pattern)"));
      }
      prev = p.seq;
      got.emplace(pattern, &p);
    }
    for (const auto& p : published_) {
      bool own = p.node == start.first && p.generation == start.second;
      // Its own server's subscribers get an acknowledged message always;
      // the others' when nothing could lose it and it lived long enough.
      bool owed = own ? p.acked
                      : lossless && p.at_ms >= kFormedMs && start.second == 1 &&
                            nodes_[start.first].up();
      if (!owed) continue;
      for (const std::string& pattern :
           {std::string(), std::string(kChannelPattern)}) {
        if (!got.contains({pattern, &p})) {
          fail("pubsub-lost",
               where + " never got " +
                   publish_text(p.node, p.generation, p.actor, p.seq) +
                   (pattern.empty() ? "" : " (pattern)") + ", published at " +
                   std::to_string(p.at_ms) + " ms");
          break;
        }
      }
    }
  }
}

bool Cluster::crash_may_lose(size_t node, uint64_t generation,
                             int64_t at_ms) const {
  const Node& n = nodes_[node];
  if (n.generation == generation) return false;  // it never crashed since
  if (!o_.durable) return true;
  return *o_.durable != durable::Fsync::kAlways &&
         (*o_.durable == durable::Fsync::kNo ||
          n.crashed_ms[generation - 1] - at_ms <= kEverySecLossMs);
}

SimResult Cluster::run() {
  traffic_end_ = o_.traffic_ms;
  // Drawn from the seed, not rng(): the faults stay what they were.
  uint64_t h = o_.seed * 0x9e3779b97f4a7c15ull;
  h ^= h >> 29;
  if (o_.lulls && (h & 1) == 0 && traffic_end_ >= 40'000) {
    lull_from_ = 15'000 + static_cast<int64_t>((h >> 8) % 15'000);
    lull_to_ = lull_from_ + 15'000 + static_cast<int64_t>((h >> 24) % 10'000);
    note("traffic pauses from " + std::to_string(lull_from_) + " to " +
         std::to_string(lull_to_) + " ms");
  }
  schedule_faults();
  for (size_t i = 0; i < nodes_.size(); ++i) start(i);
  next_op();
  int64_t settle_end = traffic_end_ + o_.settle_ms;
  if (o_.settle_ms >= 2 * kIdleWindowMs)
    idle_from_ = settle_end - kIdleWindowMs;
  if (!world_.run_until(settle_end)) {
    fail("livelock",
         "too many events before " + std::to_string(settle_end) + " ms");
  }
  dumps_.assign(nodes_.size(),
                std::vector<std::optional<std::vector<Item>>>(o_.actors));
  floors_.assign(nodes_.size(), std::vector<Ver>(o_.actors));
  for (size_t i = 0; i < nodes_.size(); ++i) {
    auto& n = nodes_[i];
    if (!n.up()) continue;
    for (size_t a = 0; a < o_.actors; ++a) {
      ReadReplica read;
      read.all = true;
      read.reply_to =
          n.system->completion_channel([this, i, a](Result<Message> m) {
            if (!m.ok()) return;
            auto* r = m->as<ReplicaEntries>();
            std::vector<Item> items;
            if (r != nullptr && parse_items(r->count, r->entries, items)) {
              floors_[i][a] = Ver{r->floor_hlc, r->floor_origin};
              std::string where = "server " + std::to_string(i + 1) +
                                  " actor " + std::to_string(a);
              std::map<std::string, const Item*> by_key;
              for (const auto& e : items) {
                by_key[e.key] = &e;
                dead(e);
              }
              for (const auto& [key, list] : acked_by_key_) {
                auto at = by_key.find(key);
                const Item* e = at == by_key.end() ? nullptr : at->second;
                check_complete(i, where, r->complete_hlc, key, e, floors_[i][a],
                               r->horizon_hlc);
                check_complete(i, where + " (the cluster's horizon)",
                               r->horizon_hlc, key, e, floors_[i][a],
                               r->horizon_hlc);
              }
              worst_lag(r->complete_hlc, result_.final_complete_lag_ms);
              worst_lag(r->horizon_hlc, result_.final_horizon_lag_ms);
              final_horizon_ = std::max(final_horizon_, r->horizon_hlc);
              result_.tombstones_collected += r->collected;
              dumps_[i][a] = std::move(items);
            }
          });
      n.system->tell(n.queries[a], std::move(read));
    }
  }
  world_.run_until(settle_end + 1000);
  final_checks();
  result_.events = world_.events();
  result_.messages = world_.messages_sent();
  result_.dropped = world_.messages_dropped();
  result_.simulated_ms = world_.now_ms();
  for (auto& n : nodes_) {
    auto names = world_.disk(n.address).list("/data");
    if (!names.ok()) continue;
    for (const auto& name : *names) {
      uint64_t number = 0;
      if (std::sscanf(name.c_str(), "snapshot-%" SCNu64 ".snap", &number) ==
          1) {
        result_.snapshots += number;
      }
    }
  }
  // Systems go before the world whose hosts they run on.
  for (auto& n : nodes_) n.system.reset();
  return std::move(result_);
}

}  // namespace

std::optional<unsigned> parse_faults(std::string_view list,
                                     std::string& error) {
  if (list == "all") return kAllFaults;
  if (list == "none" || list.empty()) return 0u;
  unsigned bits = 0;
  while (!list.empty()) {
    size_t comma = list.find(',');
    std::string_view name = list.substr(0, comma);
    list = comma == std::string_view::npos ? std::string_view()
                                           : list.substr(comma + 1);
    bool found = false;
    for (const auto& f : kFaultNames) {
      if (name == f.name) {
        bits |= f.bit;
        found = true;
      }
    }
    if (!found) {
      error = "unknown fault '" + std::string(name) +
              "' (known: jitter, skew, drop, partition, crash, all, none)";
      return std::nullopt;
    }
  }
  return bits;
}

std::string faults_name(unsigned faults) {
  std::string out;
  for (const auto& f : kFaultNames) {
    if (faults & f.bit) out += (out.empty() ? "" : ",") + std::string(f.name);
  }
  return out.empty() ? "none" : out;
}

SimResult run_seed(const SimOptions& options) {
  // The simulated servers log joins and retries; a run prints only results.
  auto level = spdlog::get_level();
  spdlog::set_level(spdlog::level::off);
  Cluster c(options);
  SimResult r = c.run();
  spdlog::set_level(level);
  return r;
}

RepairFigures measure_repair(size_t keys, size_t actors, int64_t latency_ms,
                             uint64_t seed) {
  auto level = spdlog::get_level();
  spdlog::set_level(spdlog::level::off);
  std::clock_t cpu0 = std::clock();
  RepairFigures f;
  cmud::sim::World w(seed);
  w.network().latency_min_ms = latency_ms;
  w.network().latency_max_ms = latency_ms;
  const std::string a = "10.0.0.1:7000", b = "10.0.0.2:7000";
  uint64_t bytes = 0, messages = 0;
  w.on_deliver([&](const cmud::sim::Delivery& d) {
    bytes += d.msg.encoded_size();
    ++messages;
  });
  std::vector<std::unique_ptr<actor::System>> systems;
  std::vector<Replicas> replicas;
  for (const auto& [self, other] : {std::pair{a, b}, std::pair{b, a}}) {
    actor::SystemConfig c;
    c.runtime_host = w.host(self, actors);
    c.on_error = [](const Status&) {};
    systems.push_back(std::move(actor::System::create(std::move(c))).value());
    SyncOptions sync;
    sync.incarnation = replicas.size() + 1;
    replicas.push_back(
        std::move(start_replicas(*systems.back(), {}, sync, {other})).value());
  }
  w.run_until(3000);  // joined
  w.partition(a, b);
  constexpr size_t kPerRequest = 1000;
  for (size_t i = 0; i < keys;) {
    QueryRequest q;
    std::vector<std::string> ks;
    for (size_t n = 0; n < kPerRequest && i < keys; ++n, ++i) {
      ks.push_back("key:" + std::to_string(i));
    }
    for (const auto& k : ks) append_op(q, OpView::set(k, "value-0123456789"));
    q.reply_to = systems[0]->completion_channel([](Result<Message>) {});
    systems[0]->tell(replicas[0].queries[0], std::move(q));
    w.run_until(w.now_ms());
  }
  w.run_until(w.now_ms() + 1000);  // synced locally, lost to b
  w.heal(a, b);
  bytes = messages = 0;
  int64_t healed = w.now_ms();
  // Converged when every actor of b holds every key (only new keys were
  // written, so the count says it).
  auto b_has_all = [&] {
    size_t done = 0;
    for (const auto& q : replicas[1].queries) {
      QueryRequest req;
      append_op(req, OpView::dbsize());
      req.reply_to = systems[1]->completion_channel([&](Result<Message> m) {
        if (!m.ok()) return;
        auto* r = m->as<QueryReply>();
        codec::Reader in(r->results);
        ResultView v;
        if (read_result(in, v) && static_cast<size_t>(v.integer()) == keys) {
          ++done;
        }
      });
      systems[1]->tell(q, std::move(req));
    }
    w.run_until(w.now_ms());
    return done == replicas[1].queries.size();
  };
  while (w.now_ms() - healed < 600'000) {
    w.run_until(w.now_ms() + 50);
    if (b_has_all()) {
      f.converged = true;
      break;
    }
  }
  f.converge_ms = w.now_ms() - healed;
  f.bytes = bytes;
  f.messages = messages;
  // Let the last rounds settle, then listen to an idle, converged pair.
  w.run_until(w.now_ms() + 5000);
  bytes = 0;
  w.run_until(w.now_ms() + 10'000);
  f.idle_bytes_per_sec = static_cast<double>(bytes) / 10;
  systems.clear();
  f.cpu_seconds = static_cast<double>(std::clock() - cpu0) / CLOCKS_PER_SEC;
  spdlog::set_level(level);
  return f;
}

std::string replay_command(const SimOptions& o) {
  std::ostringstream s;
  s << "cmud-sim --seeds 1 --first " << o.seed << " --servers " << o.servers
    << " --actors " << o.actors << " --faults " << faults_name(o.faults);
  if (o.repair_interval_ms != SimOptions().repair_interval_ms) {
    s << " --repair-interval-ms " << o.repair_interval_ms;
  }
  if (o.flush_one_in != SimOptions().flush_one_in) {
    s << " --flush-one-in " << o.flush_one_in;
  }
  if (o.durable) s << " --durable " << durable::fsync_name(*o.durable);
  if (o.skip_fsync) s << " --skip-fsync";
  s << " --trace";
  return s.str();
}

}  // namespace cmud::server::sim
