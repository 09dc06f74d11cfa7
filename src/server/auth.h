// Client authentication on the query ports: AUTH and HELLO AUTH against
// the server's ACL users (acl.h), which keep only SHA-256 hashes of their
// passwords, as Redis's do, compared in constant time.
#pragma once

#include <optional>
#include <string_view>

#include "cmud/resp/resp.h"

namespace cmud::server {

class Session;

// AUTH's and HELLO AUTH's check of `user` (nullopt: AUTH with the password
// alone, for the default user) and `password`. On success signs the
// session in and returns true; otherwise writes Redis's error (WRONGPASS,
// or the error for AUTH without any password configured), counts a
// failure and returns false.
bool check_credentials(Session& s, std::optional<std::string_view> user,
                       std::string_view password, resp::ReplyWriter& w);

}  // namespace cmud::server
