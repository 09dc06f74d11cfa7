#include "auth.h"

#include "acl.h"
#include "session.h"

namespace cmud::server {

bool check_credentials(Session& s, std::optional<std::string_view> user,
                       std::string_view password, resp::ReplyWriter& w) {
  auto u = s.port().acl->find(user.value_or("default"));
  // A default user without a password takes any (Redis's nopass), but AUTH
  // with a password alone is then a mistake worth saying so.
  if (!user && u != nullptr && u->nopass() && u->enabled()) {
    w.error(
        "ERR AUTH <password> called without any password configured for "
        "the default user. Are you sure your configuration is correct?");
    return false;
  }
  if (u == nullptr || !u->enabled() || !u->check_password(password)) {
    if (s.port().clients != nullptr) {
      s.port().clients->auth_failures.fetch_add(1, std::memory_order_relaxed);
    }
    w.error("WRONGPASS invalid username-password pair or user is disabled.");
    return false;
  }
  s.sign_in(std::move(u));
  return true;
}

}  // namespace cmud::server
