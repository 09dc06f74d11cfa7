#include "cmud/kv/counter.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <optional>
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
  // After the parts only made() may follow, and nothing after it.
  EXPECT_FALSE(Counter::decode(good + "\x80"));
  EXPECT_FALSE(Counter::decode(good + "xx"));
  // Origins out of order (or repeated).
  std::string swapped = good;
  std::swap_ranges(swapped.begin() + 9, swapped.begin() + 17,
                   swapped.begin() + 19);
  EXPECT_FALSE(Counter::decode(swapped));
}

// --- Floats (INCRBYFLOAT) ---

TEST(FloatText, ParsesAsRedisString2ldAndRendersAsLd2stringHuman) {
  EXPECT_EQ(parse_float("10.5"), 10.5L);
  EXPECT_EQ(parse_float("5.0e3"), 5000.0L);
  EXPECT_EQ(parse_float("-.5"), -0.5L);
  EXPECT_EQ(parse_float("+inf"), std::numeric_limits<long double>::infinity());
  for (std::string_view bad : std::vector<std::string_view>{
           "", " 11", "11 ", " 11 ", "nan", "1x", "abc", "1e99999",
           std::string_view("1\0"
                            "2",
                            3)}) {
    EXPECT_FALSE(parse_float(bad)) << bad;
  }
  EXPECT_EQ(float_text(10.5L), "10.5");
  EXPECT_EQ(float_text(5200.0L), "5200");
  EXPECT_EQ(float_text(-0.0L), "0");
  EXPECT_EQ(float_text(17179869185.5L), "17179869185.5");
  EXPECT_EQ(float_text(0.1L), "0.1");  // long double: 17 decimals, rounded
  EXPECT_EQ(float_text(*parse_float("1.1") + *parse_float("2.2")), "3.3");
  EXPECT_EQ(float_text(1e20L), "100000000000000000000");  // no exponent
  EXPECT_EQ(float_text(-std::numeric_limits<long double>::infinity()), "-inf");
}

TEST(Counter, FloatPartsAddUpRenderAndRoundTrip) {
  Counter c(0);
  ASSERT_TRUE(c.add_float(7, 10.5L));
  ASSERT_TRUE(c.add_float(3, -0.25L));
  ASSERT_TRUE(c.add_float(7, 0.25L));
  EXPECT_TRUE(c.is_float());
  EXPECT_EQ(c.text(), "10.5");
  EXPECT_FALSE(c.integer());
  ASSERT_EQ(c.parts().size(), 2u);
  EXPECT_EQ(c.parts()[0].fdown, 0.25L);
  EXPECT_EQ(c.parts()[1].fup, 10.75L);
  auto back = Counter::decode(c.encoded());
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, c);
  Counter f = Counter::float_based(-1.0L);
  ASSERT_TRUE(f.add(2, 3));  // a whole float base takes INCR
  ASSERT_TRUE(f.add_float(2, *parse_float("0.1")));
  back = Counter::decode(f.encoded());
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, f);
  EXPECT_EQ(back->text(), "2.1");
}

TEST(Counter, AnIntegerCounterKeepsItsOldEncoding) {
  Counter c(10);
  ASSERT_TRUE(c.add(7, 5));
  std::string before = c.encoded();
  // The bytes an integer counter always had: fixed base, count, parts.
  EXPECT_EQ(before.size(), 8u + 1u + 8u + 1u + 1u);
  ASSERT_TRUE(c.add_float(7, 0));  // adds nothing: still an integer
  EXPECT_FALSE(c.is_float());
  EXPECT_EQ(c.encoded(), before);
  ASSERT_TRUE(c.add_float(7, 1));  // a whole float: the float form
  EXPECT_TRUE(c.is_float());
  EXPECT_NE(c.encoded(), before);
  EXPECT_EQ(c.text(), "16");
  EXPECT_EQ(c.integer(), 16);
}

std::string unhex(std::string_view h) {
  std::string out;
  for (size_t i = 0; i + 1 < h.size(); i += 2) {
    out.push_back(
        static_cast<char>(std::stoi(std::string(h.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

// Both forms byte for byte (tests/fuzz/make_seeds.py writes the same): the
// integer form is what logs and snapshots on disk hold, so it must decode
// as it always did; the float form is pinned so that it stays readable.
TEST(Counter, BothEncodingsAreFixedByteForByte) {
  std::string old_form = unhex(
      "0a00000000000000"
      "01"
      "0700000000000000"
      "05"
      "00");
  auto i = Counter::decode(old_form);
  ASSERT_TRUE(i);
  Counter want_i(10);
  ASSERT_TRUE(want_i.add(7, 5));
  EXPECT_EQ(*i, want_i);
  EXPECT_EQ(want_i.encoded(), old_form);
  std::string float_form = unhex(
      "0000000000000000"
      "ffffffffffffffffff01"  // the mark
      "01"
      "01"
      "00000000"
      "0000000000000080"  // float base 0.5
      "01"                // one part
      "0700000000000000"
      "02"
      "00"  // origin, up, down
      "01"
      "00000000"
      "0000000000000080"  // fup 0.5
      "01"
      "ffffffff"
      "0000000000000080");  // fdown 0.25
  Counter want_f = Counter::float_based(0.5L);
  ASSERT_TRUE(want_f.add_float(7, 0.5L));
  ASSERT_TRUE(want_f.add(7, 2));  // the total is whole: INCR may add
  ASSERT_TRUE(want_f.add_float(7, -0.25L));
  auto f = Counter::decode(float_form);
  ASSERT_TRUE(f);
  EXPECT_EQ(*f, want_f);
  EXPECT_EQ(want_f.encoded(), float_form);
  EXPECT_EQ(f->text(), "2.75");
}

TEST(Counter, IncrOnAFloatCounterWorksOnlyWhileItsTotalIsAnInteger) {
  Counter c = Counter::float_based(5000.0L);
  ASSERT_TRUE(c.add_float(1, 200.0L));
  EXPECT_EQ(c.text(), "5200");
  ASSERT_TRUE(c.add(2, 1));
  EXPECT_EQ(c.integer(), 5201);
  ASSERT_TRUE(c.add_float(1, 0.5L));
  Counter before = c;
  EXPECT_FALSE(c.add(2, 1));
  EXPECT_EQ(c, before);
  Counter big = Counter::float_based(0x1p63L - 1);
  EXPECT_FALSE(big.add(1, 1));  // past int64: refused
}

TEST(Counter, AFloatAddThatWouldBeInfiniteIsRefusedAndChangesNothing) {
  Counter c(0);
  long double max = std::numeric_limits<long double>::max();
  ASSERT_TRUE(c.add_float(1, max));
  Counter before = c;
  EXPECT_FALSE(c.add_float(2, max));
  EXPECT_FALSE(c.add_float(1, std::numeric_limits<long double>::infinity()));
  EXPECT_EQ(c, before);
  // Equal and opposite: no negative zero.
  Counter z(0);
  ASSERT_TRUE(z.add_float(1, 1.0L / 41));
  ASSERT_TRUE(z.add_float(1, -1.0L / 41));
  EXPECT_EQ(z.text(), "0");
}

// Four replicas' states, merged in every order and more than once, end the
// same: commutative, associative, idempotent, integer and float parts alike.
TEST(Counter, MixedIntegerAndFloatPartsMergeInAnyOrder) {
  Counter base(10);
  std::vector<Counter> s(4, base);
  ASSERT_TRUE(s[0].add(1, 5));             // INCRBY on server 1
  ASSERT_TRUE(s[1].add_float(2, 2.0L));    // INCRBYFLOAT on server 2
  ASSERT_TRUE(s[2].add_float(3, -2.25L));  // and on server 3
  s[3] = s[1];
  ASSERT_TRUE(s[3].add(2, -1));  // server 2 again, an INCR after its float
  std::vector<int> order{0, 1, 2, 3};
  std::optional<Counter> first;
  do {
    Counter m = s[order[0]];
    for (int i : order) m.merge(s[i]);
    for (int i : order) EXPECT_FALSE(m.merge(s[i]));  // idempotent
    if (!first) first = m;
    EXPECT_EQ(m, *first);
    EXPECT_EQ(m.encoded(), first->encoded());
  } while (std::next_permutation(order.begin(), order.end()));
  EXPECT_EQ(first->text(), "13.75");  // 10 + 5 + 2 - 2.25 - 1
  // Associative: (a b) c == a (b c).
  Counter ab = s[0], bc = s[1];
  ab.merge(s[1]);
  ab.merge(s[2]);
  bc.merge(s[2]);
  Counter a_bc = s[0];
  a_bc.merge(bc);
  EXPECT_EQ(ab, a_bc);
}

TEST(Counter, TheBaseOfAPlainValueIsAnIntegerOrAFloatByItsText) {
  auto i = Counter::over("10");
  ASSERT_TRUE(i);
  EXPECT_FALSE(i->float_base());
  auto f = Counter::over("10.0");
  ASSERT_TRUE(f);
  EXPECT_TRUE(f->float_base());
  EXPECT_FALSE(i->same_base(*f));  // two texts, two bases
  EXPECT_TRUE(f->same_base(Counter::float_based(10)));
  EXPECT_FALSE(Counter::over("ten"));
  EXPECT_FALSE(Counter::over(" 10"));
}

TEST(Counter, MalformedFloatBytesAreRefused) {
  Counter c = Counter::float_based(1.5L);
  ASSERT_TRUE(c.add_float(5, 0.5L));
  ASSERT_TRUE(c.add_float(9, -0.25L));
  std::string good = c.encoded();
  ASSERT_TRUE(Counter::decode(good));
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(Counter::decode(good.substr(0, n))) << n;
  }
  // After the parts only made() may follow, and nothing after it.
  EXPECT_FALSE(Counter::decode(good + "\x80"));
  EXPECT_FALSE(Counter::decode(good + "xx"));
  // Every single byte changed: refused, or a state that encodes the same.
  for (size_t i = 0; i < good.size(); ++i) {
    for (int bit = 0; bit < 8; ++bit) {
      std::string bad = good;
      bad[i] = static_cast<char>(bad[i] ^ (1 << bit));
      auto d = Counter::decode(bad);
      if (d) {
        EXPECT_EQ(d->encoded(), bad) << i << " " << bit;
      }
    }
  }
  // An integer counter written in the float form is not canonical.
  Counter i(3);
  ASSERT_TRUE(i.add(1, 1));
  Counter f = i;
  ASSERT_TRUE(f.add_float(1, 1));
  std::string as_float = f.encoded();
  // Zero the float part (its last byte is fdown's tag, before it fup's
  // 13 bytes): tag 0, then the 12 bytes after it dropped.
  size_t fup_at = as_float.size() - 1 - 13;
  std::string no_float = as_float.substr(0, fup_at) + '\0' + '\0';
  EXPECT_FALSE(Counter::decode(no_float));
  // A mantissa without its top bit, a NaN-making exponent, a bad tag.
  std::string low = as_float;
  low[fup_at + 1 + 4 + 7] = 0;  // the mantissa's top byte
  EXPECT_FALSE(Counter::decode(low));
  std::string huge = as_float;
  huge[fup_at + 1 + 3] = 0x7f;  // exponent ~2^31
  EXPECT_FALSE(Counter::decode(huge));
  std::string tag = as_float;
  tag[fup_at] = 3;
  EXPECT_FALSE(Counter::decode(tag));
  std::string negative = as_float;
  negative[fup_at] = 2;  // a negative sum
  EXPECT_FALSE(Counter::decode(negative));
}

TEST(Counter, WhenTheNewestIncrementWasMadeRoundTripsAndMergesByMax) {
  Counter a(5), b(5);
  ASSERT_TRUE(a.add(1, 2));
  a.mark_made(300);
  a.mark_made(200);  // never back
  EXPECT_EQ(a.made(), 300u);
  ASSERT_TRUE(b.add(2, 4));
  b.mark_made(400);
  ASSERT_TRUE(b.add_float(2, 0.5));
  for (const Counter& c : {a, b}) {
    auto back = Counter::decode(c.encoded());
    ASSERT_TRUE(back);
    EXPECT_EQ(*back, c);
  }
  Counter ab = a, ba = b;
  EXPECT_TRUE(ab.merge(b));
  EXPECT_TRUE(ba.merge(a));
  EXPECT_EQ(ab.made(), 400u);
  EXPECT_EQ(ab.encoded(), ba.encoded());
  // Not known (0) is written as before made-times were kept; a 0 written
  // out, or bytes after it, are not an encoding of any state.
  Counter old(5);
  ASSERT_TRUE(old.add(1, 2));
  std::string before = old.encoded();
  Counter timed = old;
  timed.mark_made(1);
  EXPECT_EQ(timed.encoded(), before + '\x01');
  EXPECT_FALSE(Counter::decode(before + '\0'));
  EXPECT_FALSE(Counter::decode(before + '\x01' + '\x01'));
  EXPECT_EQ(Counter::decode(before)->made(), 0u);
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

TEST(StoreCounter, IntegerAndFloatPartsOnOneBaseMergeInAnyOrder) {
  Counter a(0), b(0);
  ASSERT_TRUE(a.add(1, 2));           // INCR on one server
  ASSERT_TRUE(b.add_float(2, 0.5L));  // INCRBYFLOAT on another
  Store x, y;
  Version base{0, 0};
  ASSERT_TRUE(x.apply("c", "", base, false, kRouteNone, a.encoded()));
  ASSERT_TRUE(x.apply("c", "", base, false, kRouteNone, b.encoded()));
  ASSERT_TRUE(y.apply("c", "", base, false, kRouteNone, b.encoded()));
  ASSERT_TRUE(y.apply("c", "", base, false, kRouteNone, a.encoded()));
  EXPECT_EQ(x.get("c"), "2.5");
  EXPECT_EQ(y.get("c"), "2.5");
  EXPECT_EQ(x.find("c")->meta(), y.find("c")->meta());
  EXPECT_EQ(x.leaf_digest(Store::leaf_of("c")),
            y.leaf_digest(Store::leaf_of("c")));
  EXPECT_FALSE(x.apply("c", "", base, false, kRouteNone, b.encoded()));
}

TEST(StoreCounter, AFloatTextAtTheSameVersionIsAFloatBase) {
  Store s;
  ASSERT_TRUE(s.apply("c", "5.0e3", {5, 1}, false, kRouteNone));
  Counter c = Counter::float_based(5000);
  ASSERT_TRUE(c.add_float(2, 200));
  EXPECT_TRUE(s.apply("c", "", {5, 1}, false, kRouteNone, c.encoded()));
  EXPECT_EQ(s.get("c"), "5200");
  // An integer base for that text is another base: refused.
  Store t;
  ASSERT_TRUE(t.apply("c", "5.0e3", {5, 1}, false, kRouteNone));
  Counter i(5000);
  ASSERT_TRUE(i.add(2, 1));
  EXPECT_FALSE(t.apply("c", "", {5, 1}, false, kRouteNone, i.encoded()));
  EXPECT_EQ(t.get("c"), "5.0e3");
  // A newer SET replaces a float counter, as an integer one.
  ASSERT_TRUE(s.apply("c", "x", {6, 1}, false, kRouteNone));
  EXPECT_EQ(s.get("c"), "x");
  EXPECT_FALSE(s.apply("c", "", {5, 1}, false, kRouteNone, c.encoded()));
}

TEST(StoreCounter, MalformedFloatMetaIsRefused) {
  Counter c(0);
  ASSERT_TRUE(c.add_float(1, 0.5L));
  std::string meta = c.encoded();
  meta.pop_back();
  Store s;
  EXPECT_FALSE(s.apply("c", "", {5, 1}, false, kRouteNone, meta));
  EXPECT_EQ(s.find("c"), nullptr);
}

}  // namespace
}  // namespace cmud::kv
