// RateWindow: messages of one ordered actor pair in the last second.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace cmud::actor::detail {

// Counts events in 1 ms buckets over the last 1001 ms. A true 1-second
// window spans at most 1001 buckets, so the count never under-reports.
// Thread-compatible: owned by the sending actor and touched only while it
// runs.
class RateWindow {
 public:
  static constexpr int64_t kBuckets = 1001;

  // Records one event at now_ms and returns the count in the window ending
  // at now_ms. REQUIRES: now_ms >= 0 and never goes backwards by more than
  // the window.
  uint64_t add(int64_t now_ms) {
    if (last_ms_ == kNever || now_ms - last_ms_ >= kBuckets) {
      buckets_.fill(0);
      sum_ = 0;
    } else {
      for (int64_t t = last_ms_ + 1; t <= now_ms; ++t) {
        auto& b = buckets_[static_cast<size_t>(t % kBuckets)];
        sum_ -= b;
        b = 0;
      }
    }
    if (now_ms > last_ms_) last_ms_ = now_ms;
    ++buckets_[static_cast<size_t>(last_ms_ % kBuckets)];
    return ++sum_;
  }

 private:
  static constexpr int64_t kNever = std::numeric_limits<int64_t>::min();
  std::array<uint32_t, kBuckets> buckets_{};
  int64_t last_ms_ = kNever;
  uint64_t sum_ = 0;
};

}  // namespace cmud::actor::detail
