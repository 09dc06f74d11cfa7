// Host: what an actor system runs on. Its worker threads and their event
// loops, its clocks, the network to other systems, and its files.
// System::create uses the real one (threads, Asio, steady and system clocks,
// TCP) unless SystemConfig::host names another; the simulator (cmud::sim)
// supplies one that runs every system of a cluster on one thread, in virtual
// time, over a simulated network, so the same actors run unchanged in both.
#pragma once

#include <asio/io_context.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "cmud/actor/actor.h"
#include "cmud/actor/message.h"
#include "cmud/common/files.h"
#include "cmud/common/status.h"

namespace cmud::actor {

// The runtime's side of a host: what the host hands back to it. Implemented
// by the runtime; its members are thread-safe.
class HostInbox {
 public:
  // A message from another system for the actor or channel `target`.
  virtual void deliver(uint64_t target, Message msg) = 0;
  // An error the host met (unreachable peer, refused connection, ...).
  virtual void report(Status status) = 0;
  virtual void count_auth_failure() = 0;
  virtual void add_remote_bytes(uint64_t n) = 0;
  // A message to another system was dropped: too much waits for it.
  virtual void count_queue_drop() = 0;
  // The calling thread is worker `worker`'s from now on (a host with
  // threads of its own calls this as each starts).
  virtual void enter_worker(size_t worker) = 0;

 protected:
  ~HostInbox() = default;
};

// Thread-safe: post, post_after, send and the clocks may be called from any
// thread of the host; start and stop from one thread that is not a worker.
class Host {
 public:
  virtual ~Host() = default;

  virtual size_t worker_count() const = 0;
  // Starts the workers and the network; returns the address ("host:port")
  // other systems reach this one at. The inbox outlives stop().
  virtual Result<std::string> start(HostInbox& inbox) = 0;
  // Returns once no task runs; queued tasks and timers are dropped, later
  // posts and sends are ignored. Idempotent.
  virtual void stop() = 0;

  // Runs task on worker `worker`, after the tasks posted there before it.
  virtual void post(size_t worker, std::function<void()> task) = 0;
  // Runs task on worker `worker` once delay has passed.
  virtual void post_after(size_t worker, std::chrono::milliseconds delay,
                          std::function<void()> task) = 0;
  // Sends msg to `target` on the system at `address`: at most once, and in
  // order with everything else this system sends to that address.
  virtual void send(const std::string& address, uint64_t target,
                    const Message& msg) = 0;

  // Milliseconds on a clock that never goes back (rate accounting).
  virtual int64_t monotonic_ms() = 0;
  // Milliseconds since the Unix epoch (versions); may jump either way.
  virtual uint64_t wall_ms() = 0;

  // The files of this host: the machine's, or the simulator's, which keep
  // across a crash only what was synced.
  virtual FileSystem& files() = 0;
  // Runs work away from the workers (file jobs, so that no worker stalls),
  // then posts done to worker `worker`. The real host runs the long jobs
  // one at a time on one thread, and each worker's syncs one at a time on
  // a thread of the worker's own, joined by stop() (which waits for the
  // jobs under way); the simulator runs the job in virtual time on the
  // worker, as one step. After stop(), nothing more runs.
  virtual void run_background(size_t worker, Lane lane,
                              std::function<void()> work,
                              std::function<void()> done) = 0;

  // Worker `worker`'s event loop, for sockets; null on hosts without one.
  virtual asio::io_context* io(size_t /*worker*/) { return nullptr; }
};

}  // namespace cmud::actor
