// ORIGINAL-TESTS.md "One actor": one server with one query actor, 5 s each.
// Every test checks external messages ≥ q and channel refs ≥ q, q being its
// number of queries (each query is one request, so one message from outside
// the actor system awaited through one channel ref).
#include <gtest/gtest.h>

#include <time.h>

#include <chrono>
#include <future>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "cluster.h"
#include "traces.h"

namespace cmud::system_test {
namespace {

constexpr auto kBudget = 5s;

// One server with one query actor and `clients` clients pinned to it.
class OneActor : public ::testing::Test {
 protected:
  void start(size_t clients = 1) {
    cluster_ = std::make_unique<Cluster>(std::vector<size_t>{1},
                                         local_options(clients));
    ASSERT_TRUE(cluster_->ok());
    before_ = cluster_->stats();
  }
  client::Client& client(size_t i = 0) { return cluster_->client(i); }
  void expect_queries(uint64_t q) {
    expect_counts(*cluster_, before_, {.queries = q, .min_syncs = 0});
  }

  Budget budget_{kBudget};
  std::unique_ptr<Cluster> cluster_;
  actor::Stats before_;
};

TEST_F(OneActor, GetOnAnEmptyStoreFindsNothing) {
  ASSERT_NO_FATAL_FAILURE(start());
  EXPECT_EQ(get_ok(client(), "foo"), std::nullopt);
  expect_queries(1);
}

TEST_F(OneActor, PutThenGetReturnsTheValue) {
  ASSERT_NO_FATAL_FAILURE(start());
  put_ok(client(), "foo", "bar");
  EXPECT_EQ(get_ok(client(), "foo"), "bar");
  expect_queries(2);
}

TEST_F(OneActor, TenOverwritesEachReadBackTheNewestValue) {
  ASSERT_NO_FATAL_FAILURE(start());
  for (int i = 0; i < 10; ++i) {
    put_ok(client(), "foo", "bar" + std::to_string(i));
    EXPECT_EQ(get_ok(client(), "foo"), "bar" + std::to_string(i));
  }
  expect_queries(20);
}

TEST_F(OneActor, ListOfEverythingShowsAPutAndAnUnmatchedPrefixIsEmpty) {
  ASSERT_NO_FATAL_FAILURE(start());
  put_ok(client(), "cat/name", "charlie");
  EXPECT_EQ(list_ok(client(), ""),
            (client::KeyValues{{"cat/name", "charlie"}}));
  EXPECT_EQ(list_ok(client(), "filler/"), client::KeyValues{});
  expect_queries(3);
}

TEST_F(OneActor, ListReturnsExactlyTheSortedPairsUnderEachPrefix) {
  ASSERT_NO_FATAL_FAILURE(start());
  const client::KeyValues cats = {{"cat/age", "7"},
                                  {"cat/colour", "ginger"},
                                  {"cat/name", "charlie"},
                                  {"cat/toy", "mouse"}};
  const client::KeyValues frogs = {{"frog/age", "1"},
                                   {"frog/colour", "green"},
                                   {"frog/name", "fred"},
                                   {"frog/pond", "lily"}};
  // Out of order, interleaved: List must sort.
  for (size_t i = cats.size(); i-- > 0;) {
    put_ok(client(), frogs[i].first, frogs[i].second);
    put_ok(client(), cats[i].first, cats[i].second);
  }
  EXPECT_EQ(list_ok(client(), "cat/"), cats);
  EXPECT_EQ(list_ok(client(), "frog/"), frogs);
  EXPECT_EQ(list_ok(client(), "dog/"), client::KeyValues{});
  expect_queries(11);
}

TEST_F(OneActor, MixedGetPutListTraceSeesItsOwnWrites) {
  ASSERT_NO_FATAL_FAILURE(start());
  put_ok(client(), "a", "1");
  EXPECT_EQ(get_ok(client(), "a"), "1");
  put_ok(client(), "b", "2");
  EXPECT_EQ(list_ok(client(), ""), (client::KeyValues{{"a", "1"}, {"b", "2"}}));
  EXPECT_EQ(get_ok(client(), "c"), std::nullopt);
  put_ok(client(), "a", "3");
  EXPECT_EQ(list_ok(client(), "a"), (client::KeyValues{{"a", "3"}}));
  expect_queries(7);
}

TEST_F(OneActor, TwoClientsSeeEachOthersWritesAtOnce) {
  ASSERT_NO_FATAL_FAILURE(start(2));
  put_ok(client(0), "foo", "bar");
  EXPECT_EQ(get_ok(client(1), "foo"), "bar");
  expect_queries(2);
}

TEST_F(OneActor, FourClientsPutConcurrentlyThenEachGetsAllFourKeys) {
  ASSERT_NO_FATAL_FAILURE(start(4));
  std::vector<std::future<Status>> puts;
  for (size_t i = 0; i < 4; ++i) {
    puts.push_back(client(i).put_async("key" + std::to_string(i),
                                       "value" + std::to_string(i)));
  }
  for (auto& p : puts) {
    Status s = p.get();
    EXPECT_TRUE(s.ok()) << s.to_string();
  }
  for (size_t i = 0; i < 4; ++i) {
    for (size_t j = 0; j < 4; ++j) {
      EXPECT_EQ(get_ok(client(i), "key" + std::to_string(j)),
                "value" + std::to_string(j))
          << "client " << i;
    }
  }
  expect_queries(20);
}

// Statistics: a query sent on its own is one message to the query actor,
// awaited through one channel ref (the tests above). Queries pipelined on
// one connection and read together travel as one message (one network read,
// one QueryRequest, one channel ref): each is still answered, in order, with
// its own reply, and no query ever costs more than one message.
TEST_F(OneActor,
       PipelinedConcurrentQueriesOfOneClientShareMessagesAndAllAnswer) {
  ASSERT_NO_FATAL_FAILURE(start());
  std::vector<std::future<Status>> puts;
  for (int i = 0; i < 20; ++i) {
    puts.push_back(client().put_async("key" + std::to_string(i),
                                      "value" + std::to_string(i)));
  }
  for (auto& p : puts) {
    Status s = p.get();
    EXPECT_TRUE(s.ok()) << s.to_string();
  }
  actor::Stats d = since(cluster_->stats(), before_);
  EXPECT_GE(d.messages_sent_external, 1u);
  EXPECT_LE(d.messages_sent_external, 20u);
  EXPECT_EQ(d.channel_refs_used, d.messages_sent_external);
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(get_ok(client(), "key" + std::to_string(i)),
              "value" + std::to_string(i));
  }
}

// CPU time this process has used.
std::chrono::microseconds process_cpu_time() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return std::chrono::seconds(ts.tv_sec) +
         std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::nanoseconds(ts.tv_nsec));
}

// Nothing spins: between queries, the server's workers and the client's
// I/O thread sleep (ARCHITECTURE: "An idle worker sleeps in epoll_wait; it
// never spins"). With 4 clients connected and idle for 1 s the whole
// process may use at most 50 ms of CPU.
TEST_F(OneActor, AnIdleServerAndItsConnectedClientsUseAlmostNoCpu) {
  ASSERT_NO_FATAL_FAILURE(start(4));
  for (size_t i = 0; i < 4; ++i) {
    put_ok(client(i), "key" + std::to_string(i), "value");
  }
  auto cpu_before = process_cpu_time();
  std::this_thread::sleep_for(1s);
  auto used = std::chrono::duration_cast<std::chrono::milliseconds>(
      process_cpu_time() - cpu_before);
  std::cout << "[ idle     ] " << used.count() << " ms of CPU in 1 s\n";
  EXPECT_LE(used.count(), 50) << "something spins while idle";
  expect_queries(4);
}

}  // namespace
}  // namespace cmud::system_test
