#include "acl.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "cmud/common/ascii.h"
#include "cmud/kv/store.h"
#include "cmud/resp/resp.h"
#include "commands.h"

namespace cmud::server::acl {
namespace {

// The subcommands of our container commands, with their own categories
// (Redis gives each subcommand its own).
struct Sub {
  std::string_view name;
  uint32_t categories;
};
constexpr uint32_t kAdminSub = categories("admin slow dangerous");
constexpr Sub kAclSubs[] = {{"cat", categories("slow")},
                            {"deluser", kAdminSub},
                            {"getuser", kAdminSub},
                            {"help", categories("slow")},
                            {"list", kAdminSub},
                            {"load", kAdminSub},
                            {"save", kAdminSub},
                            {"setuser", kAdminSub},
                            {"signup", categories("write slow")},
                            {"users", kAdminSub},
                            {"whoami", categories("slow")}};
constexpr uint32_t kConnSub = categories("slow connection");
constexpr Sub kClientSubs[] = {
    {"getname", kConnSub},
    {"help", kConnSub},
    {"id", kConnSub},
    {"info", kConnSub},
    {"kill", categories("admin slow dangerous connection")},
    {"list", categories("admin slow dangerous connection")},
    {"no-evict", categories("admin slow dangerous connection")},
    {"reply", kConnSub},
    {"setinfo", kConnSub},
    {"setname", kConnSub}};
constexpr Sub kConfigSubs[] = {{"get", kAdminSub},
                               {"help", categories("slow")},
                               {"resetstat", kAdminSub},
                               {"set", kAdminSub}};
constexpr Sub kClusterSubs[] = {{"forget", kAdminSub},
                                {"help", categories("slow")}};
constexpr Sub kCommandSubs[] = {{"count", kConnSub},   {"docs", kConnSub},
                                {"getkeys", kConnSub}, {"help", kConnSub},
                                {"info", kConnSub},    {"list", kConnSub}};
constexpr Sub kSlowlogSubs[] = {{"get", kAdminSub},
                                {"help", categories("slow")},
                                {"len", kAdminSub},
                                {"reset", kAdminSub}};
constexpr Sub kLatencySubs[] = {
    {"doctor", kAdminSub},        {"graph", kAdminSub},
    {"help", categories("slow")}, {"histogram", kAdminSub},
    {"history", kAdminSub},       {"latest", kAdminSub},
    {"reset", kAdminSub}};
constexpr Sub kPubSubSubs[] = {{"channels", categories("pubsub slow")},
                               {"help", categories("slow")},
                               {"numpat", categories("pubsub slow")},
                               {"numsub", categories("pubsub slow")}};

std::span<const Sub> subs_of(const Command& c) {
  if (c.name == "acl") return kAclSubs;
  if (c.name == "client") return kClientSubs;
  if (c.name == "config") return kConfigSubs;
  if (c.name == "cluster") return kClusterSubs;
  if (c.name == "command") return kCommandSubs;
  if (c.name == "pubsub") return kPubSubSubs;
  if (c.name == "slowlog") return kSlowlogSubs;
  if (c.name == "latency") return kLatencySubs;
  return {};
}

size_t index_of(const Command& c) {
  return static_cast<size_t>(&c - command_table().data());
}

// Whitespace or NUL: a pattern with one could not be written back as one
// rule of a line (ACL LIST, ACL SAVE, a user's record), so Redis refuses it.
bool has_spaces(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    return c == '\0' || std::isspace(static_cast<unsigned char>(c));
  });
}

bool is_hash(std::string_view h) {
  return h.size() == 64 && std::all_of(h.begin(), h.end(), [](char c) {
           return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
         });
}

constexpr std::string_view kSyntax = "Syntax error";
constexpr std::string_view kUnknown = "Unknown command or category name in ACL";

}  // namespace

uint32_t command_categories(const Command& c, std::string_view sub) {
  if (!sub.empty()) {
    for (const Sub& s : subs_of(c)) {
      if (s.name == sub) return s.categories;
    }
  }
  uint32_t cats = c.acl;
  if ((c.flags & kFlagWrite) != 0) cats |= categories("write");
  if ((c.flags & kFlagReadonly) != 0) cats |= categories("read");
  if ((c.flags & kFlagAdmin) != 0) cats |= categories("admin dangerous");
  if ((c.flags & kFlagPubSub) != 0) cats |= categories("pubsub");
  if ((c.flags & kFlagBlocking) != 0) cats |= categories("blocking");
  cats |= (c.flags & kFlagFast) != 0 ? categories("fast") : categories("slow");
  return cats;
}

namespace {

// What the checks need of each command, looked up by its index in the
// table once built: no name comparisons per command.
enum class Shape : uint8_t {
  kPlain,
  kCopy,
  kRename,
  kSet,
  kChannelArgs,
  kPublish,
  kPatternArgs
};
struct Traits {
  std::vector<std::string_view> subs;
  uint8_t access = kKeyRead | kKeyWrite;
  Shape shape = Shape::kPlain;
};

const Traits& traits(const Command& c) {
  static const auto by_index = [] {
    std::vector<Traits> v(command_table().size());
    auto mark = [&](std::string_view names, auto&& f) {
      for (std::string_view n : split_words(names)) {
        if (const Command* c = find_command(n)) f(v[index_of(*c)]);
      }
    };
    for (const Command& c : command_table()) {
      for (const Sub& s : subs_of(c)) v[index_of(c)].subs.push_back(s.name);
    }
    mark("get strlen getrange substr lcs mget getbit",
         [](Traits& t) { t.access = kKeyRead; });
    mark(
        "set setex psetex mset msetnx setnx expire pexpire expireat "
        "pexpireat persist del unlink",
        [](Traits& t) { t.access = kKeyWrite; });
    mark("exists type ttl pttl expiretime pexpiretime touch watch",
         [](Traits& t) { t.access = kKeyAny; });
    mark("copy", [](Traits& t) { t.shape = Shape::kCopy; });
    mark("rename renamenx", [](Traits& t) { t.shape = Shape::kRename; });
    mark("set", [](Traits& t) { t.shape = Shape::kSet; });
    mark("subscribe", [](Traits& t) { t.shape = Shape::kChannelArgs; });
    mark("publish", [](Traits& t) { t.shape = Shape::kPublish; });
    mark("psubscribe", [](Traits& t) { t.shape = Shape::kPatternArgs; });
    return v;
  }();
  return by_index[index_of(c)];
}

}  // namespace

std::span<const std::string_view> subcommands(const Command& c) {
  return traits(c).subs;
}

uint8_t key_access(const Command& c, std::span<const std::string_view> args,
                   size_t i) {
  const Traits& t = traits(c);
  switch (t.shape) {
    case Shape::kCopy:
      return i == 1 ? kKeyRead : kKeyWrite;
    case Shape::kRename:
      return i == 1 ? kKeyRead | kKeyWrite : kKeyWrite;
    case Shape::kSet:  // SET ... GET reads the old value too
      for (size_t j = 3; j < args.size(); ++j) {
        if (iequals(args[j], "get")) return kKeyRead | kKeyWrite;
      }
      return t.access;
    default:
      return t.access;
  }
}

std::span<const std::string_view> channel_args(
    const Command& c, std::span<const std::string_view> args, bool& pattern) {
  const Shape shape = traits(c).shape;
  pattern = shape == Shape::kPatternArgs;
  if (shape == Shape::kPublish) return args.subspan(1, 1);
  if (shape == Shape::kChannelArgs || pattern) return args.subspan(1);
  return {};
}

bool valid_user_name(std::string_view name) {
  return !name.empty() && !has_spaces(name);
}

bool valid_signup_name(std::string_view name) {
  return !name.empty() && name.size() <= kMaxSignupName &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  (c >= '0' && c <= '9') || c == '_' || c == '-';
         });
}

Result<User> signup_user(std::string_view rules, std::string_view name,
                         std::string_view password) {
  std::string expanded;
  constexpr std::string_view kPlaceholder = "{user}";
  for (size_t i = 0; i < rules.size();) {
    if (rules.substr(i, kPlaceholder.size()) == kPlaceholder) {
      expanded += name;
      i += kPlaceholder.size();
    } else {
      expanded += rules[i++];
    }
  }
  auto u = parse_user(std::string(name), "on " + expanded);
  if (!u.ok()) return u.status();
  // Only this password signs the new user in, whatever the template says.
  std::string pass = ">" + std::string(password);
  if (Status st =
          u->apply_all(std::vector<std::string_view>{"resetpass", pass});
      !st.ok()) {
    return st;
  }
  return u;
}

std::string password_hash(std::string_view password) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (EVP_Digest(password.data(), password.size(), md, &n, EVP_sha256(),
                 nullptr) != 1) {
    std::abort();  // SHA-256 is always there; a failure is a broken libcrypto
  }
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(2 * n);
  for (unsigned int i = 0; i < n; ++i) {
    out += kHex[md[i] >> 4];
    out += kHex[md[i] & 15];
  }
  return out;
}

User::User(std::string name) : name_(std::move(name)) { settle(); }

std::string User::CommandRule::text() const {
  std::string out(allow ? "+" : "-");
  if (category >= 0) {
    out += '@';
    out += kCategoryNames[static_cast<size_t>(category)];
  } else {
    out += command->name;
    if (!sub.empty()) out += "|" + sub;
  }
  return out;
}

std::optional<std::string> User::apply(std::string_view rule) {
  std::string lower = ascii_lower(rule);
  if (lower == "on") {
    enabled_ = true;
  } else if (lower == "off") {
    enabled_ = false;
  } else if (lower == "nopass") {
    nopass_ = true;
    passwords_.clear();
  } else if (lower == "resetpass") {
    nopass_ = false;
    passwords_.clear();
  } else if (lower == "allkeys") {
    all_keys_ = true;
    keys_.clear();
  } else if (lower == "resetkeys") {
    all_keys_ = false;
    keys_.clear();
  } else if (lower == "allchannels") {
    all_channels_ = true;
    channels_.clear();
  } else if (lower == "resetchannels") {
    all_channels_ = false;
    channels_.clear();
  } else if (lower == "allcommands" || lower == "nocommands") {
    return apply_command_rule(lower == "allcommands" ? "+@all" : "-@all");
  } else if (lower == "reset") {
    *this = User(std::move(name_));
  } else if (lower == "sanitize-payload" || lower == "skip-sanitize-payload") {
    // Redis's checks of RESTORE payloads: there is no RESTORE here.
  } else if (rule.empty()) {
    return std::string(kSyntax);
  } else if (rule[0] == '>' || rule[0] == '<') {
    std::string h = password_hash(rule.substr(1));
    auto it = std::find(passwords_.begin(), passwords_.end(), h);
    if (rule[0] == '>') {
      if (it == passwords_.end()) passwords_.push_back(std::move(h));
      nopass_ = false;
    } else if (it == passwords_.end()) {
      return "The password you are trying to remove from the user does not "
             "exist";
    } else {
      passwords_.erase(it);
    }
  } else if (rule[0] == '#' || rule[0] == '!') {
    std::string_view h = rule.substr(1);
    if (!is_hash(h)) {
      return "The password hash must be exactly 64 characters and contain "
             "only lowercase hexadecimal characters";
    }
    auto it = std::find(passwords_.begin(), passwords_.end(), h);
    if (rule[0] == '#') {
      if (it == passwords_.end()) passwords_.emplace_back(h);
      nopass_ = false;
    } else if (it == passwords_.end()) {
      return "The password you are trying to remove from the user does not "
             "exist";
    } else {
      passwords_.erase(it);
    }
  } else if ((rule[0] == '~' || rule[0] == '%' || rule[0] == '&') &&
             has_spaces(rule)) {
    return std::string(kSyntax);
  } else if (rule[0] == '~') {
    return add_key_pattern(rule.substr(1), kKeyRead | kKeyWrite);
  } else if (rule[0] == '%') {
    size_t tilde = rule.find('~');
    if (tilde == std::string_view::npos || tilde < 2) {
      return std::string(kSyntax);
    }
    uint8_t access = 0;
    for (char c : rule.substr(1, tilde - 1)) {
      if (c == 'R' || c == 'r') {
        access |= kKeyRead;
      } else if (c == 'W' || c == 'w') {
        access |= kKeyWrite;
      } else {
        return std::string(kSyntax);
      }
    }
    return add_key_pattern(rule.substr(tilde + 1), access);
  } else if (rule[0] == '&') {
    std::string_view p = rule.substr(1);
    if (all_channels_) {
      return "Adding a pattern after the * pattern (or the 'allchannels' "
             "flag) is not valid and does not have any effect. Try "
             "'resetchannels' to start with an empty list of channels";
    }
    if (p == "*") {
      all_channels_ = true;
      channels_.clear();
    } else if (std::find(channels_.begin(), channels_.end(), p) ==
               channels_.end()) {
      channels_.emplace_back(p);
    }
  } else if (rule[0] == '+' || rule[0] == '-') {
    return apply_command_rule(rule);
  } else if (rule[0] == '(' || lower == "clearselectors") {
    return "Selectors are not supported here: give the user one set of "
           "permissions";
  } else {
    return std::string(kSyntax);
  }
  return std::nullopt;
}

std::optional<std::string> User::add_key_pattern(std::string_view pattern,
                                                 uint8_t access) {
  if (all_keys_) {
    return "Adding a pattern after the * pattern (or the 'allkeys' flag) is "
           "not valid and does not have any effect. Try 'resetkeys' to start "
           "with an empty list of patterns";
  }
  if (pattern == "*" && access == (kKeyRead | kKeyWrite)) {
    all_keys_ = true;
    keys_.clear();
    return std::nullopt;
  }
  for (KeyPattern& k : keys_) {
    if (k.pattern == pattern) {  // one pattern, the union of its rights
      k.access |= access;
      if (pattern == "*" && k.access == (kKeyRead | kKeyWrite)) {
        all_keys_ = true;  // %R~* and %W~*: every key, as ~* says
        keys_.clear();
      }
      return std::nullopt;
    }
  }
  KeyPattern k;
  k.pattern = std::string(pattern);
  k.access = access;
  if (pattern.find_first_of("*?[\\") == std::string_view::npos) {
    k.kind = KeyPattern::Kind::kExact;
    k.literal = k.pattern;
  } else if (resp::glob_is_prefix(pattern)) {
    k.kind = KeyPattern::Kind::kPrefix;
    k.literal = resp::glob_literal_prefix(pattern);
  }
  keys_.push_back(std::move(k));
  return std::nullopt;
}

std::optional<std::string> User::apply_command_rule(std::string_view rule) {
  CommandRule r;
  r.allow = rule[0] == '+';
  std::string target = ascii_lower(rule.substr(1));
  if (target.starts_with("@")) {
    std::string_view cat = std::string_view(target).substr(1);
    if (cat == "all") {
      base_all_ = r.allow;
      rules_.clear();
      settle();
      return std::nullopt;
    }
    auto it = std::find(kCategoryNames.begin(), kCategoryNames.end(), cat);
    if (it == kCategoryNames.end()) return std::string(kUnknown);
    r.category = static_cast<int>(it - kCategoryNames.begin());
  } else {
    size_t bar = target.find('|');
    std::string_view name = std::string_view(target).substr(0, bar);
    r.command = find_command(name);
    if (r.command == nullptr) return std::string(kUnknown);
    if (bar != std::string::npos) {
      r.sub = target.substr(bar + 1);
      auto subs = subcommands(*r.command);
      if (std::find(subs.begin(), subs.end(), r.sub) == subs.end()) {
        return std::string(kUnknown);
      }
    }
  }
  // A later rule on the same target decides alone: the earlier one goes,
  // so SETUSER repeated does not grow the user.
  std::erase_if(rules_, [&](const CommandRule& o) {
    return o.category == r.category && o.command == r.command && o.sub == r.sub;
  });
  rules_.push_back(std::move(r));
  settle();
  return std::nullopt;
}

Status User::apply_all(std::span<const std::string_view> rules) {
  User next = *this;
  for (std::string_view rule : rules) {
    if (auto error = next.apply(rule)) {
      return Status(ErrorCode::kInvalidArgument,
                    "Error in ACL SETUSER modifier '" + std::string(rule) +
                        "': " + *error);
    }
  }
  *this = std::move(next);
  return {};
}

bool User::allowed(const Command& c, std::string_view sub) const {
  bool allow = base_all_;
  uint32_t cats = command_categories(c, sub);
  for (const CommandRule& r : rules_) {
    if (r.category >= 0) {
      if ((cats & (1u << r.category)) != 0) allow = r.allow;
    } else if (r.command == &c && (r.sub.empty() || r.sub == sub)) {
      allow = r.allow;
    }
  }
  return allow;
}

void User::settle() {
  auto table = command_table();
  for (size_t i = 0; i < table.size() && i < kMaxCommands; ++i) {
    allowed_[i] = allowed(table[i], {});
  }
}

bool User::may_run(const Command& c, std::string_view sub) const {
  // allowed_ holds each command without a subcommand.
  if (!sub.empty()) return allowed(c, sub);
  size_t i = index_of(c);
  return i < kMaxCommands ? allowed_[i] : allowed(c, sub);
}

bool User::KeyPattern::matches(std::string_view key) const {
  switch (kind) {
    case Kind::kPrefix:
      return key.starts_with(literal);
    case Kind::kExact:
      return key == literal;
    default:
      return resp::glob_match(pattern, key);
  }
}

bool User::may_access_key(std::string_view key, uint8_t access) const {
  if (all_keys_) return true;
  for (const KeyPattern& k : keys_) {
    if ((k.access & access) == access && k.matches(key)) return true;
  }
  return false;
}

bool User::may_use_channel(std::string_view channel, bool pattern) const {
  if (all_channels_) return true;
  for (const std::string& p : channels_) {
    if (pattern ? p == channel : resp::glob_match(p, channel)) return true;
  }
  return false;
}

bool User::check_password(std::string_view password) const {
  if (nopass_) return true;
  std::string h = password_hash(password);
  bool ok = false;
  for (const std::string& p : passwords_) {  // every one: constant time
    ok |= p.size() == h.size() &&
          CRYPTO_memcmp(p.data(), h.data(), h.size()) == 0;
  }
  return ok;
}

std::vector<std::string> User::flags() const {
  std::vector<std::string> out{enabled_ ? "on" : "off"};
  if (nopass_) out.emplace_back("nopass");
  return out;
}

std::string User::describe_commands() const {
  std::string out = base_all_ ? "+@all" : "-@all";
  for (const CommandRule& r : rules_) out += " " + r.text();
  return out;
}

std::string User::describe_keys() const {
  if (all_keys_) return "~*";
  std::string out;
  for (const KeyPattern& k : keys_) {
    if (!out.empty()) out += ' ';
    if (k.access == kKeyRead) {
      out += "%R";
    } else if (k.access == kKeyWrite) {
      out += "%W";
    }
    out += "~" + k.pattern;
  }
  return out;
}

std::string User::describe_channels() const {
  if (all_channels_) return "&*";
  std::string out;
  for (const std::string& c : channels_) {
    if (!out.empty()) out += ' ';
    out += "&" + c;
  }
  return out;
}

std::string User::describe() const {
  std::string out;
  for (const std::string& f : flags()) out += f + " ";
  for (const std::string& p : passwords_) out += "#" + p + " ";
  std::string keys = describe_keys();
  if (!keys.empty()) out += keys + " ";
  if (!all_channels_) out += "resetchannels ";
  std::string channels = describe_channels();
  if (!channels.empty()) out += channels + " ";
  return out + describe_commands();
}

Result<User> parse_user(std::string name, std::string_view rules) {
  User u(std::move(name));
  Status s = u.apply_all(split_words(rules));
  if (!s.ok()) return s;
  return u;
}

Result<std::vector<User>> parse_acl_file(std::string_view text,
                                         std::string_view file_name) {
  std::vector<User> users;
  size_t line_no = 0;
  while (!text.empty()) {
    ++line_no;
    size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text = end == std::string_view::npos ? "" : text.substr(end + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::vector<std::string_view> words = split_words(line);
    if (words.empty() || words[0].starts_with("#")) continue;
    auto fail = [&](const std::string& why) {
      return Status(
          ErrorCode::kInvalidArgument,
          std::string(file_name) + ":" + std::to_string(line_no) + ": " + why);
    };
    if (words[0] != "user" || words.size() < 2) {
      return fail("the line should start with 'user <name>'");
    }
    std::string name(words[1]);
    if (!valid_user_name(name)) {
      return fail("Usernames can't contain spaces or null characters");
    }
    for (const User& u : users) {
      if (u.name() == name) {
        return fail("Duplicate user '" + name +
                    "' found. A user can only be defined once");
      }
    }
    User u(name);
    Status s = u.apply_all(std::span(words).subspan(2));
    if (!s.ok()) return fail(s.message());
    users.push_back(std::move(u));
  }
  return users;
}

namespace {
constexpr std::string_view kRecordKind = "acl/user/";
}  // namespace

std::string record_key(std::string_view name) {
  std::string key(kv::kSystemPrefix);
  key += kRecordKind;
  key += name;
  return key;
}

std::optional<std::string_view> record_name(std::string_view key) {
  if (!kv::is_system_key(key)) return std::nullopt;
  key.remove_prefix(kv::kSystemPrefix.size());
  if (!key.starts_with(kRecordKind)) return std::nullopt;
  return key.substr(kRecordKind.size());
}

std::string record_value(const User& u) { return u.describe(); }

Table::Table() { configure({}); }

void Table::configure(std::vector<User> users) {
  std::map<std::string, std::shared_ptr<const User>, std::less<>> config;
  for (User& u : users) {
    std::string name = u.name();
    config[name] = std::make_shared<const User>(std::move(u));
  }
  if (!config.contains("default")) {
    User d("default");
    for (std::string_view rule :
         {"on", "nopass", "allkeys", "allchannels", "allcommands"}) {
      (void)d.apply(rule);
    }
    config["default"] = std::make_shared<const User>(std::move(d));
  }
  std::lock_guard lock(mu_);
  config_ = std::move(config);
  generation_.fetch_add(1, std::memory_order_acq_rel);
}

void Table::apply(std::string_view key, std::string_view value,
                  const kv::Version& version, bool deleted) {
  auto name = record_name(key);
  if (!name || name->empty()) return;
  std::shared_ptr<const User> user;
  if (!deleted) {
    auto parsed = parse_user(std::string(*name), value);
    // A record this build cannot read (a newer server's rule) leaves the
    // user able to do nothing rather than more than it should.
    user = std::make_shared<const User>(parsed.ok() ? std::move(parsed).value()
                                                    : User(std::string(*name)));
  }
  std::function<void(const std::string&)> changed;
  {
    std::lock_guard lock(mu_);
    auto it = records_.find(*name);
    if (it != records_.end() && !(it->second.version < version)) return;
    records_.insert_or_assign(std::string(*name),
                              Record{version, std::move(user)});
    generation_.fetch_add(1, std::memory_order_acq_rel);
    changed = on_changed_;
  }
  if (changed) changed(std::string(*name));
}

std::shared_ptr<const User> Table::find(std::string_view name) const {
  std::lock_guard lock(mu_);
  if (auto it = records_.find(name); it != records_.end()) {
    return it->second.user;
  }
  if (auto it = config_.find(name); it != config_.end()) return it->second;
  return nullptr;
}

std::vector<std::shared_ptr<const User>> Table::users() const {
  std::lock_guard lock(mu_);
  std::map<std::string_view, std::shared_ptr<const User>> all;
  for (const auto& [name, u] : config_) all[name] = u;
  for (const auto& [name, r] : records_) all[name] = r.user;
  std::vector<std::shared_ptr<const User>> out;
  for (auto& [name, u] : all) {
    if (u != nullptr) out.push_back(std::move(u));
  }
  return out;
}

void Table::on_changed(std::function<void(const std::string&)> f) {
  std::lock_guard lock(mu_);
  on_changed_ = std::move(f);
}

}  // namespace cmud::server::acl
