// Messages of the storage server: queries from the front end, sync between
// query actors, and membership between servers. Names are wire-stable.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "cmud/actor/actor_ref.h"
#include "cmud/actor/message.h"

namespace cmud::server {

using actor::ActorRef;

// --- Queries (front end -> query actor -> channel ref) ---

enum class OpKind : uint8_t {
  kGet,     // key -> found, value
  kMGet,    // keys -> values
  kSet,     // key, arg = value
  kDel,     // keys -> n deleted
  kExists,  // keys -> n existing
  kList,    // key = prefix -> items k, v, k, v...
  kKeys,    // arg = glob pattern -> items keys
  kScan,    // key = resume after (found: resume), arg = pattern, count
            //   -> items keys; value = next resume key; found = more
  kDbSize,  // -> n live keys
};

// A request's ops, encoded back to back in one buffer (query_wire.h), so a
// pipeline of commands costs one allocation, not a few per command.
struct QueryRequest {
  uint32_t count = 0;
  std::string ops;
  ActorRef reply_to;
  CMUD_MESSAGE("kv.QueryRequest", count, ops, reply_to)
};

// One result per op, in order, encoded in one buffer (query_wire.h).
struct QueryReply {
  uint32_t count = 0;
  std::string results;
  CMUD_MESSAGE("kv.QueryReply", count, results)
};

// --- Sync between query actors ---

// Updates the receiver has not seen, `count` entries encoded back to back
// in `entries` (one buffer, not a string per key and value): each is
// bytes key, bytes value, u64 hlc, u64 origin, u8 deleted (see
// append_sync_entry). `server` is the sender's actor-system address: a batch
// from another server is spread to the receiver's local peers; one from a
// local peer is not.
struct SyncBatch {
  std::string server;
  uint32_t count = 0;
  std::string entries;
  CMUD_MESSAGE("kv.SyncBatch", server, count, entries)
};

// One decoded entry of a SyncBatch, viewing its buffer.
struct SyncEntryView {
  std::string_view key;
  std::string_view value;
  uint64_t hlc = 0;
  uint64_t origin = 0;
  bool deleted = false;
};

inline void append_sync_entry(std::string& out, std::string_view key,
                              std::string_view value, uint64_t hlc,
                              uint64_t origin, bool deleted) {
  codec::Writer w(out);
  w.bytes(key);
  w.bytes(value);
  w.fixed(hlc);
  w.fixed(origin);
  w.fixed<uint8_t>(deleted ? 1 : 0);
}

// Reads the next entry; false (and r fails) on malformed bytes.
inline bool read_sync_entry(codec::Reader& r, SyncEntryView& e) {
  uint8_t deleted = 0;
  if (!r.view(e.key) || !r.view(e.value) || !r.fixed(e.hlc) ||
      !r.fixed(e.origin) || !r.fixed(deleted) || deleted > 1) {
    return r.fail();
  }
  e.deleted = deleted != 0;
  return true;
}

// The query actor's own timer.
struct SyncTick {
  CMUD_MESSAGE("kv.SyncTick")
};

// --- Membership ---

// What a server prints at start-up (as JSON) and what others need to sync
// with it.
struct ServerDesc {
  std::string address;             // actor system "host:port"
  std::vector<uint64_t> actors;    // query actor ids, in port order
  std::vector<std::string> query;  // query ports "host:port", same order
  CMUD_FIELDS(address, actors, query)
};

// Coordinator -> its query actors: start syncing with another server. Each
// actor sends it the entries it originated; with full_state, also its share
// of the whole store (keys whose hash falls to this actor).
struct AddServer {
  ServerDesc desc;
  bool full_state = false;
  CMUD_MESSAGE("kv.AddServer", desc, full_state)
};

// Server -> its coordinator, once every query actor exists.
struct StartCoordinator {
  CMUD_MESSAGE("kv.StartCoordinator")
};

// New server's coordinator -> existing server's coordinator.
struct JoinRequest {
  ServerDesc from;
  bool want_state = false;
  CMUD_MESSAGE("kv.JoinRequest", from, want_state)
};

// The answer: the server's own description and every other server it knows.
struct JoinReply {
  ServerDesc desc;
  std::vector<ServerDesc> known;
  CMUD_MESSAGE("kv.JoinReply", desc, known)
};

// The coordinator's own timer (retries unanswered joins).
struct JoinTick {
  CMUD_MESSAGE("kv.JoinTick")
};

}  // namespace cmud::server
