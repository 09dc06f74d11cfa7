#include "command.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <set>
#include <string>
#include <vector>

#include "game_internal.h"

namespace cmud::game {
namespace {

TEST(CommandTable, EveryRowHasAHandlerAndHelpText) {
  for (const CommandRow& c : command_table()) {
    EXPECT_NE(c.run, nullptr) << c.info.name;
    EXPECT_FALSE(c.info.summary.empty()) << c.info.name;
    EXPECT_FALSE(c.info.details.empty()) << c.info.name;
  }
}

TEST(CommandTable, NamesAndAliasesAreLowerCaseAndUnique) {
  std::set<std::string> words;
  for (const CommandRow& c : command_table()) {
    std::vector<std::string> own = detail::split_words(c.info.aliases);
    own.emplace(own.begin(), c.info.name);
    for (const std::string& w : own) {
      EXPECT_EQ(w, ascii_lower(w));
      EXPECT_TRUE(words.insert(w).second) << w << " is used twice";
      EXPECT_EQ(find_command(w), &c) << w;
    }
  }
  EXPECT_EQ(find_command("dance"), nullptr);
}

TEST(CommandTable, GameListsTheTableInOrder) {
  ASSERT_EQ(Game::commands().size(), command_table().size());
  for (size_t i = 0; i < command_table().size(); ++i) {
    EXPECT_EQ(Game::commands()[i].name, command_table()[i].info.name);
  }
}

}  // namespace
}  // namespace cmud::game
