#include "auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstdlib>

#include "session.h"

namespace cmud::server {

std::string password_digest(std::string_view password) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(password.data(), password.size(), md, &n, EVP_sha256(),
                 nullptr) != 1) {
    std::abort();  // SHA-256 is always there; a failure is a broken libcrypto
  }
  return std::string(reinterpret_cast<const char*>(md), n);
}

bool check_credentials(Session& s, std::optional<std::string_view> user,
                       std::string_view password, resp::ReplyWriter& w) {
  const std::string& want = s.port().password_digest;
  bool ok = false;
  if (user && *user != "default") {
    ok = false;  // the only user there is
  } else if (want.empty()) {
    // Without a password the default user takes any (Redis's nopass), but
    // AUTH with a password alone is a mistake worth saying so.
    if (!user) {
      w.error(
          "ERR AUTH <password> called without any password configured for "
          "the default user. Are you sure your configuration is correct?");
      return false;
    }
    ok = true;
  } else {
    std::string got = password_digest(password);
    ok = got.size() == want.size() &&
         CRYPTO_memcmp(got.data(), want.data(), got.size()) == 0;
  }
  if (!ok) {
    if (s.port().clients != nullptr) {
      s.port().clients->auth_failures.fetch_add(1, std::memory_order_relaxed);
    }
    w.error("WRONGPASS invalid username-password pair or user is disabled.");
  }
  return ok;
}

}  // namespace cmud::server
