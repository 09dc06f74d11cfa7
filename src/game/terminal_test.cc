// The terminal's script mode (stdin not a terminal) on string streams:
// the name, and where the store has accounts the password, then commands.
// The interactive mode runs under tmux in tests/game/terminal_test.sh.
#include "cmud/game/terminal.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "testing/memory_storage.h"

namespace cmud::game {
namespace {

using ::testing::HasSubstr;
using testing::MemoryStorage;
using ::testing::Not;

struct Session {
  int status = -1;
  std::string out;
  std::string name;  // who the game logged in as ("" if nobody)
};

class ScriptLogin : public ::testing::Test {
 protected:
  // One cmud run on a client of its own, reading `input`.
  Session play(const std::string& input, std::string name = "") {
    clients_.push_back(store_.new_client());
    Game game(*clients_.back(), clock_, {.seed = 1, .session = ""});
    std::istringstream in(input);
    std::ostringstream out;
    TerminalOptions options{.fast = true, .name = std::move(name)};
    Session r;
    r.status = run_script(game, in, out, options);
    r.out = out.str();
    r.name = game.logged_in() ? game.name() : "";
    return r;
  }

  MemoryStorage store_;
  std::vector<std::unique_ptr<MemoryStorage>> clients_;
  ManualClock clock_;
};

TEST_F(ScriptLogin, WithoutAccountsTheNameIsAllItTakes) {
  Session r = play("ann\nstats\n");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.name, "ann");
  EXPECT_THAT(r.out, HasSubstr("Who are you?"));
  EXPECT_THAT(r.out, HasSubstr("ann, Undergraduate"));
  EXPECT_THAT(r.out, Not(HasSubstr("assword")));
}

TEST_F(ScriptLogin, ANewPlayerChoosesAPasswordOnceAndPlays) {
  store_.enable_accounts();
  Session r = play("ann\n\npassword1\nstats\n");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.name, "ann");
  EXPECT_THAT(r.out, HasSubstr("New player ann. Choose a password (at least "
                               "8 characters):"));
  EXPECT_THAT(r.out, Not(HasSubstr("Again")));  // not asked twice
  EXPECT_THAT(r.out, HasSubstr("Welcome to CMUD, ann!"));
  EXPECT_THAT(r.out, HasSubstr("ann, Undergraduate"));
  EXPECT_THAT(r.out, Not(HasSubstr("password1")));
  EXPECT_EQ(*store_.account("ann"), Account::kTaken);
  EXPECT_TRUE(store_.refused_writes().empty());
}

TEST_F(ScriptLogin, AReturningPlayerGivesItsPassword) {
  store_.enable_accounts();
  ASSERT_EQ(play("ann\npassword1\nmine 10\n").name, "ann");
  Session r = play("ann\npassword1\nstats\n");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.name, "ann");
  EXPECT_THAT(r.out, HasSubstr("Password:"));
  EXPECT_THAT(r.out, Not(HasSubstr("Wrong password")));
  EXPECT_THAT(r.out, HasSubstr("Welcome back, ann!"));
}

TEST_F(ScriptLogin, WithANameGivenTheFirstLineIsThePassword) {
  store_.enable_accounts();
  ASSERT_EQ(play("password1\n", "ann").name, "ann");
  Session r = play("password1\nstats\n", "ann");
  EXPECT_EQ(r.name, "ann");
  EXPECT_THAT(r.out, Not(HasSubstr("Who are you?")));
  EXPECT_THAT(r.out, HasSubstr("ann, Undergraduate"));
}

// A script's lines cannot be lined up again after a failed step: the next
// line would be taken for a name or a password. It ends with status 1.
TEST_F(ScriptLogin, AWrongPasswordEndsTheScript) {
  store_.enable_accounts();
  ASSERT_EQ(play("ann\npassword1\n").name, "ann");
  Session r = play("ann\nwrong-one\nstats\nbob\n");
  EXPECT_EQ(r.status, 1);
  EXPECT_EQ(r.name, "");
  EXPECT_THAT(r.out, HasSubstr("Wrong password."));
  EXPECT_THAT(r.out, Not(HasSubstr("Choose your name again")));
  EXPECT_EQ(r.out.find("Who are you?"), r.out.rfind("Who are you?"));
}

TEST_F(ScriptLogin, AShortPasswordEndsTheScript) {
  store_.enable_accounts();
  Session r = play("ann\nshort\npassword1\n");
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.out, HasSubstr("Too short"));
  EXPECT_EQ(*store_.account("ann"), Account::kFree);
}

TEST_F(ScriptLogin, EndOfInputAtThePasswordLeavesCleanly) {
  store_.enable_accounts();
  ASSERT_EQ(play("ann\npassword1\n").name, "ann");
  Session r = play("ann\n");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.name, "");
  EXPECT_THAT(r.out, HasSubstr("Password:"));
}

TEST_F(ScriptLogin, AStorageErrorEndsTheScript) {
  store_.enable_accounts();
  store_.fail_next(1);  // the account lookup
  Session r = play("ann\npassword1\nstats\n");
  EXPECT_EQ(r.status, 1);
  EXPECT_THAT(r.out, HasSubstr("campus network is having a moment"));
  EXPECT_EQ(r.name, "");
  EXPECT_EQ(r.out.find("Who are you?"), r.out.rfind("Who are you?"));
}

TEST_F(ScriptLogin, ANameTakenMeanwhileEndsTheScript) {
  store_.enable_accounts();
  // Free when asked, taken when signed up: another player was quicker.
  class Racing : public MemoryStorage {
   public:
    Result<Account> account(const std::string&) override {
      return Account::kFree;
    }
  } store;
  store.enable_accounts();
  ASSERT_TRUE(*store.sign_up("ann", "password0"));
  Game game(store, clock_, {.seed = 1, .session = ""});
  std::istringstream in("ann\npassword1\ncat\npassword2\n");
  std::ostringstream out;
  TerminalOptions options;
  options.fast = true;
  EXPECT_EQ(run_script(game, in, out, options), 1);
  EXPECT_THAT(out.str(), HasSubstr("Someone else just took the name ann"));
  EXPECT_FALSE(game.logged_in());
}

TEST_F(ScriptLogin, AnInvalidGivenNameExitsWithStatus2) {
  store_.enable_accounts();
  EXPECT_EQ(play("password1\n", "Bad Name!").status, 2);
}

}  // namespace
}  // namespace cmud::game
