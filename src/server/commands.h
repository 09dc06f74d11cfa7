// The command table of the query ports: one row of data per command (name,
// arity, flags, key positions, summary, handler), as Redis's table is.
// COMMAND and HELP are generated from it, and the session looks commands up
// in it.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>

#include "acl.h"
#include "cmud/common/ascii.h"
#include "cmud/resp/resp.h"
#include "session.h"

namespace cmud::server {

using Args = std::span<const std::string_view>;

// Redis's command flags, as COMMAND reports them; bit i is kFlagNames[i].
enum CommandFlag : uint32_t {
  kFlagWrite = 1u << 0,
  kFlagReadonly = 1u << 1,
  kFlagDenyOom = 1u << 2,
  kFlagAdmin = 1u << 3,
  kFlagPubSub = 1u << 4,
  kFlagNoScript = 1u << 5,
  kFlagBlocking = 1u << 6,
  kFlagLoading = 1u << 7,
  kFlagStale = 1u << 8,
  kFlagFast = 1u << 9,
  kFlagNoAuth = 1u << 10,
  kFlagNoMulti = 1u << 11,  // refused inside MULTI
};
inline constexpr std::array<std::string_view, 12> kFlagNames{
    "write",    "readonly", "denyoom", "admin", "pubsub",  "noscript",
    "blocking", "loading",  "stale",   "fast",  "no_auth", "no_multi"};

// The bitmask of space-separated flag names, computed when the table is
// compiled: a name that is not in kFlagNames does not compile.
consteval uint32_t flags(std::string_view names) {
  return name_bits(kFlagNames, names);
}

// Where a command's keys are, as COMMAND reports them (Redis's first key,
// last key, step; 0 0 0 for none, last -1 for "to the end").
struct KeySpec {
  int first = 0;
  int last = 0;
  int step = 0;
};

// Every handler has this shape: it either writes a reply to `w` now or
// calls session.defer() with a store op whose result it formats later.
using Handler = void (*)(Session& session, Args args, resp::ReplyWriter& w);

// One row. Immutable data.
struct Command {
  std::string_view name;  // lower case
  int arity;              // Redis convention: -n means at least n
  uint32_t flags;         // CommandFlag bits, from flags("...")
  KeySpec keys;
  // ACL categories beyond those the flags imply (acl::command_categories).
  uint32_t acl = 0;          // acl::categories("...")
  std::string_view summary;  // one line for HELP
  Handler run;
};

// The command named (case-insensitively) by name, or null. Thread-safe.
const Command* find_command(std::string_view name);
std::span<const Command> command_table();

// Writes Redis' reply for an unknown command (exactly as Redis 7 words it).
void write_unknown_command(Args args, resp::ReplyWriter& w);
// True when args fit the command's arity; otherwise writes Redis' error.
bool check_arity(const Command& c, Args args, resp::ReplyWriter& w);
// Whether a command runs at once inside MULTI rather than being queued
// (EXEC, DISCARD, MULTI, WATCH, QUIT, RESET).
bool runs_in_multi(const Command& c);
// True unless the session subscribes under RESP2, where only the pub/sub
// commands, PING, QUIT and RESET may run; otherwise writes Redis' error.
bool check_subscribed_context(const Command& c, const Session& s,
                              resp::ReplyWriter& w);

}  // namespace cmud::server
