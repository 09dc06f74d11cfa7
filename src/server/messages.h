// Messages of the storage server: queries from the front end, sync between
// query actors, and membership between servers. Names are wire-stable.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cmud/actor/actor_ref.h"
#include "cmud/actor/message.h"
#include "cmud/kv/entry_wire.h"

namespace cmud::server {

using actor::ActorRef;

// --- Queries (front end -> query actor -> channel ref) ---

// What a store op does; its fields and result are in query_wire.h.
enum class OpKind : uint8_t {
  kGet,        // key -> value or absent
  kMGet,       // keys -> items (value or absent each)
  kSet,        // key, value -> ok
  kDel,        // keys -> integer: how many existed
  kExists,     // keys -> integer: how many exist
  kList,       // prefix -> items: key, value, key, value...
  kKeys,       // pattern -> items: matching keys
  kScan,       // after, pattern, count -> items: keys; scan_next
  kDbSize,     // -> integer: live keys
  kInfo,       // -> items: name, value, ... (the replica's counters, for INFO)
  kPersist,    // SAVE (ok), BGSAVE (value: status), LASTSAVE (integer)
  kFlush,      // FLUSHALL: raise the floor to a new version -> ok
  kIncr,       // key, delta -> integer: the counter's new total (kv::Counter)
  kSetWith,    // SET with options -> ok, or absent (not set), or the old value
  kExpire,     // EXPIRE and kin, PERSIST -> integer; GETEX -> value or absent
  kTtl,        // key -> integer: TTL, PTTL, EXPIRETIME, PEXPIRETIME
  kPublish,    // channel, message -> integer: this server's receivers
  kEdit,       // APPEND, SETRANGE, GETDEL, RENAME, COPY (OpView::kEdit*)
  kMSet,       // MSET -> ok; MSETNX -> integer 1 (all set) or 0 (none)
  kWatch,      // keys -> items: each key's state now (WATCH)
  kCheck,      // key, state pairs -> ok; or, when a key's state changed,
               // absent and every op up to the next kEndCheck skipped
  kEndCheck,   // -> skipped: where a kCheck's reach ends
  kRandomKey,  // -> value: a live key picked at random, or absent
  kIncrFloat,  // key, increment (text) -> value: the counter's new total
  kClock,      // [hlc to observe] -> integer: the actor's hybrid clock (CLOCK)
  kForget,     // member -> ok: CLUSTER FORGET (a member marked down)
};

// What a kPersist op asks.
enum class PersistOp : uint8_t { kSave, kBgSave, kLastSave };

// One result per op, in order, encoded in one buffer (query_wire.h).
struct QueryReply {
  uint32_t count = 0;
  std::string results;
  // Set when the request failed as a whole (its writes could not be made
  // durable): every command of it is answered with this error.
  std::string error{};
  CMUD_MESSAGE("server.QueryReply", count, results, error)
};

// A request's ops, encoded back to back in one buffer (query_wire.h), so a
// pipeline of commands costs one allocation, not a few per command.
struct QueryRequest {
  uint32_t count = 0;
  std::string ops;
  ActorRef reply_to;
  using Reply = QueryReply;
  CMUD_MESSAGE("server.QueryRequest", count, ops, reply_to)
};

// --- Sync between query actors ---

// Updates the receiver has not seen, `count` entries encoded back to back
// in `entries` (one buffer, not a string per key and value): each is
// bytes key, bytes value, u64 hlc, u64 origin, u8 deleted (see
// kv::append_entry). `server` is the sender's actor-system address: a batch
// from another server is spread to the receiver's local peers; one from a
// local peer is not.
//
// `repair` carries anti-entropy records (repair.h) between replicas, and
// the last `repaired` of the entries were pushed by repair, not sync.
//
// Every batch carries the sender's floor (kv::Store::floor), so a clear
// reaches every replica that hears from anyone who knows it, repair rounds
// included.
//
// A batch to another server also carries the pub/sub messages published on
// the sender since its last batch there: `published` of them in `messages`,
// each bytes channel, bytes message (pubsub.h).
//
// Stream claims (tombstone collection; query_actor.cc): batches are
// numbered per link (`link_seq`, 1, 2, ... from the actor `origin` to one
// receiver), and `claims` holds four numbers per claim: source, from, to,
// since. The link's batches after `since`, up to this one, hold every
// write of `source` with a version in [from, to), or a newer entry of its
// key.
//
// A receiver that lost some of a link's batches asks its sender, in its
// own batches to that server, to bridge the gap (`bridges`; one asked of a
// local peer is passed on to it): see BridgeAsk.
struct BridgeAsk {
  std::string server;      // the receiver's server (actor-system address)
  uint64_t source = 0;     // the link's sender (its origin)
  uint64_t from = 0;       // the receiver knew source's writes below this
  uint64_t link_from = 0;  // the first batch it got after the last lost
  CMUD_FIELDS(server, source, from, link_from)
};

struct SyncBatch {
  std::string server;
  uint32_t count = 0;
  std::string entries;
  std::string repair{};
  uint32_t repaired = 0;
  uint32_t sender = 0;  // the sending actor's index on its server
  uint64_t floor_hlc = 0;
  uint64_t floor_origin = 0;
  uint32_t published = 0;
  std::string messages{};
  uint64_t origin = 0;
  uint64_t link_seq = 0;
  std::vector<uint64_t> claims{};
  std::vector<BridgeAsk> bridges{};
  CMUD_MESSAGE("server.SyncBatch", server, count, entries, repair, repaired,
               sender, floor_hlc, floor_origin, published, messages, origin,
               link_seq, claims, bridges)
};

// The query actor's own timer.
struct SyncTick {
  CMUD_MESSAGE("server.SyncTick")
};

// Coordinator -> its query actors (and itself, as its timer) every repair
// interval: open a round with each other server.
struct RepairTick {
  CMUD_MESSAGE("server.RepairTick")
};

// Coordinator -> itself: control messages queued for its query actors may
// go now (Coordinator::flush_control).
struct ControlFlush {
  CMUD_MESSAGE("server.ControlFlush")
};

// --- Inspection (the simulator's checkers, tests, debugging) ---

// Replica entries with their versions, tombstones included, encoded as in
// a SyncBatch, the replica's floor, and the version below which it holds
// every write of the actors of the members it knows (repair::Knowledge;
// 0: not known).
struct ReplicaEntries {
  uint32_t count = 0;
  std::string entries;
  uint64_t floor_hlc = 0;
  uint64_t floor_origin = 0;
  uint64_t complete_hlc = 0;
  uint64_t horizon_hlc = 0;  // the cluster's (Members::horizon_hlc)
  uint64_t collected = 0;    // tombstones it freed (kv::Store::collected)
  CMUD_MESSAGE("server.ReplicaEntries", count, entries, floor_hlc, floor_origin,
               complete_hlc, horizon_hlc, collected)
};

// Asks a query actor for its entries of `keys`, or of every key (in key
// order) when `all`.
struct ReadReplica {
  std::vector<std::string> keys;
  bool all = false;
  ActorRef reply_to;
  using Reply = ReplicaEntries;
  CMUD_MESSAGE("server.ReadReplica", keys, all, reply_to)
};

// --- Membership ---

// What a server prints at start-up (as JSON) and what others need to sync
// with it.
struct ServerDesc {
  std::string address;             // actor system "host:port"
  std::vector<uint64_t> actors;    // query actor ids, in port order
  std::vector<std::string> query;  // query ports "host:port", same order
  uint64_t incarnation = 0;        // this start of it (never 0)
  CMUD_FIELDS(address, actors, query, incarnation)
};

// A member removed for good (CLUSTER FORGET, --forget): that start of it
// is never learned again; another start of the same address is. Gossiped,
// the latest forget of an address winning (`at_ms`, the forgetting
// server's wall clock).
struct Forgotten {
  std::string address;
  uint64_t incarnation = 0;  // 0: not known yet (--forget at start)
  uint64_t at_ms = 0;
  CMUD_FIELDS(address, incarnation, at_ms)
};

// Coordinator -> its query actors: start syncing with another server. Each
// actor sends it the entries it originated; with full_state, also its share
// of the whole store (keys whose hash falls to this actor).
struct AddServer {
  ServerDesc desc;
  bool full_state = false;
  CMUD_MESSAGE("server.AddServer", desc, full_state)
};

// Server -> its coordinator, once every query actor exists.
struct StartCoordinator {
  CMUD_MESSAGE("server.StartCoordinator")
};

// New server's coordinator -> existing server's coordinator.
struct JoinRequest {
  ServerDesc from;
  bool want_state = false;
  CMUD_MESSAGE("server.JoinRequest", from, want_state)
};

// The answer: the server's own description and every other server it knows.
struct JoinReply {
  ServerDesc desc;
  std::vector<ServerDesc> known;
  std::vector<Forgotten> forgotten;
  CMUD_MESSAGE("server.JoinReply", desc, known, forgotten)
};

// The coordinator's own timer (retries unanswered joins).
struct JoinTick {
  CMUD_MESSAGE("server.JoinTick")
};

// Coordinator -> every server it knows, once a second: itself and the
// servers it knows, so that a server that knows any member learns all of
// them, and one restarted without --join is found by those that knew it.
// `complete_hlc`: the version below which every query actor of the sender
// holds every write of every member (the least of its actors' Claims; 0:
// not known).
struct Gossip {
  ServerDesc from;
  std::vector<ServerDesc> known;
  std::vector<Forgotten> forgotten;
  // The sender's claim (Members::horizon_hlc), and the digest of the
  // sources it covers (Members::sources_digest): a claim counts only
  // where the sources agree.
  uint64_t complete_hlc = 0;
  uint64_t sources_digest = 0;
  // Starts that ended (another start of their server, or forgotten) less
  // than the grace period ago: their writes still count as sources'.
  std::vector<ServerDesc> retired{};
  std::vector<uint64_t> retired_age_ms{};  // how long ago each ended
  CMUD_MESSAGE("server.Gossip", from, known, forgotten, complete_hlc,
               sources_digest, retired, retired_age_ms)
};

// Coordinator -> its query actors: a server stopped answering (nothing is
// kept for it meanwhile) or answers again (repair catches it up).
struct ServerState {
  std::string address;
  bool up = true;
  CMUD_MESSAGE("server.ServerState", address, up)
};

// Coordinator -> its query actors: a member was forgotten; sync with it
// stops for good.
struct RemoveServer {
  std::string address;
  CMUD_MESSAGE("server.RemoveServer", address)
};

// Query actor -> its coordinator: CLUSTER FORGET of a member the actor saw
// marked down (the coordinator checks again).
struct ForgetServer {
  std::string address;
  CMUD_MESSAGE("server.ForgetServer", address)
};

// Coordinator -> its query actors, every gossip round and on each change:
// the members as it sees them, for INFO cluster and CLUSTER FORGET.
struct MemberView {
  std::string address;
  std::vector<std::string> query;
  uint64_t incarnation = 0;
  bool up = true;
  uint64_t since_contact_ms = 0;   // since it was last heard from
  std::vector<uint64_t> actors{};  // its query actors' ids
  CMUD_FIELDS(address, query, incarnation, up, since_contact_ms, actors)
};
struct Members {
  std::vector<MemberView> members;
  std::vector<Forgotten> forgotten;
  bool self_forgotten = false;  // the cluster forgot this very start
  // Every member holds every write of every source below this version:
  // the least of the members' Gossip::complete_hlc and ours (0: not
  // known).
  uint64_t horizon_hlc = 0;
  // The sources a claim must cover (repair::Knowledge): the query actors
  // (origins) of this server, of every member not down for longer than the
  // grace period, and of the starts that ended less than it ago; and a
  // digest of them, the same on every server that sees the same.
  std::vector<uint64_t> sources{};
  uint64_t sources_digest = 0;
  // Starts that ended less than the grace period ago, kept as sources
  // (at most Coordinator::kMaxEndedStarts), and those let go past it.
  uint64_t ended_starts = 0;
  uint64_t ended_dropped = 0;
  CMUD_MESSAGE("server.Members", members, forgotten, self_forgotten,
               horizon_hlc, sources, sources_digest, ended_starts,
               ended_dropped)
};

// Query actor -> its coordinator, after each RepairTick: what the actor
// claims to hold (repair::Knowledge), kept SyncOptions::
// unknown_source_margin behind its wall clock.
struct Claim {
  uint32_t index = 0;
  uint64_t complete_hlc = 0;
  uint64_t sources_digest = 0;  // of the Members it was made with
  CMUD_MESSAGE("server.Claim", index, complete_hlc, sources_digest)
};

// The coordinator's gossip timer.
struct GossipTick {
  CMUD_MESSAGE("server.GossipTick")
};

// --- Snapshots (durable servers) ---

// Query actor -> coordinator: take a snapshot (BGSAVE, SAVE, or the
// actor's log outgrew its share of the last snapshot). One under way
// already: another follows it if `again`.
struct StartSnapshot {
  bool again = false;
  CMUD_MESSAGE("server.StartSnapshot", again)
};

struct LogRotated;
// Coordinator -> each query actor as a snapshot starts: sync and close the
// log segment, and name every segment closed since the last time.
struct RotateLog {
  ActorRef reply_to;
  using Reply = LogRotated;
  CMUD_MESSAGE("server.RotateLog", reply_to)
};
struct LogRotated {
  std::vector<std::string> sealed;
  CMUD_MESSAGE("server.LogRotated", sealed)
};

// The coordinator's background job (the snapshot) is done.
struct SnapshotWritten {
  CMUD_MESSAGE("server.SnapshotWritten")
};
// A query actor's background sync of its log (everysec) is done.
struct LogSynced {
  CMUD_MESSAGE("server.LogSynced")
};

// Coordinator -> its query actors once a snapshot attempt ends: for SAVE
// replies, LASTSAVE, INFO persistence and when to ask for the next.
struct SnapshotState {
  uint64_t completed = 0;       // attempts ended since start
  bool ok = true;               // the last one succeeded
  std::string error{};          // why it failed
  uint64_t last_save_s = 0;     // Unix time of the last success
  uint64_t snapshot_bytes = 0;  // its size
  CMUD_MESSAGE("server.SnapshotState", completed, ok, error, last_save_s,
               snapshot_bytes)
};

}  // namespace cmud::server
