#include "cmud/client/subscriber.h"

#include <poll.h>

#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/write.hpp>
#include <optional>

#include "cmud/common/address.h"
#include "cmud/resp/resp.h"

namespace cmud::client {

using asio::ip::tcp;

// A plain or TLS stream: blocking writes (commands are small), reads that
// never block. Thread-compatible.
class Subscriber::Impl {
 public:
  explicit Impl(tls::Context* tls) : stream_(io_, tls) {}

  Status connect(const std::string& addr, std::chrono::milliseconds timeout) {
    Status s = connect_tcp(addr, timeout);
    if (!s.ok() || !stream_.tls()) return s;
    // The handshake on our own io_context, so that the wait is bounded.
    auto hp = parse_host_port(addr);
    asio::error_code not_ip;
    asio::ip::make_address(hp->host, not_ip);
    if (not_ip) stream_.set_server_name(hp->host);
    std::optional<asio::error_code> done;
    stream_.async_handshake(tls::Stream::kClient,
                            [&done](const asio::error_code& ec) { done = ec; });
    io_.restart();
    io_.run_for(timeout);
    if (!done) {
      stream_.close();
      io_.restart();
      io_.run_for(std::chrono::milliseconds(100));  // the aborted handshake
      return Status(ErrorCode::kUnavailable,
                    "no TLS handshake with " + addr + " within " +
                        std::to_string(timeout.count()) + " ms");
    }
    if (*done) {
      return Status(ErrorCode::kUnavailable,
                    "TLS handshake with " + addr + ": " +
                        tls::describe_error(*done, stream_));
    }
    return {};
  }

  Status connect_tcp(const std::string& addr,
                     std::chrono::milliseconds timeout) {
    tcp::socket& socket = stream_.socket();
    auto hp = parse_host_port(addr);
    if (!hp.ok()) return hp.status();
    asio::error_code ec;
    tcp::resolver resolver(io_);
    auto endpoints = resolver.resolve(hp->host, std::to_string(hp->port), ec);
    if (ec) return unavailable(addr, ec);
    // A non-blocking connect, waited for with poll(): a bounded wait even
    // for an address that never answers.
    for (const auto& ep : endpoints) {
      socket.close(ec);
      socket.open(ep.endpoint().protocol(), ec);
      if (ec) continue;
      socket.non_blocking(true, ec);
      socket.connect(ep.endpoint(), ec);
      if (ec == asio::error::in_progress || ec == asio::error::would_block) {
        pollfd p{socket.native_handle(), POLLOUT, 0};
        if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) {
          ec = asio::error::timed_out;
          continue;
        }
        int err = 0;
        socklen_t len = sizeof err;
        ::getsockopt(socket.native_handle(), SOL_SOCKET, SO_ERROR, &err, &len);
        ec = asio::error_code(err, asio::error::get_system_category());
      }
      if (!ec) {
        socket.set_option(tcp::no_delay(true), ec);
        return {};
      }
    }
    return unavailable(addr, ec);
  }

  Status send(std::initializer_list<std::string_view> args) {
    if (broken_) return Status(ErrorCode::kUnavailable, "connection closed");
    std::string out;
    resp::write_command(out, std::vector<std::string_view>(args));
    asio::error_code ec = write_all(out);
    if (ec) {
      broken_ = true;
      return Status(ErrorCode::kUnavailable, "send: " + ec.message());
    }
    return {};
  }

  // Signs in (AUTH) and waits up to `timeout` for the answer.
  Status auth(const Credentials& who, std::chrono::milliseconds timeout) {
    std::string out;
    std::vector<std::string_view> args{"AUTH"};
    if (!who.user.empty()) args.push_back(who.user);
    args.push_back(who.password);
    resp::write_command(out, args);
    asio::error_code ec = write_all(out);
    if (ec) return Status(ErrorCode::kUnavailable, "AUTH: " + ec.message());
    auto until = std::chrono::steady_clock::now() + timeout;
    char chunk[512];
    while (true) {
      auto p = resp::parse_value(in_);
      if (p.outcome == resp::Outcome::kComplete) {
        in_.erase(0, p.consumed);
        if (p.value.type == resp::Value::Type::kSimple && p.value.str == "OK") {
          return {};
        }
        return Status(ErrorCode::kDenied, p.value.is_error()
                                              ? p.value.str
                                              : "unexpected AUTH reply");
      }
      if (p.outcome == resp::Outcome::kError) {
        return Status(ErrorCode::kProtocol, p.error);
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          until - std::chrono::steady_clock::now());
      pollfd pfd{fd(), POLLIN, 0};
      if (left.count() <= 0 ||
          ::poll(&pfd, 1, static_cast<int>(left.count())) != 1) {
        return Status(ErrorCode::kTimeout, "no answer to AUTH");
      }
      size_t n = stream_.read_some(asio::buffer(chunk), ec);
      if (ec && ec != asio::error::would_block) {
        return Status(ErrorCode::kUnavailable, "AUTH: " + ec.message());
      }
      in_.append(chunk, n);
    }
  }

  Result<std::vector<Message>> read() {
    char chunk[16 * 1024];
    while (!broken_) {
      asio::error_code ec;
      // Until the socket is empty: a TLS record read whole is decrypted
      // and taken now, so poll() on fd() never misses bytes held above it.
      size_t n = stream_.read_some(asio::buffer(chunk), ec);
      if (ec == asio::error::would_block || ec == asio::error::try_again) {
        break;
      }
      if (ec) {
        broken_ = true;
        break;
      }
      in_.append(chunk, n);
    }
    std::vector<Message> got;
    size_t pos = 0;
    while (pos < in_.size()) {
      auto p = resp::parse_value(std::string_view(in_).substr(pos));
      if (p.outcome == resp::Outcome::kNeedMore) break;
      if (p.outcome == resp::Outcome::kError) {
        broken_ = true;
        return Status(ErrorCode::kProtocol, p.error);
      }
      pos += p.consumed;
      auto& a = p.value.array;
      if (p.value.is_error()) {
        return Status(ErrorCode::kInternal, p.value.str);
      }
      // message channel text | pmessage pattern channel text; the rest
      // (subscribe confirmations) carries nothing for the caller.
      if (a.size() == 3 && a[0].str == "message") {
        got.push_back({std::move(a[1].str), std::move(a[2].str)});
      } else if (a.size() == 4 && a[0].str == "pmessage") {
        got.push_back({std::move(a[2].str), std::move(a[3].str)});
      }
    }
    in_.erase(0, pos);
    if (got.empty() && broken_) {
      return Status(ErrorCode::kUnavailable, "the subscription was closed");
    }
    return got;
  }

  int fd() { return stream_.socket().native_handle(); }

 private:
  // Writes all of `out`, blocking (commands are small).
  asio::error_code write_all(const std::string& out) {
    asio::error_code ec;
    stream_.socket().non_blocking(false, ec);
    stream_.write(asio::buffer(out), ec);
    asio::error_code ignored;
    stream_.socket().non_blocking(true, ignored);
    return ec;
  }

  static Status unavailable(const std::string& addr,
                            const asio::error_code& ec) {
    return Status(ErrorCode::kUnavailable,
                  "cannot connect to " + addr + ": " + ec.message());
  }

  asio::io_context io_;
  tls::Stream stream_;
  std::string in_;
  bool broken_ = false;
};

Result<std::unique_ptr<Subscriber>> Subscriber::connect(
    const std::string& addr, std::chrono::milliseconds timeout,
    const Credentials& credentials, std::shared_ptr<tls::Context> tls) {
  auto impl = std::make_unique<Impl>(tls.get());
  if (Status s = impl->connect(addr, timeout); !s.ok()) return s;
  if (!credentials.password.empty()) {
    if (Status s = impl->auth(credentials, timeout); !s.ok()) {
      return Status(s.code(), "AUTH at " + addr + ": " + s.message());
    }
  }
  return std::unique_ptr<Subscriber>(
      new Subscriber(std::move(impl), addr, std::move(tls)));
}

Subscriber::Subscriber(std::unique_ptr<Impl> impl, std::string addr,
                       std::shared_ptr<tls::Context> tls)
    : tls_(std::move(tls)), impl_(std::move(impl)), addr_(std::move(addr)) {}

Subscriber::~Subscriber() = default;

Status Subscriber::subscribe(const std::string& channel) {
  return impl_->send({"SUBSCRIBE", channel});
}

Status Subscriber::unsubscribe(const std::string& channel) {
  return impl_->send({"UNSUBSCRIBE", channel});
}

Result<std::vector<Subscriber::Message>> Subscriber::read() {
  return impl_->read();
}

int Subscriber::fd() const { return impl_->fd(); }

}  // namespace cmud::client
