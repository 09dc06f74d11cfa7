#include "cmud/game/storage.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "cmud/game/schema.h"
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

TEST(MemoryStorage, WithoutAccountsEveryNameIsNoneAndSignInFails) {
  MemoryStorage s;
  EXPECT_EQ(*s.account("ann"), Account::kNone);
  EXPECT_FALSE(s.sign_up("ann", "password1").ok());
  EXPECT_FALSE(s.sign_in("ann", "password1").ok());
  EXPECT_TRUE(s.put(keys::player("bob"), "{}").ok());
}

TEST(MemoryStorage, AnAccountIsSignedUpOnceAndSignedInWithItsPassword) {
  MemoryStorage s;
  s.enable_accounts();
  auto ann = s.new_client();
  EXPECT_EQ(*ann->account("ann"), Account::kFree);
  EXPECT_TRUE(*ann->sign_up("ann", "password1"));
  EXPECT_FALSE(*s.sign_up("ann", "other-password"));  // taken
  EXPECT_EQ(*s.account("ann"), Account::kTaken);
  EXPECT_EQ(ann->sign_in("ann", "wrong-password").code(), ErrorCode::kDenied);
  EXPECT_EQ(ann->sign_in("bob", "password1").code(), ErrorCode::kDenied);
  EXPECT_EQ(ann->signed_in(), "");
  ASSERT_TRUE(ann->sign_in("ann", "password1").ok());
  EXPECT_EQ(ann->signed_in(), "ann");
  EXPECT_EQ(s.signed_in(), "");  // each client signs in on its own
  // Storage errors are errors, not answers.
  s.fail_next(1);
  EXPECT_EQ(s.account("bob").status().code(), ErrorCode::kUnavailable);
}

TEST(MemoryStorage, ASignedInAccountMayWriteOnlyItsOwnKeys) {
  MemoryStorage s;
  s.enable_accounts();
  auto ann = s.new_client();
  ASSERT_TRUE(*ann->sign_up("ann", "password1"));
  ASSERT_TRUE(ann->sign_in("ann", "password1").ok());
  EXPECT_TRUE(ann->put(keys::player("ann"), "{}").ok());
  EXPECT_TRUE(ann->put(keys::gift("bob", "ann", 1), "5").ok());
  Status refused = ann->put(keys::player("anna"), "{}");
  EXPECT_EQ(refused.code(), ErrorCode::kInternal);
  EXPECT_THAT(refused.message(), ::testing::StartsWith("NOPERM"));
  EXPECT_FALSE(ann->put(keys::gift("ann", "bob", 1), "5").ok());
  EXPECT_FALSE(ann->del(keys::player("ann")).ok());
  EXPECT_EQ(s.refused_writes(),
            (std::vector<std::string>{"ann " + keys::player("anna"),
                                      "ann " + keys::gift("ann", "bob", 1),
                                      "ann " + keys::player("ann")}));
  EXPECT_FALSE(s.get(keys::player("anna"))->has_value());
  // Channels: any place's, the news, and only its own tells.
  EXPECT_TRUE(ann->publish(keys::say_channel("quad"), "x").ok());
  EXPECT_TRUE(ann->publish(keys::news_channel(), "x").ok());
  EXPECT_TRUE(ann->publish(keys::tell_channel("ann"), "x").ok());
  EXPECT_FALSE(ann->publish(keys::tell_channel("bob"), "x").ok());
  // A client signed in as nobody (an operator's) writes anything.
  EXPECT_TRUE(s.put(keys::player("anna"), "{}").ok());
}

TEST(AccountPatterns, PinTheAuthorByAWholeSegmentAsTheServerGlobsDo) {
  using testing::account_may_write;
  const int64_t at = 1'700'000'000'123;
  EXPECT_TRUE(account_may_write("ann", keys::player("ann")));
  EXPECT_TRUE(account_may_write("ann", keys::seen("ann")));
  EXPECT_TRUE(account_may_write("ann", keys::hit(2, 7, "ann")));
  EXPECT_TRUE(account_may_write("ann", keys::gift("bob", "ann", 3)));
  EXPECT_TRUE(account_may_write("ann", keys::say("quad", at, "ann", "s1")));
  EXPECT_TRUE(account_may_write("ann", keys::news(at, "ann", "s1")));
  EXPECT_TRUE(account_may_write("ann", keys::tell("bob", at, "ann", "s1")));
  // Names may contain '-': "bob-ann" is not ann, nor "ann" "bob-ann".
  EXPECT_FALSE(account_may_write("ann", keys::say("quad", at, "bob-ann", "s")));
  EXPECT_FALSE(account_may_write("ann", keys::player("ann-x")));
  EXPECT_FALSE(account_may_write("ann", keys::player("bob")));
  EXPECT_FALSE(account_may_write("ann", keys::hit(2, 7, "bob")));
  EXPECT_FALSE(account_may_write("ann", keys::gift("ann", "bob", 3)));
  EXPECT_FALSE(account_may_write("ann", keys::tell("ann", at, "bob", "s1")));
  EXPECT_FALSE(account_may_write("ann", "game/other/ann"));
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
