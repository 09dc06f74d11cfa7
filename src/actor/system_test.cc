#include "cmud/actor/system.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <algorithm>
#include <asio/post.hpp>
#include <atomic>
#include <future>
#include <map>
#include <optional>
#include <thread>

#include "test_util.h"

namespace cmud::actor {
namespace {

using namespace std::chrono_literals;
using testing::ErrorLog;
using testing::make_system;
using testing::test_config;

struct Add {
  int64_t n = 0;
  CMUD_MESSAGE("test.system.Add", n)
};
struct Count {
  int64_t value = 0;
  CMUD_MESSAGE("test.system.Count", value)
};
struct Get {
  ActorRef reply_to;
  using Reply = Count;
  CMUD_MESSAGE("test.system.Get", reply_to)
};
// A request whose handler answers with the wrong type (a bug to report).
struct BadGet {
  ActorRef reply_to;
  using Reply = Count;
  CMUD_MESSAGE("test.system.BadGet", reply_to)
};
// A numbered message from one of several senders.
struct Seq {
  int32_t sender = 0;
  int64_t n = 0;
  CMUD_MESSAGE("test.system.Seq", sender, n)
};
struct Report {
  bool in_order = false;
  int64_t received = 0;
  CMUD_MESSAGE("test.system.Report", in_order, received)
};
struct Ping {
  CMUD_MESSAGE("test.system.Ping")
};

class Counter : public Actor {
 public:
  explicit Counter(Context& ctx) : ctx_(ctx) {}
  Status on_message(Message& msg) override {
    return match(
        msg, [&](Add& a) { count_ += a.n; },
        [&](Get& g) { ctx_.reply(g, Count{count_}); },
        [&](BadGet& g) { ctx_.tell(g.reply_to, Add{count_}); },
        [&](Ping&) -> Status {
          return {ErrorCode::kInvalidArgument, "ping refused"};
        });
  }

 private:
  Context& ctx_;
  int64_t count_ = 0;
};

// Checks per-sender FIFO order; reports on Get.
class OrderChecker : public Actor {
 public:
  explicit OrderChecker(Context& ctx) : ctx_(ctx) {}
  Status on_message(Message& msg) override {
    if (busy_.exchange(true)) concurrent_ = true;
    if (auto* s = msg.as<Seq>()) {
      auto& last = last_[s->sender];
      if (s->n != last + 1) in_order_ = false;
      last = s->n;
      ++received_;
    } else if (auto* g = msg.as<Get>()) {
      ctx_.tell(g->reply_to, Report{in_order_ && !concurrent_, received_});
    }
    busy_ = false;
    return {};
  }

 private:
  Context& ctx_;
  std::map<int32_t, int64_t> last_;
  bool in_order_ = true;
  bool concurrent_ = false;
  std::atomic<bool> busy_{false};
  int64_t received_ = 0;
};

template <class T>
Result<T> ask(System& sys, const ActorRef& to,
              std::chrono::milliseconds within = 5s) {
  auto ch = sys.channel();
  sys.tell(to, Get{ch.ref});
  if (ch.reply.wait_for(within) != std::future_status::ready) {
    return Status(ErrorCode::kTimeout, "no reply");
  }
  auto m = ch.reply.get();
  if (!m.ok()) return m.status();
  if (auto* v = m->as<T>()) return *v;
  return Status(ErrorCode::kDecode, "wrong reply type");
}

TEST(System, CounterAddsOneAndTwoToThree) {
  ErrorLog log;
  auto sys = make_system(test_config(log));
  ASSERT_TRUE(sys);
  auto c = sys->spawn<Counter>();
  sys->tell(c, Add{1});
  sys->tell(c, Add{2});
  auto count = ask<Count>(*sys, c);
  ASSERT_TRUE(count.ok()) << count.status().to_string();
  EXPECT_EQ(count->value, 3);
  EXPECT_TRUE(log.empty()) << log.dump();
  auto st = sys->stats();
  EXPECT_EQ(st.messages_sent_external, 3u);
  EXPECT_EQ(st.messages_sent_actor, 1u);
  EXPECT_EQ(st.messages_sent, 4u);
  EXPECT_EQ(st.channel_refs_used, 1u);
  EXPECT_GT(st.bytes_sent, 0u);
}

TEST(System, ManyConcurrentExternalSendersKeepPerSenderOrder) {
  ErrorLog log;
  auto sys = make_system(test_config(log));
  ASSERT_TRUE(sys);
  auto checker = sys->spawn<OrderChecker>();
  constexpr int kThreads = 8;
  constexpr int kEach = 5000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 1; i <= kEach; ++i) sys->tell(checker, Seq{t, i});
    });
  }
  for (auto& t : threads) t.join();
  auto r = ask<Report>(*sys, checker);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_TRUE(r->in_order);
  EXPECT_EQ(r->received, kThreads * kEach);
  EXPECT_TRUE(log.empty()) << log.dump();
}

// Sends `count` numbered messages to `to` when it gets Add.
class Sender : public Actor {
 public:
  Sender(Context& ctx, ActorRef to, int32_t id, int64_t count)
      : ctx_(ctx), to_(std::move(to)), id_(id), count_(count) {}
  Status on_message(Message& msg) override {
    if (msg.is<Add>()) {
      for (int64_t i = 1; i <= count_; ++i) ctx_.tell(to_, Seq{id_, i});
    }
    return {};
  }

 private:
  Context& ctx_;
  ActorRef to_;
  int32_t id_;
  int64_t count_;
};

TEST(System, ManyActorSendersKeepPerSenderOrderAcrossWorkers) {
  ErrorLog log;
  auto sys = make_system(test_config(log));
  ASSERT_TRUE(sys);
  auto checker = sys->spawn_on<OrderChecker>(0);
  std::vector<ActorRef> senders;
  for (int i = 0; i < 8; ++i) {
    senders.push_back(sys->spawn_on<Sender>(i % 2, checker, i, 2000));
  }
  for (auto& s : senders) sys->tell(s, Add{});
  // Poll until everything has arrived (bounded).
  Result<Report> r = Status(ErrorCode::kTimeout, "not yet");
  for (int i = 0; i < 500; ++i) {
    r = ask<Report>(*sys, checker);
    if (r.ok() && r->received == 8 * 2000) break;
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->received, 8 * 2000);
  EXPECT_TRUE(r->in_order);
  auto st = sys->stats();
  EXPECT_EQ(st.messages_sent_actor, 8u * 2000u + st.channel_refs_used);
  EXPECT_GE(st.max_pair_msgs_per_sec, 2000u);
  EXPECT_TRUE(log.empty()) << log.dump();
}

// Asks for a timer on start-up and records when it fires.
struct Fire {
  int64_t asked_ms = 0;
  CMUD_MESSAGE("test.system.Fire", asked_ms)
};
class TimerActor : public Actor {
 public:
  TimerActor(Context& ctx,
             std::promise<std::chrono::steady_clock::time_point>* fired)
      : ctx_(ctx), fired_(fired) {}
  Status on_message(Message& msg) override {
    if (auto* f = msg.as<Fire>()) {
      ctx_.tell_after(ctx_.self(), Ping{},
                      std::chrono::milliseconds(f->asked_ms));
    } else if (msg.is<Ping>()) {
      fired_->set_value(std::chrono::steady_clock::now());
    }
    return {};
  }

 private:
  Context& ctx_;
  std::promise<std::chrono::steady_clock::time_point>* fired_;
};

TEST(System, TellAfterFiresNoEarlierThanAskedAndSoonAfter) {
  ErrorLog log;
  auto sys = make_system(test_config(log));
  ASSERT_TRUE(sys);
  std::promise<std::chrono::steady_clock::time_point> fired;
  auto fut = fired.get_future();
  auto a = sys->spawn<TimerActor>(&fired);
  auto start = std::chrono::steady_clock::now();
  sys->tell(a, Fire{50});
  ASSERT_EQ(fut.wait_for(2s), std::future_status::ready);
  auto took = fut.get() - start;
  EXPECT_GE(took, 50ms);
  EXPECT_LT(took, 150ms);
  // A timer message to self counts as an actor message of the pair.
  EXPECT_EQ(sys->stats().messages_sent_actor, 1u);
  EXPECT_EQ(sys->stats().max_pair_msgs_per_sec, 1u);
}

TEST(System, ChannelRefIsSingleUseAndASecondMessageIsReported) {
  ErrorLog log;
  auto sys = make_system(test_config(log));
  ASSERT_TRUE(sys);
  auto ch = sys->channel();
  sys->tell(ch.ref, Count{7});
  sys->tell(ch.ref, Count{8});
  ASSERT_EQ(ch.reply.wait_for(1s), std::future_status::ready);
  auto m = ch.reply.get();
  ASSERT_TRUE(m.ok());
  ASSERT_TRUE(m->is<Count>());
  EXPECT_EQ(m->as<Count>()->value, 7);
  EXPECT_TRUE(log.wait_for(ErrorCode::kAlreadyUsed, 1s)) << log.dump();
}

TEST(System, CallbackChannelRunsOnTheGivenExecutor) {
  ErrorLog log;
  auto sys = make_system(test_config(log));
  ASSERT_TRUE(sys);
  std::promise<std::thread::id> worker_thread;
  asio::post(sys->executor(1),
             [&] { worker_thread.set_value(std::this_thread::get_id()); });
  std::promise<std::pair<std::thread::id, int64_t>> got;
  auto ref = sys->channel(sys->executor(1), [&](Message m) {
    got.set_value({std::this_thread::get_id(), m.as<Count>()->value});
  });
  auto c = sys->spawn_on<Counter>(0);
  sys->tell(c, Add{5});
  sys->tell(c, Get{ref});
  auto fut = got.get_future();
  ASSERT_EQ(fut.wait_for(2s), std::future_status::ready);
  auto [tid, value] = fut.get();
  EXPECT_EQ(value, 5);
  EXPECT_EQ(tid, worker_thread.get_future().get());
}

// Records the thread it runs on.
class WhereAmI : public Actor {
 public:
  WhereAmI(Context& ctx, std::promise<std::thread::id>* where) : where_(where) {
    (void)ctx;
  }
  Status on_message(Message&) override {
    where_->set_value(std::this_thread::get_id());
    return {};
  }

 private:
  std::promise<std::thread::id>* where_;
};

TEST(System, ActorPlacedOnAWorkerRunsOnThatWorkersThread) {
  ErrorLog log;
  auto sys = make_system(test_config(log));
  ASSERT_TRUE(sys);
  for (size_t w = 0; w < sys->worker_count(); ++w) {
    std::promise<std::thread::id> exec_thread, actor_thread;
    asio::post(sys->executor(w),
               [&] { exec_thread.set_value(std::this_thread::get_id()); });
    auto a = sys->spawn_on<WhereAmI>(w, &actor_thread);
    sys->tell(a, Ping{});
    auto f = actor_thread.get_future();
    ASSERT_EQ(f.wait_for(2s), std::future_status::ready);
    EXPECT_EQ(f.get(), exec_thread.get_future().get()) << "worker " << w;
  }
}

// Reports, on Get, the deepest nesting of its own handler seen so far.
class DepthProbe : public Actor {
 public:
  explicit DepthProbe(Context& ctx) : ctx_(ctx) {}
  Status on_message(Message& msg) override {
    ++depth_;
    max_ = std::max(max_, depth_);
    if (auto* g = msg.as<Get>()) ctx_.tell(g->reply_to, Count{max_});
    --depth_;
    return {};
  }

 private:
  Context& ctx_;
  int64_t depth_ = 0;
  int64_t max_ = 0;
};

// A tell from plain code on the actor's own worker (a socket handler) is
// handled, and a callback reply on that worker run, before tell returns: one
// turn of the event loop per request. A tell made from inside that callback
// is queued, so handlers never nest.
TEST(System, ATellOnTheActorsWorkerIsAnsweredBeforeItReturnsWithoutNesting) {
  ErrorLog log;
  auto sys = make_system(test_config(log));
  ASSERT_TRUE(sys);
  auto probe = sys->spawn_on<DepthProbe>(0);
  std::atomic<bool> replied{false};
  std::promise<bool> replied_before_return;
  std::promise<std::future<Result<Message>>> second;
  asio::post(sys->executor(0), [&] {
    auto ref = sys->channel(sys->executor(0), [&](Message m) {
      EXPECT_EQ(m.as<Count>()->value, 1);
      auto ch = sys->channel();
      sys->tell(probe, Get{ch.ref});  // from inside the probe's turn
      second.set_value(std::move(ch.reply));
      replied = true;
    });
    sys->tell(probe, Get{ref});
    replied_before_return.set_value(replied.load());
  });
  auto before = replied_before_return.get_future();
  ASSERT_EQ(before.wait_for(2s), std::future_status::ready);
  EXPECT_TRUE(before.get());
  auto next = second.get_future();
  ASSERT_EQ(next.wait_for(2s), std::future_status::ready);
  auto reply = next.get();
  ASSERT_EQ(reply.wait_for(2s), std::future_status::ready);
  auto m = reply.get();
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->as<Count>()->value, 1);  // the second Get did not nest
  EXPECT_TRUE(log.empty()) << log.dump();
}

// Asks for a pass end on every Add; counts the pass ends and the Adds each
// one saw. Get answers passes * 1000 + Adds seen by the last pass end.
class PassCounter : public Actor {
 public:
  explicit PassCounter(Context& ctx) : ctx_(ctx) {}
  Status on_message(Message& msg) override {
    return match(
        msg,
        [&](Add& a) {
          adds_ += a.n;
          ctx_.call_at_pass_end();
        },
        [&](Get& g) { ctx_.reply(g, Count{passes_ * 1000 + seen_}); });
  }
  void on_pass_end() override {
    ++passes_;
    seen_ = adds_;
  }

 private:
  Context& ctx_;
  int64_t adds_ = 0;
  int64_t passes_ = 0;
  int64_t seen_ = 0;
};

// Ten tells from one handler on the actor's worker run as ten turns (each
// inline); the pass end asked for in each comes once, after all ten.
TEST(System, APassEndComesOnceAfterEverythingReadyOnTheWorker) {
  ErrorLog log;
  auto sys = make_system(test_config(log));
  ASSERT_TRUE(sys);
  auto a = sys->spawn_on<PassCounter>(0);
  std::promise<void> done;
  asio::post(sys->executor(0), [&] {
    for (int i = 0; i < 10; ++i) sys->tell(a, Add{1});
    // Posted from the worker, so queued behind the pass end. Set here, the
    // Get below could be queued from outside before the pass end was.
    asio::post(sys->executor(0), [&] { done.set_value(); });
  });
  done.get_future().wait();
  auto r = ask<Count>(*sys, a);
  ASSERT_TRUE(r.ok()) << r.status().to_string();
  EXPECT_EQ(r->value, 1 * 1000 + 10);
  EXPECT_TRUE(log.empty()) << log.dump();
}

// Runs a job on `blocked` that waits for `release`, then one on `free`
// that returns at once; counts the jobs done (Add 1 each) and answers Get.
class Backgrounder : public Actor {
 public:
  Backgrounder(Context& ctx, std::shared_future<void> release, Lane blocked,
               std::optional<Lane> free)
      : ctx_(ctx) {
    ctx_.run_background([release] { release.wait(); }, Add{1}, blocked);
    if (free) ctx_.run_background([] {}, Add{1}, *free);
  }
  Status on_message(Message& msg) override {
    return match(
        msg, [&](Add& a) { done_ += a.n; },
        [&](Get& g) { ctx_.reply(g, Count{done_}); });
  }

 private:
  Context& ctx_;
  int64_t done_ = 0;
};

// Asks `a` until it has done `want` jobs (at most 5 s); returns the count.
int64_t wait_jobs(System& sys, const ActorRef& a, int64_t want) {
  int64_t done = -1;
  for (int i = 0; i < 500; ++i) {
    auto r = ask<Count>(sys, a);
    if (!r.ok()) return -1;
    done = r->value;
    if (done >= want) break;
    std::this_thread::sleep_for(10ms);
  }
  return done;
}

// What everysec's fsync relies on: a sync never waits behind a snapshot,
// nor behind another worker's sync.
TEST(System, ASyncJobWaitsNeitherForALongJobNorForAnotherWorkersSync) {
  ErrorLog log;
  auto sys = make_system(test_config(log));
  ASSERT_TRUE(sys);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  auto a = sys->spawn_on<Backgrounder>(0, released, Lane::kLong, Lane::kSync);
  auto b = sys->spawn_on<Backgrounder>(0, released, Lane::kSync,
                                       std::optional<Lane>());
  auto c = sys->spawn_on<Backgrounder>(1, released, Lane::kLong, Lane::kSync);
  // The sync jobs of a and c are done while a's long job and b's sync
  // (worker 0's) still wait; c's long job waits behind a's.
  EXPECT_EQ(wait_jobs(*sys, a, 1), 1);
  EXPECT_EQ(wait_jobs(*sys, c, 1), 1);
  EXPECT_EQ(wait_jobs(*sys, b, 0), 0);
  release.set_value();
  EXPECT_EQ(wait_jobs(*sys, a, 2), 2);
  EXPECT_EQ(wait_jobs(*sys, b, 1), 1);
  EXPECT_EQ(wait_jobs(*sys, c, 2), 2);
  EXPECT_TRUE(log.empty()) << log.dump();
}

TEST(System, UnknownTargetIsReported) {
  ErrorLog log;
  auto sys = make_system(test_config(log));
  ASSERT_TRUE(sys);
  sys->tell(ActorRef(sys->address(), 12345), Ping{});
  EXPECT_TRUE(log.wait_for(ErrorCode::kNotFound, 1s)) << log.dump();
}

TEST(System, AnActorsErrorResultIsReported) {
  ErrorLog log;
  auto sys = make_system(test_config(log));
  ASSERT_TRUE(sys);
  auto c = sys->spawn<Counter>();
  sys->tell(c, Ping{});  // Counter refuses Ping
  EXPECT_TRUE(log.wait_for(ErrorCode::kInvalidArgument, 1s)) << log.dump();
}

// Its operator== sees a field that CMUD_MESSAGE forgot.
struct Forgetful {
  int64_t kept = 0;
  int64_t forgotten = 0;
  friend bool operator==(const Forgetful&, const Forgetful&) = default;
  CMUD_MESSAGE("test.system.Forgetful", kept)
};

TEST(System, SerializeLocalMessagesCatchesATypeThatDoesNotRoundTrip) {
  ErrorLog log;
  auto sys = make_system(test_config(log));
  ASSERT_TRUE(sys);
  auto ch = sys->channel();
  sys->tell(ch.ref, Forgetful{1, 2});
  EXPECT_TRUE(log.wait_for(ErrorCode::kDecode, 1s)) << log.dump();
  EXPECT_EQ(ch.reply.wait_for(50ms), std::future_status::timeout);

  // Equal after a round trip: delivered.
  auto ch2 = sys->channel();
  sys->tell(ch2.ref, Forgetful{1, 0});
  ASSERT_EQ(ch2.reply.wait_for(1s), std::future_status::ready);
  EXPECT_TRUE(ch2.reply.get().ok());
}

TEST(System, WithoutSerializeLocalMessagesTheValueIsMovedAsIs) {
  ErrorLog log;
  auto cfg = test_config(log);
  cfg.serialize_local_messages = false;
  auto sys = make_system(cfg);
  ASSERT_TRUE(sys);
  auto ch = sys->channel();
  sys->tell(ch.ref, Forgetful{1, 2});
  ASSERT_EQ(ch.reply.wait_for(1s), std::future_status::ready);
  auto m = ch.reply.get();
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->as<Forgetful>()->forgotten, 2);
}

TEST(System, CloseWakesWaitersAndDropsLaterSends) {
  ErrorLog log;
  auto sys = make_system(test_config(log));
  ASSERT_TRUE(sys);
  auto c = sys->spawn<Counter>();
  auto ch = sys->channel();
  std::thread closer([&] {
    std::this_thread::sleep_for(20ms);
    sys->close();
  });
  ASSERT_EQ(ch.reply.wait_for(2s), std::future_status::ready);
  closer.join();
  auto m = ch.reply.get();
  ASSERT_FALSE(m.ok());
  EXPECT_EQ(m.status().code(), ErrorCode::kClosed);
  EXPECT_TRUE(sys->closed());
  auto before = sys->stats().messages_sent;
  sys->tell(c, Add{1});
  EXPECT_EQ(sys->stats().messages_sent, before);
  sys->close();  // idempotent
  auto late = sys->channel();
  ASSERT_EQ(late.reply.wait_for(100ms), std::future_status::ready);
  EXPECT_EQ(late.reply.get().status().code(), ErrorCode::kClosed);
}

TEST(System, ConstructorMessagesToSelfWaitUntilItReturns) {
  ErrorLog log;
  auto sys = make_system(test_config(log));
  ASSERT_TRUE(sys);
  struct Early : Actor {
    Early(Context& ctx, std::promise<bool>* done) : done_(done) {
      ctx.tell(ctx.self(), Ping{});
      std::this_thread::sleep_for(30ms);
      constructed_ = true;
    }
    Status on_message(Message&) override {
      done_->set_value(constructed_);
      return {};
    }
    std::promise<bool>* done_;
    bool constructed_ = false;
  };
  std::promise<bool> done;
  sys->spawn<Early>(&done);
  auto f = done.get_future();
  ASSERT_EQ(f.wait_for(2s), std::future_status::ready);
  EXPECT_TRUE(f.get());
}

TEST(System, IdleWorkersDoNotBurnCpu) {
  ErrorLog log;
  auto sys = make_system(test_config(log, 4));
  ASSERT_TRUE(sys);
  rusage before{}, after{};
  getrusage(RUSAGE_SELF, &before);
  std::this_thread::sleep_for(300ms);
  getrusage(RUSAGE_SELF, &after);
  auto us = [](const rusage& r) {
    return (r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1000000L +
           r.ru_utime.tv_usec + r.ru_stime.tv_usec;
  };
  // Four spinning workers would use ~1.2 s of CPU here.
  EXPECT_LT(us(after) - us(before), 60000L);
}

TEST(System, BusyPortIsAClearError) {
  ErrorLog log;
  auto a = make_system(test_config(log));
  ASSERT_TRUE(a);
  auto cfg = test_config(log);
  auto colon = a->address().rfind(':');
  cfg.port = static_cast<uint16_t>(std::stoi(a->address().substr(colon + 1)));
  auto b = System::create(cfg);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), ErrorCode::kUnavailable);
  EXPECT_NE(b.status().message().find("cannot listen"), std::string::npos);
}

TEST(System, MatchRunsTheHandlerOfTheMessagesTypeAndReportsTheRest) {
  ErrorLog log;
  auto sys = make_system(test_config(log));
  ASSERT_TRUE(sys);
  auto c = sys->spawn<Counter>();
  sys->tell(c, Add{5});
  sys->tell(c, Ping{});    // its handler returns an error
  sys->tell(c, Report{});  // no handler takes it
  auto count = sys->request(c, Get{});
  ASSERT_EQ(count.wait_for(2s), std::future_status::ready);
  EXPECT_EQ(count.get()->value, 5);
  auto errors = log.dump();
  EXPECT_NE(errors.find("ping refused"), std::string::npos) << errors;
  EXPECT_NE(errors.find("unexpected message test.system.Report"),
            std::string::npos)
      << errors;
}

TEST(System, MatchWithoutAMatchingHandlerIsInvalidArgument) {
  Message m = Message::make(Add{1});
  Status s = match(m, [](Ping&) {});
  EXPECT_EQ(s.code(), ErrorCode::kInvalidArgument);
  int seen = 0;
  EXPECT_TRUE(match(
                  m, [&](Ping&) { seen = 1; },
                  [&](Add& a) { seen = static_cast<int>(a.n) + 1; })
                  .ok());
  EXPECT_EQ(seen, 2);
}

TEST(System, RequestReturnsTheTypedReply) {
  ErrorLog log;
  auto sys = make_system(test_config(log));
  ASSERT_TRUE(sys);
  auto c = sys->spawn<Counter>();
  sys->tell(c, Add{40});
  sys->tell(c, Add{2});
  std::future<Result<Count>> f = sys->request(c, Get{});
  ASSERT_EQ(f.wait_for(2s), std::future_status::ready);
  Result<Count> count = f.get();
  ASSERT_TRUE(count.ok()) << count.status().to_string();
  EXPECT_EQ(count->value, 42);
  EXPECT_EQ(sys->stats().channel_refs_used, 1u);
  EXPECT_TRUE(log.empty()) << log.dump();
}

TEST(System, RequestAnsweredWithTheWrongTypeIsAProtocolError) {
  ErrorLog log;
  auto sys = make_system(test_config(log));
  ASSERT_TRUE(sys);
  auto c = sys->spawn<Counter>();
  auto f = sys->request(c, BadGet{});
  ASSERT_EQ(f.wait_for(2s), std::future_status::ready);
  Result<Count> r = f.get();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kProtocol);
  EXPECT_NE(r.status().message().find("test.system.Add"), std::string::npos);
}

TEST(System, RequestToAnActorThatNeverAnswersCompletesWithClosed) {
  ErrorLog log;
  auto sys = make_system(test_config(log));
  ASSERT_TRUE(sys);
  auto c = sys->spawn<Counter>();
  // Get sent to a channel, not an actor: nobody answers this one.
  auto never = sys->request(sys->channel().ref, Get{});
  EXPECT_EQ(never.wait_for(50ms), std::future_status::timeout);
  sys->close();
  ASSERT_EQ(never.wait_for(2s), std::future_status::ready);
  EXPECT_EQ(never.get().status().code(), ErrorCode::kClosed);
  auto late = sys->request(c, Get{});
  ASSERT_EQ(late.wait_for(2s), std::future_status::ready);
  EXPECT_EQ(late.get().status().code(), ErrorCode::kClosed);
}

TEST(System, RequestWithACallbackRunsItOnTheGivenExecutor) {
  ErrorLog log;
  auto sys = make_system(test_config(log));
  ASSERT_TRUE(sys);
  auto c = sys->spawn_on<Counter>(0);
  sys->tell(c, Add{7});
  std::promise<std::pair<int64_t, std::thread::id>> done;
  std::promise<std::thread::id> worker1;
  asio::post(sys->executor(1),
             [&] { worker1.set_value(std::this_thread::get_id()); });
  sys->request(c, Get{}, sys->executor(1), [&](Result<Count> r) {
    done.set_value({r.ok() ? r->value : -1, std::this_thread::get_id()});
  });
  auto f = done.get_future();
  ASSERT_EQ(f.wait_for(2s), std::future_status::ready);
  auto [value, thread] = f.get();
  EXPECT_EQ(value, 7);
  EXPECT_EQ(thread, worker1.get_future().get());
}

}  // namespace
}  // namespace cmud::actor
