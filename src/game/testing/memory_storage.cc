#include "memory_storage.h"

#include <string_view>
#include <utility>
#include <vector>

#include "cmud/game/schema.h"

namespace cmud::game::testing {

namespace {

// Redis glob with '*' only (the template uses nothing else): '*' matches
// any run of characters, '/' included.
bool glob_match(std::string_view pattern, std::string_view s) {
  if (pattern.empty()) return s.empty();
  if (pattern[0] == '*') {
    for (size_t i = 0; i <= s.size(); ++i) {
      if (glob_match(pattern.substr(1), s.substr(i))) return true;
    }
    return false;
  }
  return !s.empty() && pattern[0] == s[0] &&
         glob_match(pattern.substr(1), s.substr(1));
}

std::string substitute(std::string_view pattern, std::string_view user) {
  std::string out;
  constexpr std::string_view kUser = "{user}";
  while (true) {
    size_t at = pattern.find(kUser);
    out += pattern.substr(0, at);
    if (at == std::string_view::npos) return out;
    out += user;
    pattern.remove_prefix(at + kUser.size());
  }
}

// The patterns of kSignupRules (schema.h) that start with `kind` ("%W~",
// "&"), without it: what the server makes of the template, for the globs
// above.
std::vector<std::string_view> patterns(std::string_view kind) {
  std::vector<std::string_view> out;
  std::string_view rules = kSignupRules;
  while (!rules.empty()) {
    size_t end = rules.find(' ');
    std::string_view rule = rules.substr(0, end);
    if (rule.starts_with(kind)) out.push_back(rule.substr(kind.size()));
    rules = end == std::string_view::npos ? "" : rules.substr(end + 1);
  }
  return out;
}

bool any_match(const std::vector<std::string_view>& patterns,
               std::string_view user, std::string_view s) {
  for (std::string_view p : patterns) {
    if (glob_match(substitute(p, user), s)) return true;
  }
  return false;
}

Status no_permission(std::string_view what) {
  return Status(ErrorCode::kInternal,
                "NOPERM this user has no permissions to " + std::string(what));
}

// What Storage's defaults say without accounts.
Status no_accounts() {
  return Status(ErrorCode::kNotFound, "this store has no accounts");
}

}  // namespace

bool account_may_write(std::string_view user, std::string_view key) {
  static const std::vector<std::string_view> writes = patterns("%W~");
  return any_match(writes, user, key);
}

bool account_may_publish(std::string_view user, std::string_view channel) {
  static const std::vector<std::string_view> channels = patterns("&");
  return any_match(channels, user, channel);
}

// Thread-safe: publish() runs on any thread.
class MemoryStorage::MemoryFeed {
 public:
  void listen(const std::vector<std::string>& channels) {
    std::lock_guard lock(mu_);
    channels_ = channels;
  }
  void deliver(const std::string& channel, const std::string& message) {
    std::lock_guard lock(mu_);
    for (const auto& c : channels_) {
      if (c == channel) got_.push_back(message);
    }
  }
  std::vector<std::string> take() {
    std::lock_guard lock(mu_);
    return std::exchange(got_, {});
  }

 private:
  std::mutex mu_;
  std::vector<std::string> channels_;
  std::vector<std::string> got_;
};

namespace {

// The Feed a caller owns; the storage keeps a weak reference to its state.
class FeedHandle : public Feed {
 public:
  explicit FeedHandle(std::shared_ptr<MemoryStorage::MemoryFeed> f)
      : f_(std::move(f)) {}
  Status listen(const std::vector<std::string>& channels) override {
    f_->listen(channels);
    return Status::ok_status();
  }
  Result<std::vector<std::string>> take() override { return f_->take(); }
  int fd() const override { return -1; }

 private:
  std::shared_ptr<MemoryStorage::MemoryFeed> f_;
};

}  // namespace

// What every client of one store shares.
struct MemoryStorage::Shared {
  mutable std::mutex mu;
  std::map<std::string, std::string> data;       // guarded by mu
  Faults faults;                                 // guarded by mu
  bool offline = false;                          // guarded by mu
  int calls = 0;                                 // guarded by mu
  std::vector<std::weak_ptr<MemoryFeed>> feeds;  // guarded by mu
  bool accounts = false;                         // guarded by mu
  std::map<std::string, std::string> passwords;  // guarded by mu
  std::vector<std::string> refused;              // guarded by mu
};

MemoryStorage::MemoryStorage() : MemoryStorage(std::make_shared<Shared>()) {}

MemoryStorage::MemoryStorage(std::shared_ptr<Shared> shared)
    : shared_(std::move(shared)) {}

MemoryStorage::~MemoryStorage() = default;

std::unique_ptr<MemoryStorage> MemoryStorage::new_client() {
  return std::unique_ptr<MemoryStorage>(new MemoryStorage(shared_));
}

Status MemoryStorage::check(const std::string& key, bool& apply) {
  ++shared_->calls;
  apply = false;
  if (shared_->offline) {
    return Status(ErrorCode::kUnavailable, "store is offline");
  }
  return shared_->faults.check(key, apply);
}

Result<std::optional<std::string>> MemoryStorage::get(const std::string& key) {
  std::lock_guard lock(shared_->mu);
  bool apply = false;
  if (Status s = check(key, apply); !s.ok()) return s;
  auto it = shared_->data.find(key);
  if (it == shared_->data.end()) return std::optional<std::string>();
  return std::optional<std::string>(it->second);
}

Status MemoryStorage::put(const std::string& key, const std::string& value) {
  std::lock_guard lock(shared_->mu);
  bool apply = false;
  Status s = check(key, apply);
  if (!s.ok() && !apply) return s;
  if (shared_->accounts && !user_.empty() && !account_may_write(user_, key)) {
    shared_->refused.push_back(user_ + " " + key);
    return no_permission("access one of the keys used as arguments");
  }
  if (apply) shared_->data[key] = value;
  return s;
}

Result<KeyValues> MemoryStorage::list(const std::string& prefix) {
  std::lock_guard lock(shared_->mu);
  bool apply = false;
  if (Status s = check(prefix, apply); !s.ok()) return s;
  KeyValues out;
  for (auto it = shared_->data.lower_bound(prefix);
       it != shared_->data.end() &&
       it->first.compare(0, prefix.size(), prefix) == 0;
       ++it) {
    out.emplace_back(it->first, it->second);
  }
  return out;
}

Result<bool> MemoryStorage::del(const std::string& key) {
  std::lock_guard lock(shared_->mu);
  bool apply = false;
  Status s = check(key, apply);
  if (shared_->accounts && !user_.empty()) {
    shared_->refused.push_back(user_ + " " + key);
    return no_permission("run the 'del' command");
  }
  bool existed = apply && shared_->data.erase(key) > 0;
  if (!s.ok()) return s;
  return existed;
}

Status MemoryStorage::publish(const std::string& channel,
                              const std::string& message) {
  std::lock_guard lock(shared_->mu);
  if (shared_->accounts && !user_.empty() &&
      !account_may_publish(user_, channel)) {
    return no_permission("access one of the channels used as arguments");
  }
  auto& feeds = shared_->feeds;
  std::erase_if(feeds, [](const auto& w) { return w.expired(); });
  for (const auto& w : feeds) {
    if (auto f = w.lock()) f->deliver(channel, message);
  }
  return Status::ok_status();
}

std::unique_ptr<Feed> MemoryStorage::open_feed() {
  auto f = std::make_shared<MemoryFeed>();
  std::lock_guard lock(shared_->mu);
  shared_->feeds.push_back(f);
  return std::make_unique<FeedHandle>(std::move(f));
}

void MemoryStorage::fail_next(int n, ErrorCode code) {
  inject(
      Fault{.count = n, .code = code, .key_prefix = "", .apply_anyway = false});
}

void MemoryStorage::inject(Fault fault) {
  std::lock_guard lock(shared_->mu);
  shared_->faults.add(std::move(fault));
}

void MemoryStorage::set_offline(bool offline) {
  std::lock_guard lock(shared_->mu);
  shared_->offline = offline;
}

int MemoryStorage::calls() const {
  std::lock_guard lock(shared_->mu);
  return shared_->calls;
}

// ---- Accounts ---------------------------------------------------------------

void MemoryStorage::enable_accounts() {
  std::lock_guard lock(shared_->mu);
  shared_->accounts = true;
}

Result<Account> MemoryStorage::account(const std::string& name) {
  std::lock_guard lock(shared_->mu);
  if (!shared_->accounts) return Account::kNone;
  bool apply = false;
  if (Status s = check(name, apply); !s.ok()) return s;
  return shared_->passwords.count(name) ? Account::kTaken : Account::kFree;
}

Result<bool> MemoryStorage::sign_up(const std::string& name,
                                    const std::string& password) {
  std::lock_guard lock(shared_->mu);
  if (!shared_->accounts) return no_accounts();
  bool apply = false;
  Status s = check(name, apply);
  bool created = apply && shared_->passwords.emplace(name, password).second;
  if (!s.ok()) return s;
  return created;
}

Status MemoryStorage::sign_in(const std::string& name,
                              const std::string& password) {
  std::lock_guard lock(shared_->mu);
  if (!shared_->accounts) return no_accounts();
  bool apply = false;
  if (Status s = check(name, apply); !s.ok()) return s;
  auto it = shared_->passwords.find(name);
  if (it == shared_->passwords.end() || it->second != password) {
    return Status(ErrorCode::kDenied,
                  "WRONGPASS invalid username-password pair or user is "
                  "disabled.");
  }
  user_ = name;
  return Status::ok_status();
}

std::string MemoryStorage::signed_in() const {
  std::lock_guard lock(shared_->mu);
  return user_;
}

std::vector<std::string> MemoryStorage::refused_writes() const {
  std::lock_guard lock(shared_->mu);
  return shared_->refused;
}

}  // namespace cmud::game::testing
