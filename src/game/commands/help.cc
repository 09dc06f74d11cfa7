// help: the command list, or one command explained from its table row.
#include "command.h"

#include <cstddef>
#include <string>
#include <vector>

#include "cmud/common/ascii.h"

namespace cmud::game {

Text cmd_help(PlayerSession&, const Args& args) {
  Text t;
  if (!args.empty()) {
    const CommandRow* c = find_command(ascii_lower(args[0]));
    if (c == nullptr) {
      t.line("No command called '" + sanitize(args[0]) +
             "'. Type help for the list.");
      return t;
    }
    t.add(std::string(c->info.name), Style::kTitle);
    if (!c->info.args.empty()) t.add(" " + std::string(c->info.args));
    t.line().line(std::string(c->info.details));
    if (!c->info.aliases.empty()) {
      t.line("Also: " + std::string(c->info.aliases), Style::kDim);
    }
    return t;
  }
  t.line("Commands (help <command> tells more):", Style::kTitle);
  for (const CommandRow& c : command_table()) {
    std::string head = std::string(c.info.name);
    if (!c.info.args.empty()) head += " " + std::string(c.info.args);
    if (head.size() < 24) head.resize(24, ' ');
    t.add("  ").add(head, Style::kGood).line(std::string(c.info.summary));
  }
  t.line("Tab completes commands, places and items; arrows recall history.",
         Style::kDim);
  return t;
}

std::vector<std::string> complete_help(const PlayerSession&, size_t index) {
  std::vector<std::string> names;
  if (index == 1) {
    for (const CommandRow& c : command_table()) names.emplace_back(c.info.name);
  }
  return names;
}

}  // namespace cmud::game
