// The command table: one row per command, in the order help lists them.
// A new command is a file in this folder, its handler declared in
// command.h and a row here; Game needs no change.
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "command.h"
#include "game_internal.h"

namespace cmud::game {

namespace {

const CommandRow kTable[] = {
    {.info = {"help", "[command]", "list the commands, or explain one",
              "help shows every command; help <command> explains one.", "?"},
     .run = &cmd_help,
     .needs_login = false,
     .needs_store = false,
     .complete = &complete_help},
    {.info = {"look", "[player]",
              "where you are and who is here, or a player here",
              "Describes your place and the players there now; look <player> "
              "shows the rank and hardware of a player in the same place.",
              "l"},
     .run = &cmd_look,
     .complete = &complete_give},
    {.info = {"move", "<place>", "walk to a neighbouring place (see map)",
              "Walks to a place next to yours; everyone there sees you arrive. "
              "For a place further away it shows the way. Places: gate, quad, "
              "library, cafe, store, lab, hall, bridge, office, roof.",
              "go walk"},
     .run = &cmd_move,
     .complete = &complete_move},
    {.info = {"north", "", "walk north", "Takes the exit north, if any.", "n"},
     .run = &cmd_go},
    {.info = {"south", "", "walk south", "Takes the exit south, if any.", "s"},
     .run = &cmd_go},
    {.info = {"east", "", "walk east", "Takes the exit east, if any.", "e"},
     .run = &cmd_go},
    {.info = {"west", "", "walk west", "Takes the exit west, if any.", "w"},
     .run = &cmd_go},
    {.info = {"up", "", "climb up", "Takes the exit up, if any.", "u"},
     .run = &cmd_go},
    {.info = {"down", "", "climb down", "Takes the exit down, if any.", "d"},
     .run = &cmd_go},
    {.info = {"map", "", "the campus: every place and who is there",
              "Lists every place on campus with its exits and the players "
              "there. Players idle for more than 5 minutes are counted as "
              "asleep.",
              ""},
     .run = &cmd_map},
    {.info =
         {"mine", "[n]", "mine coins n times (default 1, at most 60)",
          "Each attempt succeeds 90% of the time and earns 1 to <power> coins "
          "(your hardware's total power; with none you mine by hand, power "
          "1). Each takes a second of work: you cannot mine or solve again "
          "until it is done (walking, shopping and talking you can).",
          ""},
     .run = &cmd_mine},
    {.info =
         {"shop", "", "the hardware on sale at your rank",
          "Shows the Campus Store's catalogue: price and power of each item, "
          "and what your rank unlocks next. Prices rise as you buy: your "
          "n-th of a kind costs n x n times the first.",
          ""},
     .run = &cmd_shop,
     .needs_store = false},
    {.info = {"buy", "<item> [count|max]", "buy hardware (at the Campus Store)",
              "Buys hardware at the Campus Store (move store first). count "
              "defaults to 1; max buys as many as you can afford.",
              ""},
     .run = &cmd_buy,
     .complete = &complete_buy},
    {.info = {"inv", "", "your hardware and its total power",
              "Lists your hardware. Power is what mining and battles use.",
              "i inventory"},
     .run = &cmd_inv,
     .needs_store = false},
    {.info = {"stats", "", "your rank, coins, power and history",
              "Everything the registrar knows about you.", "score"},
     .run = &cmd_stats,
     .needs_store = false},
    {.info =
         {"problem", "", "your rank's problem and its co-authors",
          "Everyone of your rank fights the same problem. Every player who "
          "does damage to it is a co-author, and all co-authors are promoted "
          "when it falls; then a fresh one appears.",
          ""},
     .run = &cmd_problem},
    {.info =
         {"solve", "[rounds]",
          "fight your rank's problem (default 10 rounds, at most 100)",
          "A battle, round by round: 80% of rounds you deal damage equal to "
          "your power, 15% something breaks (one type of your hardware drops "
          "to a quarter), 5% nothing happens. The battle stops when the "
          "problem falls, when nothing is left to fight with, or after the "
          "rounds. Each round takes a second of work, as mining does.",
          "fight"},
     .run = &cmd_solve},
    {.info =
         {"say", "<text>", "speak to everyone in the same place",
          "Everyone in your place sees it at once (or on their next command).",
          "'"},
     .run = &cmd_say},
    {.info = {"emote", "<action>", "act, for everyone in the same place",
              "emote waves: everyone in your place sees \"<you> waves\".",
              "me"},
     .run = &cmd_emote},
    {.info = {"tell", "<player> <text>", "speak to one player, anywhere",
              "Only that player sees it, wherever on campus they are (at "
              "once, or on their next command).",
              "whisper"},
     .run = &cmd_tell,
     .complete = &complete_give},
    {.info =
         {"who", "", "who has been around in the last 5 minutes",
          "Lists players whose client has been running recently, with their "
          "place.",
          ""},
     .run = &cmd_who},
    {.info = {"top", "", "the leaderboard",
              "The ten best players: by rank, then by coins.", "leaderboard"},
     .run = &cmd_top},
    {.info =
         {"give", "<player> <coins>", "give coins to another player",
          "Sends coins to a player. They arrive the next time the receiver's "
          "client looks (within seconds if they are playing); nothing is ever "
          "lost or created, even if both of you play on different servers at "
          "once.",
          ""},
     .run = &cmd_give,
     .complete = &complete_give},
    {.info = {"quit", "", "leave the campus (progress is saved as you go)",
              "Leaves the game. Ctrl-D does the same.", "exit"},
     .run = &cmd_quit,
     .needs_login = false,
     .needs_store = false},
};

}  // namespace

std::span<const CommandRow> command_table() { return kTable; }

const CommandRow* find_command(std::string_view word) {
  for (const CommandRow& c : kTable) {
    if (c.info.name == word) return &c;
    for (const std::string& alias : detail::split_words(c.info.aliases)) {
      if (alias == word) return &c;
    }
  }
  return nullptr;
}

std::span<const CommandInfo> Game::commands() {
  static const std::vector<CommandInfo> kInfos = [] {
    std::vector<CommandInfo> v;
    for (const CommandRow& c : kTable) v.push_back(c.info);
    return v;
  }();
  return kInfos;
}

}  // namespace cmud::game
