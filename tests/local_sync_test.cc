// ORIGINAL-TESTS.md "Local sync": one server, a Put on one query actor is
// visible on every other within 500 ms, at most 10 messages a second
// per ordered actor pair, incremental sync, last writer wins
//.
#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <memory>
#include <thread>
#include <vector>

#include "cluster.h"
#include "traces.h"

namespace cmud::system_test {
namespace {

constexpr auto kBasicBudget = 5s;
constexpr auto kLongBudget = 15s;
constexpr auto kStressBudget = 20s;

// Runs `trace` once on a fresh server with `actors` actors and checks its
// counts against the original's q/minSyncs.
void basic(size_t actors, const Trace& trace, TraceCounts original) {
  Cluster c({actors}, local_options());
  ASSERT_TRUE(c.ok());
  actor::Stats before = c.stats();
  TraceCounts counts = trace(c, "");
  EXPECT_EQ(counts.queries, original.queries);
  EXPECT_EQ(counts.min_syncs, original.min_syncs);
  expect_counts(c, before, counts);
  c.expect_rate_within_limit();
}

TEST(LocalSync, Basic1PutOnOneOfTwoActorsIsVisibleOnBothWithin500ms) {
  Budget budget(kBasicBudget);
  basic(2, put_get, {.queries = 3, .min_syncs = 1});
}

TEST(LocalSync, Basic2PutsOnBothOfTwoActorsAreVisibleOnBothWithin500ms) {
  Budget budget(kBasicBudget);
  basic(2, put_all_get, {.queries = 6, .min_syncs = 2});
}

TEST(LocalSync, Basic3PutOnOneOfFourActorsIsVisibleOnAllWithin500ms) {
  Budget budget(kBasicBudget);
  basic(4, put_get, {.queries = 5, .min_syncs = 3});
}

TEST(LocalSync, Basic4PutsOnAllFourActorsAreVisibleOnAllWithin500ms) {
  Budget budget(kBasicBudget);
  basic(4, put_all_get, {.queries = 20, .min_syncs = 12});
}

void frequency(size_t actors, bool concurrent) {
  Cluster c({actors}, local_options());
  ASSERT_TRUE(c.ok());
  frequent_put(c, concurrent);
}

TEST(LocalSync, Frequency1APutEvery10msOnTwoActorsKeepsEachPairAt10PerSecond) {
  Budget budget(kLongBudget);
  frequency(2, false);
}

TEST(LocalSync,
     Frequency2ConcurrentPutsEvery10msOnTwoActorsKeepEachPairAt10PerSecond) {
  Budget budget(kLongBudget);
  frequency(2, true);
}

TEST(LocalSync, Frequency3APutEvery10msOnFourActorsKeepsEachPairAt10PerSecond) {
  Budget budget(kLongBudget);
  frequency(4, false);
}

TEST(LocalSync,
     Frequency4ConcurrentPutsEvery10msOnFourActorsKeepEachPairAt10PerSecond) {
  Budget budget(kLongBudget);
  frequency(4, true);
}

void size(size_t actors, const Trace& trace) {
  Cluster c({actors}, local_options());
  ASSERT_TRUE(c.ok());
  size_check(c, trace);
}

TEST(LocalSync, Size1PutGetOnTwoActorsCostsNoMoreAfter1000MoreKeys) {
  Budget budget(kLongBudget);
  size(2, put_get);
}

TEST(LocalSync, Size2PutAllGetOnTwoActorsCostsNoMoreAfter1000MoreKeys) {
  Budget budget(kLongBudget);
  size(2, put_all_get);
}

TEST(LocalSync, Size3PutGetOnFourActorsCostsNoMoreAfter1000MoreKeys) {
  Budget budget(kLongBudget);
  size(4, put_get);
}

TEST(LocalSync, Size4PutAllGetOnFourActorsCostsNoMoreAfter1000MoreKeys) {
  Budget budget(kLongBudget);
  size(4, put_all_get);
}

void last_writer_wins(int variant) {
  Cluster c({4}, local_options());
  ASSERT_TRUE(c.ok());
  actor::Stats before = c.stats();
  TraceCounts counts = lww(c, variant);
  expect_counts(c, before, counts);
  c.expect_rate_within_limit();
}

TEST(LocalSync, Lww1MustardPut10msAfterCheeseOnAnotherActorWins) {
  Budget budget(kBasicBudget);
  last_writer_wins(1);
}

TEST(LocalSync, Lww2PicklesPutAfterMustardOnTheMustardActorWins) {
  Budget budget(kBasicBudget);
  last_writer_wins(2);
}

TEST(LocalSync, Lww3PicklesPutAfterMustardOnAThirdActorWins) {
  Budget budget(kBasicBudget);
  last_writer_wins(3);
}

TEST(LocalSync, Lww4CheesePutAgainAfterMustardOnTheFirstActorWins) {
  Budget budget(kBasicBudget);
  last_writer_wins(4);
}

void tombstone(bool put_first) {
  Cluster c({4}, local_options());
  ASSERT_TRUE(c.ok());
  actor::Stats before = c.stats();
  TraceCounts counts = put_then_del(c, put_first);
  expect_counts(c, before, counts);
  c.expect_rate_within_limit();
}

TEST(LocalSync, ADelOnAnotherActor10msAfterAPutRemovesTheKeyEverywhere) {
  Budget budget(kBasicBudget);
  tombstone(true);
}

TEST(LocalSync, APutOnAnotherActor10msAfterADelIsVisibleEverywhere) {
  Budget budget(kBasicBudget);
  tombstone(false);
}

TEST(LocalSync, Stress1FourClientsOnEachOfTwoActorsConverge) {
  Budget budget(kStressBudget);
  Cluster c({2}, local_options(4));
  ASSERT_TRUE(c.ok());
  stress(c, 1);
}

TEST(LocalSync, Stress2FourClientsOnEachOfFourActorsConverge) {
  Budget budget(kStressBudget);
  Cluster c({4}, local_options(4));
  ASSERT_TRUE(c.ok());
  stress(c, 2);
}

// Puts that reach a query actor right after Server::start returns (before
// the actor has heard of its local peers from the coordinator) must still
// reach every other actor. Ten servers, each written to on all 4 actors the
// moment it has started.
TEST(LocalSync, PutsTakenTheMomentAServerStartsReachEveryActorWithin500ms) {
  Budget budget(kBasicBudget);
  constexpr size_t kServers = 10;
  constexpr size_t kActors = 4;
  // Busy threads make a freshly started worker wait for a core, as on a
  // loaded machine, which widens the window.
  std::atomic<bool> busy{true};
  std::vector<std::thread> spinners;
  for (int i = 0; i < 2; ++i) {
    spinners.emplace_back([&busy] {
      while (busy.load(std::memory_order_relaxed)) {
      }
    });
  }
  std::vector<std::unique_ptr<Cluster>> clusters;
  for (size_t s = 0; s < kServers; ++s) {
    clusters.push_back(std::make_unique<Cluster>(std::vector<size_t>{kActors},
                                                 local_options()));
    ASSERT_TRUE(clusters.back()->ok());
    std::vector<std::future<Status>> puts;
    for (size_t i = 0; i < kActors; ++i) {
      puts.push_back(clusters.back()->client(i).put_async(
          "early/" + std::to_string(i), "put on actor " + std::to_string(i)));
    }
    for (auto& p : puts) {
      Status st = p.get();
      EXPECT_TRUE(st.ok()) << st.to_string();
    }
  }
  busy = false;
  for (auto& t : spinners) t.join();
  std::this_thread::sleep_for(kLocalDeadline);
  client::KeyValues expected;
  for (size_t i = 0; i < kActors; ++i) {
    expected.emplace_back("early/" + std::to_string(i),
                          "put on actor " + std::to_string(i));
  }
  for (size_t s = 0; s < kServers; ++s) {
    for (size_t i = 0; i < kActors; ++i) {
      auto got = list_ok(clusters[s]->client(i), "early/");
      EXPECT_EQ(got, expected) << "server " << s << ", actor " << i << " lists "
                               << got.size() << " of " << kActors << " keys";
    }
  }
}

}  // namespace
}  // namespace cmud::system_test
