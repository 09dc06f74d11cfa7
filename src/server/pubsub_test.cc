// PubSub: subscriptions, pattern matching, counts, and removal.
#include "pubsub.h"

#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace cmud::server {
namespace {

// Records what it is handed, as "pattern|channel|message".
class Recorder : public PubSub::Subscriber {
 public:
  void deliver(std::string_view pattern,
               const std::shared_ptr<const PubSubMessage>& m) override {
    got.push_back(std::string(pattern) + "|" + m->channel + "|" + m->message);
  }
  std::vector<std::string> got;
};

TEST(PubSub, AChannelSubscriberGetsItsChannelOnly) {
  PubSub ps;
  Recorder a;
  EXPECT_TRUE(ps.subscribe(&a, "news"));
  EXPECT_FALSE(ps.subscribe(&a, "news"));  // already
  EXPECT_EQ(ps.publish("news", "one"), 1u);
  EXPECT_EQ(ps.publish("weather", "two"), 0u);
  EXPECT_EQ(a.got, (std::vector<std::string>{"|news|one"}));
}

TEST(PubSub, PatternsMatchAsGlobsAndEachMatchCounts) {
  PubSub ps;
  Recorder a, b;
  ps.subscribe(&a, "room:1");
  ps.psubscribe(&a, "room:*");
  ps.psubscribe(&b, "room:?");
  ps.psubscribe(&b, "hall:*");
  // a gets it twice (channel and pattern), as Redis delivers it.
  EXPECT_EQ(ps.publish("room:1", "hi"), 3u);
  EXPECT_EQ(a.got.size(), 2u);
  EXPECT_EQ(b.got, (std::vector<std::string>{"room:?|room:1|hi"}));
  EXPECT_EQ(ps.numpat(), 3u);
  // NUMPAT counts patterns, not subscriptions (Redis 7).
  ps.psubscribe(&b, "room:*");
  EXPECT_EQ(ps.numpat(), 3u);
  EXPECT_EQ(ps.numsub("room:1"), 1u);
  EXPECT_EQ(ps.numsub("room:2"), 0u);
}

TEST(PubSub, UnsubscribeAndRemoveStopDeliveryAndForgetEmptyChannels) {
  PubSub ps;
  Recorder a, b;
  ps.subscribe(&a, "x");
  ps.subscribe(&b, "x");
  ps.subscribe(&b, "y");
  ps.psubscribe(&b, "*");
  EXPECT_EQ(ps.channels(std::nullopt), (std::vector<std::string>{"x", "y"}));
  EXPECT_EQ(ps.channels("y*"), (std::vector<std::string>{"y"}));
  EXPECT_TRUE(ps.unsubscribe(&a, "x"));
  EXPECT_FALSE(ps.unsubscribe(&a, "x"));
  ps.remove(&b);
  EXPECT_EQ(ps.publish("x", "m"), 0u);
  EXPECT_TRUE(a.got.empty());
  EXPECT_TRUE(b.got.empty());
  EXPECT_TRUE(ps.channels(std::nullopt).empty());
  EXPECT_EQ(ps.numpat(), 0u);
  EXPECT_EQ(ps.published(), 1u);
}

TEST(PubSub, PublishersOnManyThreadsEachKeepTheirOrder) {
  PubSub ps;
  Recorder a;
  ps.subscribe(&a, "c");
  constexpr int kThreads = 4, kEach = 2000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&ps, t] {
      for (int i = 0; i < kEach; ++i) {
        ps.publish("c", std::to_string(t) + ":" + std::to_string(i));
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(a.got.size(), static_cast<size_t>(kThreads * kEach));
  std::vector<int> next(kThreads, 0);
  for (const auto& g : a.got) {
    auto body = g.substr(g.rfind('|') + 1);
    int t = std::stoi(body.substr(0, body.find(':')));
    int i = std::stoi(body.substr(body.find(':') + 1));
    EXPECT_EQ(i, next[t]++) << "publisher " << t;
  }
}

}  // namespace
}  // namespace cmud::server
