#include "acl.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "cmud/kv/store.h"
#include "commands.h"

namespace cmud::server::acl {
namespace {

// The user built by rules, which must all be accepted.
User make(std::string name, std::vector<std::string_view> rules) {
  User u(std::move(name));
  Status st = u.apply_all(rules);
  EXPECT_TRUE(st.ok()) << st.message();
  return u;
}

const Command& command(std::string_view name) {
  const Command* c = find_command(name);
  EXPECT_NE(c, nullptr) << name;
  return *c;
}

TEST(AclUser, ANewUserIsOffAndMayDoNothing) {
  User u("alice");
  EXPECT_FALSE(u.enabled());
  EXPECT_FALSE(u.check_password(""));
  EXPECT_FALSE(u.may_run(command("get"), ""));
  EXPECT_FALSE(u.may_access_key("k", kKeyRead));
  EXPECT_FALSE(u.may_use_channel("news", false));
  EXPECT_EQ(u.describe(), "off resetchannels -@all");
}

TEST(AclUser, PasswordsAreKeptAsSha256AndChecked) {
  User u = make("alice", {"on", ">secret", ">other"});
  EXPECT_TRUE(u.check_password("secret"));
  EXPECT_TRUE(u.check_password("other"));
  EXPECT_FALSE(u.check_password("Secret"));
  ASSERT_EQ(u.passwords().size(), 2u);
  // SHA-256 of "secret", as Redis shows it.
  EXPECT_EQ(u.passwords()[0],
            "2bb80d537b1da3e38bd30361aa855686bde0eacd7162fef6a25fe97bf527a25b");
  ASSERT_TRUE(u.apply("<secret") == std::nullopt);
  EXPECT_FALSE(u.check_password("secret"));
  EXPECT_EQ(*u.apply("<secret"),
            "The password you are trying to remove from the user does not "
            "exist");
  ASSERT_TRUE(u.apply("#" + password_hash("third")) == std::nullopt);
  EXPECT_TRUE(u.check_password("third"));
  EXPECT_TRUE(u.apply("#ABC").has_value());  // not a lower-case hash
  ASSERT_TRUE(u.apply("nopass") == std::nullopt);
  EXPECT_TRUE(u.check_password("anything"));
  EXPECT_TRUE(u.passwords().empty());
  ASSERT_TRUE(u.apply("resetpass") == std::nullopt);
  EXPECT_FALSE(u.check_password("anything"));
}

TEST(AclUser, CommandRulesReplayInOrder) {
  User u = make("bob", {"+@read", "-mget", "+set"});
  EXPECT_TRUE(u.may_run(command("get"), ""));
  EXPECT_TRUE(u.may_run(command("exists"), ""));
  EXPECT_FALSE(u.may_run(command("mget"), ""));
  EXPECT_TRUE(u.may_run(command("set"), ""));
  EXPECT_FALSE(u.may_run(command("del"), ""));
  EXPECT_FALSE(u.may_run(command("flushall"), ""));
  EXPECT_EQ(u.describe_commands(), "-@all +@read -mget +set");
  // A rule given again replaces its earlier self: the user does not grow.
  ASSERT_TRUE(u.apply("+mget") == std::nullopt);
  EXPECT_EQ(u.describe_commands(), "-@all +@read +set +mget");
  EXPECT_TRUE(u.may_run(command("mget"), ""));
  ASSERT_TRUE(u.apply("allcommands") == std::nullopt);
  EXPECT_EQ(u.describe_commands(), "+@all");
  ASSERT_TRUE(u.apply("-@dangerous") == std::nullopt);
  EXPECT_FALSE(u.may_run(command("keys"), ""));
  EXPECT_FALSE(u.may_run(command("flushall"), ""));
  EXPECT_TRUE(u.may_run(command("del"), ""));
}

TEST(AclUser, SubcommandsHaveTheirOwnCategoriesAndRules) {
  User u = make("carol", {"+@connection"});
  EXPECT_TRUE(u.may_run(command("client"), "setname"));
  EXPECT_TRUE(u.may_run(command("client"), "kill"));  // @connection too
  ASSERT_TRUE(u.apply("-@admin") == std::nullopt);
  EXPECT_TRUE(u.may_run(command("client"), "setname"));
  EXPECT_FALSE(u.may_run(command("client"), "kill"));
  ASSERT_TRUE(u.apply("+client|kill") == std::nullopt);
  EXPECT_TRUE(u.may_run(command("client"), "kill"));
  ASSERT_TRUE(u.apply("-client") == std::nullopt);
  EXPECT_FALSE(u.may_run(command("client"), "setname"));
  EXPECT_FALSE(u.may_run(command("acl"), "whoami"));
  ASSERT_TRUE(u.apply("+acl|whoami") == std::nullopt);
  EXPECT_TRUE(u.may_run(command("acl"), "whoami"));
  EXPECT_FALSE(u.may_run(command("acl"), "setuser"));
}

TEST(AclUser, UnknownCommandsCategoriesAndRulesAreRefused) {
  User u("dave");
  EXPECT_EQ(*u.apply("+nosuch"), "Unknown command or category name in ACL");
  EXPECT_EQ(*u.apply("+@nosuch"), "Unknown command or category name in ACL");
  EXPECT_EQ(*u.apply("+client|nosuch"),
            "Unknown command or category name in ACL");
  EXPECT_EQ(*u.apply("bogus"), "Syntax error");
  EXPECT_EQ(*u.apply("%X~k"), "Syntax error");
  EXPECT_TRUE(u.apply("(~k +get)").has_value());  // selectors
  // All or nothing: one bad rule leaves the user as it was.
  std::vector<std::string_view> rules{"on", "+get", "+nosuch"};
  Status st = u.apply_all(rules);
  EXPECT_FALSE(st.ok());
  EXPECT_EQ(st.message(),
            "Error in ACL SETUSER modifier '+nosuch': Unknown command or "
            "category name in ACL");
  EXPECT_FALSE(u.enabled());
  EXPECT_FALSE(u.may_run(command("get"), ""));
}

TEST(AclUser, KeyPatternsGrantReadWriteOrBoth) {
  User u = make("erin", {"~app:*", "%R~ro:*", "%W~wo:*"});
  EXPECT_TRUE(u.may_access_key("app:1", kKeyRead | kKeyWrite));
  EXPECT_TRUE(u.may_access_key("ro:1", kKeyRead));
  EXPECT_FALSE(u.may_access_key("ro:1", kKeyWrite));
  EXPECT_FALSE(u.may_access_key("ro:1", kKeyRead | kKeyWrite));
  EXPECT_TRUE(u.may_access_key("wo:1", kKeyWrite));
  EXPECT_FALSE(u.may_access_key("wo:1", kKeyRead));
  EXPECT_TRUE(u.may_access_key("wo:1", kKeyAny));  // EXISTS and the like
  EXPECT_FALSE(u.may_access_key("other", kKeyAny));
  EXPECT_EQ(u.describe_keys(), "~app:* %R~ro:* %W~wo:*");
  // The same pattern again adds its rights.
  ASSERT_TRUE(u.apply("%W~ro:*") == std::nullopt);
  EXPECT_TRUE(u.may_access_key("ro:1", kKeyRead | kKeyWrite));
  // Prefixes, exact names and globs (with escapes) all match as globs do.
  User kinds = make("kinds", {"~exact", "~pre:*", "~g?b", "~esc\\*:*"});
  EXPECT_TRUE(kinds.may_access_key("exact", kKeyRead));
  EXPECT_FALSE(kinds.may_access_key("exactly", kKeyRead));
  EXPECT_TRUE(kinds.may_access_key("pre:", kKeyRead));
  EXPECT_TRUE(kinds.may_access_key("pre:x", kKeyRead));
  EXPECT_FALSE(kinds.may_access_key("pre", kKeyRead));
  EXPECT_TRUE(kinds.may_access_key("gab", kKeyRead));
  EXPECT_TRUE(kinds.may_access_key("esc*:1", kKeyRead));
  EXPECT_FALSE(kinds.may_access_key("escX:1", kKeyRead));
  // Read and write of "*" is every key, and says so.
  User star = make("star", {"%W~*", "%R~*"});
  EXPECT_EQ(star.describe_keys(), "~*");
  EXPECT_TRUE(star.apply("~more").has_value());
  // A pattern with whitespace could not be written back as one rule.
  EXPECT_EQ(*u.apply("~a b"), "Syntax error");
  EXPECT_EQ(*u.apply("&a\tb"), "Syntax error");
  EXPECT_EQ(*u.apply(std::string("%R~a\0b", 7)), "Syntax error");
  ASSERT_TRUE(u.apply("allkeys") == std::nullopt);
  EXPECT_TRUE(u.may_access_key("anything", kKeyRead | kKeyWrite));
  EXPECT_TRUE(u.apply("~more").has_value());  // after allkeys: refused
  ASSERT_TRUE(u.apply("resetkeys") == std::nullopt);
  EXPECT_FALSE(u.may_access_key("anything", kKeyAny));
}

TEST(AclUser, KeyAccessFollowsWhatEachCommandDoes) {
  std::vector<std::string_view> get{"get", "k"};
  EXPECT_EQ(key_access(command("get"), get, 1), kKeyRead);
  std::vector<std::string_view> set{"set", "k", "v"};
  EXPECT_EQ(key_access(command("set"), set, 1), kKeyWrite);
  std::vector<std::string_view> set_get{"set", "k", "v", "GET"};
  EXPECT_EQ(key_access(command("set"), set_get, 1), kKeyRead | kKeyWrite);
  std::vector<std::string_view> incr{"incr", "k"};
  EXPECT_EQ(key_access(command("incr"), incr, 1), kKeyRead | kKeyWrite);
  std::vector<std::string_view> copy{"copy", "a", "b"};
  EXPECT_EQ(key_access(command("copy"), copy, 1), kKeyRead);
  EXPECT_EQ(key_access(command("copy"), copy, 2), kKeyWrite);
  std::vector<std::string_view> exists{"exists", "k"};
  EXPECT_EQ(key_access(command("exists"), exists, 1), kKeyAny);
}

TEST(AclUser, ChannelsMatchAsGlobsAndPatternsLiterally) {
  User u = make("frank", {"&news.*"});
  EXPECT_TRUE(u.may_use_channel("news.sport", false));
  EXPECT_FALSE(u.may_use_channel("chat", false));
  EXPECT_TRUE(u.may_use_channel("news.*", true));
  EXPECT_FALSE(u.may_use_channel("news.s*", true));  // not one of its own
  EXPECT_EQ(u.describe(), "off resetchannels &news.* -@all");
  ASSERT_TRUE(u.apply("allchannels") == std::nullopt);
  EXPECT_TRUE(u.may_use_channel("anything", true));
  EXPECT_TRUE(u.apply("&more").has_value());
}

TEST(AclUser, DescribeBuildsTheSameUserAgain) {
  User u = make("gina", {"on", ">pw", "~a*", "%R~b*", "&c*", "+@read",
                         "-@dangerous", "+set", "+client|setname"});
  std::string line = u.describe();
  auto again = parse_user("gina", line);
  ASSERT_TRUE(again.ok()) << again.status().message();
  EXPECT_EQ(again->describe(), line);
  EXPECT_TRUE(again->check_password("pw"));
  EXPECT_TRUE(again->may_run(command("client"), "setname"));
  EXPECT_FALSE(again->may_run(command("keys"), ""));
}

TEST(AclUser, ResetIsANewUser) {
  User u = make("hal", {"on", ">pw", "allkeys", "allchannels", "+@all"});
  EXPECT_TRUE(u.unrestricted());
  ASSERT_TRUE(u.apply("reset") == std::nullopt);
  EXPECT_EQ(u.name(), "hal");
  EXPECT_EQ(u.describe(), "off resetchannels -@all");
}

TEST(AclSignup, TheTemplateNamesTheUserAndOnlyItsPasswordSignsIn) {
  auto u = signup_user(
      "nopass >template %W~game/p/{user} ~game/x/{user}/{user} "
      "&tell/{user} +get",
      "ann-2", "secret");
  ASSERT_TRUE(u.ok()) << u.status().message();
  EXPECT_EQ(u->name(), "ann-2");
  EXPECT_TRUE(u->enabled());
  EXPECT_FALSE(u->nopass());
  EXPECT_TRUE(u->check_password("secret"));
  EXPECT_FALSE(u->check_password("template"));
  EXPECT_TRUE(u->may_access_key("game/p/ann-2", kKeyWrite));
  EXPECT_FALSE(u->may_access_key("game/p/ann-2", kKeyRead));
  EXPECT_FALSE(u->may_access_key("game/p/ann", kKeyWrite));
  EXPECT_TRUE(u->may_access_key("game/x/ann-2/ann-2", kKeyRead));
  EXPECT_TRUE(u->may_use_channel("tell/ann-2", false));
  EXPECT_FALSE(u->may_use_channel("tell/bob", false));
  // A template may turn its users off, and a bad rule is an error.
  auto off = signup_user("off +get", "bob", "pw");
  ASSERT_TRUE(off.ok());
  EXPECT_FALSE(off->enabled());
  EXPECT_FALSE(signup_user("+nosuch", "bob", "pw").ok());
}

TEST(AclSignup, NamesStandForThemselvesInPatterns) {
  EXPECT_TRUE(valid_signup_name("Ann_2-b"));
  EXPECT_TRUE(valid_signup_name(std::string(kMaxSignupName, 'a')));
  for (std::string_view bad :
       {"", "a*", "a?", "a[b]", "a\\b", "a b", "a/b", "a{b", "ann:1"}) {
    EXPECT_FALSE(valid_signup_name(bad)) << bad;
  }
  EXPECT_FALSE(valid_signup_name(std::string(kMaxSignupName + 1, 'a')));
}

TEST(AclFile, ReadsUsersAndNamesTheBadLine) {
  auto users = parse_acl_file(
      "# the cluster's users\n"
      "user default on nopass ~* &* +@all\n"
      "\n"
      "user alice on >pw ~app:* -@all +get\r\n",
      "users.acl");
  ASSERT_TRUE(users.ok()) << users.status().message();
  ASSERT_EQ(users->size(), 2u);
  EXPECT_EQ((*users)[1].name(), "alice");
  EXPECT_TRUE((*users)[1].check_password("pw"));
  auto bad = parse_acl_file("user a on\nuser b +nosuch\n", "users.acl");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(),
            "users.acl:2: Error in ACL SETUSER modifier '+nosuch': Unknown "
            "command or category name in ACL");
  auto twice = parse_acl_file("user a on\nuser a off\n", "f");
  EXPECT_FALSE(twice.ok());
  auto junk = parse_acl_file("hello there\n", "f");
  EXPECT_FALSE(junk.ok());
}

TEST(AclTable, ADefaultUserStandsInWithEverything) {
  Table t;
  auto d = t.find("default");
  ASSERT_NE(d, nullptr);
  EXPECT_TRUE(d->enabled());
  EXPECT_TRUE(d->nopass());
  EXPECT_TRUE(d->unrestricted());
  EXPECT_EQ(d->describe(), "on nopass ~* &* +@all");
}

TEST(AclTable, RecordsReplaceConfiguredUsersByTheLastWriter) {
  Table t;
  t.configure({make("alice", {"on", ">pw"})});
  uint64_t g = t.generation();
  User next = make("alice", {"on", ">new", "+get"});
  std::string key = record_key("alice");
  EXPECT_TRUE(kv::is_system_key(key));
  EXPECT_EQ(record_name(key), "alice");
  EXPECT_EQ(record_name("alice"), std::nullopt);
  t.apply(key, record_value(next), kv::Version{10, 1}, false);
  EXPECT_GT(t.generation(), g);
  EXPECT_TRUE(t.find("alice")->check_password("new"));
  // An older record (from another actor or server) changes nothing.
  t.apply(key, record_value(make("alice", {"on", ">old"})), kv::Version{9, 2},
          false);
  EXPECT_TRUE(t.find("alice")->check_password("new"));
  // A newer delete wins, and says so.
  std::vector<std::string> changed;
  t.on_changed([&](const std::string& name) { changed.push_back(name); });
  t.apply(key, "", kv::Version{11, 1}, true);
  EXPECT_EQ(t.find("alice"), nullptr);
  EXPECT_EQ(changed, std::vector<std::string>{"alice"});
  // A deleted user stays deleted against older writes.
  t.apply(key, record_value(make("alice", {"on"})), kv::Version{10, 5}, false);
  EXPECT_EQ(t.find("alice"), nullptr);
  EXPECT_EQ(changed.size(), 1u);  // and nothing changed
  ASSERT_EQ(t.users().size(), 1u);
  EXPECT_EQ(t.users()[0]->name(), "default");
}

TEST(AclTable, ARecordThisBuildCannotReadGrantsNothing) {
  Table t;
  t.apply(record_key("zed"), "on nopass +futurecommand", kv::Version{1, 1},
          false);
  auto u = t.find("zed");
  ASSERT_NE(u, nullptr);
  EXPECT_FALSE(u->enabled());
  EXPECT_FALSE(u->may_run(command("get"), ""));
}

TEST(AclCategories, FollowFlagsAndTheTable) {
  uint32_t get = command_categories(command("get"));
  EXPECT_NE(get & categories("read string fast"), 0u);
  EXPECT_EQ(get & categories("write"), 0u);
  uint32_t flushall = command_categories(command("flushall"));
  EXPECT_EQ(flushall & categories("write keyspace dangerous slow"),
            categories("write keyspace dangerous slow"));
  uint32_t config = command_categories(command("config"), "set");
  EXPECT_EQ(config & categories("admin dangerous"),
            categories("admin dangerous"));
}

}  // namespace
}  // namespace cmud::server::acl
