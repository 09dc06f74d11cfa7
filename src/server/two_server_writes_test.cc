// Every write command of the table, run by two writers at once on two
// servers against the same keys: whatever the command's replicated meaning
// (last writer wins, a counter that adds up, a clear), every port of both
// servers must end up showing the same keys, values and expiry times.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cmud/server/server.h"
#include "commands.h"
#include "raw_client.h"
#include "test_server.h"

namespace cmud::server {
namespace {

using namespace std::chrono_literals;
using resp::Value;
using testing::RawClient;

// One iteration of a writer: commands whose "K" and "K2" stand for the
// case's two keys, "W" for the writer (a or b) and "I" for the iteration.
struct Case {
  std::string command;  // the table's name it covers
  std::vector<std::vector<std::string>> steps;
};

std::vector<Case> cases() {
  const std::string future_s =
      std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count() +
                     3600);
  const std::string future_ms = future_s + "000";
  return {
      {"set", {{"SET", "K", "vWI"}}},
      {"setex", {{"SETEX", "K", "100", "vWI"}}},
      {"psetex", {{"PSETEX", "K", "100000", "vWI"}}},
      {"getex", {{"SET", "K", "vWI"}, {"GETEX", "K", "EX", "100"}}},
      {"expire", {{"SET", "K", "vWI"}, {"EXPIRE", "K", "100"}}},
      {"pexpire", {{"PEXPIRE", "K", "100000"}, {"SET", "K", "vWI"}}},
      {"expireat", {{"SET", "K", "vWI"}, {"EXPIREAT", "K", future_s}}},
      {"pexpireat", {{"PEXPIREAT", "K", future_ms}, {"SET", "K", "vWI"}}},
      {"persist", {{"SET", "K", "vWI", "EX", "100"}, {"PERSIST", "K"}}},
      {"incr", {{"INCR", "K"}}},
      {"decr", {{"DECR", "K"}}},
      {"incrby", {{"INCRBY", "K", "3"}}},
      {"decrby", {{"DECRBY", "K", "2"}}},
      {"incrbyfloat", {{"INCRBYFLOAT", "K", "0.5"}}},
      {"setbit", {{"SETBIT", "K", "I", "1"}}},
      {"setnx", {{"SETNX", "K", "vWI"}, {"DEL", "K"}, {"SETNX", "K", "vW"}}},
      {"getset", {{"GETSET", "K", "vWI"}}},
      {"getdel", {{"SET", "K", "vWI"}, {"GETDEL", "K"}, {"SET", "K2", "W"}}},
      {"mset", {{"MSET", "K", "vWI", "K2", "wWI"}}},
      {"msetnx", {{"MSETNX", "K", "vWI", "K2", "wWI"}, {"DEL", "K"}}},
      {"append", {{"APPEND", "K", "W"}}},
      {"setrange", {{"SETRANGE", "K", "I", "W"}}},
      {"rename", {{"SET", "K", "vWI"}, {"RENAME", "K", "K2"}}},
      {"renamenx", {{"SET", "K", "vWI"}, {"RENAMENX", "K", "K2"}}},
      {"copy", {{"SET", "K", "vWI"}, {"COPY", "K", "K2", "REPLACE"}}},
      {"unlink", {{"SET", "K", "vWI"}, {"UNLINK", "K"}, {"SET", "K2", "W"}}},
      {"del", {{"SET", "K", "vWI"}, {"DEL", "K", "K2"}, {"SET", "K2", "I"}}},
      {"flushall", {{"SET", "K", "vWI"}, {"FLUSHALL"}, {"SET", "K2", "W"}}},
      {"flushdb",
       {{"SET", "K", "vWI"}, {"FLUSHDB", "ASYNC"}, {"SET", "K", "I"}}},
  };
}

std::string fill(const std::string& arg, const std::string& key,
                 const std::string& writer, int i) {
  if (arg == "K") return key;
  if (arg == "K2") return key + ":2";
  std::string out;
  for (char c : arg) {
    if (c == 'W') {
      out += writer;
    } else if (c == 'I') {
      out += std::to_string(i);
    } else {
      out += c;
    }
  }
  return out;
}

// What one port shows of a case's keys: value (or nil) and expiry time.
std::string state(RawClient& c, const std::string& key) {
  std::string out;
  for (const std::string& k : {key, key + ":2"}) {
    Value v = c.call({"GET", k});
    out += v.type == Value::Type::kNull ? "nil" : "'" + v.str + "'";
    out += "@" + std::to_string(c.call({"PEXPIRETIME", k}).integer) + " ";
  }
  return out;
}

TEST(TwoServerWrites, EveryWriteCommandAtOnceOnTwoServersConverges) {
  // Every command the table flags as a write has a case.
  std::set<std::string> covered;
  for (const Case& c : cases()) covered.insert(c.command);
  for (const Command& c : command_table()) {
    if ((c.flags & kFlagWrite) != 0) {
      EXPECT_TRUE(covered.contains(std::string(c.name)))
          << "no two-server case for write command " << c.name;
    }
  }

  auto a = testing::start_joined();
  ASSERT_TRUE(a.ok()) << a.status().to_string();
  auto b = testing::start_joined({(*a)->description()});
  ASSERT_TRUE(b.ok()) << b.status().to_string();
  const std::vector<std::string> ports = {
      (*a)->query_addrs()[0], (*a)->query_addrs()[1], (*b)->query_addrs()[0],
      (*b)->query_addrs()[1]};

  constexpr int kIterations = 30;
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.command);
    const std::string key = "two:" + c.command;
    std::vector<std::thread> writers;
    std::vector<std::string> errors(2);
    for (int w = 0; w < 2; ++w) {
      writers.emplace_back([&, w] {
        // Writer a on server A's first port, b on server B's second.
        RawClient client(ports[w == 0 ? 0 : 3]);
        const std::string name = w == 0 ? "a" : "b";
        for (int i = 0; i < kIterations; ++i) {
          for (const auto& step : c.steps) {
            std::vector<std::string> owned;
            for (const auto& arg : step)
              owned.push_back(fill(arg, key, name, i));
            std::vector<std::string_view> args(owned.begin(), owned.end());
            Value r = client.call(args);
            // Refusals that are the command's meaning (RENAME of a key the
            // other writer just moved) are fine; the connection must work.
            if (r.is_error() &&
                (r.str.starts_with("<") || r.str.starts_with("ERR internal"))) {
              errors[w] = owned[0] + ": " + r.str;
            }
          }
        }
      });
    }
    for (auto& t : writers) t.join();
    for (const auto& e : errors) EXPECT_EQ(e, "");
    // Every port shows the same state: sync and repair bring it within a
    // few seconds on loopback (bounded here well past that, for slow runs).
    std::vector<std::unique_ptr<RawClient>> readers;
    for (const auto& p : ports)
      readers.push_back(std::make_unique<RawClient>(p));
    std::vector<std::string> seen(ports.size());
    auto agree = [&] {
      for (size_t i = 0; i < readers.size(); ++i) {
        seen[i] = state(*readers[i], key);
      }
      return std::count(seen.begin(), seen.end(), seen[0]) ==
             static_cast<ptrdiff_t>(seen.size());
    };
    bool converged = agree();
    for (int i = 0; i < 200 && !converged; ++i) {
      std::this_thread::sleep_for(50ms);
      converged = agree();
    }
    EXPECT_TRUE(converged) << seen[0] << "| " << seen[1] << "| " << seen[2]
                           << "| " << seen[3];
  }
}

}  // namespace
}  // namespace cmud::server
