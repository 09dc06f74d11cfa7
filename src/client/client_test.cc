// Client tests against a fake RESP query server (FakeServer below), plus the
// routers and parse_addrs.
#include <gtest/gtest.h>

#include <array>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/write.hpp>
#include <atomic>
#include <deque>
#include <future>
#include <map>
#include <set>
#include <thread>

#include "cmud/client/client.h"
#include "cmud/resp/resp.h"

namespace cmud::client {
namespace {

using asio::ip::tcp;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// No test waits longer than this for anything; a wait that runs out aborts
// the binary with a message instead of hanging it.
constexpr auto kWaitLimit = 30s;

template <class T>
T await(std::future<T>& f) {
  if (f.wait_for(kWaitLimit) != std::future_status::ready) {
    ADD_FAILURE() << "a future was not ready within the wait limit";
    std::abort();
  }
  return f.get();
}

// A RESP server on 127.0.0.1 (ephemeral port) with its own I/O thread,
// answering GET / SET / LIST / DEL from a std::map. Each connection's
// commands are answered in order, `delay` after they arrive; connections
// are served concurrently. Some GET keys misbehave on purpose:
//   __error      -> an error reply "-ERR boom"
//   __malformed  -> bytes that are not RESP
//   __close      -> the connection is closed without a reply
//   __hang       -> no reply, ever (the connection stays open)
//   __slow       -> a null reply after 2.5 s
//   __int        -> an integer reply (well framed, the wrong type)
// and LIST __odd answers an array of one element (no value for its key).
// PING answers PONG; CLOCK [n] a counter raised to n (as a CMUD server's
// hybrid clock; off: the command is unknown, as on Redis). kill() closes
// every connection and the port (connections are refused), revive() opens
// the same port again; pause() holds every answer, as a stopped process
// that the kernel still accepts connections for, until resume().
// Thread-safe.
class FakeServer {
 public:
  FakeServer()
      : acceptor_(io_, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    accept();
    thread_ = std::thread([this] { io_.run(); });
  }
  ~FakeServer() {
    io_.stop();
    thread_.join();
  }

  void kill() {
    on_io([this] {
      asio::error_code ignored;
      acceptor_.close(ignored);
      for (auto& w : sessions_) {
        if (auto s = w.lock()) s->close();
      }
      sessions_.clear();
    });
  }
  void revive() {
    on_io([this] {
      const tcp::endpoint at(asio::ip::make_address("127.0.0.1"), port_);
      acceptor_.open(at.protocol());
      acceptor_.set_option(tcp::acceptor::reuse_address(true));
      acceptor_.bind(at);
      acceptor_.listen();
      accept();
    });
  }
  void pause() { paused_ = true; }
  void resume() { paused_ = false; }
  void set_clock(int64_t c) { clock_ = c; }
  void set_clock_supported(bool on) { clock_supported_ = on; }
  int64_t clock() const { return clock_.load(); }

  std::string addr() const {
    return "127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
  }
  int requests() const { return requests_.load(); }
  int connections() const { return connections_.load(); }
  void set_delay(std::chrono::milliseconds d) { delay_ms_ = d.count(); }
  void set(const std::string& key, const std::string& value) {
    std::lock_guard lock(mu_);
    data_[key] = value;
  }
  std::optional<std::string> value(const std::string& key) {
    std::lock_guard lock(mu_);
    auto it = data_.find(key);
    if (it == data_.end()) return std::nullopt;
    return it->second;
  }
  // Every command received, in arrival order.
  std::vector<std::vector<std::string>> commands() {
    std::lock_guard lock(mu_);
    return commands_;
  }

 private:
  enum class Action { kReply, kClose, kHang };
  struct Answer {
    Clock::time_point due;
    Action action = Action::kReply;
    std::string bytes;
  };

  // One accepted connection. Server I/O thread only.
  class Session : public std::enable_shared_from_this<Session> {
   public:
    Session(FakeServer& server, tcp::socket socket)
        : server_(server), socket_(std::move(socket)), timer_(server.io_) {}

    void start() { read(); }

    void close() {
      closed_ = true;
      asio::error_code ignored;
      socket_.close(ignored);
      timer_.cancel();
    }

   private:
    void read() {
      socket_.async_read_some(
          asio::buffer(buf_),
          [self = shared_from_this()](const asio::error_code& ec, size_t n) {
            if (ec || self->closed_) return;
            self->in_.append(self->buf_.data(), n);
            if (!self->parse()) return;
            self->pump();
            self->read();
          });
    }

    bool parse() {
      size_t pos = 0;
      while (pos < in_.size()) {
        auto p = resp::parse_command(std::string_view(in_).substr(pos));
        if (p.outcome == resp::Outcome::kNeedMore) break;
        if (p.outcome == resp::Outcome::kError) {
          close();
          return false;
        }
        pos += p.consumed;
        if (p.args.empty()) continue;
        std::vector<std::string> args(p.args.begin(), p.args.end());
        queue_.push_back(server_.answer(args));
      }
      in_.erase(0, pos);
      return true;
    }

    // Sends the queued answers in order, each no earlier than its due time.
    void pump() {
      if (busy_ || closed_ || queue_.empty()) return;
      Answer& a = queue_.front();
      if (a.action == Action::kHang) return;
      if (Clock::now() < a.due || server_.paused_) {
        busy_ = true;
        timer_.expires_at(std::max(a.due, Clock::now() + 10ms));
        timer_.async_wait([self = shared_from_this()](const asio::error_code&) {
          self->busy_ = false;
          self->pump();
        });
        return;
      }
      if (a.action == Action::kClose) {
        close();
        return;
      }
      busy_ = true;
      out_ = std::move(a.bytes);
      queue_.pop_front();
      asio::async_write(
          socket_, asio::buffer(out_),
          [self = shared_from_this()](const asio::error_code& ec, size_t) {
            self->busy_ = false;
            if (ec) {
              self->close();
              return;
            }
            self->pump();
          });
    }

    FakeServer& server_;
    tcp::socket socket_;
    asio::steady_timer timer_;
    std::array<char, 64 * 1024> buf_;
    std::string in_;
    std::string out_;
    std::deque<Answer> queue_;
    bool busy_ = false;
    bool closed_ = false;
  };

  void accept() {
    acceptor_.async_accept([this](const asio::error_code& ec, tcp::socket s) {
      if (ec) return;
      ++connections_;
      asio::error_code ignored;
      s.set_option(tcp::no_delay(true), ignored);
      auto session = std::make_shared<Session>(*this, std::move(s));
      std::erase_if(sessions_, [](const auto& w) { return w.expired(); });
      sessions_.push_back(session);
      session->start();
      accept();
    });
  }

  Answer answer(const std::vector<std::string>& args) {
    ++requests_;
    Answer a;
    a.due = Clock::now() + std::chrono::milliseconds(delay_ms_.load());
    resp::ReplyWriter w(a.bytes);
    std::lock_guard lock(mu_);
    commands_.push_back(args);
    const std::string& cmd = args[0];
    if (cmd == "GET" && args.size() == 2) {
      const std::string& key = args[1];
      if (key == "__error") {
        w.error("ERR boom");
      } else if (key == "__malformed") {
        a.bytes = "?this is not RESP\r\n";
      } else if (key == "__int") {
        w.integer(5);
      } else if (key == "__close") {
        a.action = Action::kClose;
      } else if (key == "__hang") {
        a.action = Action::kHang;
      } else if (key == "__slow") {
        a.due = Clock::now() + 2500ms;
        w.null();
      } else if (auto it = data_.find(key); it != data_.end()) {
        w.bulk(it->second);
      } else {
        w.null();
      }
    } else if (cmd == "SET" && args.size() == 3) {
      data_[args[1]] = args[2];
      w.simple("OK");
    } else if (cmd == "LIST" && args.size() == 2 && args[1] == "__odd") {
      w.array(1);
      w.bulk("lonely key");
    } else if (cmd == "LIST" && args.size() == 2) {
      const std::string& prefix = args[1];
      std::vector<const std::pair<const std::string, std::string>*> hits;
      for (auto it = data_.lower_bound(prefix);
           it != data_.end() && it->first.starts_with(prefix); ++it) {
        hits.push_back(&*it);
      }
      w.array(hits.size() * 2);
      for (const auto* kv : hits) {
        w.bulk(kv->first);
        w.bulk(kv->second);
      }
    } else if (cmd == "DEL" && args.size() == 2) {
      w.integer(data_.erase(args[1]) > 0 ? 1 : 0);
    } else if (cmd == "PING" && args.size() == 1) {
      w.simple("PONG");
    } else if (cmd == "CLOCK" && args.size() <= 2 && clock_supported_) {
      if (args.size() == 2) {
        clock_ = std::max<int64_t>(clock_, std::stoll(args[1]));
      }
      w.integer(clock_);
    } else {
      w.error("ERR unknown command '" + cmd + "'");
    }
    return a;
  }

  // Runs f on the server's I/O thread and waits for it.
  template <class F>
  void on_io(F f) {
    std::promise<void> done;
    asio::post(io_, [&] {
      f();
      done.set_value();
    });
    done.get_future().wait();
  }

  asio::io_context io_;
  // Keeps run() going while killed (nothing to wait for).
  asio::executor_work_guard<asio::io_context::executor_type> work_ =
      asio::make_work_guard(io_);
  tcp::acceptor acceptor_;
  const uint16_t port_ = acceptor_.local_endpoint().port();
  std::vector<std::weak_ptr<Session>> sessions_;  // I/O thread only
  std::atomic<bool> paused_{false};
  std::atomic<int64_t> clock_{1000};
  std::atomic<bool> clock_supported_{true};
  std::thread thread_;
  std::atomic<int> requests_{0};
  std::atomic<int> connections_{0};
  std::atomic<int64_t> delay_ms_{0};
  std::mutex mu_;
  std::map<std::string, std::string> data_;         // guarded by mu_
  std::vector<std::vector<std::string>> commands_;  // guarded by mu_
};

std::shared_ptr<Router> fixed(const FakeServer& s) {
  return std::make_shared<FixedRouter>(s.addr());
}

// An address where nothing listens: a port that was just free.
std::string closed_port_addr() {
  asio::io_context io;
  tcp::acceptor a(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  const auto port = a.local_endpoint().port();
  a.close();
  return "127.0.0.1:" + std::to_string(port);
}

// --- The original tests -----------------------------------------------

TEST(Client, GetReturnsThePresentValue) {
  FakeServer server;
  server.set("foo", "bar");
  Client client(fixed(server));
  auto v = client.get("foo");
  ASSERT_TRUE(v.ok()) << v.status().to_string();
  ASSERT_TRUE(v->has_value());
  EXPECT_EQ(**v, "bar");
  EXPECT_EQ(server.requests(), 1);
}

TEST(Client, ListReturnsExactlyThePairsUnderThePrefix) {
  FakeServer server;
  server.set("foo1", "one");
  server.set("foo2", "two");
  server.set("fo", "not me");
  server.set("goo", "nor me");
  Client client(fixed(server));
  auto v = client.list("foo");
  ASSERT_TRUE(v.ok()) << v.status().to_string();
  EXPECT_EQ(*v, (KeyValues{{"foo1", "one"}, {"foo2", "two"}}));
  EXPECT_EQ(server.requests(), 1);
}

TEST(Client, PutSucceedsAndStoresTheValue) {
  FakeServer server;
  Client client(fixed(server));
  Status s = client.put("cat/name", "charlie");
  ASSERT_TRUE(s.ok()) << s.to_string();
  EXPECT_EQ(server.value("cat/name"), "charlie");
  EXPECT_EQ(server.requests(), 1);
}

TEST(Client, EachCallMakesExactlyOneRequestWithItsCommand) {
  FakeServer server;
  Client client(fixed(server));
  ASSERT_TRUE(client.put("k", "v").ok());
  EXPECT_EQ(server.requests(), 1);
  ASSERT_TRUE(client.get("k").ok());
  EXPECT_EQ(server.requests(), 2);
  ASSERT_TRUE(client.list("k").ok());
  EXPECT_EQ(server.requests(), 3);
  ASSERT_TRUE(client.del("k").ok());
  EXPECT_EQ(server.requests(), 4);
  using Args = std::vector<std::string>;
  EXPECT_EQ(server.commands(),
            (std::vector<Args>{Args{"SET", "k", "v"}, Args{"GET", "k"},
                               Args{"LIST", "k"}, Args{"DEL", "k"}}));
}

TEST(Client, RoundRobinBalancesSequentialGetsOverThreeServers) {
  FakeServer s1, s2, s3;
  for (auto* s : {&s1, &s2, &s3}) s->set("foo", "bar");
  Client client(std::make_shared<RoundRobinRouter>(
      std::vector<std::string>{s1.addr(), s2.addr(), s3.addr()}));
  const std::vector<std::array<int, 3>> expected = {
      {1, 0, 0}, {1, 1, 0}, {1, 1, 1}};
  for (const auto& counts : expected) {
    auto v = client.get("foo");
    ASSERT_TRUE(v.ok()) << v.status().to_string();
    EXPECT_EQ(v->value_or(""), "bar");
    EXPECT_EQ(s1.requests(), counts[0]);
    EXPECT_EQ(s2.requests(), counts[1]);
    EXPECT_EQ(s3.requests(), counts[2]);
  }
}

TEST(Client, SequentialGetsReturnTheirOwnValues) {
  FakeServer server;
  server.set("a", "1");
  server.set("b", "2");
  server.set("c", "3");
  Client client(fixed(server));
  for (auto [key, want] : {std::pair{"a", "1"}, {"b", "2"}, {"c", "3"}}) {
    auto v = client.get(key);
    ASSERT_TRUE(v.ok()) << v.status().to_string();
    EXPECT_EQ(v->value_or(""), want);
  }
  EXPECT_EQ(server.requests(), 3);
}

TEST(Client, ThreeConcurrentGetsOnASlowServerFinishWithinFourSeconds) {
  FakeServer server;
  server.set("a", "1");
  server.set("b", "2");
  server.set("c", "3");
  server.set_delay(2s);
  Client client(fixed(server));
  const auto start = Clock::now();
  std::vector<std::string> got(3);
  std::vector<std::thread> threads;
  const std::vector<std::string> keys = {"a", "b", "c"};
  for (size_t i = 0; i < keys.size(); ++i) {
    threads.emplace_back([&, i] {
      auto v = client.get(keys[i]);
      got[i] = v.ok() ? v->value_or("<absent>") : v.status().to_string();
    });
  }
  for (auto& t : threads) t.join();
  const auto took = Clock::now() - start;
  EXPECT_EQ(got, (std::vector<std::string>{"1", "2", "3"}));
  EXPECT_LT(took, 4s);
  EXPECT_GE(took, 2s);
  EXPECT_EQ(server.requests(), 3);
}

// --- Replies -------------------------------------------------------------

TEST(Client, GetOfAnAbsentKeyIsNullopt) {
  FakeServer server;
  Client client(fixed(server));
  auto v = client.get("nope");
  ASSERT_TRUE(v.ok()) << v.status().to_string();
  EXPECT_FALSE(v->has_value());
}

TEST(Client, ListOfNothingIsAnEmptyResult) {
  FakeServer server;
  server.set("cat", "x");
  Client client(fixed(server));
  auto v = client.list("dog/");
  ASSERT_TRUE(v.ok()) << v.status().to_string();
  EXPECT_TRUE(v->empty());
}

TEST(Client, ListWithAnEmptyPrefixReturnsEverythingSorted) {
  FakeServer server;
  server.set("b", "2");
  server.set("a", "1");
  server.set("c", "3");
  Client client(fixed(server));
  auto v = client.list("");
  ASSERT_TRUE(v.ok()) << v.status().to_string();
  EXPECT_EQ(*v, (KeyValues{{"a", "1"}, {"b", "2"}, {"c", "3"}}));
}

TEST(Client, DelTellsWhetherTheKeyExisted) {
  FakeServer server;
  server.set("k", "v");
  Client client(fixed(server));
  auto first = client.del("k");
  ASSERT_TRUE(first.ok()) << first.status().to_string();
  EXPECT_TRUE(*first);
  EXPECT_FALSE(server.value("k").has_value());
  auto second = client.del("k");
  ASSERT_TRUE(second.ok()) << second.status().to_string();
  EXPECT_FALSE(*second);
}

TEST(Client, AnErrorReplyIsInternalWithTheServersText) {
  FakeServer server;
  Client client(fixed(server));
  auto v = client.get("__error");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), ErrorCode::kInternal);
  EXPECT_EQ(v.status().message(), "ERR boom");
  // The connection is still good.
  server.set("k", "v");
  auto again = client.get("k");
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  EXPECT_EQ(again->value_or(""), "v");
  EXPECT_EQ(server.connections(), 1);
}

TEST(Client, AMalformedReplyIsAProtocolErrorAndTheNextRequestReconnects) {
  FakeServer server;
  server.set("k", "v");
  Client client(fixed(server));
  auto bad = client.get("__malformed");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), ErrorCode::kProtocol);
  auto good = client.get("k");
  ASSERT_TRUE(good.ok()) << good.status().to_string();
  EXPECT_EQ(good->value_or(""), "v");
  EXPECT_EQ(server.connections(), 2);
}

TEST(Client, AWellFramedReplyOfTheWrongShapeIsAProtocolErrorOnALiveConnection) {
  FakeServer server;
  server.set("k", "v");
  Client client(fixed(server));
  auto i = client.get("__int");
  ASSERT_FALSE(i.ok());
  EXPECT_EQ(i.status().code(), ErrorCode::kProtocol);
  auto odd = client.list("__odd");
  ASSERT_FALSE(odd.ok());
  EXPECT_EQ(odd.status().code(), ErrorCode::kProtocol);
  auto good = client.get("k");
  ASSERT_TRUE(good.ok()) << good.status().to_string();
  EXPECT_EQ(good->value_or(""), "v");
  EXPECT_EQ(server.connections(), 1);
}

TEST(Client, KeysAndValuesAreBinarySafe) {
  FakeServer server;
  Client client(fixed(server));
  const std::string key("a\0b\r\nc $3\r\n", 11);
  const std::string value("\r\n\0\0-ERR x\r\n*2\r\n", 17);
  ASSERT_TRUE(client.put(key, value).ok());
  EXPECT_EQ(server.value(key), value);
  auto v = client.get(key);
  ASSERT_TRUE(v.ok()) << v.status().to_string();
  EXPECT_EQ(v->value_or(""), value);
  auto l = client.list(std::string("a\0", 2));
  ASSERT_TRUE(l.ok()) << l.status().to_string();
  EXPECT_EQ(*l, (KeyValues{{key, value}}));
}

TEST(Client, AOneMegabyteValueRoundTrips) {
  FakeServer server;
  Client client(fixed(server));
  std::string big(1 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7);
  ASSERT_TRUE(client.put("big", big).ok());
  auto v = client.get("big");
  ASSERT_TRUE(v.ok()) << v.status().to_string();
  ASSERT_TRUE(v->has_value());
  EXPECT_TRUE(**v == big);
}

// --- Failures ------------------------------------------------------------

TEST(Client, AnUnreachableAddressIsUnavailableQuickly) {
  Client client(std::make_shared<FixedRouter>(closed_port_addr()));
  const auto start = Clock::now();
  auto v = client.get("k");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), ErrorCode::kUnavailable);
  EXPECT_LT(Clock::now() - start, 1s);
  // And again: a failed connection is not cached as working.
  EXPECT_EQ(client.put("k", "v").code(), ErrorCode::kUnavailable);
}

TEST(Client, AMalformedAddressIsAnInvalidArgument) {
  Client client(std::make_shared<FixedRouter>("no-port-here"));
  auto v = client.get("k");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), ErrorCode::kInvalidArgument);
}

TEST(Client, AnUnknownHostIsUnavailable) {
  ClientOptions options;
  options.connect_timeout = 3s;
  Client client(std::make_shared<FixedRouter>("no-such-host.invalid:6000"),
                options);
  auto v = client.get("k");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), ErrorCode::kUnavailable);
}

TEST(Client, NoReplyWithinTheTimeoutIsATimeoutAndTheConnectionIsReplaced) {
  FakeServer server;
  server.set("k", "v");
  ClientOptions options;
  options.timeout = 200ms;
  Client client(fixed(server), options);
  const auto start = Clock::now();
  auto v = client.get("__hang");
  const auto took = Clock::now() - start;
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), ErrorCode::kTimeout);
  EXPECT_GE(took, 200ms);
  EXPECT_LT(took, 2s);
  auto good = client.get("k");
  ASSERT_TRUE(good.ok()) << good.status().to_string();
  EXPECT_EQ(good->value_or(""), "v");
  EXPECT_EQ(server.connections(), 2);
}

TEST(Client, ASlowReplyTimesOutAndLaterRepliesAreNotMismatched) {
  FakeServer server;
  server.set("a", "1");
  server.set("b", "2");
  server.set_delay(500ms);
  ClientOptions options;
  options.timeout = 200ms;
  options.max_connections_per_addr = 1;
  Client client(fixed(server), options);
  auto fa = client.get_async("a");
  auto fb = client.get_async("b");
  auto a = await(fa);
  auto b = await(fb);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().code(), ErrorCode::kTimeout);
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), ErrorCode::kTimeout);
  server.set_delay(0ms);
  for (auto [key, want] : {std::pair{"a", "1"}, {"b", "2"}}) {
    auto v = client.get(key);
    ASSERT_TRUE(v.ok()) << v.status().to_string();
    EXPECT_EQ(v->value_or(""), want);
  }
}

TEST(Client, AServerClosingMidRequestIsUnavailableAndTheNextRequestReconnects) {
  FakeServer server;
  server.set("k", "v");
  Client client(fixed(server));
  auto v = client.get("__close");
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), ErrorCode::kUnavailable);
  auto good = client.get("k");
  ASSERT_TRUE(good.ok()) << good.status().to_string();
  EXPECT_EQ(good->value_or(""), "v");
  EXPECT_EQ(server.connections(), 2);
}

TEST(Client, ARequestToAServerThatWentAwayFailsWithAnError) {
  ClientOptions options;
  options.timeout = 1s;
  auto server = std::make_unique<FakeServer>();
  server->set("k", "v");
  Client client(fixed(*server), options);
  ASSERT_TRUE(client.get("k").ok());
  server.reset();  // the server dies; its connections close
  auto v = client.get("k");
  ASSERT_FALSE(v.ok());
  EXPECT_TRUE(v.status().code() == ErrorCode::kUnavailable ||
              v.status().code() == ErrorCode::kTimeout)
      << v.status().to_string();
}

TEST(Client, DestroyingTheClientFailsPendingRequestsWithClosed) {
  FakeServer server;
  std::future<Result<std::optional<std::string>>> pending;
  const auto start = Clock::now();
  {
    Client client(fixed(server));
    pending = client.get_async("__hang");
    // Make sure the request reached the server before closing.
    for (int i = 0; i < 1000 && server.requests() == 0; ++i) {
      std::this_thread::sleep_for(1ms);
    }
    ASSERT_EQ(server.requests(), 1);
  }
  auto v = await(pending);
  ASSERT_FALSE(v.ok());
  EXPECT_EQ(v.status().code(), ErrorCode::kClosed);
  EXPECT_LT(Clock::now() - start, 2s);
}

// --- Connections and concurrency ------------------------------------------

TEST(Client, PipelinedRequestsOnOneConnectionGetTheirOwnReplies) {
  FakeServer server;
  ClientOptions options;
  options.max_connections_per_addr = 1;
  Client client(fixed(server), options);
  constexpr int kN = 300;
  for (int i = 0; i < kN; ++i) {
    server.set("k" + std::to_string(i), "v" + std::to_string(i));
  }
  std::vector<std::future<Result<std::optional<std::string>>>> futures;
  for (int i = 0; i < kN; ++i) {
    futures.push_back(client.get_async("k" + std::to_string(i)));
  }
  for (int i = 0; i < kN; ++i) {
    auto v = await(futures[i]);
    ASSERT_TRUE(v.ok()) << v.status().to_string();
    EXPECT_EQ(v->value_or(""), "v" + std::to_string(i));
  }
  EXPECT_EQ(server.connections(), 1);
  EXPECT_EQ(server.requests(), kN);
}

TEST(Client, ConnectionsPerAddressNeverExceedTheLimit) {
  FakeServer server;
  server.set("k", "v");
  server.set_delay(100ms);
  ClientOptions options;
  options.max_connections_per_addr = 3;
  Client client(fixed(server), options);
  std::vector<std::future<Result<std::optional<std::string>>>> futures;
  for (int i = 0; i < 20; ++i) futures.push_back(client.get_async("k"));
  for (auto& f : futures) {
    auto v = await(f);
    ASSERT_TRUE(v.ok()) << v.status().to_string();
    EXPECT_EQ(v->value_or(""), "v");
  }
  EXPECT_EQ(server.connections(), 3);
  // Idle connections are reused, not reopened.
  ASSERT_TRUE(client.get("k").ok());
  EXPECT_EQ(server.connections(), 3);
}

TEST(Client, ManyThreadsWithManyRequestsInFlightGetTheirOwnAnswers) {
  FakeServer s1, s2;
  Client client(std::make_shared<RoundRobinRouter>(
      std::vector<std::string>{s1.addr(), s2.addr()}));
  constexpr int kThreads = 8;
  constexpr int kPerThread = 500;
  // Keys are written to both servers, since the router spreads the Gets.
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      const std::string key = "t" + std::to_string(t) + "/" + std::to_string(i);
      s1.set(key, key + "=value");
      s2.set(key, key + "=value");
    }
  }
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string prefix = "t" + std::to_string(t) + "/";
      std::vector<std::future<Result<std::optional<std::string>>>> gets;
      std::vector<std::future<Status>> puts;
      for (int i = 0; i < kPerThread; ++i) {
        const std::string key = prefix + std::to_string(i);
        gets.push_back(client.get_async(key));
        puts.push_back(client.put_async("w/" + key, std::to_string(i)));
      }
      for (int i = 0; i < kPerThread; ++i) {
        auto v = await(gets[i]);
        const std::string want = prefix + std::to_string(i) + "=value";
        if (!v.ok() || v->value_or("") != want) ++wrong;
        if (!await(puts[i]).ok()) ++wrong;
      }
      auto l = client.list(prefix);
      if (!l.ok() || l->size() != kPerThread) ++wrong;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
  EXPECT_EQ(s1.requests() + s2.requests(), kThreads * (2 * kPerThread + 1));
  // Round robin: the two servers split the requests evenly.
  EXPECT_EQ(s1.requests(), s2.requests());
  for (auto* s : {&s1, &s2}) {
    EXPECT_LE(s->connections(), 4);
  }
}

// --- Routers and parse_addrs ----------------------------------------------

// --- Failover (FailoverRouter) -----------------------------------------

std::shared_ptr<FailoverRouter> failover(
    std::initializer_list<const FakeServer*> servers) {
  std::vector<std::string> addrs;
  for (const auto* s : servers) addrs.push_back(s->addr());
  return std::make_shared<FailoverRouter>(std::move(addrs));
}

// Which of two equally near servers the client chose, and the other.
std::pair<FakeServer*, FakeServer*> chosen(const FailoverRouter& router,
                                           FakeServer& a, FakeServer& b) {
  if (router.current() == a.addr()) return {&a, &b};
  EXPECT_EQ(router.current(), b.addr());
  return {&b, &a};
}

// The commands of a server other than its probes' PINGs.
std::vector<std::vector<std::string>> without_pings(FakeServer& s) {
  auto all = s.commands();
  std::erase_if(all, [](const auto& c) { return c[0] == "PING"; });
  return all;
}

TEST(Failover, ChoosesTheNearestServerThatAnswers) {
  FakeServer far, near;
  far.set_delay(150ms);
  const std::string refused = closed_port_addr();
  auto router = std::make_shared<FailoverRouter>(
      std::vector<std::string>{refused, far.addr(), near.addr()});
  Client c(router);
  ASSERT_TRUE(c.put("k", "v").ok());
  EXPECT_EQ(router->current(), near.addr());
  EXPECT_EQ(near.value("k"), "v");
  EXPECT_EQ(far.value("k"), std::nullopt);
  EXPECT_EQ(router->moves(), 0u);
}

TEST(Failover, AmongServersAboutAsNearTheFirstListedWins) {
  FakeServer a, b, c;
  auto router = failover({&b, &a, &c});
  Client client(router);
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(client.put("k", "v").ok());
  EXPECT_EQ(router->current(), b.addr());
  EXPECT_EQ(a.value("k"), std::nullopt);
}

TEST(Failover, EveryRequestGoesToTheChosenServerAndIsFollowedByClock) {
  FakeServer a, b;
  auto router = failover({&a, &b});
  Client c(router);
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(c.put("k" + std::to_string(i), "v").ok());
  }
  auto got = c.get("k0");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(*got, "v");
  auto [in_use, other] = chosen(*router, a, b);
  EXPECT_TRUE(without_pings(*other).empty());
  auto cmds = without_pings(*in_use);
  ASSERT_EQ(cmds.size(), 12u);
  for (size_t i = 0; i < cmds.size(); i += 2) {
    EXPECT_NE(cmds[i][0], "CLOCK");
    EXPECT_EQ(cmds[i + 1], std::vector<std::string>{"CLOCK"});
  }
}

TEST(Failover, MovesWhenItsServerDiesAndCarriesTheSessionsClock) {
  FakeServer a, b;
  auto router = failover({&a, &b});
  Client c(router);
  ASSERT_TRUE(c.get("k").ok());
  auto [first, second] = chosen(*router, a, b);
  first->set_clock(900'000);
  second->set_clock(5);
  ASSERT_TRUE(c.put("k", "1").ok());
  first->kill();
  const auto start = Clock::now();
  ASSERT_TRUE(c.put("k", "2").ok());
  EXPECT_LT(Clock::now() - start, 3s);
  EXPECT_EQ(router->current(), second->addr());
  EXPECT_EQ(router->moves(), 1u);
  EXPECT_EQ(second->value("k"), "2");
  // The first word on the new server raised its clock to the old one's.
  auto cmds = without_pings(*second);
  ASSERT_FALSE(cmds.empty());
  EXPECT_EQ(cmds[0], (std::vector<std::string>{"CLOCK", "900000"}));
  EXPECT_GE(second->clock(), 900'000);
}

TEST(Failover, MovesWithinThreeSecondsWhenItsServerHangs) {
  FakeServer a, b;
  auto router = failover({&a, &b});
  Client c(router);
  ASSERT_TRUE(c.put("k", "1").ok());
  auto [first, second] = chosen(*router, a, b);
  first->pause();  // connections are still accepted; nothing is answered
  const auto start = Clock::now();
  ASSERT_TRUE(c.put("k", "2").ok());
  const auto took = Clock::now() - start;
  EXPECT_LT(took, 3s);
  EXPECT_GE(took, 900ms);  // it did wait for the silence to mean something
  EXPECT_EQ(router->current(), second->addr());
  EXPECT_EQ(second->value("k"), "2");
  first->resume();
}

TEST(Failover, NeverMovesBackOnItsOwnButLeavesTheSecondServerToo) {
  FakeServer a, b;
  auto router = failover({&a, &b});
  Client c(router);
  ASSERT_TRUE(c.put("k", "1").ok());
  auto [first, second] = chosen(*router, a, b);
  first->kill();
  ASSERT_TRUE(c.put("k", "2").ok());
  ASSERT_EQ(router->current(), second->addr());
  first->revive();
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(c.put("k", std::to_string(i)).ok());
  EXPECT_EQ(router->current(), second->addr());
  EXPECT_EQ(first->value("k"), "1");
  // When the second fails too, the first (back now) takes over.
  second->kill();
  ASSERT_TRUE(c.put("k", "last").ok());
  EXPECT_EQ(router->current(), first->addr());
  EXPECT_EQ(router->moves(), 2u);
  EXPECT_EQ(first->value("k"), "last");
}

TEST(Failover, ASlowServerThatStillAnswersPingsIsNotLeft) {
  FakeServer a, b;
  auto router = failover({&a, &b});
  Client c(router);
  ASSERT_TRUE(c.put("k", "1").ok());
  auto [in_use, other] = chosen(*router, a, b);
  // GET __slow answers after 2.5 s, while PINGs are answered at once.
  const auto start = Clock::now();
  auto slow = c.get("__slow");
  ASSERT_TRUE(slow.ok()) << slow.status().to_string();
  EXPECT_GE(Clock::now() - start, 2s);
  EXPECT_EQ(router->current(), in_use->addr());
  EXPECT_EQ(router->moves(), 0u);
  EXPECT_TRUE(without_pings(*other).empty());
  // It was checked on the way: a PING on a connection of its own.
  int pings = 0;
  for (const auto& cmd : in_use->commands()) pings += cmd[0] == "PING";
  EXPECT_GE(pings, 2);  // the first choice's, and at least one check
}

TEST(Failover, WithNoServerAnsweringRequestsFailAtTheirDeadline) {
  const std::string a = closed_port_addr(), b = closed_port_addr();
  auto router =
      std::make_shared<FailoverRouter>(std::vector<std::string>{a, b});
  ClientOptions options;
  options.timeout = 800ms;
  Client c(router, options);
  const auto start = Clock::now();
  Status s = c.put("k", "v");
  EXPECT_EQ(s.code(), ErrorCode::kUnavailable) << s.to_string();
  EXPECT_NE(s.message().find("no server answered"), std::string::npos)
      << s.to_string();
  EXPECT_LT(Clock::now() - start, 3s);
  EXPECT_EQ(router->current(), std::nullopt);
}

TEST(Failover, NotWaitingForAServerFailsAtOnceWhenNoneAnswers) {
  auto router = std::make_shared<FailoverRouter>(
      std::vector<std::string>{closed_port_addr(), closed_port_addr()});
  ClientOptions options;
  options.failover.wait_for_a_server = false;
  Client c(router, options);
  const auto start = Clock::now();
  Status s = c.put("k", "v");
  EXPECT_EQ(s.code(), ErrorCode::kUnavailable) << s.to_string();
  EXPECT_LT(Clock::now() - start, 1s);
}

TEST(Failover, CredentialsEveryServerRefusesFailAtOnceAsDenied) {
  FakeServer a, b;  // neither knows AUTH: a refusal
  auto router = failover({&a, &b});
  ClientOptions options;
  options.credentials = {"", "secret"};
  Client c(router, options);
  const auto start = Clock::now();
  Status s = c.put("k", "v");
  EXPECT_EQ(s.code(), ErrorCode::kDenied) << s.to_string();
  EXPECT_LT(Clock::now() - start, 1s);
}

TEST(Failover, RequestsWaitingForAServerGoOnceOneComesBack) {
  FakeServer a;
  auto router = failover({&a});
  Client c(router);
  ASSERT_TRUE(c.put("k", "1").ok());
  a.kill();
  auto later = c.put_async("k", "2");
  std::this_thread::sleep_for(300ms);
  a.revive();
  Status s = await(later);
  EXPECT_TRUE(s.ok()) << s.to_string();
  EXPECT_EQ(a.value("k"), "2");
}

TEST(Failover, AgainstAServerWithoutClockItStopsAsking) {
  FakeServer a, b;
  a.set_clock_supported(false);
  b.set_clock_supported(false);
  auto router = failover({&a, &b});
  Client c(router);
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(c.put("k", std::to_string(i)).ok());
  auto [first, second] = chosen(*router, a, b);
  auto cmds = without_pings(*first);
  ASSERT_EQ(cmds.size(), 6u);  // five SETs and the one CLOCK refused
  EXPECT_EQ(cmds[1][0], "CLOCK");
  first->kill();
  ASSERT_TRUE(c.put("k", "moved").ok());
  EXPECT_EQ(without_pings(*second),
            (std::vector<std::vector<std::string>>{{"SET", "k", "moved"}}));
}

TEST(Failover, ManyThreadsThroughAMoveEachGetTheirAnswer) {
  FakeServer a, b;
  auto router = failover({&a, &b});
  Client c(router);
  ASSERT_TRUE(c.put("k", "1").ok());
  auto [first, second] = chosen(*router, a, b);
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 200; ++i) {
        if (t == 0 && i == 50) first->kill();
        auto k = "t" + std::to_string(t) + "-" + std::to_string(i);
        if (c.put(k, "v").ok()) {
          ++ok;
        } else {
          ++failed;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 800);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(router->current(), second->addr());
}

TEST(Router, FixedAlwaysNamesItsAddress) {
  FixedRouter r("h:1");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(r.next_addr(), "h:1");
}

TEST(Router, RoundRobinNamesEachAddressInTurn) {
  RoundRobinRouter r({"a:1", "b:2", "c:3"});
  std::vector<std::string> got;
  for (int i = 0; i < 7; ++i) got.push_back(r.next_addr());
  EXPECT_EQ(got, (std::vector<std::string>{"a:1", "b:2", "c:3", "a:1", "b:2",
                                           "c:3", "a:1"}));
}

TEST(Router, RoundRobinSharesEvenlyBetweenThreads) {
  RoundRobinRouter r({"a:1", "b:2", "c:3"});
  std::mutex mu;
  std::map<std::string, int> counts;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      std::map<std::string, int> mine;
      for (int i = 0; i < 300; ++i) ++mine[r.next_addr()];
      std::lock_guard lock(mu);
      for (auto& [k, n] : mine) counts[k] += n;
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(counts, (std::map<std::string, int>{
                        {"a:1", 400}, {"b:2", 400}, {"c:3", 400}}));
}

TEST(Router, RandomCoversEveryAddress) {
  RandomRouter r({"a:1", "b:2", "c:3", "d:4"});
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) seen.insert(r.next_addr());
  EXPECT_EQ(seen.size(), 4u);
}

TEST(Router, RandomWithTheSameSeedRepeatsItsSequence) {
  RandomRouter a({"a:1", "b:2", "c:3"}, 42);
  RandomRouter b({"a:1", "b:2", "c:3"}, 42);
  for (int i = 0; i < 50; ++i) EXPECT_EQ(a.next_addr(), b.next_addr());
}

TEST(ParseAddrs, SplitsACommaSeparatedList) {
  auto v = parse_addrs("127.0.0.1:6001,localhost:6002, [::1]:6003 ");
  ASSERT_TRUE(v.ok()) << v.status().to_string();
  EXPECT_EQ(*v, (std::vector<std::string>{"127.0.0.1:6001", "localhost:6002",
                                          "[::1]:6003"}));
  auto one = parse_addrs("h:65535");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(*one, (std::vector<std::string>{"h:65535"}));
}

TEST(ParseAddrs, RefusesMalformedAddresses) {
  for (const char* bad :
       {"", " ", "h", ":6000", "h:", "h:x", "h:60a0", "h:-1", "h:0", "h:65536",
        "h:99999999999", "a:1,,b:2", "a:1,", ",a:1", "::1:6000", "[]:6000"}) {
    auto v = parse_addrs(bad);
    ASSERT_FALSE(v.ok()) << '"' << bad << '"';
    EXPECT_EQ(v.status().code(), ErrorCode::kInvalidArgument) << bad;
  }
}

}  // namespace
}  // namespace cmud::client
