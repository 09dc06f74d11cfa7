// TLS on the query ports and between servers, end to end with the client
// library.
#include <gtest/gtest.h>
#include <poll.h>

#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/write.hpp>
#include <atomic>
#include <chrono>
#include <thread>

#include "cmud/client/client.h"
#include "cmud/client/subscriber.h"
#include "cmud/common/address.h"
#include "cmud/server/server.h"
#include "test_certs.h"

namespace cmud::server {
namespace {

using namespace std::chrono_literals;
using tls::testing::TempCerts;

class TlsServerTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { certs_ = new TempCerts(); }
  static void TearDownTestSuite() {
    delete certs_;
    certs_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(certs_->ok()) << certs_->error().to_string();
  }
  static tls::TlsOptions server_files() {
    return {.cert_file = (*certs_)->server_cert,
            .key_file = (*certs_)->server_key,
            .ca_cert_file = (*certs_)->ca_cert};
  }
  static ServerConfig config() {
    ServerConfig c;
    c.port = 0;
    c.actors = 2;
    c.tls = server_files();
    return c;
  }
  static std::unique_ptr<Server> start(const ServerConfig& c) {
    auto s = Server::start(c);
    EXPECT_TRUE(s.ok()) << s.status().to_string();
    return s.ok() ? std::move(s).value() : nullptr;
  }
  // A client context with the given certificate ("" for none).
  static std::shared_ptr<tls::Context> client_tls(const std::string& cert,
                                                  const std::string& key) {
    auto ctx = tls::client_context({.cert_file = cert,
                                    .key_file = key,
                                    .ca_cert_file = (*certs_)->ca_cert});
    EXPECT_TRUE(ctx.ok()) << ctx.status().to_string();
    return ctx.ok() ? *ctx : nullptr;
  }
  static std::shared_ptr<tls::Context> good_client() {
    return client_tls((*certs_)->client_cert, (*certs_)->client_key);
  }
  static std::unique_ptr<client::Client> client_to(
      std::vector<std::string> addrs, std::shared_ptr<tls::Context> tls) {
    client::ClientOptions o;
    o.tls = std::move(tls);
    o.timeout = 2s;
    return std::make_unique<client::Client>(
        std::make_shared<client::RoundRobinRouter>(std::move(addrs)), o);
  }
  static TempCerts* certs_;
};

TempCerts* TlsServerTest::certs_ = nullptr;

// Waits (up to `within`) until `c` reads `value` under `key`.
bool eventually_reads(client::Client& c, const std::string& key,
                      const std::string& value,
                      std::chrono::milliseconds within) {
  auto until = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < until) {
    auto got = c.get(key);
    if (got.ok() && got->value_or("") == value) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

TEST_F(TlsServerTest, TheClientLibraryAndASubscriberUseTlsQueryPorts) {
  ServerConfig c = config();
  c.tls_query_ports = true;
  auto server = start(c);
  ASSERT_TRUE(server);
  EXPECT_NE(server->description().find("\"tls\":true"), std::string::npos);
  auto cl = client_to(server->query_addrs(), good_client());
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(cl->put("k" + std::to_string(i), "v").ok());
  }
  EXPECT_TRUE(eventually_reads(*cl, "k7", "v", 500ms));

  auto sub = client::Subscriber::connect(server->query_addrs()[0], 2s, {},
                                         good_client());
  ASSERT_TRUE(sub.ok()) << sub.status().to_string();
  ASSERT_TRUE((*sub)->subscribe("news").ok());
  std::vector<std::string> got;
  for (int i = 0; i < 200 && got.empty(); ++i) {
    ASSERT_TRUE(cl->publish("news", "hi").ok());
    std::this_thread::sleep_for(10ms);
    auto m = (*sub)->read();
    ASSERT_TRUE(m.ok()) << m.status().to_string();
    for (auto& x : *m) got.push_back(x.message);
  }
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got[0], "hi");
}

TEST_F(TlsServerTest, ClientsWithoutAGoodCertificateOrTlsGetNothing) {
  ServerConfig c = config();
  c.tls_query_ports = true;
  auto server = start(c);
  ASSERT_TRUE(server);
  const std::vector<std::string> addr{server->query_addrs()[0]};
  struct Case {
    const char* name;
    std::shared_ptr<tls::Context> tls;
  };
  const Case cases[] = {
      {"no certificate", client_tls("", "")},
      {"self-signed",
       client_tls((*certs_)->self_signed_cert, (*certs_)->self_signed_key)},
      {"expired", client_tls((*certs_)->expired_cert, (*certs_)->expired_key)},
      {"plain", nullptr},
  };
  for (const Case& k : cases) {
    SCOPED_TRACE(k.name);
    auto cl = client_to(addr, k.tls);
    Status s = cl->put("x", "1");
    EXPECT_FALSE(s.ok());
    EXPECT_TRUE(s.code() == ErrorCode::kUnavailable ||
                s.code() == ErrorCode::kTimeout)
        << s.to_string();
    auto sub = client::Subscriber::connect(addr[0], 1s, {}, k.tls);
    if (sub.ok()) {  // a plain connect succeeds; nothing ever answers
      EXPECT_TRUE((*sub)->subscribe("news").ok());
      std::this_thread::sleep_for(100ms);
      auto m = (*sub)->read();
      EXPECT_TRUE(!m.ok() || m->empty());
    }
  }
  // The server still serves members.
  auto good = client_to(addr, good_client());
  EXPECT_TRUE(good->put("x", "2").ok());
  auto got = good->get("x");
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  EXPECT_EQ(got->value_or(""), "2");
}

TEST_F(TlsServerTest, AClientThatNeverFinishesItsHandshakeIsClosed) {
  ServerConfig c = config();
  c.tls_query_ports = true;
  c.tls_handshake_timeout = 300ms;
  auto server = start(c);
  ASSERT_TRUE(server);
  auto hp = parse_host_port(server->query_addrs()[0]);
  ASSERT_TRUE(hp.ok());
  asio::io_context io;
  asio::ip::tcp::socket s(io);
  s.connect({asio::ip::make_address(hp->host), hp->port});
  const auto start = std::chrono::steady_clock::now();
  // Says nothing: the server ends the connection after the timeout (the
  // wait is bounded, so a server that never does fails the test).
  pollfd p{s.native_handle(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 5000), 1);
  const auto took = std::chrono::steady_clock::now() - start;
  char byte;
  asio::error_code ec;
  s.read_some(asio::buffer(&byte, 1), ec);
  EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset)
      << ec.message();
  EXPECT_GE(took, 250ms);
  EXPECT_LT(took, 5s);
}

TEST_F(TlsServerTest, ATlsPortBesidePlainQueryPorts) {
  ServerConfig c = config();
  c.tls_port = 0;  // any free port
  c.tls.auth_clients = tls::AuthClients::kNo;
  auto server = start(c);
  ASSERT_TRUE(server);
  ASSERT_TRUE(server->tls_addr().has_value());
  EXPECT_NE(server->description().find("\"tls_port\""), std::string::npos);
  auto plain = client_to(server->query_addrs(), nullptr);
  ASSERT_TRUE(plain->put("k", "plain").ok());
  // No client certificate asked for: the CA check of the server suffices.
  auto secure = client_to({*server->tls_addr()}, client_tls("", ""));
  EXPECT_TRUE(eventually_reads(*secure, "k", "plain", 500ms));
  ASSERT_TRUE(secure->put("k", "tls").ok());
  EXPECT_TRUE(eventually_reads(*plain, "k", "tls", 500ms));
  // The TLS port speaks nothing but TLS.
  auto wrong = client_to({*server->tls_addr()}, nullptr);
  EXPECT_FALSE(wrong->get("k").ok());
}

TEST_F(TlsServerTest, BadTlsFilesStopTheServerFromStarting) {
  ServerConfig c = config();
  c.tls_query_ports = true;
  c.tls.key_file = (*certs_)->client_key;  // not the certificate's
  auto s = Server::start(c);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), ErrorCode::kInvalidArgument);
  EXPECT_NE(s.status().message().find("does not match"), std::string::npos);
  c = config();
  c.tls_cluster = true;
  c.tls.ca_cert_file.clear();
  s = Server::start(c);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("--tls-ca-cert-file"), std::string::npos)
      << s.status().to_string();
}

TEST_F(TlsServerTest, ServersWithTlsBetweenThemSyncAndAStrangerIsKeptOut) {
  ServerConfig c = config();
  c.tls_cluster = true;
  // a refuses the stranger below (under TLS 1.3 the client side learns it
  // only from its next read).
  std::atomic<int> refused{0};
  ServerConfig ca = c;
  ca.on_error = [&refused](const Status& s) {
    if (s.message().find("TLS handshake failed") != std::string::npos) {
      ++refused;
    }
  };
  auto a = start(ca);
  ASSERT_TRUE(a);
  ServerConfig cb = c;
  cb.join = {a->description()};
  auto b = start(cb);
  ASSERT_TRUE(b);
  auto on_a = client_to(a->query_addrs(), nullptr);
  auto on_b = client_to(b->query_addrs(), nullptr);
  ASSERT_TRUE(on_a->put("shared", "1").ok());
  // The remote deadline (2 s), with room for the join.
  EXPECT_TRUE(eventually_reads(*on_b, "shared", "1", 5s));
  ASSERT_TRUE(on_b->put("back", "2").ok());
  EXPECT_TRUE(eventually_reads(*on_a, "back", "2", 2s));

  // A server whose certificate no CA of ours signed joins nobody.
  ServerConfig stranger = cb;
  stranger.tls.cert_file = (*certs_)->self_signed_cert;
  stranger.tls.key_file = (*certs_)->self_signed_key;
  auto x = start(stranger);
  ASSERT_TRUE(x);
  auto on_x = client_to(x->query_addrs(), nullptr);
  ASSERT_TRUE(on_x->put("forged", "1").ok());
  EXPECT_FALSE(eventually_reads(*on_x, "shared", "1", 1500ms));
  EXPECT_FALSE(eventually_reads(*on_a, "forged", "1", 500ms));
  EXPECT_GE(refused.load(), 1);
}

}  // namespace
}  // namespace cmud::server
