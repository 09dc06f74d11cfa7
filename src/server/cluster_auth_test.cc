// The attacks of the security review on the server-to-server port, against
// a server with a cluster secret: a process that is not a member forges a
// sync batch and a join request. Neither changes nor reveals anything.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <thread>

#include "cmud/actor/system.h"
#include "cmud/client/client.h"
#include "cmud/server/server.h"
#include "coordinator.h"
#include "messages.h"
#include "session.h"

namespace cmud::server {
namespace {

using namespace std::chrono_literals;

constexpr const char* kSecret = "members-only-secret-0123456789abcdef";

// Collects whatever the server sends to the outsider's "coordinator".
class Listener : public actor::Actor {
 public:
  Listener(actor::Context&, std::atomic<int>& got) : got_(got) {}
  Status on_message(actor::Message&) override {
    ++got_;
    return {};
  }

 private:
  std::atomic<int>& got_;
};

class ClusterAuthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerConfig c;
    c.port = 0;
    c.actors = 2;
    c.cluster_secret = kSecret;
    c.on_error = [](const Status&) {};  // refusals are expected here
    auto s = Server::start(c);
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    server_ = std::move(s).value();
    client_ = std::make_unique<client::Client>(
        std::make_shared<client::FixedRouter>(server_->query_addrs()[0]));
  }

  // An actor system of our own, with the given secret (empty: none).
  std::unique_ptr<actor::System> outsider(std::string secret) {
    actor::SystemConfig c;
    c.workers = 1;
    c.cluster_secret = std::move(secret);
    c.on_error = [](const Status&) {};
    auto s = actor::System::create(c);
    return s.ok() ? std::move(s).value() : nullptr;
  }

  // True once the server has refused n handshakes (bounded: 5 s).
  bool refused_at_least(uint64_t n) {
    auto until = std::chrono::steady_clock::now() + 5s;
    while (server_->stats().auth_failures < n) {
      if (std::chrono::steady_clock::now() >= until) return false;
      std::this_thread::sleep_for(10ms);
    }
    return true;
  }

  // The first query actor's ref (ids: coordinator 1, actors 2..).
  ActorRef first_actor() const {
    return ActorRef(server_->address(), kCoordinatorId + 1);
  }

  std::unique_ptr<Server> server_;
  std::unique_ptr<client::Client> client_;
};

SyncBatch forged_batch(const std::string& from) {
  SyncBatch b{from, 0, {}};
  kv::append_entry(b.entries, "victim", "forged", uint64_t{1} << 40, 7, false);
  ++b.count;
  return b;
}

TEST_F(ClusterAuthTest, AForgedSyncBatchFromANonMemberChangesNothing) {
  ASSERT_TRUE(client_->put("victim", "original").ok());
  std::vector<std::unique_ptr<actor::System>> outsiders;
  for (const char* secret : {"", "a-guessed-secret-that-is-wrong"}) {
    outsiders.push_back(outsider(secret));
    ASSERT_TRUE(outsiders.back());
    outsiders.back()->tell(first_actor(),
                           forged_batch(outsiders.back()->address()));
  }
  // The refusals are counted; by then the forged batches would have landed.
  EXPECT_TRUE(refused_at_least(2));
  std::this_thread::sleep_for(100ms);
  auto v = client_->get("victim");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(v->value_or("<none>"), "original");
}

TEST_F(ClusterAuthTest, AForgedJoinRequestFromANonMemberStreamsNothing) {
  ASSERT_TRUE(client_->put("secret/data", "precious").ok());
  auto sys = outsider("");
  ASSERT_TRUE(sys);
  std::atomic<int> got{0};
  // Spawned first, so it is the outsider's actor 1: where a join reply and
  // the stream of the store would go.
  auto me = sys->spawn<Listener>(got);
  ASSERT_EQ(me.id(), kCoordinatorId);
  ServerDesc desc{sys->address(), {me.id()}, {}};
  sys->tell(ActorRef(server_->address(), kCoordinatorId),
            JoinRequest{desc, /*want_state=*/true});
  EXPECT_TRUE(refused_at_least(1));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(got.load(), 0);
}

TEST_F(ClusterAuthTest, AMemberWithTheSecretSyncs) {
  ServerConfig c;
  c.port = 0;
  c.actors = 1;
  c.cluster_secret = kSecret;
  c.join = {server_->address()};
  auto other = Server::start(c);
  ASSERT_TRUE(other.ok()) << other.status().to_string();
  ASSERT_TRUE(client_->put("shared", "yes").ok());
  client::Client there(
      std::make_shared<client::FixedRouter>((*other)->query_addrs()[0]));
  bool seen = false;
  auto until = std::chrono::steady_clock::now() + 2s;  // the remote deadline
  while (!seen && std::chrono::steady_clock::now() < until) {
    auto v = there.get("shared");
    seen = v.ok() && v->value_or("") == "yes";
    if (!seen) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(seen);
  EXPECT_EQ(server_->stats().auth_failures, 0u);
}

}  // namespace
}  // namespace cmud::server

namespace cmud::server {
namespace {

// Protected mode, as Redis's: no listening beyond loopback without a
// cluster secret (refused before anything is bound), and query clients
// from loopback only.
TEST(ProtectedMode, NoSecretBeyondLoopbackRefusesToStart) {
  ServerConfig c;
  c.host = "0.0.0.0";
  c.actors = 1;
  auto s = Server::start(c);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(s.status().message().find("--cluster-secret-file"),
            std::string::npos)
      << s.status().message();
  EXPECT_NE(s.status().message().find("--protected-mode no"),
            std::string::npos);
}

TEST(ProtectedMode, WhatCountsAsLoopback) {
  for (const char* a : {"127.0.0.1", "127.3.2.1", "::1", "::ffff:127.0.0.1"}) {
    EXPECT_TRUE(loopback_client(asio::ip::make_address(a))) << a;
    EXPECT_FALSE(beyond_loopback(a)) << a;
  }
  for (const char* a : {"10.1.2.3", "192.168.0.1", "::ffff:10.0.0.1", "fe80::1",
                        "0.0.0.0", "::"}) {
    EXPECT_FALSE(loopback_client(asio::ip::make_address(a))) << a;
    EXPECT_TRUE(beyond_loopback(a)) << a;
  }
  EXPECT_FALSE(beyond_loopback("localhost"));
  EXPECT_TRUE(beyond_loopback("example.org"));  // a name: assume beyond
}

}  // namespace
}  // namespace cmud::server
