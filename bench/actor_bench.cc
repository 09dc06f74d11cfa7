// actor-bench: throughput and latency of the CMUD actor runtime, and (when
// built with CMUD_HAVE_CAF=1) of the same patterns on CAF 0.17 for
// comparison.
//
//   Tell1to1     one sender actor -> one receiver on another worker
//   Tell8to1     eight sender actors (spread over both workers) -> one
//   PingPong     request/reply round trips between two actors
//   RemoteTell1to1  one sender in system A -> one receiver in system B,
//                   over TCP on 127.0.0.1 (both systems in this process)
//
// Every benchmark runs on systems with two worker threads and measures
// wall-clock time end to end: an iteration ends when the receiver reports,
// through a reply channel, that it has seen every message. Waits are bounded
// (kTimeout); a timeout fails the benchmark instead of hanging.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <future>
#include <memory>
#include <string>
#include <vector>

#include "cmud/actor/system.h"

#ifndef CMUD_HAVE_CAF
#define CMUD_HAVE_CAF 0
#endif

#if CMUD_HAVE_CAF
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wpragmas"
#pragma GCC diagnostic ignored "-Wdeprecated"
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#pragma GCC diagnostic ignored "-Wdeprecated-copy"
#pragma GCC diagnostic ignored "-Wdeprecated-enum-enum-conversion"
#pragma GCC diagnostic ignored "-Wvolatile"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wclass-memaccess"
#include <caf/all.hpp>
#include <caf/io/all.hpp>
#pragma GCC diagnostic pop
#endif

namespace {

// Generous: a healthy iteration takes well under a second.
constexpr auto kTimeout = std::chrono::seconds(20);

// Messages per iteration of the throughput benchmarks.
constexpr int64_t kLocalMessages = 100'000;
constexpr int64_t kRemoteMessages = 50'000;
// Round trips per iteration of the ping-pong benchmarks.
constexpr int64_t kRoundTrips = 10'000;
// A sender sends this many messages per run, then yields to its worker by
// telling itself to continue (an actor must not hog its thread).
constexpr int64_t kChunk = 1'000;
constexpr int kFanIn = 8;

// Iterations per benchmark, chosen so the whole binary stays well under a
// minute on a 2-core machine.
constexpr benchmark::IterationCount kLocalIters = 50;
constexpr benchmark::IterationCount kPingIters = 30;
constexpr benchmark::IterationCount kRemoteIters = 20;

void report_rate(benchmark::State& state, int64_t per_iteration) {
  state.SetItemsProcessed(state.iterations() * per_iteration);
}

// "per_rt": wall time per round trip (a rate counter, inverted).
void report_round_trips(benchmark::State& state) {
  double rounds = static_cast<double>(state.iterations() * kRoundTrips);
  state.SetItemsProcessed(state.iterations() * kRoundTrips);
  state.counters["per_rt"] = benchmark::Counter(
      rounds, benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

// ---------------------------------------------------------------------------
// CMUD
// ---------------------------------------------------------------------------

namespace ca = cmud::actor;

struct Blast {
  int64_t seq = 0;
  CMUD_MESSAGE("bench.Blast", seq)
};
// Asks a receiver to report to done once it has counted `total` messages
// (including any that arrived before the Arm).
struct Arm {
  int64_t total = 0;
  ca::ActorRef done;
  CMUD_MESSAGE("bench.Arm", total, done)
};
struct Done {
  int64_t count = 0;
  CMUD_MESSAGE("bench.Done", count)
};
// Asks a sender to send n Blasts to target.
struct Start {
  int64_t n = 0;
  ca::ActorRef target;
  CMUD_MESSAGE("bench.Start", n, target)
};
struct Continue {
  int64_t unused = 0;
  CMUD_MESSAGE("bench.Continue", unused)
};
struct Ping {
  ca::ActorRef reply_to;
  CMUD_MESSAGE("bench.Ping", reply_to)
};
struct Pong {
  int64_t unused = 0;
  CMUD_MESSAGE("bench.Pong", unused)
};
// Asks a pinger to do `rounds` round trips with peer, then report to done.
struct PingStart {
  int64_t rounds = 0;
  ca::ActorRef peer;
  ca::ActorRef done;
  CMUD_MESSAGE("bench.PingStart", rounds, peer, done)
};

cmud::Status unexpected(const ca::Message& msg) {
  return {cmud::ErrorCode::kInvalidArgument,
          "unexpected message " + std::string(msg.name())};
}

class Receiver : public ca::Actor {
 public:
  explicit Receiver(ca::Context& ctx) : ctx_(ctx) {}

  cmud::Status on_message(ca::Message& msg) override {
    if (msg.is<Blast>()) {
      ++count_;
    } else if (auto* arm = msg.as<Arm>()) {
      total_ = arm->total;
      done_ = arm->done;
    } else {
      return unexpected(msg);
    }
    if (total_ > 0 && count_ >= total_) {
      ctx_.tell(done_, Done{count_});
      count_ -= total_;
      total_ = 0;
    }
    return {};
  }

 private:
  ca::Context& ctx_;
  int64_t count_ = 0;
  int64_t total_ = 0;
  ca::ActorRef done_;
};

class Sender : public ca::Actor {
 public:
  explicit Sender(ca::Context& ctx) : ctx_(ctx) {}

  cmud::Status on_message(ca::Message& msg) override {
    if (auto* start = msg.as<Start>()) {
      remaining_ = start->n;
      target_ = start->target;
    } else if (!msg.is<Continue>()) {
      return unexpected(msg);
    }
    int64_t k = std::min(kChunk, remaining_);
    for (int64_t i = 0; i < k; ++i) ctx_.tell(target_, Blast{seq_++});
    remaining_ -= k;
    if (remaining_ > 0) ctx_.tell(ctx_.self(), Continue{});
    return {};
  }

 private:
  ca::Context& ctx_;
  int64_t remaining_ = 0;
  int64_t seq_ = 0;
  ca::ActorRef target_;
};

class Ponger : public ca::Actor {
 public:
  explicit Ponger(ca::Context& ctx) : ctx_(ctx) {}

  cmud::Status on_message(ca::Message& msg) override {
    auto* ping = msg.as<Ping>();
    if (ping == nullptr) return unexpected(msg);
    ctx_.tell(ping->reply_to, Pong{});
    return {};
  }

 private:
  ca::Context& ctx_;
};

class Pinger : public ca::Actor {
 public:
  explicit Pinger(ca::Context& ctx) : ctx_(ctx) {}

  cmud::Status on_message(ca::Message& msg) override {
    if (auto* start = msg.as<PingStart>()) {
      remaining_ = start->rounds;
      peer_ = start->peer;
      done_ = start->done;
    } else if (msg.is<Pong>()) {
      if (--remaining_ == 0) {
        ctx_.tell(done_, Done{});
        return {};
      }
    } else {
      return unexpected(msg);
    }
    ctx_.tell(peer_, Ping{ctx_.self()});
    return {};
  }

 private:
  ca::Context& ctx_;
  int64_t remaining_ = 0;
  ca::ActorRef peer_;
  ca::ActorRef done_;
};

// Counts runtime errors (a dropped message would otherwise only show up as a
// timeout); prints the first few.
std::atomic<uint64_t> g_cmud_errors{0};

std::unique_ptr<ca::System> make_system(benchmark::State& state,
                                        std::string name) {
  ca::SystemConfig config;
  config.host = "127.0.0.1";
  config.port = 0;
  config.listen = true;
  config.workers = 2;
  config.name = std::move(name);
  config.on_error = [](const cmud::Status& s) {
    if (g_cmud_errors.fetch_add(1) < 5) {
      std::fprintf(stderr, "actor-bench: runtime error: %s\n",
                   s.to_string().c_str());
    }
  };
  auto sys = ca::System::create(std::move(config));
  if (!sys.ok()) {
    state.SkipWithError(
        ("System::create: " + sys.status().to_string()).c_str());
    return nullptr;
  }
  return std::move(sys).value();
}

// Waits (bounded) for the Done on ch; false (and the benchmark failed) if
// it does not come.
bool wait_done(benchmark::State& state, ca::Channel& ch) {
  if (ch.reply.wait_for(kTimeout) != std::future_status::ready) {
    state.SkipWithError("timed out waiting for the receiver");
    return false;
  }
  auto reply = ch.reply.get();
  if (!reply.ok() || !reply->is<Done>()) {
    state.SkipWithError(("bad reply: " + reply.status().to_string()).c_str());
    return false;
  }
  return true;
}

// One round: arm the receiver on `rsys`, start every sender, wait.
bool cmud_round(benchmark::State& state, ca::System& ssys,
                const std::vector<ca::ActorRef>& senders, ca::System& rsys,
                const ca::ActorRef& receiver, int64_t total) {
  auto ch = rsys.channel();
  rsys.tell(receiver, Arm{total, ch.ref});
  int64_t each = total / static_cast<int64_t>(senders.size());
  for (const auto& s : senders) ssys.tell(s, Start{each, receiver});
  return wait_done(state, ch);
}

void cmud_tell(benchmark::State& state, int senders_n) {
  g_cmud_errors = 0;
  auto sys = make_system(state, "bench");
  if (!sys) return;
  auto receiver = sys->spawn_on<Receiver>(1);
  std::vector<ca::ActorRef> senders;
  // 1 -> 1: sender on worker 0, receiver on worker 1. 8 -> 1: senders
  // alternate between the workers, so the receiver's mailbox has producers
  // on both threads.
  for (int i = 0; i < senders_n; ++i) {
    senders.push_back(sys->spawn_on<Sender>(static_cast<size_t>(i % 2)));
  }
  if (!cmud_round(state, *sys, senders, *sys, receiver, kChunk * senders_n)) {
    return;  // warm-up
  }
  for (auto _ : state) {
    if (!cmud_round(state, *sys, senders, *sys, receiver, kLocalMessages)) {
      break;
    }
  }
  report_rate(state, kLocalMessages);
}

void BM_Cmud_Tell1to1(benchmark::State& state) { cmud_tell(state, 1); }
void BM_Cmud_Tell8to1(benchmark::State& state) { cmud_tell(state, kFanIn); }

void BM_Cmud_PingPong(benchmark::State& state) {
  g_cmud_errors = 0;
  auto sys = make_system(state, "bench");
  if (!sys) return;
  auto pinger = sys->spawn_on<Pinger>(0);
  auto ponger = sys->spawn_on<Ponger>(1);
  auto round = [&](int64_t rounds) {
    auto ch = sys->channel();
    sys->tell(pinger, PingStart{rounds, ponger, ch.ref});
    return wait_done(state, ch);
  };
  if (!round(100)) return;  // warm-up
  for (auto _ : state) {
    if (!round(kRoundTrips)) break;
  }
  report_round_trips(state);
}

void BM_Cmud_RemoteTell1to1(benchmark::State& state) {
  g_cmud_errors = 0;
  auto a = make_system(state, "bench-a");
  if (!a) return;
  auto b = make_system(state, "bench-b");
  if (!b) return;
  std::vector<ca::ActorRef> senders{a->spawn_on<Sender>(0)};
  auto receiver = b->spawn_on<Receiver>(0);
  // Warm-up: opens the connection.
  if (!cmud_round(state, *a, senders, *b, receiver, kChunk)) return;
  for (auto _ : state) {
    if (!cmud_round(state, *a, senders, *b, receiver, kRemoteMessages)) {
      break;
    }
  }
  report_rate(state, kRemoteMessages);
}

// ---------------------------------------------------------------------------
// CAF 0.17: the same actors, dynamically typed, on a scheduler with two
// threads. CAF has no worker pinning, so placement is up to its scheduler.
// ---------------------------------------------------------------------------

#if CMUD_HAVE_CAF

using arm_atom = caf::atom_constant<caf::atom("arm")>;
using done_atom = caf::atom_constant<caf::atom("done")>;
using start_atom = caf::atom_constant<caf::atom("start")>;
using cont_atom = caf::atom_constant<caf::atom("cont")>;
using ping_atom = caf::atom_constant<caf::atom("ping")>;
using pong_atom = caf::atom_constant<caf::atom("pong")>;

struct CafReceiverState {
  int64_t count = 0;
  int64_t total = 0;
  caf::actor done;
};

caf::behavior caf_receiver(caf::stateful_actor<CafReceiverState>* self) {
  auto check = [self] {
    auto& s = self->state;
    if (s.total > 0 && s.count >= s.total) {
      self->send(s.done, done_atom::value, s.count);
      s.count -= s.total;
      s.total = 0;
      s.done = caf::actor{};
    }
  };
  return {
      [self, check](int64_t) {
        ++self->state.count;
        check();
      },
      [self, check](arm_atom, int64_t total, caf::actor done) {
        self->state.total = total;
        self->state.done = std::move(done);
        check();
      },
  };
}

struct CafSenderState {
  int64_t remaining = 0;
  int64_t seq = 0;
  caf::actor target;
};

caf::behavior caf_sender(caf::stateful_actor<CafSenderState>* self) {
  auto chunk = [self] {
    auto& s = self->state;
    int64_t k = std::min(kChunk, s.remaining);
    for (int64_t i = 0; i < k; ++i) self->send(s.target, s.seq++);
    s.remaining -= k;
    if (s.remaining > 0) self->send(self, cont_atom::value);
  };
  return {
      [self, chunk](start_atom, int64_t n, caf::actor target) {
        self->state.remaining = n;
        self->state.target = std::move(target);
        chunk();
      },
      [chunk](cont_atom) { chunk(); },
  };
}

caf::behavior caf_ponger(caf::event_based_actor* self) {
  return {
      [self](ping_atom, const caf::actor& reply_to) {
        self->send(reply_to, pong_atom::value);
      },
  };
}

struct CafPingerState {
  int64_t remaining = 0;
  caf::actor peer;
  caf::actor done;
};

caf::behavior caf_pinger(caf::stateful_actor<CafPingerState>* self) {
  auto ping = [self] {
    self->send(self->state.peer, ping_atom::value,
               caf::actor_cast<caf::actor>(self));
  };
  return {
      [self, ping](start_atom, int64_t rounds, caf::actor peer,
                   caf::actor done) {
        self->state.remaining = rounds;
        self->state.peer = std::move(peer);
        self->state.done = std::move(done);
        ping();
      },
      [self, ping](pong_atom) {
        if (--self->state.remaining == 0) {
          self->send(self->state.done, done_atom::value, int64_t{0});
          self->state.peer = caf::actor{};
          self->state.done = caf::actor{};
        } else {
          ping();
        }
      },
  };
}

void caf_configure(caf::actor_system_config& cfg, bool network) {
  cfg.set("scheduler.max-threads", 2);
  if (network) cfg.load<caf::io::middleman>();
}

// Waits (bounded) for a done_atom at self.
bool caf_wait(benchmark::State& state, caf::scoped_actor& self) {
  bool ok = false;
  self->receive(
      [&](done_atom, int64_t) { ok = true; },
      caf::after(std::chrono::duration_cast<std::chrono::seconds>(kTimeout)) >>
          [&] { state.SkipWithError("CAF: timed out"); });
  return ok;
}

bool caf_round(benchmark::State& state, caf::scoped_actor& waiter,
               const std::vector<caf::actor>& senders,
               const caf::actor& receiver, int64_t total) {
  waiter->send(receiver, arm_atom::value, total,
               caf::actor_cast<caf::actor>(waiter));
  int64_t each = total / static_cast<int64_t>(senders.size());
  for (const auto& s : senders) {
    caf::anon_send(s, start_atom::value, each, receiver);
  }
  return caf_wait(state, waiter);
}

void caf_kill(const std::vector<caf::actor>& actors) {
  for (const auto& a : actors) {
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
  }
}

void caf_tell(benchmark::State& state, int senders_n) {
  caf::actor_system_config cfg;
  caf_configure(cfg, false);
  caf::actor_system sys{cfg};
  {
    caf::scoped_actor waiter{sys};
    auto receiver = sys.spawn(caf_receiver);
    std::vector<caf::actor> senders;
    for (int i = 0; i < senders_n; ++i)
      senders.push_back(sys.spawn(caf_sender));
    if (caf_round(state, waiter, senders, receiver, kChunk * senders_n)) {
      for (auto _ : state) {
        if (!caf_round(state, waiter, senders, receiver, kLocalMessages)) {
          break;
        }
      }
    }
    caf_kill(senders);
    caf_kill({receiver});
  }
  report_rate(state, kLocalMessages);
}

void BM_Caf_Tell1to1(benchmark::State& state) { caf_tell(state, 1); }
void BM_Caf_Tell8to1(benchmark::State& state) { caf_tell(state, kFanIn); }

void BM_Caf_PingPong(benchmark::State& state) {
  caf::actor_system_config cfg;
  caf_configure(cfg, false);
  caf::actor_system sys{cfg};
  {
    caf::scoped_actor waiter{sys};
    auto pinger = sys.spawn(caf_pinger);
    auto ponger = sys.spawn(caf_ponger);
    auto round = [&](int64_t rounds) {
      waiter->send(pinger, start_atom::value, rounds, ponger,
                   caf::actor_cast<caf::actor>(waiter));
      return caf_wait(state, waiter);
    };
    if (round(100)) {
      for (auto _ : state) {
        if (!round(kRoundTrips)) break;
      }
    }
    caf_kill({pinger, ponger});
  }
  report_round_trips(state);
}

void BM_Caf_RemoteTell1to1(benchmark::State& state) {
  caf::actor_system_config cfg_b;
  caf_configure(cfg_b, true);
  caf::actor_system sys_b{cfg_b};
  caf::actor_system_config cfg_a;
  caf_configure(cfg_a, true);
  caf::actor_system sys_a{cfg_a};
  {
    caf::scoped_actor waiter{sys_b};
    auto receiver = sys_b.spawn(caf_receiver);
    std::vector<caf::actor> senders{sys_a.spawn(caf_sender)};
    auto port = sys_b.middleman().publish(receiver, 0, "127.0.0.1");
    if (!port) {
      state.SkipWithError(
          ("CAF publish: " + sys_b.render(port.error())).c_str());
    } else {
      // remote_actor blocks until connected (or failed).
      auto proxy = sys_a.middleman().remote_actor("127.0.0.1", *port);
      if (!proxy) {
        state.SkipWithError(
            ("CAF remote_actor: " + sys_a.render(proxy.error())).c_str());
      } else {
        // The receiver is armed by a local waiter in system B; the senders
        // in A address it through the proxy.
        auto round = [&](int64_t total) {
          waiter->send(receiver, arm_atom::value, total,
                       caf::actor_cast<caf::actor>(waiter));
          caf::anon_send(senders[0], start_atom::value, total, *proxy);
          return caf_wait(state, waiter);
        };
        if (round(kChunk)) {
          for (auto _ : state) {
            if (!round(kRemoteMessages)) break;
          }
        }
      }
    }
    caf_kill(senders);
    caf_kill({receiver});
  }
  report_rate(state, kRemoteMessages);
}

#endif  // CMUD_HAVE_CAF

// Registered pairwise so each CMUD figure sits next to its CAF counterpart.
#if CMUD_HAVE_CAF
#define CMUD_BENCH_PAIR(name, iters)                           \
  BENCHMARK(BM_Cmud_##name)->UseRealTime()->Iterations(iters); \
  BENCHMARK(BM_Caf_##name)->UseRealTime()->Iterations(iters)
#else
#define CMUD_BENCH_PAIR(name, iters) \
  BENCHMARK(BM_Cmud_##name)->UseRealTime()->Iterations(iters)
#endif

CMUD_BENCH_PAIR(Tell1to1, kLocalIters);
CMUD_BENCH_PAIR(Tell8to1, kLocalIters);
CMUD_BENCH_PAIR(PingPong, kPingIters);
CMUD_BENCH_PAIR(RemoteTell1to1, kRemoteIters);

}  // namespace

BENCHMARK_MAIN();
