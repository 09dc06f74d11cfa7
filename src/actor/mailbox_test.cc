// Unit tests for Mailbox<T>: the original system's Mailbox suite
// with the same 100 ms bounds, plus try_pop, drain,
// close and heavier concurrency.
//
// No wait here is unbounded: every body that might block runs on its own
// thread and is waited for with a deadline; when the deadline passes, the
// mailboxes are closed so that any blocked pop returns and the thread ends.
#include "mailbox.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

namespace cmud::actor {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

constexpr milliseconds kOriginalBound{100};
// For the heavier tests that the original suite does not bound.
constexpr milliseconds kGenerousBound{10000};

// Runs body on its own thread and waits at most `limit` for it. If it is
// late, calls unblock (which must close every mailbox body may block on) and
// waits for body to finish. Fails the test when body was late.
void run_within(milliseconds limit, const std::function<void()>& body,
                const std::function<void()>& unblock) {
  auto done = std::async(std::launch::async, body);
  if (done.wait_for(limit) == std::future_status::ready) {
    done.get();
    return;
  }
  ADD_FAILURE() << "did not finish within " << limit.count() << " ms";
  unblock();
  done.get();
}

TEST(Mailbox, OnePushThenOnePopReturnsTheItem) {
  Mailbox<int> mb;
  run_within(
      kOriginalBound,
      [&] {
        EXPECT_TRUE(mb.push(42));
        EXPECT_EQ(mb.pop(), std::optional<int>(42));
        EXPECT_TRUE(mb.empty());
      },
      [&] { mb.close(); });
}

TEST(Mailbox, BatchesOfOneToNinetyNinePushesPopInFifoOrder) {
  Mailbox<int> mb;
  int total = 0;
  run_within(
      kOriginalBound,
      [&] {
        int next = 0;
        for (int batch = 1; batch < 100; ++batch) {
          int first = next;
          for (int i = 0; i < batch; ++i) ASSERT_TRUE(mb.push(next++));
          EXPECT_EQ(mb.size(), static_cast<size_t>(batch));
          for (int i = 0; i < batch; ++i) {
            std::optional<int> v = mb.pop();
            ASSERT_TRUE(v.has_value());
            ASSERT_EQ(*v, first + i);
            ++total;
          }
          EXPECT_TRUE(mb.empty());
        }
      },
      [&] { mb.close(); });
  EXPECT_EQ(total, 4950);
}

TEST(Mailbox, TwoPushersOfOneHundredEachOnePopperGetsAllTwoHundred) {
  Mailbox<std::pair<int, int>> mb;  // (pusher, sequence number)
  std::vector<std::pair<int, int>> got;
  run_within(
      kOriginalBound,
      [&] {
        auto pusher = [&](int who) {
          for (int i = 0; i < 100; ++i) EXPECT_TRUE(mb.push({who, i}));
        };
        std::thread a(pusher, 0);
        std::thread b(pusher, 1);
        for (int i = 0; i < 200; ++i) {
          std::optional<std::pair<int, int>> v = mb.pop();
          if (!v) break;  // closed by the timeout path
          got.push_back(*v);
        }
        a.join();  // push never blocks, so these joins are bounded
        b.join();
      },
      [&] { mb.close(); });
  ASSERT_EQ(got.size(), 200u);
  int next[2] = {0, 0};
  for (auto [who, seq] : got) {
    ASSERT_TRUE(who == 0 || who == 1);
    EXPECT_EQ(seq, next[who]) << "pusher " << who << " out of order";
    next[who] = seq + 1;
  }
  EXPECT_EQ(next[0], 100);
  EXPECT_EQ(next[1], 100);
}

TEST(Mailbox, TenThousandPushPopPairs) {
  Mailbox<int> mb;
  run_within(
      kOriginalBound,
      [&] {
        for (int i = 0; i < 10000; ++i) {
          ASSERT_TRUE(mb.push(i));
          std::optional<int> v = mb.pop();
          ASSERT_TRUE(v.has_value());
          ASSERT_EQ(*v, i);
        }
        EXPECT_TRUE(mb.empty());
      },
      [&] { mb.close(); });
}

TEST(Mailbox, PopOnEmptyBlocksUntilClose) {
  Mailbox<int> mb;
  auto popped = std::async(std::launch::async, [&] { return mb.pop(); });
  EXPECT_EQ(popped.wait_for(kOriginalBound), std::future_status::timeout)
      << "pop on an empty mailbox returned without an item";
  auto closed_at = Clock::now();
  mb.close();
  ASSERT_EQ(popped.wait_for(kOriginalBound), std::future_status::ready)
      << "close did not unblock pop within 100 ms";
  EXPECT_LT(Clock::now() - closed_at, kOriginalBound);
  EXPECT_EQ(popped.get(), std::nullopt);
}

TEST(Mailbox, PushClosePushThenBothPopsReturnClosed) {
  Mailbox<int> mb;
  run_within(
      kOriginalBound,
      [&] {
        EXPECT_TRUE(mb.push(1));
        mb.close();
        EXPECT_FALSE(mb.push(2));
        EXPECT_EQ(mb.pop(), std::nullopt);
        EXPECT_EQ(mb.pop(), std::nullopt);
      },
      [&] { mb.close(); });
}

TEST(Mailbox, TwoInterleavedMailboxesStayIndependent) {
  Mailbox<int> a;
  Mailbox<int> b;
  run_within(
      kOriginalBound,
      [&] {
        for (int i = 0; i < 100; ++i) {
          ASSERT_TRUE(a.push(i));
          ASSERT_TRUE(b.push(1000 + i));
        }
        EXPECT_EQ(a.size(), 100u);
        EXPECT_EQ(b.size(), 100u);
        for (int i = 0; i < 100; ++i) {
          ASSERT_EQ(b.pop(), std::optional<int>(1000 + i));
          ASSERT_EQ(a.pop(), std::optional<int>(i));
        }
        ASSERT_TRUE(a.push(7));
        b.close();
        EXPECT_FALSE(a.closed());
        EXPECT_EQ(a.pop(), std::optional<int>(7));
        EXPECT_EQ(b.pop(), std::nullopt);
      },
      [&] {
        a.close();
        b.close();
      });
}

TEST(Mailbox, TryPopNeverBlocks) {
  Mailbox<int> mb;
  run_within(
      kOriginalBound,
      [&] {
        EXPECT_EQ(mb.try_pop(), std::nullopt);
        ASSERT_TRUE(mb.push(1));
        ASSERT_TRUE(mb.push(2));
        EXPECT_EQ(mb.try_pop(), std::optional<int>(1));
        EXPECT_EQ(mb.try_pop(), std::optional<int>(2));
        EXPECT_EQ(mb.try_pop(), std::nullopt);
        ASSERT_TRUE(mb.push(3));
        mb.close();
        EXPECT_EQ(mb.try_pop(), std::nullopt);
      },
      [&] { mb.close(); });
}

TEST(Mailbox, TryPopDoesNotWaitWhileAnotherThreadIsBlockedInPop) {
  Mailbox<int> mb;
  auto blocked = std::async(std::launch::async, [&] { return mb.pop(); });
  run_within(
      kOriginalBound, [&] { EXPECT_EQ(mb.try_pop(), std::nullopt); },
      [&] { mb.close(); });
  mb.close();
  ASSERT_EQ(blocked.wait_for(kOriginalBound), std::future_status::ready);
  EXPECT_EQ(blocked.get(), std::nullopt);
}

TEST(Mailbox, DrainMovesAtMostMaxItemsInOrder) {
  Mailbox<int> mb;
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(mb.push(i));

  std::vector<int> out = {-1};  // drain appends, it does not replace
  EXPECT_EQ(mb.drain(out, 0), 0u);
  EXPECT_EQ(out, (std::vector<int>{-1}));

  EXPECT_EQ(mb.drain(out, 3), 3u);
  EXPECT_EQ(out, (std::vector<int>{-1, 0, 1, 2}));
  EXPECT_EQ(mb.size(), 7u);

  EXPECT_EQ(mb.drain(out, 100), 7u);
  EXPECT_EQ(out, (std::vector<int>{-1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
  EXPECT_TRUE(mb.empty());

  EXPECT_EQ(mb.drain(out, 100), 0u);
  EXPECT_EQ(out.size(), 11u);
}

TEST(Mailbox, DrainInterleavedWithPushKeepsFifoOrder) {
  Mailbox<int> mb;
  std::vector<int> out;
  int next = 0;
  for (int round = 0; round < 50; ++round) {
    for (int i = 0; i < 7; ++i) ASSERT_TRUE(mb.push(next++));
    mb.drain(out, 5);
  }
  while (mb.drain(out, 5) > 0) {
  }
  ASSERT_EQ(out.size(), static_cast<size_t>(next));
  for (int i = 0; i < next; ++i) ASSERT_EQ(out[i], i);
}

TEST(Mailbox, DrainAfterCloseMovesNothing) {
  Mailbox<int> mb;
  ASSERT_TRUE(mb.push(1));
  mb.close();
  std::vector<int> out;
  EXPECT_EQ(mb.drain(out, 10), 0u);
  EXPECT_TRUE(out.empty());
}

TEST(Mailbox, CloseDiscardsPendingAndPushAfterCloseReturnsFalse) {
  Mailbox<std::shared_ptr<int>> mb;
  auto item = std::make_shared<int>(5);
  ASSERT_TRUE(mb.push(item));
  ASSERT_TRUE(mb.push(item));
  EXPECT_EQ(item.use_count(), 3);
  EXPECT_FALSE(mb.closed());

  mb.close();
  EXPECT_TRUE(mb.closed());
  EXPECT_TRUE(mb.empty());
  EXPECT_EQ(mb.size(), 0u);
  EXPECT_EQ(item.use_count(), 1) << "close must destroy pending items";

  EXPECT_FALSE(mb.push(item));
  EXPECT_EQ(item.use_count(), 1) << "a push after close must drop the item";
  EXPECT_TRUE(mb.empty());
  EXPECT_EQ(mb.try_pop(), std::nullopt);
}

TEST(Mailbox, CloseIsIdempotent) {
  Mailbox<int> mb;
  mb.close();
  mb.close();
  EXPECT_TRUE(mb.closed());
  EXPECT_FALSE(mb.push(1));
  run_within(
      kOriginalBound, [&] { EXPECT_EQ(mb.pop(), std::nullopt); },
      [&] { mb.close(); });
}

TEST(Mailbox, CloseWakesEveryBlockedPopper) {
  Mailbox<int> mb;
  std::vector<std::future<std::optional<int>>> poppers;
  for (int i = 0; i < 4; ++i) {
    poppers.push_back(std::async(std::launch::async, [&] { return mb.pop(); }));
  }
  for (auto& p : poppers) {
    EXPECT_EQ(p.wait_for(milliseconds(20)), std::future_status::timeout);
  }
  mb.close();
  for (auto& p : poppers) {
    ASSERT_EQ(p.wait_for(kOriginalBound), std::future_status::ready);
    EXPECT_EQ(p.get(), std::nullopt);
  }
}

TEST(Mailbox, PushWakesABlockedPopper) {
  Mailbox<int> mb;
  auto popped = std::async(std::launch::async, [&] { return mb.pop(); });
  EXPECT_EQ(popped.wait_for(milliseconds(20)), std::future_status::timeout);
  ASSERT_TRUE(mb.push(9));
  if (popped.wait_for(kOriginalBound) != std::future_status::ready) {
    ADD_FAILURE() << "push did not wake the blocked pop within 100 ms";
    mb.close();
  }
  EXPECT_EQ(popped.get(), std::optional<int>(9));
}

TEST(Mailbox, HoldsMoveOnlyValues) {
  Mailbox<std::unique_ptr<int>> mb;
  ASSERT_TRUE(mb.push(std::make_unique<int>(1)));
  ASSERT_TRUE(mb.push(std::make_unique<int>(2)));
  ASSERT_TRUE(mb.push(std::make_unique<int>(3)));
  std::optional<std::unique_ptr<int>> first = mb.try_pop();
  ASSERT_TRUE(first && *first);
  EXPECT_EQ(**first, 1);
  std::vector<std::unique_ptr<int>> rest;
  EXPECT_EQ(mb.drain(rest, 10), 2u);
  ASSERT_EQ(rest.size(), 2u);
  EXPECT_EQ(*rest[0], 2);
  EXPECT_EQ(*rest[1], 3);
}

TEST(Mailbox, SizeAndEmptyTrackTheQueue) {
  Mailbox<int> mb;
  EXPECT_TRUE(mb.empty());
  EXPECT_EQ(mb.size(), 0u);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(mb.push(i));
  EXPECT_FALSE(mb.empty());
  EXPECT_EQ(mb.size(), 5u);
  EXPECT_EQ(mb.try_pop(), std::optional<int>(0));
  EXPECT_EQ(mb.size(), 4u);
}

TEST(Mailbox, ManyConcurrentPushersAllArriveInPerProducerOrder) {
  constexpr int kProducers = 8;
  constexpr int kPerProducer = 10000;
  Mailbox<std::pair<int, int>> mb;  // (producer, sequence number)
  std::vector<int> next(kProducers, 0);
  int received = 0;
  bool in_order = true;
  run_within(
      kGenerousBound,
      [&] {
        std::vector<std::thread> producers;
        for (int p = 0; p < kProducers; ++p) {
          producers.emplace_back([&mb, p] {
            for (int i = 0; i < kPerProducer; ++i) {
              if (!mb.push({p, i})) return;  // closed by the timeout path
            }
          });
        }
        while (received < kProducers * kPerProducer) {
          std::optional<std::pair<int, int>> v = mb.pop();
          if (!v) break;
          auto [p, seq] = *v;
          if (p < 0 || p >= kProducers || seq != next[p]) in_order = false;
          if (p >= 0 && p < kProducers) next[p] = seq + 1;
          ++received;
        }
        for (auto& t : producers) t.join();
      },
      [&] { mb.close(); });
  EXPECT_EQ(received, kProducers * kPerProducer);
  EXPECT_TRUE(in_order);
  for (int p = 0; p < kProducers; ++p) {
    EXPECT_EQ(next[p], kPerProducer) << "producer " << p;
  }
  EXPECT_TRUE(mb.empty());
}

TEST(Mailbox, ManyPushersAndPoppersDeliverEachItemExactlyOnce) {
  constexpr int kProducers = 4;
  constexpr int kConsumers = 4;
  constexpr int kPerProducer = 5000;
  constexpr int kTotal = kProducers * kPerProducer;
  Mailbox<int> mb;
  std::vector<std::atomic<int>> seen(kTotal);
  std::atomic<int> received{0};
  run_within(
      kGenerousBound,
      [&] {
        std::vector<std::thread> consumers;
        for (int c = 0; c < kConsumers; ++c) {
          consumers.emplace_back([&] {
            // Ends when close wakes it, once everything arrived (or on
            // timeout).
            while (std::optional<int> v = mb.pop()) {
              seen[*v].fetch_add(1);
              received.fetch_add(1);
            }
          });
        }
        std::vector<std::thread> producers;
        for (int p = 0; p < kProducers; ++p) {
          producers.emplace_back([&mb, p] {
            for (int i = 0; i < kPerProducer; ++i) {
              if (!mb.push(p * kPerProducer + i)) return;
            }
          });
        }
        for (auto& t : producers) t.join();
        auto deadline = Clock::now() + kGenerousBound / 2;
        while (received.load() < kTotal && Clock::now() < deadline) {
          std::this_thread::yield();
        }
        mb.close();  // releases the consumers
        for (auto& t : consumers) t.join();
      },
      [&] { mb.close(); });
  EXPECT_EQ(received.load(), kTotal);
  int wrong = 0;
  for (auto& s : seen) wrong += s.load() != 1;
  EXPECT_EQ(wrong, 0) << "items lost or delivered twice";
}

}  // namespace
}  // namespace cmud::actor
