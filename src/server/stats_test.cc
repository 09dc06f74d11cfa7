// The statistics structures on their own: slots, latency buckets, counters
// and their reset, the slow log and the latency monitor.
#include "stats.h"

#include <gtest/gtest.h>

#include <thread>

#include "commands.h"

namespace cmud::server {
namespace {

TEST(StatSlots, CommandsAndSubcommandsHaveTheirOwnSlots) {
  const StatSlots& slots = StatSlots::get();
  const Command* set = find_command("set");
  const Command* client = find_command("client");
  ASSERT_NE(set, nullptr);
  ASSERT_NE(client, nullptr);
  std::vector<std::string_view> args{"SET", "k", "v"};
  EXPECT_EQ(slots.name(slots.slot(*set, args)), "set");
  args = {"CLIENT", "List"};
  EXPECT_EQ(slots.name(slots.slot(*client, args)), "client|list");
  // An unknown subcommand counts on the command itself.
  args = {"CLIENT", "bogus"};
  EXPECT_EQ(slots.name(slots.slot(*client, args)), "client");
  EXPECT_EQ(slots.find("CLIENT|ID"), slots.find("client|id"));
  EXPECT_FALSE(slots.find("nosuch"));
  EXPECT_TRUE(slots.fast(slots.slot(*find_command("get"), args)));
  EXPECT_FALSE(slots.fast(slots.slot(*find_command("keys"), args)));
}

TEST(LatencyBuckets, EveryValueFallsInABucketWithinOneSixteenth) {
  size_t last = 0;
  for (uint64_t v :
       std::vector<uint64_t>{0, 1, 15, 16, 17, 31, 32, 1000, 1023, 1024,
                             123'456, 10'000'000, uint64_t{1} << 40}) {
    size_t b = LatencyBuckets::bucket(v);
    ASSERT_LT(b, LatencyBuckets::kCount);
    EXPECT_GE(b, last) << v;  // monotonic
    last = b;
    EXPECT_GE(LatencyBuckets::upper(b), v) << v;
    if (b > 0) {
      EXPECT_LT(LatencyBuckets::upper(b - 1), v) << v;
    }
    EXPECT_LE(LatencyBuckets::upper(b) - v, v / 16 + 1) << v;
  }
  // Beyond the range: the last bucket.
  EXPECT_EQ(LatencyBuckets::bucket(UINT64_MAX), LatencyBuckets::kCount - 1);
  // Powers of two from 1024 ns are bucket edges (LATENCY HISTOGRAM's
  // bounds).
  for (uint64_t v = 1024; v < (uint64_t{1} << 38); v *= 2) {
    EXPECT_EQ(LatencyBuckets::upper(LatencyBuckets::bucket(v) - 1), v - 1);
  }
}

TEST(CommandStats, ShardsAddUpAndResetReadsAsZero) {
  CommandStats stats(2);
  const StatSlots& slots = StatSlots::get();
  size_t get = *slots.find("get");
  stats.shard(0).call(get, 1500, true);
  stats.shard(1).call(get, 500, true);
  stats.shard(1).add_time(get, 1000);
  stats.shard(1).failed(get);
  stats.shard(0).rejected(get);
  auto t = stats.totals(get);
  EXPECT_EQ(t.calls, 2u);
  EXPECT_EQ(t.ns, 3000u);
  EXPECT_EQ(t.failed, 1u);
  EXPECT_EQ(t.rejected, 1u);
  ASSERT_EQ(t.histogram.size(), LatencyBuckets::kCount);
  EXPECT_EQ(t.histogram[LatencyBuckets::bucket(1500)], 1u);
  EXPECT_EQ(t.histogram[LatencyBuckets::bucket(500)], 1u);

  stats.shard(0).error_reply("-ERR wrong\r\n");
  stats.shard(1).error_reply("WRONGTYPE Operation against a key");
  stats.shard(1).error_reply("-NOSPACEINTHEFIRST32BYTESXXXXXXXXXXXXXXXX");
  auto errors = stats.errors();
  EXPECT_EQ(errors["ERR"], 2u);
  EXPECT_EQ(errors["WRONGTYPE"], 1u);
  EXPECT_EQ(stats.error_replies(), 3u);

  stats.reset();
  EXPECT_EQ(stats.totals(get).calls, 0u);
  EXPECT_TRUE(stats.totals(get).histogram.empty());
  EXPECT_TRUE(stats.errors().empty());
  EXPECT_EQ(stats.error_replies(), 0u);
  // A shard counts from zero once written again.
  stats.shard(0).call(get, 10, false);
  EXPECT_EQ(stats.totals(get).calls, 1u);
  EXPECT_EQ(stats.totals(get).ns, 10u);
}

TEST(CommandStats, ErrorCodesPastTheLimitCountOnlyInTotal) {
  CommandStats stats(1);
  for (size_t i = 0; i < CommandStats::kMaxErrorCodes + 10; ++i) {
    stats.shard(0).error_reply("E" + std::to_string(i) + " x");
  }
  EXPECT_EQ(stats.errors().size(), CommandStats::kMaxErrorCodes);
  EXPECT_EQ(stats.error_replies(), CommandStats::kMaxErrorCodes + 10);
}

TEST(CommandStats, ReadsWhileTheOwnerWritesAndResets) {
  // For TSan: the owner writes, another thread reads and resets.
  CommandStats stats(1);
  size_t set = *StatSlots::get().find("set");
  std::atomic<bool> done{false};
  std::thread reader([&] {
    for (int i = 0; i < 2000 && !done; ++i) {
      (void)stats.totals(set);
      (void)stats.errors();
      if (i % 100 == 0) stats.reset();
    }
  });
  for (int i = 0; i < 20000; ++i) {
    stats.shard(0).call(set, static_cast<uint64_t>(i), true);
    if (i % 1000 == 0) stats.shard(0).error_reply("ERR x");
  }
  done = true;
  reader.join();
  EXPECT_LE(stats.totals(set).calls, 20000u);
}

TEST(SlowLog, KeepsTheNewestTrimsArgumentsAndRedactsPasswords) {
  SlowLog log;
  std::vector<std::string_view> args{"SET", "k", "v"};
  for (int i = 0; i < 5; ++i) {
    log.add(args, 100 + i, "127.0.0.1:5", "me", 3, secret_argument);
  }
  EXPECT_EQ(log.size(), 3u);
  auto latest = log.latest(10);
  ASSERT_EQ(latest.size(), 3u);
  EXPECT_EQ(latest[0].id, 4u);  // newest first
  EXPECT_EQ(latest[0].us, 104u);
  EXPECT_EQ(latest[2].id, 2u);
  EXPECT_EQ(latest[0].addr, "127.0.0.1:5");
  EXPECT_EQ(latest[0].name, "me");
  EXPECT_EQ(log.latest(1).size(), 1u);

  std::string big(200, 'x');
  std::vector<std::string_view> many{"MSET"};
  for (int i = 0; i < 40; ++i) many.push_back(big);
  log.add(many, 1, "", "", 10, secret_argument);
  auto e = log.latest(1)[0];
  ASSERT_EQ(e.args.size(), SlowLog::kMaxArgs);
  EXPECT_EQ(e.args[1], big.substr(0, 128) + "... (72 more bytes)");
  EXPECT_EQ(e.args.back(), "... (10 more arguments)");

  std::vector<std::string_view> auth{"AUTH", "user", "secret"};
  log.add(auth, 1, "", "", 10, secret_argument);
  EXPECT_EQ(log.latest(1)[0].args,
            (std::vector<std::string>{"AUTH", "(redacted)", "(redacted)"}));
  std::vector<std::string_view> setuser{"ACL", "SETUSER", "bob",
                                        "on",  ">pw",     "~*"};
  log.add(setuser, 1, "", "", 10, secret_argument);
  EXPECT_EQ(log.latest(1)[0].args,
            (std::vector<std::string>{"ACL", "SETUSER", "bob", "on",
                                      "(redacted)", "~*"}));
  std::vector<std::string_view> signup{"ACL", "SIGNUP", "ann", ">pw"};
  log.add(signup, 1, "", "", 10, secret_argument);
  EXPECT_EQ(log.latest(1)[0].args,
            (std::vector<std::string>{"ACL", "SIGNUP", "ann", "(redacted)"}));
  std::vector<std::string_view> hello{"HELLO", "3",       "AUTH", "u",
                                      "p",     "SETNAME", "n"};
  log.add(hello, 1, "", "", 10, secret_argument);
  EXPECT_EQ(log.latest(1)[0].args,
            (std::vector<std::string>{"HELLO", "3", "AUTH", "(redacted)",
                                      "(redacted)", "SETNAME", "n"}));
  log.reset();
  EXPECT_EQ(log.size(), 0u);
  // Ids go on after a reset, as in Redis.
  log.add(args, 1, "", "", 10, secret_argument);
  EXPECT_GT(log.latest(1)[0].id, 4u);
}

TEST(LatencyMonitor, OneSamplePerSecondTheLargestAndAtMost160) {
  LatencyMonitor m;
  m.add("command", 12, 1000);
  m.add("command", 30, 1000);
  m.add("command", 20, 1000);
  m.add("command", 15, 1001);
  auto e = m.event("command");
  ASSERT_TRUE(e);
  ASSERT_EQ(e->history.size(), 2u);
  EXPECT_EQ(e->history[0].ms, 30u);
  EXPECT_EQ(e->history[1].ms, 15u);
  EXPECT_EQ(e->max, 30u);
  for (int i = 0; i < 300; ++i) m.add("fast-command", 5, 2000 + i);
  EXPECT_EQ(m.event("fast-command")->history.size(), LatencyMonitor::kHistory);
  EXPECT_EQ(m.event("fast-command")->history.front().time, 2140);
  EXPECT_EQ(m.events().size(), 2u);
  std::vector<std::string_view> one{"command", "nosuch"};
  EXPECT_EQ(m.reset(one), 1u);
  EXPECT_FALSE(m.event("command"));
  EXPECT_EQ(m.reset({}), 1u);
  EXPECT_TRUE(m.events().empty());
}

}  // namespace
}  // namespace cmud::server
