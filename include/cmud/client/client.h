// The client library: Get/Put/List/Del (and PUBLISH) against CMUD query
// ports, which speak RESP, so it works against any Redis-protocol server
// too. Subscriptions: client/subscriber.h.
//
//   auto client = cmud::client::Client(
//       std::make_shared<cmud::client::RoundRobinRouter>(
//           std::vector<std::string>{"127.0.0.1:6001", "127.0.0.1:6002"}));
//   cmud::Status s = client.put("cat/name", "charlie");
//   auto v = client.get("cat/name");  // Result<std::optional<std::string>>
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "cmud/client/credentials.h"
#include "cmud/common/status.h"
#include "cmud/tls/tls.h"

namespace cmud::client {

// Names the query port ("host:port") for the next request. next_addr() is
// called exactly once before every request (simulating DNS load balancing).
// Implementations must be thread-safe.
class Router {
 public:
  virtual ~Router() = default;
  virtual std::string next_addr() = 0;
};

// Always the same address. Thread-safe.
class FixedRouter : public Router {
 public:
  explicit FixedRouter(std::string addr);
  std::string next_addr() override;

 private:
  const std::string addr_;
};

// Each address in turn. Thread-safe.
class RoundRobinRouter : public Router {
 public:
  // REQUIRES: !addrs.empty().
  explicit RoundRobinRouter(std::vector<std::string> addrs);
  std::string next_addr() override;

 private:
  const std::vector<std::string> addrs_;
  std::atomic<uint64_t> next_{0};
};

// A uniformly random address. Thread-safe.
class RandomRouter : public Router {
 public:
  // REQUIRES: !addrs.empty(). seed 0 seeds from std::random_device (so
  // clients spread differently); any other seed repeats its sequence.
  explicit RandomRouter(std::vector<std::string> addrs, uint64_t seed = 0);
  std::string next_addr() override;

 private:
  const std::vector<std::string> addrs_;
  std::mutex mu_;
  std::mt19937_64 rng_;  // guarded by mu_
};

// Several servers, one at a time: a Client given this router fails over
// (see FailoverOptions). next_addr() names the server in use (the last
// chosen, or the first, while a choice is under way). The client's I/O
// thread moves it; any thread may read it. Give each Client its own.
// Thread-safe.
class FailoverRouter : public Router {
 public:
  // REQUIRES: !addrs.empty().
  explicit FailoverRouter(std::vector<std::string> addrs);
  std::string next_addr() override;

  const std::vector<std::string>& addrs() const { return addrs_; }
  // The server in use; nullopt while the client is choosing one.
  std::optional<std::string> current() const;
  // How often the client moved to another server after its first choice.
  uint64_t moves() const { return moves_.load(std::memory_order_acquire); }

  // For the client: index of the server chosen (or -1: choosing); `moved`
  // counts a move.
  void set_current(int index, bool moved);

 private:
  const std::vector<std::string> addrs_;
  std::atomic<int> current_{-1};
  std::atomic<int> last_{0};  // the last chosen (next_addr while choosing)
  std::atomic<uint64_t> moves_{0};
};

// Splits "h:p,h:p" into addresses; kInvalidArgument when one is malformed
// (empty host or port, port not a number in 1..65535) or the list is empty.
// Spaces around an address are dropped; IPv6 hosts go in brackets:
// "[::1]:6000".
Result<std::vector<std::string>> parse_addrs(const std::string& list);

// How a Client with a FailoverRouter picks its server and leaves it.
//
// - Choosing: every candidate is sent a PING on a connection of its own;
//   the nearest healthy server wins (the lowest round trip; the earlier in
//   the list among those within twice the best, or 50 ms of it). Until one
//   answers,
//   requests wait (each until its own deadline).
// - Staying: every request goes to the chosen server, so one query actor
//   stamps a session's writes in order and the session reads its writes.
//   The client never moves back on its own.
// - Leaving: a request that fails for the network (refused, reset, closed,
//   no reply in time) makes the client choose among the others and send
//   that request once more there. A server that hangs (a stopped process
//   still accepts connections) is found by its silence: a request
//   unanswered for hang_after makes the client PING the server apart, and
//   no PONG within probe_timeout counts as a failure. Requests in flight
//   on the server left are sent once more to the new one: a write whose
//   reply was lost may thus run twice, or late on the old server when it
//   wakes (as with any client, an unanswered write's fate is unknown).
// - Order across a move: with carry_order, every request is followed by
//   CLOCK on its connection and its reply is handed over once CLOCK's has
//   come, so the client knows the greatest version its session has read
//   or written; every connection to a new server first says CLOCK <that>,
//   and the session's next write there beats all of them, whatever the
//   servers' clocks. Against a server without CLOCK (plain Redis) it
//   switches itself off.
struct FailoverOptions {
  std::chrono::milliseconds hang_after{1000};
  std::chrono::milliseconds probe_timeout{1000};
  bool carry_order = true;
  // When no server answers: wait (probing again every probe_timeout / 4)
  // until each request's deadline, as a session outliving a restart wants;
  // or fail at once, as a one-shot command wants.
  bool wait_for_a_server = true;
};

struct ClientOptions {
  // A request with no reply within this time fails with kTimeout (and the
  // connection it used is closed, since its replies can no longer be matched).
  std::chrono::milliseconds timeout{5000};
  std::chrono::milliseconds connect_timeout{2000};
  // Connections opened per address at most; requests beyond that are
  // pipelined on the least busy one.
  size_t max_connections_per_addr = 4;
  // Refused credentials fail every request of the connection with kDenied
  // and the server's words.
  Credentials credentials{};
  // Set: every connection speaks TLS under this context
  // (tls::client_context: the server's certificate is verified against its
  // CA; ours is sent when the server asks). Null: plain TCP.
  std::shared_ptr<tls::Context> tls{};
  // Used with a FailoverRouter only.
  FailoverOptions failover{};
};

using KeyValues = std::vector<std::pair<std::string, std::string>>;

// Thread-safe: any number of threads may issue requests at once; each
// request is one RESP command on a pooled connection to router->next_addr()
// (with a FailoverRouter, to the server it chose: see FailoverOptions).
// Network and protocol errors come back as non-OK results (kUnavailable,
// kTimeout, kProtocol); a server error reply as kInternal with its text.
class Client {
 public:
  // Starts the client's I/O thread; connections open on first use.
  // REQUIRES: router != nullptr.
  explicit Client(std::shared_ptr<Router> router, ClientOptions options = {});
  // Fails the requests still in flight with kClosed and joins the I/O
  // thread. REQUIRES: no other thread is still calling this client.
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // nullopt when the key is absent.
  Result<std::optional<std::string>> get(const std::string& key);
  Status put(const std::string& key, const std::string& value);
  // A value that every replica drops once `ttl` has passed (SET PX).
  Status put(const std::string& key, const std::string& value,
             std::chrono::milliseconds ttl);
  // Sends a pub/sub message to the subscribers of every server; the number
  // of receivers on the server that took it (client/subscriber.h).
  Result<int64_t> publish(const std::string& channel,
                          const std::string& message);
  // Every pair whose key starts with prefix, sorted by key; empty prefix:
  // all. Nothing matching is an empty result, not an error.
  Result<KeyValues> list(const std::string& prefix);
  // True when the key existed.
  Result<bool> del(const std::string& key);

  // Self-service accounts (ACL SIGNUP, on servers started with
  // --signup-rules). Whether `user` is free to sign up (false: a user has
  // that name).
  Result<bool> signup_free(const std::string& user);
  // Makes `user` with `password` from the server's template: true, or
  // false when the name is taken. Then sign in with a Client whose
  // ClientOptions::credentials are these. A server without signup (or a
  // user not allowed it) answers an error: kInternal with its words.
  Result<bool> signup(const std::string& user, const std::string& password);

  // Asynchronous forms: the future is ready when the reply (or error) is.
  std::future<Result<std::optional<std::string>>> get_async(std::string key);
  std::future<Status> put_async(std::string key, std::string value);
  std::future<Result<KeyValues>> list_async(std::string prefix);
  std::future<Result<bool>> del_async(std::string key);

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cmud::client
