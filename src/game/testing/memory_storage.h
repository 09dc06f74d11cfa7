// For tests: one replica of the game's storage in memory, with fault
// injection, and optionally accounts as a server with ACL SIGNUP and the
// play cluster's signup template has them.
//
//   cmud::game::testing::MemoryStorage mem;
//   mem.fail_next(1);  // the next call fails (kUnavailable)
//
//   mem.enable_accounts();
//   auto ann = mem.new_client();  // same data, its own signed-in account
//   ann->sign_up("ann", "password1");
//   ann->sign_in("ann", "password1");
//   ann->put(keys::player("bob"), "...");  // refused: NOPERM
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cmud/game/storage.h"
#include "faults.h"

namespace cmud::game::testing {

// Whether the account `user` may write `key` under the play cluster's
// signup template (the %W~ patterns of kSignupRules, schema.h), with its globs
// as the server reads them ('*' matches any run of characters, '/' included).
bool account_may_write(std::string_view user, std::string_view key);
// Likewise for publishing on `channel` (the & patterns).
bool account_may_publish(std::string_view user, std::string_view channel);

// Thread-safe.
class MemoryStorage : public Storage {
 public:
  MemoryStorage();
  ~MemoryStorage() override;

  // Another client of the same store: the same data, faults, feeds and
  // accounts, but signed in on its own (as nobody until sign_in).
  std::unique_ptr<MemoryStorage> new_client();

  Result<std::optional<std::string>> get(const std::string& key) override;
  // With accounts on and this client signed in: a key the account may not
  // write is refused as the server refuses it (kInternal, "NOPERM ...").
  Status put(const std::string& key, const std::string& value) override;
  Result<KeyValues> list(const std::string& prefix) override;
  // Signed in to an account: refused (the template does not grant DEL).
  Result<bool> del(const std::string& key) override;
  // In-process pub/sub: every feed of this storage that listens to the
  // channel gets the message (take(); its fd() is -1). Not counted in
  // calls() and not subject to faults. Signed in to an account: a channel
  // the account may not publish on is refused (NOPERM).
  Status publish(const std::string& channel,
                 const std::string& message) override;
  std::unique_ptr<Feed> open_feed() override;
  class MemoryFeed;  // a feed's state (memory_storage.cc)

  // Off (the default): account() is kNone, as on a store without them.
  // On: names sign up with a password and sign in with it.
  void enable_accounts();
  Result<Account> account(const std::string& name) override;
  Result<bool> sign_up(const std::string& name,
                       const std::string& password) override;
  // kDenied for an unknown name or a wrong password (nothing changes).
  Status sign_in(const std::string& name, const std::string& password) override;
  // The account this client is signed in as ("" for none).
  std::string signed_in() const;
  // Every write refused for want of permission so far, on any client:
  // "<account> <key>".
  std::vector<std::string> refused_writes() const;

  // The next n calls fail with `code` (and change nothing).
  void fail_next(int n, ErrorCode code = ErrorCode::kUnavailable);
  // Adds a fault; faults are used up in the order added.
  void inject(Fault fault);
  // While offline every call fails with kUnavailable.
  void set_offline(bool offline);
  // Calls made so far (failed ones included).
  int calls() const;

 private:
  struct Shared;
  explicit MemoryStorage(std::shared_ptr<Shared> shared);

  // The error this call on `key` gets, if any; sets apply when the call
  // should take effect anyway. REQUIRES: shared_->mu held.
  Status check(const std::string& key, bool& apply);

  const std::shared_ptr<Shared> shared_;
  std::string user_;  // guarded by shared_->mu; "" signed in as nobody
};

}  // namespace cmud::game::testing
