// Actor and Context: what an actor sees of the runtime.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>

#include "cmud/actor/actor_ref.h"
#include "cmud/actor/message.h"
#include "cmud/common/status.h"

namespace spdlog {
class logger;
}

namespace cmud::actor {

class System;
namespace detail {
class SystemImpl;
class Cell;
}  // namespace detail

// The host's background threads: long file jobs (snapshots) yield to the
// workers; syncs (fsync) have threads of their own, one per worker, so
// that one never waits behind a snapshot or another worker's sync.
enum class Lane : uint8_t { kLong, kSync };

// An actor's handle on the runtime, handed to its constructor. Lives exactly
// as long as the actor. Only the actor itself may use it (from its
// constructor or on_message), which is always on the actor's own worker
// except for the constructor.
class Context {
 public:
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  const ActorRef& self() const { return self_; }
  // The worker thread this actor runs on.
  size_t worker() const { return worker_; }
  System& system() const { return system_; }

  // Sends msg to `to` (local or remote). Never blocks; delivery failures go
  // to the system's error handler.
  template <MessageValue T>
  void tell(const ActorRef& to, T msg) {
    send(to, Message::make<T>(std::move(msg)));
  }
  // Answers a request (see Request in message.h) with its reply type.
  template <Request T>
  void reply(const T& request, typename T::Reply r) {
    tell(request.reply_to, std::move(r));
  }
  // Sends msg to `to` once delay has passed. Counts as sent now.
  template <MessageValue T>
  void tell_after(const ActorRef& to, T msg, std::chrono::milliseconds delay) {
    send_after(to, Message::make<T>(std::move(msg)), delay);
  }
  // Runs work away from every worker (a file job, on the host's thread for
  // `lane`), then tells this actor done. work must not touch the actor: it
  // shares nothing with it but what it captures.
  template <MessageValue T>
  void run_background(std::function<void()> work, T done,
                      Lane lane = Lane::kLong) {
    background(lane, std::move(work), Message::make<T>(std::move(done)));
  }
  // Asks for one on_pass_end() call once the worker has run what was ready
  // to run now (the other sockets and actors of this pass of its event
  // loop); asking again before it comes changes nothing. Work queued from
  // other threads meanwhile may run before it. Not a message: it counts
  // toward no pair's rate.
  void call_at_pass_end();

  // A logger whose lines name this actor.
  spdlog::logger& log() const;
  // Milliseconds since the Unix epoch, from the system's host (virtual time
  // in the simulator): actors read the time only here.
  uint64_t wall_ms() const;
  // Milliseconds on a clock that never goes back (timeouts).
  int64_t monotonic_ms() const;

 private:
  friend class detail::SystemImpl;
  friend class detail::Cell;
  Context(System& system, detail::SystemImpl& impl, detail::Cell& cell,
          ActorRef self, size_t worker)
      : system_(system),
        impl_(impl),
        cell_(cell),
        self_(std::move(self)),
        worker_(worker) {}

  void send(const ActorRef& to, Message msg);
  void send_after(const ActorRef& to, Message msg,
                  std::chrono::milliseconds delay);
  void background(Lane lane, std::function<void()> work, Message done);

  System& system_;
  detail::SystemImpl& impl_;
  detail::Cell& cell_;
  ActorRef self_;
  size_t worker_;
};

// Base class of every actor. The runtime calls on_message for one message at
// a time, never concurrently for one actor, always on the actor's worker.
// An actor must not block, start threads or do I/O other than logging and
// appending to its own files through System::files() (a write-ahead log).
class Actor {
 public:
  virtual ~Actor() = default;
  // A non-OK result is passed to the system's error handler.
  virtual Status on_message(Message& msg) = 0;
  // Called after each run of messages (a turn: up to a few dozen taken from
  // the mailbox at once), on the worker, before the worker moves on. An
  // actor that logs writes commits the turn's records here with one write
  // (and one fsync), then sends the replies it held back: group commit.
  virtual void on_turn_end() {}
  // Called, on the worker, after Context::call_at_pass_end(): once the
  // worker has run everything that was ready then. An actor whose turns
  // each hold few writes (one request per socket read) commits them all
  // here with one write and one fsync: group commit across the turns of a
  // pass, as Redis writes its AOF once per event-loop iteration.
  virtual void on_pass_end() {}
};

}  // namespace cmud::actor
