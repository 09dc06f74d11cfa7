// Anti-entropy: two replicas find and repair whatever sync failed to carry
// (a dropped batch, a partition, a crash), in records that ride inside the
// SyncBatch flushes sync already sends (SyncBatch::repair), so repair never
// adds messages.
//
// The records are stateless questions and answers, each sent only when the
// last one showed a difference, so a converged pair exchanges one 8-byte
// digest per round (with the sender's bounds, see Knowledge) and the bytes
// grow with the divergence:
//
//   kShare   digest of a share of the key space   -> kGroups if it differs
//            (and the pair is quiet, or the round forced); if it
//            matches and carried bounds, kMatch with ours
//   kGroups  digests of that share's groups        -> kLeaves for each that
//                                                     differs
//   kLeaves  digests of those groups' leaves       -> kKeys for each that
//                                                     differs
//   kKeys    a leaf's keys with their versions,    -> the entries the peer
//            and the sender's horizon (below)         lacks or has older,
//                                                     and kWant for those
//                                                     it has newer
//   kWant    keys                                  -> their entries
//
// Once tombstones are collected (kv::Store::collect), a key a peer lacks
// may be one whose tombstone it freed. So a key list carries the sender's
// horizon when its walk began (below it, its store refuses what it lacks)
// and the digest of the sources that horizon counted
// (Members::sources_digest). Where those are our sources too, an entry of
// ours wholly below it that the peer lacks is not sent but dropped here:
// a tombstone it freed, or a value such a tombstone passed, or the writes
// of a server that came back after the grace period (see Coordinator).
// Not a counter: an increment keeps its base's older version. A new start that
// knows no other yet has other sources, so its horizon drops nothing anywhere.
// Nor do we ask for an entry below our own horizon that we lack: the store
// would refuse it.
//
// Leaves are kv::Store's (digests kept up to date on every apply); 128
// groups of 128 leaves; share i of n holds the groups g with g % n == i, so
// each of a server's n query actors repairs its own share.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "cmud/kv/store.h"

namespace cmud::server::repair {

inline constexpr size_t kGroups = 128;
inline constexpr size_t kLeavesPerGroup = kv::Store::kLeaves / kGroups;

// A source's bound as a record carries it: (origin, clock value).
using Bounds = std::vector<std::pair<uint64_t, uint64_t>>;

// What a replica is known to hold, for tombstone collection: for each group
// and each source (a query actor of one start, named by its origin), a
// clock value T such that the replica's group holds everything that source
// held once its own clock had passed T. A source makes no write below its
// clock, so a replica whose bound is at least T for every live source and
// every group holds every write those sources made below T, or a newer
// version of its key (or the floor passed it). An increment keeps its
// counter's version: a counter's parts are not covered.
//
// Learned from repair: when a group's digests match, the two replicas held
// the same entries there, so each holds what the other was known to hold
// (contents only grow: a merge keeps the newer version, a clear raises the
// floor). Each round's records carry the sender's bounds, the least over
// the share's groups (one round in four carries them); a matching share
// whose round carried bounds is answered with kMatch and the answerer's,
// so both sides learn.
// Thread-compatible.
class Knowledge {
 public:
  explicit Knowledge(uint64_t self = 0) : self_(self) {}
  // Our own bound: no write of ours will be below it (the clock's next
  // value).
  void set_clock(uint64_t next) { clock_ = next; }
  // Our bounds over the groups of share `index` of `shares`, ours included.
  Bounds bounds(uint32_t shares, uint32_t index) const;
  // The groups now hold what a replica known to hold `b` held.
  void learn(const std::vector<uint32_t>& groups, const Bounds& b);
  // A sync stream's claim (query_actor.cc): the replica now holds every
  // write of `source` in [from, to), so each group known to hold those
  // below `from` holds those below `to`.
  void learn_range(uint64_t source, uint64_t from, uint64_t to);
  // The least bound over every group and each of `sources` (ours: our
  // clock); 0 if one was never learned.
  uint64_t complete_below(const std::vector<uint64_t>& sources) const;
  // The least bound over every group for `source` (0: not known in some).
  uint64_t least(uint64_t source) const;
  // Forgets every source not in `sources`.
  void keep_only(const std::vector<uint64_t>& sources);
  size_t known_sources() const { return known_.size(); }

 private:
  uint64_t self_;
  uint64_t clock_ = 0;
  std::unordered_map<uint64_t, std::array<uint64_t, kGroups>> known_;
};

// What answering produces for the peer: more records, and entries encoded
// as in a SyncBatch.
struct Reply {
  std::string records;
  std::string entries;
  uint32_t count = 0;
  // The records showed a difference (answers from the peer, or ours).
  bool differs = false;
  // Our entries found stale (key, version): the owner drops them
  // (kv::Store::drop_stale), and the greatest peer horizon that made one
  // stale (a cluster's horizon over our sources: the owner's store takes
  // it, so that a late copy of what it dropped is refused too).
  std::vector<std::pair<std::string, kv::Version>> stale;
  uint64_t stale_horizon = 0;
  bool empty() const { return records.empty() && count == 0; }
  size_t bytes() const { return records.size() + entries.size(); }
};

// Opens a round on share `index` of `shares` (nothing when the share holds
// no group: index >= kGroups). A forced round is answered even by a busy
// peer.
// `known`, when given, adds our bounds and learns from the answers.
void open_round(const kv::Store& store, uint32_t shares, uint32_t index,
                bool forced, std::string& records,
                const Knowledge* known = nullptr);

// The answers that need the entries of some leaves (our key lists, and the
// comparison with the peer's). No index finds a leaf's keys, so they come
// from a walk of the replica in steps of a bounded number of entries (one
// step per turn keeps every turn short on a large store).
// Thread-compatible.
class LeafWalk {
 public:
  bool empty() const { return wanted_.empty(); }
  // Walks on; true once the whole replica has been walked.
  bool step(const kv::Store& store, size_t budget);
  // Writes the answers, at most about max_bytes, and empties the walk.
  // REQUIRES: step() returned true.
  void finish(const kv::Store& store, size_t max_bytes, Reply& out);

 private:
  friend bool answer(const kv::Store&, std::string_view, bool, size_t, Reply&,
                     LeafWalk*, Knowledge*, uint64_t);
  struct Key {
    std::string key;
    kv::Version version;
    bool deleted = false;
    uint64_t state = 0;    // kv::Store::extra_hash: a counter's, an expiry's
    kv::Version top;       // kv::Store::top (ours only), or version
    bool counter = false;  // ours only
  };
  std::vector<bool> wanted_;                     // by leaf; empty: no walk
  std::vector<uint32_t> leaves_;                 // our lists go to the peer
  std::map<uint32_t, std::vector<Key>> theirs_;  // compared with ours
  std::map<uint32_t, uint64_t> their_horizons_;  // by leaf (0: none)
  // Ours when the walk began, and the digest of its sources.
  uint64_t horizon_ = 0;
  uint64_t sources_digest_ = 0;
  std::map<uint32_t, std::vector<Key>> ours_;  // gathered by the walk
  std::optional<std::string> after_;           // where the walk goes on
  bool started_ = false;
};

// Answers the peer's records into `out`, adding at most about max_bytes
// (what does not fit is found again next round), and hands what needs a
// leaf's entries to `walk` if it is empty (else that part waits for the
// next round). While sync with the peer is busy (`quiet` false), entries in
// flight would look like divergence, so a round that is not forced is not
// answered. `sources_digest` names the sources our store's horizon
// counted (Members::sources_digest). False, with nothing answered, if the
// records are malformed.
bool answer(const kv::Store& store, std::string_view records, bool quiet,
            size_t max_bytes, Reply& out, LeafWalk* walk,
            Knowledge* known = nullptr, uint64_t sources_digest = 0);

}  // namespace cmud::server::repair
