// Private to cmud::game: the command table and the commands. Each command
// is a function over the player's session, in its own file under commands/
// (or one file for a small family, like shop and buy). Adding a command: a
// file in commands/, its handler declared here, a row in commands/table.cc.
// Game::execute runs a command after it has synced the session; see
// session.cc for the rules every write follows.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cmud/game/game.h"
#include "cmud/game/text.h"
#include "session.h"

namespace cmud::game {

// The words after the command's name.
using Args = std::vector<std::string>;

// One row of the command table; help, aliases and completion come from it.
// Rows are constants: any thread may read them.
struct CommandRow {
  CommandInfo info;
  Text (*run)(PlayerSession& s, const Args& args) = nullptr;
  bool needs_login = true;
  // False: works from the session's copy even when the store is down.
  bool needs_store = true;
  // Candidates for word `index` of the line (1: the first argument), before
  // matching what was typed; nullptr: no completion of arguments.
  std::vector<std::string> (*complete)(const PlayerSession& s,
                                       size_t index) = nullptr;
};

// In the order help lists them.
std::span<const CommandRow> command_table();
// The row whose name or alias is `word` (lower case), or nullptr.
const CommandRow* find_command(std::string_view word);

// The commands (commands/<name>.cc).
Text cmd_help(PlayerSession& s, const Args& args);
Text cmd_look(PlayerSession& s, const Args& args);
Text cmd_move(PlayerSession& s, const Args& args);
// north, south, east, west, up, down: the command word is the direction.
Text cmd_go(PlayerSession& s, const Args& args);
Text cmd_map(PlayerSession& s, const Args& args);
Text cmd_mine(PlayerSession& s, const Args& args);
Text cmd_shop(PlayerSession& s, const Args& args);
Text cmd_buy(PlayerSession& s, const Args& args);
Text cmd_inv(PlayerSession& s, const Args& args);
Text cmd_stats(PlayerSession& s, const Args& args);
Text cmd_problem(PlayerSession& s, const Args& args);
Text cmd_solve(PlayerSession& s, const Args& args);
Text cmd_say(PlayerSession& s, const Args& args);
Text cmd_emote(PlayerSession& s, const Args& args);
Text cmd_tell(PlayerSession& s, const Args& args);
Text cmd_who(PlayerSession& s, const Args& args);
Text cmd_top(PlayerSession& s, const Args& args);
Text cmd_give(PlayerSession& s, const Args& args);
Text cmd_quit(PlayerSession& s, const Args& args);

// Their completers (CommandRow::complete), beside them.
std::vector<std::string> complete_help(const PlayerSession& s, size_t index);
std::vector<std::string> complete_move(const PlayerSession& s, size_t index);
std::vector<std::string> complete_buy(const PlayerSession& s, size_t index);
std::vector<std::string> complete_give(const PlayerSession& s, size_t index);

}  // namespace cmud::game
