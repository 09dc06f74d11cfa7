// Starting servers for tests of the query ports.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "cmud/server/server.h"

namespace cmud::server::testing {

// A loopback server of two query actors on free ports, joined to `join`
// (server descriptions; none for the first of a cluster).
inline auto start_joined(std::vector<std::string> join = {}) {
  ServerConfig c;
  c.port = 0;
  c.actors = 2;
  c.serialize_local_messages = true;
  c.join = std::move(join);
  return Server::start(c);
}

}  // namespace cmud::server::testing
