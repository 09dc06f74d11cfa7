// Who a client connection signs in as (AUTH, as soon as it opens).
#pragma once

#include <cstdlib>
#include <string>

namespace cmud::client {

// An empty password signs in as nobody: for servers without a password.
// A value type; thread-compatible.
struct Credentials {
  std::string user{};  // empty: the default user (AUTH password)
  std::string password{};
};

// The environment's CMUD_PASSWORD (and CMUD_USER) where `given` has no
// password: programs take credentials by flag or, so that they stay out of
// the process list, from the environment.
inline Credentials with_environment(Credentials given) {
  if (!given.password.empty()) return given;
  if (const char* p = std::getenv("CMUD_PASSWORD")) given.password = p;
  if (const char* u = std::getenv("CMUD_USER"); u && given.user.empty()) {
    given.user = u;
  }
  return given;
}

}  // namespace cmud::client
