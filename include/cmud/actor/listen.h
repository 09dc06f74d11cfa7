// Opening a listening TCP socket, shared by the actor system's transport and
// the storage server's query ports.
#pragma once

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <cstdint>
#include <string>

#include "cmud/common/status.h"

namespace cmud::actor {

// An acceptor on `ex`, bound (with SO_REUSEADDR) to host:port and listening.
// host is an IP address or a name to resolve; port 0 picks a free port.
// kInvalidArgument when host does not resolve, kUnavailable when it cannot
// be bound (say, the port is taken). Thread-safe.
Result<asio::ip::tcp::acceptor> listen_tcp(asio::io_context::executor_type ex,
                                           const std::string& host,
                                           uint16_t port);

}  // namespace cmud::actor
