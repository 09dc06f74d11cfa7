#include "cmud/kv/store.h"

#include <gtest/gtest.h>

#include <tuple>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "cmud/kv/counter.h"
#include "cmud/kv/entry_wire.h"

namespace cmud::kv {
namespace {

struct Update {
  std::string key;
  std::string value;
  Version version;
  bool deleted;
};

// key -> (value, version, deleted) for every key, tombstones included.
std::map<std::string, std::tuple<std::string, Version, bool>> state_of(
    const Store& s) {
  std::map<std::string, std::tuple<std::string, Version, bool>> out;
  s.walk("", false, [&](const Entry& e) {
    out[std::string(e.key())] = {std::string(e.value()), e.version(),
                                 e.deleted()};
    return true;
  });
  return out;
}

TEST(Store, NewerVersionWinsOlderIsIgnored) {
  Store s;
  EXPECT_TRUE(s.apply("k", "a", {10, 1}, false, kRouteNone));
  EXPECT_FALSE(s.apply("k", "old", {9, 5}, false, kRouteNone));
  EXPECT_FALSE(s.apply("k", "same", {10, 1}, false, kRouteNone));
  EXPECT_TRUE(s.apply("k", "tie-break", {10, 2}, false, kRouteNone));
  EXPECT_EQ(s.get("k"), "tie-break");
}

TEST(Store, DeleteIsATombstoneMergedByTheSameRule) {
  Store s;
  ASSERT_TRUE(s.apply("k", "v", {10, 1}, false, kRouteNone));
  EXPECT_EQ(s.live_size(), 1u);
  ASSERT_TRUE(s.apply("k", "", {11, 1}, true, kRouteNone));
  EXPECT_EQ(s.get("k"), std::nullopt);
  EXPECT_EQ(s.live_size(), 0u);
  ASSERT_NE(s.find("k"), nullptr);
  EXPECT_TRUE(s.find("k")->deleted());
  // An older write arriving late does not resurrect the key.
  EXPECT_FALSE(s.apply("k", "late", {10, 9}, false, kRouteNone));
  EXPECT_EQ(s.get("k"), std::nullopt);
  EXPECT_TRUE(s.apply("k", "again", {12, 1}, false, kRouteNone));
  EXPECT_EQ(s.live_size(), 1u);
}

TEST(Store, PrefixListingIsSortedAndStopsAtThePrefixEnd) {
  Store s;
  for (auto k : {"cat/1", "cat/2", "cat", "catalog", "dog/1", "ca"}) {
    ASSERT_TRUE(s.apply(k, std::string("v") + k, {1, 1}, false, kRouteNone));
  }
  ASSERT_TRUE(s.apply("cat/3", "", {2, 1}, true, kRouteNone));
  std::vector<std::string> keys;
  s.for_each_prefix("cat/", [&](const Entry& e) {
    keys.emplace_back(e.key());
    return true;
  });
  EXPECT_EQ(keys, (std::vector<std::string>{"cat/1", "cat/2"}));
  keys.clear();
  s.for_each_prefix("", [&](const Entry& e) {
    keys.emplace_back(e.key());
    return true;
  });
  EXPECT_EQ(keys.size(), 6u);
  EXPECT_TRUE(std::is_sorted(keys.begin(), keys.end()));
}

TEST(Store, ChangeLogYieldsOneRecordPerKeyAndRespectsTheRouteMask) {
  Store s;
  ASSERT_TRUE(s.apply("a", "1", {1, 1}, false, kRouteLocal | kRouteRemote));
  ASSERT_TRUE(s.apply("b", "1", {1, 1}, false, kRouteLocal));
  ASSERT_TRUE(s.apply("a", "2", {2, 1}, false, kRouteLocal | kRouteRemote));
  auto collect = [&](uint64_t cursor, uint8_t mask, uint64_t* end) {
    std::vector<std::string> out;
    *end = s.changes_since(cursor, mask, [&](const Entry& e) {
      out.push_back(std::string(e.key()) + "=" + std::string(e.value()));
      return true;
    });
    return out;
  };
  uint64_t end = 0;
  EXPECT_EQ(collect(0, kRouteLocal, &end),
            (std::vector<std::string>{"b=1", "a=2"}));
  EXPECT_EQ(end, s.last_seq());
  EXPECT_EQ(collect(0, kRouteRemote, &end), (std::vector<std::string>{"a=2"}));
  // Nothing new after the end.
  EXPECT_TRUE(collect(end, kRouteLocal, &end).empty());
  // A change from elsewhere that replaces a record still waiting goes
  // where that record was to go (a stream claim counts on it), ...
  ASSERT_TRUE(s.apply("b", "from-peer", {5, 1}, false, kRouteNone));
  EXPECT_EQ(collect(0, kRouteLocal, &end),
            (std::vector<std::string>{"a=2", "b=from-peer"}));
  EXPECT_EQ(collect(0, kRouteRemote, &end), (std::vector<std::string>{"a=2"}));
  s.trim(s.last_seq());
  EXPECT_EQ(s.log_size(), 0u);
  // ... and once that record went, it is not logged.
  ASSERT_TRUE(s.apply("b", "again", {6, 1}, false, kRouteNone));
  EXPECT_EQ(s.log_size(), 0u);
}

TEST(Store, TouchLogsAnEntryAgain) {
  Store s;
  ASSERT_TRUE(s.apply("a", "1", {1, 1}, false, kRouteNone));
  EXPECT_EQ(s.log_size(), 0u);
  EXPECT_TRUE(s.touch("a", kRouteLocal));
  std::vector<std::string> local, remote;
  (void)s.changes_since(0, kRouteLocal, [&](const Entry& e) {
    local.push_back(std::string(e.key()));
    return true;
  });
  (void)s.changes_since(0, kRouteRemote, [&](const Entry& e) {
    remote.push_back(std::string(e.key()));
    return true;
  });
  EXPECT_EQ(local, std::vector<std::string>{"a"});
  EXPECT_TRUE(remote.empty());
  EXPECT_FALSE(s.touch("missing", kRouteLocal));
  // Below the floor it is gone.
  ASSERT_TRUE(s.raise_floor({2, 1}));
  EXPECT_FALSE(s.touch("a", kRouteLocal));
}

TEST(Store, ChangesSinceStopsWithoutTakingTheRefusedRecord) {
  Store s;
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(
        s.apply("k" + std::to_string(i), "v", {1, 1}, false, kRouteLocal));
  }
  int taken = 0;
  uint64_t c = s.changes_since(0, kRouteLocal,
                               [&](const Entry&) { return taken++ < 2; });
  EXPECT_EQ(c, 2u);
  std::vector<std::string> rest;
  s.changes_since(c, kRouteLocal, [&](const Entry& e) {
    rest.emplace_back(e.key());
    return true;
  });
  EXPECT_EQ(rest, (std::vector<std::string>{"k2", "k3", "k4"}));
}

TEST(Store, ARewriteOfAnotherSizeKeepsTheLogCorrect) {
  Store s;
  ASSERT_TRUE(s.apply("k", "a", {1, 1}, false, kRouteLocal));
  ASSERT_TRUE(s.apply("k", "a much longer value", {2, 1}, false, kRouteLocal));
  ASSERT_TRUE(s.apply("other", "x", {3, 1}, false, kRouteLocal));
  ASSERT_TRUE(s.apply("k", "", {4, 1}, true, kRouteLocal));
  std::vector<std::string> seen;
  s.changes_since(0, kRouteLocal, [&](const Entry& e) {
    seen.push_back(std::string(e.key()) + "=" + std::string(e.value()) +
                   (e.deleted() ? "(deleted)" : ""));
    return true;
  });
  EXPECT_EQ(seen, (std::vector<std::string>{"other=x", "k=(deleted)"}));
  s.trim(s.last_seq());
  EXPECT_EQ(s.log_size(), 0u);
  EXPECT_EQ(s.get("other"), "x");
  EXPECT_EQ(s.get("k"), std::nullopt);
}

TEST(Store, WalkResumesAfterTheLastKeyTaken) {
  Store s;
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(
        s.apply("k" + std::to_string(i), "v", {1, 1}, i % 3 == 0, kRouteNone));
  }
  std::vector<std::string> seen;
  std::optional<std::string> cursor;
  int rounds = 0;
  do {
    int budget = 3;
    cursor =
        s.walk(cursor.value_or(""), cursor.has_value(), [&](const Entry& e) {
          if (budget-- == 0) return false;
          seen.emplace_back(e.key());
          return true;
        });
  } while (cursor && ++rounds < 100);
  EXPECT_EQ(seen.size(), 10u);  // tombstones included
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
}

// Merge is associative, commutative and idempotent: any order of any
// duplication of the same updates gives one state.
TEST(Store, MergeOfPermutedAndDuplicatedUpdatesAlwaysGivesTheSameState) {
  std::mt19937_64 rng(20261122);
  for (int round = 0; round < 200; ++round) {
    std::vector<Update> updates;
    int n = 1 + static_cast<int>(rng() % 60);
    for (int i = 0; i < n; ++i) {
      Update u;
      u.key = "k" + std::to_string(rng() % 8);
      u.deleted = rng() % 5 == 0;
      u.value = u.deleted ? "" : "v" + std::to_string(rng() % 100);
      // Few distinct versions, so ties on hlc are common.
      u.version = {rng() % 6, rng() % 3};
      updates.push_back(u);
    }
    // Two updates with one version must be the same write.
    std::map<std::pair<std::string, Version>, Update> canonical;
    for (auto& u : updates) {
      auto [it, fresh] = canonical.emplace(std::pair{u.key, u.version}, u);
      if (!fresh) u = it->second;
    }
    Store reference;
    for (const auto& u : updates) {
      (void)reference.apply(u.key, u.value, u.version, u.deleted, kRouteNone);
    }
    auto want = state_of(reference);
    for (int trial = 0; trial < 10; ++trial) {
      auto shuffled = updates;
      int dups = static_cast<int>(rng() % 10);
      for (int d = 0; d < dups; ++d) {
        shuffled.push_back(updates[rng() % updates.size()]);
      }
      std::shuffle(shuffled.begin(), shuffled.end(), rng);
      Store s;
      for (const auto& u : shuffled) {
        (void)s.apply(u.key, u.value, u.version, u.deleted,
                      kRouteLocal | kRouteRemote);
      }
      ASSERT_EQ(state_of(s), want) << "round " << round << " trial " << trial;
    }
  }
}

// Warming is only a cache hint: every index runs once, in order, across
// chunk boundaries, with keys absent, empty or written by earlier steps.
TEST(Store, ForEachWarmedRunsEveryStepInOrderAndSeesEarlierWrites) {
  for (size_t n : {0u, 1u, 2u, 15u, 16u, 17u, 40u, 1000u}) {
    Store s;
    std::vector<std::string> keys;
    for (size_t i = 0; i < n; ++i) {
      // Repeats, so later steps read what earlier steps of the run wrote.
      keys.push_back(i % 7 == 3 ? "" : "k" + std::to_string(i % 11));
    }
    std::vector<size_t> order;
    std::map<std::string, std::string> model;
    s.for_each_warmed(
        n, [&](size_t i) { return std::string_view(keys[i]); },
        [&](size_t i) {
          order.push_back(i);
          auto got = s.get(keys[i]);
          auto want = model.find(keys[i]);
          ASSERT_EQ(got.has_value(), want != model.end()) << n << " " << i;
          if (got) {
            EXPECT_EQ(*got, want->second);
          }
          std::string v = "v" + std::to_string(i) + std::string(i % 90, 'x');
          ASSERT_TRUE(s.apply(keys[i], v, {i + 1, 1}, false, kRouteNone));
          model[keys[i]] = v;
        });
    ASSERT_EQ(order.size(), n);
    for (size_t i = 0; i < n; ++i) EXPECT_EQ(order[i], i);
  }
}

// Entries replaced by ones of another size stay findable by key (the hash
// slot is repointed in place).
TEST(Store, ManyKeysRewrittenAtOtherSizesStayFindable) {
  Store s;
  constexpr int kKeys = 5000;
  for (int round = 0; round < 3; ++round) {
    for (int i = 0; i < kKeys; ++i) {
      std::string v(static_cast<size_t>(1 + (i + round * 7) % 200), 'a');
      ASSERT_TRUE(s.apply("key" + std::to_string(i), v,
                          {static_cast<uint64_t>(round + 1), 1}, false,
                          kRouteLocal));
    }
  }
  EXPECT_EQ(s.size(), static_cast<size_t>(kKeys));
  for (int i = 0; i < kKeys; ++i) {
    auto v = s.get("key" + std::to_string(i));
    ASSERT_TRUE(v.has_value()) << i;
    EXPECT_EQ(v->size(), static_cast<size_t>(1 + (i + 14) % 200));
  }
  EXPECT_EQ(s.find("key" + std::to_string(kKeys)), nullptr);
}

TEST(HybridClock, AWallTimeReadOnceStillGivesGrowingVersions) {
  HybridClock c([] { return uint64_t{5000}; });
  uint64_t t = c.now_ms();
  EXPECT_EQ(t, 5000u);
  uint64_t a = c.next(t);
  uint64_t b = c.next(t);
  EXPECT_GT(b, a);
  EXPECT_GT(c.next(t - 100), b);  // a stale reading never goes back
}

TEST(HybridClock, FollowsTheWallClockAndNeverGoesBackwards) {
  uint64_t now = 1000;
  HybridClock c([&] { return now; });
  uint64_t a = c.next();
  EXPECT_EQ(a, Version::pack(1000, 0));
  uint64_t b = c.next();
  EXPECT_EQ(b, Version::pack(1000, 1));
  now = 900;  // the wall clock steps back
  EXPECT_GT(c.next(), b);
  now = 2000;
  EXPECT_EQ(c.next(), Version::pack(2000, 0));
}

TEST(HybridClock, APutAfterSeeingANewerValueBeatsItDespiteSkew) {
  uint64_t now = 1000;  // this server's clock is 5 s behind the writer's
  HybridClock c([&] { return now; });
  Version seen{Version::pack(6000, 3), origin_of("far:1/2")};
  c.observe(seen.hlc);
  Version mine{c.next(), origin_of("here:1/2")};
  EXPECT_GT(mine, seen);
}

TEST(Admit, AcceptsWhatIsWithinTheSkewOfOurClock) {
  const uint64_t now = 1'700'000'000'000;
  EXPECT_EQ(admit({Version::pack(now, 0), 1}, now, {}), Admit::kAccept);
  EXPECT_EQ(admit({Version::pack(now - 86'400'000, 7), 1}, now, {}),
            Admit::kAccept);
  EXPECT_EQ(admit({Version::pack(now + 60'000, 0xffff), 1}, now, {}),
            Admit::kAccept);
  EXPECT_EQ(admit({0, 0}, now, {}), Admit::kAccept);
}

TEST(Admit, HoldsWhatIsFurtherAheadThanTheSkew) {
  const uint64_t now = 1'700'000'000'000;
  EXPECT_EQ(admit({Version::pack(now + 60'001, 0), 1}, now, {}), Admit::kHold);
  EXPECT_EQ(admit({Version::pack(now + 500, 0), 1}, now, {},
                  AdmitRules{.max_skew_ms = 100}),
            Admit::kHold);
  // A clock near the end of time: the limit saturates, never wraps.
  EXPECT_EQ(admit({Version::pack(kMaxWallMs, 0), 1}, kMaxWallMs - 1, {}),
            Admit::kAccept);
}

TEST(Admit, RefusesWhatNoClockCanReachAndDropsWhatIsBelowTheFloor) {
  const uint64_t now = 1'700'000'000'000;
  EXPECT_EQ(admit({~uint64_t{0}, 1}, now, {}), Admit::kRefuse);
  EXPECT_EQ(admit({Version::pack(kMaxWallMs + 1, 0), 1}, now, {}),
            Admit::kRefuse);
  Version floor{Version::pack(now - 1000, 0), 5};
  EXPECT_EQ(admit({Version::pack(now - 2000, 0), 9}, now, floor),
            Admit::kStale);
  EXPECT_EQ(admit({floor.hlc, 4}, now, floor), Admit::kStale);
  EXPECT_EQ(admit(floor, now, floor), Admit::kAccept);
}

TEST(Admit, AnAdmittedVersionLeavesTheClockRoomToGrow) {
  // The worst an admitted version can do: the clock observes the latest
  // admissible value and must still count up without wrapping.
  HybridClock c([] { return kMaxWallMs; });
  c.observe(Version::pack(kMaxWallMs, 0xffff));
  uint64_t a = c.next();
  uint64_t b = c.next();
  EXPECT_GT(a, Version::pack(kMaxWallMs, 0xffff));
  EXPECT_GT(b, a);
}

TEST(Store, TheFloorOnlyRises) {
  Store s;
  EXPECT_EQ(s.floor(), Version{});
  s.raise_floor({10, 1});
  s.raise_floor({5, 9});
  EXPECT_EQ(s.floor(), (Version{10, 1}));
  s.raise_floor({10, 2});
  EXPECT_EQ(s.floor(), (Version{10, 2}));
}

// The leaf digests of two stores, compared.
bool same_digests(const Store& a, const Store& b) {
  for (size_t l = 0; l < Store::kLeaves; ++l) {
    if (a.leaf_digest(l) != b.leaf_digest(l)) return false;
  }
  return true;
}

TEST(Store, AFloorAboveEverythingClearsTheReplicaAtOnce) {
  Store s;
  for (uint64_t i = 0; i < 5000; ++i) {
    s.apply("k" + std::to_string(i), "v", Version{i + 1, 1}, i % 9 == 0,
            kRouteLocal);
  }
  EXPECT_TRUE(s.raise_floor(Version{6000, 1}));
  EXPECT_FALSE(s.raise_floor(Version{10, 1}));  // below: nothing changes
  // Gone at once from every read, count, digest and the change log...
  EXPECT_EQ(s.live_size(), 0u);
  EXPECT_TRUE(same_digests(s, Store()));
  EXPECT_EQ(s.get("k1"), std::nullopt);
  EXPECT_EQ(s.find("k0"), nullptr);
  EXPECT_TRUE(state_of(s).empty());
  size_t listed = 0;
  s.for_each_prefix("k", [&](const Entry&) { return ++listed, true; });
  EXPECT_EQ(listed, 0u);
  size_t sent = 0;
  s.changes_since(0, kRouteLocal, [&](const Entry&) { return ++sent, true; });
  EXPECT_EQ(sent, 0u);
  // ...a write below the floor is refused, one above it is kept...
  EXPECT_FALSE(s.apply("k1", "old", Version{5999, 9}, false, kRouteLocal));
  EXPECT_TRUE(s.apply("k1", "new", Version{6001, 1}, false, kRouteLocal));
  EXPECT_EQ(s.get("k1"), "new");
  EXPECT_EQ(s.live_size(), 1u);
  // ...and the memory is freed in bounded steps that keep the new write.
  EXPECT_TRUE(s.purging());
  size_t steps = 0;
  while (s.purge(1000)) ++steps;
  EXPECT_EQ(steps, 4u);  // 5000 entries, 1000 a step: the fifth ends it
  EXPECT_EQ(s.size(), 1u);
  EXPECT_EQ(s.live_size(), 1u);
  Store only;
  only.apply("k1", "new", Version{6001, 1}, false, kRouteNone);
  EXPECT_TRUE(same_digests(s, only));
}

TEST(Store, AFloorAmongTheVersionsKeepsTheNewerEntries) {
  // Another server's clear reaches a replica that already has writes newer
  // than it: those stay, the older ones go.
  Store s, want;
  for (uint64_t i = 0; i < 3000; ++i) {
    std::string k = "k" + std::to_string(i % 1000);
    Version v{i + 1, i % 3};
    s.apply(k, "v" + std::to_string(i), v, i % 11 == 0, kRouteNone);
    if (i >= 2000)
      want.apply(k, "v" + std::to_string(i), v, i % 11 == 0, kRouteNone);
  }
  EXPECT_TRUE(s.raise_floor(Version{2000, 9}));  // between i=1999 and 2000
  EXPECT_EQ(state_of(s), state_of(want));
  for (int i = 0; i < 1000; ++i) {
    std::string k = "k" + std::to_string(i);
    ASSERT_EQ(s.get(k), want.get(k)) << k;
  }
  while (s.purge(128)) {
  }
  EXPECT_EQ(s.size(), want.size());
  EXPECT_EQ(s.live_size(), want.live_size());
  EXPECT_TRUE(same_digests(s, want));
}

TEST(Store, TheFloorLeavesTheSystemKeySpaceAlone) {
  // Users (ACL) live there: FLUSHALL must not take them, whichever path
  // the floor takes (all at once, or among the versions and purged).
  const std::string user = std::string(kSystemPrefix) + "acl/user/alice";
  const std::string gone = std::string(kSystemPrefix) + "acl/user/bob";
  for (Version floor : {Version{6000, 1}, Version{2500, 1}}) {
    Store s, want;
    for (uint64_t i = 0; i < 5000; ++i) {
      std::string k = "k" + std::to_string(i);
      s.apply(k, "v", Version{i + 1, 1}, false, kRouteLocal);
      if (Version{i + 1, 1} >= floor) {
        want.apply(k, "v", Version{i + 1, 1}, false, kRouteNone);
      }
    }
    for (Store* t : {&s, &want}) {
      t->apply(user, "on nopass", Version{7, 1}, false, kRouteLocal);
      t->apply(gone, "", Version{8, 1}, true, kRouteLocal);
    }
    EXPECT_TRUE(s.raise_floor(floor));
    EXPECT_EQ(s.get(user), "on nopass");
    ASSERT_NE(s.find(gone), nullptr);  // a tombstone stays one
    if (floor == Version{6000, 1}) {   // above everything: counts at once
      EXPECT_EQ(s.live_size(), want.live_size());
      EXPECT_TRUE(same_digests(s, want));
    }
    while (s.purge(700)) {
    }
    EXPECT_EQ(s.get(user), "on nopass");
    EXPECT_EQ(s.size(), want.size());
    EXPECT_EQ(s.live_size(), want.live_size());
    EXPECT_EQ(s.client_live_size(), want.live_size() - 1);
    EXPECT_TRUE(same_digests(s, want));
    // An old write of a user still arrives after the clear (sync, repair).
    EXPECT_EQ(s.floor_for(user), Version{});
    EXPECT_TRUE(s.apply(user, "off", Version{9, 2}, false, kRouteNone));
    EXPECT_FALSE(s.apply("k1", "v", Version{9, 2}, false, kRouteNone));
  }
}

TEST(Store, RandomLiveNeverPicksASystemKey) {
  Store s;
  s.apply("a", "v", Version{1, 1}, false, kRouteNone);
  for (int i = 0; i < 50; ++i) {
    s.apply(std::string(kSystemPrefix) + std::to_string(i), "u", Version{2, 1},
            false, kRouteNone);
  }
  uint64_t n = 0;
  auto random = [&] {
    return n = n * 6364136223846793005ull + 1442695040888963407ull;
  };
  for (int i = 0; i < 200; ++i) {
    const Entry* e = s.random_live(random);
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->key(), "a");
  }
  s.apply("a", "", Version{3, 1}, true, kRouteNone);
  EXPECT_EQ(s.random_live(random), nullptr);
  EXPECT_EQ(s.client_live_size(), 0u);
}

TEST(Store, AFloorRaisedAgainWhilePurgingStillFreesEverythingBelowIt) {
  Store s;
  for (uint64_t i = 0; i < 2000; ++i) {
    s.apply("k" + std::to_string(i), "v", Version{i + 1, 1}, false,
            kRouteLocal);
  }
  s.raise_floor(Version{1000, 0});
  EXPECT_TRUE(s.purge(500));
  s.raise_floor(Version{1500, 0});
  while (s.purge(300)) {
  }
  EXPECT_EQ(s.size(), 501u);  // versions 1500..2000
  EXPECT_EQ(s.live_size(), 501u);
  // Records naming freed entries are passed over, then trimmed.
  size_t sent = 0;
  s.changes_since(0, kRouteLocal, [&](const Entry&) { return ++sent, true; });
  EXPECT_EQ(sent, 501u);
  s.trim(s.last_seq());
  EXPECT_EQ(s.log_size(), 0u);
}

// Tombstones below the horizon go, a bounded step at a time, and leave
// the replica as if they had never been written: same digests and counts
// as one that never had them. Values, newer tombstones, an expiry newer
// than the horizon and the system key space stay.
TEST(Store, CollectFreesTheTombstonesBelowTheHorizonOldestFirst) {
  Store s, never;
  for (uint64_t i = 0; i < 3000; ++i) {
    std::string k = "k" + std::to_string(i);
    bool del = i % 3 == 0;
    s.apply(k, "v", Version{i + 1, 1}, del, kRouteLocal);
    // Deletes from 1000 on stay: at or above the horizon.
    if (!del || i + 1 >= 1000) {
      never.apply(k, "v", Version{i + 1, 1}, del, kRouteNone);
    }
  }
  std::string user = std::string(kSystemPrefix) + "acl/user/gone";
  s.apply(user, "", Version{5, 1}, true, kRouteNone);
  never.apply(user, "", Version{5, 1}, true, kRouteNone);
  // An expired value whose expiry is newer than the horizon stays.
  s.set_now(100);
  never.set_now(100);
  EntryView late{"late", "x", 7, 1, false, {}, Expiry{150, {3500, 1}}};
  s.apply(late, kRouteNone);
  never.apply(late, kRouteNone);
  s.set_now(200);
  never.set_now(200);
  s.reclaim(10);
  never.reclaim(10);
  EXPECT_EQ(s.tombstones(), 1001u);  // the user's is not counted

  // At most 100 a step: 333 deletes are below 1000.
  int steps = 1;
  EXPECT_TRUE(s.collect(Version{1000, 0}, 100));
  EXPECT_EQ(s.collected(), 100u);
  while (s.collect(Version{1000, 0}, 100) && ++steps < 100) {
  }
  EXPECT_EQ(steps, 3);
  EXPECT_EQ(s.collected(), 333u);
  EXPECT_EQ(s.size(), never.size());
  EXPECT_EQ(s.live_size(), never.live_size());
  for (size_t l = 0; l < Store::kLeaves; ++l) {
    ASSERT_EQ(s.leaf_digest(l), never.leaf_digest(l)) << l;
  }
  EXPECT_EQ(s.find("k0"), nullptr);
  ASSERT_NE(s.find("k999"), nullptr);  // version 1000: not below it
  EXPECT_NE(s.find(user), nullptr);
  EXPECT_NE(s.find("late"), nullptr);
  EXPECT_FALSE(s.collect(Version{1000, 0}, 100));
  while (s.collect(Version{3000, 0}, 1000)) {
  }
  EXPECT_EQ(s.collected(), 1000u);  // every delete of k0..k2999
  EXPECT_NE(s.find("late"), nullptr);
  EXPECT_FALSE(s.collect(Version{2001, 0}, 1000));  // lower: changes nothing
  EXPECT_EQ(s.horizon(), (Version{3000, 0}));
  EXPECT_FALSE(s.collect(Version{4000, 0}, 1000));
  EXPECT_EQ(s.find("late"), nullptr);  // both versions below it now
  EXPECT_EQ(s.collected(), 1001u);
  EXPECT_EQ(s.tombstones(), 0u);
  EXPECT_NE(s.find(user), nullptr);
  // Records naming freed entries are passed over, then trimmed.
  size_t sent = 0;
  s.changes_since(0, kRouteLocal, [&](const Entry&) { return ++sent, true; });
  EXPECT_EQ(sent, 2000u);
  s.trim(s.last_seq());
  EXPECT_EQ(s.log_size(), 0u);
}

TEST(Store, BelowTheHorizonAnAbsentKeyRefusesOldWrites) {
  Store s;
  s.apply("gone", "", Version{10, 1}, true, kRouteNone);
  s.apply("kept", "a", Version{10, 1}, false, kRouteNone);
  EXPECT_FALSE(s.collect(Version{100, 0}, 10));
  ASSERT_EQ(s.find("gone"), nullptr);
  // A late copy of what the delete replaced is refused, for any key that
  // is absent.
  EXPECT_FALSE(s.apply("gone", "old", Version{5, 2}, false, kRouteRemote));
  EXPECT_FALSE(s.apply("never", "x", Version{99, 2}, false, kRouteRemote));
  EXPECT_EQ(s.find("gone"), nullptr);
  EXPECT_EQ(s.find("never"), nullptr);
  EXPECT_EQ(s.log_size(), 0u);
  // Not a counter: an increment made now keeps its base's older version.
  EXPECT_TRUE(s.apply("c", "", Version{50, 2}, false, kRouteNone,
                      Counter(0).encoded()));
  // A write below it that would replace a held key is stale too (this
  // replica held every write below it); at or above it, one is taken, as
  // is a system key's.
  EXPECT_FALSE(s.apply("kept", "b", Version{20, 1}, false, kRouteNone));
  EXPECT_TRUE(s.apply("kept", "c", Version{100, 1}, false, kRouteNone));
  EXPECT_TRUE(s.apply("gone", "new", Version{100, 2}, false, kRouteNone));
  std::string user = std::string(kSystemPrefix) + "acl/user/u";
  EXPECT_TRUE(s.apply(user, "rules", Version{3, 1}, false, kRouteNone));
  // An expiry newer than the horizon on a value below it: the value is
  // gone (a tombstone of its version carries the expiry); a counter kept
  // its parts, so it shows them.
  EntryView persist{"p", "x", 40, 1, false, {}, Expiry{0, {150, 1}}};
  EXPECT_TRUE(s.apply(persist, kRouteNone));
  const Entry* p = s.find("p");
  ASSERT_NE(p, nullptr);
  EXPECT_TRUE(p->deleted());
  EXPECT_EQ(p->version(), (Version{40, 1}));
  EXPECT_EQ(p->expiry(), (Expiry{0, {150, 1}}));
  size_t sent = 0;  // it goes on: the sender still shows the value
  s.changes_since(0, kRouteRemote, [&](const Entry& e) {
    EXPECT_EQ(e.key(), "p");
    return ++sent, true;
  });
  EXPECT_EQ(sent, 1u);
  Counter c(0);
  ASSERT_TRUE(c.add(7, 3));
  std::string parts = c.encoded();
  EntryView counter{"n", "", 40, 1, false, parts, std::nullopt};
  EXPECT_TRUE(s.apply(counter, kRouteNone));
  EXPECT_EQ(s.get("n"), "3");
}

// A counter's base version is older than its increments, so what decides
// whether every replica has it is when its newest increment was made: a
// late state made wholly below the horizon finds its key's tombstone gone
// and is refused, in the store's two cases (absent key, older entry); one
// with news above the horizon, or from before made-times were kept, is
// taken.
TEST(Store, BelowTheHorizonALateCounterMadeBeforeItIsRefused) {
  auto state = [](uint64_t made) {
    Counter c(0);
    EXPECT_TRUE(c.add(7, 3));
    if (made != 0) c.mark_made(made);
    return c.encoded();
  };
  Store s;
  s.apply("gone", "", Version{60, 1}, true, kRouteNone);  // DEL after INCRs
  s.apply("older", "x", Version{5, 1}, false, kRouteNone);
  EXPECT_FALSE(s.collect(Version{100, 0}, 10));
  ASSERT_EQ(s.find("gone"), nullptr);
  // Based at 10, incremented at 50: every replica had it, then the delete.
  EXPECT_FALSE(
      s.apply("gone", "", Version{10, 2}, false, kRouteRemote, state(50)));
  EXPECT_EQ(s.find("gone"), nullptr);
  EXPECT_FALSE(
      s.apply("older", "", Version{10, 2}, false, kRouteRemote, state(50)));
  EXPECT_EQ(s.get("older"), "x");
  // Incremented at 150, above the horizon: news.
  EXPECT_TRUE(
      s.apply("gone", "", Version{10, 2}, false, kRouteRemote, state(150)));
  EXPECT_EQ(s.get("gone"), "3");
  // Made when is not known: taken, as before.
  EXPECT_TRUE(
      s.apply("unknown", "", Version{10, 2}, false, kRouteRemote, state(0)));
  EXPECT_EQ(s.get("unknown"), "3");
  // One whose expiry is newer than the horizon: only the expiry is news, a
  // tombstone of its version carries it.
  std::string late = state(50);
  EntryView persisted{"late", "", 10, 2, false, late, Expiry{0, {150, 2}}};
  EXPECT_TRUE(s.apply(persisted, kRouteNone));
  ASSERT_NE(s.find("late"), nullptr);
  EXPECT_TRUE(s.find("late")->deleted());
  EXPECT_FALSE(s.find("late")->counter());
}

// A counter started where its key was gone (on the floor, stamped with an
// expiry version of its own) beats a dead entry older than the stamp, in
// either order; not a live value, nor a newer tombstone.
TEST(Store, ACounterStartedOnAnAbsentKeyBeatsOlderDeadEntries) {
  Counter c(0);
  ASSERT_TRUE(c.add(7, 2));
  std::string parts = c.encoded();
  auto at = [](uint64_t ms) { return Version::pack(ms, 0); };
  EntryView counter{"k", "", 0, 0, false, parts, Expiry{0, {at(300), 7}}};
  auto ends_as = [&](bool counter_first, EntryView other) {
    Store s;
    if (counter_first) s.apply(counter, kRouteNone);
    s.apply(other, kRouteNone);
    if (!counter_first) s.apply(counter, kRouteNone);
    auto v = s.get("k");
    return v ? std::string(*v) : std::string("(nil)");
  };
  EntryView del{"k", "", at(200), 1, true, {}, std::nullopt};
  // expired at 250 ms, before the counter's stamp
  EntryView expired{"k", "x", at(100), 1, false, {}, Expiry{250, {at(200), 1}}};
  EntryView later_del{"k", "", at(400), 1, true, {}, std::nullopt};
  EntryView value{"k", "x", at(200), 1, false, {}, std::nullopt};
  // The same floor's counter, expired before the stamp: its parts do not
  // come back.
  Counter old(0);
  ASSERT_TRUE(old.add(9, 5));
  std::string old_parts = old.encoded();
  EntryView expired_counter{
      "k", "", 0, 0, false, old_parts, Expiry{250, {at(200), 9}}};
  for (bool first : {true, false}) {
    SCOPED_TRACE(first);
    EXPECT_EQ(ends_as(first, expired_counter), "2");
    EXPECT_EQ(ends_as(first, del), "2");
    EXPECT_EQ(ends_as(first, expired), "2");
    EXPECT_EQ(ends_as(first, later_del), "(nil)");
    EXPECT_EQ(ends_as(first, value), "x");
  }
}

// A counter begun where the key was gone and a newer write that an expiry
// not yet seen may show dead by the counter's stamp: whichever order the
// writes come in, every replica ends with the same entry (the value, or the
// counter once the value is known dead by the stamp), holding the other
// as its pending write until the choice can no longer change
// (cmud-sim --durable everysec seed 36 lost the counter's increments).
class StorePending : public ::testing::Test {
 protected:
  static uint64_t at(uint64_t ms) { return Version::pack(ms, 0); }

  void SetUp() override {
    Counter a(0);
    ASSERT_TRUE(a.add(7, 2));
    a.mark_made(at(300));
    stamped_ = a.encoded();
    Counter b(0);
    ASSERT_TRUE(b.add(9, 5));
    b.mark_made(at(120));
    newer_ = b.encoded();
  }
  // INCR where the key was absent, at 300 ms.
  EntryView stamped() const {
    return {"k", "", 0, 0, false, stamped_, Expiry{0, {at(300), 7}}};
  }
  // A counter begun at 100 ms, then an expiry of it set at `set` ms that
  // ends it at `ends` ms (none: as begun).
  EntryView newer(std::optional<std::pair<uint64_t, uint64_t>> x = {}) const {
    EntryView e{"k", "", at(100), 1, false, newer_, std::nullopt};
    if (x) e.expiry = Expiry{x->second, {at(x->first), 1}};
    return e;
  }
  // The entry as it travels, pending write included.
  static std::string bytes(const Store& s) {
    std::string out;
    if (const Entry* e = s.find("k")) append_entry(out, *e);
    return out;
  }
  // Applies `writes` in every order; all must end alike (entry and
  // digests). Returns the store of the first order.
  static void every_order(std::vector<EntryView> writes, Store& first) {
    std::vector<size_t> order(writes.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    bool first_done = false;
    std::string want;
    do {
      Store s;
      for (size_t i : order) s.apply(writes[i], kRouteNone);
      if (!first_done) {
        for (size_t i : order) first.apply(writes[i], kRouteNone);
        want = bytes(s);
        first_done = true;
        continue;
      }
      ASSERT_EQ(bytes(s), want);
      ASSERT_TRUE(same_digests(s, first));
    } while (std::next_permutation(order.begin(), order.end()));
  }
  static std::string shown(const Store& s) {
    auto v = s.get("k");
    return v ? std::string(*v) : std::string("(nil)");
  }

  std::string stamped_, newer_;
};

TEST_F(StorePending, AnExpiryThatEndedTheValueBeforeTheStampShowsTheCounter) {
  Store s;
  // The EXPIRE (set at 200 ms, ending it at 250 ms) may come last.
  every_order({newer(), stamped(), newer({{200, 250}})}, s);
  EXPECT_EQ(shown(s), "2");
  ASSERT_FALSE(s.find("k")->pending().empty());  // the value, held
  EntryView held;
  ASSERT_TRUE(read_pending("k", s.find("k")->pending(), held));
  EXPECT_EQ(held.version(), newer().version());
  // Before the fix: "5" where the counter came before the EXPIRE.
}

TEST_F(StorePending, AValueAliveAtTheStampTakesItAsExpiryAndKeepsItsOwn) {
  Store s;
  // Ends at 900 ms, after the stamp: the value shows, with the stamp's
  // expiry (the newer, as between any two writes of the key)...
  every_order({newer(), stamped(), newer({{200, 900}})}, s);
  EXPECT_EQ(shown(s), "5");
  EXPECT_EQ(s.find("k")->expiry(), (Expiry{0, {at(300), 7}}));
  // ...and its own beside the counter it holds,
  EntryView held;
  std::optional<Expiry> own;
  ASSERT_TRUE(read_pending("k", s.find("k")->pending(), held, &own));
  EXPECT_EQ(held.version(), stamped().version());
  ASSERT_TRUE(own.has_value());
  EXPECT_EQ(own->at_ms, 900u);
  // so that an expiry set later, still before the stamp, that ended it by
  // then shows the counter.
  EXPECT_TRUE(s.apply(newer({{250, 260}}), kRouteNone));
  EXPECT_EQ(shown(s), "2");
}

TEST_F(StorePending, ALaterExpiryOlderThanTheStampDecidesAgainInAnyOrder) {
  Store s;
  // Ended at 250 ms by the first; the second (set later, still before
  // the stamp) keeps it until 900 ms: the value shows.
  every_order({stamped(), newer({{150, 250}}), newer({{200, 900}})}, s);
  s.set_now(200);
  EXPECT_EQ(shown(s), "5");
  Store t;
  // And the other way round: kept, then ended before the stamp.
  every_order({stamped(), newer({{150, 900}}), newer({{200, 250}})}, t);
  EXPECT_EQ(shown(t), "2");
}

TEST_F(StorePending, TheHeldWriteGoesOnceTheChoiceCannotChange) {
  // An expiry newer than the stamp settles it: the value shows for good.
  Store s;
  every_order({stamped(), newer(), newer({{400, 900}})}, s);
  EXPECT_EQ(shown(s), "5");
  EXPECT_TRUE(s.find("k")->pending().empty());
  // So does the horizon passing the stamp (every replica then holds every
  // expiry older than it), at the next write of the key.
  Store t;
  every_order({stamped(), newer()}, t);
  ASSERT_FALSE(t.find("k")->pending().empty());
  EXPECT_EQ(t.pending_writes(), 1u);
  EXPECT_FALSE(t.collect(Version{at(301), 0}, 10));
  t.apply(newer(), kRouteNone);
  EXPECT_TRUE(t.find("k")->pending().empty());
  EXPECT_EQ(t.pending_writes(), 0u);
  EXPECT_EQ(shown(t), "5");
  // And a clear that took the counter: the value keeps its own expiry.
  Store u;
  every_order({stamped(), newer({{200, 900}})}, u);
  EXPECT_EQ(u.find("k")->expiry().at_ms, 0u);  // the stamp's
  ASSERT_TRUE(u.raise_floor(Version{at(50), 0}));
  while (u.purge(100)) {
  }
  ASSERT_NE(u.find("k"), nullptr);
  EXPECT_TRUE(u.find("k")->pending().empty());
  EXPECT_EQ(u.find("k")->expiry().at_ms, 900u);
  EXPECT_EQ(u.pending_writes(), 0u);
}

TEST_F(StorePending, AnEntryWithAHeldWriteTravelsAndIsRebuiltAlike) {
  Store s;
  every_order({stamped(), newer(), newer({{200, 250}})}, s);
  std::string wire;
  append_entry(wire, *s.find("k"));
  codec::Reader r(wire);
  EntryView e;
  ASSERT_TRUE(read_entry(r, e));
  EXPECT_FALSE(e.pending.empty());
  Store copy;  // as a log replay or a sync batch rebuilds it
  EXPECT_TRUE(copy.apply(e, kRouteNone));
  EXPECT_EQ(bytes(copy), bytes(s));
  EXPECT_TRUE(same_digests(copy, s));
  EXPECT_EQ(copy.pending_writes(), 1u);
  Store loaded;  // as a recovered replica is loaded
  loaded.copy_from(s);
  EXPECT_EQ(bytes(loaded), bytes(s));
  EXPECT_EQ(loaded.pending_writes(), 1u);
  // A pending write may not hold one of its own.
  std::string nested;
  EntryView twice = e;
  std::string inner;
  append_write(inner, e);  // carries e's pending: flag 16 inside
  twice.pending = inner;
  append_entry(nested, twice);
  codec::Reader bad(nested);
  EXPECT_FALSE(read_entry(bad, e));
}

// Random writes of one key (a counter begun where it was gone, maybe with
// an EXPIRE of it; a newer counter or value with EXPIREs and PERSISTs of
// it; a newer SET), applied
// in random orders with repeats on three replicas: they end alike before
// any exchange (so the order decided nothing), and after repair's. (With
// two counters begun where the key was gone, stamped on either side of the
// EXPIRE that ended the value, they still do not: docs/ARCHITECTURE.md.)
TEST_F(StorePending, RandomOrdersOfStampedCountersAndExpiriesConverge) {
  std::mt19937_64 rng(20261207);
  auto pick = [&](uint64_t lo, uint64_t hi) {
    return lo + rng() % (hi - lo + 1);
  };
  for (int round = 0; round < 5000; ++round) {
    std::vector<EntryView> writes;
    std::vector<std::string> metas;
    metas.reserve(16);
    {
      uint64_t s = pick(250, 400);
      Counter c(0);
      EXPECT_TRUE(c.add(7, 1 + static_cast<int64_t>(rng() % 3)));
      c.mark_made(at(s));
      metas.push_back(c.encoded());
      writes.push_back(
          {"k", "", 0, 0, false, metas.back(), Expiry{0, {at(s), 7}}});
      if (rng() % 3 == 0) {  // EXPIRE of the counter, where it showed
        EntryView e = writes.back();
        e.expiry = Expiry{pick(300, 700), {at(pick(s + 1, 500)), 4}};
        writes.push_back(e);
      }
    }
    uint64_t tb = pick(100, 200);
    bool b_counter = rng() % 2 == 0;
    Counter b(0);
    EXPECT_TRUE(b.add(9, 5));
    b.mark_made(at(tb));
    metas.push_back(b.encoded());
    EntryView base{
        "k",
        b_counter ? "" : "x",
        at(tb),
        1,
        false,
        b_counter ? std::string_view(metas.back()) : std::string_view(),
        std::nullopt};
    writes.push_back(base);
    int expiries = static_cast<int>(rng() % 4);
    for (int i = 0; i < expiries; ++i) {
      EntryView e = base;
      uint64_t set = pick(tb + 1, 500);
      uint64_t ends = rng() % 3 == 0 ? 0 : pick(200, 600);
      e.expiry = Expiry{ends, {at(set), 2}};
      writes.push_back(e);
    }
    if (rng() % 4 == 0) {
      writes.push_back(
          {"k", "y", at(pick(150, 450)), 3, false, {}, std::nullopt});
    }
    std::vector<Store> replicas(3);
    for (auto& r : replicas) {
      r.set_now(1000);
      auto order = writes;
      for (int d = static_cast<int>(rng() % 3); d > 0; --d) {
        order.push_back(writes[rng() % writes.size()]);
      }
      std::shuffle(order.begin(), order.end(), rng);
      for (const auto& w : order) r.apply(w, kRouteNone);
    }
    // Before any exchange: the order did not decide.
    for (size_t i = 1; i < replicas.size(); ++i) {
      ASSERT_EQ(bytes(replicas[i]), bytes(replicas[0])) << "round " << round;
    }
    // Repair: each sends its entry to the others until none changes.
    for (int pass = 0; pass < 6; ++pass) {
      bool changed = false;
      for (size_t i = 0; i < replicas.size(); ++i) {
        std::string wire = bytes(replicas[i]);
        if (wire.empty()) continue;
        for (size_t j = 0; j < replicas.size(); ++j) {
          if (i == j) continue;
          codec::Reader r(wire);
          EntryView e;
          ASSERT_TRUE(read_entry(r, e));
          changed |= replicas[j].apply(e, kRouteNone);
        }
      }
      if (!changed) break;
    }
    for (size_t i = 1; i < replicas.size(); ++i) {
      ASSERT_EQ(shown(replicas[i]), shown(replicas[0])) << "round " << round;
      ASSERT_EQ(bytes(replicas[i]), bytes(replicas[0])) << "round " << round;
    }
  }
}

TEST(Store, DropStaleFreesOnlyThatVersion) {
  Store s;
  s.apply("a", "x", Version{10, 1}, false, kRouteNone);
  std::string user = std::string(kSystemPrefix) + "acl/user/u";
  s.apply(user, "rules", Version{10, 1}, false, kRouteNone);
  EXPECT_FALSE(s.drop_stale("a", Version{9, 1}));
  EXPECT_FALSE(s.drop_stale(user, Version{10, 1}));
  EXPECT_FALSE(s.drop_stale("b", Version{10, 1}));
  EXPECT_EQ(s.live_size(), 2u);
  EXPECT_TRUE(s.drop_stale("a", Version{10, 1}));
  EXPECT_EQ(s.find("a"), nullptr);
  EXPECT_EQ(s.live_size(), 1u);
  Store only_user;
  only_user.apply(user, "rules", Version{10, 1}, false, kRouteNone);
  for (size_t l = 0; l < Store::kLeaves; ++l) {
    ASSERT_EQ(s.leaf_digest(l), only_user.leaf_digest(l)) << l;
  }
}

TEST(Origin, DependsOnTheIncarnation) {
  EXPECT_NE(origin_of("h:1/2", 1), origin_of("h:1/2", 2));
  EXPECT_EQ(origin_of("h:1/2", 7), origin_of("h:1/2", 7));
  EXPECT_NE(origin_of("h:1/2", 7), origin_of("h:1/3", 7));
}

// Leaf digests depend on the entries a leaf holds, not on the order they
// arrived in, and one differing entry shows.
TEST(Store, LeafDigestsAgreeExactlyWhenTheEntriesDo) {
  Store a, b;
  std::vector<std::tuple<std::string, Version, bool>> writes;
  for (uint64_t i = 0; i < 2000; ++i) {
    writes.emplace_back("k" + std::to_string(i % 700), Version{i + 1, i % 3},
                        i % 5 == 0);
  }
  for (const auto& [k, v, d] : writes) a.apply(k, "x", v, d, kRouteNone);
  for (auto it = writes.rbegin(); it != writes.rend(); ++it) {
    const auto& [k, v, d] = *it;
    b.apply(k, "x", v, d, kRouteNone);
  }
  size_t nonzero = 0;
  for (size_t l = 0; l < Store::kLeaves; ++l) {
    ASSERT_EQ(a.leaf_digest(l), b.leaf_digest(l)) << l;
    nonzero += a.leaf_digest(l) != 0 ? 1 : 0;
  }
  EXPECT_GT(nonzero, 600u);  // 700 keys spread over the leaves
  b.apply("k7", "y", Version{5000, 1}, false, kRouteNone);
  size_t differ = 0;
  for (size_t l = 0; l < Store::kLeaves; ++l) {
    differ += a.leaf_digest(l) != b.leaf_digest(l) ? 1 : 0;
  }
  EXPECT_EQ(differ, 1u);
  EXPECT_NE(a.leaf_digest(Store::leaf_of("k7")),
            b.leaf_digest(Store::leaf_of("k7")));
  // The hash is the same in every process and build (values computed by
  // an independent implementation): servers compare digests.
  EXPECT_EQ(Store::stable_hash(""), 0xf52a15e9a9b5e89bull);
  EXPECT_EQ(Store::stable_hash("player/alice"), 0xd7d3d6963b1a7c28ull);
}

TEST(Store, ACopyHoldsTheSameEntriesDigestsAndFloorAndWorksOnItsOwn) {
  Store a;
  for (uint64_t i = 0; i < 3000; ++i) {
    a.apply("k" + std::to_string(i % 1100), "v" + std::to_string(i),
            Version{i + 1, i % 4}, i % 7 == 0, kRouteLocal);
  }
  a.raise_floor(Version{2, 0});
  Store b;
  b.copy_from(a);
  EXPECT_EQ(state_of(b), state_of(a));
  EXPECT_EQ(b.live_size(), a.live_size());
  EXPECT_EQ(b.size(), a.size());
  EXPECT_EQ(b.floor(), a.floor());
  for (size_t l = 0; l < Store::kLeaves; ++l) {
    ASSERT_EQ(b.leaf_digest(l), a.leaf_digest(l)) << l;
  }
  // Copied as kRouteNone: nothing to send, and every key findable.
  EXPECT_EQ(b.last_seq(), 0u);
  for (int i = 0; i < 1100; ++i) {
    ASSERT_NE(b.find("k" + std::to_string(i)), nullptr) << i;
  }
  // The copy is independent: writes to one leave the other alone.
  EXPECT_TRUE(b.apply("k5", "new", Version{9000, 1}, false, kRouteNone));
  EXPECT_EQ(b.get("k5"), "new");
  EXPECT_NE(a.get("k5"), "new");
}

// --- Expiry: its own last-writer-wins field of the entry. ---

EntryView with_expiry(std::string_view key, std::string_view value, Version v,
                      Expiry x) {
  return {key, value, v.hlc, v.origin, false, {}, x};
}

TEST(StoreExpiry, AnExpiredKeyReadsAsAbsentAtTheSameMomentEverywhere) {
  Store s;
  s.set_now(1000);
  ASSERT_TRUE(s.apply(with_expiry("k", "v", {5, 1}, {2000, {5, 1}}), 0));
  EXPECT_EQ(s.get("k"), "v");
  s.set_now(1999);
  EXPECT_EQ(s.get("k"), "v");
  s.set_now(2000);
  EXPECT_FALSE(s.get("k"));
  EXPECT_NE(s.find("k"), nullptr);  // still an entry: it travels as it is
  EXPECT_EQ(s.find("k")->expiry().at_ms, 2000u);
}

TEST(StoreExpiry, ReclaimFreesTheValueWithoutChangingTheDigest) {
  Store s;
  s.set_now(1000);
  ASSERT_TRUE(
      s.apply(with_expiry("k", "value", {5, 1}, {2000, {5, 1}}), kRouteLocal));
  ASSERT_TRUE(s.apply("other", "x", {6, 1}, false, kRouteNone));
  uint64_t digest = s.leaf_digest(Store::leaf_of("k"));
  EXPECT_EQ(s.expiring(), 1u);
  EXPECT_EQ(s.reclaim(10), 0u);  // not yet
  s.set_now(2500);
  EXPECT_EQ(s.reclaim(10), 1u);
  EXPECT_EQ(s.expiring(), 0u);
  const Entry* e = s.find("k");
  ASSERT_NE(e, nullptr);
  EXPECT_TRUE(e->reclaimed());
  EXPECT_EQ(e->value(), "");
  EXPECT_EQ(s.leaf_digest(Store::leaf_of("k")), digest);
  EXPECT_EQ(s.live_size(), 1u);
  // The change record still names it (now without its value).
  std::vector<std::string> sent;
  s.changes_since(0, kRouteLocal, [&](const Entry& x) {
    sent.emplace_back(x.key());
    return true;
  });
  EXPECT_EQ(sent, std::vector<std::string>{"k"});
  // An older write cannot bring the value back.
  EXPECT_FALSE(s.apply("k", "older", {4, 1}, false, kRouteNone));
  EXPECT_FALSE(s.get("k"));
  // A newer one can.
  EXPECT_TRUE(s.apply("k", "newer", {7, 1}, false, kRouteNone));
  EXPECT_EQ(s.get("k"), "newer");
  EXPECT_EQ(s.live_size(), 2u);
}

TEST(StoreExpiry, ExpiryAndValueMergeOnTheirOwnInAnyOrder) {
  // EXPIRE on one replica (expiry only, version 8) and SET on another
  // (version 7): the SET's value stays, with the later expiry.
  Version set_v{7, 2}, expire_v{8, 1};
  EntryView set = {"k", "new", set_v.hlc, set_v.origin, false, {}, {}};
  EntryView expire = with_expiry("k", "old", {5, 1}, {9000, expire_v});
  Store a, b;
  ASSERT_TRUE(a.apply("k", "old", {5, 1}, false, kRouteNone));
  ASSERT_TRUE(b.apply("k", "old", {5, 1}, false, kRouteNone));
  ASSERT_TRUE(a.apply(set, kRouteNone));
  ASSERT_TRUE(a.apply(expire, kRouteNone));
  ASSERT_TRUE(b.apply(expire, kRouteNone));
  ASSERT_TRUE(b.apply(set, kRouteNone));
  for (Store* s : {&a, &b}) {
    EXPECT_EQ(s->get("k"), "new");
    EXPECT_EQ(s->find("k")->expiry(), (Expiry{9000, expire_v}));
  }
  EXPECT_EQ(a.leaf_digest(Store::leaf_of("k")),
            b.leaf_digest(Store::leaf_of("k")));
  // A later SET clears it (its own version is newer).
  ASSERT_TRUE(a.apply("k", "last", {10, 2}, false, kRouteNone));
  EXPECT_EQ(a.find("k")->expiry(), (Expiry{0, {10, 2}}));
  EXPECT_FALSE(a.find("k")->has_expiry());
  // A PERSIST: an expiry of 0 with a version of its own.
  ASSERT_TRUE(b.apply(with_expiry("k", "new", set_v, {0, {11, 1}}), 0));
  EXPECT_EQ(b.find("k")->expiry().at_ms, 0u);
  EXPECT_FALSE(b.apply(expire, kRouteNone));  // older: nothing new
}

// s holds k = "v" at version 5, expired at 2000 and freed at 3000.
void expire_and_free(Store& s) {
  s.set_now(1000);
  ASSERT_TRUE(s.apply(with_expiry("k", "v", {5, 1}, {2000, {5, 1}}), 0));
  s.set_now(3000);
  ASSERT_EQ(s.reclaim(10), 1u);
}

TEST(StoreExpiry, AFreedValueThatAnotherExpiryWouldShowBecomesATombstone) {
  Store a;
  expire_and_free(a);
  // A PERSIST made elsewhere before it expired there, arriving late.
  ASSERT_TRUE(a.apply(with_expiry("k", "v", {5, 1}, {0, {6, 1}}), 0));
  EXPECT_TRUE(a.find("k")->deleted());
  EXPECT_FALSE(a.get("k"));
  // No replica holds that state yet: it is sent everywhere.
  int sent = 0;
  a.changes_since(0, kRouteLocal | kRouteRemote, [&](const Entry& e) {
    sent += e.key() == "k" && e.deleted() ? 1 : 0;
    return true;
  });
  EXPECT_EQ(sent, 1);
  // Where the value was still held, that tombstone wins at the version.
  Store b;
  b.set_now(1000);
  ASSERT_TRUE(b.apply(with_expiry("k", "v", {5, 1}, {0, {6, 1}}), 0));
  EXPECT_EQ(b.get("k"), "v");
  ASSERT_TRUE(b.apply(a.find("k")->view(), kRouteNone));
  EXPECT_FALSE(b.get("k"));
  EXPECT_EQ(a.leaf_digest(Store::leaf_of("k")),
            b.leaf_digest(Store::leaf_of("k")));
}

// A freed value sent on (a new start's scan, repair, a snapshot) goes
// marked as freed: sent as an empty value, a receiver would show "" once a
// late PERSIST came, while the replicas that held the value show it, and
// their digests agree (cmud-sim seed 19391). Sent as a tombstone, it would
// die at once where the value lived on (seeds of counters that raced it).
TEST(StoreExpiry, AFreedValueTravelsFreed) {
  Store a;
  expire_and_free(a);
  EntryView sent = a.find("k")->view();
  EXPECT_TRUE(sent.reclaimed);
  EXPECT_FALSE(sent.deleted);
  EXPECT_EQ(sent.value, "");
  ASSERT_TRUE(sent.expiry);
  EXPECT_EQ(*sent.expiry, (Expiry{2000, {5, 1}}));
  // Through the wire encoding.
  std::string wire;
  append_entry(wire, *a.find("k"));
  codec::Reader r(wire);
  EntryView got;
  ASSERT_TRUE(read_entry(r, got));
  EXPECT_TRUE(got.reclaimed);
  Store b;
  b.set_now(1000);
  ASSERT_TRUE(b.apply(got, kRouteLocal));
  ASSERT_NE(b.find("k"), nullptr);
  EXPECT_TRUE(b.find("k")->reclaimed());
  EXPECT_FALSE(b.get("k"));
  EXPECT_EQ(b.live_size(), 0u);
  EXPECT_EQ(a.leaf_digest(Store::leaf_of("k")),
            b.leaf_digest(Store::leaf_of("k")));
  // The late PERSIST shows nothing here, as on the replica that freed it.
  ASSERT_TRUE(b.apply(with_expiry("k", "v", {5, 1}, {0, {6, 1}}), 0));
  EXPECT_FALSE(b.get("k"));
  ASSERT_TRUE(a.apply(with_expiry("k", "v", {5, 1}, {0, {6, 1}}), 0));
  EXPECT_FALSE(a.get("k"));
  EXPECT_EQ(a.leaf_digest(Store::leaf_of("k")),
            b.leaf_digest(Store::leaf_of("k")));
  // Where the PERSIST came while the value was held, the freed copy
  // changes nothing; the tombstone the PERSIST made above ends it there.
  Store c;
  c.set_now(1000);
  ASSERT_TRUE(c.apply(with_expiry("k", "v", {5, 1}, {0, {6, 1}}), 0));
  EXPECT_FALSE(c.apply(got, 0));
  EXPECT_EQ(c.get("k"), "v");
  ASSERT_TRUE(c.apply(a.find("k")->view(), 0));
  EXPECT_FALSE(c.get("k"));
  EXPECT_TRUE(c.find("k")->deleted());
  // A counter keeps its parts when freed, and travels as the counter.
  Store d;
  d.set_now(1000);
  Counter n(0);
  ASSERT_TRUE(n.add(7, 2));
  std::string parts = n.encoded();
  ASSERT_TRUE(
      d.apply(EntryView{"n", "", 5, 1, false, parts, Expiry{2000, {5, 1}}}, 0));
  d.set_now(3000);
  ASSERT_EQ(d.reclaim(10), 1u);
  EXPECT_FALSE(d.find("n")->view().reclaimed);
  EXPECT_EQ(d.find("n")->view().meta, parts);
}

// The freed mark comes only on a plain value with an expiry.
TEST(StoreExpiry, AFreedMarkOnATombstoneOrWithoutExpiryIsMalformed) {
  for (uint8_t flags :
       {kEntryReclaimed,
        uint8_t(kEntryReclaimed | kEntryDeleted | kEntryExpiry)}) {
    std::string wire;
    codec::Writer w(wire);
    w.bytes(std::string_view("k"));
    w.bytes(std::string_view(""));
    w.fixed(uint64_t{5});
    w.fixed(uint64_t{1});
    w.fixed(flags);
    if ((flags & kEntryExpiry) != 0) {
      w.fixed(uint64_t{2000});
      w.fixed(uint64_t{5});
      w.fixed(uint64_t{1});
    }
    codec::Reader r(wire);
    EntryView e;
    EXPECT_FALSE(read_entry(r, e)) << int(flags);
  }
}

TEST(StoreExpiry, ACounterKeepsItsExpiryAndItsPartsAcrossIncrements) {
  Store s;
  s.set_now(1000);
  ASSERT_TRUE(s.apply(with_expiry("c", "5", {5, 1}, {9000, {6, 1}}), 0));
  Counter c(5);
  ASSERT_TRUE(c.add(3, 1));
  EXPECT_TRUE(s.apply("c", "", {5, 1}, false, kRouteNone, c.encoded()));
  EXPECT_EQ(s.get("c"), "6");
  EXPECT_EQ(s.find("c")->expiry().at_ms, 9000u);
  Store t;
  t.copy_from(s);
  EXPECT_EQ(t.find("c")->expiry(), s.find("c")->expiry());
  EXPECT_EQ(t.expiring(), 1u);
}

}  // namespace
}  // namespace cmud::kv

namespace cmud::kv {
namespace {

TEST(Store, RandomLiveReachesEveryLiveKeyAndNeverATombstone) {
  Store s;
  std::mt19937_64 rng(7);
  auto draw = [&rng] { return rng(); };
  EXPECT_EQ(s.random_live(draw), nullptr);
  // Keys with a long common prefix, and tombstones between them.
  std::set<std::string> live;
  for (int i = 0; i < 40; ++i) {
    std::string k = "player:" + std::to_string(1000 + i * 37);
    bool dead = i % 3 == 0;
    ASSERT_TRUE(s.apply(k, "v", {10, 1}, dead, kRouteNone));
    if (!dead) live.insert(k);
  }
  std::map<std::string, int> seen;
  for (int i = 0; i < 20000; ++i) {
    const Entry* e = s.random_live(draw);
    ASSERT_NE(e, nullptr);
    ASSERT_TRUE(live.contains(std::string(e->key()))) << e->key();
    ++seen[std::string(e->key())];
  }
  EXPECT_EQ(seen.size(), live.size());
  int least = 1 << 30, most = 0;
  for (const auto& [k, n] : seen) {
    least = std::min(least, n);
    most = std::max(most, n);
  }
  // Roughly even (here 299..1846 around a mean of 769): every key within
  // a factor of 5 of its fair share.
  const int fair = 20000 / static_cast<int>(live.size());
  EXPECT_GT(least, fair / 5);
  EXPECT_LT(most, fair * 5);
}

TEST(Store, RandomLiveFindsTheOneLiveKeyAmongManyTombstones) {
  Store s;
  std::mt19937_64 rng(9);
  for (int i = 0; i < 100000; ++i) {
    ASSERT_TRUE(
        s.apply("k" + std::to_string(i), "", {10, 1}, true, kRouteNone));
  }
  EXPECT_EQ(s.random_live([&rng] { return rng(); }), nullptr);
  ASSERT_TRUE(s.apply("k50000x", "v", {11, 1}, false, kRouteNone));
  for (int i = 0; i < 5; ++i) {
    const Entry* e = s.random_live([&rng] { return rng(); });
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(e->key(), "k50000x");
  }
}

}  // namespace
}  // namespace cmud::kv
