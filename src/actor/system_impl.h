// Internals of the actor system; private to src/actor.
#pragma once

#include <spdlog/logger.h>
#include <asio/io_context.hpp>
#include <atomic>
#include <bit>
#include <chrono>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "cmud/actor/actor.h"
#include "cmud/actor/host.h"
#include "cmud/actor/system.h"
#include "mailbox.h"
#include "rate_window.h"

namespace cmud::actor::detail {

// One actor with its mailbox. The mailbox is thread-safe; actor, context and
// windows are touched only on the owning worker while `scheduled` is held.
class Cell {
 public:
  Cell(uint64_t id, size_t worker) : id(id), worker(worker) {}

  // Pair-rate window for messages from this actor to `to`.
  RateWindow& window_for(const ActorRef& to) {
    if (last_window_ != nullptr && last_target_ == to) return *last_window_;
    auto& w = windows_[to];
    if (!w) w = std::make_unique<RateWindow>();
    last_target_ = to;
    last_window_ = w.get();
    return *w;
  }

  const uint64_t id;
  const size_t worker;
  Mailbox<Message> mailbox;
  // True while a run is posted or running; starts true so that nothing runs
  // before the constructor has returned.
  std::atomic<bool> scheduled{true};
  // An on_pass_end call is posted (only the cell's worker touches it).
  bool pass_end_posted = false;
  std::unique_ptr<Context> context;
  std::unique_ptr<Actor> actor;

 private:
  std::unordered_map<ActorRef, std::unique_ptr<RateWindow>> windows_;
  ActorRef last_target_;
  RateWindow* last_window_ = nullptr;
};

// Actor ids index a table that only grows: chunk k holds 64 << k slots, so a
// lookup is two atomic loads and never takes a lock. Thread-safe.
class CellTable {
 public:
  CellTable() = default;
  ~CellTable();
  CellTable(const CellTable&) = delete;
  CellTable& operator=(const CellTable&) = delete;

  // REQUIRES: each index is put at most once.
  void put(uint64_t index, std::unique_ptr<Cell> cell);
  Cell* get(uint64_t index) const;
  // Every cell, for shutdown. REQUIRES: no concurrent put.
  template <class F>
  void for_each(F&& f) {
    std::lock_guard lock(mu_);
    for (auto& c : owned_) f(*c);
  }

 private:
  static constexpr size_t kChunks = 40;
  static void locate(uint64_t index, size_t& chunk, uint64_t& offset) {
    uint64_t i = index + 64;
    chunk = static_cast<size_t>(std::bit_width(i)) - 7;
    offset = i - (uint64_t{64} << chunk);
  }

  std::array<std::atomic<std::atomic<Cell*>*>, kChunks> chunks_{};
  std::mutex mu_;  // guards chunk allocation and owned_
  std::vector<std::unique_ptr<Cell>> owned_;
};

// Per-thread counters, summed on read, so hot paths do not share a line.
struct alignas(64) StatSlot {
  std::atomic<uint64_t> sent_external{0};
  std::atomic<uint64_t> sent_actor{0};
  std::atomic<uint64_t> bytes_sent{0};
  std::atomic<uint64_t> remote_bytes_received{0};
  std::atomic<uint64_t> channel_refs{0};
  std::atomic<uint64_t> auth_failures{0};
  std::atomic<uint64_t> queue_drops{0};
};

// One open channel: either done (called once, inline, with the message or
// kClosed) or fn (run on executor with the message; dropped on close).
struct ChannelSlot {
  std::function<void(Result<Message>)> done;
  asio::any_io_executor executor;
  std::function<void(Message)> fn;
};

// Thread-safe unless a member says otherwise.
class SystemImpl final : public HostInbox {
 public:
  explicit SystemImpl(SystemConfig config);
  ~SystemImpl();

  // HostInbox.
  void deliver(uint64_t target, Message msg) override {
    deliver_local(target, std::move(msg));
  }
  void enter_worker(size_t worker) override;

  Status start();
  void close();

  // Counts msg as sent by `from` (null: from outside) and routes it.
  void send(Cell* from, const ActorRef& to, Message msg);
  // Counts without routing (tell_after counts at the time it is asked).
  void account(Cell* from, const ActorRef& to, const Message& msg);
  // Local delivery or the network. `from_outside`: told by code that is
  // not an actor (see deliver_local).
  void route(const ActorRef& to, Message msg, bool from_outside = false);
  // Delivers to an actor or channel of this system (also from the network).
  // A message told from outside the actors, on the target's own worker (a
  // socket handler, say), to an idle actor runs before this returns rather
  // than after another turn of the event loop; order is unchanged, as
  // nothing else waits in that mailbox.
  void deliver_local(uint64_t id, Message msg, bool from_outside = false);
  // Context::run_background: work on the host's background thread for
  // lane, then done to the actor.
  void run_background(Cell& cell, Lane lane, std::function<void()> work,
                      Message done);
  void call_at_pass_end(Cell& cell);
  void send_after(Cell& from, const ActorRef& to, Message msg,
                  std::chrono::milliseconds delay);

  ActorRef spawn(System& owner, std::optional<size_t> worker,
                 const std::function<std::unique_ptr<Actor>(Context&)>& make);
  ActorRef make_channel(std::function<void(Result<Message>)> done);
  ActorRef make_channel(asio::any_io_executor ex,
                        std::function<void(Message)> fn);

  void report(Status status) override;
  void count_auth_failure() override {
    slot().auth_failures.fetch_add(1, std::memory_order_relaxed);
  }
  void count_queue_drop() override {
    slot().queue_drops.fetch_add(1, std::memory_order_relaxed);
  }
  void add_remote_bytes(uint64_t n) override {
    slot().remote_bytes_received.fetch_add(n, std::memory_order_relaxed);
  }
  Stats stats() const;

  const SystemConfig& config() const { return config_; }
  const std::string& address() const { return address_; }
  size_t worker_count() const { return workers_; }
  Host& host() { return *host_; }
  spdlog::logger& logger() { return *logger_; }
  bool closed() const { return closed_.load(std::memory_order_acquire); }

 private:
  void schedule(Cell& cell);
  void run(Cell& cell);
  void deliver_channel(uint64_t id, Message msg);
  StatSlot& slot();
  Message round_trip(Message msg);

  SystemConfig config_;
  std::string address_;
  std::shared_ptr<spdlog::logger> logger_;
  std::shared_ptr<Host> host_;
  size_t workers_ = 0;
  CellTable cells_;
  std::atomic<uint64_t> next_actor_{1};
  std::atomic<size_t> next_worker_{0};

  std::mutex channels_mu_;
  std::unordered_map<uint64_t, ChannelSlot> channels_;  // guarded
  std::atomic<uint64_t> next_channel_{1};

  std::unique_ptr<StatSlot[]> slots_;  // one per worker, plus one shared
  std::atomic<uint64_t> max_pair_{0};

  std::mutex close_mu_;
  std::atomic<bool> closed_{false};
};

}  // namespace cmud::actor::detail
