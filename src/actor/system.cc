#include "cmud/actor/system.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <asio/dispatch.hpp>
#include <asio/post.hpp>
#include <cstdio>
#include <cstdlib>

#include "system_impl.h"
#include "thread_host.h"

namespace cmud::actor {
namespace detail {
namespace {

// Which system and worker the current thread belongs to, if any.
struct WorkerTls {
  const SystemImpl* system = nullptr;
  size_t index = 0;
  bool in_actor = false;  // an actor's handler is running on this thread
};
thread_local WorkerTls t_worker;

// Most messages one run of an actor handles before yielding its worker.
constexpr size_t kRunBatch = 64;

std::shared_ptr<spdlog::logger> make_logger(const std::string& name) {
  static auto sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  auto l = std::make_shared<spdlog::logger>(name, sink);
  l->set_level(spdlog::get_level());
  return l;
}

}  // namespace

CellTable::~CellTable() {
  for (auto& chunk : chunks_) delete[] chunk.load();
}

void CellTable::put(uint64_t index, std::unique_ptr<Cell> cell) {
  size_t chunk;
  uint64_t offset;
  locate(index, chunk, offset);
  std::lock_guard lock(mu_);
  auto* slots = chunks_[chunk].load(std::memory_order_acquire);
  if (slots == nullptr) {
    slots = new std::atomic<Cell*>[uint64_t{64} << chunk]();
    chunks_[chunk].store(slots, std::memory_order_release);
  }
  slots[offset].store(cell.get(), std::memory_order_release);
  owned_.push_back(std::move(cell));
}

Cell* CellTable::get(uint64_t index) const {
  size_t chunk;
  uint64_t offset;
  locate(index, chunk, offset);
  if (chunk >= kChunks) return nullptr;
  auto* slots = chunks_[chunk].load(std::memory_order_acquire);
  return slots == nullptr ? nullptr
                          : slots[offset].load(std::memory_order_acquire);
}

// Sets the thread's worker for a task's run and restores it after (a
// simulator runs the workers of many systems on one thread).
class WorkerScope {
 public:
  WorkerScope(const SystemImpl* system, size_t index) : saved_(t_worker) {
    t_worker = {system, index};
  }
  ~WorkerScope() { t_worker = saved_; }
  WorkerScope(const WorkerScope&) = delete;
  WorkerScope& operator=(const WorkerScope&) = delete;

 private:
  WorkerTls saved_;
};

SystemImpl::SystemImpl(SystemConfig config) : config_(std::move(config)) {
  host_ = config_.runtime_host;
  if (!host_) host_ = std::make_shared<ThreadHost>(config_);
  workers_ = host_->worker_count();
  slots_ = std::make_unique<StatSlot[]>(workers_ + 1);
  logger_ = make_logger(config_.name);
  if (!config_.on_error) {
    auto logger = logger_;
    config_.on_error = [logger](const Status& s) {
      logger->warn("{}", s.to_string());
    };
  }
}

SystemImpl::~SystemImpl() { close(); }

Status SystemImpl::start() {
  auto address = host_->start(*this);
  if (!address.ok()) return address.status();
  address_ = std::move(address).value();
  return {};
}

void SystemImpl::enter_worker(size_t worker) { t_worker = {this, worker}; }

void SystemImpl::close() {
  std::lock_guard lock(close_mu_);
  if (closed_.exchange(true)) return;
  assert(t_worker.system != this && "close() called from a worker");
  host_->stop();
  cells_.for_each([](Cell& c) { c.mailbox.close(); });
  std::unordered_map<uint64_t, ChannelSlot> open;
  {
    std::lock_guard clock(channels_mu_);
    open.swap(channels_);
  }
  for (auto& [id, slot] : open) {
    if (slot.done) slot.done(Status(ErrorCode::kClosed, "actor system closed"));
  }
}

StatSlot& SystemImpl::slot() {
  return t_worker.system == this ? slots_[t_worker.index] : slots_[workers_];
}

void SystemImpl::account(Cell* from, const ActorRef& to, const Message& msg) {
  auto& s = slot();
  (from ? s.sent_actor : s.sent_external)
      .fetch_add(1, std::memory_order_relaxed);
  s.bytes_sent.fetch_add(msg.encoded_size(), std::memory_order_relaxed);
  if (from == nullptr || to.is_channel()) return;
  uint64_t n = from->window_for(to).add(host_->monotonic_ms());
  uint64_t seen = max_pair_.load(std::memory_order_relaxed);
  while (n > seen && !max_pair_.compare_exchange_weak(seen, n)) {
  }
}

void SystemImpl::send(Cell* from, const ActorRef& to, Message msg) {
  if (closed()) return;
  account(from, to, msg);
  route(to, std::move(msg), from == nullptr);
}

void SystemImpl::route(const ActorRef& to, Message msg, bool from_outside) {
  if (to.address() == address_) {
    if (config_.serialize_local_messages) {
      msg = round_trip(std::move(msg));
      if (msg.empty()) return;
    }
    deliver_local(to.id(), std::move(msg), from_outside);
  } else if (!to.valid()) {
    report(Status(ErrorCode::kInvalidArgument,
                  "message " + std::string(msg.name()) +
                      " sent to an empty ActorRef; dropped"));
  } else {
    host_->send(to.address(), to.id(), msg);
  }
}

Message SystemImpl::round_trip(Message msg) {
  std::string bytes;
  msg.encode_body(bytes);
  auto copy = Message::decode(msg.type().wire_id, bytes);
  if (!copy.ok()) {
    report(Status(ErrorCode::kDecode,
                  "serialize_local_messages: " + std::string(msg.name()) +
                      " does not decode from its own encoding; dropped"));
    return {};
  }
  if (msg.type().equal != nullptr && !msg.equals(*copy)) {
    report(Status(ErrorCode::kDecode,
                  "serialize_local_messages: " + std::string(msg.name()) +
                      " changes in an encode/decode round trip (a field "
                      "missing from CMUD_MESSAGE?); dropped"));
    return {};
  }
  return std::move(copy).value();
}

void SystemImpl::deliver_local(uint64_t id, Message msg, bool from_outside) {
  if (closed()) return;
  if ((id & ActorRef::kChannelBit) != 0) {
    deliver_channel(id, std::move(msg));
    return;
  }
  Cell* cell = id == 0 ? nullptr : cells_.get(id - 1);
  if (cell == nullptr) {
    report(Status(ErrorCode::kNotFound,
                  "message " + std::string(msg.name()) + " for unknown actor " +
                      address_ + "/" + std::to_string(id) + "; dropped"));
    return;
  }
  if (!cell->mailbox.push(std::move(msg))) return;
  if (cell->scheduled.exchange(true)) return;
  if (from_outside && t_worker.system == this &&
      t_worker.index == cell->worker && !t_worker.in_actor) {
    run(*cell);
  } else {
    schedule(*cell);
  }
}

void SystemImpl::schedule(Cell& cell) {
  // Two pointers: stored inside the std::function, no allocation.
  host_->post(cell.worker, [this, &cell] {
    WorkerScope scope(this, cell.worker);
    run(cell);
  });
}

void SystemImpl::run(Cell& cell) {
  thread_local std::vector<Message> batch;
  batch.clear();
  cell.mailbox.drain(batch, kRunBatch);
  t_worker.in_actor = true;
  for (auto& m : batch) {
    if (closed()) break;
    Status s = cell.actor->on_message(m);
    if (!s.ok()) {
      report(Status(s.code(), "actor " + cell.context->self().uid() +
                                  " failed on " + std::string(m.name()) + ": " +
                                  s.message()));
    }
  }
  if (!batch.empty() && !closed()) cell.actor->on_turn_end();
  t_worker.in_actor = false;
  batch.clear();
  cell.scheduled.store(false);
  if (!cell.mailbox.empty() && !cell.scheduled.exchange(true)) {
    schedule(cell);
  }
}

void SystemImpl::send_after(Cell& from, const ActorRef& to, Message msg,
                            std::chrono::milliseconds delay) {
  if (closed()) return;
  account(&from, to, msg);
  size_t worker = from.worker;
  // Shared: a host's task is copyable, a message only movable.
  auto m = std::make_shared<Message>(std::move(msg));
  host_->post_after(worker, delay, [this, worker, to, m] {
    WorkerScope scope(this, worker);
    if (!closed()) route(to, std::move(*m));
  });
}

void SystemImpl::run_background(Cell& cell, Lane lane,
                                std::function<void()> work, Message done) {
  if (closed()) return;
  size_t worker = cell.worker;
  ActorRef self = cell.context->self();
  auto m = std::make_shared<Message>(std::move(done));
  host_->run_background(worker, lane, std::move(work), [this, worker, self, m] {
    WorkerScope scope(this, worker);
    if (!closed()) route(self, std::move(*m));
  });
}

void SystemImpl::call_at_pass_end(Cell& cell) {
  if (closed() || cell.pass_end_posted) return;
  cell.pass_end_posted = true;
  // Queued behind everything the worker already has to run: the rest of
  // this pass's socket completions and actor runs.
  host_->post(cell.worker, [this, &cell] {
    WorkerScope scope(this, cell.worker);
    cell.pass_end_posted = false;
    if (closed()) return;
    bool was = t_worker.in_actor;
    t_worker.in_actor = true;
    cell.actor->on_pass_end();
    t_worker.in_actor = was;
  });
}

ActorRef SystemImpl::spawn(
    System& owner, std::optional<size_t> worker,
    const std::function<std::unique_ptr<Actor>(Context&)>& make) {
  size_t w = worker.value_or(next_worker_.fetch_add(1)) % workers_;
  uint64_t id = next_actor_.fetch_add(1);
  auto cell = std::make_unique<Cell>(id, w);
  ActorRef self(address_, id);
  cell->context.reset(new Context(owner, *this, *cell, self, w));
  Cell& c = *cell;
  // Registered first so that the constructor may send to itself; nothing
  // runs until `scheduled` is cleared below.
  cells_.put(id - 1, std::move(cell));
  c.actor = make(*c.context);
  // Messages the constructor sent to itself wait in the mailbox.
  c.scheduled.store(false);
  if (!c.mailbox.empty() && !c.scheduled.exchange(true)) schedule(c);
  return self;
}

ActorRef SystemImpl::make_channel(std::function<void(Result<Message>)> done) {
  uint64_t id = next_channel_.fetch_add(1) | ActorRef::kChannelBit;
  slot().channel_refs.fetch_add(1, std::memory_order_relaxed);
  {
    std::lock_guard lock(channels_mu_);
    if (!closed()) {
      channels_[id].done = std::move(done);
      return ActorRef(address_, id);
    }
  }
  done(Status(ErrorCode::kClosed, "actor system closed"));
  return ActorRef(address_, id);
}

ActorRef SystemImpl::make_channel(asio::any_io_executor ex,
                                  std::function<void(Message)> fn) {
  uint64_t id = next_channel_.fetch_add(1) | ActorRef::kChannelBit;
  slot().channel_refs.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lock(channels_mu_);
  auto& slot = channels_[id];
  slot.executor = std::move(ex);
  slot.fn = std::move(fn);
  return ActorRef(address_, id);
}

void SystemImpl::deliver_channel(uint64_t id, Message msg) {
  ChannelSlot slot;
  {
    std::lock_guard lock(channels_mu_);
    auto it = channels_.find(id);
    if (it == channels_.end()) {
      uint64_t seq = id & ~ActorRef::kChannelBit;
      bool used = seq != 0 && seq < next_channel_.load();
      report(Status(used ? ErrorCode::kAlreadyUsed : ErrorCode::kNotFound,
                    std::string(used ? "second message to single-use channel "
                                     : "message to unknown channel ") +
                        address_ + "/" + std::to_string(id) + " (" +
                        std::string(msg.name()) + "); dropped"));
      return;
    }
    slot = std::move(it->second);
    channels_.erase(it);
  }
  if (slot.fn) {
    auto call = [fn = std::move(slot.fn), m = std::move(msg)]() mutable {
      fn(std::move(m));
    };
    // A reply from an actor to a callback on its own worker (a session's
    // query) runs at once; tells from that callback are queued, as it runs
    // inside the actor's turn. Anything else goes through the event loop.
    if (t_worker.system == this && t_worker.in_actor) {
      asio::dispatch(slot.executor, std::move(call));
    } else {
      asio::post(slot.executor, std::move(call));
    }
  } else {
    slot.done(std::move(msg));
  }
}

void SystemImpl::report(Status status) {
  if (status.ok()) return;
  config_.on_error(status);
}

Stats SystemImpl::stats() const {
  Stats s;
  for (size_t i = 0; i <= workers_; ++i) {
    const auto& slot = slots_[i];
    s.messages_sent_external += slot.sent_external.load();
    s.messages_sent_actor += slot.sent_actor.load();
    s.bytes_sent += slot.bytes_sent.load();
    s.remote_bytes_received += slot.remote_bytes_received.load();
    s.auth_failures += slot.auth_failures.load();
    s.dropped_queue_full += slot.queue_drops.load();
    s.channel_refs_used += slot.channel_refs.load();
  }
  s.messages_sent = s.messages_sent_external + s.messages_sent_actor;
  s.max_pair_msgs_per_sec = max_pair_.load();
  return s;
}

}  // namespace detail

spdlog::logger& Context::log() const { return impl_.logger(); }

void Context::send(const ActorRef& to, Message msg) {
  impl_.send(&cell_, to, std::move(msg));
}

uint64_t Context::wall_ms() const { return impl_.host().wall_ms(); }
int64_t Context::monotonic_ms() const { return impl_.host().monotonic_ms(); }

void Context::background(Lane lane, std::function<void()> work, Message done) {
  impl_.run_background(cell_, lane, std::move(work), std::move(done));
}

void Context::call_at_pass_end() { impl_.call_at_pass_end(cell_); }

void Context::send_after(const ActorRef& to, Message msg,
                         std::chrono::milliseconds delay) {
  impl_.send_after(cell_, to, std::move(msg), delay);
}

Result<std::unique_ptr<System>> System::create(SystemConfig config) {
  auto impl = std::make_unique<detail::SystemImpl>(std::move(config));
  std::unique_ptr<System> sys(new System(std::move(impl)));
  Status s = sys->impl_->start();
  if (!s.ok()) return s;
  return sys;
}

System::System(std::unique_ptr<detail::SystemImpl> impl)
    : impl_(std::move(impl)) {}

System::~System() { close(); }

const std::string& System::address() const { return impl_->address(); }
size_t System::worker_count() const { return impl_->worker_count(); }
asio::io_context::executor_type System::executor(size_t worker) {
  asio::io_context* io = impl_->host().io(worker);
  if (io == nullptr) {
    std::fprintf(stderr, "System::executor: this host has no event loops\n");
    std::abort();
  }
  return io->get_executor();
}

ActorRef System::spawn_impl(
    std::optional<size_t> worker,
    const std::function<std::unique_ptr<Actor>(Context&)>& make) {
  return impl_->spawn(*this, worker, make);
}

void System::send_external(const ActorRef& to, Message msg) {
  impl_->send(nullptr, to, std::move(msg));
}

Channel System::channel() {
  auto promise = std::make_shared<std::promise<Result<Message>>>();
  Channel ch;
  ch.reply = promise->get_future();
  ch.ref = impl_->make_channel(
      [promise](Result<Message> m) { promise->set_value(std::move(m)); });
  return ch;
}

ActorRef System::completion_channel(std::function<void(Result<Message>)> done) {
  return impl_->make_channel(std::move(done));
}

ActorRef System::channel(asio::any_io_executor ex,
                         std::function<void(Message)> fn) {
  return impl_->make_channel(std::move(ex), std::move(fn));
}

Stats System::stats() const { return impl_->stats(); }
FileSystem& System::files() { return impl_->host().files(); }
void System::close() { impl_->close(); }
bool System::closed() const { return impl_->closed(); }

}  // namespace cmud::actor
