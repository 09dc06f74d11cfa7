#include "cmud/kv/counter.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <vector>

#include "cmud/kv/store.h"

namespace cmud::kv {
namespace {

constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();

TEST(Counter, PartsAddUpAndRoundTrip) {
  Counter c(10);
  ASSERT_TRUE(c.add(7, 5));
  ASSERT_TRUE(c.add(3, -2));
  ASSERT_TRUE(c.add(7, 1));
  EXPECT_EQ(c.text(), "14");
  ASSERT_EQ(c.parts().size(), 2u);
  EXPECT_EQ(c.parts()[0].origin, 3u);  // ascending
  auto back = Counter::decode(c.encoded());
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, c);
}

TEST(Counter, MergeTakesTheGreaterOfEachPartSoEveryAddCountsOnce) {
  Counter a(0), b(0);
  ASSERT_TRUE(a.add(1, 3));
  ASSERT_TRUE(b.add(2, 4));
  Counter ab = a, ba = b;
  EXPECT_TRUE(ab.merge(b));
  EXPECT_TRUE(ba.merge(a));
  EXPECT_EQ(ab, ba);
  EXPECT_EQ(ab.text(), "7");
  EXPECT_FALSE(ab.merge(a));  // idempotent
  // A later state of origin 1 replaces its older one, not adds to it.
  ASSERT_TRUE(a.add(1, 2));
  EXPECT_TRUE(ab.merge(a));
  EXPECT_EQ(ab.text(), "9");
  // Decrements merge the same way.
  Counter d = ab;
  ASSERT_TRUE(d.add(2, -10));
  EXPECT_TRUE(ab.merge(d));
  EXPECT_EQ(ab.text(), "-1");
}

TEST(Counter, AnAddThatWouldLeaveInt64IsRefusedAndChangesNothing) {
  Counter c(kMax - 1);
  EXPECT_TRUE(c.add(1, 1));
  Counter before = c;
  EXPECT_FALSE(c.add(1, 1));
  EXPECT_EQ(c, before);
  Counter low(kMin + 1);
  EXPECT_TRUE(low.add(1, -1));
  EXPECT_FALSE(low.add(2, -1));
  EXPECT_EQ(low.text(), "-9223372036854775808");
  Counter z(0);
  EXPECT_TRUE(z.add(1, kMin));  // its magnitude does not fit int64
  EXPECT_EQ(z.text(), "-9223372036854775808");
}

TEST(Counter, PartsMadeOnDifferentServersMayAddPastInt64AndStillRender) {
  Counter a(kMax), b(kMax);
  ASSERT_TRUE(a.add(1, 0));
  ASSERT_TRUE(b.add(2, 0));
  Counter x(kMax - 5), y(kMax - 5);
  ASSERT_TRUE(x.add(1, 5));
  ASSERT_TRUE(y.add(2, 5));
  x.merge(y);
  EXPECT_EQ(x.text(), "9223372036854775812");
}

TEST(Counter, MalformedBytesAreRefused) {
  Counter c(1);
  ASSERT_TRUE(c.add(5, 1));
  ASSERT_TRUE(c.add(9, 1));
  std::string good = c.encoded();
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(Counter::decode(good.substr(0, n))) << n;
  }
  EXPECT_FALSE(Counter::decode(good + "x"));
  // Origins out of order (or repeated).
  std::string swapped = good;
  std::swap_ranges(swapped.begin() + 9, swapped.begin() + 17,
                   swapped.begin() + 19);
  EXPECT_FALSE(Counter::decode(swapped));
}

// --- The store's side: a counter is an entry whose meta is its state. ---

TEST(StoreCounter, ConcurrentPartsOnOneBaseMergeInAnyOrder) {
  Counter a(0), b(0);
  ASSERT_TRUE(a.add(1, 2));
  ASSERT_TRUE(b.add(2, 3));
  Store x, y;
  Version base{0, 0};
  ASSERT_TRUE(x.apply("c", "", base, false, kRouteNone, a.encoded()));
  ASSERT_TRUE(x.apply("c", "", base, false, kRouteNone, b.encoded()));
  ASSERT_TRUE(y.apply("c", "", base, false, kRouteNone, b.encoded()));
  ASSERT_TRUE(y.apply("c", "", base, false, kRouteNone, a.encoded()));
  EXPECT_EQ(x.get("c"), "5");
  EXPECT_EQ(y.get("c"), "5");
  EXPECT_EQ(x.find("c")->meta(), y.find("c")->meta());
  EXPECT_EQ(x.leaf_digest(Store::leaf_of("c")),
            y.leaf_digest(Store::leaf_of("c")));
  // Nothing new: not applied, so not sent on.
  EXPECT_FALSE(x.apply("c", "", base, false, kRouteNone, a.encoded()));
}

TEST(StoreCounter, DifferentPartsAtOneVersionHaveDifferentDigests) {
  Counter a(0), b(0);
  ASSERT_TRUE(a.add(1, 2));
  ASSERT_TRUE(b.add(1, 3));
  Store x, y;
  ASSERT_TRUE(x.apply("c", "", {5, 1}, false, kRouteNone, a.encoded()));
  ASSERT_TRUE(y.apply("c", "", {5, 1}, false, kRouteNone, b.encoded()));
  EXPECT_NE(x.leaf_digest(Store::leaf_of("c")),
            y.leaf_digest(Store::leaf_of("c")));
}

TEST(StoreCounter, APlainNumberAtTheSameVersionIsTheBase) {
  Store s;
  ASSERT_TRUE(s.apply("c", "10", {5, 1}, false, kRouteNone));
  Counter c(10);
  ASSERT_TRUE(c.add(2, 1));
  EXPECT_TRUE(s.apply("c", "", {5, 1}, false, kRouteNone, c.encoded()));
  EXPECT_EQ(s.get("c"), "11");
  // The plain value arriving after the counter adds nothing.
  EXPECT_FALSE(s.apply("c", "10", {5, 1}, false, kRouteNone));
  EXPECT_EQ(s.get("c"), "11");
  // A counter that claims another base for the same version is refused.
  Counter wrong(3);
  ASSERT_TRUE(wrong.add(4, 1));
  EXPECT_FALSE(s.apply("c", "", {5, 1}, false, kRouteNone, wrong.encoded()));
  // A text value is no base.
  Store t;
  ASSERT_TRUE(t.apply("c", "abc", {5, 1}, false, kRouteNone));
  EXPECT_FALSE(t.apply("c", "", {5, 1}, false, kRouteNone, c.encoded()));
  EXPECT_EQ(t.get("c"), "abc");
}

TEST(StoreCounter, ANewerWriteStartsANewBaseAndOlderPartsAreStale) {
  Store s;
  Counter c(0);
  ASSERT_TRUE(c.add(1, 5));
  ASSERT_TRUE(s.apply("c", "", {5, 1}, false, kRouteNone, c.encoded()));
  ASSERT_TRUE(s.apply("c", "100", {6, 2}, false, kRouteNone));  // SET
  EXPECT_EQ(s.get("c"), "100");
  ASSERT_TRUE(c.add(1, 5));
  EXPECT_FALSE(s.apply("c", "", {5, 1}, false, kRouteNone, c.encoded()));
  EXPECT_EQ(s.get("c"), "100");
  EXPECT_FALSE(s.find("c")->counter());
  // A delete as the base: parts on it count from 0.
  ASSERT_TRUE(s.apply("c", "", {7, 2}, true, kRouteNone));
  Counter d(0);
  ASSERT_TRUE(d.add(3, 2));
  EXPECT_TRUE(s.apply("c", "", {7, 2}, false, kRouteNone, d.encoded()));
  EXPECT_EQ(s.get("c"), "2");
  EXPECT_EQ(s.live_size(), 1u);
}

// A merge may hold parts that neither side's record carried on its own:
// the state a peer's entry merged into must still go where this replica's
// waiting record was to go, even when the peer's entry goes nowhere.
TEST(StoreCounter, AMergeKeepsTheWaitingRecordsRoute) {
  Store s;
  Counter mine(0), theirs(0);
  ASSERT_TRUE(mine.add(1, 1));
  ASSERT_TRUE(theirs.add(2, 1));
  ASSERT_TRUE(s.apply("c", "", {5, 1}, false, kRouteLocal, mine.encoded()));
  ASSERT_TRUE(s.apply("c", "", {5, 1}, false, kRouteNone, theirs.encoded()));
  std::vector<std::string> sent;
  s.changes_since(0, kRouteLocal, [&](const Entry& e) {
    sent.emplace_back(e.value());
    return true;
  });
  EXPECT_EQ(sent, std::vector<std::string>{"2"});
  // Nothing waited: the merge goes nowhere, as the entry that made it.
  Store t;
  ASSERT_TRUE(t.apply("c", "", {5, 1}, false, kRouteNone, mine.encoded()));
  ASSERT_TRUE(t.apply("c", "", {5, 1}, false, kRouteNone, theirs.encoded()));
  EXPECT_EQ(t.log_size(), 0u);
}

TEST(StoreCounter, MalformedMetaIsRefused) {
  Store s;
  EXPECT_FALSE(s.apply("c", "", {5, 1}, false, kRouteNone, "junk"));
  EXPECT_EQ(s.find("c"), nullptr);
}

TEST(StoreCounter, ACopyKeepsTheCounter) {
  Store s;
  Counter c(4);
  ASSERT_TRUE(c.add(1, 1));
  ASSERT_TRUE(s.apply("c", "", {5, 1}, false, kRouteNone, c.encoded()));
  Store t;
  t.copy_from(s);
  EXPECT_EQ(t.get("c"), "5");
  EXPECT_EQ(t.find("c")->meta(), s.find("c")->meta());
}

}  // namespace
}  // namespace cmud::kv
