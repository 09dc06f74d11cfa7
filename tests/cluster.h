// A cluster of CMUD servers in one process, for the system tests.
//
// Servers start one after another on free ephemeral ports (port 0), each
// joining every server started before it, always with
// serialize_local_messages on. Every query actor gets pinned clients
// (FixedRouter), by default one: client i of a server talks to its actor
// i % actors, so clients 0, 1, 2… of a server are on distinct actors.
//
//   Cluster c({4, 4}, remote_options());
//   ASSERT_TRUE(c.ok());
//   c.client(0).put("k", "v");
//   c.stats();  // summed over servers
//
// Every runtime error a server reports (unknown target, undecodable frame,
// unreachable peer, an actor's error…) fails the test when the cluster is
// destroyed, unless allow_errors() was called. Errors reported while the
// cluster shuts down are ignored.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "cmud/actor/system.h"
#include "cmud/client/client.h"
#include "cmud/common/status.h"
#include "cmud/server/server.h"

namespace cmud::system_test {

using namespace std::chrono_literals;

// The original suite's constants.
inline constexpr std::chrono::milliseconds kLocalDeadline = 500ms;
inline constexpr std::chrono::milliseconds kRemoteDeadline = 2000ms;
inline constexpr std::chrono::milliseconds kLatency = 200ms;
inline constexpr std::chrono::milliseconds kLwwGranularity = 10ms;
inline constexpr uint64_t kMaxPairMsgsPerSec = 10;

struct ClusterOptions {
  // Emulated one-way latency between actor systems.
  std::chrono::milliseconds latency{0};
  // How long a Put may take to be visible everywhere; traces wait this.
  std::chrono::milliseconds deadline = kLocalDeadline;
  size_t clients_per_actor = 1;
};

// One server: no latency, 500 ms deadline.
inline ClusterOptions local_options(size_t clients_per_actor = 1) {
  return {.latency = 0ms,
          .deadline = kLocalDeadline,
          .clients_per_actor = clients_per_actor};
}

// Several servers: 200 ms latency, 2000 ms deadline.
inline ClusterOptions remote_options(size_t clients_per_actor = 1) {
  return {.latency = kLatency,
          .deadline = kRemoteDeadline,
          .clients_per_actor = clients_per_actor};
}

// Field-wise sum; max_pair_msgs_per_sec takes the maximum.
actor::Stats add(const actor::Stats& a, const actor::Stats& b);
// Counters of `later` minus those of `earlier` (max_pair_msgs_per_sec is
// later's).
actor::Stats since(const actor::Stats& later, const actor::Stats& earlier);

// Collects the errors servers report. Thread-safe.
class ErrorCollector {
 public:
  std::function<void(const Status&)> handler();
  // Errors reported after this are dropped (shutdown noise).
  void stop_collecting() { collecting_ = false; }
  std::vector<std::string> errors() const;

 private:
  mutable std::mutex mu_;
  std::vector<std::string> errors_;  // guarded by mu_
  std::atomic<bool> collecting_{true};
};

// Fails the test when the scope it guards (declare it first, so it also
// covers the cluster's shutdown) takes longer than the original suite's
// budget for the test. Only the test's thread may use it.
class Budget {
 public:
  explicit Budget(std::chrono::milliseconds limit);
  ~Budget();
  Budget(const Budget&) = delete;
  Budget& operator=(const Budget&) = delete;

 private:
  std::chrono::milliseconds limit_;
  std::chrono::steady_clock::time_point start_;
};

// Only the test's thread may add servers or destroy the cluster; clients
// are thread-safe and may be used from any thread.
class Cluster {
 public:
  explicit Cluster(ClusterOptions options = local_options());
  // Starts one server per entry of `shape`, with that many query actors.
  // On failure the test fails and ok() is false.
  Cluster(const std::vector<size_t>& shape, ClusterOptions options);
  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  // Starts a server with `actors` query actors that joins every earlier
  // server, and makes its clients. Returns false (and fails the test) when
  // the server cannot start.
  bool add_server(size_t actors);

  bool ok() const { return ok_; }
  const ClusterOptions& options() const { return options_; }
  std::chrono::milliseconds deadline() const { return options_.deadline; }

  size_t server_count() const { return servers_.size(); }
  server::Server& server(size_t i) { return *servers_.at(i); }
  // Query actors over all servers.
  size_t actor_count() const;

  size_t client_count() const { return clients_.size(); }
  client::Client& client(size_t i) { return *clients_.at(i).client; }
  // The server client i talks to.
  size_t server_of(size_t client) const { return clients_.at(client).server; }
  // Indexes of the clients of server s, in order.
  std::vector<size_t> clients_of(size_t s) const;

  // Summed over servers.
  actor::Stats stats() const;
  actor::Stats stats(size_t server) const {
    return servers_.at(server)->stats();
  }

  // Every server's max_pair_msgs_per_sec is at most 10.
  void expect_rate_within_limit() const;

  // Runtime errors reported so far, "server i: CODE: message".
  std::vector<std::string> errors() const;
  // Errors no longer fail the test.
  void allow_errors() { allow_errors_ = true; }

 private:
  struct PinnedClient {
    size_t server = 0;
    std::unique_ptr<client::Client> client;
  };

  ClusterOptions options_;
  bool ok_ = true;
  bool allow_errors_ = false;
  // One collector per server, so errors name their server.
  std::vector<std::unique_ptr<ErrorCollector>> collectors_;
  std::vector<std::unique_ptr<server::Server>> servers_;
  std::vector<PinnedClient> clients_;
};

}  // namespace cmud::system_test
