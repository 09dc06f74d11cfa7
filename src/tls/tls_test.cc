#include "cmud/tls/tls.h"

#include <gtest/gtest.h>

#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <optional>

#include "test_certs.h"

namespace cmud::tls {
namespace {

using asio::ip::tcp;
using testing::TempCerts;

// One connection over loopback: the server side under `server` (plain when
// null), the client under `client`; both handshake, then the client sends
// "PING\r\n" and the server echoes it. Each side's outcome.
struct Outcome {
  asio::error_code server_ec, client_ec;
  std::string server_why, client_why;
  std::string echoed;
};

Outcome run_pair(Context* server, Context* client) {
  asio::io_context io;
  tcp::acceptor acceptor(io,
                         tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  Outcome out;
  std::optional<Stream> srv;
  Stream cli(tcp::socket(io), client);
  char sbuf[16];
  char cbuf[16];
  acceptor.async_accept([&](const asio::error_code& ec, tcp::socket s) {
    if (ec) {
      out.server_ec = ec;
      return;
    }
    srv.emplace(std::move(s), server);
    srv->async_handshake(Stream::kServer, [&](const asio::error_code& hec) {
      out.server_ec = hec;
      if (hec) {
        out.server_why = describe_error(hec, *srv);
        srv->close();
        return;
      }
      srv->async_read_some(
          asio::buffer(sbuf), [&](const asio::error_code& rec, size_t n) {
            if (rec) return;
            srv->async_write(asio::buffer(sbuf, n),
                             [](const asio::error_code&, size_t) {});
          });
    });
  });
  cli.socket().async_connect(
      acceptor.local_endpoint(), [&](const asio::error_code& ec) {
        if (ec) {
          out.client_ec = ec;
          return;
        }
        cli.set_server_name("localhost");
        cli.async_handshake(Stream::kClient, [&](const asio::error_code& hec) {
          out.client_ec = hec;
          if (hec) {
            out.client_why = describe_error(hec, cli);
            cli.close();
            return;
          }
          cli.async_write(asio::buffer("PING\r\n", 6),
                          [&](const asio::error_code& wec, size_t) {
                            if (wec) return;
                            cli.async_read_some(
                                asio::buffer(cbuf),
                                [&](const asio::error_code& rec, size_t n) {
                                  if (!rec) out.echoed.assign(cbuf, n);
                                  if (rec) out.client_ec = rec;
                                });
                          });
        });
      });
  asio::steady_timer deadline(io, std::chrono::seconds(10));
  deadline.async_wait([&](const asio::error_code& ec) {
    if (!ec) io.stop();
  });
  // Runs until both sides are done (or the deadline stops it).
  while (!io.stopped() && out.echoed.empty() &&
         io.run_one_for(std::chrono::seconds(10)) > 0) {
    if ((out.client_ec || out.server_ec) && out.echoed.empty()) {
      io.run_for(std::chrono::milliseconds(200));  // the other side's end
      break;
    }
  }
  return out;
}

class TlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(certs_.ok()) << certs_.error().to_string();
  }
  std::shared_ptr<Context> server(AuthClients auth, bool expired = false,
                                  bool self_signed = false) {
    TlsOptions o;
    o.cert_file = expired       ? certs_->expired_cert
                  : self_signed ? certs_->self_signed_cert
                                : certs_->server_cert;
    o.key_file = expired       ? certs_->expired_key
                 : self_signed ? certs_->self_signed_key
                               : certs_->server_key;
    o.ca_cert_file = certs_->ca_cert;
    o.auth_clients = auth;
    auto ctx = server_context(o);
    EXPECT_TRUE(ctx.ok()) << ctx.status().to_string();
    return ctx.ok() ? *ctx : nullptr;
  }
  std::shared_ptr<Context> client(const std::string& cert,
                                  const std::string& key) {
    TlsOptions o;
    o.cert_file = cert;
    o.key_file = key;
    o.ca_cert_file = certs_->ca_cert;
    auto ctx = client_context(o);
    EXPECT_TRUE(ctx.ok()) << ctx.status().to_string();
    return ctx.ok() ? *ctx : nullptr;
  }
  TempCerts certs_;
};

TEST_F(TlsTest, PlainStreamsEcho) {
  Outcome o = run_pair(nullptr, nullptr);
  EXPECT_FALSE(o.server_ec);
  EXPECT_FALSE(o.client_ec);
  EXPECT_EQ(o.echoed, "PING\r\n");
}

TEST_F(TlsTest, MutuallyVerifiedConnectionEchoes) {
  auto s = server(AuthClients::kYes);
  auto c = client(certs_->client_cert, certs_->client_key);
  Outcome o = run_pair(s.get(), c.get());
  EXPECT_FALSE(o.server_ec) << o.server_why;
  EXPECT_FALSE(o.client_ec) << o.client_why;
  EXPECT_EQ(o.echoed, "PING\r\n");
}

TEST_F(TlsTest, ClientWithoutCertificateIsRefusedWhenOneIsRequired) {
  auto s = server(AuthClients::kYes);
  auto c = client("", "");
  Outcome o = run_pair(s.get(), c.get());
  EXPECT_TRUE(o.server_ec);
  EXPECT_NE(o.server_why.find("certificate"), std::string::npos)
      << o.server_why;
  EXPECT_TRUE(o.echoed.empty());
}

TEST_F(TlsTest, ClientWithoutCertificateIsLetInWhenOptional) {
  Outcome o =
      run_pair(server(AuthClients::kOptional).get(), client("", "").get());
  EXPECT_FALSE(o.server_ec) << o.server_why;
  EXPECT_EQ(o.echoed, "PING\r\n");
  o = run_pair(server(AuthClients::kNo).get(), client("", "").get());
  EXPECT_EQ(o.echoed, "PING\r\n");
}

TEST_F(TlsTest, SelfSignedOrExpiredClientCertificatesAreRefused) {
  for (bool expired : {false, true}) {
    SCOPED_TRACE(expired ? "expired" : "self-signed");
    auto c = expired
                 ? client(certs_->expired_cert, certs_->expired_key)
                 : client(certs_->self_signed_cert, certs_->self_signed_key);
    // Optional too: a certificate that is sent must verify.
    for (auto auth : {AuthClients::kYes, AuthClients::kOptional}) {
      Outcome o = run_pair(server(auth).get(), c.get());
      EXPECT_TRUE(o.server_ec);
      EXPECT_NE(o.server_why.find(expired ? "expired" : "self"),
                std::string::npos)
          << o.server_why;
      EXPECT_TRUE(o.echoed.empty());
    }
  }
}

TEST_F(TlsTest, ClientRefusesSelfSignedOrExpiredServers) {
  auto c = client(certs_->client_cert, certs_->client_key);
  Outcome o = run_pair(server(AuthClients::kNo, false, true).get(), c.get());
  EXPECT_TRUE(o.client_ec);
  EXPECT_NE(o.client_why.find("self"), std::string::npos) << o.client_why;
  o = run_pair(server(AuthClients::kNo, true).get(), c.get());
  EXPECT_TRUE(o.client_ec);
  EXPECT_NE(o.client_why.find("expired"), std::string::npos) << o.client_why;
  EXPECT_TRUE(o.echoed.empty());
}

TEST_F(TlsTest, PlainClientGetsNoAnswerFromATlsServer) {
  Outcome o = run_pair(server(AuthClients::kNo).get(), nullptr);
  EXPECT_TRUE(o.server_ec);
  EXPECT_TRUE(o.echoed.empty());
}

TEST_F(TlsTest, ContextErrorsNameTheProblem) {
  TlsOptions o;
  o.cert_file = certs_->server_cert;
  o.key_file = certs_->client_key;  // not the certificate's
  o.auth_clients = AuthClients::kNo;
  auto ctx = server_context(o);
  ASSERT_FALSE(ctx.ok());
  EXPECT_NE(ctx.status().message().find("does not match"), std::string::npos)
      << ctx.status().message();
  o.key_file = certs_.dir() + "/missing.key";
  ctx = server_context(o);
  ASSERT_FALSE(ctx.ok());
  EXPECT_NE(ctx.status().message().find("missing.key"), std::string::npos);
  o.key_file = certs_->server_key;
  o.auth_clients = AuthClients::kYes;  // but no CA
  ctx = server_context(o);
  ASSERT_FALSE(ctx.ok());
  EXPECT_NE(ctx.status().message().find("--tls-ca-cert-file"),
            std::string::npos);
  EXPECT_FALSE(server_context(TlsOptions{}).ok());
  TlsOptions half;
  half.cert_file = certs_->client_cert;
  EXPECT_FALSE(client_context(half).ok());
}

TEST(ParseAuthClients, ReadsRedisWords) {
  EXPECT_EQ(parse_auth_clients("YES"), AuthClients::kYes);
  EXPECT_EQ(parse_auth_clients("no"), AuthClients::kNo);
  EXPECT_EQ(parse_auth_clients("optional"), AuthClients::kOptional);
  EXPECT_EQ(parse_auth_clients("maybe"), std::nullopt);
}

}  // namespace
}  // namespace cmud::tls
