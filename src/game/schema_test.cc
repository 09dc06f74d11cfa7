#include "cmud/game/schema.h"

#include <gtest/gtest.h>

namespace cmud::game {
namespace {

TEST(Names, ValidNamesAreOneToTwentyFourOfLowercaseDigitsUnderscoreDash) {
  EXPECT_TRUE(validate_name("ann").ok());
  EXPECT_TRUE(validate_name("a").ok());
  EXPECT_TRUE(validate_name("x_1-y").ok());
  EXPECT_TRUE(validate_name(std::string(24, 'z')).ok());
  EXPECT_FALSE(validate_name("").ok());
  EXPECT_FALSE(validate_name(std::string(25, 'z')).ok());
  EXPECT_FALSE(validate_name("ann/x").ok());  // the key separator
  EXPECT_FALSE(validate_name("Ann").ok());
  EXPECT_FALSE(validate_name("an n").ok());
  EXPECT_FALSE(validate_name("ann\n").ok());
  EXPECT_FALSE(validate_name("caf\xc3\xa9").ok());
  EXPECT_EQ(validate_name("a/b").code(), ErrorCode::kInvalidArgument);
}

TEST(Names, NormalizeLowerCasesFirst) {
  EXPECT_EQ(*normalize_name("Ann"), "ann");
  EXPECT_FALSE(normalize_name("Ann Lee").ok());
}

TEST(Keys, EveryPrefixEndsWithTheSeparator) {
  for (const std::string& p :
       {keys::player_prefix(), keys::seen_prefix(), keys::hit_prefix(0),
        keys::gift_prefix("ann"), keys::say_prefix("quad", 5),
        keys::news_prefix(5)}) {
    EXPECT_EQ(p.back(), '/') << p;
    EXPECT_EQ(p.rfind("game/", 0), 0u) << p;
  }
}

TEST(Keys, AnnsPrefixesDoNotMatchAnnasKeys) {
  EXPECT_NE(keys::gift("anna", "bob", 1).rfind(keys::gift_prefix("ann"), 0),
            0u);
  EXPECT_FALSE(keys::parse_gift("ann", keys::gift("anna", "bob", 1)));
  EXPECT_TRUE(keys::parse_gift("anna", keys::gift("anna", "bob", 1)));
  EXPECT_FALSE(keys::name_after(keys::player_prefix(), "game/player/ann/x"));
  EXPECT_EQ(*keys::name_after(keys::player_prefix(), keys::player("anna")),
            "anna");
  // Rank 1 never sees rank 10's damage (if there ever were one).
  EXPECT_NE(keys::hit(10, 0, "ann").rfind(keys::hit_prefix(1), 0), 0u);
}

TEST(Keys, HitAndGiftKeysRoundTrip) {
  auto h = keys::parse_hit(3, keys::hit(3, 12, "bob-2"));
  ASSERT_TRUE(h);
  EXPECT_EQ(h->term, 12);
  EXPECT_EQ(h->name, "bob-2");
  EXPECT_FALSE(keys::parse_hit(3, "game/hit/3/x/bob"));
  EXPECT_FALSE(keys::parse_hit(3, "game/hit/3/1/bob/extra"));
  EXPECT_FALSE(keys::parse_hit(3, "game/hit/3/1/BOB"));
  auto g = keys::parse_gift("ann", keys::gift("ann", "bob", 7));
  ASSERT_TRUE(g);
  EXPECT_EQ(g->from, "bob");
  EXPECT_EQ(g->seq, 7);
  EXPECT_FALSE(keys::parse_gift("ann", "game/give/ann/bob/0"));
  EXPECT_FALSE(keys::parse_gift("ann", "game/give/ann/bob/-1"));
}

TEST(Keys, MessageKeysSortByTimeWithinAMinute) {
  std::string a = keys::say("quad", 1'700'000'000'001, "zed", "s1");
  std::string b = keys::say("quad", 1'700'000'000'010, "amy", "s1");
  EXPECT_LT(a, b);
  EXPECT_EQ(a.rfind(keys::say_prefix("quad", 1'700'000'000'001 / 60'000), 0),
            0u);
}

TEST(Keys, MessageKeysNameTheirAuthorInTheLastSegment) {
  const int64_t at = 1'700'000'000'123;
  const int64_t minute = at / keys::kMinuteMs;
  EXPECT_EQ(
      keys::say("quad", at, "bob-2", "s1"),
      "game/say/quad/" + std::to_string(minute) + "/1700000000123-s1/bob-2");
  EXPECT_EQ(keys::news(at, "ann", "s1"),
            "game/news/" + std::to_string(minute) + "/1700000000123-s1/ann");
  EXPECT_EQ(
      keys::tell("bob", at, "ann", "s1"),
      "game/tell/bob/" + std::to_string(minute) + "/1700000000123-s1/ann");
  struct Case {
    std::string channel;
    std::string key;
  };
  for (const Case& c :
       {Case{keys::say_channel("quad"), keys::say("quad", at, "bob-2", "s1")},
        Case{keys::news_channel(), keys::news(at, "bob-2", "s1")},
        Case{keys::tell_channel("ann"),
             keys::tell("ann", at, "bob-2", "s1")}}) {
    auto k = keys::parse_message(c.channel, c.key);
    ASSERT_TRUE(k) << c.key;
    EXPECT_EQ(k->name, "bob-2");
    EXPECT_EQ(k->at_ms, at);
    EXPECT_EQ(k->nonce, "s1");
    EXPECT_EQ(c.key.rfind(c.channel + "/", 0), 0u);
  }
  // Early in the epoch too: <at> is zero-padded.
  EXPECT_TRUE(keys::parse_message(keys::news_channel(),
                                  keys::news(61'000, "ann", "x")));
}

TEST(Keys, MalformedAndOldFormMessageKeysDoNotParse) {
  const int64_t at = 1'700'000'000'123;
  const std::string m = std::to_string(at / keys::kMinuteMs);
  const std::string say = keys::say_channel("quad");
  for (const std::string& bad : {
           // The old form: the author inside the stamp.
           say + "/" + m + "/1700000000123-ann-s1",
           say + "/" + m + "/1700000000123-s1/ann/x",  // an extra segment
           say + "/" + m + "/1700000000123-s1/",       // no name
           say + "/" + m + "/1700000000123-s1/Ann",    // not a valid name
           say + "/" + m + "/1700000000123-/ann",      // no nonce
           say + "/" + m + "/1700000000123-s-1/ann",   // '-' in the nonce
           say + "/" + m + "/170000000012-s1/ann",     // 12 digits
           say + "/" + m + "/17000000001230-s1/ann",   // 14 digits
           say + "/" + m + "/1700000000123s1/ann",     // no '-'
           say + "/" + m + "1/1700000000123-s1/ann",   // another minute
           say + "/0" + m + "/1700000000123-s1/ann",   // a padded minute
           say + "x/" + m + "/1700000000123-s1/ann",   // another channel
           keys::say("hall", at, "ann", "s1"),
       }) {
    EXPECT_FALSE(keys::parse_message(say, bad)) << bad;
  }
  EXPECT_FALSE(keys::parse_message(keys::tell_channel("ann"),
                                   keys::tell("anna", at, "bob", "s1")));
}

TEST(ParseCount, AcceptsPlainNonNegativeDecimalsOnly) {
  EXPECT_EQ(parse_count("0"), 0);
  EXPECT_EQ(parse_count("42"), 42);
  EXPECT_EQ(parse_count("9223372036854775807"), INT64_MAX);
  EXPECT_FALSE(parse_count("9223372036854775808"));
  EXPECT_FALSE(parse_count(""));
  EXPECT_FALSE(parse_count("-1"));
  EXPECT_FALSE(parse_count("+1"));
  EXPECT_FALSE(parse_count("007"));
  EXPECT_FALSE(parse_count("1e3"));
  EXPECT_FALSE(parse_count(" 1"));
}

TEST(Records, PlayerRoundTripsThroughJson) {
  Player p;
  p.name = "ann";
  p.rank = kPhd;
  p.coins = 1234567890123;
  p.place = "roof";
  p.hardware = {1, 2, 3, 4, 5};
  p.term = 3;
  p.damage = 99;
  p.gift_seq = 4;
  p.claimed = {{"bob", 2}, {"carol", 9}};
  p.pending = {{"bob", 4, 10}};
  p.created_ms = 1;
  p.mined = 2;
  p.given = 3;
  p.received = 4;
  p.rounds = 5;
  p.busy_until_ms = 6;
  auto back = decode_player(encode_player(p));
  ASSERT_TRUE(back.ok()) << back.status().to_string();
  EXPECT_EQ(*back, p);
}

TEST(Records, MalformedRecordsAreDecodeErrorsNotCrashes) {
  for (std::string_view bad :
       {"", "nope", "[]", "{}", R"({"name":5})", R"({"name":"a","rank":99})",
        R"({"name":"a","coins":"many"})", R"({"name":"a","hw":{"cpu":"x"}})",
        R"({"name":"a","pending":[{"to":1}]})"}) {
    auto p = decode_player(bad);
    EXPECT_FALSE(p.ok()) << bad;
    EXPECT_EQ(p.status().code(), ErrorCode::kDecode) << bad;
  }
  EXPECT_FALSE(decode_heartbeat("{").ok());
  EXPECT_FALSE(decode_message(R"({"from":"a"})").ok());
}

TEST(Records, UnknownPlaceFallsBackToTheGate) {
  auto p = decode_player(R"({"name":"a","place":"narnia"})");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->place, kStartPlace);
}

TEST(Records, InvalidUtf8InAMessageStillEncodes) {
  Message m{"ann", "bad \xff byte", 1, false};
  auto back = decode_message(encode_message(m));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->from, "ann");
}

TEST(Records, HeartbeatAndMessageRoundTrip) {
  Heartbeat h{"s1", 10, 20, "quad", 2, true};
  auto hb = decode_heartbeat(encode_heartbeat(h));
  ASSERT_TRUE(hb.ok());
  EXPECT_EQ(hb->session, "s1");
  EXPECT_EQ(hb->login_ms, 10);
  EXPECT_EQ(hb->at_ms, 20);
  EXPECT_EQ(hb->place, "quad");
  EXPECT_EQ(hb->rank, 2);
  EXPECT_TRUE(hb->left);
  Message m{"ann", "hi \"there\"", 5, true};
  auto mm = decode_message(encode_message(m));
  ASSERT_TRUE(mm.ok());
  EXPECT_EQ(mm->text, m.text);
  EXPECT_TRUE(mm->emote);
}

}  // namespace
}  // namespace cmud::game
