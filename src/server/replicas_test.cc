#include "replicas.h"

#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cmud/actor/system.h"
#include "cmud/sim/disk.h"
#include "cmud/sim/world.h"
#include "query_wire.h"

namespace cmud::server {
namespace {

TEST(NextIncarnation, CountsUpAcrossStartsAndCrashes) {
  sim::Disk disk;
  EXPECT_EQ(next_incarnation(disk, "/data").value(), 1u);
  EXPECT_EQ(next_incarnation(disk, "/data").value(), 2u);
  sim::Rng rng(7);
  disk.crash(rng);  // everything was synced before it was returned
  EXPECT_EQ(next_incarnation(disk, "/data").value(), 3u);
  EXPECT_EQ(disk.read("/data/incarnation").value(), "3\n");
}

TEST(NextIncarnation, ACrashMidWayLeavesTheLastOneIntact) {
  for (uint64_t seed = 1; seed <= 20; ++seed) {
    sim::Disk disk;
    ASSERT_EQ(next_incarnation(disk, "/data").value(), 1u);
    // A start that died after writing its number aside, unsynced.
    auto f = std::move(disk.open_append("/data/incarnation.tmp")).value();
    ASSERT_TRUE(f->append("2\n").ok());
    sim::Rng rng(seed);
    disk.crash(rng);
    EXPECT_EQ(next_incarnation(disk, "/data").value(), 2u);
  }
}

TEST(NextIncarnation, ADamagedCounterIsAnErrorNotAReset) {
  sim::Disk disk;
  ASSERT_TRUE(disk.create_dirs("/data").ok());
  for (const char* bad : {"", "x\n", "12x", "18446744073709551615"}) {
    ASSERT_TRUE(disk.remove("/data/incarnation").ok() ||
                !disk.read("/data/incarnation").ok());
    auto f = std::move(disk.open_append("/data/incarnation")).value();
    ASSERT_TRUE(f->append(bad).ok());
    auto r = next_incarnation(disk, "/data");
    EXPECT_EQ(r.status().code(), ErrorCode::kDecode) << bad;
  }
}

// Two durable servers on the simulator; the second joins the first once.
// Restarted without any --join, they find each other from the members each
// kept on its disk (a torn line and our own address in it are skipped).
TEST(StartReplicas, AWholeClusterRestartedWithoutJoinFindsItselfAgain) {
  sim::World w(5);
  const std::string a = "10.0.0.1:7000", b = "10.0.0.2:7000";
  std::map<std::string, std::unique_ptr<actor::System>> systems;
  std::map<std::string, Replicas> replicas;
  auto start = [&](const std::string& self, std::vector<std::string> join) {
    actor::SystemConfig c;
    c.runtime_host = w.host(self, 2);
    c.on_error = [](const Status&) {};
    systems[self] = std::move(actor::System::create(std::move(c))).value();
    SyncOptions sync;
    sync.incarnation = next_incarnation(w.disk(self), "/data").value();
    sync.data_dir = "/data";
    auto r = start_replicas(*systems[self], {}, sync, std::move(join));
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    replicas[self] = std::move(*r);
  };
  auto get = [&](const std::string& at, const std::string& key) {
    std::optional<std::string> got;
    QueryRequest q;
    append_op(q, OpView::get(key));
    q.reply_to = systems[at]->completion_channel([&](Result<actor::Message> m) {
      if (!m.ok()) return;
      codec::Reader in(m->as<QueryReply>()->results);
      ResultView v;
      if (read_result(in, v) && v.value()) got = std::string(*v.value());
    });
    systems[at]->tell(replicas[at].queries[1], std::move(q));
    w.run_until(w.now_ms() + 10);
    return got;
  };
  auto set = [&](const std::string& at, const std::string& key) {
    QueryRequest q;
    append_op(q, OpView::set(key, "v"));
    q.reply_to = systems[at]->completion_channel([](Result<actor::Message>) {});
    systems[at]->tell(replicas[at].queries[0], std::move(q));
  };
  start(a, {});
  start(b, {a});
  w.run_until(3000);
  set(a, "before");
  w.run_until(w.now_ms() + 1000);
  ASSERT_EQ(get(b, "before"), "v");
  EXPECT_EQ(w.disk(a).read("/data/members").value(), b + "\n");
  EXPECT_EQ(w.disk(b).read("/data/members").value(), a + "\n");
  {
    auto f = std::move(w.disk(a).open_append("/data/members")).value();
    ASSERT_TRUE(f->append(a + "\n10.0.0.").ok());  // ourselves, torn
  }
  systems.clear();  // both gone
  replicas.clear();
  start(a, {});
  start(b, {});
  w.run_until(w.now_ms() + 3000);
  set(b, "after");
  w.run_until(w.now_ms() + 1000);
  EXPECT_EQ(get(a, "after"), "v");
  systems.clear();
}

TEST(MembersFile, RoundTripsAndSkipsWhatIsNotInTheFormat) {
  std::string text =
      format_members({"10.0.0.1:7000", "10.0.0.2:7000"},
                     {Forgotten{"10.0.0.3:7000", 42, 1700000000000}});
  EXPECT_EQ(text,
            "10.0.0.1:7000\n10.0.0.2:7000\n"
            "forget 10.0.0.3:7000 42 1700000000000\n");
  text += "forget 10.0.0.4:7000 x 1\nforget 10.0.0.5:7000 1\nnonsense\n";
  text += "forget 10.0.0.6:7000 7 8";  // torn: no end of line
  MemberList m = parse_members(text);
  EXPECT_EQ(m.members,
            (std::vector<std::string>{"10.0.0.1:7000", "10.0.0.2:7000"}));
  ASSERT_EQ(m.forgotten.size(), 1u);
  EXPECT_EQ(m.forgotten[0].address, "10.0.0.3:7000");
  EXPECT_EQ(m.forgotten[0].incarnation, 42u);
  EXPECT_EQ(m.forgotten[0].at_ms, 1700000000000u);
}

// Servers of one query actor each on the simulator (2 s member timeout,
// 20 s grace), asked one op at a time.
struct SimMembers {
  explicit SimMembers(uint64_t seed) : w(seed) {}

  void start(const std::string& self, std::vector<std::string> join,
             std::vector<std::string> forget = {}) {
    actor::SystemConfig conf;
    conf.runtime_host = w.host(self, 1);
    conf.on_error = [](const Status&) {};
    systems[self] = std::move(actor::System::create(std::move(conf))).value();
    SyncOptions sync;
    sync.incarnation = ++incarnation;
    sync.member_timeout = std::chrono::milliseconds(2000);
    sync.unknown_source_margin = std::chrono::milliseconds(2000);
    sync.gc_grace = gc_grace;
    auto r = start_replicas(*systems[self], {"q-" + self}, sync,
                            std::move(join), false, std::move(forget));
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    replicas[self] = std::move(*r);
  }
  // a, then b and c joining it; 3 s for them to find each other.
  void start_three(const std::string& a, const std::string& b,
                   const std::string& c) {
    start(a, {});
    start(b, {a});
    start(c, {a});
    w.run_until(w.now_ms() + 3000);
  }
  void stop(const std::string& self) {
    systems.erase(self);
    replicas.erase(self);
  }
  // One op at `at`'s actor: its error, or "OK" and its items, each
  // followed by a space.
  std::string ask(const std::string& at, const OpView& op) {
    std::string got = "<no answer>";
    QueryRequest q;
    append_op(q, op);
    q.reply_to = systems[at]->completion_channel([&](Result<actor::Message> m) {
      if (!m.ok()) return;
      codec::Reader in(m->as<QueryReply>()->results);
      ResultView v;
      if (!read_result(in, v)) return;
      if (v.error()) {
        got = std::string(*v.error());
        return;
      }
      got = v.is_ok() ? "OK" : "";
      // A value, nil or a number: then a space, as an item.
      if (v.value()) got = std::string(*v.value()) + " ";
      if (v.shape() == ResultShape::kAbsent) got = "(nil) ";
      if (v.shape() == ResultShape::kInteger) {
        got = std::to_string(v.integer()) + " ";
      }
      for (const auto& item : v.items()) {
        got += std::string(item.value_or("")) + " ";
      }
    });
    systems[at]->tell(replicas[at].queries[0], std::move(q));
    w.run_until(w.now_ms() + 10);
    return got;
  }
  bool member(const std::string& at, const std::string& who) {
    return ask(at, OpView::info()).find("member " + who + " ") !=
           std::string::npos;
  }
  // The cluster's horizon as `at` sees it (INFO cluster_complete_below_ms;
  // 0: none yet), and how far it is behind the simulated wall clock.
  int64_t horizon_ms(const std::string& at) {
    return info_number(at, "cluster_complete_below_ms");
  }
  // A number of INFO's (-1: not there).
  int64_t info_number(const std::string& at, const std::string& field) {
    std::string info = ask(at, OpView::info());
    const std::string name = field + " ";
    size_t p = info.find(name);
    return p == std::string::npos ? -1
                                  : std::stoll(info.substr(p + name.size()));
  }
  int64_t horizon_lag(const std::string& at) {
    int64_t h = horizon_ms(at);
    if (h <= 0) return -1;
    return static_cast<int64_t>(sim::World::kEpochMs) + w.now_ms() - h;
  }
  bool forgotten(const std::string& at, const std::string& who,
                 uint64_t forgotten_incarnation) {
    return ask(at, OpView::info())
               .find("forgotten " + who +
                     " incarnation=" + std::to_string(forgotten_incarnation) +
                     " ") != std::string::npos;
  }

  sim::World w;
  // Declared after the world: the systems go first.
  std::map<std::string, std::unique_ptr<actor::System>> systems;
  std::map<std::string, Replicas> replicas;
  uint64_t incarnation = 100;  // the last one given
  std::chrono::milliseconds gc_grace{20'000};
};

// A server cut off for longer than the grace period does not bring back
// what was deleted meanwhile, once the others freed the tombstones: they
// refuse its old entries and it drops them (its writes from before the
// horizon go with them: the price of the grace period). What it writes
// once back travels as ever.
TEST(StartReplicas, AServerCutOffPastTheGracePeriodBringsNothingDeletedBack) {
  SimMembers s(17);
  const std::string a = "10.0.0.1:7000", b = "10.0.0.2:7000",
                    c = "10.0.0.3:7000";
  s.start_three(a, b, c);
  std::string_view gone[] = {"gone"};
  s.ask(a, OpView::set("gone", "old"));
  s.w.run_until(s.w.now_ms() + 2000);
  ASSERT_EQ(s.ask(c, OpView::get("gone")), "old ");
  s.w.partition(c, a);
  s.w.partition(c, b);
  EXPECT_EQ(s.ask(a, OpView::del(gone)), "1 ");
  s.ask(c, OpView::set("lonely", "x"));
  s.w.run_until(s.w.now_ms() + 60'000);  // past the grace period (20 s)
  EXPECT_GE(s.info_number(a, "tombstones_collected"), 1);
  EXPECT_EQ(s.ask(c, OpView::get("gone")), "old ");  // cut off: it still has it
  s.w.heal_all();
  s.w.run_until(s.w.now_ms() + 20'000);
  for (const auto& at : {a, b, c}) {
    EXPECT_EQ(s.ask(at, OpView::get("gone")), "(nil) ") << at;
    EXPECT_EQ(s.ask(at, OpView::get("lonely")), "(nil) ") << at;
    EXPECT_EQ(s.ask(at, OpView::dbsize()), "0 ") << at;
  }
  EXPECT_GE(s.info_number(c, "repair_stale_dropped"), 2);
  s.ask(c, OpView::set("back", "y"));
  s.w.run_until(s.w.now_ms() + 3000);
  for (const auto& at : {a, b}) {
    EXPECT_EQ(s.ask(at, OpView::get("back")), "y ") << at;
  }
}

// Three servers on the simulator; C dies and B forgets it (CLUSTER FORGET).
// Every member drops it, gossip from members that still knew it does not
// bring it back, a server joining later never hears of it, and a new start
// of C at the same address joins again. Then, C dead once more, a server
// started with --forget drops that start everywhere.
TEST(StartReplicas, AForgottenMemberStaysForgottenUntilANewStartJoins) {
  SimMembers s(11);
  const std::string a = "10.0.0.1:7000", b = "10.0.0.2:7000",
                    c = "10.0.0.3:7000", d = "10.0.0.4:7000",
                    e = "10.0.0.5:7000";
  s.start_three(a, b, c);
  ASSERT_TRUE(s.member(a, c) && s.member(b, c) && s.member(c, b));
  EXPECT_NE(s.ask(b, OpView::forget(c)).find("only a server marked down"),
            std::string::npos);
  EXPECT_NE(s.ask(b, OpView::forget(b)).find("can't forget myself"),
            std::string::npos);
  EXPECT_NE(s.ask(b, OpView::forget("10.9.9.9:1")).find("Unknown server"),
            std::string::npos);

  const uint64_t c_first = s.incarnation;
  s.stop(c);
  s.w.run_until(s.w.now_ms() + 4000);                   // marked down
  EXPECT_EQ(s.ask(b, OpView::forget("q-" + c)), "OK");  // by its query port
  s.w.run_until(s.w.now_ms() + 5000);  // gossip, both ways, several rounds
  EXPECT_FALSE(s.member(a, c));
  EXPECT_FALSE(s.member(b, c));
  EXPECT_TRUE(s.forgotten(a, c, c_first));
  EXPECT_TRUE(s.member(a, b) && s.member(b, a));

  s.start(d, {b});
  s.w.run_until(s.w.now_ms() + 3000);
  EXPECT_TRUE(s.member(d, a));
  EXPECT_FALSE(s.member(d, c));
  EXPECT_TRUE(s.forgotten(d, c, c_first));

  s.start(c, {a});  // a new start, same address
  const uint64_t c_second = s.incarnation;
  s.w.run_until(s.w.now_ms() + 4000);
  for (const auto& at : {a, b, d}) EXPECT_TRUE(s.member(at, c)) << at;
  EXPECT_TRUE(s.member(c, d));

  s.stop(c);
  s.w.run_until(s.w.now_ms() + 4000);
  s.start(e, {a}, {c});
  s.w.run_until(s.w.now_ms() + 5000);
  for (const auto& at : {a, b, d, e}) {
    EXPECT_FALSE(s.member(at, c)) << at;
    EXPECT_TRUE(s.forgotten(at, c, c_second)) << at;
  }
}

// The cluster's horizon follows the clock while every member answers; a
// member that is down holds it back (what it holds is not known) for the
// grace period, and so does a start that ended, a forgotten one too (what
// it wrote may still be spreading).
TEST(StartReplicas, TheHorizonWaitsForADownOrEndedStartForTheGracePeriod) {
  SimMembers s(13);
  const std::string a = "10.0.0.1:7000", b = "10.0.0.2:7000",
                    c = "10.0.0.3:7000";
  s.start(a, {});
  s.start(b, {a});
  s.start(c, {a});
  s.w.run_until(40'000);
  for (const auto& at : {a, b, c}) {
    int64_t lag = s.horizon_lag(at);
    EXPECT_GE(lag, 0) << at;
    EXPECT_LE(lag, 30'000) << at;
  }
  auto held_then_goes_on = [&](const std::vector<std::string>& up) {
    s.w.run_until(s.w.now_ms() + 5'000);
    int64_t held = s.horizon_ms(a);
    s.w.run_until(s.w.now_ms() + 12'000);
    EXPECT_EQ(s.horizon_ms(a), held);  // not a millisecond further
    s.w.run_until(s.w.now_ms() + 40'000);
    for (const auto& at : up) {
      int64_t lag = s.horizon_lag(at);
      EXPECT_GE(lag, 0) << at;
      EXPECT_LE(lag, 30'000) << at;
    }
  };
  s.stop(c);
  held_then_goes_on({a, b});  // c is down past the grace period
  s.start(c, {});             // a new start: the last one ended
  held_then_goes_on({a, b, c});
  s.stop(c);
  s.w.run_until(s.w.now_ms() + 3'000);
  EXPECT_EQ(s.ask(b, OpView::forget(c)), "OK");
  held_then_goes_on({a, b});
}

// A server that restarts in a loop: each start that ended is a source for
// the grace period, kept by every member and carried by every gossip, so
// their number is bounded; past the bound the earliest ended are let go
// (as if their grace had passed), and gossip does not bring them back.
TEST(StartReplicas, EndedStartsAreBoundedWhenAServerRestartsInALoop) {
  SimMembers s(15);
  s.gc_grace = std::chrono::minutes(2);
  const std::string a = "10.0.0.1:7000", b = "10.0.0.2:7000",
                    c = "10.0.0.3:7000";
  s.start(a, {});
  s.start(b, {a});
  s.w.run_until(s.w.now_ms() + 3000);
  for (int64_t i = 0; i < 150; ++i) {
    s.start(c, {a});
    s.w.run_until(s.w.now_ms() + 100);
    s.stop(c);
  }
  // The coordinators tell their actors at most 8 things a second: what
  // each restart brought reaches INFO within 40 s.
  s.w.run_until(s.w.now_ms() + 40'000);
  for (const auto& at : {a, b}) {
    EXPECT_EQ(s.info_number(at, "cluster_ended_starts"), 128) << at;
    EXPECT_GT(s.info_number(at, "cluster_ended_starts_dropped"), 0) << at;
    EXPECT_LE(s.info_number(at, "repair_sources_known"), 3 + 128) << at;
  }
  s.w.run_until(s.w.now_ms() + 120'000);  // past the grace period
  for (const auto& at : {a, b}) {
    EXPECT_EQ(s.info_number(at, "cluster_ended_starts"), 0) << at;
    int64_t lag = s.horizon_lag(at);
    EXPECT_GE(lag, 0) << at;
    EXPECT_LE(lag, 30'000) << at;
  }
}

// A start told of no member that hears of none is not taken for a cluster
// of one before the grace period: it may be a member started again while
// its peers are cut off from it. Meanwhile its horizon stays at 0, so once
// the cut heals the others' older writes are taken, not refused as passed
// by tombstones it freed (and deleted everywhere with it). Alone past the
// grace period, a start is a cluster of one and frees its tombstones.
TEST(StartReplicas, ALoneStartWaitsTheGracePeriodBeforeItsHorizonMoves) {
  SimMembers s(14);
  const std::string a = "10.0.0.1:7000", b = "10.0.0.2:7000",
                    c = "10.0.0.3:7000";
  s.start(a, {});
  s.start(b, {a});
  s.w.run_until(s.w.now_ms() + 3000);
  EXPECT_EQ(s.ask(a, OpView::set("old", "x")), "OK");
  s.w.run_until(s.w.now_ms() + 3000);
  ASSERT_EQ(s.ask(b, OpView::get("old")), "x ");
  s.stop(b);
  s.w.partition(a, b);
  s.start(b, {});  // empty, without --join, and cut off
  EXPECT_EQ(s.ask(b, OpView::set("mine", "y")), "OK");
  std::string_view mine[] = {"mine"};
  EXPECT_EQ(s.ask(b, OpView::del(mine)), "1 ");
  // Past the member timeout and the margin (2 s each), within the grace.
  s.w.run_until(s.w.now_ms() + 15'000);
  EXPECT_EQ(s.horizon_ms(b), 0);
  EXPECT_EQ(s.info_number(b, "tombstones_collected"), 0);
  s.w.heal_all();
  s.w.run_until(s.w.now_ms() + 10'000);
  for (const auto& at : {a, b}) {
    EXPECT_EQ(s.ask(at, OpView::get("old")), "x ") << at;
    EXPECT_EQ(s.ask(at, OpView::get("mine")), "(nil) ") << at;
  }

  s.start(c, {});  // alone for good
  EXPECT_EQ(s.ask(c, OpView::set("solo", "z")), "OK");
  std::string_view solo[] = {"solo"};
  EXPECT_EQ(s.ask(c, OpView::del(solo)), "1 ");
  s.w.run_until(s.w.now_ms() + 15'000);
  EXPECT_EQ(s.horizon_ms(c), 0);
  s.w.run_until(s.w.now_ms() + 15'000);  // 30 s: past the grace period
  EXPECT_GT(s.horizon_lag(c), 0);
  EXPECT_GE(s.info_number(c, "tombstones_collected"), 1);
}

// C is cut off, not dead: A forgets it, and once the cut heals C's gossip
// is ignored by everyone (B learns the forget from A) while C is told why.
TEST(StartReplicas, AForgottenStartThatStillRunsStaysOutAndIsToldSo) {
  SimMembers s(12);
  const std::string a = "10.0.0.1:7000", b = "10.0.0.2:7000",
                    c = "10.0.0.3:7000";
  s.start_three(a, b, c);
  ASSERT_TRUE(s.member(a, c));
  s.w.partition(a, c);
  s.w.partition(b, c);
  s.w.run_until(s.w.now_ms() + 4000);
  ASSERT_EQ(s.ask(a, OpView::forget(c)), "OK");
  s.w.run_until(s.w.now_ms() + 2000);
  EXPECT_NE(s.ask(c, OpView::info()).find("cluster_forgot_this_server 0 "),
            std::string::npos);
  s.w.heal_all();
  s.w.run_until(s.w.now_ms() + 5000);
  for (const auto& at : {a, b}) EXPECT_FALSE(s.member(at, c)) << at;
  EXPECT_NE(s.ask(c, OpView::info()).find("cluster_forgot_this_server 1 "),
            std::string::npos);
}

}  // namespace
}  // namespace cmud::server
