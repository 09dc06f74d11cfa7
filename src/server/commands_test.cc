// The command table as data: lookups, flags, and rows that are well formed.
#include "commands.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

#include "cmud/common/ascii.h"

namespace cmud::server {
namespace {

static_assert(flags("") == 0);
static_assert(flags("write") == kFlagWrite);
static_assert(flags("readonly fast") == (kFlagReadonly | kFlagFast));
static_assert(flags("no_auth") == kFlagNoAuth);

TEST(Commands, LookupIgnoresCaseAndRefusesUnknownAndOverlongNames) {
  const Command* get = find_command("get");
  ASSERT_NE(get, nullptr);
  EXPECT_EQ(find_command("GET"), get);
  EXPECT_EQ(find_command("gEt"), get);
  EXPECT_EQ(find_command("getx"), nullptr);
  EXPECT_EQ(find_command(""), nullptr);
  EXPECT_EQ(find_command(std::string(100, 'g')), nullptr);
}

TEST(Commands, EveryRowIsWellFormedAndFoundByItsName) {
  std::set<std::string_view> names;
  for (const Command& c : command_table()) {
    SCOPED_TRACE(std::string(c.name));
    EXPECT_TRUE(names.insert(c.name).second) << "duplicate";
    EXPECT_EQ(ascii_lower(c.name), c.name) << "names are lower case";
    EXPECT_NE(c.arity, 0);
    EXPECT_NE(c.run, nullptr);
    EXPECT_FALSE(c.summary.empty());
    EXPECT_FALSE((c.flags & kFlagWrite) && (c.flags & kFlagReadonly));
    EXPECT_EQ(c.flags >> kFlagNames.size(), 0u);
    if (c.keys.first != 0) {
      EXPECT_GT(c.keys.step, 0);
      // As in Redis, WATCH names keys it neither reads nor writes.
      EXPECT_TRUE((c.flags & (kFlagWrite | kFlagReadonly)) || c.name == "watch")
          << "a command with keys reads or writes them";
    }
    EXPECT_EQ(find_command(c.name), &c);
  }
}

TEST(Commands, ArityFollowsRedisConventions) {
  std::string out;
  resp::ReplyWriter w(out);
  const Command& get = *find_command("get");
  std::string_view two[] = {"get", "k"};
  std::string_view three[] = {"get", "k", "x"};
  EXPECT_TRUE(check_arity(get, two, w));
  EXPECT_FALSE(check_arity(get, three, w));
  EXPECT_EQ(out, "-ERR wrong number of arguments for 'get' command\r\n");
  const Command& del = *find_command("del");  // -2: at least two
  std::string_view one[] = {"del"};
  EXPECT_FALSE(check_arity(del, one, w));
  EXPECT_TRUE(check_arity(del, three, w));
}

}  // namespace
}  // namespace cmud::server
