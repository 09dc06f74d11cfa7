// System: one actor runtime per process. Read this header first.
//
//   auto sys = cmud::actor::System::create({.workers = 2});
//   if (!sys.ok()) return sys.status();
//   ActorRef counter = (*sys)->spawn<Counter>();
//   (*sys)->tell(counter, Add{.n = 1});
//   Result<Count> count = (*sys)->request(counter, Get{}).get();
//
// apps/actor-example/main.cc is this example whole.
#pragma once

#include <asio/any_io_executor.hpp>
#include <asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>

#include "cmud/actor/actor.h"
#include "cmud/actor/actor_ref.h"
#include "cmud/actor/host.h"
#include "cmud/actor/message.h"
#include "cmud/common/status.h"
#include "cmud/tls/tls.h"

namespace cmud::actor {

// Whether message frames between systems carry MACs after the handshake
// (only with a cluster secret): without TLS, they keep anyone in the middle
// of an authenticated TCP stream from injecting or changing frames.
enum class FrameMacs {
  kAuto,    // on links that are not loopback
  kAlways,  // on every link (tests)
  kNever,   // off unless the peer asks
};

struct SystemConfig {
  // Where to accept remote systems. Port 0 picks a free port (see address()).
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  // False: no listener; refs name a process-local address that remote
  // systems cannot reach (fine for clients that only send).
  bool listen = true;
  // Worker threads; 0 means one per core.
  size_t workers = 0;
  // Test/debug mode: every local message is encoded, decoded and, when
  // its type has operator==, compared with the original.
  bool serialize_local_messages = false;
  // Emulated one-way latency added to everything sent to remote systems.
  std::chrono::milliseconds emulated_latency{0};
  // Frames larger than this are refused on send and close the connection on
  // receive.
  size_t max_frame_bytes = 64u << 20;
  // Bytes that may wait to go out to one remote system (slow, paused or
  // unreachable); past it messages to it are dropped and counted.
  size_t max_peer_queue_bytes = 64u << 20;
  // The cluster secret: when set, every connection between systems starts
  // with a mutual challenge-response proving both sides know it (HMAC-
  // SHA256 over fresh nonces), and systems without it can neither send
  // nor receive a message. Every system of a cluster must have the same.
  std::string cluster_secret{};
  // A connection that has not completed its handshake by then is closed.
  std::chrono::milliseconds handshake_timeout{5000};
  FrameMacs frame_macs = FrameMacs::kAuto;
  // When set, every connection between systems is TLS: our certificate and
  // key, and the CA every peer's certificate must chain to (both sides
  // verify; auth_clients is ignored). Complements the cluster secret.
  std::optional<tls::TlsOptions> cluster_tls{};
  // Receives every internal error: unknown target, undecodable frame,
  // unreachable peer, an actor's non-OK result. Called from any runtime
  // thread; must be thread-safe and must not block. Default: log a warning.
  std::function<void(const Status&)> on_error = nullptr;
  // Name used in log lines.
  std::string name = "cmud";
  // What the system runs on (host.h). Null: its own threads, Asio, the
  // clocks and TCP, per the fields above; otherwise host, port, listen,
  // workers and the network fields are the host's business.
  std::shared_ptr<Host> runtime_host = nullptr;
};

// Runtime statistics. All counters are totals since start.
struct Stats {
  uint64_t messages_sent = 0;           // external + actor
  uint64_t messages_sent_external = 0;  // System::tell from outside
  uint64_t messages_sent_actor = 0;     // Context::tell / tell_after
  uint64_t bytes_sent = 0;              // encoded size of every message sent
  uint64_t remote_bytes_received = 0;   // bytes read from remote systems
  uint64_t channel_refs_used = 0;       // channel refs created
  uint64_t auth_failures = 0;  // connections refused in or for the handshake
  // Messages to remote systems dropped because too much waited for them.
  uint64_t dropped_queue_full = 0;
  // Most messages one ordered actor pair sent within any 1-second window.
  // Measured in 1 ms buckets over 1001 ms, so it can only over-count.
  uint64_t max_pair_msgs_per_sec = 0;
};

// A single-use ref and the future that receives its one message.
struct Channel {
  ActorRef ref;
  // Holds the message, or kClosed if the system closed first.
  std::future<Result<Message>> reply;
};

// The actor system. Thread-safe: every member may be called from any thread,
// except that close() and the destructor must not be called from a worker.
class System {
 public:
  // Starts the workers and (if config.listen) the listener. Fails with
  // kUnavailable when the address cannot be bound.
  static Result<std::unique_ptr<System>> create(SystemConfig config);

  ~System();
  System(const System&) = delete;
  System& operator=(const System&) = delete;

  // "host:port" this system is reachable at; every ref it makes carries it.
  const std::string& address() const;
  size_t worker_count() const;
  // The executor of worker i: code posted here runs on the same thread as
  // the actors placed on worker i. REQUIRES: i < worker_count(), and a
  // host with event loops (the default; not the simulator's).
  asio::io_context::executor_type executor(size_t worker);

  // Constructs A(Context&, args...) and places it on the given worker (or
  // round-robin). The constructor runs on the calling thread; messages are
  // handled on the worker once it returns.
  template <class A, class... Args>
  ActorRef spawn(Args&&... args) {
    return spawn_on<A>(std::nullopt, std::forward<Args>(args)...);
  }
  template <class A, class... Args>
  ActorRef spawn_on(std::optional<size_t> worker, Args&&... args) {
    static_assert(std::is_base_of_v<Actor, A>, "actors derive from Actor");
    return spawn_impl(worker, [&](Context& ctx) -> std::unique_ptr<Actor> {
      return std::make_unique<A>(ctx, std::forward<Args>(args)...);
    });
  }

  // Sends msg from outside the system. Never blocks.
  //
  // Called on the worker of an idle local actor (by code that is not an
  // actor: a socket handler posted to executor(i)), it runs the actor
  // before returning, and a reply the actor sends to a callback channel on
  // that worker runs inside the actor's turn: so by the time tell()
  // returns, the callback may have run. Callers on a worker must not hold
  // state the callback needs in an inconsistent shape across this call.
  // From any other thread, tell() only enqueues.
  template <MessageValue T>
  void tell(const ActorRef& to, T msg) {
    send_external(to, Message::make<T>(std::move(msg)));
  }

  // Sends a request (see Request in message.h) with a fresh channel as its
  // reply_to. The future holds the reply as its type, kProtocol for a reply
  // of another type, or kClosed if the system closes first.
  template <Request T>
  std::future<Result<typename T::Reply>> request(const ActorRef& to, T msg) {
    using R = typename T::Reply;
    auto promise = std::make_shared<std::promise<Result<R>>>();
    auto future = promise->get_future();
    msg.reply_to = completion_channel([promise](Result<Message> m) {
      promise->set_value(reply_as<R>(std::move(m)));
    });
    tell(to, std::move(msg));
    return future;
  }
  // Sends a request; then(Result<Reply>) runs on ex once the reply arrives
  // (never if the system closes first). As with tell(), on the worker of
  // the actor it asks, then may run before request() returns.
  template <Request T, class F>
  requires std::invocable<F&, Result<typename T::Reply>>
  void request(const ActorRef& to, T msg, asio::any_io_executor ex, F then) {
    using R = typename T::Reply;
    msg.reply_to =
        channel(std::move(ex), [then = std::move(then)](Message m) mutable {
          then(reply_as<R>(std::move(m)));
        });
    tell(to, std::move(msg));
  }

  // A single-use ref whose one message completes the future.
  Channel channel();
  // A single-use ref whose one message is passed to fn, run on ex.
  ActorRef channel(asio::any_io_executor ex, std::function<void(Message)> fn);
  // A single-use ref whose one message, or kClosed if the system closes
  // first, is passed to done on the delivering thread (a worker, the
  // network, or the simulator's one thread). done must not block.
  ActorRef completion_channel(std::function<void(Result<Message>)> done);

  Stats stats() const;
  // The files of the host this system runs on (host.h).
  FileSystem& files();

  // Idempotent: stops the workers and the network, discards pending
  // messages, completes open channel futures with kClosed. Later sends are
  // dropped. REQUIRES: not called from a worker thread.
  void close();
  bool closed() const;

 private:
  friend class Context;
  explicit System(std::unique_ptr<detail::SystemImpl> impl);
  ActorRef spawn_impl(
      std::optional<size_t> worker,
      const std::function<std::unique_ptr<Actor>(Context&)>& make);
  void send_external(const ActorRef& to, Message msg);

  std::unique_ptr<detail::SystemImpl> impl_;
};

}  // namespace cmud::actor
