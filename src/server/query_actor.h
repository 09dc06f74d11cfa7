// The query actor: one full replica, answering queries at once and syncing
// in the background. The sync strategy is described in query_actor.cc.
#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include "acl.h"
#include "cmud/actor/actor.h"
#include "cmud/durable/log.h"
#include "cmud/durable/recovery.h"
#include "cmud/kv/counter.h"
#include "cmud/kv/entry_wire.h"
#include "cmud/kv/store.h"
#include "messages.h"
#include "pubsub.h"
#include "query_wire.h"
#include "repair.h"

namespace cmud::server {

struct SyncOptions {
  // Least time between two flushes of one actor, so that no ordered pair
  // (its timer included) carries more than 10 messages in any second. 102
  // rather than 100 leaves room for the 1 ms buckets statistics count in.
  std::chrono::milliseconds spacing{102};
  // A batch stops growing past this many bytes (one entry may exceed it).
  size_t max_batch_bytes = 4u << 20;
  // This server's incarnation (fresh at every start), part of the origin
  // of every version its actors stamp.
  uint64_t incarnation = 0;
  // How versions from elsewhere are checked (kv::admit).
  kv::AdmitRules admit;
  // Entries held back as too far ahead of our clock take at most this many
  // bytes; past it the oldest are dropped and reported.
  size_t max_held_bytes = 16u << 20;
  // What the change log may keep alive for peers that lag behind it
  // (kv::Store::log_bytes); past it the laggards' cursors jump to its end
  // and repair brings them what they missed.
  size_t max_log_bytes = 64u << 20;
  // How often each actor opens an anti-entropy round (repair.h) with each
  // other server; 0 switches repair off.
  std::chrono::milliseconds repair_interval{1000};
  // A round opens with a server only once sync with it has been quiet for
  // a repair interval (entries in flight would look like divergence and
  // cost bytes with the write rate), or after this many intervals anyway.
  int repair_force_intervals = 10;
  // A server not heard from for this long is marked down (coordinator).
  std::chrono::milliseconds member_timeout{5000};
  // What an actor claims to its coordinator to hold completely
  // (repair::Knowledge, Claim) stays at least this far behind its wall
  // clock: a server it does not know yet (a new start, before gossip brings
  // it) writes at its own clock, which may lag ours by the skew kv::admit
  // allows.
  std::chrono::milliseconds unknown_source_margin{65000};
  // How long a member that is down, or a start that ended, holds tombstone
  // collection back (Coordinator): like Cassandra's gc_grace_seconds.
  std::chrono::milliseconds gc_grace{3'600'000};
  // Entries a turn visits to free what a clear left below the floor
  // (kv::Store::purge): a few ms per turn.
  size_t purge_step = 65536;
  // Tombstones a turn frees once the cluster's horizon passed them
  // (kv::Store::collect): each costs more than a purge's visit.
  size_t collect_step = 8192;
  // Entries a walk that bridges a lost batch visits per batch (most are
  // older than the gap and not sent): a few ms.
  size_t bridge_step = 32768;
  // Repair records and entries waiting for one peer stay under this; the
  // rest is found again next round.
  size_t max_repair_bytes = 1u << 20;
  // Entries a repair walk visits per turn (repair::LeafWalk), so that one
  // turn stays short on a large replica (about 10 ms for 1 M keys).
  size_t repair_walk_step = 262144;
  // The server's data directory (durable/recovery.h): each actor appends
  // the writes that enter the server through it to its own log there.
  // Empty: nothing is durable.
  std::string data_dir{};
  durable::Fsync fsync = durable::Fsync::kEverySec;
  // An actor asks for a snapshot once its log has grown past its share of
  // the larger of this and the last snapshot (Redis's
  // auto-aof-rewrite-min-size and percentage 100): disk use stays within
  // twice the live data plus the log since the last snapshot.
  uint64_t log_rewrite_min_bytes = 64u << 20;
  // This server's pub/sub: PUBLISH hands messages to its subscribers, and
  // messages from other servers arrive there. Null: none here.
  std::shared_ptr<PubSub> pubsub{};
  // This server's users: every record of the system key space an actor
  // applies (or reads back at start) is handed to it. Null: none here.
  std::shared_ptr<acl::Table> acl{};
  // Published messages waiting for one other server stay under this many
  // bytes; past it that server misses new ones (pub/sub is at most once).
  size_t max_outbox_bytes = 8u << 20;
  // Told each time a turn freed tombstones (how many, and below which
  // horizon): the simulator's checkers. Called on the actor's worker.
  std::function<void(size_t, uint64_t)> on_collected{};
  // ... and shown each tombstone just before it is freed.
  kv::Store::Visit on_freed{};
};

// Only its worker touches it (it is an actor).
class QueryActor : public actor::Actor {
 public:
  // `local` names every query actor of this server (this one included), in
  // index order, so that even the first Put reaches them all; `server` is
  // this server's actor-system address.
  // `recovered` (may be null) is the state read back from data_dir at
  // start; the actor copies its store into its replica, or takes
  // `replica` instead when given (a copy made beforehand).
  QueryActor(actor::Context& ctx, size_t index, SyncOptions options,
             std::string server, const std::vector<ActorRef>& local,
             std::shared_ptr<const durable::Recovered> recovered = nullptr,
             std::unique_ptr<kv::Store> replica = nullptr);

  Status on_message(actor::Message& msg) override;
  // Commits the turn's log record and sends the replies held for it, at
  // once when nothing waits for the disk, else at the end of the worker's
  // pass (on_pass_end): group commit across the turns of a pass.
  void on_turn_end() override;
  void on_pass_end() override;

 private:
  // A snapshot being streamed to a new server, by key.
  struct Scan {
    bool full = false;  // this actor's hash share of every key, too
    std::optional<std::string> after;
    // A bridge (query_actor.cc, bridge()) instead: every entry whose
    // newest version is at least `from`, whatever its origin; once walked,
    // our writes from `from` on are claimed since batch `since`, unless
    // the cursor jumped meanwhile (`drops` as it began).
    bool bridge = false;
    uint64_t from = 0;
    uint64_t since = 0;
    uint64_t drops = 0;
  };
  // An entry from elsewhere too far ahead of our clock, kept to retry.
  struct Held {
    std::string key;
    std::string value;
    kv::Version version;
    bool deleted = false;
    uint8_t route = kv::kRouteNone;
    std::string meta;
    std::optional<kv::Expiry> expiry;
    bool reclaimed = false;
    kv::EntryView view() const {
      return {key,     value, version.hlc, version.origin,
              deleted, meta,  expiry,      reclaimed};
    }
    size_t bytes() const {
      return key.size() + value.size() + meta.size() + sizeof(Held);
    }
  };
  // Where this actor's sync batches go.
  struct Dest {
    ActorRef ref;
    bool remote = false;
    uint64_t cursor = 0;  // change-log position already sent
    std::optional<Scan> scan;
    // Anti-entropy for the next batch to this peer (remote only).
    repair::Reply repair{};
    // Wall-clock ms of the last sync entries sent to or received from this
    // server, and of the last round opened with it.
    uint64_t last_traffic_ms = 0;
    uint64_t last_round_ms = 0;
    // ... and of the last round that carried our bounds (repair::Knowledge;
    // one in four at most, so that they cost little while rounds are
    // frequent).
    uint64_t last_bounds_ms = 0;
    bool down = false;         // the coordinator says it does not answer
    kv::Version floor_sent{};  // the floor its last batch carried
    // Rounds in a row that found this pair converged (0..3): an idle,
    // converged pair opens one every 2^n intervals.
    int converged_rounds = 0;
    // Answers that wait for a walk of the replica: the one under way, and
    // those that came meanwhile.
    repair::LeafWalk walk{};
    repair::LeafWalk next_walk{};
    // Pub/sub messages for the next batch (remote only; SyncBatch).
    std::string outbox{};
    uint32_t outbox_count = 0;
    // Stream claims (query_actor.cc): batches sent on this link; where
    // our next claim starts (our writes from `from` on are all in the
    // batches after `since`; none: not known since a jump); how often the
    // cursor jumped to the log's end; when a claim last went.
    struct Mark {
      uint64_t from = 0;
      uint64_t since = 0;
    };
    uint64_t sent = 0;
    std::optional<Mark> mark{};
    uint64_t drops = 0;
    uint64_t last_claim_ms = 0;
    // Asks to bridge a lost batch, for the next batch to this peer.
    std::vector<BridgeAsk> asks{};
  };
  // A link's batches as received, by the sending actor's origin.
  struct LinkIn {
    uint64_t last = 0;  // the last batch's number
    uint64_t from = 1;  // the first batch since the last one lost
    // Each local peer's (Dest::sent, Dest::drops) before the first batch
    // after the last claim, when `take_at` (relayed claims start there).
    std::vector<std::pair<uint64_t, uint64_t>> at{};
    bool take_at = true;
    uint64_t held_dropped = 0;  // held_dropped_ at the last claim
    // A remote link that lost a batch since it last taught us a claim:
    // its sender is asked to bridge the gap (ask_bridges), again if
    // another is lost or no claim came after a while.
    std::string server{};
    bool gap = false;
    uint64_t asked_from = 0;  // `from` when last asked (0: not asked)
    uint64_t asked_ms = 0;
    uint64_t last_ms = 0;  // wall-clock ms of its last batch
    uint64_t gap_ms = 0;   // ... and of its last gap
  };
  // A run of claims learned from another server's actor about its own
  // writes, [from, to), that its entries (logged here for our local
  // peers) back: relayed to each local peer once its cursor passed `pos`.
  struct Chain {
    uint64_t from = 0;
    uint64_t to = 0;
    uint64_t pos = 0;
    std::vector<std::pair<uint64_t, uint64_t>> at{};  // LinkIn::at
    std::vector<uint64_t> relayed{};  // per local peer: told up to
  };

  // A reply held until the turn's writes are in the log.
  struct HeldReply {
    ActorRef to;
    std::variant<QueryReply, ReplicaEntries> reply;
    bool wrote = false;  // its request wrote: it fails if the log does
  };

  Status on_query(QueryRequest& q);
  void run(const OpView& op, ResultWriter& out);
  // expire_at: when the written value expires (0: never). Sends the "new"
  // keyspace event when it creates the key.
  void put(std::string_view key, std::string_view value, bool deleted,
           uint64_t expire_at = 0);
  // A keyspace notification of a command run here (PubSub::notify): only
  // the actor that ran it sends it, so each server sends it once.
  void notify(uint32_t type, std::string_view event, std::string_view key) {
    if (options_.pubsub != nullptr && options_.pubsub->notifies(type)) {
      options_.pubsub->notify(type, event, key);
    }
  }
  // This request's wall-clock time, read once.
  uint64_t request_ms() {
    if (!request_ms_) request_ms_ = clock_.now_ms();
    return *request_ms_;
  }
  // SET with options; EXPIRE, PERSIST, GETEX; TTL and kin.
  void set_with(const OpView& op, ResultWriter& out);
  void expire(const OpView& op, ResultWriter& out);
  void ttl(const OpView& op, ResultWriter& out);
  // Frees the values of keys expired by now, a bounded step.
  void reclaim_expired();
  // Merges an entry into the replica; one that entered this server here
  // (route not kRouteNone) also goes into this turn's log record.
  bool apply(const kv::EntryView& e, uint8_t route);
  // PUBLISH: hands the message to this server's subscribers and queues it
  // once for each other server.
  void publish(std::string_view channel, std::string_view message,
               ResultWriter& out);
  // Hands out the messages a batch from another server carries.
  Status deliver_messages(const SyncBatch& b);
  // APPEND, SETRANGE, GETDEL, RENAME(NX), COPY: read, then write here.
  void edit(const OpView& op, ResultWriter& out);
  // MSET, MSETNX.
  void mset(const OpView& op, ResultWriter& out);
  // A key's state for WATCH: its versions (and a counter's total, which
  // INCR changes without a new version); empty when absent.
  std::string watch_state(std::string_view key) const;
  // The counter an increment of key adds to: the one this replica holds,
  // or a new one on what is here (an integer only unless `floats`), with
  // the version it is based on and the expiry it keeps; nullopt counter
  // when the value is no such number.
  struct CounterAt {
    std::optional<kv::Counter> counter;
    kv::Version base;
    std::optional<kv::Expiry> expiry;
  };
  CounterAt counter_at(std::string_view key, bool floats);
  // Stores an increment's new state of the counter at its base.
  void write_counter(std::string_view key, CounterAt& at);
  // INCRBY: adds delta to this actor's part of the key's counter.
  void incr(std::string_view key, int64_t delta, ResultWriter& out);
  // INCRBYFLOAT: adds the increment (text) to this actor's float part.
  void incr_float(std::string_view key, std::string_view increment,
                  ResultWriter& out);
  // Writes what waits for the log, then sends the replies held for it (an
  // error for those that wrote, if the disk refused).
  void commit();
  // Writes and (by the fsync policy) syncs the pending record; false, with
  // the log marked failed, when the disk refuses.
  bool commit_log();
  // Raises the replica's floor (a clear); logged with the turn.
  void raise_floor(const kv::Version& v);
  void log_failed(const Status& s);
  // Sends a held reply, or in its place `error` (for every command of its
  // request) when that is not empty.
  void send(HeldReply& r, std::string error);
  void on_rotate_log(const RotateLog& r);
  void on_snapshot_state(SnapshotState& s);
  // Syncs the log if the everysec policy is due.
  void sync_log_if_due();
  void on_log_synced();
  Status on_sync(SyncBatch& b);
  // Applies an entry from elsewhere if kv::admit lets it in; holds it if it
  // is too far ahead. False when it must be refused.
  // `synced`: it came by sync, not repair (stream claims count on it).
  bool admit_and_apply(const kv::EntryView& e, uint8_t route, uint64_t now_ms,
                       bool& logged, bool synced = true);
  // The same for a floor (a clear) from elsewhere: raised, held, or
  // refused (false).
  bool admit_floor(const kv::Version& f, uint64_t now_ms, bool& logged);
  void retry_held();
  void on_add_server(AddServer& a);
  // Learns what b's stream claims say this replica holds (query_actor.cc).
  void learn_claims(const SyncBatch& b, LinkIn& link, bool from_remote);
  // Numbers b (going to d) and adds our claims; false if b is not to go:
  // nothing else (`going` false) and the claims are no news.
  bool add_claims(Dest& d, size_t local_at, SyncBatch& b, bool going);
  // Bridging a lost batch (query_actor.cc): the receiver's asks, and the
  // sender's answer to one (a walk of what may have been lost).
  void ask_bridges();
  void take_bridge_asks(const SyncBatch& b, bool from_remote);
  void bridge(Dest& d, const BridgeAsk& ask);
  // Each local peer's (Dest::sent, Dest::drops) now.
  std::vector<std::pair<uint64_t, uint64_t>> local_marks() const;
  void on_repair_tick();
  // repair::Knowledge's own bound: no write of ours will be below it.
  uint64_t bound_clock();
  // Every write of an actor of a member this replica knows below this
  // version is here, or a newer one of its key (0: not known).
  uint64_t complete_below();
  // That, kept unknown_source_margin behind the wall clock (for the starts
  // we do not know of yet): what we claim (0: nothing yet).
  uint64_t own_claim();
  // Tells the coordinator own_claim().
  void claim();
  // Frees a step of the tombstones below the cluster's horizon.
  void collect_tombstones();
  void on_server_state(const ServerState& s);
  void on_remove_server(const RemoveServer& r);
  void on_members(Members m);
  // CLUSTER FORGET: the member named by its actor-system address or one of
  // its query ports, if the coordinator marked it down.
  void forget(std::string_view name, ResultWriter& out);
  Status answer_repair(const SyncBatch& b);
  // The destination that is the sender of b (a local peer or a server);
  // null if unknown.
  Dest* dest_of(const SyncBatch& b);
  void open_round(Dest& d, uint64_t now, bool& opened);
  // Takes the next step of d's repair walk; answers once it is done.
  void advance_walk(Dest& d);
  void on_read_replica(const ReadReplica& r);
  void on_tick();

  void work_added();
  bool has_work() const;
  void flush();
  // Moves the cursors of peers that lag past max_log_bytes to the end.
  void drop_laggards();
  SyncBatch build_batch(Dest& d);
  bool in_snapshot(const Scan& s, const kv::Entry& e) const;
  void schedule_tick();

  actor::Context& ctx_;
  const size_t index_;
  const SyncOptions options_;
  const uint64_t origin_;
  const std::string server_;
  kv::Store store_;
  std::mt19937_64 random_;  // RANDOMKEY
  kv::HybridClock clock_;
  std::vector<Dest> local_;             // other query actors here
  std::map<std::string, Dest> remote_;  // by server address
  Members members_;                     // as the coordinator last said
  // Every query actor of every member (ours included), by origin: whose
  // writes complete_below() covers. Empty until the coordinator spoke.
  std::vector<uint64_t> sources_;
  repair::Knowledge known_;
  std::map<uint64_t, LinkIn> links_in_;  // by the sender's origin
  uint64_t bridges_asked_ = 0;           // asks sent for lost batches
  uint64_t bridges_walked_ = 0;          // gaps bridged for receivers
  uint64_t bridge_entries_ = 0;          // entries their walks sent
  std::map<uint64_t, Chain> relays_;     // by source
  uint64_t claims_learned_ = 0;          // stream claims taken
  bool wrote_any_ = false;               // a write of ours was applied
  size_t local_count_ = 1;               // query actors on this server
  bool tick_pending_ = false;
  bool wrote_ = false;      // the request being handled wrote something
  bool published_ = false;  // ... or queued pub/sub messages to send
  // Its wall-clock time, read at its first write.
  std::optional<uint64_t> request_ms_;
  std::vector<OpView> ops_;  // decoded ops of that request (reused)
  bool skipping_ = false;    // a kCheck failed: skip to its kEndCheck
  std::deque<Held> held_;    // oldest first
  std::optional<kv::Version> held_floor_;  // a floor held back likewise
  // Durability (null log: off). The turn's writes, the replies waiting for
  // them, and the state of the disk.
  std::unique_ptr<durable::Log> log_;
  durable::EntryRecord turn_;
  std::vector<HeldReply> replies_;
  std::string disk_error_;       // why writes are refused; empty: they are not
  bool floor_unlogged_ = false;  // the floor rose this turn
  bool commit_asked_ = false;    // on_pass_end will commit
  // Monotonic ms (a wall clock that jumps back must not delay a sync).
  int64_t disk_failed_ms_ = 0;
  int64_t last_sync_ms_ = 0;
  // everysec's sync under way on the host's sync thread; null: none.
  std::shared_ptr<durable::Log::SyncJob> sync_job_;
  uint64_t log_syncs_ = 0;
  uint64_t log_errors_ = 0;
  // Snapshots: what the coordinator last said; whether one is under way
  // (a RotateLog came, or we asked); SAVE replies waiting for the snapshot
  // attempt numbered `want` to end.
  struct SaveWaiter {
    HeldReply reply;
    uint64_t want = 0;
  };
  SnapshotState snapshot_;
  bool snapshot_running_ = false;
  bool grown_asked_ = false;           // asked for one since the last rotation
  std::optional<uint64_t> save_want_;  // the request being handled
  std::vector<SaveWaiter> save_waiters_;
  size_t held_bytes_ = 0;
  uint64_t held_total_ = 0;            // entries ever held back
  uint64_t held_dropped_ = 0;          // held entries dropped at the bound
  uint64_t expired_freed_ = 0;         // values reclaim_expired() freed
  uint64_t refused_total_ = 0;         // entries refused as beyond any clock
  uint64_t repair_rounds_ = 0;         // rounds opened
  uint64_t repair_sent_ = 0;           // entries pushed by repair
  uint64_t stale_dropped_ = 0;         // entries repair found stale
  bool collecting_ = false;            // tombstones wait below the horizon
  const int64_t started_ms_;           // monotonic
  uint64_t repair_records_bytes_ = 0;  // bytes of repair records sent
  uint64_t cursors_dropped_ = 0;       // laggards moved to the log's end
  std::optional<int64_t> drop_logged_ms_;  // when that was last logged
  uint64_t messages_relayed_ = 0;          // pub/sub messages sent to servers
  uint64_t messages_received_ = 0;         // ... and received from them
  uint64_t messages_dropped_ = 0;          // ... and not sent: outbox full
};

}  // namespace cmud::server
