#include "cmud/sim/world.h"

#include <algorithm>
#include <cassert>

namespace cmud::sim {

// One system's host in the world. Its tasks run on the world's thread, as
// the worker they were posted to. Thread-compatible (the world's thread).
class SimHost final : public actor::Host {
 public:
  SimHost(World& world, uint64_t id, std::string address, size_t workers)
      : world_(world), id_(id), address_(std::move(address)) {
    for (size_t i = 0; i < workers; ++i) {
      workers_.push_back(std::make_unique<World::Worker>());
      workers_.back()->host = id;
    }
  }
  ~SimHost() override { stop(); }

  uint64_t id() const { return id_; }
  const std::string& address() const { return address_; }
  actor::HostInbox* inbox() const { return inbox_; }
  World::Worker& worker(size_t i) { return *workers_[i]; }

  size_t worker_count() const override { return workers_.size(); }
  Result<std::string> start(actor::HostInbox& inbox) override {
    inbox_ = &inbox;
    return address_;
  }
  void stop() override {
    if (stopped_) return;
    stopped_ = true;
    world_.remove(id_);
  }
  void post(size_t worker, std::function<void()> task) override {
    if (!stopped_) world_.post(id_, worker, std::move(task));
  }
  void post_after(size_t worker, std::chrono::milliseconds delay,
                  std::function<void()> task) override {
    if (!stopped_)
      world_.post_after(id_, worker, delay.count(), std::move(task));
  }
  void send(const std::string& address, uint64_t target,
            const actor::Message& msg) override {
    if (!stopped_) world_.send(*this, address, target, msg);
  }
  FileSystem& files() override { return world_.files(address_); }
  // In virtual time the job takes one step of the worker; done comes
  // after it as a task of its own. A crash drops both with the queue.
  void run_background(size_t worker, actor::Lane /*lane*/,
                      std::function<void()> work,
                      std::function<void()> done) override {
    post(worker, [this, worker, work = std::move(work),
                  done = std::move(done)]() mutable {
      work();
      post(worker, std::move(done));
    });
  }
  int64_t monotonic_ms() override { return world_.now_ms(); }
  uint64_t wall_ms() override {
    int64_t t = static_cast<int64_t>(World::kEpochMs) + world_.now_ms() +
                world_.clock_offset(address_);
    return t < 0 ? 0 : static_cast<uint64_t>(t);
  }

 private:
  World& world_;
  const uint64_t id_;
  const std::string address_;
  std::vector<std::unique_ptr<World::Worker>> workers_;
  actor::HostInbox* inbox_ = nullptr;
  bool stopped_ = false;
};

World::World(uint64_t seed) : rng_(seed) {}

World::~World() {
  // Hosts still alive belong to systems the caller destroys later; they
  // must not reach back into a dead world.
  std::vector<SimHost*> live;
  for (auto& [id, h] : hosts_) live.push_back(h);
  for (SimHost* h : live) h->stop();  // each stop() erases from hosts_
}

std::shared_ptr<actor::Host> World::host(const std::string& address,
                                         size_t workers) {
  assert(!by_addr_.contains(address) && "one live host per address");
  uint64_t id = next_host_++;
  auto h = std::make_shared<SimHost>(*this, id, address, workers);
  hosts_[id] = h.get();
  by_addr_[address] = id;
  return h;
}

void World::remove(uint64_t id) {
  auto it = hosts_.find(id);
  if (it == hosts_.end()) return;
  SimHost* h = it->second;
  std::erase_if(ready_, [id](Worker* w) { return w->host == id; });
  for (size_t i = 0; i < h->worker_count(); ++i) {
    h->worker(i).tasks = {};
    h->worker(i).listed = false;
  }
  by_addr_.erase(h->address());
  hosts_.erase(it);
  disk(h->address()).crash(rng_);
}

Disk& World::disk(const std::string& address) {
  auto& d = disks_[address];
  if (!d) d = std::make_unique<Disk>();
  return *d;
}

void World::set_files(const std::string& address, FileSystem* files) {
  if (files == nullptr) {
    files_.erase(address);
  } else {
    files_[address] = files;
  }
}

FileSystem& World::files(const std::string& address) {
  auto it = files_.find(address);
  return it != files_.end() ? *it->second : disk(address);
}

void World::set_clock_offset(const std::string& address, int64_t offset_ms) {
  offsets_[address] = offset_ms;
}

int64_t World::clock_offset(const std::string& address) const {
  auto it = offsets_.find(address);
  return it == offsets_.end() ? 0 : it->second;
}

void World::partition(const std::string& a, const std::string& b) {
  cut_.insert(std::minmax(a, b));
}

void World::heal(const std::string& a, const std::string& b) {
  cut_.erase(std::minmax(a, b));
}

void World::heal_all() { cut_.clear(); }

bool World::partitioned(const std::string& a, const std::string& b) const {
  return cut_.contains(std::minmax(a, b));
}

void World::push_timer(int64_t at, uint64_t host, size_t worker, Task task,
                       std::optional<uint64_t> tiebreak) {
  timers_.push(Timer{at, tiebreak ? *tiebreak : rng_.next(), seq_++, host,
                     worker, std::move(task)});
}

void World::at(int64_t t, std::function<void()> fn) {
  push_timer(std::max(t, now_), 0, 0, std::move(fn));
}

void World::post(uint64_t host, size_t worker, Task task) {
  auto it = hosts_.find(host);
  if (it == hosts_.end()) return;
  Worker& w = it->second->worker(worker);
  w.tasks.push(std::move(task));
  if (!w.listed) {
    w.listed = true;
    ready_.push_back(&w);
  }
}

void World::post_after(uint64_t host, size_t worker, int64_t delay, Task task) {
  push_timer(now_ + std::max<int64_t>(delay, 0), host, worker, std::move(task));
}

void World::send(const SimHost& from, const std::string& to, uint64_t target,
                 const actor::Message& msg) {
  ++sent_;
  auto dest = by_addr_.find(to);
  if (dest == by_addr_.end() || partitioned(from.address(), to) ||
      rng_.chance(net_.drop)) {
    ++dropped_;  // refused, cut off, or reset: at most once
    return;
  }
  // The receiver gets its own copy, through the codec as over TCP.
  std::string body;
  msg.encode_body(body);
  uint32_t wire_id = msg.type().wire_id;
  int64_t due = now_ + rng_.between(net_.latency_min_ms, net_.latency_max_ms);
  auto [it, fresh] = last_arrival_.try_emplace({from.address(), to});
  auto& [last, tiebreak] = it->second;
  if (fresh || due > last) {
    last = due;
    tiebreak = rng_.next();
  }
  uint64_t dest_id = dest->second;
  push_timer(
      last, 0, 0,
      [this, dest_id, from = from.address(), to, target, wire_id,
       body = std::move(body)] {
        auto h = hosts_.find(dest_id);
        // Restarted since (a new connection) or cut off meanwhile.
        if (h == hosts_.end() || partitioned(from, to)) {
          ++dropped_;
          return;
        }
        auto m = actor::Message::decode(wire_id, body);
        if (!m.ok()) {
          h->second->inbox()->report(m.status());
          return;
        }
        if (on_deliver_) on_deliver_(Delivery{from, to, *m});
        h->second->inbox()->deliver(target, std::move(m).value());
      },
      tiebreak);
}

bool World::run_until(int64_t t, uint64_t max_events) {
  uint64_t limit = events_ + max_events;
  while (events_ < limit) {
    if (!ready_.empty()) {
      size_t i = static_cast<size_t>(rng_.below(ready_.size()));
      Worker* w = ready_[i];
      Task task = std::move(w->tasks.front());
      w->tasks.pop();
      if (w->tasks.empty()) {
        w->listed = false;
        ready_[i] = ready_.back();
        ready_.pop_back();
      }
      ++events_;
      task();
      continue;
    }
    if (timers_.empty() || timers_.top().at > t) {
      now_ = std::max(now_, t);
      return true;
    }
    // priority_queue::top is const; the task is moved out before pop.
    Timer timer = std::move(const_cast<Timer&>(timers_.top()));
    timers_.pop();
    now_ = timer.at;
    ++events_;
    if (timer.host == 0) {
      timer.task();
    } else {
      post(timer.host, timer.worker, std::move(timer.task));
    }
  }
  return false;
}

}  // namespace cmud::sim
