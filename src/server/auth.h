// Client authentication on the query ports: the default user's password
// (Redis's requirepass). The server keeps only its SHA-256, as Redis keeps
// ACL passwords, and compares digests in constant time.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "cmud/resp/resp.h"

namespace cmud::server {

class Session;

// SHA-256 of a password (32 bytes), by OpenSSL's libcrypto. Thread-safe.
std::string password_digest(std::string_view password);

// AUTH's and HELLO AUTH's check of `user` (nullopt: AUTH with the password
// alone) and `password` against the server's default user. True when they
// match; otherwise writes Redis's error (WRONGPASS, or the error for AUTH
// without any password configured), counts a failure and returns false.
bool check_credentials(Session& s, std::optional<std::string_view> user,
                       std::string_view password, resp::ReplyWriter& w);

}  // namespace cmud::server
