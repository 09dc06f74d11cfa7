// Remote tell: two systems in one process over loopback.
#include <gtest/gtest.h>

#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <cstdio>
#include <cstring>
#include <future>
#include <random>
#include <thread>

#include "cmud/actor/system.h"
#include "handshake.h"
#include "test_certs.h"
#include "test_util.h"
#include "transport.h"

namespace cmud::actor {
namespace {

using namespace std::chrono_literals;
using testing::ErrorLog;
using testing::make_system;
using testing::test_config;

constexpr auto kLatency = 200ms;

struct Num {
  int64_t n = 0;
  CMUD_MESSAGE("test.remote.Num", n)
};
struct Go {
  ActorRef to;
  int64_t count = 0;
  CMUD_MESSAGE("test.remote.Go", to, count)
};
struct Done {
  int64_t received = 0;
  bool in_order = false;
  CMUD_MESSAGE("test.remote.Done", received, in_order)
};
struct Blob {
  std::string bytes;
  CMUD_MESSAGE("test.remote.Blob", bytes)
};

// Sends 1..count to `to` on Go.
class Teller : public Actor {
 public:
  explicit Teller(Context& ctx) : ctx_(ctx) {}
  Status on_message(Message& msg) override {
    if (auto* g = msg.as<Go>()) {
      for (int64_t i = 1; i <= g->count; ++i) ctx_.tell(g->to, Num{i});
    }
    return {};
  }

 private:
  Context& ctx_;
};

// Checks 1..expected arrive in order, then tells `done` once.
class Receiver : public Actor {
 public:
  Receiver(Context& ctx, int64_t expected, ActorRef done)
      : ctx_(ctx), expected_(expected), done_(std::move(done)) {}
  Status on_message(Message& msg) override {
    if (auto* n = msg.as<Num>()) {
      if (n->n != received_ + 1) in_order_ = false;
      ++received_;
      if (received_ == expected_) ctx_.tell(done_, Done{received_, in_order_});
    }
    return {};
  }

 private:
  Context& ctx_;
  int64_t expected_;
  ActorRef done_;
  int64_t received_ = 0;
  bool in_order_ = true;
};

SystemConfig remote_config(ErrorLog& log,
                           std::chrono::milliseconds latency = kLatency) {
  auto c = test_config(log);
  c.emulated_latency = latency;
  return c;
}

uint16_t port_of(const System& s) {
  auto colon = s.address().rfind(':');
  return static_cast<uint16_t>(std::stoi(s.address().substr(colon + 1)));
}

// Runs `count` numbers from an actor on a to an actor on b; returns how long
// until the receiver had them all, or nullopt after `budget`.
std::optional<std::chrono::milliseconds> tell_numbers(
    System& a, System& b, int64_t count, std::chrono::milliseconds budget,
    bool* in_order) {
  auto ch = a.channel();
  auto receiver = b.spawn<Receiver>(count, ch.ref);
  auto teller = a.spawn<Teller>();
  auto start = std::chrono::steady_clock::now();
  a.tell(teller, Go{receiver, count});
  if (ch.reply.wait_for(budget) != std::future_status::ready) {
    return std::nullopt;
  }
  auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  auto m = ch.reply.get();
  if (!m.ok() || !m->is<Done>()) return std::nullopt;
  *in_order = m->as<Done>()->in_order;
  return took;
}

TEST(RemoteTell, MessageToARemoteChannelRefArrivesWithin800ms) {
  ErrorLog log;
  auto a = make_system(remote_config(log));
  auto b = make_system(remote_config(log));
  ASSERT_TRUE(a && b);
  auto ch = a->channel();
  auto start = std::chrono::steady_clock::now();
  b->tell(ch.ref, Num{42});
  ASSERT_EQ(ch.reply.wait_for(800ms), std::future_status::ready);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GE(took, kLatency);  // the emulated latency is really added
  auto m = ch.reply.get();
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->as<Num>()->n, 42);
  EXPECT_TRUE(log.empty()) << log.dump();
  EXPECT_GT(a->stats().remote_bytes_received, 0u);
}

TEST(RemoteTell, OneToFiveArriveInOrderWithinFourSeconds) {
  ErrorLog log;
  auto a = make_system(remote_config(log));
  auto b = make_system(remote_config(log));
  ASSERT_TRUE(a && b);
  bool in_order = false;
  auto took = tell_numbers(*a, *b, 5, 4000ms, &in_order);
  ASSERT_TRUE(took.has_value());
  EXPECT_TRUE(in_order);
  EXPECT_TRUE(log.empty()) << log.dump();
}

TEST(RemoteTell, OneToFiveArriveWithin800msSoSendsArePipelined) {
  ErrorLog log;
  auto a = make_system(remote_config(log));
  auto b = make_system(remote_config(log));
  ASSERT_TRUE(a && b);
  bool in_order = false;
  // Five round trips would take 5 x 400 ms; the done message adds one
  // one-way trip back.
  auto took = tell_numbers(*a, *b, 5, 800ms, &in_order);
  ASSERT_TRUE(took.has_value()) << "not all 5 arrived within 800 ms";
  EXPECT_TRUE(in_order);
  EXPECT_TRUE(log.empty()) << log.dump();
}

TEST(RemoteTell, HundredThousandMessagesArriveCompleteAndInOrder) {
  ErrorLog log;
  auto a = make_system(remote_config(log, 0ms));
  auto b = make_system(remote_config(log, 0ms));
  ASSERT_TRUE(a && b);
  bool in_order = false;
  auto took = tell_numbers(*a, *b, 100000, 30s, &in_order);
  ASSERT_TRUE(took.has_value());
  EXPECT_TRUE(in_order);
  EXPECT_TRUE(log.empty()) << log.dump();
  EXPECT_GE(b->stats().remote_bytes_received, 100000u * 8);
}

TEST(RemoteTell, HundredThousandMessagesUnderLatencyKeepOrder) {
  ErrorLog log;
  auto a = make_system(remote_config(log));
  auto b = make_system(remote_config(log));
  ASSERT_TRUE(a && b);
  bool in_order = false;
  auto took = tell_numbers(*a, *b, 100000, 30s, &in_order);
  ASSERT_TRUE(took.has_value());
  EXPECT_TRUE(in_order);
  EXPECT_TRUE(log.empty()) << log.dump();
}

TEST(RemoteTell, BothDirectionsShareTheWork) {
  ErrorLog log;
  auto a = make_system(remote_config(log, 0ms));
  auto b = make_system(remote_config(log, 0ms));
  ASSERT_TRUE(a && b);
  bool ab = false, ba = false;
  auto f1 = std::async(std::launch::async,
                       [&] { return tell_numbers(*a, *b, 2000, 10s, &ab); });
  auto f2 = std::async(std::launch::async,
                       [&] { return tell_numbers(*b, *a, 2000, 10s, &ba); });
  EXPECT_TRUE(f1.get().has_value());
  EXPECT_TRUE(f2.get().has_value());
  EXPECT_TRUE(ab && ba);
  EXPECT_TRUE(log.empty()) << log.dump();
}

// A port nothing listens on (bound, then released), for a system that
// appears at an address dialled before, or again after it died. Below the
// kernel's ephemeral range (32768 up), and below the ranges the process
// tests pick from (tests/lib.sh): there, a connection another test opens
// can take a freed port, and a dial to the dead address can connect to
// itself, so the system could not bind it (seen once in CI).
uint16_t free_port() {
  std::random_device rd;
  std::uniform_int_distribution<int> pick(4000, 7999);
  for (int i = 0; i < 100; ++i) {
    auto port = static_cast<uint16_t>(pick(rd));
    asio::io_context io;
    asio::ip::tcp::acceptor acc(io);
    asio::error_code ec;
    acc.open(asio::ip::tcp::v4(), ec);
    if (!ec) {
      acc.bind(
          asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), port),
          ec);
    }
    if (!ec) return port;
  }
  return 0;  // no port: the systems bind a port of their own, and fail
}

// Starts a system on `port` and checks that `a` reaches it with Num{n};
// null if the port was taken or the message did not arrive in 2 s.
std::unique_ptr<System> appear_at(uint16_t port, ErrorLog& log, System& a,
                                  int64_t n) {
  auto cfg = remote_config(log, 0ms);
  cfg.port = port;
  auto b = make_system(cfg);
  if (!b) return nullptr;
  auto ch = b->channel();
  a.tell(ch.ref, Num{n});
  if (ch.reply.wait_for(2s) != std::future_status::ready) return nullptr;
  auto got = ch.reply.get();
  if (!got.ok() || got->as<Num>() == nullptr || got->as<Num>()->n != n) {
    return nullptr;
  }
  return b;
}

TEST(RemoteTell, UnreachableSystemIsReportedAndALaterSendReconnects) {
  ErrorLog log;
  auto a = make_system(remote_config(log, 0ms));
  ASSERT_TRUE(a);
  uint16_t port = free_port();
  ASSERT_NE(port, 0);
  std::string addr = "127.0.0.1:" + std::to_string(port);
  a->tell(ActorRef(addr, 1), Num{1});
  ASSERT_TRUE(log.wait_for(ErrorCode::kUnavailable, 2s)) << log.dump();

  // Now a system appears there: the next send reaches it.
  ErrorLog blog;
  auto b = appear_at(port, blog, *a, 2);
  ASSERT_TRUE(b) << "port was taken meanwhile, or the send did not arrive";
}

// A dead peer is reported once, not at every retry; once it has answered,
// a new failure is reported again.
TEST(RemoteTell, ADeadPeerIsReportedOncePerEpisode) {
  ErrorLog log;
  auto a = make_system(remote_config(log, 0ms));
  ASSERT_TRUE(a);
  uint16_t port = free_port();
  ASSERT_NE(port, 0);
  std::string addr = "127.0.0.1:" + std::to_string(port);
  auto unavailable = [&] {
    size_t n = 0;
    for (const auto& e : log.errors()) {
      n += e.code() == ErrorCode::kUnavailable ? 1 : 0;
    }
    return n;
  };
  for (int i = 0; i < 5; ++i) {
    a->tell(ActorRef(addr, 1), Num{i});
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(log.wait_for(ErrorCode::kUnavailable, 2s)) << log.dump();
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(unavailable(), 1u) << log.dump();

  ErrorLog blog;
  auto b = appear_at(port, blog, *a, 9);
  ASSERT_TRUE(b) << "port was taken meanwhile, or the send did not arrive";
  b.reset();  // dies again
  for (int i = 0; i < 30 && unavailable() < 2; ++i) {
    a->tell(ActorRef(addr, 1), Num{i});
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(unavailable(), 2u) << log.dump();
}

TEST(RemoteTell, BrokenConnectionIsReportedAndALaterSendReconnects) {
  ErrorLog log;
  auto a = make_system(remote_config(log, 0ms));
  ASSERT_TRUE(a);
  uint16_t port = free_port();
  ASSERT_NE(port, 0);
  {
    ErrorLog blog;
    auto cfg = remote_config(blog, 0ms);
    cfg.port = port;
    auto b = make_system(cfg);
    ASSERT_TRUE(b);
    auto ch = b->channel();
    a->tell(ch.ref, Num{1});
    ASSERT_EQ(ch.reply.wait_for(2s), std::future_status::ready);
  }  // b is gone
  ErrorLog blog;
  auto cfg = remote_config(blog, 0ms);
  cfg.port = port;
  auto b2 = make_system(cfg);
  ASSERT_TRUE(b2);
  // The first send may go to the dead connection and be reported; within a
  // few tries one reaches the new system.
  bool delivered = false;
  for (int i = 0; i < 20 && !delivered; ++i) {
    auto ch = b2->channel();
    a->tell(ch.ref, Num{i});
    delivered = ch.reply.wait_for(200ms) == std::future_status::ready;
  }
  EXPECT_TRUE(delivered);
}

TEST(RemoteTell, OversizedMessageIsRefusedOnSend) {
  ErrorLog log;
  auto cfg = remote_config(log, 0ms);
  cfg.max_frame_bytes = 1024;
  auto a = make_system(cfg);
  auto b = make_system(remote_config(log, 0ms));
  ASSERT_TRUE(a && b);
  auto ch = b->channel();
  a->tell(ch.ref, Blob{std::string(4096, 'x')});
  EXPECT_TRUE(log.wait_for(ErrorCode::kTooLarge, 1s)) << log.dump();
  // The connection still works for messages under the limit.
  auto ch2 = b->channel();
  a->tell(ch2.ref, Blob{"small"});
  ASSERT_EQ(ch2.reply.wait_for(2s), std::future_status::ready);
}

// Raw TCP peer for feeding a system bytes it must refuse.
class RawPeer {
 public:
  explicit RawPeer(uint16_t port) : socket_(io_) {
    asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port);
    socket_.connect(ep);
  }
  void send(const std::string& bytes) {
    asio::write(socket_, asio::buffer(bytes));
  }
  // The next whole frame's body (without its length), or "" when none
  // arrived within `within` or the connection closed.
  std::string read_frame(std::chrono::milliseconds within) {
    socket_.non_blocking(true);
    auto until = std::chrono::steady_clock::now() + within;
    while (std::chrono::steady_clock::now() < until) {
      if (in_.size() >= 4) {
        uint32_t n = 0;
        std::memcpy(&n, in_.data(), 4);
        if (in_.size() >= 4 + size_t{n}) {
          std::string body = in_.substr(4, n);
          in_.erase(0, 4 + size_t{n});
          return body;
        }
      }
      char buf[512];
      asio::error_code ec;
      size_t got = socket_.read_some(asio::buffer(buf), ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) {
        std::this_thread::sleep_for(2ms);
        continue;
      }
      if (ec) return "";
      in_.append(buf, got);
    }
    return "";
  }
  // True once the system has closed the connection (bounded wait).
  bool closed_by_peer(std::chrono::milliseconds within) {
    socket_.non_blocking(true);
    auto until = std::chrono::steady_clock::now() + within;
    char buf[256];
    while (std::chrono::steady_clock::now() < until) {
      asio::error_code ec;
      socket_.read_some(asio::buffer(buf), ec);
      if (ec == asio::error::eof || ec == asio::error::connection_reset) {
        return true;
      }
      std::this_thread::sleep_for(5ms);
    }
    return false;
  }

 private:
  asio::io_context io_;
  asio::ip::tcp::socket socket_;
  std::string in_;
};

std::string frame(const std::string& body) {
  std::string f(4, '\0');
  uint32_t n = static_cast<uint32_t>(body.size());
  std::memcpy(f.data(), &n, 4);
  return f + body;
}

TEST(RemoteTell, GarbageFrameClosesOnlyThatConnection) {
  ErrorLog log;
  auto a = make_system(remote_config(log, 0ms));
  auto b = make_system(remote_config(log, 0ms));
  ASSERT_TRUE(a && b);
  RawPeer raw(port_of(*a));
  raw.send(detail::make_hello_frame("127.0.0.1:1"));
  // A message frame whose wire id names no type.
  std::string body(1, static_cast<char>(detail::kFrameMessage));
  body += std::string(8, '\0') + "\xde\xad\xbe\xef" + "junk";
  raw.send(frame(body));
  EXPECT_TRUE(raw.closed_by_peer(2s));
  EXPECT_TRUE(log.wait_for(ErrorCode::kDecode, 1s)) << log.dump();
  // Everyone else is still served.
  auto ch = a->channel();
  b->tell(ch.ref, Num{3});
  ASSERT_EQ(ch.reply.wait_for(2s), std::future_status::ready);
}

TEST(RemoteTell, OversizedIncomingFrameClosesTheConnection) {
  ErrorLog log;
  auto cfg = remote_config(log, 0ms);
  cfg.max_frame_bytes = 1 << 20;
  auto a = make_system(cfg);
  ASSERT_TRUE(a);
  RawPeer raw(port_of(*a));
  raw.send(detail::make_hello_frame("127.0.0.1:1"));
  std::string header(4, '\0');
  uint32_t huge = 1u << 30;
  std::memcpy(header.data(), &huge, 4);
  raw.send(header);
  EXPECT_TRUE(raw.closed_by_peer(2s));
  EXPECT_TRUE(log.wait_for(ErrorCode::kProtocol, 1s)) << log.dump();
}

TEST(RemoteTell, MessageBeforeHelloOrWrongVersionIsRefused) {
  ErrorLog log;
  auto a = make_system(remote_config(log, 0ms));
  ASSERT_TRUE(a);
  {
    RawPeer raw(port_of(*a));
    std::string body(1, static_cast<char>(detail::kFrameMessage));
    body += std::string(12, '\0');
    raw.send(frame(body));
    EXPECT_TRUE(raw.closed_by_peer(2s));
  }
  {
    RawPeer raw(port_of(*a));
    std::string hello = detail::make_hello_frame("127.0.0.1:1");
    hello[9] = 99;  // version's low byte (after len, kind, magic)
    raw.send(hello);
    EXPECT_TRUE(raw.closed_by_peer(2s));
  }
  EXPECT_TRUE(log.wait_for(ErrorCode::kProtocol, 1s)) << log.dump();
}

TEST(RemoteTell, UnknownRemoteTargetIsReportedOnTheReceiver) {
  ErrorLog alog, blog;
  auto a = make_system(remote_config(alog, 0ms));
  auto b = make_system(remote_config(blog, 0ms));
  ASSERT_TRUE(a && b);
  a->tell(ActorRef(b->address(), 999), Num{1});
  EXPECT_TRUE(blog.wait_for(ErrorCode::kNotFound, 2s)) << blog.dump();
}

// Established TCP connections whose local port is `port` (from /proc).
int established_on(uint16_t port) {
  int n = 0;
  for (const char* path : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::FILE* f = std::fopen(path, "r");
    if (f == nullptr) continue;
    char line[512];
    while (std::fgets(line, sizeof line, f) != nullptr) {
      unsigned local_port = 0, state = 0;
      char local_addr[64];
      if (std::sscanf(line, " %*d: %63[0-9A-Fa-f]:%x %*s %x", local_addr,
                      &local_port, &state) == 3 &&
          local_port == port && state == 1) {
        ++n;
      }
    }
    std::fclose(f);
  }
  return n;
}

TEST(RemoteTell, OneConnectionServesBothDirections) {
  ErrorLog log;
  auto a = make_system(remote_config(log, 0ms));
  auto b = make_system(remote_config(log, 0ms));
  ASSERT_TRUE(a && b);
  // a dials b; b's reply travels back on the same connection.
  auto ch_b = b->channel();
  a->tell(ch_b.ref, Num{1});
  ASSERT_EQ(ch_b.reply.wait_for(2s), std::future_status::ready);
  auto ch_a = a->channel();
  b->tell(ch_a.ref, Num{2});
  ASSERT_EQ(ch_a.reply.wait_for(2s), std::future_status::ready);
  EXPECT_EQ(established_on(port_of(*a)) + established_on(port_of(*b)), 1);
  EXPECT_TRUE(log.empty()) << log.dump();
}

// --- Cluster authentication ----------------------------------------------

constexpr const char* kSecret = "a-cluster-secret-for-the-tests-0123456789";

SystemConfig secret_config(ErrorLog& log, std::string secret) {
  auto c = remote_config(log, 0ms);
  c.cluster_secret = std::move(secret);
  return c;
}

// Sanitizers keep freed memory in quarantine (and shadow it), so resident
// size says nothing under them.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
constexpr bool kRssMeaningful = false;
#else
constexpr bool kRssMeaningful = true;
#endif

// Resident set size of this process, in bytes.
size_t rss_bytes() {
  long pages = 0, resident = 0;
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
  std::fclose(f);
  return static_cast<size_t>(resident) * 4096;
}

TEST(RemoteTell, WhatWaitsForAPeerThatNeverReadsIsBounded) {
  // A "system" that accepts the connection and then never reads.
  asio::io_context io;
  asio::ip::tcp::acceptor acc(
      io, asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  asio::ip::tcp::socket held(io);
  std::thread accepter([&] {
    asio::error_code ec;
    acc.accept(held, ec);
  });
  ErrorLog log;
  auto cfg = remote_config(log, 0ms);
  cfg.max_peer_queue_bytes = 1u << 20;
  auto a = make_system(cfg);
  ASSERT_TRUE(a);
  ActorRef nowhere("127.0.0.1:" + std::to_string(acc.local_endpoint().port()),
                   1);
  size_t before = rss_bytes();
  // 128 MiB of messages; the socket's buffers take a few MiB, the queue at
  // most 1 MiB, the rest is dropped and counted.
  std::string kb64(64 << 10, 'x');
  for (int i = 0; i < 2048; ++i) a->tell(nowhere, Blob{kb64});
  std::this_thread::sleep_for(300ms);
  Stats st = a->stats();
  EXPECT_GT(st.dropped_queue_full, 1500u);
  if (kRssMeaningful) {
    EXPECT_LT(rss_bytes(), before + (48u << 20))
        << "grew by " << (rss_bytes() - before) / 1024 << " KiB";
  }
  // Reported once for the episode, not once per message.
  size_t reports = 0;
  for (const auto& e : log.errors()) {
    reports += e.message().find("bytes wait for it") != std::string::npos;
  }
  EXPECT_EQ(reports, 1u) << log.dump();
  a->close();
  accepter.join();
}

TEST(ClusterAuth, SystemsSharingTheSecretTalkBothWays) {
  ErrorLog log;
  auto a = make_system(secret_config(log, kSecret));
  auto b = make_system(secret_config(log, kSecret));
  ASSERT_TRUE(a && b);
  bool in_order = false;
  ASSERT_TRUE(tell_numbers(*a, *b, 10000, 5s, &in_order));
  EXPECT_TRUE(in_order);
  ASSERT_TRUE(tell_numbers(*b, *a, 10000, 5s, &in_order));
  EXPECT_TRUE(in_order);
  EXPECT_EQ(a->stats().auth_failures + b->stats().auth_failures, 0u);
  EXPECT_TRUE(log.empty()) << log.dump();
}

TEST(ClusterAuth, DifferentSecretsDeliverNothingAndAreCountedAndLogged) {
  ErrorLog alog, blog;
  auto a = make_system(secret_config(alog, kSecret));
  auto b =
      make_system(secret_config(blog, "another-secret-entirely-987654321"));
  ASSERT_TRUE(a && b);
  auto ch = a->channel();
  b->tell(ch.ref, Num{1});
  EXPECT_EQ(ch.reply.wait_for(500ms), std::future_status::timeout);
  // b dialled a: a answered with a proof b could not check.
  EXPECT_TRUE(blog.wait_for(ErrorCode::kProtocol, 2s)) << blog.dump();
  EXPECT_NE(blog.dump().find("does not know the cluster secret"),
            std::string::npos)
      << blog.dump();
  EXPECT_GE(b->stats().auth_failures, 1u);
}

TEST(ClusterAuth, ASystemWithoutTheSecretCanNeitherSendNorReceive) {
  ErrorLog alog, blog;
  auto a = make_system(secret_config(alog, kSecret));
  auto b = make_system(remote_config(blog, 0ms));  // no secret
  ASSERT_TRUE(a && b);
  auto to_a = a->channel();
  b->tell(to_a.ref, Num{1});
  EXPECT_EQ(to_a.reply.wait_for(500ms), std::future_status::timeout);
  EXPECT_TRUE(alog.wait_for(ErrorCode::kProtocol, 2s)) << alog.dump();
  EXPECT_NE(alog.dump().find("has no cluster secret"), std::string::npos);
  auto to_b = b->channel();
  a->tell(to_b.ref, Num{2});
  EXPECT_EQ(to_b.reply.wait_for(500ms), std::future_status::timeout);
  EXPECT_NE(blog.dump().find("expects a cluster secret"), std::string::npos)
      << blog.dump();
  EXPECT_GE(a->stats().auth_failures, 1u);
  EXPECT_GE(b->stats().auth_failures, 1u);
}

// The forged sync batch of the security review, at the runtime level: a
// stranger that says hello and then sends a message frame.
TEST(ClusterAuth, AForgedMessageFromAStrangerIsNeverDelivered) {
  ErrorLog log;
  auto a = make_system(secret_config(log, kSecret));
  ASSERT_TRUE(a);
  auto target = a->channel();
  std::string forged(1, static_cast<char>(detail::kFrameMessage));
  uint64_t id = target.ref.id();
  uint32_t wire = message_type<Num>().wire_id;
  forged.append(reinterpret_cast<const char*>(&id), 8);
  forged.append(reinterpret_cast<const char*>(&wire), 4);
  codec::encode(Num{666}, forged);
  {  // A hello with a made-up nonce, then the message instead of a proof.
    RawPeer raw(port_of(*a));
    raw.send(detail::make_hello_frame("127.0.0.1:1", std::string(32, 'n')));
    std::string challenge = raw.read_frame(2s);
    ASSERT_EQ(challenge.size(), 1u + 32 + 1 + 32);  // kind, nonce, flags, mac
    EXPECT_EQ(challenge[0], static_cast<char>(detail::kFrameChallenge));
    raw.send(frame(forged));
    EXPECT_TRUE(raw.closed_by_peer(2s));
  }
  {  // A made-up proof.
    RawPeer raw(port_of(*a));
    raw.send(detail::make_hello_frame("127.0.0.1:1", std::string(32, 'n')));
    ASSERT_FALSE(raw.read_frame(2s).empty());
    raw.send(frame(std::string(1, static_cast<char>(detail::kFrameProof)) +
                   std::string(32, 'p')) +
             frame(forged));
    EXPECT_TRUE(raw.closed_by_peer(2s));
  }
  {  // No hello at all.
    RawPeer raw(port_of(*a));
    raw.send(frame(forged));
    EXPECT_TRUE(raw.closed_by_peer(2s));
  }
  EXPECT_EQ(target.reply.wait_for(200ms), std::future_status::timeout);
  EXPECT_EQ(a->stats().auth_failures, 3u);
}

TEST(ClusterAuth, AGiantFrameLengthBeforeTheHandshakeIsRefusedAtOnce) {
  ErrorLog log;
  auto a = make_system(secret_config(log, kSecret));
  ASSERT_TRUE(a);
  std::vector<std::unique_ptr<RawPeer>> peers;
  for (int i = 0; i < 16; ++i) {
    peers.push_back(std::make_unique<RawPeer>(port_of(*a)));
    std::string header(4, '\0');
    uint32_t huge = 64u << 20;
    std::memcpy(header.data(), &huge, 4);
    peers.back()->send(header);
  }
  for (auto& p : peers) EXPECT_TRUE(p->closed_by_peer(2s));
  EXPECT_EQ(a->stats().auth_failures, 16u);
  EXPECT_NE(log.dump().find("handshake frame of 67108864 bytes refused"),
            std::string::npos)
      << log.dump();
}

TEST(ClusterAuth, ASilentConnectionIsClosedAfterTheHandshakeTimeout) {
  ErrorLog log;
  auto cfg = secret_config(log, kSecret);
  cfg.handshake_timeout = 200ms;
  auto a = make_system(cfg);
  ASSERT_TRUE(a);
  RawPeer raw(port_of(*a));
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(raw.closed_by_peer(3s));
  EXPECT_GE(std::chrono::steady_clock::now() - start, 150ms);
  EXPECT_EQ(a->stats().auth_failures, 1u);
}

TEST(ClusterAuth, WithoutASecretAStrangerMustStillSayHelloInTime) {
  ErrorLog log;
  auto cfg = remote_config(log, 0ms);
  cfg.handshake_timeout = 200ms;
  auto a = make_system(cfg);
  ASSERT_TRUE(a);
  RawPeer raw(port_of(*a));
  EXPECT_TRUE(raw.closed_by_peer(3s));
}

TEST(FrameMacs, MembersTalkWithMacsOnEveryFrame) {
  ErrorLog log;
  auto cfg = secret_config(log, kSecret);
  cfg.frame_macs = FrameMacs::kAlways;
  auto a = make_system(cfg);
  auto b = make_system(secret_config(log, kSecret));  // kAuto: a asks
  ASSERT_TRUE(a && b);
  bool in_order = false;
  ASSERT_TRUE(tell_numbers(*a, *b, 20000, 5s, &in_order));
  EXPECT_TRUE(in_order);
  ASSERT_TRUE(tell_numbers(*b, *a, 20000, 5s, &in_order));
  EXPECT_TRUE(in_order);
  EXPECT_TRUE(log.empty()) << log.dump();
}

// A member that knows the secret, by hand: completes the handshake asking
// for frame MACs, then sends frames with good, bad and replayed MACs.
class HandMember {
 public:
  explicit HandMember(uint16_t port) : raw_(port) {}
  bool handshake() {
    nonce_ = detail::random_nonce();
    std::string nonce(reinterpret_cast<const char*>(nonce_.data()), 32);
    raw_.send(detail::make_hello_frame(kSelf, nonce, detail::kFlagFrameMacs));
    std::string ch = raw_.read_frame(2s);
    if (ch.size() != 1 + 32 + 1 + 32) return false;
    std::copy(ch.begin() + 1, ch.begin() + 33, theirs_.begin());
    auto flags = static_cast<uint8_t>(ch[33]);
    if (flags != detail::kFlagFrameMacs) return false;
    detail::Mac proof =
        detail::dial_proof(kSecret, nonce_, theirs_, kSelf, flags);
    raw_.send(frame(std::string(1, static_cast<char>(detail::kFrameProof)) +
                    std::string(reinterpret_cast<const char*>(proof.data()),
                                proof.size())));
    key_ = detail::frame_key(kSecret, nonce_, theirs_, kSelf, true);
    return true;
  }
  // A message frame for `to`, MACed with sequence number `seq` (or, with
  // corrupt, a MAC with one bit flipped).
  void send(const ActorRef& to, int64_t n, uint64_t seq, bool corrupt = false) {
    std::string f(1, static_cast<char>(detail::kFrameMessage));
    uint64_t id = to.id();
    uint32_t wire = message_type<Num>().wire_id;
    f.append(reinterpret_cast<const char*>(&id), 8);
    f.append(reinterpret_cast<const char*>(&wire), 4);
    codec::encode(Num{n}, f);
    std::string with = f;
    detail::append_frame_mac(key_, seq, f, with);
    if (corrupt) with.back() ^= 1;
    raw_.send(frame(with));
  }
  RawPeer& raw() { return raw_; }

 private:
  static constexpr const char* kSelf = "127.0.0.1:1";
  RawPeer raw_;
  detail::Nonce nonce_{};
  detail::Nonce theirs_{};
  detail::Mac key_{};
};

TEST(FrameMacs, AChangedFrameIsRefusedAndClosesTheConnection) {
  ErrorLog log;
  auto cfg = secret_config(log, kSecret);
  auto a = make_system(cfg);
  ASSERT_TRUE(a);
  HandMember m(port_of(*a));
  ASSERT_TRUE(m.handshake());
  auto good = a->channel();
  m.send(good.ref, 1, 0);
  ASSERT_EQ(good.reply.wait_for(2s), std::future_status::ready);
  EXPECT_EQ(good.reply.get()->as<Num>()->n, 1);
  auto bad = a->channel();
  m.send(bad.ref, 2, 1, /*corrupt=*/true);
  EXPECT_TRUE(m.raw().closed_by_peer(2s));
  EXPECT_EQ(bad.reply.wait_for(100ms), std::future_status::timeout);
  EXPECT_EQ(a->stats().auth_failures, 1u);
  EXPECT_NE(log.dump().find("MAC does not check"), std::string::npos)
      << log.dump();
}

TEST(FrameMacs, AReplayedOrReorderedFrameIsRefused) {
  ErrorLog log;
  auto a = make_system(secret_config(log, kSecret));
  ASSERT_TRUE(a);
  HandMember m(port_of(*a));
  ASSERT_TRUE(m.handshake());
  auto first = a->channel();
  m.send(first.ref, 1, 0);
  ASSERT_EQ(first.reply.wait_for(2s), std::future_status::ready);
  auto again = a->channel();
  m.send(again.ref, 1, 0);  // sequence 0 again: a replay
  EXPECT_TRUE(m.raw().closed_by_peer(2s));
  EXPECT_EQ(again.reply.wait_for(100ms), std::future_status::timeout);
  EXPECT_EQ(a->stats().auth_failures, 1u);
}

// --- TLS between systems -----------------------------------------------------

class ClusterTls : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { certs_ = new tls::testing::TempCerts(); }
  static void TearDownTestSuite() {
    delete certs_;
    certs_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(certs_->ok()) << certs_->error().to_string();
  }
  // A system whose links are TLS with `cert`/`key` (the CA's files).
  static SystemConfig tls_config(ErrorLog& log, const std::string& cert,
                                 const std::string& key) {
    auto c = remote_config(log, 0ms);
    c.cluster_tls = tls::TlsOptions{
        .cert_file = cert, .key_file = key, .ca_cert_file = (*certs_)->ca_cert};
    return c;
  }
  static SystemConfig member(ErrorLog& log, bool second = false) {
    return second
               ? tls_config(log, (*certs_)->client_cert, (*certs_)->client_key)
               : tls_config(log, (*certs_)->server_cert, (*certs_)->server_key);
  }
  // Nothing gets through either way between a and b; both sides see it.
  static void expect_no_link(System& a, System& b, ErrorLog& alog,
                             ErrorLog& blog) {
    auto to_a = a.channel();
    b.tell(to_a.ref, Num{1});
    auto to_b = b.channel();
    a.tell(to_b.ref, Num{2});
    EXPECT_EQ(to_a.reply.wait_for(500ms), std::future_status::timeout);
    EXPECT_EQ(to_b.reply.wait_for(100ms), std::future_status::timeout);
    EXPECT_TRUE(alog.wait_for(ErrorCode::kProtocol, 2s)) << alog.dump();
    EXPECT_TRUE(blog.wait_for(ErrorCode::kProtocol, 2s) ||
                blog.wait_for(ErrorCode::kUnavailable, 1s))
        << blog.dump();
  }
  static tls::testing::TempCerts* certs_;
};

tls::testing::TempCerts* ClusterTls::certs_ = nullptr;

TEST_F(ClusterTls, MembersTalkBothWaysOverTls) {
  ErrorLog log;
  auto a = make_system(member(log));
  auto b = make_system(member(log, true));
  ASSERT_TRUE(a && b);
  bool in_order = false;
  ASSERT_TRUE(tell_numbers(*a, *b, 20000, 5s, &in_order));
  EXPECT_TRUE(in_order);
  ASSERT_TRUE(tell_numbers(*b, *a, 20000, 5s, &in_order));
  EXPECT_TRUE(in_order);
  EXPECT_EQ(a->stats().auth_failures + b->stats().auth_failures, 0u);
  EXPECT_TRUE(log.empty()) << log.dump();
}

TEST_F(ClusterTls, WithTheClusterSecretTooBothChecksPass) {
  ErrorLog log;
  auto ca = member(log);
  ca.cluster_secret = kSecret;
  ca.frame_macs = FrameMacs::kAlways;  // and MACs inside TLS still agree
  auto cb = member(log, true);
  cb.cluster_secret = kSecret;
  auto a = make_system(ca);
  auto b = make_system(cb);
  ASSERT_TRUE(a && b);
  bool in_order = false;
  ASSERT_TRUE(tell_numbers(*a, *b, 5000, 5s, &in_order));
  ASSERT_TRUE(tell_numbers(*b, *a, 5000, 5s, &in_order));
  EXPECT_TRUE(log.empty()) << log.dump();
}

TEST_F(ClusterTls, SelfSignedOrExpiredCertificatesAreRefusedBothWays) {
  for (bool expired : {false, true}) {
    SCOPED_TRACE(expired ? "expired" : "self-signed");
    ErrorLog alog, blog;
    auto a = make_system(member(alog));
    auto b = make_system(expired ? tls_config(blog, (*certs_)->expired_cert,
                                              (*certs_)->expired_key)
                                 : tls_config(blog, (*certs_)->self_signed_cert,
                                              (*certs_)->self_signed_key));
    ASSERT_TRUE(a && b);
    expect_no_link(*a, *b, alog, blog);
    EXPECT_NE(alog.dump().find("TLS handshake failed"), std::string::npos)
        << alog.dump();
    EXPECT_NE(alog.dump().find(expired ? "expired" : "self"), std::string::npos)
        << alog.dump();
    EXPECT_GE(a->stats().auth_failures, 1u);
  }
}

TEST_F(ClusterTls, APlainSystemCanNeitherSendNorReceive) {
  ErrorLog alog, blog;
  auto a = make_system(member(alog));
  auto b = make_system(remote_config(blog, 0ms));
  ASSERT_TRUE(a && b);
  expect_no_link(*a, *b, alog, blog);
  EXPECT_GE(a->stats().auth_failures, 1u);
}

TEST_F(ClusterTls, AStrangerThatNeverHandshakesIsClosedInTime) {
  ErrorLog log;
  auto cfg = member(log);
  cfg.handshake_timeout = 200ms;
  auto a = make_system(cfg);
  ASSERT_TRUE(a);
  RawPeer raw(port_of(*a));
  EXPECT_TRUE(raw.closed_by_peer(3s));
  EXPECT_EQ(a->stats().auth_failures, 1u);
}

TEST_F(ClusterTls, ASystemWithoutACaOrWithAMissingFileDoesNotStart) {
  ErrorLog log;
  auto cfg = member(log);
  cfg.cluster_tls->ca_cert_file.clear();
  auto s = System::create(cfg);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("--tls-ca-cert-file"), std::string::npos);
  cfg = member(log);
  cfg.cluster_tls->cert_file = certs_->dir() + "/nowhere.crt";
  s = System::create(cfg);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("nowhere.crt"), std::string::npos);
}

}  // namespace
}  // namespace cmud::actor
