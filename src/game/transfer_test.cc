// Transfers under last-writer-wins: two players on two replicas that merge
// only now and then, gifts both ways at once, and storage faults (failed
// writes, and writes that happened although they reported an error). At
// every step the coins on the fully merged store plus the transfers still
// in flight must add up to what there was at the start.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <tuple>

#include "cmud/game/game.h"
#include "testing/lww_replicas.h"

namespace cmud::game {
namespace {

using testing::Fault;

using namespace std::chrono_literals;
using testing::LwwReplicas;

struct Ledger {
  int64_t coins = 0;      // in player records
  int64_t in_flight = 0;  // given, not yet claimed
};

// Reads the world as every replica will see it once synced.
Ledger ledger(const KeyValues& all) {
  std::map<std::string, Player> players;
  // (to, from, seq) -> amount
  std::map<std::tuple<std::string, std::string, int64_t>, int64_t> gifts;
  for (const auto& [key, value] : all) {
    if (auto name = keys::name_after(keys::player_prefix(), key)) {
      auto p = decode_player(value);
      EXPECT_TRUE(p.ok()) << key;
      if (p.ok()) players[*name] = *p;
    }
  }
  for (const auto& [name, p] : players) {
    for (const auto& g : p.pending) gifts[{g.to, name, g.seq}] = g.amount;
    for (const auto& [key, value] : all) {
      if (auto gk = keys::parse_gift(name, key)) {
        auto amount = parse_count(value);
        EXPECT_TRUE(amount.has_value()) << key;
        auto id = std::make_tuple(name, gk->from, gk->seq);
        auto it = gifts.find(id);
        // A pending entry and its written record always agree.
        if (it != gifts.end()) {
          EXPECT_EQ(it->second, *amount) << key;
        }
        gifts[id] = *amount;
      }
    }
  }
  Ledger l;
  for (const auto& [name, p] : players) l.coins += p.coins;
  for (const auto& [id, amount] : gifts) {
    const auto& [to, from, seq] = id;
    auto receiver = players.find(to);
    int64_t claimed = 0;
    if (receiver != players.end() && receiver->second.claimed.count(from)) {
      claimed = receiver->second.claimed.at(from);
    }
    if (seq > claimed) l.in_flight += amount;
  }
  return l;
}

void enroll(LwwReplicas& r, size_t replica, const std::string& name,
            int64_t coins) {
  Player p;
  p.name = name;
  p.coins = coins;
  ASSERT_TRUE(
      r.replica(replica).put(keys::player(name), encode_player(p)).ok());
}

TEST(Transfers, GiftsCrossingEachOtherOnTwoReplicasConserveCoins) {
  LwwReplicas r(2);
  ManualClock clock;
  enroll(r, 0, "ann", 100);
  enroll(r, 1, "bob", 50);
  r.merge_all();
  Game ann(r.replica(0), clock, {.seed = 1, .session = "a"});
  Game bob(r.replica(1), clock, {.seed = 2, .session = "b"});
  ASSERT_TRUE(ann.login("ann").ok());
  ASSERT_TRUE(bob.login("bob").ok());
  // Both give at once, neither replica has seen the other's gift.
  ann.execute("give bob 30");
  bob.execute("give ann 20");
  ann.execute("give bob 5");
  EXPECT_EQ(ann.player()->coins, 65);
  EXPECT_EQ(bob.player()->coins, 30);
  Ledger before = ledger(r.merged_view());
  EXPECT_EQ(before.coins + before.in_flight, 150);
  EXPECT_EQ(before.in_flight, 55);
  r.merge_all();
  ann.execute("stats");
  bob.execute("stats");
  r.merge_all();
  EXPECT_EQ(ann.player()->coins, 85);
  EXPECT_EQ(bob.player()->coins, 65);
  Ledger after = ledger(r.merged_view());
  EXPECT_EQ(after.coins, 150);
  EXPECT_EQ(after.in_flight, 0);
}

TEST(Transfers, AGiftSeenOutOfOrderWaitsForTheOneBeforeIt) {
  LwwReplicas r(3);  // ann writes on 0; bob reads on 1; 2 relays
  ManualClock clock;
  enroll(r, 0, "ann", 10);
  enroll(r, 0, "bob", 0);
  r.merge_all();
  Game ann(r.replica(0), clock, {.seed = 1, .session = "a"});
  Game bob(r.replica(1), clock, {.seed = 2, .session = "b"});
  ASSERT_TRUE(ann.login("ann").ok());
  ASSERT_TRUE(bob.login("bob").ok());
  ann.execute("give bob 1");  // seq 1
  r.merge(0, 2);              // replica 2 has seq 1 only
  ann.execute("give bob 2");  // seq 2
  // Deliver seq 2 to bob's replica without seq 1: copy the key by hand.
  auto seq2 = r.replica(0).get(keys::gift("bob", "ann", 2));
  ASSERT_TRUE(seq2.ok() && seq2->has_value());
  ASSERT_TRUE(r.replica(1).put(keys::gift("bob", "ann", 2), **seq2).ok());
  bob.execute("stats");
  EXPECT_EQ(bob.player()->coins, 0);  // waits for seq 1
  r.merge(2, 1);
  bob.execute("stats");
  EXPECT_EQ(bob.player()->coins, 3);
  EXPECT_EQ(bob.player()->claimed.at("ann"), 2);
}

// Many random interleavings, with faults.
TEST(Transfers, RandomInterleavingsWithFaultsNeverCreateOrLoseACoin) {
  constexpr int64_t kTotal = 150;
  for (uint64_t seed = 1; seed <= 150; ++seed) {
    SCOPED_TRACE("seed " + std::to_string(seed));
    LwwReplicas r(2);
    ManualClock clock;
    enroll(r, 0, "ann", 100);
    enroll(r, 1, "bob", 50);
    r.merge_all();
    Game ann(r.replica(0), clock, {.seed = seed, .session = "a"});
    Game bob(r.replica(1), clock, {.seed = seed + 1000, .session = "b"});
    ASSERT_TRUE(ann.login("ann").ok());
    ASSERT_TRUE(bob.login("bob").ok());
    std::mt19937_64 dice(seed);
    auto roll = [&](uint64_t n) { return dice() % n; };
    const std::vector<std::string> prefixes = {"",
                                               keys::player_prefix(),
                                               keys::player("ann"),
                                               keys::player("bob"),
                                               "game/give/",
                                               keys::gift_prefix("ann"),
                                               keys::gift_prefix("bob"),
                                               keys::seen_prefix()};
    for (int step = 0; step < 80; ++step) {
      switch (roll(9)) {
        case 0:
        case 1:
          ann.execute("give bob " + std::to_string(1 + roll(30)));
          break;
        case 2:
        case 3:
          bob.execute("give ann " + std::to_string(1 + roll(30)));
          break;
        case 4:
          ann.execute("stats");
          break;
        case 5:
          bob.execute("stats");
          break;
        case 6:
          r.merge(0, 1);
          break;
        case 7:
          r.merge(1, 0);
          break;
        case 8:
          r.inject(roll(2), Fault{.count = 1 + static_cast<int>(roll(2)),
                                  .code = ErrorCode::kTimeout,
                                  .key_prefix = prefixes[roll(prefixes.size())],
                                  .apply_anyway = roll(2) == 0});
          break;
      }
      clock.advance(100ms);
      Ledger l = ledger(r.merged_view());
      ASSERT_EQ(l.coins + l.in_flight, kTotal) << "after step " << step;
    }
    // Let everything settle: faults get used up, gifts get claimed.
    for (int round = 0; round < 8; ++round) {
      r.merge_all();
      ann.execute("stats");
      bob.execute("stats");
      clock.advance(100ms);
    }
    r.merge_all();
    Ledger l = ledger(r.merged_view());
    EXPECT_EQ(l.coins, kTotal);
    EXPECT_EQ(l.in_flight, 0);
    EXPECT_EQ(ann.player()->coins + bob.player()->coins, kTotal);
    EXPECT_TRUE(ann.player()->pending.empty());
    EXPECT_TRUE(bob.player()->pending.empty());
  }
}

}  // namespace
}  // namespace cmud::game
