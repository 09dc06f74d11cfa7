// The actors of one storage server on its actor system, started the same
// way by Server (with real ports) and by the simulator (on simulated hosts).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "cmud/actor/system.h"
#include "cmud/common/files.h"
#include "messages.h"
#include "query_actor.h"

namespace cmud::server {

struct Replicas {
  ActorRef coordinator;           // actor 1
  std::vector<ActorRef> queries;  // one per worker, in port order
  ServerDesc desc;                // what other servers are told
  // With a data dir: what was read back (one line), and torn tails cut or
  // damage skipped, for the server's log.
  std::string recovery{};
  std::vector<std::string> recovery_warnings{};
};

// The next incarnation of the server whose durable state is in `dir`: one
// more than the last, persisted (written aside, synced, renamed, directory
// synced) before it is returned, so that no two starts share one even
// across crashes. kDecode if the counter file is damaged; kIo if the disk
// fails.
Result<uint64_t> next_incarnation(FileSystem& fs, const std::string& dir);

// The file in a data directory that lists the members a server knew (one
// actor-system address a line), so that a restart without --join (a whole
// cluster brought back) joins them again, and those it forgot ("forget
// <address> <incarnation> <at_ms>" lines), so that it does not.
inline constexpr std::string_view kMembersFile = "members";

struct MemberList {
  std::vector<std::string> members;
  std::vector<Forgotten> forgotten;
};
std::string format_members(const std::vector<std::string>& members,
                           const std::vector<Forgotten>& forgotten);
// Lines torn by a crash, or otherwise not in the format, are skipped.
MemberList parse_members(std::string_view text);

// Spawns the coordinator and one query actor per worker of `system` (which
// must have spawned nothing yet), then starts the coordinator, which joins
// `join` (actor-system addresses) and, with sync.data_dir, the members
// listed there, except those forgotten there or named in `forget` (which
// stay forgotten: CLUSTER FORGET). query_ports name the query ports in
// worker order (descriptions only). With sync.data_dir, first reads back the
// state kept there (system.files()) into every actor and folds it into one
// snapshot; kDecode if it is damaged (unless repair_log: then what precedes the
// damage is kept). kInternal if ids come out otherwise.
Result<Replicas> start_replicas(actor::System& system,
                                std::vector<std::string> query_ports,
                                const SyncOptions& sync,
                                std::vector<std::string> join,
                                bool repair_log = false,
                                std::vector<std::string> forget = {});

}  // namespace cmud::server
