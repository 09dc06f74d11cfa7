#include "cmud/game/storage.h"

#include <gtest/gtest.h>

#include "testing/memory_storage.h"

#include "testing/lww_replicas.h"

namespace cmud::game {
namespace {

using testing::Fault;
using testing::MemoryStorage;

TEST(MemoryStorage, ListReturnsOnlyKeysUnderThePrefixInOrder) {
  MemoryStorage s;
  ASSERT_TRUE(s.put("a/2", "x").ok());
  ASSERT_TRUE(s.put("a/1", "y").ok());
  ASSERT_TRUE(s.put("ab/1", "z").ok());
  auto l = s.list("a/");
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->size(), 2u);
  EXPECT_EQ((*l)[0].first, "a/1");
  EXPECT_EQ((*l)[1].first, "a/2");
  EXPECT_TRUE(s.list("zzz/")->empty());
  EXPECT_TRUE(*s.del("a/1"));
  EXPECT_FALSE(*s.del("a/1"));
  EXPECT_FALSE(s.get("a/1")->has_value());
}

TEST(MemoryStorage, InjectedFailuresFailThenClear) {
  MemoryStorage s;
  s.fail_next(2);
  EXPECT_EQ(s.put("k", "v").code(), ErrorCode::kUnavailable);
  EXPECT_FALSE(s.get("k").ok());
  EXPECT_TRUE(s.put("k", "v").ok());
  EXPECT_EQ(**s.get("k"), "v");
}

TEST(MemoryStorage, FaultsCanTargetAPrefixAndStillApply) {
  MemoryStorage s;
  s.inject({.count = 1,
            .code = ErrorCode::kTimeout,
            .key_prefix = "give/",
            .apply_anyway = true});
  EXPECT_TRUE(s.put("other", "1").ok());
  EXPECT_EQ(s.put("give/x", "5").code(), ErrorCode::kTimeout);
  EXPECT_EQ(**s.get("give/x"), "5");  // the write happened anyway
  EXPECT_TRUE(s.put("give/y", "6").ok());
}

TEST(MemoryStorage, OfflineFailsEverything) {
  MemoryStorage s;
  s.set_offline(true);
  EXPECT_FALSE(s.list("").ok());
  s.set_offline(false);
  EXPECT_TRUE(s.list("").ok());
}

TEST(ClientStorage, MalformedAddressesAreRefused) {
  auto s = ClientStorage::connect("nonsense");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), ErrorCode::kInvalidArgument);
}

TEST(ClientStorage, AnUnreachableServerIsAnErrorNotACrash) {
  client::ClientOptions o;
  o.timeout = std::chrono::milliseconds(1000);
  o.connect_timeout = std::chrono::milliseconds(500);
  auto s = ClientStorage::connect("127.0.0.1:1,127.0.0.1:2", o);
  ASSERT_TRUE(s.ok());
  auto r = (*s)->get("k");
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), ErrorCode::kUnavailable);
  EXPECT_FALSE((*s)->put("k", "v").ok());
  EXPECT_EQ((*s)->moves(), 0u);  // nowhere to move to
}

TEST(LwwReplicas, ConcurrentWritesResolveTheSameWayEverywhere) {
  testing::LwwReplicas r(2);
  ASSERT_TRUE(r.replica(0).put("k", "zero").ok());
  ASSERT_TRUE(r.replica(1).put("k", "one").ok());
  EXPECT_EQ(**r.replica(0).get("k"), "zero");  // not merged yet
  r.merge_all();
  EXPECT_EQ(**r.replica(0).get("k"), **r.replica(1).get("k"));
  // After seeing a value, a replica's next write wins.
  ASSERT_TRUE(r.replica(0).put("k", "later").ok());
  r.merge_all();
  EXPECT_EQ(**r.replica(1).get("k"), "later");
}

}  // namespace
}  // namespace cmud::game
