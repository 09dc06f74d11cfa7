// Command statistics through the query ports: INFO commandstats, errorstats
// and latencystats, SLOWLOG, LATENCY, CONFIG RESETSTAT, and the RESP3
// shapes of the introspection commands.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "cmud/server/server.h"
#include "raw_client.h"

namespace cmud::server {
namespace {

using resp::Value;
using testing::RawClient;

std::unique_ptr<Server> start() {
  ServerConfig c;
  c.port = 0;
  c.actors = 2;
  c.serialize_local_messages = true;
  auto s = Server::start(c);
  EXPECT_TRUE(s.ok()) << s.status().to_string();
  return s.ok() ? std::move(s).value() : nullptr;
}

// The fields of one INFO line ("cmdstat_set:calls=1,usec=2,..."), or an
// empty map when INFO has no such line.
std::map<std::string, std::string> info_line(RawClient& c,
                                             std::string_view section,
                                             std::string_view name) {
  std::string text = c.call({"INFO", section}).str;
  std::map<std::string, std::string> fields;
  std::string head = "\r\n" + std::string(name) + ":";
  size_t at = text.find(head);
  if (at == std::string::npos) return fields;
  at += head.size();
  std::string line = text.substr(at, text.find("\r\n", at) - at);
  for (size_t i = 0; i < line.size();) {
    size_t comma = std::min(line.find(',', i), line.size());
    std::string pair = line.substr(i, comma - i);
    size_t eq = pair.find('=');
    fields[pair.substr(0, eq)] =
        eq == std::string::npos ? "" : pair.substr(eq + 1);
    i = comma + 1;
  }
  return fields;
}

uint64_t field(const std::map<std::string, std::string>& f,
               const std::string& k) {
  auto it = f.find(k);
  return it == f.end() ? 0 : std::stoull(it->second);
}

std::vector<std::string> strings(const Value& v) {
  std::vector<std::string> out;
  for (const auto& e : v.array) out.push_back(e.str);
  return out;
}

class StatsServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = start();
    ASSERT_NE(server_, nullptr);
  }
  const std::string& port(size_t i) { return server_->query_addrs()[i]; }
  std::unique_ptr<Server> server_;
};

TEST_F(StatsServerTest, CommandstatsCountCallsRejectionsAndFailures) {
  RawClient c(port(0));
  RawClient other(port(1));  // the other actor's shard
  for (int i = 0; i < 3; ++i) EXPECT_EQ(c.call({"SET", "k", "v"}).str, "OK");
  EXPECT_EQ(other.call({"GET", "k"}).type, Value::Type::kBulk);
  EXPECT_TRUE(c.call({"GET"}).is_error());            // arity: rejected
  EXPECT_TRUE(c.call({"INCR", "k"}).is_error());      // not a number: failed
  EXPECT_TRUE(c.call({"NOSUCHCOMMAND"}).is_error());  // no command's
  EXPECT_EQ(c.call({"CLIENT", "ID"}).type, Value::Type::kInteger);

  auto set = info_line(c, "commandstats", "cmdstat_set");
  EXPECT_EQ(field(set, "calls"), 3u);
  EXPECT_EQ(field(set, "rejected_calls"), 0u);
  EXPECT_EQ(field(set, "failed_calls"), 0u);
  EXPECT_TRUE(set.count("usec") && set.count("usec_per_call"));
  auto get = info_line(c, "commandstats", "cmdstat_get");
  EXPECT_EQ(field(get, "calls"), 1u);
  EXPECT_EQ(field(get, "rejected_calls"), 1u);
  auto incr = info_line(c, "commandstats", "cmdstat_incr");
  EXPECT_EQ(field(incr, "calls"), 1u);
  EXPECT_EQ(field(incr, "failed_calls"), 1u);
  EXPECT_EQ(field(info_line(c, "commandstats", "cmdstat_client|id"), "calls"),
            1u);
  // Only commands that ran or were refused are listed.
  EXPECT_TRUE(info_line(c, "commandstats", "cmdstat_lcs").empty());

  auto err = info_line(c, "errorstats", "errorstat_ERR");
  EXPECT_EQ(field(err, "count"), 3u);  // arity, INCR, unknown command
  std::string stats = c.call({"INFO", "stats"}).str;
  EXPECT_NE(stats.find("total_error_replies:3\r\n"), std::string::npos);
  // commandstats is not a default section; errorstats is.
  std::string all = c.call({"INFO"}).str;
  EXPECT_EQ(all.find("# Commandstats"), std::string::npos);
  EXPECT_NE(all.find("# Errorstats"), std::string::npos);
  EXPECT_NE(c.call({"INFO", "everything"}).str.find("# Commandstats"),
            std::string::npos);

  EXPECT_EQ(c.call({"CONFIG", "RESETSTAT"}).str, "OK");
  EXPECT_TRUE(info_line(c, "commandstats", "cmdstat_set").empty());
  EXPECT_TRUE(info_line(c, "errorstats", "errorstat_ERR").empty());
  EXPECT_NE(c.call({"INFO", "stats"}).str.find("total_error_replies:0\r\n"),
            std::string::npos);
}

TEST_F(StatsServerTest, ErrorCodesAndRefusalsAreCountedAsRedisDoes) {
  RawClient c(port(0));
  ASSERT_EQ(c.call({"ACL", "SETUSER", "limited", "on", "nopass", "~*", "+@all",
                    "-set"})
                .str,
            "OK");
  RawClient l(port(0));
  ASSERT_EQ(l.call({"AUTH", "limited", "x"}).str, "OK");
  EXPECT_TRUE(l.call({"SET", "a", "b"}).is_error());         // NOPERM: rejected
  EXPECT_TRUE(c.call({"AUTH", "nosuch", "pw"}).is_error());  // WRONGPASS
  EXPECT_EQ(field(info_line(c, "errorstats", "errorstat_NOPERM"), "count"), 1u);
  EXPECT_EQ(field(info_line(c, "errorstats", "errorstat_WRONGPASS"), "count"),
            1u);
  auto set = info_line(c, "commandstats", "cmdstat_set");
  EXPECT_EQ(field(set, "calls"), 0u);
  EXPECT_EQ(field(set, "rejected_calls"), 1u);
  EXPECT_EQ(field(info_line(c, "commandstats", "cmdstat_auth"), "failed_calls"),
            1u);
}

TEST_F(StatsServerTest, ATransactionCountsEachCommandItRan) {
  RawClient c(port(0));
  EXPECT_EQ(c.call({"MULTI"}).str, "OK");
  EXPECT_EQ(c.call({"SET", "t", "1"}).str, "QUEUED");
  EXPECT_EQ(c.call({"INCR", "t"}).str, "QUEUED");
  EXPECT_EQ(c.call({"GET", "t"}).str, "QUEUED");
  EXPECT_EQ(c.call({"EXEC"}).array.size(), 3u);
  EXPECT_EQ(field(info_line(c, "commandstats", "cmdstat_set"), "calls"), 1u);
  EXPECT_EQ(field(info_line(c, "commandstats", "cmdstat_incr"), "calls"), 1u);
  EXPECT_EQ(field(info_line(c, "commandstats", "cmdstat_exec"), "calls"), 1u);
  EXPECT_EQ(field(info_line(c, "commandstats", "cmdstat_multi"), "calls"), 1u);

  // A transaction a changed key aborts runs nothing.
  RawClient other(port(1));
  EXPECT_EQ(c.call({"WATCH", "t"}).str, "OK");
  EXPECT_EQ(other.call({"SET", "t", "changed"}).str, "OK");
  // The other actor's write reaches this one by sync.
  for (int i = 0; i < 100 && c.call({"GET", "t"}).str != "changed"; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_EQ(c.call({"MULTI"}).str, "OK");
  EXPECT_EQ(c.call({"INCR", "t"}).str, "QUEUED");
  EXPECT_EQ(c.call({"EXEC"}).type, Value::Type::kNull);
  EXPECT_EQ(field(info_line(c, "commandstats", "cmdstat_incr"), "calls"), 1u);
  EXPECT_EQ(field(info_line(c, "commandstats", "cmdstat_exec"), "calls"), 2u);
}

TEST_F(StatsServerTest, SlowlogKeepsEachCommandsArgumentsAddressAndName) {
  RawClient c(port(0));
  EXPECT_EQ(c.call({"CLIENT", "SETNAME", "tester"}).str, "OK");
  EXPECT_EQ(c.call({"CONFIG", "SET", "slowlog-log-slower-than", "0"}).str,
            "OK");
  EXPECT_EQ(c.call({"SLOWLOG", "RESET"}).str, "OK");
  // A pipeline: each deferred command's arguments are its own.
  std::string batch;
  resp::write_command(batch, {"SET", "a", "1"});
  resp::write_command(batch, {"GET", "a"});
  resp::write_command(batch, {"MGET", "a", "b", "c"});
  resp::write_command(batch, {"PING"});
  c.send(batch);
  for (int i = 0; i < 4; ++i) EXPECT_FALSE(c.reply().is_error());
  EXPECT_EQ(c.call({"AUTH", "nosuch", "secret"}).type, Value::Type::kError);
  EXPECT_EQ(c.call({"MULTI"}).str, "OK");
  EXPECT_EQ(c.call({"SET", "in", "tx"}).str, "QUEUED");
  EXPECT_EQ(c.call({"EXEC"}).array.size(), 1u);

  Value log = c.call({"SLOWLOG", "GET", "-1"});
  ASSERT_EQ(log.type, Value::Type::kArray);
  std::vector<std::vector<std::string>> args;
  for (const auto& e : log.array) {
    ASSERT_EQ(e.array.size(), 6u);
    EXPECT_EQ(e.array[4].str.rfind("127.0.0.1:", 0), 0u);
    EXPECT_EQ(e.array[5].str, "tester");
    args.push_back(strings(e.array[3]));
  }
  // Newest first, in the order they finished: PING, answered by the front
  // end, before the pipeline's store ops came back. SLOWLOG RESET is the
  // oldest; EXEC itself is not logged.
  std::vector<std::vector<std::string>> want{
      {"SET", "in", "tx"},
      {"MULTI"},
      {"AUTH", "(redacted)", "(redacted)"},
      {"MGET", "a", "b", "c"},
      {"GET", "a"},
      {"SET", "a", "1"},
      {"PING"},
      {"SLOWLOG", "RESET"}};
  EXPECT_EQ(args, want);
  // Ids grow, newest first.
  EXPECT_GT(log.array[0].array[0].integer, log.array[1].array[0].integer);
  EXPECT_EQ(c.call({"SLOWLOG", "LEN"}).integer, 9);  // and SLOWLOG GET
  EXPECT_EQ(c.call({"SLOWLOG", "GET"}).array.size(), 10u);
  EXPECT_EQ(c.call({"SLOWLOG", "GET", "2"}).array.size(), 2u);
  EXPECT_EQ(c.call({"SLOWLOG", "GET", "-2"}).str,
            "ERR count should be greater than or equal to -1");

  EXPECT_EQ(c.call({"CONFIG", "SET", "slowlog-max-len", "3"}).str, "OK");
  EXPECT_EQ(c.call({"PING"}).str, "PONG");
  EXPECT_EQ(c.call({"SLOWLOG", "LEN"}).integer, 3);
  EXPECT_EQ(c.call({"CONFIG", "SET", "slowlog-log-slower-than", "-1"}).str,
            "OK");
  EXPECT_EQ(c.call({"SLOWLOG", "RESET"}).str, "OK");
  EXPECT_EQ(c.call({"PING"}).str, "PONG");
  EXPECT_EQ(c.call({"SLOWLOG", "LEN"}).integer, 0);
  EXPECT_EQ(c.call({"CONFIG", "SET", "slowlog-log-slower-than", "-2"}).str,
            "ERR CONFIG SET failed (possibly related to argument "
            "'slowlog-log-slower-than') - argument must be between -1 and "
            "9223372036854775807 inclusive");
  EXPECT_EQ(strings(c.call({"CONFIG", "GET", "slowlog-*"})),
            (std::vector<std::string>{"slowlog-log-slower-than", "-1",
                                      "slowlog-max-len", "3"}));
}

// Keys enough that KEYS * takes over a millisecond on any machine.
void fill(RawClient& c, int keys) {
  std::vector<std::string> owned;
  for (int i = 0; i < keys; ++i) owned.push_back("key:" + std::to_string(i));
  std::vector<std::string_view> mset{"MSET"};
  for (const auto& k : owned) {
    mset.push_back(k);
    mset.push_back("v");
  }
  ASSERT_EQ(c.call(mset).str, "OK");
}

TEST_F(StatsServerTest, LatencyMonitorRecordsSlowCommandsAsEvents) {
  RawClient c(port(0));
  fill(c, 200'000);
  EXPECT_EQ(c.call({"LATENCY", "LATEST"}).array.size(), 0u);  // off
  EXPECT_NE(c.call({"LATENCY", "DOCTOR"}).str.find("disabled"),
            std::string::npos);
  EXPECT_EQ(c.call({"CONFIG", "SET", "latency-monitor-threshold", "1"}).str,
            "OK");
  EXPECT_EQ(c.call({"KEYS", "*"}).array.size(), 200'000u);
  Value latest = c.call({"LATENCY", "LATEST"});
  ASSERT_EQ(latest.array.size(), 1u);
  EXPECT_EQ(latest.array[0].array[0].str, "command");
  EXPECT_GE(latest.array[0].array[2].integer, 1);
  EXPECT_EQ(latest.array[0].array[3].integer, latest.array[0].array[2].integer);
  Value history = c.call({"LATENCY", "HISTORY", "command"});
  ASSERT_EQ(history.array.size(), 1u);
  EXPECT_EQ(history.array[0].array[0].integer,
            latest.array[0].array[1].integer);
  EXPECT_EQ(c.call({"LATENCY", "HISTORY", "nosuch"}).array.size(), 0u);
  EXPECT_NE(c.call({"LATENCY", "DOCTOR"}).str.find("1. command: 1 latency"),
            std::string::npos);
  EXPECT_NE(c.call({"LATENCY", "GRAPH", "command"}).str.find("command - high"),
            std::string::npos);
  EXPECT_TRUE(c.call({"LATENCY", "GRAPH", "nosuch"}).is_error());
  // KEYS's time in commandstats is at least the event's.
  auto keys = info_line(c, "commandstats", "cmdstat_keys");
  EXPECT_GE(field(keys, "usec"), 1000u);
  EXPECT_EQ(c.call({"LATENCY", "RESET", "nosuch"}).integer, 0);
  EXPECT_EQ(c.call({"LATENCY", "RESET"}).integer, 1);
  EXPECT_EQ(c.call({"LATENCY", "LATEST"}).array.size(), 0u);
  EXPECT_TRUE(c.call({"LATENCY", "NOSUCH"}).is_error());
}

TEST_F(StatsServerTest, LatencyHistogramsAndPercentiles) {
  RawClient c(port(0));
  for (int i = 0; i < 100; ++i) ASSERT_EQ(c.call({"SET", "k", "v"}).str, "OK");
  EXPECT_EQ(c.call({"CLIENT", "ID"}).type, Value::Type::kInteger);
  Value h = c.call({"LATENCY", "HISTOGRAM", "set", "client"});
  ASSERT_EQ(h.array.size(), 4u);  // RESP2: name, value, name, value
  EXPECT_EQ(h.array[0].str, "set");
  EXPECT_EQ(h.array[2].str, "client|id");
  const Value& set = h.array[1];
  ASSERT_EQ(set.array.size(), 4u);
  EXPECT_EQ(set.array[0].str, "calls");
  EXPECT_EQ(set.array[1].integer, 100);
  const Value& buckets = set.array[3];
  ASSERT_GE(buckets.array.size(), 2u);
  // Bounds are powers of two, counts cumulative up to every call.
  int64_t last_bound = 0, last_count = 0;
  for (size_t i = 0; i + 1 < buckets.array.size(); i += 2) {
    int64_t bound = buckets.array[i].integer;
    EXPECT_EQ(bound & (bound - 1), 0) << bound;
    EXPECT_GT(bound, last_bound);
    EXPECT_GT(buckets.array[i + 1].integer, last_count);
    last_bound = bound;
    last_count = buckets.array[i + 1].integer;
  }
  EXPECT_EQ(last_count, 100);

  auto p = info_line(c, "latencystats", "latency_percentiles_usec_set");
  ASSERT_EQ(p.size(), 3u);
  EXPECT_TRUE(p.count("p50") && p.count("p99") && p.count("p99.9"));
  EXPECT_LE(std::stod(p["p50"]), std::stod(p["p99"]));
  EXPECT_EQ(
      c.call({"CONFIG", "SET", "latency-tracking-info-percentiles", "0 99.99"})
          .str,
      "OK");
  p = info_line(c, "latencystats", "latency_percentiles_usec_set");
  EXPECT_TRUE(p.count("p0") && p.count("p99.99")) << p.size();
  EXPECT_EQ(strings(c.call({"CONFIG", "GET", "latency-tracking*"})),
            (std::vector<std::string>{"latency-tracking", "yes",
                                      "latency-tracking-info-percentiles",
                                      "0 99.99"}));
  EXPECT_TRUE(
      c.call({"CONFIG", "SET", "latency-tracking-info-percentiles", "50 101"})
          .is_error());
  // Tracking off: calls are counted, histograms not.
  EXPECT_EQ(c.call({"CONFIG", "SET", "latency-tracking", "no"}).str, "OK");
  EXPECT_EQ(c.call({"GET", "k"}).str, "v");
  EXPECT_EQ(field(info_line(c, "commandstats", "cmdstat_get"), "calls"), 1u);
  EXPECT_TRUE(
      info_line(c, "latencystats", "latency_percentiles_usec_get").empty());
}

TEST_F(StatsServerTest, Resp3RepliesTakeTheirShapes) {
  RawClient c(port(0));
  ASSERT_EQ(c.call({"HELLO", "3"}).type, Value::Type::kMap);
  Value info = c.call({"INFO", "server"});
  EXPECT_EQ(info.type, Value::Type::kBulk);
  EXPECT_EQ(info.str.rfind("txt:# Server\r\n", 0), 0u);  // verbatim
  EXPECT_EQ(c.call({"CLIENT", "INFO"}).str.rfind("txt:id=", 0), 0u);
  EXPECT_EQ(c.call({"CLIENT", "LIST"}).str.rfind("txt:id=", 0), 0u);
  Value config = c.call({"CONFIG", "GET", "maxclients"});
  EXPECT_EQ(config.type, Value::Type::kMap);
  EXPECT_EQ(strings(config), (std::vector<std::string>{"maxclients", "10000"}));
  EXPECT_EQ(c.call({"LATENCY", "HISTOGRAM"}).type, Value::Type::kMap);
  // COMMAND INFO: flags and categories are sets; key specs are maps.
  Value get = c.call({"COMMAND", "INFO", "get"}).array.at(0);
  ASSERT_EQ(get.array.size(), 10u);
  EXPECT_EQ(get.array[2].type, Value::Type::kSet);
  EXPECT_EQ(get.array[6].type, Value::Type::kSet);
  ASSERT_EQ(get.array[8].array.size(), 1u);
  const Value& spec = get.array[8].array[0];
  EXPECT_EQ(spec.type, Value::Type::kMap);
  EXPECT_EQ(spec.array.at(0).str, "flags");
  EXPECT_EQ(strings(spec.array.at(1)),
            (std::vector<std::string>{"RO", "ACCESS"}));
  // begin_search index 1; find_keys lastkey 0, keystep 1.
  EXPECT_EQ(spec.array.at(3).array.at(3).array.at(1).integer, 1);
  EXPECT_EQ(spec.array.at(5).array.at(3).array.at(1).integer, 0);
  // RENAME reads and writes its first key, writes its second.
  Value rename = c.call({"COMMAND", "INFO", "rename"}).array.at(0);
  ASSERT_EQ(rename.array[8].array.size(), 2u);
  EXPECT_EQ(strings(rename.array[8].array[1].array.at(1)),
            (std::vector<std::string>{"OW", "UPDATE"}));
  // MSET: keys every other argument to the end.
  Value mset = c.call({"COMMAND", "INFO", "mset"}).array.at(0);
  const Value& range = mset.array[8].array.at(0).array.at(5).array.at(3);
  EXPECT_EQ(range.array.at(1).integer, -1);
  EXPECT_EQ(range.array.at(3).integer, 2);
  // RESP2 keeps the flat shapes.
  RawClient two(port(0));
  EXPECT_EQ(two.call({"INFO", "server"}).str.rfind("# Server\r\n", 0), 0u);
  EXPECT_EQ(two.call({"CONFIG", "GET", "maxclients"}).type,
            Value::Type::kArray);
}

}  // namespace
}  // namespace cmud::server
