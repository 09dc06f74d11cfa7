// Unit tests for RateWindow: the per-pair message count over the last
// second. The window is deliberately conservative: add(now) counts every event
// in the 1001 one-millisecond buckets now-1000 .. now, so it never reports
// less than a true 1000 ms sliding window would.

#include "rate_window.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

namespace cmud::actor::detail {
namespace {

constexpr int64_t kEpochMs = 1'700'000'000'000;  // a realistic large clock

TEST(RateWindow, FirstEventCountsOne) {
  RateWindow w;
  EXPECT_EQ(w.add(0), 1u);
  RateWindow late;
  EXPECT_EQ(late.add(kEpochMs), 1u);
}

TEST(RateWindow, CountsEveryEventWithinOneWindow) {
  for (int64_t base : {int64_t{0}, int64_t{123}, kEpochMs}) {
    RateWindow w;
    for (int64_t i = 0; i < 1000; ++i) {
      ASSERT_EQ(w.add(base + i), static_cast<uint64_t>(i + 1))
          << "base " << base << " i " << i;
    }
  }
}

TEST(RateWindow, EventsInTheSameMillisecondAllCount) {
  RateWindow w;
  for (uint64_t i = 1; i <= 500; ++i) ASSERT_EQ(w.add(42), i);
  EXPECT_EQ(w.add(43), 501u);
  // At 1042 the window is 42..1042, so the t=42 events still count.
  EXPECT_EQ(w.add(1042), 502u);
  // At 1043 they have left: 43, 1042 and 1043 remain.
  EXPECT_EQ(w.add(1043), 3u);
}

TEST(RateWindow, EventsMoreThan1001MsApartReset) {
  RateWindow w;
  EXPECT_EQ(w.add(0), 1u);
  EXPECT_EQ(w.add(1001), 1u);
  EXPECT_EQ(w.add(5000), 1u);
  EXPECT_EQ(w.add(kEpochMs), 1u);

  RateWindow burst;
  for (int i = 0; i < 100; ++i) burst.add(10);
  EXPECT_EQ(burst.add(10 + 1001), 1u);
  EXPECT_EQ(burst.add(10 + 1001 + 5000), 1u);
}

TEST(RateWindow, EventExactly1000MsEarlierIsStillCounted) {
  // The conservative edge: 1001 buckets, so t=0 is inside the window at 1000.
  RateWindow w;
  EXPECT_EQ(w.add(0), 1u);
  EXPECT_EQ(w.add(1000), 2u);
  EXPECT_EQ(w.add(1001), 2u) << "t=0 leaves; t=1000 and t=1001 remain";
}

TEST(RateWindow, WindowSlides) {
  RateWindow w;
  for (int64_t t = 0; t < 1000; ++t) w.add(t);  // 1000 events, t=0..999
  // At 1001 the window is 1..1001: t=0 has left, 999 old events remain.
  EXPECT_EQ(w.add(1001), 1000u);
  // At 1002 the window is 2..1002: t=1 leaves, 998 old + 1001 + 1002.
  EXPECT_EQ(w.add(1002), 1000u);
  // At 1500 the window is 500..1500: t=500..999 (500) + 1001 + 1002 + 1500.
  EXPECT_EQ(w.add(1500), 503u);
  // At 2001 the window is 1001..2001: 1001, 1002, 1500 and 2001.
  EXPECT_EQ(w.add(2001), 4u);
  // At 2501 the window is 1501..2501: 2001 and 2501.
  EXPECT_EQ(w.add(2501), 2u);
}

TEST(RateWindow, SlidingWorksAtLargeTimestamps) {
  // Bucket indices wrap (t % 1001) at an arbitrary offset.
  RateWindow w;
  for (int64_t t = 0; t < 1000; ++t) w.add(kEpochMs + t);
  EXPECT_EQ(w.add(kEpochMs + 1001), 1000u);
  // Window +999..+1999: +999, +1001 and +1999.
  EXPECT_EQ(w.add(kEpochMs + 1999), 3u);
}

TEST(RateWindow, SmallBackwardStepIsStillCounted) {
  // REQUIRES allows now to step back by less than the window; such an event
  // must still be counted (here, in the newest bucket).
  RateWindow w;
  EXPECT_EQ(w.add(500), 1u);
  EXPECT_EQ(w.add(450), 2u);
  EXPECT_EQ(w.add(501), 3u);
  // At 1501 the window is 501..1501: both events recorded at 500 have left.
  EXPECT_EQ(w.add(1501), 2u);
}

// Feeds non-decreasing random timestamps and compares every returned count
// with two brute-force sliding windows: a true 1000 ms window (t > now-1000),
// which it must never under-count, and the documented 1001-bucket window
// (t >= now-1000), which it must match exactly.
TEST(RateWindow, NeverUndercountsVersusBruteForceSlidingWindow) {
  std::mt19937 rng(12345);
  std::uniform_int_distribution<int> kind(0, 99);
  std::uniform_int_distribution<int64_t> small_gap(1, 20);
  std::uniform_int_distribution<int64_t> big_gap(500, 1500);
  std::uniform_int_distribution<int64_t> edge_gap(999, 1002);

  for (int64_t base : {int64_t{0}, kEpochMs}) {
    RateWindow w;
    std::vector<int64_t> times;
    size_t strict_begin = 0;  // first event with t > now - 1000
    size_t loose_begin = 0;   // first event with t >= now - 1000
    int64_t now = base;
    uint64_t max_seen = 0;
    for (int i = 0; i < 50000; ++i) {
      int k = kind(rng);
      if (k < 30) {
        // Same millisecond as the previous event.
      } else if (k < 95) {
        now += small_gap(rng);
      } else if (k < 98) {
        now += big_gap(rng);
      } else {
        now += edge_gap(rng);
      }
      times.push_back(now);
      while (times[strict_begin] <= now - 1000) ++strict_begin;
      while (times[loose_begin] < now - 1000) ++loose_begin;
      const uint64_t strict = times.size() - strict_begin;
      const uint64_t loose = times.size() - loose_begin;

      const uint64_t got = w.add(now);
      ASSERT_GE(got, strict) << "under-count at event " << i << ", t=" << now;
      ASSERT_EQ(got, loose) << "event " << i << ", t=" << now;
      if (got > max_seen) max_seen = got;
    }
    // The trace must actually fill the window for the test to mean much.
    EXPECT_GT(max_seen, 50u);
  }
}

}  // namespace
}  // namespace cmud::actor::detail
