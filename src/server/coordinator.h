// The coordinator: the server's membership actor (always actor id 1, so a
// new server can reach it knowing only "host:port").
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "cmud/actor/actor.h"
#include "messages.h"

namespace cmud::server {

inline constexpr uint64_t kCoordinatorId = 1;

// Starts syncing with the servers it is told to join and with every server
// that joins it, and tells its query actors about each. Only its worker
// touches it (it is an actor).
class Coordinator : public actor::Actor {
 public:
  // `queries` are this server's query actors, in port order (spawned after
  // it); `join` the actor-system addresses of servers to join (and pull
  // state from; a server that recovered its state from disk passes
  // want_state false: repair brings what it missed, not a full copy);
  // `forgotten` the members forgotten before (the members file) or to be
  // forgotten now (--forget: incarnation 0, whichever start the others
  // know). Nothing happens until it gets StartCoordinator.
  // Every repair_interval (0: never) it tells each query actor to open an
  // anti-entropy round, so that their own timers keep the sync budget.
  // A member down for longer than gc_grace, and a start that ended (another
  // start of its server, or forgotten) that long ago, no longer hold the
  // horizon back (Members::sources): what they did not pass on by then may
  // be refused (docs/ARCHITECTURE.md, tombstone collection).
  Coordinator(actor::Context& ctx, ServerDesc self,
              std::vector<ActorRef> queries, std::vector<std::string> join,
              std::vector<Forgotten> forgotten,
              std::chrono::milliseconds repair_interval,
              std::chrono::milliseconds member_timeout =
                  std::chrono::milliseconds(5000),
              bool want_state = true, std::string data_dir = {},
              uint64_t snapshot_bytes = 0,
              std::chrono::milliseconds gc_grace = std::chrono::hours(1));

  Status on_message(actor::Message& msg) override;

 private:
  void on_start();
  void on_join_request(JoinRequest& r);
  void on_join_reply(JoinReply& r);
  void on_tick();
  void on_repair_tick();
  void on_gossip(Gossip& g);
  void on_gossip_tick();
  void on_claim(const Claim& c);
  // The least of our actors' claims (0 until each has made one).
  uint64_t own_claim() const;
  // Recomputes horizon_: the least claim of ours and every member's (each
  // made over the same sources as ours).
  void update_horizon();
  // Recomputes sources_ and sources_digest_, and forgets the starts that
  // ended more than gc_grace ago.
  void refresh_sources();
  // A start that ended: its writes count as sources' for gc_grace from
  // `age_ms` ago.
  void retire(const ServerDesc& d, int64_t age_ms = 0);
  // Down for longer than gc_grace: no longer waited for.
  bool excluded(const std::string& address) const;
  // Snapshots: every query actor seals its log, then a background job
  // folds the sealed segments into a new snapshot (durable/recovery.h).
  void on_start_snapshot(const StartSnapshot& s);
  void begin_snapshot();
  void on_log_rotated(LogRotated& r);
  void on_snapshot_written();
  void on_forget(const ForgetServer& f);
  void tell_forgotten(const ServerDesc& d);
  // Any word from a server: it is up (again).
  void heard(const std::string& address);
  // Whether a description may be learned: not a forgotten start of its
  // address. first_hand: the server itself sent it (so that start is
  // running now). Resolves a forget whose incarnation was not known yet.
  bool admitted(const ServerDesc& d, bool first_hand);
  // Adds a server, or takes a new start of it; true if it was new.
  bool add_server(const ServerDesc& d, bool full_state, bool first_hand);
  // A forget heard from another member (the latest of an address wins).
  void merge_forgotten(const std::vector<Forgotten>& list);
  void remove_server(const std::string& address);
  std::vector<Forgotten> forgotten_list() const;
  // Tells the query actors the member list (INFO cluster, CLUSTER FORGET):
  // once a gossip round, not at each change, which keeps the pair with each
  // actor within its 10 messages a second.
  void publish_members();
  // Writes the known members to data_dir (see members_file in replicas.h).
  void save_members();
  void request_join(const std::string& address, bool want_state);
  void schedule_tick();
  // Every control message to this server's query actors goes through here:
  // at most kControlPerSecond to each in any second (the cluster's limit
  // per pair of actors is 10), the rest queued in order and sent as the
  // window allows. Membership flapping during restarts could otherwise
  // send one actor a state change, a member list, a server added, a
  // repair tick and a log rotation within one second, and more.
  template <class T>
  void to_actors(const T& msg) {
    for (size_t i = 0; i < queries_.size(); ++i) {
      outbox_[i].queued.push_back(
          [this, q = queries_[i], msg] { ctx_.tell(q, msg); });
    }
    flush_control();
  }
  void flush_control();

  actor::Context& ctx_;
  const ServerDesc self_;
  const std::vector<ActorRef> queries_;
  const std::vector<std::string> join_;
  const std::chrono::milliseconds repair_interval_;
  const std::chrono::milliseconds member_timeout_;
  const std::chrono::milliseconds gc_grace_;
  const bool want_state_;
  const std::string data_dir_;
  struct SnapshotJob;
  bool saving_ = false;
  bool again_ = false;    // another snapshot is wanted after this one
  size_t rotations_ = 0;  // LogRotated still to come
  // Sealed segments not yet in a snapshot (kept across a failed attempt).
  std::vector<std::string> sealed_;
  std::shared_ptr<SnapshotJob> job_;
  SnapshotState state_;
  struct Outbox {
    std::deque<std::function<void()>> queued;
    std::deque<int64_t> sent_ms;  // monotonic, within the last second
  };
  std::vector<Outbox> outbox_;  // by query actor
  bool flush_pending_ = false;  // a ControlFlush is on its way
  // When each known server was last heard from, and those marked down.
  std::map<std::string, int64_t> heard_ms_;
  std::set<std::string> down_;
  std::set<std::string> warned_;  // join retries already logged
  std::map<std::string, ServerDesc> known_;
  // Our actors' claims (by index), each member's (first-hand, with the
  // incarnation that made it), and the horizon: it never goes back.
  struct MemberClaim {
    uint64_t incarnation = 0;
    uint64_t hlc = 0;
    uint64_t sources_digest = 0;
  };
  std::vector<std::pair<uint64_t, uint64_t>> claims_;  // (hlc, digest)
  std::map<std::string, MemberClaim> member_claims_;
  uint64_t horizon_ = 0;
  int64_t started_ms_ = 0;    // monotonic, at on_start()
  bool knew_member_ = false;  // some member was known since the start
  // Starts that ended, by (address, incarnation): their description and
  // when (monotonic ms). At most kMaxEndedStarts: each is a source that
  // every query actor keeps bounds for and every gossip carries, so a
  // server restarting in a loop must not grow them for a whole grace
  // period; past the bound the earliest ended go first (they have had the
  // longest to pass their writes on), as if their grace had passed.
  static constexpr size_t kMaxEndedStarts = 128;
  std::map<std::pair<std::string, uint64_t>, std::pair<ServerDesc, int64_t>>
      retired_;
  std::vector<uint64_t> sources_;  // sorted
  uint64_t sources_digest_ = 0;
  std::map<std::string, Forgotten> forgotten_;  // by address
  bool self_forgotten_ = false;  // the others forgot this start (logged)
  size_t ended_dropped_ = 0;     // starts let go past kMaxEndedStarts
  // Joins asked for and not yet answered: address -> want_state.
  std::map<std::string, bool> pending_;
  bool tick_pending_ = false;
};

}  // namespace cmud::server
