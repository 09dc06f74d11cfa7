// ORIGINAL-TESTS.md "Server start-up": a server that joins running servers
// pulls their state and merges it with the LWW rule; syncing both ways starts
// as soon as it knows of another server. 200 ms emulated latency.
#include <gtest/gtest.h>

#include <map>
#include <thread>

#include "cluster.h"
#include "traces.h"

namespace cmud::system_test {
namespace {

using Clock = std::chrono::steady_clock;

constexpr auto kBudget = 10s;
constexpr auto kLongBudget = 30s;

// Puts cat/name=charlie on a first server with `actors` actors, starts a
// second one and checks that after 2 s every actor of the new one has it.
void state_moves_to_a_new_server(size_t actors) {
  Cluster c(remote_options());
  ASSERT_TRUE(c.add_server(actors));
  put_ok(c.client(0), "cat/name", "charlie");
  ASSERT_TRUE(c.add_server(actors));
  std::this_thread::sleep_for(kRemoteDeadline);
  for (size_t i : c.clients_of(1)) {
    EXPECT_EQ(get_ok(c.client(i), "cat/name"), "charlie")
        << "new server's client " << i;
  }
}

TEST(Startup, APutOnAOneActorServerIsOnANewServerWithin2s) {
  Budget budget(kBudget);
  state_moves_to_a_new_server(1);
}

TEST(Startup, APutOnAFourActorServerIsOnAllFourActorsOfANewServerWithin2s) {
  Budget budget(kBudget);
  state_moves_to_a_new_server(4);
}

TEST(Startup, APutOnANewServerDuringItsStartUpIsVisibleThereAndSpreads) {
  Budget budget(kBudget);
  Cluster c(remote_options());
  ASSERT_TRUE(c.add_server(1));
  ASSERT_TRUE(c.add_server(1));
  // The join is still under way (it takes a round trip of 400 ms).
  put_ok(c.client(1), "cat/name", "charlie");
  EXPECT_EQ(get_ok(c.client(1), "cat/name"), "charlie");
  std::this_thread::sleep_for(kRemoteDeadline);
  EXPECT_EQ(get_ok(c.client(0), "cat/name"), "charlie")
      << "the old server never got the new server's Put";
}

// 4+4 actors: 4 keys on server 0; start server 1; 5 writers, 10 ms apart,
// on actors of both servers, overwrite some keys and add others while the
// join runs. Every actor ends with the same 7 keys, the later write winning.
TEST(Startup, OverwritesDuringAJoinConvergeToOneLwwResultOnAllEightActors) {
  Budget budget(kBudget);
  Cluster c(remote_options());
  ASSERT_TRUE(c.add_server(4));
  for (int k = 0; k < 4; ++k) {
    put_ok(c.client(k), "k" + std::to_string(k), "initial");
  }
  ASSERT_TRUE(c.add_server(4));
  // Writer w runs on server (w + 1) % 2, actor w % 4; it writes
  // k<w % 4> and n<w % 3>, both = "w<w>".
  std::vector<std::thread> writers;
  auto start = Clock::now();
  for (int w = 0; w < 5; ++w) {
    size_t server = (w + 1) % 2;
    size_t client = c.clients_of(server).at(w % 4);
    writers.emplace_back([&c, &start, w, client] {
      std::this_thread::sleep_until(start + w * kLwwGranularity);
      std::string value = "w" + std::to_string(w);
      put_ok(c.client(client), "k" + std::to_string(w % 4), value);
      put_ok(c.client(client), "n" + std::to_string(w % 3), value);
    });
  }
  for (auto& t : writers) t.join();
  std::this_thread::sleep_for(kRemoteDeadline);
  const client::KeyValues expected = {{"k0", "w4"}, {"k1", "w1"}, {"k2", "w2"},
                                      {"k3", "w3"}, {"n0", "w3"}, {"n1", "w4"},
                                      {"n2", "w2"}};
  for (size_t i = 0; i < c.client_count(); ++i) {
    EXPECT_EQ(list_ok(c.client(i), ""), expected)
        << "client " << i << " (server " << c.server_of(i) << ")";
  }
  c.expect_rate_within_limit();
}

// 4 servers × 4 actors started one by one; after server r starts, every
// older server i takes a Put key<i>_<r> (on its actor r % 4) and the test
// waits 2 s. In the end all 16 actors list all 6 keys.
TEST(Startup, FourServersJoiningOneByOneAllEndWithEveryKey) {
  Budget budget(kLongBudget);
  Cluster c(remote_options());
  ASSERT_TRUE(c.add_server(4));
  std::map<std::string, std::string> expected;
  for (size_t r = 1; r < 4; ++r) {
    ASSERT_TRUE(c.add_server(4));
    for (size_t i = 0; i < r; ++i) {
      std::string key = "key" + std::to_string(i) + "_" + std::to_string(r);
      std::string value = "put on server " + std::to_string(i) +
                          " after server " + std::to_string(r) + " started";
      put_ok(c.client(c.clients_of(i).at(r % 4)), key, value);
      expected[key] = value;
    }
    std::this_thread::sleep_for(kRemoteDeadline);
  }
  const client::KeyValues want(expected.begin(), expected.end());
  ASSERT_EQ(want.size(), 6u);
  for (size_t i = 0; i < c.client_count(); ++i) {
    EXPECT_EQ(list_ok(c.client(i), ""), want)
        << "client " << i << " (server " << c.server_of(i) << ")";
  }
  c.expect_rate_within_limit();
}

}  // namespace
}  // namespace cmud::system_test
