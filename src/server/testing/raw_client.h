// A blocking RESP client over a real socket, for tests of the query ports.
#pragma once

#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/write.hpp>
#include <chrono>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "cmud/resp/resp.h"

namespace cmud::server::testing {

using resp::Value;

// A blocking RESP client with a receive timeout. Thread-compatible.
class RawClient {
 public:
  explicit RawClient(const std::string& addr) : socket_(io_) {
    auto colon = addr.rfind(':');
    asio::ip::tcp::endpoint ep(
        asio::ip::make_address(addr.substr(0, colon)),
        static_cast<uint16_t>(std::stoi(addr.substr(colon + 1))));
    socket_.connect(ep);
    timeval tv{5, 0};
    setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv,
               sizeof tv);
  }
  void send(std::string_view bytes) {
    asio::write(socket_, asio::buffer(bytes.data(), bytes.size()));
  }
  // As send, but a connection closed meanwhile is not an exception.
  void send_some(std::string_view bytes, asio::error_code& ec) {
    asio::write(socket_, asio::buffer(bytes.data(), bytes.size()), ec);
  }
  void command(const std::vector<std::string_view>& args) {
    std::string out;
    resp::write_command(out, args);
    send(out);
  }
  // The next reply; a kError value with text "<closed>" when the server
  // closed the connection, "<timeout>" after 5 s.
  Value reply() {
    while (true) {
      auto p = resp::parse_value(buf_);
      if (p.outcome == resp::Outcome::kComplete) {
        buf_.erase(0, p.consumed);
        return p.value;
      }
      if (p.outcome == resp::Outcome::kError) return error("<bad reply>");
      // (SO_RCVTIMEO alone is not enough: asio waits again in poll().)
      pollfd readable{socket_.native_handle(), POLLIN, 0};
      if (::poll(&readable, 1, 5000) != 1) return error("<timeout>");
      char chunk[65536];
      asio::error_code ec;
      size_t n = socket_.read_some(asio::buffer(chunk), ec);
      if (ec == asio::error::eof || ec == asio::error::connection_reset) {
        return error("<closed>");
      }
      if (ec) return error("<timeout>");
      buf_.append(chunk, n);
    }
  }
  Value call(const std::vector<std::string_view>& args) {
    command(args);
    return reply();
  }
  // Whether a whole reply has arrived (waits at most 1 ms for bytes).
  bool has_reply() {
    if (resp::parse_value(buf_).outcome == resp::Outcome::kComplete) {
      return true;
    }
    socket_.non_blocking(true);
    char chunk[65536];
    asio::error_code ec;
    size_t n = socket_.read_some(asio::buffer(chunk), ec);
    socket_.non_blocking(false);
    if (!ec) buf_.append(chunk, n);
    return resp::parse_value(buf_).outcome == resp::Outcome::kComplete;
  }
  // Reads and drops the replies that came, until 300 ms (three sync
  // spacings) pass with none.
  void drain() {
    for (int quiet = 0; quiet < 60;) {
      if (has_reply()) {
        reply();
        quiet = 0;
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        ++quiet;
      }
    }
  }

 private:
  static Value error(std::string s) {
    Value v;
    v.type = Value::Type::kError;
    v.str = std::move(s);
    return v;
  }
  asio::io_context io_;
  asio::ip::tcp::socket socket_;
  std::string buf_;
};

// Each command answers exactly its error.
inline void expect_errors(
    RawClient& c,
    const std::vector<std::pair<std::vector<std::string_view>, std::string>>&
        cases) {
  for (const auto& [args, error] : cases) {
    auto r = c.call(args);
    ASSERT_TRUE(r.is_error()) << args[0];
    EXPECT_EQ(r.str, error);
  }
}

}  // namespace cmud::server::testing
