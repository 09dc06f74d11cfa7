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

}  // namespace
}  // namespace cmud::server
