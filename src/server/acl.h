// ACL users of the query ports (Redis's ACL): who may log in with which
// password, and which commands, keys and channels each may use. Users are
// defined by the server's configuration (--aclfile, --requirepass) and by
// ACL SETUSER/DELUSER, whose records replicate through the store's system
// key space (kv::kSystemPrefix), so every server of a cluster knows every
// user a client may log in as after failing over.
#pragma once

#include <array>
#include <atomic>
#include <bitset>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cmud/common/ascii.h"
#include "cmud/common/status.h"
#include "cmud/kv/version.h"

namespace cmud::server {

struct Command;

namespace acl {

// Redis's ACL categories (ACL CAT lists them all); bit i is kCategoryNames[i].
inline constexpr std::array<std::string_view, 21> kCategoryNames{
    "keyspace", "read",     "write",     "set",        "sortedset",
    "list",     "hash",     "string",    "bitmap",     "hyperloglog",
    "geo",      "stream",   "pubsub",    "admin",      "fast",
    "slow",     "blocking", "dangerous", "connection", "transaction",
    "scripting"};

// The bitmask of space-separated category names, computed when the command
// table is compiled: a name that is not in kCategoryNames does not compile.
consteval uint32_t categories(std::string_view names) {
  return name_bits(kCategoryNames, names);
}

// The categories of a command (or of one of its subcommands, `sub` lower
// case, empty for none): those its row names and those its flags imply
// (write, read, admin and dangerous, pubsub, fast or slow), as Redis
// derives them. Thread-safe.
uint32_t command_categories(const Command& c, std::string_view sub = {});
// The subcommands ACL rules may name (`+client|kill`) of a command that has
// them, lower case; empty for the others.
std::span<const std::string_view> subcommands(const Command& c);

// How a command uses a key: bits that a key pattern must grant.
enum KeyAccess : uint8_t {
  kKeyAny = 0,  // only the key's existence or metadata: any pattern will do
  kKeyRead = 1,
  kKeyWrite = 2,
};
// What command c (called with `args`) does with the key at args[i].
uint8_t key_access(const Command& c, std::span<const std::string_view> args,
                   size_t i);
// The channels a call names (PUBLISH's first argument, SUBSCRIBE's and
// PSUBSCRIBE's every one; `pattern` set for PSUBSCRIBE), none for others.
// REQUIRES: args fit the command's arity.
std::span<const std::string_view> channel_args(
    const Command& c, std::span<const std::string_view> args, bool& pattern);

// Whether `name` may name a user: not empty, no whitespace or NUL (a
// user's line could not hold it).
bool valid_user_name(std::string_view name);

// ACL SIGNUP (a self-service account from the server's template,
// ServerConfig::signup_rules). A name it may make: 1 to kMaxSignupName
// characters of [A-Za-z0-9_-], so that it stands in the template's key and
// channel patterns ("{user}") as itself, never as a pattern.
inline constexpr size_t kMaxSignupName = 64;
bool valid_signup_name(std::string_view name);

// Lower-case hex SHA-256 of a password: how users keep them (as Redis
// does; ACL GETUSER shows it and `#<hash>` rules take it). Thread-safe.
std::string password_hash(std::string_view password);

// One user: immutable once built and shared (the table hands out
// shared_ptr<const User>); building one is thread-compatible.
class User {
 public:
  // A new user as Redis makes one: off, no password, no keys, no
  // channels, no commands.
  explicit User(std::string name);

  const std::string& name() const { return name_; }
  bool enabled() const { return enabled_; }
  bool nopass() const { return nopass_; }
  // Every command, key and channel (the default user out of the box): the
  // checks below need not run.
  bool unrestricted() const {
    return all_keys_ && all_channels_ && base_all_ && rules_.empty();
  }

  // Applies one ACL SETUSER rule. On a mistake it returns Redis's reason
  // (the words after "Error in ACL SETUSER modifier '<rule>': ").
  std::optional<std::string> apply(std::string_view rule);
  // Applies rules in order, all or nothing: the error ACL SETUSER answers.
  Status apply_all(std::span<const std::string_view> rules);
  // The rules that build this user again, as ACL LIST shows them after
  // "user <name> ": flags, passwords, keys, channels, commands.
  std::string describe() const;
  // ACL GETUSER's fields.
  std::vector<std::string> flags() const;
  const std::vector<std::string>& passwords() const { return passwords_; }
  std::string describe_commands() const;
  std::string describe_keys() const;
  std::string describe_channels() const;

  // Whether `password` logs this user in (not whether the user is on).
  bool check_password(std::string_view password) const;
  // Whether the user may run c (with subcommand `sub`, lower case, when c
  // has subcommands).
  bool may_run(const Command& c, std::string_view sub) const;
  // Whether the user's key patterns grant `access` (KeyAccess bits) to key.
  bool may_access_key(std::string_view key, uint8_t access) const;
  // Whether the user may publish or subscribe to `channel`; a pattern
  // (PSUBSCRIBE) must be one of the user's own patterns, literally.
  bool may_use_channel(std::string_view channel, bool pattern) const;

 private:
  struct KeyPattern {
    std::string pattern;
    uint8_t access = kKeyRead | kKeyWrite;
    // "literal*" (the usual ~app:*) is matched as a prefix, a pattern
    // without glob characters as the key itself: no glob walk per key.
    enum class Kind : uint8_t { kGlob, kPrefix, kExact } kind = Kind::kGlob;
    std::string literal;
    bool matches(std::string_view key) const;
  };
  struct CommandRule {
    bool allow = false;
    int category = -1;  // >= 0: a category rule (+@read)
    const Command* command = nullptr;
    std::string sub;  // with command: that subcommand only
    std::string text() const;
    bool operator==(const CommandRule& o) const {
      return allow == o.allow && category == o.category &&
             command == o.command && sub == o.sub;
    }
  };
  std::optional<std::string> apply_command_rule(std::string_view rule);
  std::optional<std::string> add_key_pattern(std::string_view pattern,
                                             uint8_t access);
  // Whether the rules allow c with `sub`, replayed in order.
  bool allowed(const Command& c, std::string_view sub) const;
  // Recomputes allowed_ from the rules.
  void settle();

  std::string name_;
  bool enabled_ = false;
  bool nopass_ = false;
  std::vector<std::string> passwords_;  // password_hash() values
  bool all_keys_ = false;
  std::vector<KeyPattern> keys_;
  bool all_channels_ = false;
  std::vector<std::string> channels_;
  bool base_all_ = false;  // +@all (allcommands), else -@all
  std::vector<CommandRule> rules_;
  static constexpr size_t kMaxCommands = 128;
  std::bitset<kMaxCommands> allowed_;  // by index in command_table()
};

// The user `name` that a line of rules builds (a user's record, or an ACL
// file's line after "user <name>"), all or nothing: ACL SETUSER's error.
Result<User> parse_user(std::string name, std::string_view rules);

// The user ACL SIGNUP makes: on, then the template's rules (ACL SETUSER's,
// space-separated) with every "{user}" replaced by `name`, then `password`
// as its only one. All or nothing: ACL SETUSER's error.
// REQUIRES: valid_signup_name(name).
Result<User> signup_user(std::string_view rules, std::string_view name,
                         std::string_view password);

// Reads users from an ACL file (Redis's format: one "user <name> <rule>..."
// per line; blank lines and lines starting with '#' are skipped). The
// error names the line.
Result<std::vector<User>> parse_acl_file(std::string_view text,
                                         std::string_view file_name);

// The key of a user's record in the system key space, and the name a key
// names (nullopt for any other key).
std::string record_key(std::string_view name);
std::optional<std::string_view> record_name(std::string_view key);
// The record's value: ACL LIST's line of the user.
std::string record_value(const User& u);

// Every user of one server: those of its configuration, each replaced by
// the replicated record of the same name once one exists (last writer
// wins; a deleted user's record is a tombstone). The query actors hand it
// every record they apply. Thread-safe.
class Table {
 public:
  Table();
  // The users of this server's configuration; a "default" user (on,
  // nopass, everything) stands in when none is given.
  void configure(std::vector<User> users);
  // A record of the system key space as a replica applied it (any key of
  // it; records of other kinds are ignored). Kept if newer than the one
  // held.
  void apply(std::string_view key, std::string_view value,
             const kv::Version& version, bool deleted);
  // The user named, or null (never defined, or deleted).
  std::shared_ptr<const User> find(std::string_view name) const;
  // Every user, by name.
  std::vector<std::shared_ptr<const User>> users() const;
  // Changes whenever a user does: sessions look their user up again.
  uint64_t generation() const {
    return generation_.load(std::memory_order_acquire);
  }
  // Called (from the thread that applied the record, without the table's
  // lock) with the name of a user that changed or was deleted, so that its
  // connections can look again (and close, as Redis closes them, when the
  // user is gone or its channels no longer allow their subscriptions).
  void on_changed(std::function<void(const std::string&)> f);

 private:
  struct Record {
    kv::Version version;
    std::shared_ptr<const User> user;  // null: deleted
  };
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<const User>, std::less<>> config_;
  std::map<std::string, Record, std::less<>> records_;
  std::function<void(const std::string&)> on_changed_;
  std::atomic<uint64_t> generation_{1};
};

}  // namespace acl
}  // namespace cmud::server
