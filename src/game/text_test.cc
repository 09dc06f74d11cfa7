#include "cmud/game/text.h"

#include <gtest/gtest.h>

namespace cmud::game {
namespace {

using namespace std::chrono_literals;

TEST(Text, PlainDropsStylesAndPauses) {
  Text t;
  t.add("You mine ").add("3 coins", Style::kCoins).line(".").pause(300ms);
  t.line("Done.", Style::kGood);
  EXPECT_EQ(t.plain(), "You mine 3 coins.\nDone.\n");
  EXPECT_FALSE(t.empty());
  EXPECT_TRUE(Text().pause(5ms).empty());
}

TEST(Text, AnsiWrapsStyledRunsAndResetsBeforeEveryNewline) {
  Text t;
  t.add("hi ").line("ann\nbob", Style::kPlayer);
  std::string a = to_ansi(t);
  EXPECT_EQ(a, "hi \x1b[1;35mann\x1b[0m\n\x1b[1;35mbob\x1b[0m\n");
}

TEST(Text, PausesSurviveAppend) {
  Text a, b;
  b.add("x").pause(10ms).add("y");
  a.append(b);
  int pauses = 0;
  for (const auto& s : a.spans()) pauses += s.pause.count() > 0;
  EXPECT_EQ(pauses, 1);
  EXPECT_EQ(a.plain(), "xy");
}

TEST(Text, WithCommasGroupsThousands) {
  EXPECT_EQ(with_commas(0), "0");
  EXPECT_EQ(with_commas(999), "999");
  EXPECT_EQ(with_commas(1000), "1,000");
  EXPECT_EQ(with_commas(10000000), "10,000,000");
  EXPECT_EQ(with_commas(-1234), "-1,234");
  EXPECT_EQ(with_commas(INT64_MIN), "-9,223,372,036,854,775,808");
}

TEST(Text, SanitizeRemovesControlCharactersAndTrims) {
  EXPECT_EQ(sanitize("  hello\x1b[2J world \x07 "), "hello[2J world");
  EXPECT_EQ(sanitize("tab\there"), "tab here");
  EXPECT_EQ(sanitize("c1 \xc2\x9b"
                     "31m"),
            "c1 31m");
  EXPECT_EQ(sanitize("caf\xc3\xa9"), "caf\xc3\xa9");  // UTF-8 stays
  EXPECT_EQ(sanitize("\r\n"), "");
}

TEST(Text, WrapBreaksAtSpacesNeverInsideWords) {
  Text t("the quick brown fox jumps over the lazy dog\n");
  EXPECT_EQ(wrap(t, 10).plain(),
            "the quick\nbrown fox\njumps over\nthe lazy\ndog\n");
  EXPECT_EQ(wrap(t, 0).plain(), t.plain());
  EXPECT_EQ(wrap(t, 200).plain(), t.plain());
}

TEST(Text, WrapKeepsStylesPausesIndentationAndLongWords) {
  Text t;
  t.add("  You mine ").add("3 coins", Style::kCoins).line(".").pause(300ms);
  t.line("supercalifragilistic word");
  Text w = wrap(t, 12);
  EXPECT_EQ(w.plain(), "  You mine 3\ncoins.\nsupercalifragilistic\nword\n");
  bool coins_styled = false;
  bool paused = false;
  for (const Span& s : w.spans()) {
    coins_styled |= s.style == Style::kCoins && s.text == "coins";
    paused |= s.text.empty() && s.pause == 300ms;
  }
  EXPECT_TRUE(coins_styled);
  EXPECT_TRUE(paused);
}

TEST(Text, WrapCountsCharactersNotBytes) {
  Text t("\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9 \xc3\xa9\xc3\xa9");  // "éééé éé"
  EXPECT_EQ(wrap(t, 7).plain(), t.plain());
  EXPECT_EQ(wrap(t, 6).plain(),
            "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\n\xc3\xa9\xc3\xa9");
}

}  // namespace
}  // namespace cmud::game
