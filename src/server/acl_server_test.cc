// ACL users through the query ports: ACL commands, NOPERM, the system key
// space, the ACL file, and users that replicate to another server.
#include <gtest/gtest.h>

#include <unistd.h>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "acl.h"
#include "cmud/client/client.h"
#include "cmud/kv/store.h"
#include "cmud/server/server.h"
#include "raw_client.h"

namespace cmud::server {
namespace {

using namespace std::chrono_literals;
using resp::Value;
using testing::expect_errors;
using testing::RawClient;

constexpr std::string_view kCommandDenied =
    "NOPERM this user has no permissions to run the '";
constexpr std::string_view kKeyDenied =
    "NOPERM this user has no permissions to access one of the keys used as "
    "arguments";
constexpr std::string_view kChannelDenied =
    "NOPERM this user has no permissions to access one of the channels used "
    "as arguments";
constexpr std::string_view kWrongPass =
    "WRONGPASS invalid username-password pair or user is disabled.";

std::unique_ptr<Server> start(ServerConfig c) {
  c.port = 0;
  c.actors = 2;
  c.serialize_local_messages = true;
  auto s = Server::start(c);
  EXPECT_TRUE(s.ok()) << s.status().to_string();
  return s.ok() ? std::move(s).value() : nullptr;
}

// A map reply (RESP3) or its RESP2 array as field -> value.
std::map<std::string, Value> fields(const Value& v) {
  std::map<std::string, Value> out;
  for (size_t i = 0; i + 1 < v.array.size(); i += 2) {
    out[v.array[i].str] = v.array[i + 1];
  }
  return out;
}

std::vector<std::string> strings(const Value& v) {
  std::vector<std::string> out;
  for (const auto& e : v.array) out.push_back(e.str);
  return out;
}

class AclServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = start({});
    ASSERT_NE(server_, nullptr);
  }
  const std::string& port(size_t i) { return server_->query_addrs()[i]; }

  std::unique_ptr<Server> server_;
};

TEST_F(AclServerTest, SetuserGetuserListUsersWhoamiAndDeluserSpeakRedis) {
  RawClient admin(port(0));
  EXPECT_EQ(admin.call({"ACL", "WHOAMI"}).str, "default");
  EXPECT_EQ(strings(admin.call({"ACL", "LIST"})),
            std::vector<std::string>{"user default on nopass ~* &* +@all"});
  EXPECT_EQ(admin
                .call({"ACL", "SETUSER", "alice", "on", ">pw", "~app:*",
                       "&news", "-@all", "+get", "+set"})
                .str,
            "OK");
  EXPECT_EQ(strings(admin.call({"ACL", "USERS"})),
            (std::vector<std::string>{"alice", "default"}));
  auto u = fields(admin.call({"ACL", "GETUSER", "alice"}));
  EXPECT_EQ(strings(u["flags"]), std::vector<std::string>{"on"});
  EXPECT_EQ(strings(u["passwords"]),
            std::vector<std::string>{"30c952fab122c3f9759f02a6d95c3758b246b4f"
                                     "ee239957b2d4fee46e26170c4"});
  EXPECT_EQ(u["commands"].str, "-@all +get +set");
  EXPECT_EQ(u["keys"].str, "~app:*");
  EXPECT_EQ(u["channels"].str, "&news");
  EXPECT_EQ(admin.call({"ACL", "GETUSER", "nobody"}).type, Value::Type::kNull);
  // SETUSER adds to what the user has.
  EXPECT_EQ(admin.call({"ACL", "SETUSER", "alice", "+del"}).str, "OK");
  EXPECT_EQ(fields(admin.call({"ACL", "GETUSER", "alice"}))["commands"].str,
            "-@all +get +set +del");
  expect_errors(
      admin,
      {
          {{"ACL", "SETUSER", "alice", "+nosuch"},
           "ERR Error in ACL SETUSER modifier '+nosuch': Unknown command or "
           "category name in ACL"},
          {{"ACL", "SETUSER", "a b"},
           "ERR Usernames can't contain spaces or null characters"},
          {{"ACL", "DELUSER", "default"},
           "ERR The 'default' user cannot be removed"},
          {{"ACL", "CAT", "nosuch"}, "ERR Unknown category 'nosuch'"},
          {{"ACL", "NOSUCH"},
           "ERR unknown subcommand or wrong number of arguments for "
           "'NOSUCH'. Try ACL HELP."},
          {{"ACL", "LOAD"},
           "ERR This server is not configured to use an ACL file. You may "
           "want to specify users via the ACL SETUSER command and then issue "
           "a CONFIG REWRITE (assuming you have a server config file) in "
           "order to store users in the cmud configuration."},
      });
  // A refused SETUSER changed nothing.
  EXPECT_EQ(fields(admin.call({"ACL", "GETUSER", "alice"}))["commands"].str,
            "-@all +get +set +del");
  auto cats = strings(admin.call({"ACL", "CAT"}));
  EXPECT_EQ(cats.size(), 21u);
  auto strings_cat = strings(admin.call({"ACL", "CAT", "string"}));
  EXPECT_NE(std::find(strings_cat.begin(), strings_cat.end(), "get"),
            strings_cat.end());
  auto admin_cat = strings(admin.call({"ACL", "CAT", "admin"}));
  EXPECT_NE(std::find(admin_cat.begin(), admin_cat.end(), "acl|setuser"),
            admin_cat.end());
  EXPECT_EQ(admin.call({"ACL", "DELUSER", "alice", "nobody"}).integer, 1);
  EXPECT_EQ(admin.call({"ACL", "GETUSER", "alice"}).type, Value::Type::kNull);
  // COMMAND INFO reports the categories.
  auto info = admin.call({"COMMAND", "INFO", "get"});
  ASSERT_EQ(info.array.size(), 1u);
  auto get_cats = strings(info.array[0].array[6]);
  EXPECT_NE(std::find(get_cats.begin(), get_cats.end(), "@read"),
            get_cats.end());
}

TEST_F(AclServerTest, AUserRunsOnlyItsCommandsKeysAndChannels) {
  RawClient admin(port(0));
  ASSERT_EQ(
      admin
          .call({"ACL", "SETUSER", "app", "on", ">pw", "~app:*", "%R~shared:*",
                 "&news.*", "+@read", "+@write", "-@dangerous", "+publish",
                 "+subscribe", "+@transaction"})
          .str,
      "OK");
  // Signed in on the other port (another query actor): the user is the
  // server's, not the actor's.
  RawClient c(port(1));
  EXPECT_EQ(c.call({"AUTH", "app", "pw"}).str, "OK");
  EXPECT_EQ(c.call({"ACL", "WHOAMI"}).str.substr(0, kCommandDenied.size()),
            kCommandDenied);
  EXPECT_EQ(c.call({"SET", "app:1", "v"}).str, "OK");
  EXPECT_EQ(c.call({"GET", "app:1"}).str, "v");
  // (Written through c's own replica: nothing waits for local sync.)
  RawClient writer(port(1));
  EXPECT_EQ(writer.call({"SET", "shared:1", "s"}).str, "OK");
  EXPECT_EQ(c.call({"GET", "shared:1"}).str, "s");
  EXPECT_EQ(c.call({"EXISTS", "shared:1"}).integer, 1);
  EXPECT_EQ(c.call({"COPY", "shared:1", "app:2"}).integer, 1);
  // LIST shows values: only those of keys the user may read.
  EXPECT_EQ(writer.call({"SET", "secret", "x"}).str, "OK");
  EXPECT_EQ(
      strings(c.call({"LIST", ""})),
      (std::vector<std::string>{"app:1", "v", "app:2", "s", "shared:1", "s"}));
  auto denied_command = [](std::string_view name) {
    return std::string(kCommandDenied) + std::string(name) + "' command";
  };
  expect_errors(
      c,
      {
          {{"SET", "shared:1", "x"}, std::string(kKeyDenied)},
          {{"GET", "other"}, std::string(kKeyDenied)},
          {{"MGET", "app:1", "other"}, std::string(kKeyDenied)},
          {{"COPY", "app:1", "shared:2"}, std::string(kKeyDenied)},
          {{"SET", "shared:1", "x", "GET"}, std::string(kKeyDenied)},
          {{"KEYS", "*"}, denied_command("keys")},
          {{"FLUSHALL"}, denied_command("flushall")},
          {{"CONFIG", "GET", "maxmemory"}, denied_command("config|get")},
          {{"ACL", "SETUSER", "app", "+@all"}, denied_command("acl|setuser")},
          {{"PUBLISH", "chat", "hi"}, std::string(kChannelDenied)},
          {{"SUBSCRIBE", "news.a", "chat"}, std::string(kChannelDenied)},
      });
  EXPECT_EQ(c.call({"PUBLISH", "news.sport", "hi"}).integer, 0);
  std::string stats = admin.call({"INFO", "stats"}).str;
  for (std::string_view want :
       {"acl_access_denied_cmd:5\r\n", "acl_access_denied_key:5\r\n",
        "acl_access_denied_channel:2\r\n"}) {
    EXPECT_NE(stats.find(want), std::string::npos) << want << stats;
  }
  auto list = admin.call({"CLIENT", "LIST"}).str;
  EXPECT_NE(list.find(" user=app "), std::string::npos) << list;
  // Refused inside MULTI: the transaction aborts, as in Redis.
  EXPECT_EQ(c.call({"MULTI"}).str, "OK");
  EXPECT_EQ(c.call({"SET", "app:3", "v"}).str, "QUEUED");
  EXPECT_EQ(c.call({"GET", "other"}).str, kKeyDenied);
  EXPECT_EQ(c.call({"EXEC"}).str,
            "EXECABORT Transaction discarded because of previous errors.");
  EXPECT_EQ(admin.call({"EXISTS", "app:3"}).integer, 0);
  // A change to the user holds at once on its open connections.
  ASSERT_EQ(admin.call({"ACL", "SETUSER", "app", "-get"}).str, "OK");
  EXPECT_EQ(c.call({"GET", "app:1"}).str, denied_command("get"));
  // RESET signs out: back to the default user.
  EXPECT_EQ(c.call({"RESET"}).str, "RESET");
  EXPECT_EQ(c.call({"ACL", "WHOAMI"}).str, "default");
}

TEST_F(AclServerTest, AChangeHoldsForTheNextCommandOfThePipeline) {
  RawClient c(port(0));
  std::string pipeline;
  resp::write_command(
      pipeline, {"ACL", "SETUSER", "bob", "on", ">pw", "allkeys", "+get"});
  resp::write_command(pipeline, {"AUTH", "bob", "pw"});
  resp::write_command(pipeline, {"ACL", "WHOAMI"});
  resp::write_command(pipeline, {"GET", "k"});
  c.send(pipeline);
  EXPECT_EQ(c.reply().str, "OK");
  EXPECT_EQ(c.reply().str, "OK");
  EXPECT_EQ(c.reply().str.substr(0, kCommandDenied.size()), kCommandDenied);
  EXPECT_EQ(c.reply().type, Value::Type::kNull);
}

TEST_F(AclServerTest, OffRefusesNewSignInsAndDeleteClosesConnections) {
  RawClient admin(port(0));
  ASSERT_EQ(
      admin.call({"ACL", "SETUSER", "carol", "on", ">pw", "+@all", "allkeys"})
          .str,
      "OK");
  RawClient c1(port(0));
  RawClient c2(port(1));
  ASSERT_EQ(c1.call({"AUTH", "carol", "pw"}).str, "OK");
  ASSERT_EQ(c2.call({"HELLO", "3", "AUTH", "carol", "pw"}).type,
            Value::Type::kMap);
  EXPECT_EQ(c1.call({"AUTH", "carol", "wrong"}).str, kWrongPass);
  ASSERT_EQ(admin.call({"ACL", "SETUSER", "carol", "off"}).str, "OK");
  // As in Redis: connections signed in before stay; new sign-ins fail.
  EXPECT_EQ(c1.call({"PING"}).str, "PONG");
  RawClient c3(port(1));
  EXPECT_EQ(c3.call({"AUTH", "carol", "pw"}).str, kWrongPass);
  // Deleted: every connection signed in as the user closes, idle or not.
  ASSERT_EQ(admin.call({"ACL", "DELUSER", "carol"}).integer, 1);
  EXPECT_EQ(c2.reply().str, "<closed>");
  EXPECT_EQ(c1.reply().str, "<closed>");
  EXPECT_EQ(admin.call({"PING"}).str, "PONG");
}

TEST_F(AclServerTest, SubscribersCloseWhenTheirChannelsAreTakenAway) {
  RawClient admin(port(0));
  ASSERT_EQ(admin
                .call({"ACL", "SETUSER", "sub", "on", ">pw", "&news.*", "&chat",
                       "+@pubsub"})
                .str,
            "OK");
  RawClient news(port(0));
  RawClient chat(port(1));
  ASSERT_EQ(news.call({"AUTH", "sub", "pw"}).str, "OK");
  ASSERT_EQ(chat.call({"AUTH", "sub", "pw"}).str, "OK");
  ASSERT_EQ(news.call({"PSUBSCRIBE", "news.*"}).type, Value::Type::kArray);
  ASSERT_EQ(chat.call({"SUBSCRIBE", "chat"}).type, Value::Type::kArray);
  // news.* is taken away; chat stays.
  ASSERT_EQ(admin.call({"ACL", "SETUSER", "sub", "resetchannels", "&chat"}).str,
            "OK");
  EXPECT_EQ(news.reply().str, "<closed>");
  EXPECT_EQ(admin.call({"PUBLISH", "chat", "still here"}).integer, 1);
  auto m = chat.reply();
  ASSERT_EQ(m.array.size(), 3u);
  EXPECT_EQ(m.array[2].str, "still here");
}

TEST_F(AclServerTest, NoClientReachesTheSystemKeySpaceAndFlushallKeepsUsers) {
  RawClient c(port(0));
  ASSERT_EQ(
      c.call({"ACL", "SETUSER", "dan", "on", ">pw", "+@all", "allkeys"}).str,
      "OK");
  ASSERT_EQ(c.call({"SET", "k", "v"}).str, "OK");
  std::string key = std::string(kv::kSystemPrefix) + "acl/user/dan";
  expect_errors(c,
                {
                    {{"GET", key}, std::string(kKeyDenied)},
                    {{"SET", key, "on nopass +@all"}, std::string(kKeyDenied)},
                    {{"DEL", key}, std::string(kKeyDenied)},
                    {{"COPY", "k", key}, std::string(kKeyDenied)},
                });
  EXPECT_EQ(c.call({"DBSIZE"}).integer, 1);
  EXPECT_EQ(strings(c.call({"KEYS", "*"})), std::vector<std::string>{"k"});
  auto scan = c.call({"SCAN", "0", "COUNT", "1000"});
  ASSERT_EQ(scan.array.size(), 2u);
  EXPECT_EQ(strings(scan.array[1]), std::vector<std::string>{"k"});
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(c.call({"RANDOMKEY"}).str, "k");
  }
  EXPECT_EQ(c.call({"FLUSHALL"}).str, "OK");
  EXPECT_EQ(c.call({"DBSIZE"}).integer, 0);
  EXPECT_EQ(c.call({"RANDOMKEY"}).type, Value::Type::kNull);
  RawClient d(port(1));
  EXPECT_EQ(d.call({"AUTH", "dan", "pw"}).str, "OK");
}

// The ACL file: read at start, written by ACL SAVE, read again by ACL LOAD.
class AclFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("cmud-acl-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
    file_ = (dir_ / "users.acl").string();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  void write(const std::string& text) { std::ofstream(file_) << text; }
  std::string read() {
    std::ifstream in(file_);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

  std::filesystem::path dir_;
  std::string file_;
};

TEST_F(AclFileTest, UsersComeFromTheFileAndGoBackToIt) {
  write(
      "# users\n"
      "user default on >adminpw ~* &* +@all\n"
      "user app on >pw ~app:* -@all +get\n");
  ServerConfig config;
  config.aclfile = file_;
  auto s = start(config);
  ASSERT_NE(s, nullptr);
  RawClient c(s->query_addrs()[0]);
  EXPECT_EQ(c.call({"PING"}).str, "NOAUTH Authentication required.");
  EXPECT_EQ(c.call({"AUTH", "app", "pw"}).str, "OK");
  EXPECT_EQ(c.call({"GET", "app:1"}).type, Value::Type::kNull);
  EXPECT_EQ(c.call({"AUTH", "adminpw"}).str, "OK");
  ASSERT_EQ(c.call({"ACL", "SETUSER", "new", "on", ">x"}).str, "OK");
  ASSERT_EQ(c.call({"ACL", "SAVE"}).str, "OK");
  std::string saved = read();
  EXPECT_NE(saved.find("user app on #"), std::string::npos) << saved;
  EXPECT_NE(saved.find("user new on #"), std::string::npos) << saved;
  // LOAD makes the file's users the users: those not in it go.
  write(
      "user default on >adminpw ~* &* +@all\n"
      "user other on >o +ping\n");
  ASSERT_EQ(c.call({"ACL", "LOAD"}).str, "OK");
  EXPECT_EQ(strings(c.call({"ACL", "USERS"})),
            (std::vector<std::string>{"default", "other"}));
  write("user default on >adminpw +@all\nuser broken +nosuch\n");
  auto bad = c.call({"ACL", "LOAD"});
  ASSERT_TRUE(bad.is_error());
  EXPECT_NE(bad.str.find(":2: Error in ACL SETUSER modifier '+nosuch'"),
            std::string::npos)
      << bad.str;
  EXPECT_EQ(strings(c.call({"ACL", "USERS"})),
            (std::vector<std::string>{"default", "other"}));
}

TEST_F(AclFileTest, ABadFileOrOneBesideRequirepassStopsTheStart) {
  write("user app on +nosuch\n");
  ServerConfig config;
  config.port = 0;
  config.aclfile = file_;
  auto bad = Server::start(config);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find(
                "users.acl:1: Error in ACL SETUSER modifier '+nosuch'"),
            std::string::npos)
      << bad.status().message();
  write("user app on\n");
  config.requirepass = "pw";
  auto both = Server::start(config);
  ASSERT_FALSE(both.ok());
  EXPECT_NE(both.status().message().find("--requirepass and --aclfile"),
            std::string::npos);
}

// Each command answers an error that starts so.
void expect_error_starts(
    RawClient& c,
    const std::vector<
        std::pair<std::vector<std::string_view>, std::string_view>>& cases) {
  for (const auto& [args, error] : cases) {
    auto r = c.call(args);
    ASSERT_TRUE(r.is_error()) << args[0];
    EXPECT_TRUE(r.str.starts_with(error)) << r.str << "\nwant: " << error;
  }
}

// ACL SIGNUP: strangers allowed only it (and connecting) make accounts
// from the template, confined to their own keys; never two of one name on
// one actor, never a name that could act as a pattern.
TEST(AclSignup, StrangersMakeAccountsFromTheTemplateOnly) {
  ServerConfig config;
  config.signup_rules =
      "%R~game/* %W~game/player/{user} &game/tell/{user} -@all +get +set "
      "+publish";
  auto s = start(config);
  ASSERT_NE(s, nullptr);
  RawClient admin(s->query_addrs()[0]);
  ASSERT_EQ(admin
                .call({"ACL", "SETUSER", "root", "on", ">rootpw", "~*", "&*",
                       "+@all"})
                .str,
            "OK");
  ASSERT_EQ(admin.call({"AUTH", "root", "rootpw"}).str, "OK");
  ASSERT_EQ(admin
                .call({"ACL", "SETUSER", "default", "resetkeys",
                       "resetchannels", "-@all", "+acl|signup", "+ping"})
                .str,
            "OK");
  RawClient c(s->query_addrs()[0]);
  EXPECT_EQ(c.call({"ACL", "SIGNUP", "ann"}).integer, 1);
  EXPECT_EQ(c.call({"ACL", "SIGNUP", "ann", "pw-ann"}).integer, 1);
  EXPECT_EQ(c.call({"ACL", "SIGNUP", "ann"}).integer, 0);
  EXPECT_EQ(c.call({"ACL", "SIGNUP", "ann", "other"}).integer, 0);
  // A name the configuration defines is taken too.
  EXPECT_EQ(c.call({"ACL", "SIGNUP", "default"}).integer, 0);
  // Two in one pipeline on one actor: the first wins.
  c.command({"ACL", "SIGNUP", "bob", "pw-1"});
  c.command({"ACL", "SIGNUP", "bob", "pw-2"});
  EXPECT_EQ(c.reply().integer, 1);
  EXPECT_EQ(c.reply().integer, 0);
  expect_error_starts(
      c, {{{"ACL", "SIGNUP", "a*"},
           "ERR signup names are 1 to 64 characters of A-Z, a-z, "
           "0-9, _ and -"},
          {{"ACL", "SIGNUP", std::string(65, 'a')},
           "ERR signup names are 1 to 64"},
          {{"ACL", "SIGNUP", "carl", ""}, "ERR the password must not be empty"},
          {{"ACL", "SIGNUP"}, "ERR unknown subcommand"},
          {{"ACL", "SIGNUP", "carl", "pw", "x"}, "ERR unknown subcommand"},
          {{"ACL", "SETUSER", "x"}, kCommandDenied},
          {{"GET", "game/player/ann"}, kCommandDenied}});
  EXPECT_EQ(c.call({"AUTH", "ann", "other"}).str, kWrongPass);
  EXPECT_EQ(c.call({"AUTH", "bob", "pw-2"}).str, kWrongPass);
  EXPECT_EQ(c.call({"AUTH", "bob", "pw-1"}).str, "OK");
  ASSERT_EQ(c.call({"AUTH", "ann", "pw-ann"}).str, "OK");
  EXPECT_EQ(c.call({"SET", "game/player/ann", "1"}).str, "OK");
  EXPECT_EQ(c.call({"GET", "game/player/bob"}).type, Value::Type::kNull);
  EXPECT_EQ(c.call({"PUBLISH", "game/tell/ann", "hi"}).integer, 0);
  expect_error_starts(c, {{{"SET", "game/player/bob", "1"}, kKeyDenied},
                          {{"SET", "game/player/ann2", "1"}, kKeyDenied},
                          {{"PUBLISH", "game/tell/bob", "x"}, kChannelDenied},
                          {{"DEL", "game/player/ann"}, kCommandDenied},
                          {{"ACL", "SIGNUP", "dan"}, kCommandDenied}});
  // The password is kept only as its hash.
  auto ann = fields(admin.call({"ACL", "GETUSER", "ann"}));
  ASSERT_EQ(ann["passwords"].array.size(), 1u);
  EXPECT_EQ(ann["passwords"].array[0].str, acl::password_hash("pw-ann"));
}

TEST(AclSignup, TheClientLibrarySignsUpAndThenIn) {
  ServerConfig config;
  config.signup_rules = "~game/player/{user} -@all +get +set";
  auto s = start(config);
  ASSERT_NE(s, nullptr);
  auto router = std::make_shared<client::FixedRouter>(s->query_addrs()[0]);
  client::Client stranger(router);
  // true, false, or the error's words.
  auto said = [](const Result<bool>& r) {
    return r.ok() ? std::string(*r ? "true" : "false") : r.status().to_string();
  };
  EXPECT_EQ(said(stranger.signup_free("ann")), "true");
  EXPECT_EQ(said(stranger.signup("ann", "pw-ann")), "true");
  EXPECT_EQ(said(stranger.signup_free("ann")), "false");
  EXPECT_EQ(said(stranger.signup("ann", "again")), "false");
  auto bad_name = stranger.signup("a*", "pw");
  ASSERT_FALSE(bad_name.ok());
  EXPECT_EQ(bad_name.status().code(), ErrorCode::kInternal);

  client::ClientOptions o;
  o.credentials = {.user = "ann", .password = "pw-ann"};
  client::Client ann(router, o);
  EXPECT_TRUE(ann.put("game/player/ann", "1").ok());
  Status other = ann.put("game/player/bob", "1");
  EXPECT_EQ(other.code(), ErrorCode::kInternal);
  EXPECT_NE(other.message().find("NOPERM"), std::string::npos)
      << other.to_string();
  o.credentials.password = "wrong";
  client::Client wrong(router, o);
  EXPECT_EQ(wrong.get("game/player/ann").status().code(), ErrorCode::kDenied);

  auto plain = start({});
  ASSERT_NE(plain, nullptr);
  client::Client off(
      std::make_shared<client::FixedRouter>(plain->query_addrs()[0]));
  auto no = off.signup_free("ann");
  ASSERT_FALSE(no.ok());
  EXPECT_NE(no.status().message().find("ACL SIGNUP is off"), std::string::npos);
}

TEST(AclSignup, OffWithoutATemplateAndABadTemplateStopsTheStart) {
  auto s = start({});
  ASSERT_NE(s, nullptr);
  RawClient c(s->query_addrs()[0]);
  EXPECT_EQ(c.call({"ACL", "SIGNUP", "ann", "pw"}).str,
            "ERR ACL SIGNUP is off on this server (see --signup-rules)");
  ServerConfig config;
  config.port = 0;
  config.signup_rules = "~game/{user} +nosuch";
  auto bad = Server::start(config);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find(
                "--signup-rules: Error in ACL SETUSER modifier '+nosuch'"),
            std::string::npos)
      << bad.status().message();
}

// A user made on one server signs in on another: users replicate, so a
// client that fails over keeps its identity; a delete travels too.
TEST(AclCluster, UsersReplicateToEveryServer) {
  auto a = start({});
  ASSERT_NE(a, nullptr);
  ServerConfig cb;
  cb.join = {a->description()};
  auto b = start(cb);
  ASSERT_NE(b, nullptr);
  RawClient admin(a->query_addrs()[0]);
  ASSERT_EQ(
      admin.call({"ACL", "SETUSER", "eve", "on", ">pw", "+@all", "allkeys"})
          .str,
      "OK");
  // Within the remote sync bound (2000 ms at 250 ms latency; here none).
  auto signs_in = [&](std::string_view want) {
    auto deadline = std::chrono::steady_clock::now() + 2000ms;
    std::string got;
    do {
      RawClient c(b->query_addrs()[1]);
      got = c.call({"AUTH", "eve", "pw"}).str;
      if (got == want) return true;
      std::this_thread::sleep_for(20ms);
    } while (std::chrono::steady_clock::now() < deadline);
    ADD_FAILURE() << "AUTH answered " << got << ", want " << want;
    return false;
  };
  ASSERT_TRUE(signs_in("OK"));
  // A clear anywhere leaves users alone.
  RawClient other(b->query_addrs()[0]);
  EXPECT_EQ(other.call({"FLUSHALL"}).str, "OK");
  EXPECT_EQ(admin.call({"ACL", "DELUSER", "eve"}).integer, 1);
  ASSERT_TRUE(signs_in(kWrongPass));
  RawClient check(b->query_addrs()[0]);
  EXPECT_EQ(check.call({"ACL", "GETUSER", "eve"}).type, Value::Type::kNull);
}

}  // namespace
}  // namespace cmud::server
