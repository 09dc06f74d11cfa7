// The storage server: one actor system, N query actors each with
// a full replica and a Redis-protocol query port, syncing with each other
// and with other servers in the background.
//
//   auto server = cmud::server::Server::start({.port = 6000, .actors = 2});
//   (*server)->description();   // JSON other servers join with
//   (*server)->query_addrs();    // "127.0.0.1:6001", "127.0.0.1:6002"
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cmud/actor/system.h"
#include "cmud/common/status.h"
#include "cmud/durable/log.h"
#include "cmud/resp/resp.h"
#include "cmud/tls/tls.h"

namespace cmud::server {

inline constexpr std::string_view kVersion = "0.1.0";

struct ServerConfig {
  std::string host = "127.0.0.1";
  // The actor system listens on port; query actor i on port + 1 + i. Port 0
  // picks free ports for everything (tests).
  uint16_t port = 6000;
  // Query actors (and worker threads); 0 means one per core.
  size_t actors = 0;
  // Servers to join: descriptions (the JSON each prints) or "host:port" of
  // their actor systems.
  std::vector<std::string> join;
  // Members ("host:port" of their actor systems) to forget for good, as
  // CLUSTER FORGET does: not joined, and whichever start of each the
  // cluster knows is dropped everywhere. A later start of them can join.
  std::vector<std::string> forget;
  // An extra port whose connections are spread round-robin over the actors.
  std::optional<uint16_t> client_port;
  std::chrono::milliseconds emulated_latency{0};
  bool serialize_local_messages = false;
  // Internal errors (see actor::SystemConfig::on_error); default: log.
  std::function<void(const Status&)> on_error = nullptr;
  // Parser limits; limits.max_bulk is Redis's proto-max-bulk-len (32 MiB
  // here, not Redis's 512 MB: a value must fit one sync frame of 64 MiB).
  resp::Limits limits = {};
  // Redis's maxclients: connections over all query ports; past it a new
  // one gets "-ERR max number of clients reached" and is closed.
  size_t max_clients = 10'000;
  // Redis's client-query-buffer-limit: unparsed input of one connection;
  // past it the connection gets an error and is closed.
  size_t client_query_buffer_limit = size_t{1} << 30;
  // Replies one connection may have waiting for it (a client that asks and
  // never reads); past it the connection is closed, as Redis's
  // client-output-buffer-limit hard limit. Redis sets none for normal
  // clients; 1 GiB is far above ordinary replies (a value is at most
  // 60 MiB) yet bounds a pipeline of big ones. 0: no limit.
  size_t client_output_buffer_limit = size_t{1} << 30;
  // Redis's maxmemory: while the allocator holds more, client writes that
  // would grow the store (SET, INCR, APPEND...) get -OOM; reads, deletes
  // and writes from other servers go on. 0: no limit. CONFIG SET changes
  // it and the client limits above while the server runs.
  uint64_t maxmemory = 0;
  // Least time between two sync flushes of one actor (keeps every ordered
  // actor pair at no more than 10 messages a second).
  std::chrono::milliseconds sync_spacing{102};
  // A version from another server more than this far ahead of our clock is
  // held back (and retried) instead of moving our clock (docs/VERSIONS.md).
  std::chrono::milliseconds max_clock_skew{60'000};
  // Another server not heard from for this long is marked down: nothing is
  // kept for it until it answers again, then repair catches it up.
  std::chrono::milliseconds member_timeout{5000};
  // How long a member that is down (or a start that ended) holds tombstone
  // collection back. One that comes back later has its writes from before
  // the cluster's horizon refused (docs/ARCHITECTURE.md).
  std::chrono::milliseconds gc_grace{3'600'000};
  // What each query actor's change log may keep alive for peers that lag
  // behind it; past it they get the rest by repair.
  uint64_t max_sync_lag_bytes = 64u << 20;
  // Shared by every server of the cluster: connections between servers
  // start with a mutual proof of it, and servers without it are refused
  // (actor::SystemConfig::cluster_secret). Empty: no authentication.
  std::string cluster_secret{};
  // Where the server keeps its durable state: its incarnation counter, the
  // query actors' logs and the snapshot (docs/ARCHITECTURE.md). Empty:
  // nothing is durable.
  std::string data_dir{};
  // When logged writes reach the disk (Redis's appendfsync): kAlways before
  // a write is acknowledged, kEverySec within about a second.
  durable::Fsync fsync = durable::Fsync::kEverySec;
  // Start even if a log or the snapshot is damaged in the middle, keeping
  // what precedes the damage (the rest comes back from other servers by
  // repair). Without it such a start is refused.
  bool repair_log = false;
  // The default user's password (Redis's requirepass): when set, a client
  // runs nothing but AUTH, HELLO ... AUTH, QUIT and RESET before it has
  // given it. Empty: no password.
  std::string requirepass{};
  // Redis's ACL file: one "user <name> <rule>..." per line, read at start
  // and by ACL LOAD, written by ACL SAVE. Users changed by ACL SETUSER or
  // DELUSER replace those of the file, across the cluster. Not with
  // requirepass (the file defines the default user).
  std::string aclfile{};
  // ACL SIGNUP's template (self-service accounts, e.g. a game's players):
  // ACL SETUSER rules in which "{user}" stands for the new user's name.
  // Empty: ACL SIGNUP is off.
  std::string signup_rules{};
  // Protected mode (as Redis's): a server listening beyond loopback without
  // a cluster secret refuses to start, and without a password its query
  // ports answer clients from beyond loopback with -DENIED.
  bool protected_mode = true;
  // TLS, with Redis's option names: the certificate, key and CA files, and
  // which client certificates TLS query ports ask for (tls-auth-clients).
  tls::TlsOptions tls{};
  // Every query port and the client port speak TLS only (--tls); the
  // description says so ("tls":true), so clients that join by it know.
  bool tls_query_ports = false;
  // An extra TLS port whose connections are spread round-robin over the
  // actors (Redis's tls-port), beside the plain query ports.
  std::optional<uint16_t> tls_port;
  // Links between servers use TLS, each side verifying the other's
  // certificate against the CA (Redis's tls-cluster). Members are then
  // proven by certificate: protected mode accepts it in place of a cluster
  // secret.
  bool tls_cluster = false;
  // A TLS query client that has not finished its handshake by then is
  // closed, so one that never does holds no place.
  std::chrono::milliseconds tls_handshake_timeout{10'000};
  // This start's incarnation, part of every version's origin; 0 takes the
  // next from data_dir, or without one takes the start time in ms with 16
  // random bits below it (a later start has a higher number, as gossip
  // expects).
  uint64_t incarnation = 0;
};

// Thread-safe.
class Server {
 public:
  // Binds every port, starts the actors and the join; returns once every
  // port listens. kUnavailable when a port is taken, kInvalidArgument for a
  // malformed join target.
  static Result<std::unique_ptr<Server>> start(ServerConfig config);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // The JSON description other servers join with:
  // {"address":"h:p","actors":[2,3],"query":["h:p1","h:p2"]}
  const std::string& description() const;
  // The actor system's "host:port".
  const std::string& address() const;
  // Query ports "host:port", in actor order.
  const std::vector<std::string>& query_addrs() const;
  // The client port's "host:port", when configured.
  const std::optional<std::string>& client_addr() const;
  // The TLS port's "host:port", when configured.
  const std::optional<std::string>& tls_addr() const;
  actor::Stats stats() const;
  // This start's incarnation (never 0).
  uint64_t incarnation() const;

  // Stops the actors, closes every port and shuts every client connection
  // down (its client sees the connection end). Idempotent.
  void stop();

 private:
  class Impl;
  explicit Server(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Reads a cluster secret file: its contents without trailing whitespace.
// kInvalidArgument when it cannot be read, is shorter than 16 bytes, or
// longer than 4096.
Result<std::string> read_cluster_secret(const std::string& path);

// A memory value as Redis writes them: digits and an optional unit (b, k,
// kb, m, mb, g, gb; k is 1000, kb 1024), any case. nullopt when malformed
// or over 2^64.
std::optional<uint64_t> parse_memory_value(std::string_view v);

// Reads a password file (--requirepass-file): its contents without
// trailing whitespace. kInvalidArgument when it cannot be read, is empty,
// or is longer than 4096 bytes.
Result<std::string> read_password_file(const std::string& path);

// The actor-system address named by a join target: a description's
// "address", or "host:port" itself.
Result<std::string> join_target_address(const std::string& target);

}  // namespace cmud::server
