// The terminal in front of a Game: line editing with history and tab
// completion (libedit), colours, dramatic pauses, and messages from other
// players printed above the prompt while the player is idle. When stdin or
// stdout is not a terminal, commands are read line by line instead
// (scripts, tests) and output is plain unless colour is forced.
//
// Where the store has accounts (Storage::account), the name is followed by
// a password: a new player chooses one (typed twice on a terminal), a
// returning one has three tries. On a terminal it is typed without echo;
// from a script it is the next non-empty line (with --name, the first).
// Trouble on the way (a wrong password three times, a name taken
// meanwhile, a storage error) goes back to asking the name.
//
//   cmud::game::TerminalOptions opts{.fast = true, .name = "ann"};
//   return cmud::game::run_terminal(game, opts);
#pragma once

#include <chrono>
#include <istream>
#include <ostream>
#include <string>

#include "cmud/game/game.h"

namespace cmud::game {

struct TerminalOptions {
  enum class Color { kAuto, kAlways, kNever };
  // kAuto: colour when stdout is a terminal, TERM is not "dumb" and NO_COLOR
  // is unset or empty (https://no-color.org).
  Color color = Color::kAuto;
  bool fast = false;  // no dramatic pauses
  // The player; empty: ask "Who are you?" (or, from a script, take the
  // first non-empty line).
  std::string name;
  // How often the idle prompt looks for messages.
  std::chrono::milliseconds poll_interval{1000};
};

// Whether output gets ANSI colours.
bool use_color(TerminalOptions::Color color, bool stdout_is_tty,
               const char* no_color_env, const char* term_env);

// Runs the session on stdin/stdout until quit, end of input (Ctrl-D),
// SIGINT/SIGTERM/SIGHUP, or the session being taken over elsewhere.
// Returns the exit status: 0, or 2 when options.name is not a valid name.
// REQUIRES: one call at a time per process (it owns the terminal and the
// stop signals while it runs).
int run_terminal(Game& game, const TerminalOptions& options);

// What run_terminal does when stdin is not a terminal, on given streams
// (tests, tools): the name (unless options.name) and any password, then
// commands, line by line from `in`; text to `out`, plain unless
// options.color is kAlways. Returns the exit status as run_terminal does.
int run_script(Game& game, std::istream& in, std::ostream& out,
               const TerminalOptions& options);

}  // namespace cmud::game
