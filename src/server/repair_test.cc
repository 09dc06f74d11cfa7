// The repair records between two replicas, without actors: rounds are run
// by hand until nothing differs.
#include "repair.h"

#include <gtest/gtest.h>

#include "cmud/common/codec.h"
#include "messages.h"

namespace cmud::server::repair {
namespace {

void apply_entries(kv::Store& s, const Reply& r) {
  codec::Reader in(r.entries);
  kv::EntryView e;
  for (uint32_t i = 0; i < r.count; ++i) {
    ASSERT_TRUE(kv::read_entry(in, e));
    s.apply(e.key, e.value, {e.hlc, e.origin}, e.deleted, kv::kRouteNone,
            e.meta);
  }
}

struct Traffic {
  size_t record_bytes = 0;
  size_t entries = 0;
  int steps = 0;
};

// One round of share `index` of `shares` from a to b, answered back and
// forth until neither side has more to say; walks take `step` entries at a
// time.
Traffic round(kv::Store& a, kv::Store& b, uint32_t shares, uint32_t index,
              size_t step = 1u << 20, Knowledge* ka = nullptr,
              Knowledge* kb = nullptr) {
  Traffic t;
  std::string records;
  open_round(a, shares, index, /*forced=*/false, records, ka);
  kv::Store* from = &a;
  kv::Store* to = &b;
  while (!records.empty() && t.steps < 20) {
    t.record_bytes += records.size();
    Reply reply;
    LeafWalk walk;
    EXPECT_TRUE(answer(*to, records, /*quiet=*/true, 1u << 20, reply, &walk,
                       to == &b ? kb : ka));
    int steps = 0;
    while (!walk.empty() && !walk.step(*to, step) && ++steps < 100000) {
    }
    if (!walk.empty()) walk.finish(*to, 1u << 20, reply);
    t.entries += reply.count;
    apply_entries(*from, reply);
    records = std::move(reply.records);
    std::swap(from, to);
    ++t.steps;
  }
  return t;
}

// Rounds on every share of `shares` both ways, with knowledge.
void rounds(kv::Store& a, kv::Store& b, uint32_t shares, Knowledge& ka,
            Knowledge& kb) {
  for (uint32_t i = 0; i < shares; ++i) {
    round(a, b, shares, i, 1u << 20, &ka, &kb);
    round(b, a, shares, i, 1u << 20, &kb, &ka);
  }
}

bool same(const kv::Store& a, const kv::Store& b) {
  for (size_t l = 0; l < kv::Store::kLeaves; ++l) {
    if (a.leaf_digest(l) != b.leaf_digest(l)) return false;
  }
  return a.size() == b.size();
}

TEST(Repair, AConvergedPairExchangesOneDigest) {
  kv::Store a, b;
  for (int i = 0; i < 1000; ++i) {
    std::string k = "k" + std::to_string(i);
    a.apply(k, "v", {uint64_t(i + 1), 1}, false, kv::kRouteNone);
    b.apply(k, "v", {uint64_t(i + 1), 1}, false, kv::kRouteNone);
  }
  Traffic t = round(a, b, 2, 0);
  EXPECT_EQ(t.steps, 1);
  EXPECT_EQ(t.record_bytes, 22u);  // and no bounds: no knowledge given
  EXPECT_EQ(t.entries, 0u);
}

TEST(Repair, BothSidesGetWhatTheyLackOrHoldOlder) {
  kv::Store a, b;
  for (int i = 0; i < 5000; ++i) {
    std::string k = "k" + std::to_string(i);
    a.apply(k, "v", {10, 1}, false, kv::kRouteNone);
    b.apply(k, "v", {10, 1}, false, kv::kRouteNone);
  }
  a.apply("only-a", "x", {20, 1}, false, kv::kRouteNone);
  b.apply("only-b", "y", {20, 2}, false, kv::kRouteNone);
  a.apply("k1", "newer-a", {30, 1}, false, kv::kRouteNone);
  b.apply("k2", "", {30, 2}, true, kv::kRouteNone);  // a delete a lacks
  EXPECT_FALSE(same(a, b));
  // Every share, as the actors of a 3-actor server would.
  size_t entries = 0;
  for (uint32_t i = 0; i < 3; ++i) entries += round(a, b, 3, i).entries;
  EXPECT_TRUE(same(a, b));
  EXPECT_EQ(entries, 4u);  // each differing entry travels once
  EXPECT_EQ(b.get("k1"), "newer-a");
  EXPECT_EQ(a.get("k2"), std::nullopt);
  EXPECT_EQ(a.get("only-b"), "y");
  EXPECT_EQ(b.get("only-a"), "x");
}

// A walk in small steps finds the same: each step is a bounded turn.
TEST(Repair, AWalkInSmallStepsRepairsTheSame) {
  kv::Store a, b;
  for (int i = 0; i < 3000; ++i) {
    std::string k = "k" + std::to_string(i);
    a.apply(k, "v", {10, 1}, false, kv::kRouteNone);
    b.apply(k, "v", {10, 1}, false, kv::kRouteNone);
  }
  for (int i = 0; i < 50; ++i) {
    a.apply("a" + std::to_string(i), "x", {20, 1}, false, kv::kRouteNone);
    b.apply("b" + std::to_string(i), "y", {20, 2}, false, kv::kRouteNone);
  }
  Traffic t = round(a, b, 1, 0, /*step=*/7);
  EXPECT_TRUE(same(a, b));
  EXPECT_EQ(t.entries, 100u);
}

TEST(Repair, BytesGrowWithTheDivergenceNotTheStore) {
  kv::Store a, b;
  for (int i = 0; i < 50000; ++i) {
    std::string k = "key" + std::to_string(i);
    a.apply(k, "value", {10, 1}, false, kv::kRouteNone);
    b.apply(k, "value", {10, 1}, false, kv::kRouteNone);
  }
  for (int i = 0; i < 10; ++i) {
    a.apply("new" + std::to_string(i), "v", {20, 1}, false, kv::kRouteNone);
  }
  Traffic t = round(a, b, 1, 0);
  EXPECT_TRUE(same(a, b));
  EXPECT_EQ(t.entries, 10u);
  // Group digests, leaf digests of <= 10 groups, and <= 10 short leaves:
  // well under the 50 000 keys' ~1 MB.
  EXPECT_LT(t.record_bytes, 20'000u) << t.record_bytes;
}

TEST(Repair, ABusyPeerAnswersOnlyAForcedRound) {
  kv::Store a, b;
  a.apply("k", "v", {1, 1}, false, kv::kRouteNone);
  for (bool forced : {false, true}) {
    std::string records;
    open_round(a, 1, 0, forced, records);
    Reply r;
    ASSERT_TRUE(answer(b, records, /*quiet=*/false, 1u << 20, r, nullptr));
    EXPECT_EQ(r.empty(), !forced);
  }
}

// Two walks that end between two flushes may both list one leaf in one
// message: accepted, and the later list (the newer view) is the one used.
TEST(Repair, TwoKeyListsOfOneLeafInOneMessageTheLaterWins) {
  kv::Store s;
  s.apply("k", "ours", {3, 1}, false, kv::kRouteNone);
  const auto leaf = static_cast<uint32_t>(kv::Store::leaf_of("k"));
  auto keys = [&](std::string& out, uint64_t hlc) {
    codec::Writer w(out);
    w.fixed<uint8_t>(4);  // a leaf's keys
    w.fixed(leaf);
    w.fixed<uint64_t>(0);  // the peer has no horizon
    w.fixed<uint64_t>(0);  // over no sources
    w.fixed<uint32_t>(1);
    w.bytes("k");
    w.fixed<uint64_t>(hlc);
    w.fixed<uint64_t>(1);
    w.fixed<uint8_t>(0);
  };
  auto answer_to = [&](std::initializer_list<uint64_t> lists) {
    std::string records;
    for (uint64_t hlc : lists) keys(records, hlc);
    Reply r;
    LeafWalk walk;
    EXPECT_TRUE(answer(s, records, true, 1u << 20, r, &walk));
    while (!walk.empty() && !walk.step(s, 1u << 20)) {
    }
    if (!walk.empty()) walk.finish(s, 1u << 20, r);
    return r;
  };
  // The peer's older copy alone: ours is pushed.
  EXPECT_EQ(answer_to({1}).count, 1u);
  // Older, then newer: the newer view wins, so ours is not pushed (it is
  // asked for instead).
  Reply r = answer_to({1, 5});
  EXPECT_EQ(r.count, 0u);
  EXPECT_FALSE(r.records.empty());
}

// Once tombstones are collected, a key the peer lacks below its horizon was
// freed there: our tombstone, or a value one passed, is not sent back but
// dropped.
TEST(Repair, BelowThePeersHorizonWhatItLacksWasCollected) {
  kv::Store s;
  // Keys of one leaf, so that one key list covers them.
  std::vector<std::string> keys;
  const size_t leaf = kv::Store::leaf_of("k0");
  for (int i = 1; keys.size() < 5 && i < 1000000; ++i) {
    std::string k = "k" + std::to_string(i);
    if (kv::Store::leaf_of(k) == leaf) keys.push_back(k);
  }
  ASSERT_EQ(keys.size(), 5u);
  std::sort(keys.begin(), keys.end());
  s.apply(keys[0], "", {200, 1}, true, kv::kRouteNone);  // not freed yet
  s.apply(keys[1], "stale", {10, 1}, false, kv::kRouteNone);
  s.apply(keys[2], "new", {500, 1}, false, kv::kRouteNone);  // above it
  s.apply(keys[3], "", {400, 1}, true, kv::kRouteNone);      // above it too
  // keys[4]: the peer has it below our horizon, so we do not ask.
  EXPECT_FALSE(s.collect({100, 0}, 10));
  auto answer_to = [&](uint64_t horizon, uint64_t their_hlc,
                       uint64_t digest = 7) {
    std::string records;
    codec::Writer w(records);
    w.fixed<uint8_t>(4);  // a leaf's keys
    w.fixed(static_cast<uint32_t>(leaf));
    w.fixed<uint64_t>(horizon);
    w.fixed<uint64_t>(digest);
    w.fixed<uint32_t>(1);
    w.bytes(keys[4]);
    w.fixed<uint64_t>(their_hlc);
    w.fixed<uint64_t>(2);
    w.fixed<uint8_t>(0);
    Reply r;
    LeafWalk walk;
    EXPECT_TRUE(answer(s, records, true, 1u << 20, r, &walk, nullptr,
                       /*sources_digest=*/7));
    while (!walk.empty() && !walk.step(s, 1u << 20)) {
    }
    if (!walk.empty()) walk.finish(s, 1u << 20, r);
    return r;
  };
  Reply r = answer_to(/*horizon=*/450, /*their_hlc=*/50);
  EXPECT_EQ(r.count, 1u);  // keys[2] only
  ASSERT_EQ(r.stale.size(), 3u);
  EXPECT_EQ(r.stale[0].first, keys[0]);
  EXPECT_EQ(r.stale[1].first, keys[1]);
  EXPECT_EQ(r.stale[1].second, (kv::Version{10, 1}));
  EXPECT_EQ(r.stale[2].first, keys[3]);
  EXPECT_TRUE(r.records.empty());  // keys[4] is not asked for
  // A peer with no horizon is sent everything it lacks; an entry of
  // the peer's at or above our horizon is asked for.
  r = answer_to(/*horizon=*/0, /*their_hlc=*/100);
  EXPECT_EQ(r.count, 4u);
  EXPECT_TRUE(r.stale.empty());
  EXPECT_FALSE(r.records.empty());
  // So is one whose horizon counted other sources than ours.
  r = answer_to(/*horizon=*/450, /*their_hlc=*/100, /*digest=*/8);
  EXPECT_EQ(r.count, 4u);
  EXPECT_TRUE(r.stale.empty());
}

// A match teaches each side what the other is known to hold; a share that
// differs teaches nothing about its differing groups until repaired.
TEST(RepairKnowledge, MatchesTeachBothSidesAndDifferencesTeachNothing) {
  kv::Store a, b;
  for (int i = 0; i < 2000; ++i) {
    std::string k = "k" + std::to_string(i);
    a.apply(k, "v", {10, 1}, false, kv::kRouteNone);
    b.apply(k, "v", {10, 1}, false, kv::kRouteNone);
  }
  a.apply("only-a", "x", {20, 1}, false, kv::kRouteNone);
  Knowledge ka(1), kb(2);
  ka.set_clock(100);
  kb.set_clock(200);
  const std::vector<uint64_t> both = {1, 2};
  EXPECT_EQ(ka.complete_below({1}), 100u);  // ourselves: our clock
  EXPECT_EQ(ka.complete_below(both), 0u);   // b never heard of
  // One share matched and one not: nothing is known of every group yet.
  uint32_t differing =
      static_cast<uint32_t>(kv::Store::leaf_of("only-a") / kLeavesPerGroup % 2);
  Traffic t = round(a, b, 2, 1 - differing, 1u << 20, &ka, &kb);
  EXPECT_EQ(t.steps, 2);  // the digest, then kMatch back
  EXPECT_EQ(ka.complete_below(both), 0u);
  EXPECT_EQ(kb.complete_below(both), 0u);
  // The differing share: repaired, and what matched on the way is learned.
  round(a, b, 2, differing, 1u << 20, &ka, &kb);
  EXPECT_TRUE(same(a, b));
  EXPECT_EQ(ka.complete_below(both), 0u);  // the repaired group: not yet
  round(a, b, 2, differing, 1u << 20, &ka, &kb);
  EXPECT_EQ(ka.complete_below(both), 100u);  // min(ours, b's 200)
  EXPECT_EQ(kb.complete_below(both), 100u);  // min(ours, a's 100)
  // Sources no longer in the cluster are forgotten; unknown ones hold the
  // bound at 0.
  kb.keep_only({2});
  EXPECT_EQ(kb.complete_below({2}), 200u);
  EXPECT_EQ(kb.complete_below(both), 0u);
}

// What b is known to hold of c reaches a through b, group by group.
TEST(RepairKnowledge, ABoundTravelsThroughAThirdReplica) {
  kv::Store a, b, c;
  for (kv::Store* s : {&a, &b, &c}) {
    s->apply("k", "v", {10, 1}, false, kv::kRouteNone);
  }
  Knowledge ka(1), kb(2), kc(3);
  ka.set_clock(300);
  kb.set_clock(200);
  kc.set_clock(100);
  rounds(b, c, 3, kb, kc);
  EXPECT_EQ(kb.complete_below({2, 3}), 100u);
  EXPECT_EQ(ka.complete_below({1, 3}), 0u);
  rounds(a, b, 3, ka, kb);
  EXPECT_EQ(ka.complete_below({1, 2, 3}), 100u);
  kc.set_clock(150);
  rounds(b, c, 3, kb, kc);
  rounds(a, b, 3, ka, kb);
  EXPECT_EQ(ka.complete_below({1, 2, 3}), 150u);
  // Bounds only grow: an older one learned later changes nothing.
  kc.set_clock(120);
  rounds(a, c, 3, ka, kc);
  EXPECT_EQ(ka.complete_below({1, 2, 3}), 150u);
}

// A sync stream's claim: every write of a source in [from, to) came. It
// extends what a group is known to hold only where that reaches `from`.
TEST(RepairKnowledge, AStreamClaimExtendsOnlyWhatReachesItsStart) {
  Knowledge k(1);
  k.set_clock(1000);
  // From the source's first write on: learned, in every group.
  k.learn_range(7, 0, 100);
  EXPECT_EQ(k.complete_below({1, 7}), 100u);
  // A claim past a gap teaches nothing until the gap is filled.
  k.learn_range(7, 150, 200);
  EXPECT_EQ(k.complete_below({1, 7}), 100u);
  k.learn_range(7, 100, 150);
  k.learn_range(7, 150, 200);
  EXPECT_EQ(k.complete_below({1, 7}), 200u);
  // An older claim changes nothing; a source never known from its start
  // is not learned from a later claim; ours is our clock.
  k.learn_range(7, 0, 50);
  EXPECT_EQ(k.complete_below({1, 7}), 200u);
  k.learn_range(9, 10, 500);
  EXPECT_EQ(k.complete_below({1, 7, 9}), 0u);
  k.learn_range(1, 0, 5);
  EXPECT_EQ(k.complete_below({1}), 1000u);
  // Group by group: where a digest taught more, a claim from there on
  // extends that group alone.
  k.learn({0}, {{8, 500}});
  k.learn_range(8, 400, 600);
  EXPECT_EQ(k.complete_below({1, 8}), 0u);
  k.learn_range(8, 0, 450);
  EXPECT_EQ(k.complete_below({1, 8}), 450u);
  k.learn_range(8, 450, 700);
  EXPECT_EQ(k.complete_below({1, 8}), 700u);
}

TEST(Repair, MalformedRecordsAreRefusedAndAnswerNothing) {
  kv::Store s;
  s.apply("k", "v", {1, 1}, false, kv::kRouteNone);
  auto refused = [&](std::string records) {
    Reply r;
    LeafWalk walk;
    bool ok = answer(s, records, true, 1u << 20, r, &walk);
    return !ok && r.empty() && walk.empty();
  };
  EXPECT_TRUE(refused(std::string(1, '\x09')));          // unknown kind
  EXPECT_TRUE(refused(std::string("\x01\x02\x00", 3)));  // cut short
  std::string share;
  codec::Writer w(share);
  w.fixed<uint8_t>(1);
  w.fixed<uint32_t>(2);
  w.fixed<uint32_t>(2);  // index >= shares
  w.fixed<uint8_t>(0);
  w.fixed<uint64_t>(0);
  w.fixed<uint32_t>(0);
  EXPECT_TRUE(refused(share));
  std::string bounds;
  codec::Writer m(bounds);
  m.fixed<uint8_t>(6);  // kMatch
  m.fixed<uint32_t>(1);
  m.fixed<uint32_t>(0);
  m.fixed<uint32_t>(1000);  // more bounds than bytes
  EXPECT_TRUE(refused(bounds));
  std::string keys;
  codec::Writer k(keys);
  k.fixed<uint8_t>(4);
  k.fixed<uint32_t>(0);
  k.fixed<uint32_t>(0xffffffff);  // more keys than bytes
  EXPECT_TRUE(refused(keys));
}

}  // namespace
}  // namespace cmud::server::repair
