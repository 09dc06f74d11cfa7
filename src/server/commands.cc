#include "commands.h"

#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <chrono>
#include <string>

#include "cmud/common/ascii.h"
#include "cmud/server/server.h"

namespace cmud::server {
namespace {

using resp::ReplyWriter;

std::optional<uint64_t> parse_u64(std::string_view s) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) {
    return std::nullopt;
  }
  return v;
}

const auto kStart = std::chrono::steady_clock::now();

// --- Store commands: build an op, format its result. ---

void fmt_bulk_or_null(Session&, const std::string&, const ResultView& r,
                      ReplyWriter& w) {
  if (r.found) {
    w.bulk(r.value);
  } else {
    w.null();
  }
}
void fmt_ok(Session&, const std::string&, const ResultView&, ReplyWriter& w) {
  w.simple("OK");
}
void fmt_integer(Session&, const std::string&, const ResultView& r,
                 ReplyWriter& w) {
  w.integer(r.n);
}
void fmt_list(Session&, const std::string&, const ResultView& r,
              ReplyWriter& w) {
  w.array(r.list.size());
  for (const auto& v : r.list) {
    if (v) {
      w.bulk(*v);
    } else {
      w.null();
    }
  }
}
void fmt_scan(Session& s, const std::string&, const ResultView& r,
              ReplyWriter& w) {
  w.array(2);
  w.bulk(r.found ? std::to_string(s.save_cursor(std::string(r.value))) : "0");
  fmt_list(s, {}, r, w);
}

OpView key_op(OpKind kind, std::string_view key) {
  OpView op;
  op.kind = kind;
  op.key = key;
  return op;
}
OpView keys_op(OpKind kind, Args keys) {
  OpView op;
  op.kind = kind;
  op.keys.assign(keys.begin(), keys.end());
  return op;
}

void cmd_get(Session& s, Args a, ReplyWriter&) {
  s.defer(key_op(OpKind::kGet, a[1]), fmt_bulk_or_null);
}

void cmd_set(Session& s, Args a, ReplyWriter& w) {
  if (a.size() > 3) {
    w.error("ERR SET options are not supported (got '" +
            std::string(a[3].substr(0, 32)) + "'); use SET key value");
    return;
  }
  OpView op = key_op(OpKind::kSet, a[1]);
  op.arg = a[2];
  s.defer(op, fmt_ok);
}

void cmd_del(Session& s, Args a, ReplyWriter&) {
  s.defer(keys_op(OpKind::kDel, a.subspan(1)), fmt_integer);
}
void cmd_exists(Session& s, Args a, ReplyWriter&) {
  s.defer(keys_op(OpKind::kExists, a.subspan(1)), fmt_integer);
}
void cmd_mget(Session& s, Args a, ReplyWriter&) {
  s.defer(keys_op(OpKind::kMGet, a.subspan(1)), fmt_list);
}
void cmd_list(Session& s, Args a, ReplyWriter&) {
  s.defer(key_op(OpKind::kList, a.size() > 1 ? a[1] : ""), fmt_list);
}
void cmd_keys(Session& s, Args a, ReplyWriter&) {
  OpView op;
  op.kind = OpKind::kKeys;
  op.arg = a[1];
  s.defer(op, fmt_list);
}
void cmd_dbsize(Session& s, Args, ReplyWriter&) {
  s.defer(key_op(OpKind::kDbSize, ""), fmt_integer);
}

void cmd_scan(Session& s, Args a, ReplyWriter& w) {
  auto cursor = parse_u64(a[1]);
  if (!cursor) {
    w.error("ERR invalid cursor");
    return;
  }
  OpView op;
  op.kind = OpKind::kScan;
  op.arg = "*";
  op.count = 10;
  for (size_t i = 2; i < a.size(); i += 2) {
    if (i + 1 >= a.size()) {
      w.error("ERR syntax error");
      return;
    }
    if (iequals(a[i], "match")) {
      op.arg = a[i + 1];
    } else if (iequals(a[i], "count")) {
      auto n = parse_u64(a[i + 1]);
      if (!n || *n == 0) {
        w.error("ERR value is not an integer or out of range");
        return;
      }
      op.count = std::min<uint64_t>(*n, 100000);
    } else {
      w.error("ERR syntax error (SCAN takes MATCH and COUNT)");
      return;
    }
  }
  if (*cursor != 0) {
    const std::string* resume = s.load_cursor(*cursor);
    if (resume == nullptr) {
      w.error("ERR invalid cursor");
      return;
    }
    op.key = *resume;
    op.flag = true;
  }
  s.defer(op, fmt_scan);
}

// INFO needs this actor's key count, so it goes to the actor too.
void fmt_info(Session& s, const std::string& section, const ResultView& r,
              ReplyWriter& w) {
  auto want = [&](std::string_view name) {
    return section.empty() || section == "all" || section == "everything" ||
           section == "default" || section == name;
  };
  std::string out;
  auto line = [&](std::string_view k, const auto& v) {
    out += k;
    out += ':';
    if constexpr (std::is_arithmetic_v<std::decay_t<decltype(v)>>) {
      out += std::to_string(v);
    } else {
      out += v;
    }
    out += "\r\n";
  };
  const PortInfo& p = s.port();
  if (want("server")) {
    out += "# Server\r\n";
    line("redis_version", std::string("7.0.0"));
    line("cmud_version", std::string(kVersion));
    line("redis_mode", std::string("standalone"));
    line("arch_bits", 64);
    line("process_id", static_cast<int64_t>(::getpid()));
    line("tcp_port", static_cast<int64_t>(p.tcp_port));
    line("uptime_in_seconds",
         static_cast<int64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                  std::chrono::steady_clock::now() - kStart)
                                  .count()));
    line("actor_uid", p.actor.uid());
    out += "\r\n";
  }
  if (want("keyspace")) {
    out += "# Keyspace\r\n";
    line("keys", r.n);
    out += "db0:keys=" + std::to_string(r.n) + ",expires=0,avg_ttl=0\r\n";
    out += "\r\n";
  }
  if (want("actors")) {
    auto st = p.system->stats();
    out += "# Actors\r\n";
    line("messages_sent", st.messages_sent);
    line("messages_sent_external", st.messages_sent_external);
    line("messages_sent_actor", st.messages_sent_actor);
    line("bytes_sent", st.bytes_sent);
    line("remote_bytes_received", st.remote_bytes_received);
    line("channel_refs_used", st.channel_refs_used);
    line("max_pair_msgs_per_sec", st.max_pair_msgs_per_sec);
    out += "\r\n";
  }
  w.bulk(out);
}

void cmd_info(Session& s, Args a, ReplyWriter& w) {
  if (a.size() > 2) {
    w.error("ERR INFO takes at most one section");
    return;
  }
  s.defer(key_op(OpKind::kDbSize, ""), fmt_info,
          a.size() > 1 ? ascii_lower(a[1]) : std::string());
}

// --- Commands answered by the front end itself. ---

void cmd_ping(Session&, Args a, ReplyWriter& w) {
  if (a.size() > 1) {
    w.bulk(a[1]);
  } else {
    w.simple("PONG");
  }
}
void cmd_echo(Session&, Args a, ReplyWriter& w) { w.bulk(a[1]); }
void cmd_quit(Session& s, Args, ReplyWriter& w) {
  w.simple("OK");
  s.close_after_reply();
}
void cmd_select(Session&, Args a, ReplyWriter& w) {
  if (a[1] == "0") {
    w.simple("OK");
  } else {
    w.error("ERR DB index is out of range");
  }
}

void cmd_client(Session& s, Args a, ReplyWriter& w) {
  if (iequals(a[1], "setname") && a.size() == 3) {
    s.client_name().assign(a[2]);
    w.simple("OK");
  } else if (iequals(a[1], "setinfo") && a.size() == 4) {
    w.simple("OK");
  } else if (iequals(a[1], "getname") && a.size() == 2) {
    if (s.client_name().empty()) {
      w.null();
    } else {
      w.bulk(s.client_name());
    }
  } else {
    w.error("ERR unknown subcommand or wrong number of arguments for 'CLIENT " +
            std::string(a[1].substr(0, 32)) + "'");
  }
}

// Parameters CONFIG GET knows; what redis-benchmark and clients ask for.
constexpr std::array<std::pair<std::string_view, std::string_view>, 5> kConfig{
    {{"save", ""},
     {"appendonly", "no"},
     {"databases", "1"},
     {"maxmemory", "0"},
     {"maxmemory-policy", "noeviction"}}};

void cmd_config(Session&, Args a, ReplyWriter& w) {
  if (!iequals(a[1], "get") || a.size() < 3) {
    w.error("ERR only CONFIG GET <pattern> [<pattern> ...] is supported");
    return;
  }
  std::vector<std::pair<std::string_view, std::string_view>> found;
  for (const auto& [k, v] : kConfig) {
    for (size_t i = 2; i < a.size(); ++i) {
      if (resp::glob_match(ascii_lower(a[i]), k)) {
        found.emplace_back(k, v);
        break;
      }
    }
  }
  w.array(found.size() * 2);
  for (const auto& [k, v] : found) {
    w.bulk(k);
    w.bulk(v);
  }
}

void write_command_info(const Command& c, ReplyWriter& w) {
  w.array(10);
  w.bulk(c.name);
  w.integer(c.arity);
  size_t nflags = c.flags.empty()
                      ? 0
                      : 1 + static_cast<size_t>(std::count(c.flags.begin(),
                                                           c.flags.end(), ' '));
  w.array(nflags);
  for (size_t pos = 0; nflags > 0 && pos <= c.flags.size();) {
    size_t end = c.flags.find(' ', pos);
    if (end == std::string_view::npos) end = c.flags.size();
    w.simple(c.flags.substr(pos, end - pos));
    pos = end + 1;
  }
  w.integer(c.first_key);
  w.integer(c.last_key);
  w.integer(c.key_step);
  w.array(0);  // ACL categories
  w.array(0);  // tips
  w.array(0);  // key specs
  w.array(0);  // subcommands
}

void cmd_command(Session&, Args a, ReplyWriter& w) {
  auto table = command_table();
  if (a.size() == 1) {
    w.array(table.size());
    for (const auto& c : table) write_command_info(c, w);
  } else if (iequals(a[1], "count")) {
    w.integer(static_cast<int64_t>(table.size()));
  } else if (iequals(a[1], "info")) {
    w.array(a.size() - 2);
    for (size_t i = 2; i < a.size(); ++i) {
      if (const Command* c = find_command(a[i])) {
        write_command_info(*c, w);
      } else {
        w.null_array();
      }
    }
  } else if (iequals(a[1], "docs")) {
    w.array(0);  // no documentation maps; clients fall back to names
  } else {
    w.error("ERR unknown subcommand '" + std::string(a[1].substr(0, 32)) +
            "'. Try COMMAND HELP.");
  }
}

void cmd_help(Session&, Args, ReplyWriter& w) {
  auto table = command_table();
  w.array(table.size());
  for (const auto& c : table) {
    std::string line = ascii_upper(c.name);
    line += " - ";
    line += c.summary;
    w.simple(line);
  }
}

constexpr Command kCommands[] = {
    {"get", 2, "readonly fast", 1, 1, 1, "GET key: the value, or nil", true,
     cmd_get},
    {"set", -3, "write", 1, 1, 1, "SET key value: store value (no options)",
     true, cmd_set},
    {"del", -2, "write", 1, -1, 1,
     "DEL key [key ...]: delete; count of keys that existed", true, cmd_del},
    {"exists", -2, "readonly fast", 1, -1, 1,
     "EXISTS key [key ...]: how many exist", true, cmd_exists},
    {"mget", -2, "readonly fast", 1, -1, 1,
     "MGET key [key ...]: values or nils", true, cmd_mget},
    {"list", -1, "readonly", 0, 0, 0,
     "LIST [prefix]: key, value, ... sorted by key", true, cmd_list},
    {"keys", 2, "readonly", 0, 0, 0,
     "KEYS pattern: matching keys (prefix* is fast)", true, cmd_keys},
    {"scan", -2, "readonly", 0, 0, 0,
     "SCAN cursor [MATCH pattern] [COUNT n]: iterate keys", true, cmd_scan},
    {"dbsize", 1, "readonly fast", 0, 0, 0, "DBSIZE: keys in this replica",
     true, cmd_dbsize},
    {"info", -1, "loading stale", 0, 0, 0, "INFO [server|keyspace|actors]",
     true, cmd_info},
    {"ping", -1, "fast stale", 0, 0, 0, "PING [message]", false, cmd_ping},
    {"echo", 2, "fast stale", 0, 0, 0, "ECHO message", false, cmd_echo},
    {"quit", -1, "fast stale", 0, 0, 0, "QUIT: close the connection", false,
     cmd_quit},
    {"select", 2, "fast stale", 0, 0, 0, "SELECT 0 (one database)", false,
     cmd_select},
    {"client", -2, "stale", 0, 0, 0, "CLIENT SETNAME|SETINFO|GETNAME", false,
     cmd_client},
    {"config", -2, "stale", 0, 0, 0, "CONFIG GET pattern", false, cmd_config},
    {"command", -1, "stale", 0, 0, 0, "COMMAND [COUNT|INFO|DOCS]", false,
     cmd_command},
    {"help", 1, "fast stale", 0, 0, 0, "HELP: this list", false, cmd_help},
};

}  // namespace

std::span<const Command> command_table() { return kCommands; }

const Command* find_command(std::string_view name) {
  for (const auto& c : kCommands) {
    if (iequals(c.name, name)) return &c;
  }
  return nullptr;
}

void write_unknown_command(Args args, ReplyWriter& w) {
  std::string msg = "ERR unknown command '" +
                    std::string(args[0].substr(0, 128)) +
                    "', with args beginning with: ";
  for (size_t i = 1; i < args.size() && msg.size() < 128; ++i) {
    msg += "'" +
           std::string(
               args[i].substr(0, 128 - std::min<size_t>(msg.size(), 127))) +
           "' ";
  }
  // A reply line must not contain CR or LF.
  std::replace_if(
      msg.begin(), msg.end(), [](char c) { return c == '\r' || c == '\n'; },
      ' ');
  w.error(msg);
}

bool check_arity(const Command& c, Args args, ReplyWriter& w) {
  auto n = static_cast<int>(args.size());
  if ((c.arity > 0 && n != c.arity) || (c.arity < 0 && n < -c.arity)) {
    w.error("ERR wrong number of arguments for '" + std::string(c.name) +
            "' command");
    return false;
  }
  return true;
}

}  // namespace cmud::server
