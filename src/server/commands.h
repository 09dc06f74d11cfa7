// The command table of the query ports: one row per command (name, arity,
// flags, summary, handler). COMMAND and the help text are generated from it.
#pragma once

#include <span>
#include <string_view>

#include "cmud/resp/resp.h"
#include "session.h"

namespace cmud::server {

using Args = std::span<const std::string_view>;

struct Command {
  std::string_view name;              // lower case
  int arity;                          // Redis convention: -n means at least n
  std::string_view flags;             // space-separated Redis flags
  int first_key, last_key, key_step;  // key positions, as COMMAND reports
  std::string_view summary;           // one line for help
  // Either writes a reply to `w` now or calls session.defer() with an op
  // for the query actor (`needs_actor` says which, before it runs).
  bool needs_actor;
  void (*run)(Session& session, Args args, resp::ReplyWriter& w);
};

// The command named (case-insensitively) by name, or null.
const Command* find_command(std::string_view name);
std::span<const Command> command_table();

// Writes Redis' reply for an unknown command (exactly as Redis 7 words it).
void write_unknown_command(Args args, resp::ReplyWriter& w);
// True when args fit the command's arity; otherwise writes Redis' error.
bool check_arity(const Command& c, Args args, resp::ReplyWriter& w);

}  // namespace cmud::server
