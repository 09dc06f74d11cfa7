#include "cmud/actor/listen.h"

#include "cmud/common/address.h"

namespace cmud::actor {

using asio::ip::tcp;

Result<tcp::acceptor> listen_tcp(asio::io_context::executor_type ex,
                                 const std::string& host, uint16_t port) {
  asio::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec) {
    tcp::resolver resolver(ex);
    auto results = resolver.resolve(host, std::to_string(port), ec);
    if (ec || results.empty()) {
      return Status(ErrorCode::kInvalidArgument,
                    "cannot resolve listen host '" + host + "'");
    }
    addr = results.begin()->endpoint().address();
  }
  tcp::acceptor acc(ex);
  tcp::endpoint ep(addr, port);
  acc.open(ep.protocol(), ec);
  if (!ec) acc.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acc.bind(ep, ec);
  if (!ec) acc.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status(
        ErrorCode::kUnavailable,
        "cannot listen on " + join_host_port(host, port) + ": " + ec.message());
  }
  return acc;
}

}  // namespace cmud::actor
