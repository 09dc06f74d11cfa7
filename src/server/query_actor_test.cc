// The query actor through the actor runtime alone (no sockets).
#include "query_actor.h"
#include "coordinator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <map>
#include <set>
#include <thread>

#include "cmud/actor/system.h"
#include "cmud/durable/recovery.h"
#include "cmud/kv/version.h"
#include "cmud/sim/world.h"
#include "faulty_files.h"

namespace cmud::server {
namespace {

using namespace std::chrono_literals;

constexpr const char* kHost = "10.0.0.1:7000";

class QueryActorTest : public ::testing::Test {
 protected:
  void SetUp() override { sys_ = make_system(nullptr); }

  std::unique_ptr<actor::System> make_system(
      std::shared_ptr<actor::Host> host) {
    actor::SystemConfig c;
    c.workers = 2;
    c.serialize_local_messages = true;
    c.runtime_host = std::move(host);
    c.on_error = [this](const Status& s) {
      std::lock_guard lock(mu_);
      errors_.push_back(s.to_string());
    };
    return std::move(actor::System::create(c)).value();
  }

  // Runs the rest of the test on the deterministic simulator (virtual time,
  // one thread): for tests of sync timing that must not depend on how
  // busy the machine is.
  void simulate(uint64_t seed = 1) {
    sys_->close();
    world_ = std::make_unique<sim::World>(seed);
    sys_ = make_system(world_->host(kHost, 2));
  }
  // simulate(), with a data directory on the host's disk: the options of
  // durable actors that sync by `fsync`.
  SyncOptions simulate_durable(durable::Fsync fsync, uint64_t seed = 1) {
    simulate(seed);
    EXPECT_TRUE(world_->disk(kHost).create_dirs("/data").ok());
    SyncOptions options;
    options.data_dir = "/data";
    options.fsync = fsync;
    return options;
  }
  // Lets time pass: virtual time under simulate(), else the real kind.
  void pass(std::chrono::milliseconds d) {
    if (world_) {
      world_->run_until(world_->now_ms() + d.count());
    } else {
      std::this_thread::sleep_for(d);
    }
  }
  uint64_t wall_ms() const {
    return world_
               ? sim::World::kEpochMs + static_cast<uint64_t>(world_->now_ms())
               : kv::wall_clock_ms();
  }
  template <class T>
  bool wait(std::future<T>& f) {
    if (!world_) return f.wait_for(5s) == std::future_status::ready;
    // A reply takes a few turns of the workers, no time passes.
    for (int i = 0; i < 100; ++i) {
      if (f.wait_for(0s) == std::future_status::ready) return true;
      world_->run_until(world_->now_ms());
      if (f.wait_for(0s) != std::future_status::ready) pass(1ms);
    }
    return false;
  }
  void TearDown() override {
    sys_->close();
    std::lock_guard lock(mu_);
    EXPECT_TRUE(errors_.empty()) << errors_.front();
  }

  // n actors of one server, the first actors of a fresh system (so their
  // refs are known before they are spawned).
  std::vector<ActorRef> spawn(
      size_t n, SyncOptions options = {},
      std::shared_ptr<const durable::Recovered> recovered = nullptr) {
    std::vector<ActorRef> want;
    for (size_t i = 0; i < n; ++i) want.emplace_back(sys_->address(), i + 1);
    std::vector<ActorRef> refs;
    for (size_t i = 0; i < n; ++i) {
      refs.push_back(sys_->spawn_on<QueryActor>(
          i % 2, i, options, sys_->address(), want, recovered));
    }
    EXPECT_EQ(refs, want);
    return refs;
  }

  // An op and a result that own their bytes, for writing tests.
  struct Op {
    OpKind kind = OpKind::kGet;
    bool flag = false;
    uint8_t flags = 0;
    std::string key, arg;
    uint64_t count = 0;
    std::vector<std::string> keys;
  };
  struct OpResult {
    bool found = false;
    int64_t n = 0;
    std::string value;
    std::vector<std::optional<std::string>> values;
    std::string error;  // the op's error reply, if it failed
    std::vector<std::string> items() const {
      std::vector<std::string> out;
      for (const auto& v : values) out.push_back(v.value_or("<nil>"));
      return out;
    }
  };

  // kList takes its prefix from key, kKeys and kScan their pattern from
  // arg; kScan resumes after key when flag is set.
  static OpView view(const Op& op) {
    std::vector<std::string_view> keys(op.keys.begin(), op.keys.end());
    switch (op.kind) {
      case OpKind::kGet:
        return OpView::get(op.key);
      case OpKind::kSet:
        return OpView::set(op.key, op.arg);
      case OpKind::kMGet:
        return OpView::mget(keys);
      case OpKind::kDel:
        return OpView::del(keys);
      case OpKind::kExists:
        return OpView::exists(keys);
      case OpKind::kList:
        return OpView::list(op.key);
      case OpKind::kKeys:
        return OpView::keys_matching(op.arg);
      case OpKind::kScan:
        return OpView::scan(
            op.flag ? std::optional<std::string_view>(op.key) : std::nullopt,
            op.arg, op.count);
      case OpKind::kDbSize:
        return OpView::dbsize();
      case OpKind::kClock:  // the value to observe in count
        return OpView::clock(op.count);
      case OpKind::kForget:
        return OpView::forget(op.key);
      case OpKind::kInfo:
        return OpView::info();
      case OpKind::kPersist:
        return OpView::persist(static_cast<PersistOp>(op.count));
      case OpKind::kFlush:
        return OpView::flush();
      case OpKind::kIncr:
        return OpView::incr(op.key, static_cast<int64_t>(op.count));
      case OpKind::kSetWith:
        return OpView::set_with(op.key, op.arg, op.flags, op.count);
      case OpKind::kExpire:
        return OpView::expire(op.key, op.flags, op.count);
      case OpKind::kTtl:
        return OpView::ttl(op.key, op.flags);
      case OpKind::kPublish:  // channel in key, message in arg
        return OpView::publish(op.key, op.arg);
      case OpKind::kEdit:
        return OpView::edit(op.key, op.arg, op.flags, op.count);
      case OpKind::kMSet:  // keys holds key, value, key, value...
        return OpView::mset(keys, op.flags != 0);
      case OpKind::kWatch:
        return OpView::watch(keys);
      case OpKind::kCheck:  // keys holds key, state, key, state...
        return OpView::check(keys);
      case OpKind::kEndCheck:
        return OpView::end_check();
      case OpKind::kRandomKey:
        return OpView::random_key();
      case OpKind::kIncrFloat:  // the increment's text in arg
        return OpView::incr_float(op.key, op.arg);
    }
    return OpView::dbsize();
  }
  static QueryRequest encode(const std::vector<Op>& ops) {
    QueryRequest q;
    for (const auto& op : ops) append_op(q, view(op));
    return q;
  }

  // found: GET's value is present, or SCAN has a next page; value: that
  // value, or the key the next page starts after.
  std::vector<OpResult> ask(const ActorRef& a, const std::vector<Op>& ops) {
    auto f = sys_->request(a, encode(ops));
    return results(f);
  }
  // The results of a request sent with sys_->request (so that several can
  // be under way at once).
  std::vector<OpResult> results(std::future<Result<QueryReply>>& f) {
    if (!wait(f)) return {};
    Result<QueryReply> reply = f.get();
    if (!reply.ok()) return {};
    last_error_ = reply->error;
    std::vector<OpResult> out;
    codec::Reader in(reply->results);
    ResultView v;
    for (uint32_t i = 0; i < reply->count && read_result(in, v); ++i) {
      auto text = v.value() ? v.value() : v.scan_next();
      OpResult r{text.has_value(),
                 v.integer(),
                 std::string(text.value_or("")),
                 {},
                 {}};
      for (const auto& x : v.items()) {
        r.values.push_back(x ? std::optional<std::string>(*x) : std::nullopt);
      }
      r.error = std::string(v.error().value_or(""));
      out.push_back(std::move(r));
    }
    return out;
  }
  OpResult one(const ActorRef& a, Op op) {
    auto r = ask(a, {std::move(op)});
    return r.empty() ? OpResult{} : std::move(r[0]);
  }
  static Op set(std::string k, std::string v) {
    Op op;
    op.kind = OpKind::kSet;
    op.key = std::move(k);
    op.arg = std::move(v);
    return op;
  }
  static Op incr(std::string k, int64_t delta) {
    Op op;
    op.kind = OpKind::kIncr;
    op.key = std::move(k);
    op.count = static_cast<uint64_t>(delta);
    return op;
  }
  static Op incr_float(std::string k, std::string increment) {
    Op op;
    op.kind = OpKind::kIncrFloat;
    op.key = std::move(k);
    op.arg = std::move(increment);
    return op;
  }
  // SET k v PX ms.
  static Op set_px(std::string k, std::string v, uint64_t ms) {
    Op op = set(std::move(k), std::move(v));
    op.kind = OpKind::kSetWith;
    op.flags = OpView::kSetExpireIn;
    op.count = ms;
    return op;
  }
  // PEXPIRE k ms.
  static Op pexpire(std::string k, uint64_t ms) {
    Op op;
    op.kind = OpKind::kExpire;
    op.key = std::move(k);
    op.flags = OpView::kSetExpireIn;
    op.count = ms;
    return op;
  }
  static Op ttl(std::string k) {
    Op op;
    op.kind = OpKind::kTtl;
    op.key = std::move(k);
    return op;
  }
  static Op get(std::string k) {
    Op op;
    op.kind = OpKind::kGet;
    op.key = std::move(k);
    return op;
  }
  static Op keys(OpKind kind, std::vector<std::string> ks) {
    Op op;
    op.kind = kind;
    op.keys = std::move(ks);
    return op;
  }

  void sustained_puts();

  std::string last_error_;             // the error of the last reply ask() got
  std::unique_ptr<sim::World> world_;  // before sys_: outlives it
  std::unique_ptr<actor::System> sys_;
  std::mutex mu_;
  std::vector<std::string> errors_;
};

TEST_F(QueryActorTest, AnswersEveryOpKindFromItsReplica) {
  auto a = spawn(1)[0];
  auto r = ask(a, {set("cat/1", "tom"), set("cat/2", "felix"),
                   set("dog/1", "rex"), get("cat/1"), get("nope")});
  ASSERT_EQ(r.size(), 5u);
  EXPECT_TRUE(r[3].found);
  EXPECT_EQ(r[3].value, "tom");
  EXPECT_FALSE(r[4].found);

  auto mget = one(a, keys(OpKind::kMGet, {"cat/2", "x", "dog/1"}));
  ASSERT_EQ(mget.values.size(), 3u);
  EXPECT_EQ(mget.values[0], "felix");
  EXPECT_EQ(mget.values[1], std::nullopt);
  EXPECT_EQ(mget.values[2], "rex");

  Op list;
  list.kind = OpKind::kList;
  list.key = "cat/";
  EXPECT_EQ(one(a, list).items(),
            (std::vector<std::string>{"cat/1", "tom", "cat/2", "felix"}));

  Op ks;
  ks.kind = OpKind::kKeys;
  ks.arg = "*/1";
  EXPECT_EQ(one(a, ks).items(), (std::vector<std::string>{"cat/1", "dog/1"}));

  EXPECT_EQ(one(a, keys(OpKind::kExists, {"cat/1", "cat/1", "zzz"})).n, 2);
  EXPECT_EQ(one(a, keys(OpKind::kDel, {"cat/1", "zzz"})).n, 1);
  EXPECT_FALSE(one(a, get("cat/1")).found);
  Op size;
  size.kind = OpKind::kDbSize;
  EXPECT_EQ(one(a, size).n, 2);
}

TEST_F(QueryActorTest, ScanVisitsEveryMatchingKeyOnceAcrossCalls) {
  auto a = spawn(1)[0];
  std::vector<Op> puts;
  for (int i = 0; i < 250; ++i) {
    puts.push_back(set("k" + std::to_string(i), "v"));
    puts.push_back(set("other" + std::to_string(i), "v"));
  }
  ask(a, std::move(puts));
  std::vector<std::string> seen;
  Op scan;
  scan.kind = OpKind::kScan;
  scan.arg = "k*";
  scan.count = 17;
  for (int round = 0; round < 100; ++round) {
    auto r = one(a, scan);
    auto items = r.items();
    seen.insert(seen.end(), items.begin(), items.end());
    if (!r.found) break;
    scan.key = r.value;
    scan.flag = true;
  }
  EXPECT_EQ(seen.size(), 250u);
  std::set<std::string> unique(seen.begin(), seen.end());
  EXPECT_EQ(unique.size(), 250u);
}

TEST_F(QueryActorTest, APutIsVisibleOnEveryLocalPeerWithinMilliseconds) {
  auto refs = spawn(4);
  auto start = std::chrono::steady_clock::now();
  one(refs[0], set("k", "v"));
  for (size_t i = 1; i < refs.size(); ++i) {
    bool seen = false;
    while (!seen && std::chrono::steady_clock::now() - start < 500ms) {
      seen = one(refs[i], get("k")).found;
      if (!seen) std::this_thread::sleep_for(1ms);
    }
    EXPECT_TRUE(seen) << "actor " << i;
  }
  // A lone Put on an idle actor goes out at once, not after a timer.
  EXPECT_LT(std::chrono::steady_clock::now() - start, 100ms);
}

TEST_F(QueryActorTest, ManyPutsToOneKeyTravelAsOneAndRespectTheRate) {
  simulate();
  auto refs = spawn(2);
  one(refs[0], set("warmup", "x"));
  pass(250ms);  // let the warm-up flush and go idle
  auto before = sys_->stats();
  // 200 Puts to one key in one request: one flush carries one entry.
  std::vector<Op> ops;
  for (int i = 0; i < 200; ++i) ops.push_back(set("hot", std::to_string(i)));
  auto replies = ask(refs[0], ops);
  ASSERT_EQ(replies.size(), 200u);
  QueryRequest request = encode(ops);
  request.reply_to = ActorRef(sys_->address(), ActorRef::kChannelBit);
  QueryReply reply;
  ResultWriter w(reply);
  for (int i = 0; i < 200; ++i) w.ok();
  size_t query_bytes =
      codec::encoded_size(request) + codec::encoded_size(reply);
  pass(350ms);
  auto after = sys_->stats();
  // Besides the query and its reply: one batch with one entry and the timer
  // that then finds nothing left to do.
  SyncBatch batch{sys_->address(), 1, {}};
  kv::append_entry(batch.entries, "hot", "199", 0, 0, false);
  // Numbered on its link, with the sender's claim on its own writes.
  batch.origin = 1;
  batch.link_seq = 2;
  batch.claims = {1, 1, 1, 1};
  size_t one_batch = codec::encoded_size(batch);
  EXPECT_EQ(after.bytes_sent - before.bytes_sent, query_bytes + one_batch);
  EXPECT_EQ(after.messages_sent_actor - before.messages_sent_actor, 3u);
  EXPECT_EQ(one(refs[1], get("hot")).value, "199");
  EXPECT_LE(after.max_pair_msgs_per_sec, 10u);
}

// A peer that takes less than is written lags the change log ever
// further; past max_log_bytes its cursor jumps to the end and repair brings
// it the rest. The log stays bounded and the peer still gets every key.
TEST_F(QueryActorTest, APeerLaggingPastTheLogBoundCatchesUpByRepair) {
  simulate();
  SyncOptions options;
  options.max_batch_bytes = 1024;  // about ten entries a flush
  options.max_log_bytes = 64 << 10;
  auto refs = spawn(2, options);
  auto counter = [&](const ActorRef& a, std::string_view name) {
    Op info;
    info.kind = OpKind::kInfo;
    auto items = one(a, info).items();
    auto it = std::find(items.begin(), items.end(), name);
    return it == items.end() ? -1 : std::stoll(*(it + 1));
  };
  constexpr int kKeys = 6000;
  size_t most = 0;
  for (int i = 0; i < kKeys; i += 500) {
    std::vector<Op> ops;
    for (int j = i; j < i + 500; ++j) {
      ops.push_back(set("key" + std::to_string(j), std::string(100, 'v')));
    }
    ASSERT_EQ(ask(refs[0], ops).size(), 500u);
    pass(110ms);
    most = std::max<size_t>(most, counter(refs[0], "sync_log_bytes"));
  }
  // At most the bound plus one request's records (500 x 24 bytes).
  EXPECT_LE(most, (64u << 10) + 500 * 32);
  EXPECT_GE(counter(refs[0], "sync_cursors_dropped"), 1);
  Op dbsize;
  dbsize.kind = OpKind::kDbSize;
  int64_t there = 0;
  for (int s = 0; s < 60 && there < kKeys; ++s) {
    for (const auto& r : refs) sys_->tell(r, RepairTick{});
    pass(1000ms);
    there = one(refs[1], dbsize).n;
  }
  EXPECT_EQ(there, kKeys);
  EXPECT_GT(counter(refs[0], "repair_entries_sent"), 0);
}

// Stands in for the coordinator (actor id 1): keeps the claims it gets.
class ClaimSink : public actor::Actor {
 public:
  ClaimSink(actor::Context&, std::vector<Claim>* got) : got_(got) {}
  Status on_message(actor::Message& m) override {
    if (auto* c = m.as<Claim>()) got_->push_back(*c);
    return {};
  }

 private:
  std::vector<Claim>* got_;
};

// The actors of a lone server learn from their rounds what each other
// holds (repair::Knowledge): once the coordinator names the sources, the
// claim follows the clock, at most a few back-off rounds behind, and each
// repair tick tells the coordinator that, kept unknown_source_margin
// behind the wall clock.
TEST_F(QueryActorTest, ActorsLearnWhatEachOtherHoldsFromMatchingRounds) {
  simulate();
  std::vector<Claim> claims;
  ASSERT_EQ(sys_->spawn_on<ClaimSink>(0, &claims),
            ActorRef(sys_->address(), kCoordinatorId));
  SyncOptions options;
  options.unknown_source_margin = std::chrono::milliseconds(5000);
  std::vector<ActorRef> refs;
  for (size_t i = 0; i < 3; ++i) refs.emplace_back(sys_->address(), i + 2);
  for (size_t i = 0; i < 3; ++i) {
    ASSERT_EQ(sys_->spawn_on<QueryActor>(i % 2, i, options, sys_->address(),
                                         refs, nullptr),
              refs[i]);
  }
  auto claim = [&](const ActorRef& a) {
    Op info;
    info.kind = OpKind::kInfo;
    auto items = one(a, info).items();
    auto it = std::find(items.begin(), items.end(), "repair_complete_below_ms");
    return it == items.end() ? -1 : std::stoll(*(it + 1));
  };
  one(refs[0], set("k", "v"));
  EXPECT_EQ(claim(refs[1]), 0);  // no sources named yet
  for (const auto& r : refs) sys_->tell(r, Members{});
  uint64_t start = wall_ms();
  for (int s = 0; s < 20; ++s) {
    for (const auto& r : refs) sys_->tell(r, RepairTick{});
    pass(1000ms);
  }
  for (const auto& r : refs) {
    int64_t c = claim(r);
    EXPECT_GT(c, static_cast<int64_t>(start));
    EXPECT_LE(c, static_cast<int64_t>(wall_ms()));
    EXPECT_GE(c, static_cast<int64_t>(wall_ms()) - 17'000);
  }
  // One claim per actor and tick once the sources were named.
  ASSERT_EQ(claims.size(), 3u * 20);
  for (size_t i = claims.size() - 3; i < claims.size(); ++i) {
    uint64_t ms = claims[i].complete_hlc >> 16;
    EXPECT_GT(ms, start);
    EXPECT_LE(ms, wall_ms() - 5000);
  }
}

TEST_F(QueryActorTest, SustainedPutsNeverExceedTenMessagesPerPairPerSecond) {
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    simulate(seed);
    sustained_puts();
  }
}

void QueryActorTest::sustained_puts() {
  auto refs = spawn(3);
  // 1.5 s of Puts, one every 0-2 ms of virtual time.
  int i = 0;
  for (; world_->now_ms() < 1500; ++i) {
    one(refs[i % 3], set("k" + std::to_string(i % 50), std::to_string(i)));
    pass(std::chrono::milliseconds(world_->rng().below(3)));
  }
  EXPECT_GT(i, 800);
  pass(300ms);
  EXPECT_LE(sys_->stats().max_pair_msgs_per_sec, 10u);
  EXPECT_GE(sys_->stats().max_pair_msgs_per_sec, 5u);  // it really synced
  // All replicas agree.
  Op list;
  list.kind = OpKind::kList;
  auto want = one(refs[0], list).items();
  EXPECT_EQ(want.size(), 100u);
  EXPECT_EQ(one(refs[1], list).items(), want);
  EXPECT_EQ(one(refs[2], list).items(), want);
}

// A pipeline longer than the store's warming chunk runs in order: each op
// sees the writes of the ops before it in the same request.
TEST_F(QueryActorTest, APipelineSeesItsOwnEarlierWritesInOrder) {
  auto refs = spawn(1);
  std::vector<Op> ops;
  for (int i = 0; i < 40; ++i) {
    std::string k = "k" + std::to_string(i % 5);
    ops.push_back(get(k));
    ops.push_back(set(k, "v" + std::to_string(i)));
    if (i % 9 == 8) ops.push_back(keys(OpKind::kDel, {k}));
    ops.push_back(keys(OpKind::kExists, {k}));
  }
  auto replies = ask(refs[0], ops);
  ASSERT_EQ(replies.size(), ops.size());
  std::map<std::string, std::string> model;
  for (size_t i = 0; i < ops.size(); ++i) {
    const Op& op = ops[i];
    const std::string& k = op.keys.empty() ? op.key : op.keys[0];
    auto it = model.find(k);
    switch (op.kind) {
      case OpKind::kGet:
        ASSERT_EQ(replies[i].found, it != model.end()) << i;
        if (it != model.end()) {
          EXPECT_EQ(replies[i].value, it->second) << i;
        }
        break;
      case OpKind::kSet:
        model[k] = op.arg;
        break;
      case OpKind::kDel:
        EXPECT_EQ(replies[i].n, it != model.end() ? 1 : 0) << i;
        model.erase(k);
        break;
      default:
        EXPECT_EQ(replies[i].n, it != model.end() ? 1 : 0) << i;
    }
  }
}

// Ops are decoded before any runs: a request with bad bytes is answered
// with no results and changes nothing.
TEST_F(QueryActorTest, AMalformedRequestIsAnsweredEmptyAndChangesNothing) {
  auto refs = spawn(1);
  QueryRequest q = encode({set("a", "1"), set("b", "2")});
  q.ops.resize(q.ops.size() - 3);  // the second op is cut short
  auto ch = sys_->channel();
  q.reply_to = ch.ref;
  sys_->tell(refs[0], std::move(q));
  ASSERT_EQ(ch.reply.wait_for(5s), std::future_status::ready);
  auto m = ch.reply.get();
  ASSERT_TRUE(m.ok());
  ASSERT_TRUE(m->is<QueryReply>());
  EXPECT_EQ(m->as<QueryReply>()->count, 0u);
  EXPECT_FALSE(one(refs[0], get("a")).found);
  std::lock_guard lock(mu_);
  ASSERT_EQ(errors_.size(), 1u);
  EXPECT_NE(errors_[0].find("malformed query request"), std::string::npos);
  errors_.clear();
}

// A corrupt count is refused before anything is sized by it.
TEST_F(QueryActorTest, AnImpossibleCountIsRefusedNotAllocated) {
  auto refs = spawn(1);
  QueryRequest q = encode({set("a", "1")});
  q.count = 0xffffffffu;
  auto ch = sys_->channel();
  q.reply_to = ch.ref;
  sys_->tell(refs[0], std::move(q));
  ASSERT_EQ(ch.reply.wait_for(5s), std::future_status::ready);
  auto m = ch.reply.get();
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->as<QueryReply>()->count, 0u);
  SyncBatch b{"elsewhere:1", 0xffffffffu, {}};
  kv::append_entry(b.entries, "b", "2", 7, 9, false);
  sys_->tell(refs[0], std::move(b));
  EXPECT_FALSE(one(refs[0], get("a")).found);  // and the actor still answers
  std::lock_guard lock(mu_);
  ASSERT_EQ(errors_.size(), 2u);
  EXPECT_NE(errors_[0].find("malformed query request"), std::string::npos);
  EXPECT_NE(errors_[1].find("malformed sync batch"), std::string::npos);
  errors_.clear();
}

// The forged entry of the security review: version 2^64-1 made its key
// immortal and wrapped the clock, so later writes were silently lost.
TEST_F(QueryActorTest, AVersionBeyondAnyClockIsRefusedAndTheClockKeepsWorking) {
  auto refs = spawn(1);
  ASSERT_EQ(ask(refs[0], {set("k", "before")}).size(), 1u);
  SyncBatch b{"elsewhere:1", 2, {}};
  kv::append_entry(b.entries, "k", "forged", ~uint64_t{0}, 9, false);
  kv::append_entry(b.entries, "other", "fine",
                   kv::Version::pack(kv::wall_clock_ms(), 0), 9, false);
  sys_->tell(refs[0], std::move(b));
  EXPECT_EQ(one(refs[0], get("other")).value, "fine");  // its neighbour lands
  EXPECT_EQ(one(refs[0], get("k")).value, "before");
  ASSERT_EQ(ask(refs[0], {set("k", "after")}).size(), 1u);
  EXPECT_EQ(one(refs[0], get("k")).value, "after");  // the clock did not wrap
  Op info;
  info.kind = OpKind::kInfo;
  auto counters = one(refs[0], info).items();
  auto refused =
      std::find(counters.begin(), counters.end(), "versions_refused");
  ASSERT_NE(refused, counters.end());
  EXPECT_EQ(*(refused + 1), "1");
  std::lock_guard lock(mu_);
  ASSERT_EQ(errors_.size(), 1u);
  EXPECT_NE(errors_[0].find("refused 1 entries from elsewhere:1"),
            std::string::npos)
      << errors_[0];
  errors_.clear();
}

TEST_F(QueryActorTest, AVersionTooFarAheadIsHeldThenAppliedOnceTheClockIsNear) {
  simulate();
  SyncOptions options;
  options.admit.max_skew_ms = 300;
  auto refs = spawn(1, options);
  uint64_t ahead_ms = wall_ms() + 1500;
  SyncBatch b{"elsewhere:1", 1, {}};
  kv::append_entry(b.entries, "k", "future", kv::Version::pack(ahead_ms, 0), 9,
                   false);
  sys_->tell(refs[0], std::move(b));
  EXPECT_FALSE(one(refs[0], get("k")).found);  // held back, not applied
  Op info;
  info.kind = OpKind::kInfo;
  auto counters = one(refs[0], info).items();
  auto held = std::find(counters.begin(), counters.end(), "versions_held_back");
  ASSERT_NE(held, counters.end());
  EXPECT_EQ(*(held + 1), "1");
  // Our clock did not observe it: a local write now is older than it.
  ASSERT_EQ(ask(refs[0], {set("k", "now")}).size(), 1u);
  EXPECT_EQ(one(refs[0], get("k")).value, "now");
  // Retried every sync spacing; admitted once within 300 ms of our clock:
  // 1.2 s after it was sent, to within one spacing.
  pass(1100ms);
  EXPECT_EQ(one(refs[0], get("k")).value, "now");
  pass(200ms);
  EXPECT_EQ(one(refs[0], get("k")).value, "future");
  // Now observed: a later local write beats it.
  ASSERT_EQ(ask(refs[0], {set("k", "later")}).size(), 1u);
  EXPECT_EQ(one(refs[0], get("k")).value, "later");
}

// The same on an actor with nothing else to do: the held entry alone keeps
// its timer going (an idle actor once kept it forever; found by cmud-sim).
TEST_F(QueryActorTest, AHeldVersionIsRetriedByAnIdleActor) {
  simulate();
  SyncOptions options;
  options.admit.max_skew_ms = 300;
  auto refs = spawn(1, options);
  SyncBatch b{"elsewhere:1", 1, {}};
  kv::append_entry(b.entries, "k", "future",
                   kv::Version::pack(wall_ms() + 1000, 0), 9, false);
  sys_->tell(refs[0], std::move(b));
  pass(600ms);
  EXPECT_FALSE(one(refs[0], get("k")).found);
  pass(300ms);
  EXPECT_EQ(one(refs[0], get("k")).value, "future");
}

// --- Durability (data_dir): on the simulator, whose disk loses what was
// not synced when it crashes.

TEST_F(QueryActorTest, WithFsyncAlwaysEveryAcknowledgedWriteSurvivesACrash) {
  for (auto policy : {durable::Fsync::kAlways, durable::Fsync::kNo}) {
    auto refs =
        spawn(2, simulate_durable(policy, static_cast<uint64_t>(policy) + 1));
    sim::Disk& disk = world_->disk(kHost);
    std::set<std::string> acked;
    for (int i = 0; i < 200; ++i) {
      std::string k = "k" + std::to_string(i);
      if (ask(refs[i % 2], {set(k, "v")}).size() == 1 && last_error_.empty()) {
        acked.insert(k);
      }
    }
    EXPECT_EQ(acked.size(), 200u);
    sys_->close();
    sim::Rng rng(9);
    disk.crash(rng);
    auto r = durable::recover(disk, "/data", false);
    ASSERT_TRUE(r.ok()) << r.status().message();
    size_t kept = 0;
    for (const auto& k : acked) kept += (*r)->store.get(k) ? 1 : 0;
    if (policy == durable::Fsync::kAlways) {
      EXPECT_EQ(kept, acked.size());
    } else {
      // Nothing was synced: the check above must be able to fail.
      EXPECT_LT(kept, acked.size());
    }
  }
}

TEST_F(QueryActorTest, EverysecSyncsAnIdleActorWithinASecond) {
  auto refs = spawn(1, simulate_durable(durable::Fsync::kEverySec));
  sim::Disk& disk = world_->disk(kHost);
  pass(1500ms);
  ask(refs[0], {set("first", "v")});  // a sync is due: made at once
  EXPECT_TRUE(last_error_.empty());
  pass(100ms);
  ask(refs[0], {set("k", "v")});  // not due yet
  EXPECT_TRUE(last_error_.empty());
  pass(1200ms);  // no further request: the sync timer makes it
  sys_->close();
  sim::Rng rng(4);
  disk.crash(rng);
  auto r = durable::recover(disk, "/data", false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ((*r)->store.get("k"), "v");
}

TEST_F(QueryActorTest, AFailingDiskRefusesWritesWithMisconfAndReadsGoOn) {
  SyncOptions options = simulate_durable(durable::Fsync::kAlways);
  durable::testing::FaultyFiles faulty(world_->disk(kHost));
  world_->set_files(kHost, &faulty);
  auto a = spawn(1, options)[0];
  ASSERT_EQ(ask(a, {set("a", "1")}).size(), 1u);
  EXPECT_EQ(last_error_, "");
  faulty.space = 0;  // the disk is full
  ask(a, {set("b", "2")});
  EXPECT_TRUE(last_error_.starts_with("MISCONF")) << last_error_;
  EXPECT_NE(last_error_.find("no space"), std::string::npos) << last_error_;
  // Refused before it is applied, until a second has passed.
  ask(a, {set("c", "3")});
  EXPECT_TRUE(last_error_.starts_with("MISCONF")) << last_error_;
  EXPECT_EQ(one(a, get("a")).value, "1");
  EXPECT_EQ(last_error_, "");
  EXPECT_FALSE(one(a, get("c")).found);
  faulty.space = UINT64_MAX;  // space is freed
  pass(1100ms);
  ask(a, {set("d", "4")});
  EXPECT_EQ(last_error_, "");
  faulty.read_only = true;  // remounted read-only: a new segment fails too
  ask(a, {set("e", "5")});
  EXPECT_TRUE(last_error_.starts_with("MISCONF")) << last_error_;
  faulty.read_only = false;
  pass(1100ms);
  // The sync fails: the write that waited for it is not acknowledged.
  faulty.fail_sync = true;
  ask(a, {set("f", "6")});
  EXPECT_TRUE(last_error_.starts_with("MISCONF")) << last_error_;
  EXPECT_NE(last_error_.find("sync failed"), std::string::npos) << last_error_;
  faulty.fail_sync = false;
  pass(1100ms);
  ask(a, {set("g", "7")});
  EXPECT_EQ(last_error_, "");
  world_->set_files(kHost, nullptr);
  sys_->close();
  sim::Rng rng(5);
  world_->disk(kHost).crash(rng);
  auto r = durable::recover(world_->disk(kHost), "/data", false);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ((*r)->store.get("a"), "1");
  EXPECT_EQ((*r)->store.get("d"), "4");
  EXPECT_EQ((*r)->store.get("g"), "7");
  EXPECT_FALSE((*r)->store.get("c"));
}

TEST_F(QueryActorTest, AfterRecoveryTheClockStartsAboveEveryVersionRead) {
  simulate();
  // Written when the wall clock read 10 s later than it does now (it went
  // back over the restart).
  auto rec = std::make_shared<durable::Recovered>();
  kv::Version ahead{kv::Version::pack(wall_ms() + 10'000, 0), 5};
  (void)rec->store.apply("k", "before", ahead, false, kv::kRouteNone);
  rec->max_hlc = ahead.hlc;
  auto a = spawn(2, SyncOptions(), rec);
  EXPECT_EQ(one(a[1], get("k")).value, "before");
  ask(a[0], {set("k", "after")});
  pass(300ms);
  EXPECT_EQ(one(a[0], get("k")).value, "after");
  EXPECT_EQ(one(a[1], get("k")).value, "after");
}

TEST_F(QueryActorTest, FlushallClearsEveryReplicaDurablyAndKeepsNewerWrites) {
  SyncOptions options = simulate_durable(durable::Fsync::kAlways);
  sim::Disk& disk = world_->disk(kHost);
  options.purge_step = 64;  // freed over many turns
  auto refs = spawn(2, options);
  std::vector<Op> sets;
  for (int i = 0; i < 1000; ++i) {
    sets.push_back(set("k" + std::to_string(i), "v"));
  }
  ask(refs[0], sets);
  pass(300ms);
  Op size;
  size.kind = OpKind::kDbSize;
  ASSERT_EQ(one(refs[1], size).n, 1000);
  Op flush;
  flush.kind = OpKind::kFlush;
  ask(refs[1], {flush});
  ASSERT_EQ(last_error_, "");
  EXPECT_EQ(one(refs[1], size).n, 0);  // at once where it was made
  EXPECT_FALSE(one(refs[1], get("k1")).found);
  pass(300ms);
  EXPECT_EQ(one(refs[0], size).n, 0);  // and on the other replica
  EXPECT_FALSE(one(refs[0], get("k999")).found);
  // A write after the clear stays; one from before it, arriving late from
  // another server, is stale everywhere.
  ask(refs[0], {set("after", "yes")});
  SyncBatch late{"elsewhere:1", 1, {}};
  kv::append_entry(late.entries, "late", "old",
                   kv::Version::pack(wall_ms() - 1000, 0), 9, false);
  sys_->tell(refs[1], std::move(late));
  pass(300ms);
  for (const auto& r : refs) {
    EXPECT_EQ(one(r, get("after")).value, "yes");
    EXPECT_FALSE(one(r, get("late")).found);
    EXPECT_EQ(one(r, size).n, 1);
  }
  // The clear is in the logs: a restart does not bring the keys back.
  sys_->close();
  auto r = durable::recover(disk, "/data", false);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ((*r)->store.live_size(), 1u);
  EXPECT_EQ((*r)->store.get("after"), "yes");
  EXPECT_FALSE((*r)->store.get("k1").has_value());
  EXPECT_LT(kv::Version(), (*r)->store.floor());
}

// Two replicas take increments of one key at once, before either has
// heard of the other's: every increment counts on both (a PN-counter, not a
// read-modify-write of the value), and the counter survives a restart.
TEST_F(QueryActorTest, ConcurrentIncrementsOnTwoReplicasAllCountAndSurvive) {
  auto refs = spawn(2, simulate_durable(durable::Fsync::kAlways));
  sim::Disk& disk = world_->disk(kHost);
  // Both pipelines are taken before either replica hears of the other.
  std::vector<Op> ones(100, incr("hits", 1)), twos(100, incr("hits", 2));
  auto f0 = sys_->request(refs[0], encode(ones));
  auto f1 = sys_->request(refs[1], encode(twos));
  auto r0 = results(f0), r1 = results(f1);
  ASSERT_EQ(r0.size(), 100u);
  ASSERT_EQ(r1.size(), 100u);
  for (int i = 0; i < 100; ++i) {
    EXPECT_EQ(r0[i].n, i + 1);  // each saw only its own
    EXPECT_EQ(r1[i].n, 2 * (i + 1));
  }
  pass(300ms);
  for (const auto& r : refs) EXPECT_EQ(one(r, get("hits")).value, "300");
  EXPECT_EQ(one(refs[1], incr("hits", -301)).n, -1);
  pass(300ms);
  EXPECT_EQ(one(refs[0], get("hits")).value, "-1");
  // SET replaces the counter; increments then count from its number.
  ask(refs[0], {set("hits", "10")});
  pass(300ms);
  auto g1 = sys_->request(refs[1], encode({incr("hits", 5)}));
  auto g0 = sys_->request(refs[0], encode({incr("hits", 1)}));
  auto s0 = results(g0), s1 = results(g1);
  ASSERT_EQ(s0.size(), 1u);
  ASSERT_EQ(s1.size(), 1u);
  EXPECT_EQ(s0[0].n, 11);  // not yet seen the 5
  EXPECT_EQ(s1[0].n, 15);
  pass(300ms);
  for (const auto& r : refs) EXPECT_EQ(one(r, get("hits")).value, "16");
  sys_->close();
  auto rec = durable::recover(disk, "/data", false);
  ASSERT_TRUE(rec.ok()) << rec.status().message();
  EXPECT_EQ((*rec)->store.get("hits"), "16");
}

// The same with INCRBYFLOAT, and with INCR on one replica while the other
// takes INCRBYFLOAT on the same base: the parts merge, both count, and the
// float counter survives a restart (its meta is in the log).
TEST_F(QueryActorTest, ConcurrentFloatAndIntegerIncrementsAllCountAndSurvive) {
  auto refs = spawn(2, simulate_durable(durable::Fsync::kAlways));
  sim::Disk& disk = world_->disk(kHost);
  std::vector<Op> halves(100, incr_float("f", "0.5"));
  std::vector<Op> quarters(100, incr_float("f", "-0.25"));
  auto f0 = sys_->request(refs[0], encode(halves));
  auto f1 = sys_->request(refs[1], encode(quarters));
  auto r0 = results(f0), r1 = results(f1);
  ASSERT_EQ(r0.size(), 100u);
  ASSERT_EQ(r1.size(), 100u);
  EXPECT_EQ(r0[99].value, "50");  // each saw only its own
  EXPECT_EQ(r1[99].value, "-25");
  pass(300ms);
  for (const auto& r : refs) EXPECT_EQ(one(r, get("f")).value, "25");
  // INCR here, INCRBYFLOAT there, on one base (SET's "10").
  ask(refs[0], {set("m", "10")});
  pass(300ms);
  auto g0 = sys_->request(refs[0], encode({incr("m", 3)}));
  auto g1 = sys_->request(refs[1], encode({incr_float("m", "1.5")}));
  auto s0 = results(g0), s1 = results(g1);
  ASSERT_EQ(s0.size(), 1u);
  ASSERT_EQ(s1.size(), 1u);
  EXPECT_EQ(s0[0].n, 13);
  EXPECT_EQ(s1[0].value, "11.5");
  pass(300ms);
  for (const auto& r : refs) EXPECT_EQ(one(r, get("m")).value, "14.5");
  // Its total is no integer now: INCR refuses it on both.
  for (const auto& r : refs) {
    EXPECT_EQ(one(r, incr("m", 1)).error,
              "ERR value is not an integer or out of range");
  }
  sys_->close();
  auto rec = durable::recover(disk, "/data", false);
  ASSERT_TRUE(rec.ok()) << rec.status().message();
  EXPECT_EQ((*rec)->store.get("f"), "25");
  EXPECT_EQ((*rec)->store.get("m"), "14.5");
}

TEST_F(QueryActorTest, IncrementsThatCannotCountAreErrorsAndChangeNothing) {
  auto a = spawn(1)[0];
  ask(a, {set("text", "abc"), set("big", "9223372036854775806"),
          set("spaced", " 1")});
  auto r = ask(a, {incr("text", 1), incr("big", 1), incr("big", 1),
                   incr("spaced", 1), incr("fresh", -3), get("big")});
  ASSERT_EQ(r.size(), 6u);
  EXPECT_EQ(r[0].error, "ERR value is not an integer or out of range");
  EXPECT_EQ(r[1].error, "");
  EXPECT_EQ(r[1].n, 9223372036854775807);
  EXPECT_EQ(r[2].error, "ERR increment or decrement would overflow");
  EXPECT_EQ(r[3].error, "ERR value is not an integer or out of range");
  EXPECT_EQ(r[4].n, -3);
  EXPECT_EQ(r[5].value, "9223372036854775807");
  EXPECT_EQ(one(a, get("text")).value, "abc");
  // A deleted counter starts again from 0.
  ask(a, {keys(OpKind::kDel, {"fresh"})});
  EXPECT_EQ(one(a, incr("fresh", 1)).n, 1);
  // So does an expired one, without the expiry that passed.
  ask(a, {set_px("brief", "5", 10)});
  EXPECT_EQ(one(a, incr("brief", 1)).n, 6);
  pass(20ms);
  EXPECT_EQ(one(a, incr("brief", 1)).n, 1);
  EXPECT_EQ(one(a, get("brief")).value, "1");
  EXPECT_EQ(one(a, ttl("brief")).n, -1);
}

// EXPIRE on one replica and SET on another at once: the SET's value stays
// (the expiry is a field of its own); an expiry survives a restart, and the
// key goes from both replicas when their clocks pass it.
TEST_F(QueryActorTest,
       AnExpireRacingASetKeepsTheSetsValueAndExpiresEverywhere) {
  auto refs = spawn(2, simulate_durable(durable::Fsync::kAlways));
  sim::Disk& disk = world_->disk(kHost);
  ask(refs[0], {set("k", "old")});
  pass(300ms);
  auto f0 = sys_->request(refs[0], encode({pexpire("k", 60'000)}));
  auto f1 = sys_->request(refs[1], encode({set("k", "new")}));
  auto r0 = results(f0), r1 = results(f1);
  ASSERT_EQ(r0.size(), 1u);
  EXPECT_EQ(r0[0].n, 1);
  pass(300ms);
  // Whichever version is greater, the SET's value is not lost, and both
  // replicas agree on the expiry.
  EXPECT_EQ(one(refs[0], get("k")).value, "new");
  EXPECT_EQ(one(refs[1], get("k")).value, "new");
  EXPECT_EQ(one(refs[0], ttl("k")).n, one(refs[1], ttl("k")).n);
  // An expiry set after seeing the SET holds everywhere.
  ask(refs[1], {pexpire("k", 60'000)});
  pass(300ms);
  for (const auto& r : refs) {
    EXPECT_EQ(one(r, get("k")).value, "new");
    int64_t left = one(r, ttl("k")).n;
    EXPECT_GT(left, 58);
    EXPECT_LE(left, 60);
  }
  pass(60s);
  for (const auto& r : refs) {
    EXPECT_FALSE(one(r, get("k")).found);
    EXPECT_EQ(one(r, ttl("k")).n, -2);
  }
  sys_->close();
  auto rec = durable::recover(disk, "/data", false);
  ASSERT_TRUE(rec.ok()) << rec.status().message();
  const kv::Entry* e = (*rec)->store.find("k");
  ASSERT_NE(e, nullptr);
  EXPECT_NE(e->expiry().at_ms, 0u);
  (*rec)->store.set_now(e->expiry().at_ms);
  EXPECT_FALSE((*rec)->store.get("k"));
}

}  // namespace
}  // namespace cmud::server
