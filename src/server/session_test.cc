// The RESP front end over real sockets: one server, raw TCP clients.
#include <arpa/inet.h>
#include <gtest/gtest.h>

#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>

#include <array>
#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>
#include <asio/write.hpp>
#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "cmud/client/client.h"
#include "cmud/client/subscriber.h"
#include "cmud/common/address.h"
#include "cmud/common/ascii.h"
#include "cmud/kv/version.h"
#include "cmud/resp/resp.h"
#include "cmud/server/server.h"
#include "raw_client.h"
#include "test_server.h"

namespace cmud::server {
namespace {

using namespace std::chrono_literals;
using resp::Value;
using testing::expect_errors;
using testing::RawClient;

class SessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerConfig c;
    c.port = 0;
    c.actors = 2;
    c.client_port = 0;
    c.serialize_local_messages = true;
    c.limits.max_bulk = 1 << 20;
    c.limits.max_inline = 1024;
    auto s = Server::start(c);
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    server_ = std::move(s).value();
  }
  const std::string& port(size_t i) { return server_->query_addrs()[i]; }

  std::unique_ptr<Server> server_;
};

TEST_F(SessionTest, GetSetDelAndFriendsSpeakRedis) {
  RawClient c(port(0));
  EXPECT_EQ(c.call({"PING"}).str, "PONG");
  EXPECT_EQ(c.call({"SET", "k", "v"}).str, "OK");
  EXPECT_EQ(c.call({"GET", "k"}).str, "v");
  EXPECT_EQ(c.call({"get", "missing"}).type, Value::Type::kNull);
  EXPECT_EQ(c.call({"EXISTS", "k", "missing"}).integer, 1);
  auto mget = c.call({"MGET", "k", "missing"});
  ASSERT_EQ(mget.array.size(), 2u);
  EXPECT_EQ(mget.array[0].str, "v");
  EXPECT_EQ(mget.array[1].type, Value::Type::kNull);
  EXPECT_EQ(c.call({"DBSIZE"}).integer, 1);
  EXPECT_EQ(c.call({"DEL", "k", "missing"}).integer, 1);
  EXPECT_EQ(c.call({"GET", "k"}).type, Value::Type::kNull);
  EXPECT_EQ(c.call({"ECHO", "hi"}).str, "hi");
  EXPECT_EQ(c.call({"SELECT", "0"}).str, "OK");
  EXPECT_TRUE(c.call({"SELECT", "1"}).is_error());
  EXPECT_EQ(c.call({"CLIENT", "SETNAME", "me"}).str, "OK");
  EXPECT_EQ(c.call({"CLIENT", "GETNAME"}).str, "me");
  EXPECT_TRUE(c.call({"CLIENT", "SETNAME", "a b"}).is_error());
  int64_t id = c.call({"CLIENT", "ID"}).integer;
  EXPECT_GT(id, 0);
  std::string info = c.call({"CLIENT", "INFO"}).str;
  EXPECT_EQ(info.rfind("id=" + std::to_string(id) + " addr=127.0.0.1:", 0), 0u)
      << info;
  // Redis 7.0's fields, in its order; qbuf is this command's 26 bytes.
  ASSERT_TRUE(info.ends_with("\n"));
  std::vector<std::string> names;
  std::map<std::string, std::string> field;
  for (std::string_view pair :
       split_words(std::string_view(info).substr(0, info.size() - 1))) {
    size_t eq = pair.find('=');
    names.emplace_back(pair.substr(0, eq));
    field[names.back()] = std::string(pair.substr(eq + 1));
  }
  EXPECT_EQ(
      names,
      (std::vector<std::string>{
          "id",    "addr",  "laddr",     "fd",       "name",      "age",
          "idle",  "flags", "db",        "sub",      "psub",      "ssub",
          "multi", "qbuf",  "qbuf-free", "argv-mem", "multi-mem", "rbs",
          "rbp",   "obl",   "oll",       "omem",     "tot-mem",   "events",
          "cmd",   "user",  "redir",     "resp"}))
      << info;
  EXPECT_EQ(field["addr"].rfind("127.0.0.1:", 0), 0u);
  for (const auto& [k, v] :
       std::map<std::string, std::string>{{"name", "me"},
                                          {"flags", "N"},
                                          {"db", "0"},
                                          {"sub", "0"},
                                          {"psub", "0"},
                                          {"multi", "-1"},
                                          {"qbuf", "26"},
                                          {"events", "r"},
                                          {"cmd", "client|info"},
                                          {"user", "default"},
                                          {"redir", "-1"},
                                          {"resp", "2"}}) {
    EXPECT_EQ(field[k], v) << k << " in " << info;
  }
  // Seen by another connection in MULTI: flag x, the commands queued, and
  // the last command run.
  ASSERT_EQ(c.call({"MULTI"}).str, "OK");
  ASSERT_EQ(c.call({"GET", "a"}).str, "QUEUED");
  RawClient other(port(0));
  std::string list = other.call({"CLIENT", "LIST"}).str;
  EXPECT_NE(list.find(" name=me age="), std::string::npos) << list;
  EXPECT_NE(list.find(" flags=x db=0 sub=0 psub=0 ssub=0 multi=1 "),
            std::string::npos)
      << list;
  EXPECT_NE(list.find(" cmd=get "), std::string::npos) << list;
  EXPECT_EQ(c.call({"DISCARD"}).str, "OK");
  list = other.call({"CLIENT", "LIST"}).str;
  EXPECT_NE(list.find(" flags=N db=0 sub=0 psub=0 ssub=0 multi=-1 "),
            std::string::npos)
      << list;
}

TEST_F(SessionTest, FlushallAndFlushdbClearEveryPortAndCheckTheirArguments) {
  RawClient c(port(0));
  RawClient other(port(1));
  for (const char* flush : {"FLUSHALL", "FLUSHDB"}) {
    for (const char* k : {"a", "b", "c"}) {
      ASSERT_EQ(c.call({"SET", k, "v"}).str, "OK");
    }
    EXPECT_EQ(c.call({flush, "ASYNC"}).str, "OK");
    EXPECT_EQ(c.call({"DBSIZE"}).integer, 0);
    EXPECT_EQ(c.call({"GET", "a"}).type, Value::Type::kNull);
    // The other actor drops them as soon as the clear reaches it.
    int64_t left = -1;
    for (int i = 0; i < 200 && left != 0; ++i) {
      left = other.call({"DBSIZE"}).integer;
      if (left != 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    EXPECT_EQ(left, 0) << flush;
    EXPECT_EQ(c.call({"SET", "a", "new"}).str, "OK");
    EXPECT_EQ(c.call({flush, "sync"}).str, "OK");
    EXPECT_EQ(c.call({"GET", "a"}).type, Value::Type::kNull);
    auto bad = c.call({flush, "LATER"});
    ASSERT_TRUE(bad.is_error());
    EXPECT_EQ(bad.str, "ERR syntax error");
    EXPECT_TRUE(c.call({flush, "ASYNC", "SYNC"}).is_error());
  }
}

TEST_F(SessionTest, IncrDecrAndTheirByFormsCountAndCheckTheirArguments) {
  RawClient c(port(0));
  RawClient other(port(1));
  EXPECT_EQ(c.call({"INCR", "n"}).integer, 1);
  EXPECT_EQ(c.call({"INCRBY", "n", "41"}).integer, 42);
  EXPECT_EQ(c.call({"DECR", "n"}).integer, 41);
  EXPECT_EQ(c.call({"DECRBY", "n", "-9"}).integer, 50);
  EXPECT_EQ(c.call({"GET", "n"}).str, "50");
  // Increments on the other port add to these, not replace them.
  int64_t seen = 0;
  for (int i = 0; i < 200 && seen != 50; ++i) {
    seen = other.call({"EXISTS", "n"}).integer == 1
               ? std::stoll(other.call({"GET", "n"}).str)
               : 0;
    if (seen != 50) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_EQ(seen, 50);
  EXPECT_EQ(other.call({"INCRBY", "n", "10"}).integer, 60);
  expect_errors(
      c,
      {
          {{"INCRBY", "n", "x"}, "ERR value is not an integer or out of range"},
          {{"INCRBY", "n", "1.5"},
           "ERR value is not an integer or out of range"},
          {{"INCRBY", "n", "99999999999999999999"},
           "ERR value is not an integer or out of range"},
          {{"DECRBY", "n", "-9223372036854775808"},
           "ERR decrement would overflow"},
          {{"INCR"}, "ERR wrong number of arguments for 'incr' command"},
          {{"INCRBY", "n"},
           "ERR wrong number of arguments for 'incrby' command"},
      });
  ASSERT_EQ(c.call({"SET", "s", "hello"}).str, "OK");
  auto r = c.call({"INCR", "s"});
  ASSERT_TRUE(r.is_error());
  EXPECT_EQ(r.str, "ERR value is not an integer or out of range");
  EXPECT_EQ(c.call({"GET", "s"}).str, "hello");
}

// Redis 7.0's tests/unit/type/incr.tcl, each INCRBYFLOAT test, exactly
// (where Redis rounds the answer with roundFloat, the text is checked).
TEST_F(SessionTest, IncrbyfloatAnswersAsRedis7) {
  RawClient c(port(0));
  auto err = [&](const std::vector<std::string_view>& cmd) {
    auto r = c.call(cmd);
    EXPECT_TRUE(r.is_error());
    return r.str;
  };
  // against non existing key
  EXPECT_EQ(c.call({"INCRBYFLOAT", "novar", "1"}).str, "1");
  EXPECT_EQ(c.call({"GET", "novar"}).str, "1");
  EXPECT_EQ(c.call({"INCRBYFLOAT", "novar", "0.25"}).str, "1.25");
  EXPECT_EQ(c.call({"GET", "novar"}).str, "1.25");
  // against key originally set with SET
  ASSERT_EQ(c.call({"SET", "novar", "1.5"}).str, "OK");
  EXPECT_EQ(c.call({"INCRBYFLOAT", "novar", "1.5"}).str, "3");
  // over 32bit value, with and without an over 32bit increment
  ASSERT_EQ(c.call({"SET", "novar", "17179869184"}).str, "OK");
  EXPECT_EQ(c.call({"INCRBYFLOAT", "novar", "1.5"}).str, "17179869185.5");
  ASSERT_EQ(c.call({"SET", "novar", "17179869184"}).str, "OK");
  EXPECT_EQ(c.call({"INCRBYFLOAT", "novar", "17179869184"}).str, "34359738368");
  // fails against key with spaces (left, right, both)
  for (const char* v : {"    11", "11    ", " 11 "}) {
    ASSERT_EQ(c.call({"SET", "novar", v}).str, "OK");
    EXPECT_EQ(err({"INCRBYFLOAT", "novar", "1.0"}),
              "ERR value is not a valid float")
        << v;
    EXPECT_EQ(c.call({"GET", "novar"}).str, v);
  }
  // does not allow NaN or Infinity
  ASSERT_EQ(c.call({"SET", "foo", "0"}).str, "OK");
  EXPECT_EQ(err({"INCRBYFLOAT", "foo", "+inf"}),
            "ERR increment would produce NaN or Infinity");
  EXPECT_EQ(c.call({"GET", "foo"}).str, "0");
  // decrement
  ASSERT_EQ(c.call({"SET", "foo", "1"}).str, "OK");
  EXPECT_EQ(c.call({"INCRBYFLOAT", "foo", "-1.1"}).str, "-0.1");
  // string to double with null terminator
  ASSERT_EQ(c.call({"SET", "foo", "1"}).str, "OK");
  ASSERT_EQ(c.call({"SETRANGE", "foo", "2", "2"}).integer, 3);
  EXPECT_EQ(err({"INCRBYFLOAT", "foo", "1"}), "ERR value is not a valid float");
  // No negative zero (Tcl's double(1)/41 and double(-1)/41)
  ASSERT_EQ(c.call({"DEL", "foo"}).integer, 1);
  c.call({"INCRBYFLOAT", "foo", "0.024390243902439025"});
  c.call({"INCRBYFLOAT", "foo", "-0.024390243902439025"});
  EXPECT_EQ(c.call({"GET", "foo"}).str, "0");

  // The brief's own: text as Redis renders it, GET alike.
  EXPECT_EQ(c.call({"INCRBYFLOAT", "k", "10.5"}).str, "10.5");
  EXPECT_EQ(c.call({"GET", "k"}).str, "10.5");
  ASSERT_EQ(c.call({"SET", "k", "5.0e3"}).str, "OK");
  EXPECT_EQ(c.call({"INCRBYFLOAT", "k", "2.0e2"}).str, "5200");
  EXPECT_EQ(c.call({"GET", "k"}).str, "5200");
  // Redis's own documentation example.
  ASSERT_EQ(c.call({"SET", "mykey", "10.50"}).str, "OK");
  EXPECT_EQ(c.call({"INCRBYFLOAT", "mykey", "0.1"}).str, "10.6");
  EXPECT_EQ(c.call({"INCRBYFLOAT", "mykey", "-5"}).str, "5.6");
  // 17 decimals, as Redis: a long double near 5201 shows its last bits.
  EXPECT_EQ(c.call({"INCRBYFLOAT", "k", "1.1"}).str, "5201.10000000000000009");
  // long double, as Redis: 1.1 + 2.2 is 3.3, not 3.3000000000000003
  ASSERT_EQ(c.call({"DEL", "k"}).integer, 1);
  c.call({"INCRBYFLOAT", "k", "1.1"});
  EXPECT_EQ(c.call({"INCRBYFLOAT", "k", "2.2"}).str, "3.3");
  // INCR on a float counter: only while its total is an integer
  ASSERT_EQ(c.call({"SET", "k", "5.0e3"}).str, "OK");
  c.call({"INCRBYFLOAT", "k", "2.0e2"});
  EXPECT_EQ(c.call({"INCR", "k"}).integer, 5201);
  EXPECT_EQ(c.call({"INCRBYFLOAT", "k", "0.5"}).str, "5201.5");
  EXPECT_EQ(err({"INCR", "k"}), "ERR value is not an integer or out of range");
  EXPECT_EQ(err({"DECRBY", "k", "2"}),
            "ERR value is not an integer or out of range");
  EXPECT_EQ(c.call({"GET", "k"}).str, "5201.5");
  // INCRBYFLOAT on an integer counter
  ASSERT_EQ(c.call({"DEL", "n"}).integer, 0);
  EXPECT_EQ(c.call({"INCRBY", "n", "7"}).integer, 7);
  EXPECT_EQ(c.call({"INCRBYFLOAT", "n", "-0.5"}).str, "6.5");
  // A SET replaces it.
  ASSERT_EQ(c.call({"SET", "k", "v"}).str, "OK");
  EXPECT_EQ(c.call({"GET", "k"}).str, "v");
  EXPECT_EQ(err({"INCRBYFLOAT", "k", "1"}), "ERR value is not a valid float");
  expect_errors(
      c,
      {
          {{"INCRBYFLOAT", "n", "x"}, "ERR value is not a valid float"},
          {{"INCRBYFLOAT", "n", "nan"}, "ERR value is not a valid float"},
          {{"INCRBYFLOAT", "n", " 1"}, "ERR value is not a valid float"},
          {{"INCRBYFLOAT", "n", "1 "}, "ERR value is not a valid float"},
          {{"INCRBYFLOAT", "n", "1e99999"}, "ERR value is not a valid float"},
          {{"INCRBYFLOAT", "n"},
           "ERR wrong number of arguments for 'incrbyfloat' command"},
          {{"INCRBYFLOAT", "n", "1", "2"},
           "ERR wrong number of arguments for 'incrbyfloat' command"},
      });
  EXPECT_EQ(c.call({"GET", "n"}).str, "6.5");
  // Its expiry stays, as in Redis.
  ASSERT_EQ(c.call({"SET", "t", "1", "EX", "100"}).str, "OK");
  EXPECT_EQ(c.call({"INCRBYFLOAT", "t", "0.5"}).str, "1.5");
  EXPECT_GE(c.call({"TTL", "t"}).integer, 99);
}

TEST_F(SessionTest, SetOptionsExpireTtlAndPersistSpeakRedis) {
  RawClient c(port(0));
  RawClient other(port(1));
  EXPECT_EQ(c.call({"SET", "k", "v", "EX", "100"}).str, "OK");
  EXPECT_GE(c.call({"TTL", "k"}).integer, 99);  // rounded, as Redis
  int64_t pttl = c.call({"PTTL", "k"}).integer;
  EXPECT_GT(pttl, 99'000);
  EXPECT_LE(pttl, 100'000);
  EXPECT_EQ(c.call({"SET", "k", "w", "KEEPTTL"}).str, "OK");
  EXPECT_GT(c.call({"TTL", "k"}).integer, 90);
  EXPECT_EQ(c.call({"SET", "k", "x"}).str, "OK");  // a SET clears it
  EXPECT_EQ(c.call({"TTL", "k"}).integer, -1);
  EXPECT_EQ(c.call({"TTL", "missing"}).integer, -2);
  // NX, XX, GET.
  EXPECT_EQ(c.call({"SET", "k", "y", "NX"}).type, Value::Type::kNull);
  EXPECT_EQ(c.call({"SET", "n", "1", "XX"}).type, Value::Type::kNull);
  EXPECT_EQ(c.call({"SET", "k", "z", "XX", "GET"}).str, "x");
  EXPECT_EQ(c.call({"SET", "n", "1", "NX", "GET"}).type, Value::Type::kNull);
  EXPECT_EQ(c.call({"GET", "n"}).str, "1");
  // EXPIRE's conditions; PERSIST; the times.
  EXPECT_EQ(c.call({"EXPIRE", "k", "50", "XX"}).integer, 0);
  EXPECT_EQ(c.call({"EXPIRE", "k", "50", "NX"}).integer, 1);
  EXPECT_EQ(c.call({"EXPIRE", "k", "40", "GT"}).integer, 0);
  EXPECT_EQ(c.call({"EXPIRE", "k", "60", "GT"}).integer, 1);
  EXPECT_EQ(c.call({"EXPIRE", "k", "70", "LT"}).integer, 0);
  EXPECT_EQ(c.call({"PEXPIREAT", "k", "4000000000000"}).integer, 1);
  EXPECT_EQ(c.call({"PEXPIRETIME", "k"}).integer, 4'000'000'000'000);
  EXPECT_EQ(c.call({"EXPIRETIME", "k"}).integer, 4'000'000'000);
  EXPECT_EQ(c.call({"PERSIST", "k"}).integer, 1);
  EXPECT_EQ(c.call({"PERSIST", "k"}).integer, 0);
  EXPECT_EQ(c.call({"EXPIRE", "missing", "10"}).integer, 0);
  // The expiry travels with the key: the other port sees it.
  EXPECT_EQ(c.call({"SETEX", "s", "30", "v"}).str, "OK");
  int64_t ttl = -2;
  for (int i = 0; i < 200 && ttl < 0; ++i) {
    ttl = other.call({"TTL", "s"}).integer;
    if (ttl < 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_GE(ttl, 29);
  EXPECT_LE(ttl, 30);
  // GETEX, and a time already past deletes.
  EXPECT_EQ(c.call({"GETEX", "s", "PERSIST"}).str, "v");
  EXPECT_EQ(c.call({"TTL", "s"}).integer, -1);
  EXPECT_EQ(c.call({"GETEX", "s", "PX", "5000"}).str, "v");
  EXPECT_GT(c.call({"PTTL", "s"}).integer, 4000);
  EXPECT_EQ(c.call({"EXPIRE", "s", "-1"}).integer, 1);
  EXPECT_EQ(c.call({"EXISTS", "s"}).integer, 0);
  // A short TTL runs out.
  EXPECT_EQ(c.call({"PSETEX", "p", "50", "v"}).str, "OK");
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  EXPECT_EQ(c.call({"GET", "p"}).type, Value::Type::kNull);
  EXPECT_EQ(c.call({"TTL", "p"}).integer, -2);
  expect_errors(
      c, {
             {{"SET", "k", "v", "EX", "0"},
              "ERR invalid expire time in 'set' command"},
             {{"SET", "k", "v", "EX", "x"},
              "ERR value is not an integer or out of range"},
             {{"SET", "k", "v", "EX"}, "ERR syntax error"},
             {{"SET", "k", "v", "NX", "XX"}, "ERR syntax error"},
             {{"SET", "k", "v", "EX", "1", "PX", "1"}, "ERR syntax error"},
             {{"SET", "k", "v", "KEEPTTL", "EX", "1"}, "ERR syntax error"},
             {{"SET", "k", "v", "EX", "99999999999999999"},
              "ERR invalid expire time in 'set' command"},
             {{"SETEX", "k", "-1", "v"},
              "ERR invalid expire time in 'setex' command"},
             {{"EXPIRE", "k", "1", "NX", "XX"},
              "ERR NX and XX, GT or LT options at the same time are not "
              "compatible"},
             {{"EXPIRE", "k", "1", "GT", "LT"},
              "ERR GT and LT options at the same time are not compatible"},
             {{"EXPIRE", "k", "1", "SOON"}, "ERR Unsupported option SOON"},
             {{"GETEX", "k", "EX"}, "ERR syntax error"},
         });
}

TEST_F(SessionTest, ListReturnsSortedKeyValuePairs) {
  RawClient c(port(0));
  for (auto k : {"cat/2", "cat/1", "catalog", "dog/1"}) c.call({"SET", k, k});
  auto l = c.call({"LIST", "cat/"});
  ASSERT_EQ(l.array.size(), 4u);
  EXPECT_EQ(l.array[0].str, "cat/1");
  EXPECT_EQ(l.array[1].str, "cat/1");
  EXPECT_EQ(l.array[2].str, "cat/2");
  EXPECT_EQ(c.call({"LIST"}).array.size(), 8u);
  EXPECT_EQ(c.call({"LIST", "zzz"}).array.size(), 0u);
}

TEST_F(SessionTest, KeysAndScanFindEveryMatchingKey) {
  RawClient c(port(0));
  std::string pipeline;
  for (int i = 0; i < 300; ++i) {
    resp::write_command(pipeline, {"SET", "user:" + std::to_string(i), "x"});
    resp::write_command(pipeline, {"SET", "item:" + std::to_string(i), "y"});
  }
  c.send(pipeline);
  for (int i = 0; i < 600; ++i) ASSERT_EQ(c.reply().str, "OK");
  EXPECT_EQ(c.call({"KEYS", "user:*"}).array.size(), 300u);
  EXPECT_EQ(c.call({"KEYS", "*:1?"}).array.size(), 20u);
  EXPECT_EQ(c.call({"KEYS", "user:[12]"}).array.size(), 2u);
  std::set<std::string> seen;
  std::string cursor = "0";
  for (int round = 0; round < 1000; ++round) {
    auto r = c.call({"SCAN", cursor, "MATCH", "item:*", "COUNT", "37"});
    ASSERT_EQ(r.array.size(), 2u) << r.str;
    cursor = r.array[0].str;
    for (auto& k : r.array[1].array) seen.insert(k.str);
    if (cursor == "0") break;
  }
  EXPECT_EQ(cursor, "0");
  EXPECT_EQ(seen.size(), 300u);
  EXPECT_TRUE(c.call({"SCAN", "12345"}).is_error());
}

TEST_F(SessionTest, PipelinedRepliesKeepOrderAcrossLocalAndStoreCommands) {
  RawClient c(port(1));
  std::string p;
  resp::write_command(p, {"SET", "a", "1"});
  resp::write_command(p, {"PING"});
  resp::write_command(p, {"NOSUCH", "x"});
  resp::write_command(p, {"GET", "a"});
  resp::write_command(p, {"GET"});  // wrong arity
  resp::write_command(p, {"ECHO", "e"});
  resp::write_command(p, {"SET", "a", "2", "EX", "0"});  // refused option
  resp::write_command(p, {"SET", "a", "3", "NX"});       // a store op: nil
  resp::write_command(p, {"GET", "a"});
  c.send(p);
  EXPECT_EQ(c.reply().str, "OK");
  EXPECT_EQ(c.reply().str, "PONG");
  auto unknown = c.reply();
  EXPECT_EQ(unknown.str,
            "ERR unknown command 'NOSUCH', with args beginning with: 'x' ");
  EXPECT_EQ(c.reply().str, "1");
  EXPECT_EQ(c.reply().str, "ERR wrong number of arguments for 'get' command");
  EXPECT_EQ(c.reply().str, "e");
  auto refused = c.reply();
  EXPECT_TRUE(refused.is_error());
  EXPECT_EQ(refused.str, "ERR invalid expire time in 'set' command");
  EXPECT_EQ(c.reply().type, Value::Type::kNull);
  EXPECT_EQ(c.reply().str, "1");
}

TEST_F(SessionTest, CommandsSplitAtEveryByteStillWork) {
  RawClient c(port(0));
  std::string p;
  resp::write_command(p, {"SET", "split", std::string("a\r\nb\0c", 6)});
  resp::write_command(p, {"GET", "split"});
  p += "PING\r\n";  // inline
  for (char ch : p) c.send(std::string_view(&ch, 1));
  EXPECT_EQ(c.reply().str, "OK");
  EXPECT_EQ(c.reply().str, std::string("a\r\nb\0c", 6));
  EXPECT_EQ(c.reply().str, "PONG");
}

TEST_F(SessionTest, OversizedOrMalformedInputClosesOnlyThatConnection) {
  RawClient bad(port(0));
  RawClient good(port(0));
  EXPECT_EQ(good.call({"SET", "k", "v"}).str, "OK");
  bad.send("*1\r\n$99999999\r\n");  // over max_bulk
  auto e = bad.reply();
  EXPECT_TRUE(e.is_error());
  EXPECT_NE(e.str.find("invalid bulk length"), std::string::npos) << e.str;
  EXPECT_EQ(bad.reply().str, "<closed>");

  RawClient garbage(port(0));
  garbage.send("*2\r\n+oops\r\n");
  EXPECT_TRUE(garbage.reply().is_error());
  EXPECT_EQ(garbage.reply().str, "<closed>");

  RawClient inline_too_long(port(0));
  inline_too_long.send(std::string(4096, 'a'));
  EXPECT_TRUE(inline_too_long.reply().is_error());
  EXPECT_EQ(inline_too_long.reply().str, "<closed>");

  EXPECT_EQ(good.call({"GET", "k"}).str, "v");
}

TEST_F(SessionTest, MultiQueuesAndExecRunsEverythingInOrderAsOneReply) {
  RawClient c(port(0));
  RawClient other(port(1));
  EXPECT_EQ(c.call({"MULTI"}).str, "OK");
  EXPECT_EQ(c.call({"SET", "a", "1"}).str, "QUEUED");
  EXPECT_EQ(c.call({"INCR", "n"}).str, "QUEUED");
  EXPECT_EQ(c.call({"PING"}).str, "QUEUED");
  EXPECT_EQ(c.call({"GET", "a"}).str, "QUEUED");
  // Nothing ran yet.
  EXPECT_EQ(other.call({"EXISTS", "a"}).integer, 0);
  auto r = c.call({"EXEC"});
  ASSERT_EQ(r.type, Value::Type::kArray);
  ASSERT_EQ(r.array.size(), 4u);
  EXPECT_EQ(r.array[0].str, "OK");
  EXPECT_EQ(r.array[1].integer, 1);
  EXPECT_EQ(r.array[2].str, "PONG");
  EXPECT_EQ(r.array[3].str, "1");
  EXPECT_EQ(c.call({"GET", "a"}).str, "1");  // out of MULTI again
  // Pipelined, as client libraries send it.
  std::string burst;
  for (std::vector<std::string_view> args :
       {std::vector<std::string_view>{"MULTI"},
        {"SET", "b", "2"},
        {"DEL", "a"},
        {"EXEC"},
        {"GET", "b"}}) {
    resp::write_command(burst, args);
  }
  c.send(burst);
  EXPECT_EQ(c.reply().str, "OK");
  EXPECT_EQ(c.reply().str, "QUEUED");
  EXPECT_EQ(c.reply().str, "QUEUED");
  auto piped = c.reply();
  ASSERT_EQ(piped.array.size(), 2u);
  EXPECT_EQ(piped.array[1].integer, 1);
  EXPECT_EQ(c.reply().str, "2");
  // An empty transaction, and DISCARD.
  EXPECT_EQ(c.call({"MULTI"}).str, "OK");
  EXPECT_EQ(c.call({"EXEC"}).array.size(), 0u);
  EXPECT_EQ(c.call({"MULTI"}).str, "OK");
  EXPECT_EQ(c.call({"SET", "b", "gone"}).str, "QUEUED");
  EXPECT_EQ(c.call({"DISCARD"}).str, "OK");
  EXPECT_EQ(c.call({"GET", "b"}).str, "2");
}

TEST_F(SessionTest, WatchAbortsExecWhenAWatchedKeyChangedOnThisReplica) {
  RawClient c(port(0));
  RawClient other(port(0));  // the same actor: its writes are seen at once
  ASSERT_EQ(c.call({"SET", "w", "1"}).str, "OK");
  ASSERT_EQ(c.call({"INCR", "n"}).integer, 1);
  // Unchanged: EXEC runs.
  EXPECT_EQ(c.call({"WATCH", "w", "n", "absent"}).str, "OK");
  EXPECT_EQ(c.call({"MULTI"}).str, "OK");
  EXPECT_EQ(c.call({"SET", "w", "2"}).str, "QUEUED");
  auto ran = c.call({"EXEC"});
  ASSERT_EQ(ran.type, Value::Type::kArray);
  EXPECT_EQ(ran.array.size(), 1u);
  // Each kind of change aborts it: a SET, an INCR, an EXPIRE, a key that
  // appears.
  for (std::vector<std::string_view> change :
       {std::vector<std::string_view>{"SET", "w", "3"},
        {"INCR", "n"},
        {"EXPIRE", "w", "100"},
        {"SET", "absent", "now"}}) {
    EXPECT_EQ(c.call({"WATCH", "w", "n", "absent"}).str, "OK");
    ASSERT_FALSE(other.call(change).is_error());
    EXPECT_EQ(c.call({"MULTI"}).str, "OK");
    EXPECT_EQ(c.call({"SET", "w", "mine"}).str, "QUEUED");
    EXPECT_EQ(c.call({"PING"}).str, "QUEUED");
    auto aborted = c.call({"EXEC"});
    EXPECT_EQ(aborted.type, Value::Type::kNull) << change[0];
    EXPECT_NE(c.call({"GET", "w"}).str, "mine");
    ASSERT_EQ(other.call({"DEL", "absent"}).type, Value::Type::kInteger);
  }
  // EXEC forgets the watch; UNWATCH and DISCARD too.
  EXPECT_EQ(c.call({"MULTI"}).str, "OK");
  EXPECT_EQ(c.call({"SET", "w", "free"}).str, "QUEUED");
  EXPECT_EQ(c.call({"EXEC"}).array.size(), 1u);
  EXPECT_EQ(c.call({"WATCH", "w"}).str, "OK");
  EXPECT_EQ(c.call({"UNWATCH"}).str, "OK");
  other.call({"SET", "w", "x"});
  EXPECT_EQ(c.call({"MULTI"}).str, "OK");
  EXPECT_EQ(c.call({"GET", "w"}).str, "QUEUED");
  EXPECT_EQ(c.call({"EXEC"}).array.size(), 1u);
  // Pipelined WATCH ... EXEC: nothing can come between them.
  std::string burst;
  for (std::vector<std::string_view> args :
       {std::vector<std::string_view>{"WATCH", "w"},
        {"MULTI"},
        {"SET", "w", "piped"},
        {"EXEC"}}) {
    resp::write_command(burst, args);
  }
  c.send(burst);
  EXPECT_EQ(c.reply().str, "OK");
  EXPECT_EQ(c.reply().str, "OK");
  EXPECT_EQ(c.reply().str, "QUEUED");
  EXPECT_EQ(c.reply().array.size(), 1u);
  EXPECT_EQ(c.call({"MULTI"}).str, "OK");
  expect_errors(c, {{{"WATCH", "w"}, "ERR WATCH inside MULTI is not allowed"}});
  EXPECT_EQ(c.call({"DISCARD"}).str, "OK");
}

TEST_F(SessionTest, AnErrorWhileQueueingAbortsTheTransaction) {
  RawClient c(port(0));
  expect_errors(c, {{{"EXEC"}, "ERR EXEC without MULTI"},
                    {{"DISCARD"}, "ERR DISCARD without MULTI"}});
  EXPECT_EQ(c.call({"MULTI"}).str, "OK");
  expect_errors(c, {{{"MULTI"}, "ERR MULTI calls can not be nested"}});
  EXPECT_EQ(c.call({"SET", "x", "1"}).str, "QUEUED");
  expect_errors(
      c, {{{"GET"}, "ERR wrong number of arguments for 'get' command"},
          {{"NOPE"}, "ERR unknown command 'NOPE', with args beginning with: "},
          {{"EXEC"},
           "EXECABORT Transaction discarded because of previous errors."}});
  EXPECT_EQ(c.call({"EXISTS", "x"}).integer, 0);
  // A command that fails when it runs fails alone, as in Redis.
  ASSERT_EQ(c.call({"SET", "s", "text"}).str, "OK");
  EXPECT_EQ(c.call({"MULTI"}).str, "OK");
  EXPECT_EQ(c.call({"INCR", "s"}).str, "QUEUED");
  EXPECT_EQ(c.call({"SET", "y", "1"}).str, "QUEUED");
  auto r = c.call({"EXEC"});
  ASSERT_EQ(r.array.size(), 2u);
  EXPECT_TRUE(r.array[0].is_error());
  EXPECT_EQ(r.array[1].str, "OK");
  // RESET leaves MULTI.
  EXPECT_EQ(c.call({"MULTI"}).str, "OK");
  EXPECT_EQ(c.call({"RESET"}).str, "RESET");
  expect_errors(c, {{{"EXEC"}, "ERR EXEC without MULTI"}});
}

TEST_F(SessionTest, StringCommandsAnswerAsRedisDoes) {
  RawClient c(port(0));
  EXPECT_EQ(c.call({"SETNX", "s", "hello"}).integer, 1);
  EXPECT_EQ(c.call({"SETNX", "s", "other"}).integer, 0);
  EXPECT_EQ(c.call({"APPEND", "s", " world"}).integer, 11);
  EXPECT_EQ(c.call({"STRLEN", "s"}).integer, 11);
  EXPECT_EQ(c.call({"STRLEN", "missing"}).integer, 0);
  EXPECT_EQ(c.call({"GETRANGE", "s", "0", "4"}).str, "hello");
  EXPECT_EQ(c.call({"GETRANGE", "s", "-5", "-1"}).str, "world");
  EXPECT_EQ(c.call({"GETRANGE", "s", "5", "100"}).str, " world");
  EXPECT_EQ(c.call({"GETRANGE", "s", "-1", "-5"}).str, "");
  EXPECT_EQ(c.call({"SUBSTR", "s", "6", "6"}).str, "w");
  EXPECT_EQ(c.call({"SETRANGE", "s", "6", "W"}).integer, 11);
  EXPECT_EQ(c.call({"GET", "s"}).str, "hello World");
  EXPECT_EQ(c.call({"SETRANGE", "pad", "3", "x"}).integer, 4);
  EXPECT_EQ(c.call({"GET", "pad"}).str, std::string("\0\0\0x", 4));
  EXPECT_EQ(c.call({"SETRANGE", "none", "3", ""}).integer, 0);
  EXPECT_EQ(c.call({"EXISTS", "none"}).integer, 0);
  EXPECT_EQ(c.call({"GETSET", "s", "new"}).str, "hello World");
  EXPECT_EQ(c.call({"GETDEL", "s"}).str, "new");
  EXPECT_EQ(c.call({"GETDEL", "s"}).type, Value::Type::kNull);
  EXPECT_EQ(c.call({"MSET", "a", "1", "b", "2"}).str, "OK");
  EXPECT_EQ(c.call({"MGET", "a", "b"}).array.size(), 2u);
  EXPECT_EQ(c.call({"MSETNX", "b", "x", "c", "3"}).integer, 0);
  EXPECT_EQ(c.call({"EXISTS", "c"}).integer, 0);
  EXPECT_EQ(c.call({"MSETNX", "c", "3", "d", "4"}).integer, 1);
  EXPECT_EQ(c.call({"TYPE", "a"}).str, "string");
  EXPECT_EQ(c.call({"TYPE", "zz"}).str, "none");
  EXPECT_EQ(c.call({"TOUCH", "a", "b", "zz"}).integer, 2);
  EXPECT_EQ(c.call({"UNLINK", "c", "d"}).integer, 2);
  auto time = c.call({"TIME"});
  ASSERT_EQ(time.array.size(), 2u);
  EXPECT_GT(std::stoll(time.array[0].str), 1'700'000'000);
  expect_errors(
      c,
      {
          {{"MSET", "a"}, "ERR wrong number of arguments for 'mset' command"},
          {{"MSET", "a", "1", "b"},
           "ERR wrong number of arguments for 'mset' command"},
          {{"GETRANGE", "a", "x", "1"},
           "ERR value is not an integer or out of range"},
          {{"SETRANGE", "a", "-1", "x"}, "ERR offset is out of range"},
          {{"SETRANGE", "a", "2000000", "x"},
           "ERR string exceeds maximum allowed size (proto-max-bulk-len)"},
      });
}

// CLOCK answers the port's hybrid clock: never below a version it stamped,
// raised by a value to observe (within the allowed skew), and the next
// write on the port beats what was observed.
TEST_F(SessionTest, ClockAnswersThePortsClockAndObservesWhatAClientSaw) {
  RawClient c(port(0));
  ASSERT_EQ(c.call({"SET", "k", "v"}).str, "OK");
  const int64_t before = c.call({"CLOCK"}).integer;
  // Milliseconds in the high 48 bits: a time after 2023.
  EXPECT_GT(before >> 16, int64_t{1'700'000'000'000});
  EXPECT_GE(c.call({"CLOCK"}).integer, before);
  // 30 s ahead is within the default skew (60 s): observed.
  const int64_t ahead = before + (int64_t{30'000} << 16);
  EXPECT_EQ(c.call({"CLOCK", std::to_string(ahead)}).integer, ahead);
  ASSERT_EQ(c.call({"SET", "k", "w"}).str, "OK");
  EXPECT_GT(c.call({"CLOCK"}).integer, ahead);
  // The other port's clock is its own (it learns versions by sync).
  RawClient other(port(1));
  EXPECT_LT(other.call({"CLOCK", "1"}).integer, ahead);
  expect_errors(
      c,
      {
          {{"CLOCK", std::to_string(before + (int64_t{3'600'000} << 16))},
           "ERR clock value is more than 60000 ms ahead of this server's "
           "clock"},
          {{"CLOCK", "x"}, "ERR clock value is not an integer or out of range"},
          {{"CLOCK", "-1"},
           "ERR clock value is not an integer or out of range"},
          {{"CLOCK", "1", "2"}, "ERR syntax error"},
      });
}

// CLUSTER has only what our membership has: FORGET (of a member marked
// down; the process test forgets a real one) and HELP.
TEST_F(SessionTest, ClusterForgetRefusesWhatItCannotForget) {
  RawClient c(port(0));
  auto help = c.call({"CLUSTER", "HELP"});
  ASSERT_GE(help.array.size(), 3u);
  EXPECT_EQ(help.array[1].str, "FORGET <host:port>");
  expect_errors(
      c,
      {
          {{"CLUSTER", "FORGET", "127.0.0.1:1"},
           "ERR Unknown server 127.0.0.1:1"},
          {{"CLUSTER", "SLOTS"},
           "ERR unknown subcommand or wrong number of arguments for "
           "'SLOTS'. Try CLUSTER HELP."},
          {{"CLUSTER", "FORGET"},
           "ERR unknown subcommand or wrong number of arguments for "
           "'FORGET'. Try CLUSTER HELP."},
          {{"CLUSTER"}, "ERR wrong number of arguments for 'cluster' command"},
      });
}

// The examples of Redis's LCS documentation.
TEST_F(SessionTest, LcsFindsTheLongestCommonSubsequenceAsRedisDoes) {
  RawClient c(port(0));
  ASSERT_EQ(c.call({"MSET", "key1", "ohmytext", "key2", "mynewtext"}).str,
            "OK");
  EXPECT_EQ(c.call({"LCS", "key1", "key2"}).str, "mytext");
  EXPECT_EQ(c.call({"LCS", "key1", "key2", "LEN"}).integer, 6);
  auto idx = c.call({"LCS", "key1", "key2", "IDX"});
  ASSERT_EQ(idx.array.size(), 4u);
  EXPECT_EQ(idx.array[0].str, "matches");
  const auto& m = idx.array[1].array;
  ASSERT_EQ(m.size(), 2u);
  // [[4,7],[5,8]] then [[2,3],[0,1]].
  EXPECT_EQ(m[0].array[0].array[0].integer, 4);
  EXPECT_EQ(m[0].array[0].array[1].integer, 7);
  EXPECT_EQ(m[0].array[1].array[0].integer, 5);
  EXPECT_EQ(m[0].array[1].array[1].integer, 8);
  EXPECT_EQ(m[1].array[0].array[0].integer, 2);
  EXPECT_EQ(m[1].array[1].array[1].integer, 1);
  EXPECT_EQ(idx.array[3].integer, 6);
  auto min = c.call(
      {"LCS", "key1", "key2", "IDX", "MINMATCHLEN", "4", "WITHMATCHLEN"});
  ASSERT_EQ(min.array[1].array.size(), 1u);
  EXPECT_EQ(min.array[1].array[0].array[2].integer, 4);
  EXPECT_EQ(c.call({"LCS", "key1", "missing"}).str, "");
  expect_errors(c, {{{"LCS", "key1", "key2", "LEN", "IDX"},
                     "ERR If you want both the length and indexes, please "
                     "just use IDX."},
                    {{"LCS", "key1", "key2", "FAST"}, "ERR syntax error"}});
}

TEST_F(SessionTest, RenameAndCopyMoveValuesWithTheirTtl) {
  RawClient c(port(0));
  RawClient other(port(1));
  ASSERT_EQ(c.call({"SET", "a", "1", "EX", "100"}).str, "OK");
  EXPECT_EQ(c.call({"RENAME", "a", "b"}).str, "OK");
  EXPECT_EQ(c.call({"EXISTS", "a"}).integer, 0);
  EXPECT_EQ(c.call({"GET", "b"}).str, "1");
  EXPECT_GT(c.call({"TTL", "b"}).integer, 90);
  EXPECT_EQ(c.call({"RENAME", "b", "b"}).str, "OK");
  ASSERT_EQ(c.call({"SET", "c", "3"}).str, "OK");
  EXPECT_EQ(c.call({"RENAMENX", "b", "c"}).integer, 0);
  EXPECT_EQ(c.call({"RENAMENX", "b", "d"}).integer, 1);
  EXPECT_EQ(c.call({"COPY", "d", "c"}).integer, 0);
  EXPECT_EQ(c.call({"COPY", "d", "c", "REPLACE"}).integer, 1);
  EXPECT_EQ(c.call({"GET", "c"}).str, "1");
  EXPECT_GT(c.call({"TTL", "c"}).integer, 90);
  EXPECT_EQ(c.call({"COPY", "d", "e", "DB", "0"}).integer, 1);
  EXPECT_EQ(c.call({"COPY", "nothing", "f"}).integer, 0);
  expect_errors(
      c,
      {{{"RENAME", "nothing", "x"}, "ERR no such key"},
       {{"COPY", "d", "d"}, "ERR source and destination objects are the same"},
       {{"COPY", "d", "x", "DB", "1"}, "ERR DB index is out of range"},
       {{"COPY", "d", "x", "LATER"}, "ERR syntax error"}});
  // The moves reach the other actor as the writes they are.
  bool moved = false;
  for (int i = 0; i < 200 && !moved; ++i) {
    moved = other.call({"EXISTS", "b"}).integer == 0 &&
            other.call({"GET", "e"}).str == "1";
    if (!moved) std::this_thread::sleep_for(5ms);
  }
  EXPECT_TRUE(moved);
}

TEST_F(SessionTest, AScanCursorWorksOnAnyConnectionAndPortAndTypeFilters) {
  RawClient a(port(0));
  for (int i = 0; i < 30; ++i) {
    std::string k = "k" + std::to_string(100 + i);
    ASSERT_EQ(a.call({"SET", k, "v"}).str, "OK");
  }
  // Wait until the other port's actor holds them all.
  RawClient b(port(1));
  int64_t there = 0;
  for (int i = 0; i < 200 && there != 30; ++i) {
    there = b.call({"DBSIZE"}).integer;
    if (there != 30) std::this_thread::sleep_for(5ms);
  }
  ASSERT_EQ(there, 30);
  // Each page from another connection, alternating ports.
  std::set<std::string> seen;
  std::string cursor = "0";
  int pages = 0;
  do {
    RawClient c(port(pages % 2));
    auto page = c.call({"SCAN", cursor, "COUNT", "7", "TYPE", "string"});
    ASSERT_EQ(page.array.size(), 2u) << page.str;
    cursor = page.array[0].str;
    for (const auto& k : page.array[1].array) {
      EXPECT_TRUE(seen.insert(k.str).second) << "twice: " << k.str;
    }
  } while (cursor != "0" && ++pages < 100);
  EXPECT_EQ(seen.size(), 30u);
  auto hashes = a.call({"SCAN", "0", "TYPE", "hash"});
  EXPECT_EQ(hashes.array[0].str, "0");
  EXPECT_TRUE(hashes.array[1].array.empty());
  expect_errors(a, {{{"SCAN", "987654321"}, "ERR invalid cursor"},
                    {{"SCAN", "0", "SIZE", "1"}, "ERR syntax error"}});
}

TEST_F(SessionTest, QuitAnswersOkThenCloses) {
  RawClient c(port(0));
  EXPECT_EQ(c.call({"QUIT"}).str, "OK");
  EXPECT_EQ(c.reply().str, "<closed>");
}

// A HELLO reply's field, from its map (RESP3) or flat array (RESP2).
const Value* hello_field(const Value& hello, std::string_view name) {
  for (size_t i = 0; i + 1 < hello.array.size(); i += 2) {
    if (hello.array[i].str == name) return &hello.array[i + 1];
  }
  return nullptr;
}

TEST_F(SessionTest, HelloSwitchesBetweenResp2AndResp3) {
  RawClient c(port(0));
  auto three =
      c.call({"HELLO", "3", "AUTH", "default", "any", "SETNAME", "me"});
  ASSERT_EQ(three.type, Value::Type::kMap);
  ASSERT_NE(hello_field(three, "proto"), nullptr);
  EXPECT_EQ(hello_field(three, "proto")->integer, 3);
  EXPECT_EQ(hello_field(three, "server")->str, "redis");
  EXPECT_GT(hello_field(three, "id")->integer, 0);
  EXPECT_EQ(c.call({"CLIENT", "GETNAME"}).str, "me");
  // RESP3 forms: a null, a map (PUBSUB NUMSUB stays an array, as in Redis).
  EXPECT_EQ(c.call({"GET", "missing"}).type, Value::Type::kNull);
  auto same = c.call({"HELLO"});
  EXPECT_EQ(same.type, Value::Type::kMap);
  auto two = c.call({"HELLO", "2"});
  ASSERT_EQ(two.type, Value::Type::kArray);
  EXPECT_EQ(hello_field(two, "proto")->integer, 2);
  expect_errors(
      c, {
             {{"HELLO", "4"}, "NOPROTO unsupported protocol version"},
             {{"HELLO", "x"},
              "ERR Protocol version is not an integer or out of range"},
             {{"HELLO", "3", "AUTH", "bob", "pw"},
              "WRONGPASS invalid username-password pair or user is "
              "disabled."},
             {{"HELLO", "3", "AUTH", "default"},
              "ERR Syntax error in HELLO option 'AUTH'"},
             {{"HELLO", "3", "SETNAME", "a b"},
              "ERR Client names cannot contain spaces, newlines or special "
              "characters."},
             {{"PING", "a", "b"},
              "ERR wrong number of arguments for 'ping' command"},
         });
  // A refused HELLO changes nothing.
  EXPECT_EQ(c.call({"HELLO"}).type, Value::Type::kArray);
  EXPECT_EQ(c.call({"HELLO", "3"}).type, Value::Type::kMap);
  EXPECT_EQ(c.call({"RESET"}).str, "RESET");
  EXPECT_EQ(c.call({"HELLO"}).type, Value::Type::kArray);
  EXPECT_EQ(c.call({"CLIENT", "GETNAME"}).type, Value::Type::kNull);
}

// The reply to SUBSCRIBE and friends, and a message: kind, name, then the
// count or the channel and message.
std::string describe_push(const Value& v) {
  std::string out = v.type == Value::Type::kPush    ? ">"
                    : v.type == Value::Type::kArray ? "*"
                                                    : "?";
  for (const auto& e : v.array) {
    out += " ";
    out += e.type == Value::Type::kInteger ? std::to_string(e.integer)
           : e.type == Value::Type::kNull  ? std::string("nil")
                                           : e.str;
  }
  return out;
}

TEST_F(SessionTest, Resp2SubscribersGetMessagesFromEveryPortOfTheServer) {
  RawClient sub(port(1));
  RawClient pub(port(0));
  EXPECT_EQ(describe_push(sub.call({"SUBSCRIBE", "a", "b"})),
            "* subscribe a 1");
  EXPECT_EQ(describe_push(sub.reply()), "* subscribe b 2");
  EXPECT_EQ(describe_push(sub.call({"PSUBSCRIBE", "room:*"})),
            "* psubscribe room:* 3");
  // Only pub/sub commands, PING, QUIT and RESET while subscribed.
  auto refused = sub.call({"GET", "k"});
  ASSERT_TRUE(refused.is_error());
  EXPECT_EQ(refused.str,
            "ERR Can't execute 'get': only (P|S)SUBSCRIBE / "
            "(P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this "
            "context");
  EXPECT_EQ(describe_push(sub.call({"PING"})), "* pong ");
  EXPECT_EQ(pub.call({"PUBLISH", "a", "hello"}).integer, 1);
  EXPECT_EQ(describe_push(sub.reply()), "* message a hello");
  EXPECT_EQ(pub.call({"PUBLISH", "room:1", "hi"}).integer, 1);
  auto pm = sub.reply();
  ASSERT_EQ(pm.array.size(), 4u);
  EXPECT_EQ(pm.array[0].str, "pmessage");
  EXPECT_EQ(pm.array[1].str, "room:*");
  EXPECT_EQ(pm.array[2].str, "room:1");
  EXPECT_EQ(pm.array[3].str, "hi");
  EXPECT_EQ(pub.call({"PUBLISH", "nobody", "x"}).integer, 0);
  auto channels = pub.call({"PUBSUB", "CHANNELS"});
  ASSERT_EQ(channels.array.size(), 2u);
  EXPECT_EQ(channels.array[0].str, "a");
  auto numsub = pub.call({"PUBSUB", "NUMSUB", "a", "zz"});
  ASSERT_EQ(numsub.array.size(), 4u);
  EXPECT_EQ(numsub.array[1].integer, 1);
  EXPECT_EQ(numsub.array[3].integer, 0);
  EXPECT_EQ(pub.call({"PUBSUB", "NUMPAT"}).integer, 1);
  // UNSUBSCRIBE with no channel leaves them all, one reply each.
  sub.command({"UNSUBSCRIBE"});
  std::set<std::string> left{describe_push(sub.reply()),
                             describe_push(sub.reply())};
  EXPECT_EQ(left,
            (std::set<std::string>{"* unsubscribe a 2", "* unsubscribe b 1"}));
  EXPECT_EQ(describe_push(sub.call({"PUNSUBSCRIBE"})),
            "* punsubscribe room:* 0");
  EXPECT_EQ(describe_push(sub.call({"UNSUBSCRIBE"})), "* unsubscribe nil 0");
  // Out of subscribed mode: commands work again.
  EXPECT_EQ(sub.call({"GET", "k"}).type, Value::Type::kNull);
  EXPECT_EQ(pub.call({"PUBLISH", "a", "gone"}).integer, 0);
}

TEST_F(SessionTest, Resp3SubscribersGetPushesAndMayRunAnyCommand) {
  RawClient sub(port(0));
  RawClient pub(port(1));
  ASSERT_EQ(sub.call({"HELLO", "3"}).type, Value::Type::kMap);
  EXPECT_EQ(describe_push(sub.call({"SUBSCRIBE", "c"})), "> subscribe c 1");
  EXPECT_EQ(sub.call({"SET", "k", "v"}).str, "OK");
  EXPECT_EQ(sub.call({"PING"}).str, "PONG");
  EXPECT_EQ(pub.call({"PUBLISH", "c", "m1"}).integer, 1);
  EXPECT_EQ(describe_push(sub.reply()), "> message c m1");
  // Messages keep their publisher's order, pipelined or not.
  std::string burst;
  constexpr int kMessages = 500;
  for (int i = 0; i < kMessages; ++i) {
    std::string text = std::to_string(i);
    resp::write_command(burst, {"PUBLISH", "c", text});
  }
  pub.send(burst);
  for (int i = 0; i < kMessages; ++i) {
    ASSERT_EQ(pub.reply().integer, 1);
    ASSERT_EQ(describe_push(sub.reply()), "> message c " + std::to_string(i));
  }
  // A closed subscriber is forgotten.
  RawClient gone(port(1));
  gone.call({"SUBSCRIBE", "c"});
  EXPECT_EQ(pub.call({"PUBLISH", "c", "both"}).integer, 2);
  EXPECT_EQ(describe_push(gone.reply()), "* message c both");
  EXPECT_EQ(describe_push(sub.reply()), "> message c both");
  EXPECT_EQ(gone.call({"QUIT"}).str, "OK");
  int64_t receivers = 2;
  for (int i = 0; i < 200 && receivers != 1; ++i) {
    receivers = pub.call({"PUBSUB", "NUMSUB", "c"}).array[1].integer;
    if (receivers != 1) std::this_thread::sleep_for(5ms);
  }
  EXPECT_EQ(receivers, 1);
}

TEST_F(SessionTest, TheClientLibrarysSubscriberHearsPublishesAndReportsAClose) {
  auto sub = client::Subscriber::connect(port(1));
  ASSERT_TRUE(sub.ok()) << sub.status().to_string();
  ASSERT_TRUE((*sub)->subscribe("news").ok());
  client::Client pub(std::make_shared<client::FixedRouter>(port(0)));
  // Nothing yet: read() does not wait.
  auto none = (*sub)->read();
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  // SUBSCRIBE is not answered before subscribe() returns, and it runs on
  // another worker: publish until it is in force (a publish to nobody
  // delivers nothing).
  Result<int64_t> one = 0;
  for (int i = 0; i < 400 && one.ok() && *one == 0; ++i) {
    one = pub.publish("news", "extra");
    if (one.ok() && *one == 0) std::this_thread::sleep_for(5ms);
  }
  ASSERT_TRUE(one.ok()) << one.status().to_string();
  EXPECT_EQ(*one, 1);
  auto zero = pub.publish("other", "x");
  ASSERT_TRUE(zero.ok());
  EXPECT_EQ(*zero, 0);
  pollfd p{(*sub)->fd(), POLLIN, 0};
  ASSERT_EQ(::poll(&p, 1, 5000), 1);
  std::vector<client::Subscriber::Message> got;
  for (int i = 0; i < 100 && got.empty(); ++i) {
    auto r = (*sub)->read();
    ASSERT_TRUE(r.ok()) << r.status().to_string();
    got = std::move(*r);
    if (got.empty()) std::this_thread::sleep_for(5ms);
  }
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].channel, "news");
  EXPECT_EQ(got[0].message, "extra");
  // A TTL'd put through the client library expires.
  ASSERT_TRUE(pub.put("t", "v", 50ms).ok());
  bool gone = false;
  for (int i = 0; i < 400 && !gone; ++i) {
    auto v = pub.get("t");
    gone = v.ok() && !v->has_value();
    if (!gone) std::this_thread::sleep_for(5ms);
  }
  EXPECT_TRUE(gone);
  // A server that goes away is reported, not waited for.
  std::string addr = port(1);
  server_.reset();
  auto closed = Status();
  for (int i = 0; i < 200 && closed.ok(); ++i) {
    auto r = (*sub)->read();
    if (!r.ok()) closed = r.status();
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_EQ(closed.code(), ErrorCode::kUnavailable);
  EXPECT_EQ(client::Subscriber::connect(addr).status().code(),
            ErrorCode::kUnavailable);
}

TEST_F(SessionTest, ClientListShowsEveryPortsConnectionsAndKillClosesThem) {
  RawClient a(port(0));
  RawClient b(port(1));
  ASSERT_EQ(b.call({"CLIENT", "SETNAME", "bee"}).str, "OK");
  ASSERT_EQ(describe_push(b.call({"SUBSCRIBE", "ch"})), "* subscribe ch 1");
  int64_t a_id = a.call({"CLIENT", "ID"}).integer;
  std::string list = a.call({"CLIENT", "LIST"}).str;
  EXPECT_NE(list.find("id=" + std::to_string(a_id) + " addr=127.0.0.1:"),
            std::string::npos)
      << list;
  EXPECT_NE(list.find(" name=bee "), std::string::npos) << list;
  EXPECT_NE(list.find(" flags=P db=0 sub=1 psub=0 ssub=0 multi=-1 "),
            std::string::npos)
      << list;
  EXPECT_NE(list.find(" cmd=subscribe user=default redir=-1 resp=2\n"),
            std::string::npos)
      << list;
  std::string pubsub = a.call({"CLIENT", "LIST", "TYPE", "pubsub"}).str;
  EXPECT_NE(pubsub.find("name=bee"), std::string::npos);
  EXPECT_EQ(pubsub.find("id=" + std::to_string(a_id) + " "), std::string::npos);
  std::string mine = a.call({"CLIENT", "LIST", "ID", std::to_string(a_id)}).str;
  EXPECT_EQ(std::count(mine.begin(), mine.end(), '\n'), 1);
  // Killed from another port's connection; SKIPME spares the caller.
  EXPECT_EQ(a.call({"CLIENT", "KILL", "TYPE", "pubsub"}).integer, 1);
  EXPECT_EQ(b.reply().str, "<closed>");
  EXPECT_EQ(a.call({"CLIENT", "KILL", "ID", std::to_string(a_id)}).integer, 0);
  expect_errors(
      a, {{{"CLIENT", "KILL", "127.0.0.1:1"}, "ERR No such client"},
          {{"CLIENT", "LIST", "TYPE", "odd"}, "ERR Unknown client type 'odd'"},
          {{"CLIENT", "KILL", "ID", "0"},
           "ERR client-id should be greater than 0"}});
  // Once closed, a connection leaves the list.
  bool gone = false;
  for (int i = 0; i < 200 && !gone; ++i) {
    gone = a.call({"CLIENT", "LIST"}).str.find("name=bee") == std::string::npos;
    if (!gone) std::this_thread::sleep_for(5ms);
  }
  EXPECT_TRUE(gone);
}

TEST(SessionPubSub, APublishReachesSubscribersOfTheOtherServerInOrder) {
  auto a = testing::start_joined();
  ASSERT_TRUE(a.ok()) << a.status().to_string();
  auto b = testing::start_joined({(*a)->description()});
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  RawClient sub2((*b)->query_addrs()[0]);
  RawClient sub3((*b)->query_addrs()[1]);
  ASSERT_EQ(sub3.call({"HELLO", "3"}).type, Value::Type::kMap);
  EXPECT_EQ(describe_push(sub2.call({"SUBSCRIBE", "chat"})),
            "* subscribe chat 1");
  EXPECT_EQ(describe_push(sub3.call({"PSUBSCRIBE", "ch*"})),
            "> psubscribe ch* 1");
  RawClient pub((*a)->query_addrs()[1]);
  // Until server a knows b, a message to it has nowhere to go: publish
  // until one arrives, then count from there.
  int first = -1;
  for (int i = 0; i < 400 && first < 0; ++i) {
    EXPECT_EQ(pub.call({"PUBLISH", "chat", "probe"}).integer, 0);
    std::this_thread::sleep_for(5ms);
    if (sub2.has_reply()) first = i;
  }
  ASSERT_GE(first, 0) << "no message reached the other server";
  sub2.drain();
  sub3.drain();
  constexpr int kMessages = 300;
  for (int i = 0; i < kMessages; ++i) {
    pub.command({"PUBLISH", "chat", std::to_string(i)});
  }
  for (int i = 0; i < kMessages; ++i) {
    ASSERT_EQ(pub.reply().integer, 0);  // no subscriber on server a
    ASSERT_EQ(describe_push(sub2.reply()),
              "* message chat " + std::to_string(i));
    auto p = sub3.reply();
    ASSERT_EQ(p.type, Value::Type::kPush);
    ASSERT_EQ(p.array.size(), 4u);
    ASSERT_EQ(p.array[3].str, std::to_string(i));
  }
}

// Both servers INCRBYFLOAT one key at once, on both their ports: every
// increment counts, and every port reads the exact sum.
TEST(SessionCounter, IncrbyfloatOnTwoServersAtOnceAddsUpEverywhere) {
  auto a = testing::start_joined();
  ASSERT_TRUE(a.ok()) << a.status().to_string();
  auto b = testing::start_joined({(*a)->description()});
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  std::vector<std::string> ports = {
      (*a)->query_addrs()[0], (*b)->query_addrs()[0], (*a)->query_addrs()[1],
      (*b)->query_addrs()[1]};
  // Exactly representable: 100 x 0.5 + 100 x 1.25 + 100 x -0.25 + 100 x 1.
  const std::vector<std::string> step = {"0.5", "1.25", "-0.25", "1"};
  constexpr int kEach = 100;
  std::vector<std::thread> writers;
  std::vector<std::string> failures(ports.size());
  for (size_t i = 0; i < ports.size(); ++i) {
    writers.emplace_back([&, i] {
      RawClient w(ports[i]);
      for (int n = 0; n < kEach; ++n) {
        auto r = w.call({"INCRBYFLOAT", "f", step[i]});
        if (r.is_error()) failures[i] = r.str;
      }
    });
  }
  for (auto& t : writers) t.join();
  for (const auto& f : failures) EXPECT_EQ(f, "");
  for (const auto& p : ports) {
    RawClient r(p);
    std::string got;
    for (int i = 0; i < 400 && got != "250"; ++i) {
      auto v = r.call({"GET", "f"});
      got = v.str;
      if (got != "250") std::this_thread::sleep_for(10ms);
    }
    EXPECT_EQ(got, "250") << p;
  }
}

// Both servers SETBIT one key at once: a read-modify-write of the value,
// so one version wins (docs/COMPATIBILITY.md), and every port converges on
// the same bytes.
TEST(SessionCounter, SetbitOnTwoServersAtOnceConvergesEverywhere) {
  auto a = testing::start_joined();
  ASSERT_TRUE(a.ok()) << a.status().to_string();
  auto b = testing::start_joined({(*a)->description()});
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  std::vector<std::string> ports = {
      (*a)->query_addrs()[0], (*b)->query_addrs()[0], (*a)->query_addrs()[1],
      (*b)->query_addrs()[1]};
  std::vector<std::thread> writers;
  std::vector<std::string> failures(2);
  for (size_t i = 0; i < 2; ++i) {
    writers.emplace_back([&, i] {
      RawClient w(ports[i]);
      for (int bit = 0; bit < 64; ++bit) {
        auto r = w.call({"SETBIT", "bits", std::to_string(i * 64 + bit), "1"});
        if (r.is_error()) failures[i] = r.str;
      }
    });
  }
  for (auto& t : writers) t.join();
  for (const auto& f : failures) EXPECT_EQ(f, "");
  auto read_all = [&] {
    std::vector<std::string> got;
    for (const auto& p : ports)
      got.push_back(RawClient(p).call({"GET", "bits"}).str);
    return got;
  };
  std::vector<std::string> got = read_all();
  for (int i = 0; i < 300 && std::count(got.begin(), got.end(), got[0]) != 4;
       ++i) {
    std::this_thread::sleep_for(10ms);
    got = read_all();
  }
  EXPECT_EQ(std::count(got.begin(), got.end(), got[0]), 4) << got[0].size();
  // Whichever won, it is a value one of the writers made.
  EXPECT_GE(got[0].size(), 8u);
  EXPECT_LE(got[0].size(), 16u);
}

TEST_F(SessionTest, InfoReportsServerKeyspaceAndActorSections) {
  RawClient c(port(1));
  c.call({"SET", "x", "1"});
  std::string all = c.call({"INFO"}).str;
  for (auto field :
       {"redis_version:7.0.0", "cmud_version:", "tcp_port:", "actor_uid:",
        "keys:1", "messages_sent:", "messages_sent_external:",
        "messages_sent_actor:", "bytes_sent:", "remote_bytes_received:",
        "channel_refs_used:", "max_pair_msgs_per_sec:"}) {
    EXPECT_NE(all.find(field), std::string::npos) << field;
  }
  std::string port_line =
      "tcp_port:" + port(1).substr(port(1).rfind(':') + 1) + "\r\n";
  EXPECT_NE(all.find(port_line), std::string::npos);
  std::string ks = c.call({"INFO", "keyspace"}).str;
  EXPECT_EQ(ks.find("redis_version"), std::string::npos);
  EXPECT_NE(ks.find("keys:1"), std::string::npos);
  // Several sections at once, with what redis-cli --stat reads.
  std::string two = c.call({"INFO", "CLIENTS", "memory"}).str;
  EXPECT_NE(two.find("# Clients\r\nconnected_clients:1\r\n"), std::string::npos)
      << two;
  EXPECT_NE(two.find("used_memory:"), std::string::npos);
  EXPECT_EQ(two.find("# Server"), std::string::npos);
  for (auto field : {"role:master", "used_cpu_user:", "pubsub_channels:0",
                     "used_memory_human:", "cluster_known_servers:"}) {
    EXPECT_NE(all.find(field), std::string::npos) << field;
  }
  EXPECT_EQ(c.call({"INFO", "nothing-like-it"}).str, "");
}

TEST_F(SessionTest, CommandAndConfigGetAnswerLikeRedis) {
  RawClient c(port(0));
  auto keys = c.call({"COMMAND", "GETKEYS", "MSET", "a", "1", "b", "2"});
  ASSERT_EQ(keys.array.size(), 2u);
  EXPECT_EQ(keys.array[1].str, "b");
  EXPECT_EQ(c.call({"COMMAND", "GETKEYS", "RENAME", "x", "y"}).array.size(),
            2u);
  expect_errors(
      c,
      {{{"COMMAND", "GETKEYS", "PING"}, "ERR The command has no key arguments"},
       {{"COMMAND", "GETKEYS", "GET"},
        "ERR Invalid number of arguments specified for command"},
       {{"COMMAND", "GETKEYS", "NOPE", "x"}, "ERR Invalid command specified"}});
  auto names = c.call({"COMMAND", "LIST"});
  EXPECT_EQ(static_cast<int64_t>(names.array.size()),
            c.call({"COMMAND", "COUNT"}).integer);
  auto docs = c.call({"COMMAND", "DOCS", "get", "publish"});
  ASSERT_EQ(docs.array.size(), 4u);  // RESP2: name, map, name, map
  EXPECT_EQ(docs.array[0].str, "get");
  EXPECT_EQ(docs.array[1].array[0].str, "summary");
  auto count = c.call({"COMMAND", "COUNT"}).integer;
  auto all = c.call({"COMMAND"});
  EXPECT_EQ(static_cast<int64_t>(all.array.size()), count);
  auto info = c.call({"COMMAND", "INFO", "get"});
  ASSERT_EQ(info.array.size(), 1u);
  EXPECT_EQ(info.array[0].array[0].str, "get");
  EXPECT_EQ(info.array[0].array[1].integer, 2);
  const auto& get_flags = info.array[0].array[2].array;
  ASSERT_EQ(get_flags.size(), 2u);
  EXPECT_EQ(get_flags[0].str, "readonly");
  EXPECT_EQ(get_flags[1].str, "fast");
  EXPECT_EQ(info.array[0].array[3].integer, 1);  // first key
  auto del = c.call({"command", "info", "DEL"}).array[0].array;
  EXPECT_EQ(del[2].array[0].str, "write");
  EXPECT_EQ(del[4].integer, -1);  // last key: to the end
  auto save = c.call({"CONFIG", "GET", "save"});
  ASSERT_EQ(save.array.size(), 2u);
  EXPECT_EQ(save.array[0].str, "save");
  EXPECT_EQ(c.call({"CONFIG", "GET", "nosuch"}).array.size(), 0u);
}

TEST_F(SessionTest, ClientPortSpreadsConnectionsOverActors) {
  ASSERT_TRUE(server_->client_addr().has_value());
  std::set<std::string> uids;
  for (int i = 0; i < 4; ++i) {
    RawClient c(*server_->client_addr());
    std::string info = c.call({"INFO", "server"}).str;
    auto at = info.find("actor_uid:");
    ASSERT_NE(at, std::string::npos);
    uids.insert(info.substr(at, info.find("\r\n", at) - at));
  }
  EXPECT_EQ(uids.size(), 2u);
}

TEST_F(SessionTest, BinarySafeLargeValuesRoundTrip) {
  RawClient c(port(0));
  std::string big(512 * 1024, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7);
  EXPECT_EQ(c.call({"SET", "big", big}).str, "OK");
  EXPECT_EQ(c.call({"GET", "big"}).str, big);
}

std::unique_ptr<Server> start_server(ServerConfig c) {
  c.port = 0;
  c.actors = 1;
  auto s = Server::start(c);
  EXPECT_TRUE(s.ok()) << s.status().to_string();
  return s.ok() ? std::move(s).value() : nullptr;
}

TEST(SessionLimits, PastMaxclientsANewConnectionGetsRedissErrorAndIsClosed) {
  ServerConfig c;
  c.max_clients = 3;
  auto server = start_server(c);
  ASSERT_TRUE(server);
  const std::string& addr = server->query_addrs()[0];
  std::vector<std::unique_ptr<RawClient>> clients;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(std::make_unique<RawClient>(addr));
    EXPECT_EQ(clients.back()->call({"PING"}).str, "PONG");
  }
  RawClient extra(addr);
  auto e = extra.reply();
  EXPECT_TRUE(e.is_error());
  EXPECT_EQ(e.str, "ERR max number of clients reached");
  EXPECT_EQ(extra.reply().str, "<closed>");
  // A closed connection gives its place back.
  clients.pop_back();
  bool served = false;
  for (int attempt = 0; attempt < 100 && !served; ++attempt) {
    RawClient again(addr);
    served = again.call({"PING"}).str == "PONG";
    if (!served) std::this_thread::sleep_for(10ms);
  }
  EXPECT_TRUE(served);
  EXPECT_EQ(clients[0]->call({"PING"}).str, "PONG");
}

// Resident set size of this process, in KiB (0 when unknown).
size_t rss_kib() {
  long pages = 0, resident = 0;
  FILE* f = std::fopen("/proc/self/statm", "r");
  if (f == nullptr) return 0;
  if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
  std::fclose(f);
  return static_cast<size_t>(resident) * (::sysconf(_SC_PAGESIZE) / 1024);
}

// The security review found ~17 KB a connection held by idle clients: a
// read buffer each. Now one waits for input with none.
TEST(SessionLimits, IdleConnectionsHoldNoReadBuffer) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "sanitizers keep freed memory: RSS says nothing";
#endif
  rlimit fds{};
  ::getrlimit(RLIMIT_NOFILE, &fds);
  fds.rlim_cur = fds.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &fds);
  ::getrlimit(RLIMIT_NOFILE, &fds);
  // Both ends of each connection live in this process.
  const size_t n = std::min<size_t>(2000, (fds.rlim_cur - 200) / 2);
  if (n < 500) {
    GTEST_SKIP() << "too few file descriptors: " << fds.rlim_cur;
  }
  ServerConfig c;
  auto server = start_server(c);
  ASSERT_TRUE(server);
  auto ep = parse_host_port(server->query_addrs()[0]);
  ASSERT_TRUE(ep.ok());
  RawClient info(server->query_addrs()[0]);
  auto connected = [&info] {
    std::string text = info.call({"INFO", "clients"}).str;
    auto at = text.find("connected_clients:");
    return at == std::string::npos ? 0 : std::stoul(text.substr(at + 18));
  };
  ASSERT_EQ(connected(), 1u);
  const size_t before = rss_kib();
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(ep->port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::vector<int> socks;
  for (size_t i = 0; i < n; ++i) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr),
              0);
    socks.push_back(fd);
    // Half have been served once (the buffer was used, then let go).
    if (i % 2 == 0) {
      ASSERT_EQ(::write(fd, "PING\r\n", 6), 6);
    }
  }
  for (size_t i = 0; i < n; i += 2) {
    char reply[8];
    pollfd p{socks[i], POLLIN, 0};
    ASSERT_EQ(::poll(&p, 1, 5000), 1);
    ASSERT_EQ(::read(socks[i], reply, sizeof reply), 7);  // +PONG\r\n
  }
  for (int i = 0; i < 500 && connected() < n + 1; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_EQ(connected(), n + 1);
  const size_t per_connection = (rss_kib() - before) * 1024 / n;
  // A session, its socket's reactor state and its CLIENT LIST row: about
  // 2 KB. A zeroed 16 KiB read buffer each was 18 000; one kept but only
  // partly touched, 6 000.
  EXPECT_LT(per_connection, 4000u);
  for (int fd : socks) ::close(fd);
}

TEST(SessionLimits, AnUnfinishedCommandOverTheQueryBufferLimitIsDropped) {
  ServerConfig c;
  c.client_query_buffer_limit = 1u << 20;
  c.limits.max_bulk = 32u << 20;
  auto server = start_server(c);
  ASSERT_TRUE(server);
  const std::string& addr = server->query_addrs()[0];
  RawClient good(addr);
  RawClient greedy(addr);
  greedy.send("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$30000000\r\n");
  std::string chunk(256 * 1024, 'x');
  // The server may close before the last chunk is sent: not an exception.
  asio::error_code ec;
  for (int i = 0; i < 5 && !ec; ++i) greedy.send_some(chunk, ec);
  auto e = greedy.reply();
  EXPECT_TRUE(e.is_error());
  EXPECT_NE(e.str.find("client-query-buffer-limit"), std::string::npos)
      << e.str;
  EXPECT_EQ(greedy.reply().str, "<closed>");
  EXPECT_EQ(good.call({"PING"}).str, "PONG");
}

// A client that asks for much and never reads is closed once its replies
// pass the limit; everyone else is served.
TEST(SessionLimits, AClientThatNeverReadsIsClosedAtTheOutputLimit) {
  ServerConfig c;
  c.client_output_buffer_limit = 2u << 20;
  auto server = start_server(c);
  ASSERT_TRUE(server);
  const std::string& addr = server->query_addrs()[0];
  RawClient good(addr);
  std::string value(64 << 10, 'v');
  for (int i = 0; i < 8; ++i) {
    ASSERT_EQ(good.call({"SET", "big" + std::to_string(i), value}).str, "OK");
  }
  // 1000 MGETs of 512 KiB each, never read: 500 MiB of replies without a
  // limit.
  RawClient greedy(addr);
  std::string mget;
  std::vector<std::string_view> args{"MGET"};
  std::vector<std::string> keys;
  for (int i = 0; i < 8; ++i) keys.push_back("big" + std::to_string(i));
  for (const auto& k : keys) args.push_back(k);
  resp::write_command(mget, args);
  std::string burst;
  for (int i = 0; i < 1000; ++i) burst += mget;
  asio::error_code ec;
  greedy.send_some(burst, ec);  // the server may close before it all goes
  // Closed: the replies it can read end in EOF well before 1000 arrived.
  int replies = 0;
  while (replies < 1000 && greedy.reply().type == Value::Type::kArray) {
    ++replies;
  }
  EXPECT_LT(replies, 1000);
  EXPECT_EQ(good.call({"PING"}).str, "PONG");
  EXPECT_EQ(
      good.call({"CONFIG", "GET", "client-output-buffer-limit"}).array[1].str,
      "normal 2097152 0 0");
}

TEST(SessionLimits, ABigValueSentInPiecesStillArrivesWhole) {
  auto server = start_server(ServerConfig{});
  ASSERT_TRUE(server);
  RawClient c(server->query_addrs()[0]);
  std::string value(20u << 20, 'v');
  value[12345] = 'x';
  std::string wire;
  resp::write_command(wire, {"SET", "big", value});
  for (size_t at = 0; at < wire.size(); at += 100'000) {
    c.send(std::string_view(wire).substr(at, 100'000));
  }
  EXPECT_EQ(c.reply().str, "OK");
  EXPECT_EQ(c.call({"GET", "big"}).str, value);
  EXPECT_EQ(c.call({"CONFIG", "GET", "maxclients"}).array[1].str, "10000");
}

TEST(SessionLimits, LimitsThatCannotWorkAreRefusedAtStart) {
  ServerConfig c;
  c.port = 0;
  c.limits.max_bulk = 100u << 20;  // over one sync frame
  EXPECT_EQ(Server::start(c).status().code(), ErrorCode::kInvalidArgument);
  ServerConfig d;
  d.port = 0;
  d.max_clients = 0;
  EXPECT_EQ(Server::start(d).status().code(), ErrorCode::kInvalidArgument);
}

// Persistence as Redis users see it: SAVE, BGSAVE, LASTSAVE, INFO and CONFIG
// on a server with a data directory; and everything back after a restart.
TEST(SessionPersistence, SaveBgsaveLastsaveAndARestartThatBringsTheStoreBack) {
  std::string dir =
      ::testing::TempDir() + "cmud-persist-" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  ServerConfig c;
  c.port = 0;
  c.actors = 2;
  c.data_dir = dir;
  c.fsync = durable::Fsync::kAlways;
  auto s = Server::start(c);
  ASSERT_TRUE(s.ok()) << s.status().to_string();
  {
    RawClient a((*s)->query_addrs()[0]);
    RawClient b((*s)->query_addrs()[1]);
    EXPECT_EQ(a.call({"CONFIG", "GET", "appendonly"}).array[1].str, "yes");
    EXPECT_EQ(a.call({"CONFIG", "GET", "appendfsync"}).array[1].str, "always");
    int64_t started = a.call({"LASTSAVE"}).integer;
    EXPECT_GT(started, 1'600'000'000);
    EXPECT_EQ(a.call({"SET", "on-a", "1"}).str, "OK");
    EXPECT_EQ(b.call({"SET", "on-b", "2"}).str, "OK");
    EXPECT_EQ(b.call({"DEL", "on-b"}).integer, 1);
    EXPECT_EQ(a.call({"SET", "kept", "3"}).str, "OK");
    // SAVE answers once the snapshot holds both actors' writes.
    EXPECT_EQ(a.call({"SAVE"}).str, "OK");
    bool snapshot = false;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
      snapshot |= e.path().filename().string().starts_with("snapshot-");
    }
    EXPECT_TRUE(snapshot);
    EXPECT_GE(a.call({"LASTSAVE"}).integer, started);
    auto bg = b.call({"BGSAVE"});
    EXPECT_TRUE(bg.str == "Background saving started" ||
                bg.str.find("already in progress") != std::string::npos)
        << bg.str;
    EXPECT_TRUE(b.call({"BGSAVE", "NOW"}).is_error());
    std::string info = a.call({"INFO", "persistence"}).str;
    EXPECT_NE(info.find("aof_enabled:1"), std::string::npos) << info;
    EXPECT_NE(info.find("rdb_last_bgsave_status:ok"), std::string::npos);
    EXPECT_EQ(a.call({"SET", "after-save", "4"}).str, "OK");
  }
  (*s)->stop();
  s->reset();
  auto again = Server::start(c);
  ASSERT_TRUE(again.ok()) << again.status().to_string();
  RawClient a((*again)->query_addrs()[1]);
  EXPECT_EQ(a.call({"GET", "on-a"}).str, "1");
  EXPECT_EQ(a.call({"GET", "on-b"}).type, Value::Type::kNull);
  EXPECT_EQ(a.call({"GET", "kept"}).str, "3");
  EXPECT_EQ(a.call({"GET", "after-save"}).str, "4");
  (*again)->stop();
  std::filesystem::remove_all(dir);
}

// A session's writes stay in order across a failover, whatever the
// servers' clocks: the client writes on its server (whose clock runs 30 s
// ahead of the other's), that server dies, the client writes again on the
// other, the first comes back from its disk and they sync. The second write
// wins everywhere: the client carried its clock over (CLOCK). Without
// that, the first write's version is 30 s ahead and would win.
TEST(SessionFailover, ASessionsLaterWriteOnTheNextServerWinsEverywhere) {
  const std::string base = ::testing::TempDir() + "cmud-failover-" +
                           std::to_string(::getpid()) + "-";
  std::array<ServerConfig, 2> config;
  std::array<std::unique_ptr<Server>, 2> server;
  for (size_t i = 0; i < 2; ++i) {
    std::filesystem::remove_all(base + std::to_string(i));
    config[i].port = 0;
    config[i].actors = 2;
    config[i].serialize_local_messages = true;
    config[i].data_dir = base + std::to_string(i);
    config[i].fsync = durable::Fsync::kAlways;
    if (i == 1) config[i].join = {server[0]->description()};
    auto s = Server::start(config[i]);
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    server[i] = std::move(*s);
  }
  auto router =
      std::make_shared<client::FailoverRouter>(std::vector<std::string>{
          server[0]->query_addrs()[0], server[1]->query_addrs()[0]});
  client::ClientOptions options;
  options.timeout = 5s;
  auto session = std::make_unique<client::Client>(router, options);
  ASSERT_TRUE(session->get("k").ok());
  const size_t first = router->current() == server[0]->query_addrs()[0] ? 0 : 1;
  const size_t second = 1 - first;
  {
    // The first server's clock runs 30 s ahead.
    RawClient raw(server[first]->query_addrs()[0]);
    const auto ahead = kv::Version::pack(kv::wall_clock_ms() + 30'000, 0);
    ASSERT_EQ(raw.call({"CLOCK", std::to_string(ahead)}).integer,
              static_cast<int64_t>(ahead));
  }
  ASSERT_TRUE(session->put("k", "first").ok());
  server[first]->stop();
  server[first].reset();
  ASSERT_TRUE(session->put("k", "second").ok());
  EXPECT_EQ(router->current(), server[second]->query_addrs()[0]);
  EXPECT_EQ(router->moves(), 1u);
  // Back from its disk, joined to the other.
  config[first].join = {server[second]->description()};
  auto back = Server::start(config[first]);
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  server[first] = std::move(*back);
  std::vector<std::string> ports;
  for (const auto& s : server) {
    for (const auto& a : s->query_addrs()) ports.push_back(a);
  }
  const auto deadline = std::chrono::steady_clock::now() + 15s;
  std::string seen;
  bool everywhere = false;
  while (!everywhere && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(100ms);
    everywhere = true;
    seen.clear();
    for (const auto& p : ports) {
      RawClient raw(p);
      auto v = raw.call({"GET", "k"});
      seen += p + "=" + v.str + " ";
      everywhere = everywhere && v.str == "second";
    }
  }
  EXPECT_TRUE(everywhere) << seen;
  session.reset();
  for (auto& s : server) s->stop();
  for (size_t i = 0; i < 2; ++i) {
    std::filesystem::remove_all(base + std::to_string(i));
  }
}

TEST(SessionPersistence, WithoutADataDirSaveSaysPersistenceIsOff) {
  ServerConfig c;
  c.port = 0;
  c.actors = 1;
  auto s = Server::start(c);
  ASSERT_TRUE(s.ok());
  RawClient a((*s)->query_addrs()[0]);
  EXPECT_EQ(a.call({"CONFIG", "GET", "appendonly"}).array[1].str, "no");
  auto r = a.call({"SAVE"});
  ASSERT_TRUE(r.is_error());
  EXPECT_NE(r.str.find("--data-dir"), std::string::npos) << r.str;
  EXPECT_TRUE(a.call({"BGSAVE"}).is_error());
  EXPECT_EQ(a.call({"PING"}).str, "PONG");
}

}  // namespace
}  // namespace cmud::server

namespace cmud::server {
namespace {

// A server whose default user has a password (--requirepass).
class AuthTest : public ::testing::Test {
 protected:
  static constexpr std::string_view kPassword = "correct horse";
  void SetUp() override {
    ServerConfig c;
    c.port = 0;
    c.actors = 2;
    c.serialize_local_messages = true;
    c.requirepass = std::string(kPassword);
    auto s = Server::start(c);
    ASSERT_TRUE(s.ok()) << s.status().to_string();
    server_ = std::move(s).value();
  }
  const std::string& port(size_t i) { return server_->query_addrs()[i]; }
  int64_t denied(RawClient& c) {
    std::string info = c.call({"INFO", "stats"}).str;
    auto at = info.find("acl_access_denied_auth:");
    if (at == std::string::npos) return -1;
    return std::stoll(info.substr(at + 23));
  }

  std::unique_ptr<Server> server_;
};

TEST_F(AuthTest, NothingButAuthHelloQuitAndResetRunsBeforeThePassword) {
  RawClient c(port(0));
  expect_errors(c, {
                       {{"GET", "k"}, "NOAUTH Authentication required."},
                       {{"SET", "k", "v"}, "NOAUTH Authentication required."},
                       {{"PING"}, "NOAUTH Authentication required."},
                       {{"SUBSCRIBE", "ch"}, "NOAUTH Authentication required."},
                       {{"CLIENT", "LIST"}, "NOAUTH Authentication required."},
                       // Unknown commands and wrong arity are told first,
                       // as Redis does.
                       {{"NOSUCH"},
                        "ERR unknown command 'NOSUCH', with args beginning "
                        "with: "},
                       {{"GET"},
                        "ERR wrong number of arguments for 'get' "
                        "command"},
                       {{"HELLO", "3"},
                        "NOAUTH HELLO must be called with the client already "
                        "authenticated, otherwise the HELLO <proto> AUTH "
                        "<user> <pass> option can be used to authenticate "
                        "the client and select the RESP protocol version at "
                        "the same time"},
                   });
  EXPECT_EQ(c.call({"RESET"}).str, "RESET");
  // A transaction refused on the way fails as a whole.
  EXPECT_TRUE(c.call({"MULTI"}).is_error());
  EXPECT_EQ(c.call({"EXEC"}).str,
            "EXECABORT Transaction discarded because of: NOAUTH "
            "Authentication required.");
  EXPECT_EQ(c.call({"QUIT"}).str, "OK");
  EXPECT_EQ(c.reply().str, "<closed>");
}

TEST_F(AuthTest, WrongCredentialsAreRefusedAndCountedTheRightOnesLetIn) {
  RawClient c(port(0));
  const std::string wrongpass =
      "WRONGPASS invalid username-password pair or user is disabled.";
  expect_errors(c, {
                       {{"AUTH", "nope"}, wrongpass},
                       {{"AUTH", "default", "nope"}, wrongpass},
                       {{"AUTH", "bob", kPassword}, wrongpass},
                       {{"HELLO", "3", "AUTH", "default", "nope"}, wrongpass},
                       {{"AUTH", "a", "b", "c"}, "ERR syntax error"},
                   });
  // A refused HELLO changed nothing: still RESP2, still signed out.
  EXPECT_EQ(c.call({"GET", "k"}).str, "NOAUTH Authentication required.");
  EXPECT_EQ(c.call({"AUTH", kPassword}).str, "OK");
  EXPECT_EQ(c.call({"SET", "k", "v"}).str, "OK");
  EXPECT_EQ(denied(c), 4);

  RawClient d(port(1));
  EXPECT_EQ(d.call({"AUTH", "default", kPassword}).str, "OK");
  EXPECT_EQ(d.call({"PING"}).str, "PONG");
  RawClient h(port(1));
  auto hello =
      h.call({"HELLO", "3", "AUTH", "default", kPassword, "SETNAME", "me"});
  ASSERT_EQ(hello.type, Value::Type::kMap);
  EXPECT_EQ(h.call({"CLIENT", "GETNAME"}).str, "me");
  // RESET signs the connection out again.
  EXPECT_EQ(h.call({"RESET"}).str, "RESET");
  EXPECT_EQ(h.call({"PING"}).str, "NOAUTH Authentication required.");
  EXPECT_EQ(denied(d), 4);
}

TEST_F(AuthTest, TheClientLibrarySignsInOnEveryConnectionItOpens) {
  client::ClientOptions o;
  o.credentials.password = std::string(kPassword);
  o.max_connections_per_addr = 2;
  client::Client good(std::make_shared<client::RoundRobinRouter>(
                          std::vector<std::string>{port(0), port(1)}),
                      o);
  // Several requests at once: pipelined behind the AUTH of new connections.
  std::vector<std::future<Status>> puts;
  for (int i = 0; i < 20; ++i) {
    puts.push_back(std::async(std::launch::async, [&good, i] {
      return good.put("k" + std::to_string(i), "v");
    }));
  }
  for (auto& f : puts) EXPECT_TRUE(f.get().ok());
  // Reads go round-robin too: the other actor has the key within the
  // local sync deadline.
  auto until =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(500);
  Result<std::optional<std::string>> got = good.get("k7");
  while (got.ok() && !got->has_value() &&
         std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    got = good.get("k7");
  }
  ASSERT_TRUE(got.ok()) << got.status().to_string();
  EXPECT_EQ(got->value_or("<none>"), "v");

  o.credentials.user = "default";
  o.credentials.password = "wrong";
  client::Client bad(std::make_shared<client::RoundRobinRouter>(
                         std::vector<std::string>{port(0)}),
                     o);
  auto refused = bad.get("k7");
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), ErrorCode::kDenied);
  EXPECT_NE(refused.status().message().find("WRONGPASS"), std::string::npos)
      << refused.status().to_string();

  client::Client nobody(std::make_shared<client::RoundRobinRouter>(
      std::vector<std::string>{port(0)}));
  auto noauth = nobody.get("k7");
  ASSERT_FALSE(noauth.ok());
  EXPECT_NE(noauth.status().message().find("NOAUTH"), std::string::npos);
}

TEST_F(AuthTest, ASubscriberSignsInOrIsDenied) {
  client::Credentials who{.user = "", .password = std::string(kPassword)};
  auto sub = client::Subscriber::connect(port(0), std::chrono::seconds(2), who);
  ASSERT_TRUE(sub.ok()) << sub.status().to_string();
  ASSERT_TRUE((*sub)->subscribe("news").ok());
  RawClient p(port(1));
  ASSERT_EQ(p.call({"AUTH", kPassword}).str, "OK");
  std::vector<std::string> got;
  for (int i = 0; i < 400 && got.empty(); ++i) {
    p.call({"PUBLISH", "news", "hi"});
    auto m = (*sub)->read();
    ASSERT_TRUE(m.ok()) << m.status().to_string();
    for (auto& x : *m) got.push_back(x.message);
    if (got.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  ASSERT_FALSE(got.empty());
  EXPECT_EQ(got[0], "hi");

  who.password = "wrong";
  auto bad = client::Subscriber::connect(port(0), std::chrono::seconds(2), who);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), ErrorCode::kDenied);
}

TEST(PasswordFile, IsReadWithoutTrailingWhitespaceAndMustNotBeEmpty) {
  auto dir = std::filesystem::temp_directory_path() /
             ("cmud-pass-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto write = [&](const std::string& name, const std::string& text) {
    std::string path = (dir / name).string();
    FILE* f = std::fopen(path.c_str(), "wb");
    std::fwrite(text.data(), 1, text.size(), f);
    std::fclose(f);
    return path;
  };
  auto good = read_password_file(write("good", "pass word\n"));
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(*good, "pass word");
  EXPECT_EQ(read_password_file(write("empty", " \n")).status().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(read_password_file((dir / "missing").string()).status().code(),
            ErrorCode::kInvalidArgument);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace cmud::server

namespace cmud::server {
namespace {

// maxmemory and CONFIG SET: server A refuses client writes (its limit of 1
// byte is always exceeded), server B, joined to it, has no limit.
class MaxmemoryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerConfig c;
    c.port = 0;
    c.actors = 1;
    c.serialize_local_messages = true;
    c.maxmemory = 1;
    auto a = Server::start(c);
    ASSERT_TRUE(a.ok()) << a.status().to_string();
    a_ = std::move(a).value();
    c.maxmemory = 0;
    c.join = {a_->address()};
    auto b = Server::start(c);
    ASSERT_TRUE(b.ok()) << b.status().to_string();
    b_ = std::move(b).value();
  }

  std::unique_ptr<Server> a_, b_;
};

TEST_F(MaxmemoryTest, ClientWritesAreRefusedButReadsDeletesAndSyncGoOn) {
  RawClient a(a_->query_addrs()[0]);
  RawClient b(b_->query_addrs()[0]);
  const std::string oom =
      "OOM command not allowed when used memory > 'maxmemory'.";
  expect_errors(a, {{{"SET", "k", "v"}, oom},
                    {{"INCR", "n"}, oom},
                    {{"APPEND", "k", "v"}, oom},
                    {{"MSET", "x", "1", "y", "2"}, oom}});
  EXPECT_EQ(a.call({"GET", "k"}).type, Value::Type::kNull);
  // A write taken elsewhere arrives (remote sync deadline), and may be
  // deleted here: neither grows what this server's clients wrote.
  EXPECT_EQ(b.call({"SET", "from-b", "v"}).str, "OK");
  Value got;
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  do {
    got = a.call({"GET", "from-b"});
    if (got.type != Value::Type::kBulk) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  } while (got.type != Value::Type::kBulk &&
           std::chrono::steady_clock::now() < until);
  EXPECT_EQ(got.str, "v");
  EXPECT_EQ(a.call({"DEL", "from-b"}).integer, 1);
  // A transaction with a refused write aborts; so does EXEC of one queued
  // before the limit was reached.
  EXPECT_EQ(a.call({"MULTI"}).str, "OK");
  EXPECT_EQ(a.call({"SET", "t", "1"}).str, oom);
  EXPECT_EQ(a.call({"EXEC"}).str,
            "EXECABORT Transaction discarded because of previous errors.");
  EXPECT_EQ(a.call({"INFO", "memory"}).str.find("maxmemory:1\r\n") !=
                std::string::npos,
            true);
  // Lifted while running.
  EXPECT_EQ(a.call({"CONFIG", "SET", "maxmemory", "0"}).str, "OK");
  EXPECT_EQ(a.call({"SET", "k", "v"}).str, "OK");
  EXPECT_EQ(a.call({"MULTI"}).str, "OK");
  EXPECT_EQ(a.call({"SET", "t", "1"}).str, "QUEUED");
  RawClient admin(a_->query_addrs()[0]);  // CONFIG in MULTI is queued
  EXPECT_EQ(admin.call({"CONFIG", "SET", "maxmemory", "1"}).str, "OK");
  std::this_thread::sleep_for(std::chrono::milliseconds(120));  // re-read
  EXPECT_EQ(a.call({"EXEC"}).str,
            "EXECABORT Transaction discarded because of: " + oom);
}

TEST_F(MaxmemoryTest, ConfigSetChecksEveryValueBeforeSettingAny) {
  RawClient a(a_->query_addrs()[0]);
  auto get = [&](std::string_view name) {
    auto r = a.call({"CONFIG", "GET", name});
    return r.array.size() == 2 ? r.array[1].str : "<missing>";
  };
  EXPECT_EQ(
      a.call({"CONFIG", "SET", "maxmemory", "2mb", "maxclients", "77"}).str,
      "OK");
  EXPECT_EQ(get("maxmemory"), "2097152");
  EXPECT_EQ(get("maxclients"), "77");
  expect_errors(
      a,
      {{{"CONFIG", "SET", "maxmemory", "5gb", "maxclients", "0"},
        "ERR CONFIG SET failed (possibly related to argument 'maxclients') - "
        "argument must be between 1 and 1000000 inclusive"},
       {{"CONFIG", "SET", "maxmemory", "12zb"},
        "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - "
        "argument must be a memory value"},
       {{"CONFIG", "SET", "proto-max-bulk-len", "1gb"},
        "ERR CONFIG SET failed (possibly related to argument "
        "'proto-max-bulk-len') - argument must be a memory value between "
        "1mb and 60mb"},
       {{"CONFIG", "SET", "nosuch", "1"},
        "ERR Unknown option or number of arguments for CONFIG SET - "
        "'nosuch'"}});
  EXPECT_EQ(get("maxmemory"), "2097152");  // the failed SET set nothing
  EXPECT_EQ(a.call({"CONFIG", "SET", "client-output-buffer-limit",
                    "normal 64mb 0 0", "maxmemory-policy", "noeviction"})
                .str,
            "OK");
  EXPECT_EQ(get("client-output-buffer-limit"), "normal 67108864 0 0");
  // A parameter twice is refused; one fixed at start takes only its value,
  // so that every parameter CONFIG GET shows may be written back.
  expect_errors(
      a, {{{"CONFIG", "SET", "maxmemory", "1mb", "maxmemory", "2mb"},
           "ERR CONFIG SET failed (possibly related to argument 'maxmemory') "
           "- duplicate parameter"},
          {{"CONFIG", "SET", "appendonly", "yes"},
           "ERR CONFIG SET failed (possibly related to argument 'appendonly') "
           "- can't set immutable config (a flag of cmud-server)"}});
  Value all = a.call({"CONFIG", "GET", "*"});
  ASSERT_GE(all.array.size(), 20u);
  for (size_t i = 0; i + 1 < all.array.size(); i += 2) {
    EXPECT_EQ(
        a.call({"CONFIG", "SET", all.array[i].str, all.array[i + 1].str}).str,
        "OK")
        << all.array[i].str;
  }
  Value again = a.call({"CONFIG", "GET", "*"});
  ASSERT_EQ(again.array.size(), all.array.size());
  for (size_t i = 0; i < all.array.size(); ++i) {
    EXPECT_EQ(again.array[i].str, all.array[i].str);
  }

  // maxclients counts every open connection: a = 1, this one = 2.
  EXPECT_EQ(a.call({"CONFIG", "SET", "maxclients", "1"}).str, "OK");
  RawClient over(a_->query_addrs()[0]);
  EXPECT_EQ(over.reply().str, "ERR max number of clients reached");

  // A smaller query buffer limit holds for the next command.
  EXPECT_EQ(a.call({"CONFIG", "SET", "client-query-buffer-limit", "1mb"}).str,
            "OK");
  // The server closes at the limit, maybe before all of it is sent.
  asio::error_code ec;
  a.send_some("*2\r\n$3\r\nGET\r\n$3000000\r\n" + std::string(1'500'000, 'x'),
              ec);
  auto refused = a.reply();
  EXPECT_NE(refused.str.find("client-query-buffer-limit"), std::string::npos)
      << refused.str;

  RawClient c(b_->query_addrs()[0]);
  for (int i = 0; i < 3; ++i) c.call({"PING"});
  EXPECT_EQ(c.call({"CONFIG", "RESETSTAT"}).str, "OK");
  // Counted from zero again: RESETSTAT and this INFO (a session adds its
  // commands as it parses them, before INFO's answer is written).
  std::string stats = c.call({"INFO", "stats"}).str;
  EXPECT_NE(stats.find("total_commands_processed:2\r\n"), std::string::npos)
      << stats;
}

}  // namespace
}  // namespace cmud::server

namespace cmud::server {
namespace {

TEST_F(SessionTest, MonitorShowsEveryPortsCommandsButPasswordsAndAdmin) {
  RawClient mon(port(0));
  EXPECT_EQ(mon.call({"MONITOR"}).str, "OK");
  RawClient c(port(1));
  EXPECT_EQ(c.call({"SET", "k", "a \"b\"\n\x01"}).str, "OK");
  EXPECT_EQ(c.call({"AUTH", "alice", "secret"}).is_error(), true);
  EXPECT_EQ(c.call({"CONFIG", "GET", "maxclients"}).type, Value::Type::kArray);
  EXPECT_EQ(c.call({"GET", "k"}).str, "a \"b\"\n\x01");
  std::vector<std::string> lines;
  for (int i = 0; i < 3; ++i) {
    auto r = mon.reply();
    ASSERT_EQ(r.type, Value::Type::kSimple) << r.str;
    // "<seconds>.<microseconds> [0 <addr>] <args>"
    auto bracket = r.str.find("] ");
    ASSERT_NE(bracket, std::string::npos) << r.str;
    EXPECT_NE(r.str.find(" [0 127.0.0.1:"), std::string::npos) << r.str;
    lines.push_back(r.str.substr(bracket + 2));
  }
  EXPECT_EQ(lines,
            (std::vector<std::string>{"\"set\" \"k\" \"a \\\"b\\\"\\n\\x01\"",
                                      "\"auth\" \"(redacted)\" \"(redacted)\"",
                                      "\"get\" \"k\""}));
  // RESET ends it.
  EXPECT_EQ(mon.call({"RESET"}).str, "RESET");
  EXPECT_EQ(c.call({"PING"}).str, "PONG");
  EXPECT_EQ(mon.call({"PING"}).str, "PONG");
}

TEST_F(SessionTest, ClientReplyOffAndSkipSilenceRepliesOnIsAnswered) {
  RawClient c(port(0));
  std::string pipeline;
  for (const std::vector<std::string_view>& args :
       std::vector<std::vector<std::string_view>>{
           {"CLIENT", "REPLY", "OFF"},
           {"SET", "k", "1"},
           {"GET"},  // an error, silenced too
           {"INCR", "k"},
           {"CLIENT", "REPLY", "ON"},
           {"GET", "k"},
           {"CLIENT", "REPLY", "SKIP"},
           {"SET", "k", "3"},
           {"GET", "k"},
           {"CLIENT", "NO-EVICT", "on"},
       }) {
    resp::write_command(pipeline, args);
  }
  c.send(pipeline);
  EXPECT_EQ(c.reply().str, "OK");  // CLIENT REPLY ON
  EXPECT_EQ(c.reply().str, "2");   // GET: the silenced INCR ran
  EXPECT_EQ(c.reply().str, "3");   // GET after the skipped SET
  EXPECT_EQ(c.reply().str, "OK");  // NO-EVICT
  EXPECT_EQ(c.call({"CLIENT", "REPLY", "maybe"}).str, "ERR syntax error");
  // RESET turns replies back on.
  c.command({"CLIENT", "REPLY", "OFF"});
  EXPECT_EQ(c.call({"RESET"}).str, "RESET");
  EXPECT_EQ(c.call({"PING"}).str, "PONG");
}

TEST_F(SessionTest, SetbitAndGetbitAsRedis) {
  RawClient c(port(0));
  EXPECT_EQ(c.call({"GETBIT", "bits", "0"}).integer, 0);
  EXPECT_EQ(c.call({"SETBIT", "bits", "1", "1"}).integer, 0);
  EXPECT_EQ(c.call({"SETBIT", "bits", "1", "1"}).integer, 1);
  EXPECT_EQ(c.call({"GET", "bits"}).str, "@");  // 0100 0000
  EXPECT_EQ(c.call({"SETBIT", "bits", "23", "1"}).integer, 0);
  EXPECT_EQ(c.call({"GET", "bits"}).str, std::string("@\0\x01", 3));
  EXPECT_EQ(c.call({"SETBIT", "bits", "1", "0"}).integer, 1);
  EXPECT_EQ(c.call({"GETBIT", "bits", "1"}).integer, 0);
  EXPECT_EQ(c.call({"GETBIT", "bits", "23"}).integer, 1);
  EXPECT_EQ(c.call({"GETBIT", "bits", "4000000"}).integer, 0);
  // On an existing string, and keeping its TTL.
  EXPECT_EQ(c.call({"SET", "s", "a", "EX", "100"}).str, "OK");  // 0110 0001
  EXPECT_EQ(c.call({"SETBIT", "s", "6", "1"}).integer, 0);
  EXPECT_EQ(c.call({"GET", "s"}).str, "c");
  EXPECT_GT(c.call({"TTL", "s"}).integer, 0);
  expect_errors(c, {{{"SETBIT", "bits", "4294967296", "1"},
                     "ERR bit offset is not an integer or out of range"},
                    {{"SETBIT", "bits", "-1", "1"},
                     "ERR bit offset is not an integer or out of range"},
                    {{"SETBIT", "bits", "0", "-1"},
                     "ERR bit is not an integer or out of range"},
                    {{"SETBIT", "bits", "0", "2"},
                     "ERR bit is not an integer or out of range"},
                    // Past proto-max-bulk-len (32 MiB) bytes.
                    {{"SETBIT", "bits", "268435456", "1"},
                     "ERR bit offset is not an integer or out of range"},
                    {{"GETBIT", "bits", "x"},
                     "ERR bit offset is not an integer or out of range"}});
}

TEST_F(SessionTest, RedisSuiteDifferencesFixed) {
  RawClient c(port(0));
  // COPY's DB must be a number before it is out of range.
  EXPECT_EQ(c.call({"SET", "k", "v"}).str, "OK");
  EXPECT_EQ(c.call({"COPY", "k", "k2", "DB", "notanumber"}).str,
            "ERR value is not an integer or out of range");
  EXPECT_EQ(c.call({"COPY", "k", "k2", "DB", "1"}).str,
            "ERR DB index is out of range");
  // Absolute times past the clock's range are kept at its end; far in the
  // past, the key goes.
  EXPECT_EQ(c.call({"PEXPIREAT", "k", "9223372036854770000"}).integer, 1);
  EXPECT_GT(c.call({"TTL", "k"}).integer, 100LL * 365 * 24 * 3600);
  EXPECT_EQ(c.call({"PEXPIREAT", "k", "-9223372036854770000"}).integer, 1);
  EXPECT_EQ(c.call({"TTL", "k"}).integer, -2);
  EXPECT_EQ(c.call({"SET", "k", "v"}).str, "OK");
  expect_errors(c, {{{"EXPIRE", "k", "9223370399119966"},
                     "ERR invalid expire time in 'expire' command"},
                    {{"EXPIRE", "k", "9223372036854776"},
                     "ERR invalid expire time in 'expire' command"},
                    {{"EXPIRE", "k", "-9223372036854776"},
                     "ERR invalid expire time in 'expire' command"},
                    {{"PEXPIRE", "k", "9223372036854770000"},
                     "ERR invalid expire time in 'pexpire' command"},
                    {{"SET", "k", "v", "EX", "10000000000000000"},
                     "ERR invalid expire time in 'set' command"}});
  EXPECT_EQ(c.call({"TTL", "k"}).integer, -1);
  // A relative time past the clock's range (but no overflow) is accepted.
  EXPECT_EQ(c.call({"EXPIRE", "k", "900000000000"}).integer, 1);
  EXPECT_GT(c.call({"TTL", "k"}).integer, 100LL * 365 * 24 * 3600);
  // SAVE and MONITOR are refused inside MULTI, which then aborts.
  EXPECT_EQ(c.call({"MULTI"}).str, "OK");
  EXPECT_EQ(c.call({"SET", "m", "1"}).str, "QUEUED");
  EXPECT_EQ(c.call({"SAVE"}).str,
            "ERR Command not allowed inside a transaction");
  EXPECT_EQ(c.call({"EXEC"}).str,
            "EXECABORT Transaction discarded because of previous errors.");
  EXPECT_EQ(c.call({"EXISTS", "m"}).integer, 0);
  // CLIENT KILL's errors.
  expect_errors(c,
                {{{"CLIENT", "KILL"},
                  "ERR wrong number of arguments for 'client|kill' command"},
                 {{"CLIENT", "KILL", "TYPE", "wrong_type"},
                  "ERR Unknown client type 'wrong_type'"},
                 {{"CLIENT", "KILL", "USER", "wrong_user"},
                  "ERR No such user 'wrong_user'"},
                 {{"CLIENT", "KILL", "ID", "0"},
                  "ERR client-id should be greater than 0"},
                 {{"CLIENT", "KILL", "SKIPME", "maybe"}, "ERR syntax error"}});
  // No master or replica connections exist; normal ones are killed.
  EXPECT_EQ(c.call({"CLIENT", "KILL", "TYPE", "master"}).integer, 0);
  RawClient victim(port(1));
  ASSERT_EQ(victim.call({"PING"}).str, "PONG");
  EXPECT_EQ(c.call({"CLIENT", "KILL", "USER", "default"}).integer, 1);
  EXPECT_EQ(victim.reply().str, "<closed>");
  // INFO replication has Redis's fields.
  std::string info = c.call({"INFO", "replication"}).str;
  EXPECT_NE(info.find("\r\nmaster_repl_offset:0\r\n"), std::string::npos);
  EXPECT_NE(c.call({"INFO", "cpu"}).str.find("used_cpu_user_children:"),
            std::string::npos);
}

TEST_F(SessionTest, KeyspaceNotificationsAsRedis) {
  RawClient c(port(0));
  RawClient other(port(1));  // the other actor: its commands notify too
  RawClient sub(port(0));
  auto next = [&] {
    Value m = sub.reply();
    std::string line;
    for (const auto& part : m.array)
      line += (line.empty() ? "" : " ") + part.str;
    return line;
  };
  EXPECT_EQ(c.call({"CONFIG", "SET", "notify-keyspace-events", "KEA"}).str,
            "OK");
  Value flags = c.call({"CONFIG", "GET", "notify-keyspace-events"});
  ASSERT_EQ(flags.array.size(), 2u);
  EXPECT_EQ(flags.array[1].str, "AKE");
  ASSERT_EQ(sub.call({"PSUBSCRIBE", "*"}).array.size(), 3u);
  EXPECT_EQ(c.call({"SET", "foo", "bar"}).str, "OK");
  EXPECT_EQ(next(), "pmessage * __keyspace@0__:foo set");
  EXPECT_EQ(next(), "pmessage * __keyevent@0__:set foo");
  EXPECT_EQ(other.call({"EXPIRE", "foo", "100"}).integer, 1);
  EXPECT_EQ(next(), "pmessage * __keyspace@0__:foo expire");
  EXPECT_EQ(next(), "pmessage * __keyevent@0__:expire foo");
  // Generic events only, keyevent only.
  EXPECT_EQ(c.call({"CONFIG", "SET", "notify-keyspace-events", "gE"}).str,
            "OK");
  EXPECT_EQ(c.call({"INCR", "n"}).integer, 1);        // $: not sent
  EXPECT_EQ(c.call({"RENAME", "n", "m"}).str, "OK");  // g
  EXPECT_EQ(next(), "pmessage * __keyevent@0__:rename_from n");
  EXPECT_EQ(next(), "pmessage * __keyevent@0__:rename_to m");
  EXPECT_EQ(c.call({"DEL", "m", "nosuch"}).integer, 1);
  EXPECT_EQ(next(), "pmessage * __keyevent@0__:del m");
  // New keys: once, not on an overwrite.
  EXPECT_EQ(c.call({"CONFIG", "SET", "notify-keyspace-events", "En"}).str,
            "OK");
  EXPECT_EQ(c.call({"SET", "k1", "a"}).str, "OK");
  EXPECT_EQ(c.call({"SET", "k1", "b"}).str, "OK");
  EXPECT_EQ(c.call({"SET", "k2", "a"}).str, "OK");
  EXPECT_EQ(next(), "pmessage * __keyevent@0__:new k1");
  EXPECT_EQ(next(), "pmessage * __keyevent@0__:new k2");
  // Expired keys: once per server, though every actor frees its replica's.
  EXPECT_EQ(c.call({"CONFIG", "SET", "notify-keyspace-events", "Ex"}).str,
            "OK");
  EXPECT_EQ(c.call({"PSETEX", "short", "100", "1"}).str, "OK");
  EXPECT_EQ(next(), "pmessage * __keyevent@0__:expired short");
  EXPECT_EQ(c.call({"SET", "marker", "1"}).str, "OK");  // x only: not sent
  EXPECT_EQ(c.call({"PSETEX", "short2", "50", "1"}).str, "OK");
  EXPECT_EQ(next(), "pmessage * __keyevent@0__:expired short2");
  EXPECT_EQ(c.call({"CONFIG", "SET", "notify-keyspace-events", ""}).str, "OK");
  EXPECT_EQ(c.call({"SET", "quiet", "1"}).str, "OK");
  EXPECT_EQ(sub.call({"PING"}).array.at(0).str, "pong");  // nothing between
  EXPECT_EQ(c.call({"CONFIG", "SET", "notify-keyspace-events", "KQ"}).str,
            "ERR CONFIG SET failed (possibly related to argument "
            "'notify-keyspace-events') - Invalid event class character. Use "
            "'Ag$lshzxeKEtmdn'.");
}

TEST_F(SessionTest, SubscribeConfirmationsComeWithRepliesOff) {
  // They are pushes, not replies (as in Redis 7): a client waits for them.
  RawClient c(port(0));
  ASSERT_EQ(c.call({"HELLO", "3"}).type, Value::Type::kMap);
  c.command({"CLIENT", "REPLY", "OFF"});
  Value sub = c.call({"SUBSCRIBE", "ch"});
  EXPECT_EQ(sub.type, Value::Type::kPush);
  EXPECT_EQ(sub.array.at(0).str, "subscribe");
  c.command({"GET", "k"});  // a reply: silenced
  Value unsub = c.call({"UNSUBSCRIBE", "ch"});
  EXPECT_EQ(unsub.type, Value::Type::kPush);
  EXPECT_EQ(unsub.array.at(0).str, "unsubscribe");
  // Under RESP2 too (as arrays); errors and other replies stay silent.
  RawClient two(port(0));
  two.command({"CLIENT", "REPLY", "OFF"});
  two.command({"SUBSCRIBE"});  // arity: an error, silenced
  Value psub = two.call({"PSUBSCRIBE", "*"});
  EXPECT_EQ(psub.type, Value::Type::kArray);
  EXPECT_EQ(psub.array.at(0).str, "psubscribe");
  two.command({"PUNSUBSCRIBE"});
  EXPECT_EQ(two.reply().array.at(0).str, "punsubscribe");
  two.command({"GET", "k"});
  two.command({"CLIENT", "REPLY", "ON"});
  EXPECT_EQ(two.reply().str, "OK");
}

TEST_F(SessionTest, RandomkeyPicksALiveKeyOrNil) {
  RawClient c(port(0));
  EXPECT_EQ(c.call({"RANDOMKEY"}).type, Value::Type::kNull);
  EXPECT_EQ(c.call({"SET", "a", "1"}).str, "OK");
  EXPECT_EQ(c.call({"RANDOMKEY"}).str, "a");
  EXPECT_EQ(c.call({"SET", "b", "1"}).str, "OK");
  EXPECT_EQ(c.call({"DEL", "a"}).integer, 1);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(c.call({"RANDOMKEY"}).str, "b");
  EXPECT_EQ(c.call({"RANDOMKEY", "x"}).str,
            "ERR wrong number of arguments for 'randomkey' command");
}

TEST_F(SessionTest, StoppingTheServerEndsItsClientsConnections) {
  RawClient c(port(0));
  RawClient d(port(1));
  ASSERT_EQ(c.call({"PING"}).str, "PONG");
  ASSERT_EQ(d.call({"SUBSCRIBE", "ch"}).type, Value::Type::kArray);
  auto before = std::chrono::steady_clock::now();
  server_->stop();
  // At once, not when the server object goes (or after RawClient's 5 s).
  EXPECT_EQ(c.reply().str, "<closed>");
  EXPECT_EQ(d.reply().str, "<closed>");
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::seconds(2));
}

}  // namespace
}  // namespace cmud::server
