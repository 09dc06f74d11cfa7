// TLS for the query ports, the links between servers and the client
// library, on Asio's SSL streams over OpenSSL (never hand-written crypto).
//
//   tls::TlsOptions o{.cert_file = "server.crt", .key_file = "server.key",
//                     .ca_cert_file = "ca.crt"};
//   auto ctx = tls::server_context(o);          // Result<shared_ptr<...>>
//   tls::Stream s(std::move(socket), **ctx);    // or Stream(socket): plain
//   s.async_handshake(tls::Stream::kServer, [](asio::error_code ec) {...});
#pragma once

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/ssl.hpp>
#include <asio/write.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>

#include "cmud/common/status.h"

namespace cmud::tls {

// Which client certificates a TLS server asks for (Redis's
// tls-auth-clients).
enum class AuthClients {
  kNo,        // none asked for
  kOptional,  // one is verified against the CA if the client sends one
  kYes,       // a certificate signed by the CA is required
};

// File names use Redis's option names. Immutable value type.
struct TlsOptions {
  // PEM: our certificate (chain) and its private key. A server needs them;
  // a client sends them when the server asks for a client certificate.
  std::string cert_file;
  std::string key_file;
  // PEM: the CA certificates a peer's certificate must chain to. A client
  // without one uses the system's default CAs.
  std::string ca_cert_file;
  AuthClients auth_clients = AuthClients::kYes;
};

// "yes", "no", "optional" (any case); nullopt otherwise.
std::optional<AuthClients> parse_auth_clients(std::string_view text);

using Context = asio::ssl::context;

// A TLS 1.2+ server context: our certificate and key, and the client
// verification `options.auth_clients` asks for. kInvalidArgument naming the
// file when one cannot be read, the key does not match the certificate, or
// client certificates are asked for without a CA file.
Result<std::shared_ptr<Context>> server_context(const TlsOptions& options);
// A TLS 1.2+ client context that verifies the server's certificate against
// the CA (the certificate's chain, not its host name, as redis-cli and
// Redis's cluster links), with our certificate when one is given.
Result<std::shared_ptr<Context>> client_context(const TlsOptions& options);

// A TCP connection, plain or TLS, with one interface for both. Like the
// socket it wraps: one async read and one async write may be outstanding
// at once, on the socket's executor. Thread-compatible.
class Stream {
 public:
  using Socket = asio::ip::tcp::socket;
  using TlsSocket = asio::ssl::stream<Socket>;
  static constexpr auto kServer = asio::ssl::stream_base::server;
  static constexpr auto kClient = asio::ssl::stream_base::client;

  // Plain.
  explicit Stream(Socket socket) : v_(std::move(socket)) {}
  // TLS under `context`, which must outlive the stream.
  Stream(Socket socket, Context& context)
      : v_(std::in_place_type<TlsSocket>, std::move(socket), context) {}
  // Plain when `context` is null.
  Stream(Socket socket, Context* context)
      : Stream(context ? Stream(std::move(socket), *context)
                       : Stream(std::move(socket))) {}
  // A new socket on `io`, not yet open (to connect); plain when `context`
  // is null.
  Stream(asio::io_context& io, Context* context) : v_(make(io, context)) {}
  Stream(Stream&&) = default;
  Stream& operator=(Stream&&) = default;

  bool tls() const { return std::holds_alternative<TlsSocket>(v_); }
  // The TCP socket underneath (options, endpoints, shutdown).
  Socket& socket() {
    if (auto* s = std::get_if<TlsSocket>(&v_)) return s->next_layer();
    return std::get<Socket>(v_);
  }
  const Socket& socket() const {
    if (auto* s = std::get_if<TlsSocket>(&v_)) return s->next_layer();
    return std::get<Socket>(v_);
  }
  // The OpenSSL connection; null when plain.
  SSL* ssl() {
    auto* s = std::get_if<TlsSocket>(&v_);
    return s ? s->native_handle() : nullptr;
  }

  // Handler: void(const asio::error_code&). Plain streams complete at once
  // (posted). A client sends SNI if set_server_name() was called first.
  template <class Handler>
  void async_handshake(asio::ssl::stream_base::handshake_type role,
                       Handler&& handler) {
    if (auto* s = std::get_if<TlsSocket>(&v_)) {
      s->async_handshake(role, std::forward<Handler>(handler));
    } else {
      asio::post(socket().get_executor(),
                 [h = std::forward<Handler>(handler)]() mutable {
                   h(asio::error_code());
                 });
    }
  }
  // Handler: void(const asio::error_code&, size_t).
  template <class Buffers, class Handler>
  void async_read_some(const Buffers& buffers, Handler&& handler) {
    if (auto* s = std::get_if<TlsSocket>(&v_)) {
      s->async_read_some(buffers, std::forward<Handler>(handler));
    } else {
      std::get<Socket>(v_).async_read_some(buffers,
                                           std::forward<Handler>(handler));
    }
  }
  // Writes all of `buffers`. Handler: void(const asio::error_code&, size_t).
  template <class Buffers, class Handler>
  void async_write(const Buffers& buffers, Handler&& handler) {
    if (auto* s = std::get_if<TlsSocket>(&v_)) {
      asio::async_write(*s, buffers, std::forward<Handler>(handler));
    } else {
      asio::async_write(std::get<Socket>(v_), buffers,
                        std::forward<Handler>(handler));
    }
  }
  // Blocking forms, for clients that own a thread (plain or TLS alike).
  template <class Buffers>
  size_t read_some(const Buffers& buffers, asio::error_code& ec) {
    if (auto* s = std::get_if<TlsSocket>(&v_)) return s->read_some(buffers, ec);
    return std::get<Socket>(v_).read_some(buffers, ec);
  }
  template <class Buffers>
  size_t write(const Buffers& buffers, asio::error_code& ec) {
    if (auto* s = std::get_if<TlsSocket>(&v_)) {
      return asio::write(*s, buffers, ec);
    }
    return asio::write(std::get<Socket>(v_), buffers, ec);
  }
  void handshake(asio::ssl::stream_base::handshake_type role,
                 asio::error_code& ec) {
    if (auto* s = std::get_if<TlsSocket>(&v_)) s->handshake(role, ec);
  }
  // Sends SNI (client role, before the handshake); no-op when plain.
  void set_server_name(const std::string& host);

  // Shuts the TCP connection down both ways and closes it (no TLS
  // close_notify: the peer sees the connection end). Idempotent.
  void close();

 private:
  using Variant = std::variant<Socket, TlsSocket>;
  static Variant make(asio::io_context& io, Context* context) {
    if (context != nullptr) {
      return Variant(std::in_place_type<TlsSocket>, io, *context);
    }
    return Variant(std::in_place_type<Socket>, io);
  }
  Variant v_;
};

// A readable reason for a failed TLS handshake or read: OpenSSL's reason
// ("certificate verify failed", "tlsv1 alert unknown ca") with the
// verification result when there is one.
std::string describe_error(const asio::error_code& ec, Stream& stream);

}  // namespace cmud::tls
