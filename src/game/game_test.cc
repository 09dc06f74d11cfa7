#include "cmud/game/game.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "testing/memory_storage.h"

#include <memory>
#include <tuple>

namespace cmud::game {
namespace {

using testing::MemoryStorage;

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;

class GameTest : public ::testing::Test {
 protected:
  // A logged-in session for `name` on the shared store.
  std::unique_ptr<Game> join(const std::string& name, uint64_t seed = 1) {
    auto g = std::make_unique<Game>(store_, clock_,
                                    GameConfig{.seed = seed, .session = ""});
    auto hello = g->login(name);
    EXPECT_TRUE(hello.ok()) << hello.status().to_string();
    EXPECT_TRUE(g->logged_in());
    return g;
  }

  // Writes a player record before its owner logs in.
  void enroll(Player p) {
    ASSERT_TRUE(store_.put(keys::player(p.name), encode_player(p)).ok());
  }

  std::string run(Game& g, std::string_view line) {
    return g.execute(line).text.plain();
  }

  // Each of gs reads what was said so far, then a moment passes: what is
  // said next is new to all of them.
  void quiet(std::initializer_list<Game*> gs) {
    for (Game* g : gs) g->poll();
    clock_.advance(10ms);
  }

  // Walks g's player to `place`, one path at a time.
  void go(Game& g, std::string_view place) {
    for (std::string_view step : route(g.player()->place, place)) {
      EXPECT_THAT(run(g, "move " + std::string(step)),
                  HasSubstr("You walk to"));
    }
    EXPECT_EQ(g.player()->place, place);
  }

  MemoryStorage store_;
  ManualClock clock_;
};

TEST_F(GameTest, ANewPlayerStartsAsAnUndergraduateWithOneCpuAtTheGate) {
  auto ann = join("ann");
  const Player* p = ann->player();
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->rank, kUndergraduate);
  EXPECT_EQ(p->coins, 0);
  EXPECT_EQ(p->place, "gate");
  EXPECT_EQ(p->hardware, (Hardware{1, 0, 0, 0, 0}));
  auto stored = store_.get(keys::player("ann"));
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ(*decode_player(**stored), *p);
  EXPECT_EQ(ann->prompt(), "ann@gate> ");
}

// A store that moved to another server (as ClientStorage does when its
// server fails) is told to the player once, after the command's own text.
TEST(GameMoves, ThePlayerIsToldOnceWhenTheStoreMovedToAnotherServer) {
  class MovingStorage : public MemoryStorage {
   public:
    std::string current_addr() const override { return addr; }
    uint64_t moves() const override { return n; }
    std::string addr = "127.0.0.1:6001";
    uint64_t n = 0;
  } store;
  ManualClock clock;
  Game g(store, clock, GameConfig{.seed = 1, .session = ""});
  ASSERT_TRUE(g.login("ann").ok());
  EXPECT_THAT(g.execute("look").text.plain(), Not(HasSubstr("now on")));
  store.addr = "127.0.0.1:6012";
  store.n = 1;
  const std::string moved = g.execute("look").text.plain();
  EXPECT_THAT(moved, HasSubstr("you are now on 127.0.0.1:6012"));
  EXPECT_LT(moved.find("Gate"), moved.find("now on"));
  EXPECT_THAT(g.execute("look").text.plain(), Not(HasSubstr("now on")));
  store.n = 2;
  EXPECT_THAT(g.poll().text.plain(), HasSubstr("you are now on"));
}

TEST_F(GameTest, AReturningPlayerIsWelcomedBackWithStats) {
  Player p;
  p.name = "ann";
  p.rank = kPhd;
  p.coins = 1234;
  p.place = "roof";
  enroll(p);
  Game g(store_, clock_, {.seed = 1, .session = ""});
  auto hello = g.login("ann");
  ASSERT_TRUE(hello.ok());
  std::string text = hello->plain();
  EXPECT_THAT(text, HasSubstr("Welcome back, ann!"));
  EXPECT_THAT(text, HasSubstr("PhD"));
  EXPECT_THAT(text, HasSubstr("1,234 coins"));
  EXPECT_THAT(text, HasSubstr("the Roof"));
}

TEST_F(GameTest, InvalidNamesAreRefusedAndNameCaseIsFolded) {
  Game g(store_, clock_, {.seed = 1, .session = ""});
  EXPECT_EQ(g.login("ann/x").status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(g.login("").status().code(), ErrorCode::kInvalidArgument);
  EXPECT_EQ(g.login(std::string(25, 'a')).status().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_FALSE(g.logged_in());
  ASSERT_TRUE(g.login("Ann").ok());
  EXPECT_EQ(g.name(), "ann");
}

TEST_F(GameTest, MiningAddsCoinsAndSavesThem) {
  auto ann = join("ann");
  std::string out = run(*ann, "mine 60");
  EXPECT_THAT(out, HasSubstr("You mine 60 times"));
  EXPECT_GT(ann->player()->coins, 40);  // power 1: 90% of 60, give or take
  EXPECT_LE(ann->player()->coins, 60);
  EXPECT_EQ(decode_player(**store_.get(keys::player("ann")))->coins,
            ann->player()->coins);
  EXPECT_THAT(run(*ann, "mine 0"), HasSubstr("1 to 60"));
  EXPECT_THAT(run(*ann, "mine 61"), HasSubstr("1 to 60"));
  EXPECT_THAT(run(*ann, "mine lots"), HasSubstr("1 to 60"));
}

// Work takes a second an attempt or a round, kept in the record, so the
// game follows the time played whatever a client skips (--fast).
TEST_F(GameTest, MiningAndSolvingTakeTimeThatOtherCommandsDoNot) {
  auto ann = join("ann");
  run(*ann, "mine 30");
  int64_t coins = ann->player()->coins;
  EXPECT_EQ(decode_player(**store_.get(keys::player("ann")))->busy_until_ms,
            clock_.now_ms() + 30'000);
  clock_.advance(29'500ms);
  EXPECT_THAT(run(*ann, "mine"), HasSubstr("1 second to go"));
  EXPECT_THAT(run(*ann, "solve"), HasSubstr("catching your breath"));
  EXPECT_EQ(ann->player()->coins, coins);
  EXPECT_THAT(run(*ann, "move quad"), Not(HasSubstr("breath")));
  clock_.advance(500ms);
  EXPECT_THAT(run(*ann, "solve 3"), HasSubstr("You face"));
  EXPECT_THAT(run(*ann, "mine"), HasSubstr("catching your breath"));
  // A clock that went back further than any job holds nobody.
  Player p = *ann->player();
  p.busy_until_ms = clock_.now_ms() + 3'600'000;
  ASSERT_TRUE(store_.put(keys::player("ann"), encode_player(p)).ok());
  auto again = join("ann", 2);
  EXPECT_THAT(run(*again, "mine"), HasSubstr("You mine"));
}

TEST_F(GameTest, BuyingNeedsTheStoreEnoughCoinsAndTheRank) {
  Player p;
  p.name = "ann";
  p.coins = 10;
  enroll(p);
  auto ann = join("ann");
  EXPECT_THAT(run(*ann, "buy cpu"), HasSubstr("move store first"));
  run(*ann, "move store");
  // One CPU owned: the next cost 4, 9, 16, ... (n-th: n x n).
  EXPECT_THAT(run(*ann, "buy cpu 2"),
              HasSubstr("2 CPUs cost 13 coins and you have 10"));
  EXPECT_EQ(ann->player()->coins, 10);  // refused: nothing changed
  EXPECT_EQ(ann->player()->hardware[0], 1);
  EXPECT_THAT(run(*ann, "buy gpu"), HasSubstr("Masters"));
  EXPECT_THAT(run(*ann, "buy toaster"), HasSubstr("no 'toaster'"));
  EXPECT_THAT(run(*ann, "buy cpu"), HasSubstr("You buy 1 CPU for 4 coins"));
  EXPECT_EQ(ann->player()->coins, 6);
  EXPECT_EQ(ann->player()->hardware[0], 2);
  EXPECT_THAT(run(*ann, "shop"), HasSubstr("cpu         9 coins"));
  EXPECT_THAT(run(*ann, "buy cpus max"), HasSubstr("cannot afford even one"));
  p = *ann->player();
  p.coins = 30;
  ASSERT_TRUE(store_.put(keys::player("ann"), encode_player(p)).ok());
  ann = join("ann", 2);
  EXPECT_THAT(run(*ann, "buy cpus max"), HasSubstr("You buy 2 CPUs"));  // 25
  EXPECT_EQ(ann->player()->coins, 5);
  EXPECT_THAT(run(*ann, "buy cpu 99999999999999999"),
              HasSubstr("more coins than exist"));
  EXPECT_EQ(decode_player(**store_.get(keys::player("ann")))->hardware[0], 4);
}

TEST_F(GameTest, ShopShowsWhatTheRankUnlocks) {
  Player p;
  p.name = "ann";
  p.rank = kMasters;
  enroll(p);
  auto ann = join("ann");
  std::string shop = run(*ann, "shop");
  EXPECT_THAT(shop, HasSubstr("gpu         5 coins, power 10"));
  EXPECT_THAT(shop, HasSubstr("asic        unlocks at PhD"));
}

TEST_F(GameTest, AnnDoesNotSeeAnnasHardwareOrGifts) {
  Player anna;
  anna.name = "anna";
  anna.hardware = {50, 0, 0, 0, 0};
  anna.coins = 100;
  enroll(anna);
  auto ann = join("ann");
  EXPECT_THAT(run(*ann, "inv"), HasSubstr("1 CPU (power 1)"));
  EXPECT_EQ(total_power(ann->player()->hardware), 1);
  auto annas = join("anna");
  run(*annas, "give ann 5");
  // A gift to anna (made by bob) must not reach ann.
  Player bob;
  bob.name = "bob";
  bob.coins = 10;
  enroll(bob);
  auto b = join("bob");
  run(*b, "give anna 7");
  run(*ann, "stats");
  run(*annas, "stats");
  EXPECT_EQ(ann->player()->coins, 5);
  EXPECT_EQ(annas->player()->coins, 100 - 5 + 7);
}

TEST_F(GameTest, AStorageErrorKeepsTheGameRunningAndTheNextCommandRetries) {
  auto ann = join("ann");
  store_.set_offline(true);
  Reply r = ann->execute("mine 10");
  EXPECT_FALSE(r.quit);
  EXPECT_THAT(r.text.plain(), HasSubstr("campus network"));
  EXPECT_EQ(ann->player()->coins, 0);
  // Commands that need no store still answer from the session's copy.
  EXPECT_THAT(run(*ann, "inv"), HasSubstr("1 CPU"));
  EXPECT_THAT(run(*ann, "help"), HasSubstr("solve"));
  for (const auto& c : Game::commands()) {
    if (c.name == "quit") continue;
    Reply any = ann->execute(std::string(c.name) + " x");
    EXPECT_FALSE(any.quit) << c.name;
  }
  store_.set_offline(false);
  EXPECT_THAT(run(*ann, "mine 10"), HasSubstr("You mine 10 times"));
  EXPECT_GT(ann->player()->coins, 0);
}

TEST_F(GameTest, AFailedWriteInTheMiddleOfACommandChangesNothing) {
  auto ann = join("ann");
  store_.inject({.count = 1,
                 .code = ErrorCode::kTimeout,
                 .key_prefix = keys::player("ann"),
                 .apply_anyway = false});
  EXPECT_THAT(run(*ann, "mine 5"), HasSubstr("nothing changed"));
  EXPECT_EQ(ann->player()->coins, 0);
}

TEST_F(GameTest, LoginDuringAnOutageIsRetriedByTheNextCommand) {
  store_.set_offline(true);
  Game g(store_, clock_, {.seed = 1, .session = ""});
  auto hello = g.login("ann");
  ASSERT_TRUE(hello.ok());
  EXPECT_THAT(hello->plain(), HasSubstr("campus network"));
  EXPECT_FALSE(g.logged_in());
  EXPECT_THAT(run(g, "stats"), HasSubstr("campus network"));
  store_.set_offline(false);
  std::string out = run(g, "stats");
  EXPECT_TRUE(g.logged_in());
  EXPECT_THAT(out, HasSubstr("Welcome to CMUD"));
  EXPECT_THAT(out, HasSubstr("Undergraduate"));
}

TEST_F(GameTest, AnUnreadableRecordIsLeftAloneNotOverwritten) {
  ASSERT_TRUE(store_.put(keys::player("ann"), "{garbage").ok());
  Game g(store_, clock_, {.seed = 1, .session = ""});
  auto hello = g.login("ann");
  ASSERT_TRUE(hello.ok());
  EXPECT_THAT(hello->plain(), HasSubstr("cannot read"));
  EXPECT_FALSE(g.logged_in());
  EXPECT_EQ(**store_.get(keys::player("ann")), "{garbage");
}

TEST_F(GameTest, SayIsHeardInTheSamePlaceOnly) {
  auto ann = join("ann");
  auto bob = join("bob");
  auto carol = join("carol");
  run(*carol, "move quad");
  quiet({ann.get(), bob.get(), carol.get()});
  EXPECT_THAT(run(*ann, "say hello, campus"), HasSubstr("You say"));
  EXPECT_THAT(bob->poll().text.plain(),
              HasSubstr("ann says: \"hello, campus\""));
  EXPECT_THAT(carol->poll().text.plain(), Not(HasSubstr("hello")));
  // Each message is shown once, and never echoed back to its author.
  EXPECT_THAT(bob->poll().text.plain(), Not(HasSubstr("hello")));
  EXPECT_THAT(ann->poll().text.plain(), Not(HasSubstr("hello")));
  // The next command shows it too, if the player was not idle.
  run(*ann, "say again");
  EXPECT_THAT(run(*bob, "inv"), HasSubstr("ann says: \"again\""));
}

TEST_F(GameTest, EmoteIsSeenInTheSamePlaceOnly) {
  auto ann = join("ann");
  auto bob = join("bob");
  auto carol = join("carol");
  run(*carol, "move quad");
  quiet({bob.get(), carol.get()});
  EXPECT_THAT(run(*ann, "emote waves at everyone"),
              HasSubstr("ann waves at everyone"));
  EXPECT_THAT(bob->poll().text.plain(), HasSubstr("ann waves at everyone"));
  EXPECT_THAT(carol->poll().text.plain(), Not(HasSubstr("waves")));
  EXPECT_THAT(run(*ann, "me yawns"), HasSubstr("ann yawns"));
  EXPECT_THAT(run(*ann, "emote"), HasSubstr("Emote what?"));
}

TEST_F(GameTest, TellReachesOnlyThatPlayerWhereverTheyAre) {
  auto ann = join("ann");
  auto bob = join("bob");
  auto carol = join("carol");
  go(*carol, "roof");
  quiet({bob.get(), carol.get()});
  EXPECT_THAT(run(*ann, "tell carol   meet me  at the gate"),
              HasSubstr("You tell carol: \"meet me  at the gate\""));
  EXPECT_THAT(carol->poll().text.plain(),
              HasSubstr("ann tells you: \"meet me  at the gate\""));
  EXPECT_THAT(bob->poll().text.plain(), Not(HasSubstr("meet me")));
  // Shown once; the next command shows a new one.
  EXPECT_THAT(carol->poll().text.plain(), Not(HasSubstr("meet me")));
  run(*ann, "whisper carol psst");
  EXPECT_THAT(run(*carol, "inv"), HasSubstr("ann tells you: \"psst\""));
  EXPECT_THAT(run(*ann, "tell nobody hi"),
              HasSubstr("no student called nobody"));
  EXPECT_THAT(run(*ann, "tell ann hi"), HasSubstr("mutter to yourself"));
  EXPECT_THAT(run(*ann, "tell carol"), HasSubstr("tell <player> <text>"));
  EXPECT_THAT(run(*ann, "tell bad/name hi"), HasSubstr("not a player's name"));
}

TEST_F(GameTest, LookAtAPlayerHereShowsTheirRankAndHardware) {
  auto ann = join("ann");
  auto bob = join("bob");
  auto carol = join("carol");
  go(*carol, "cafe");
  const std::string at_bob = run(*ann, "look bob");
  EXPECT_THAT(at_bob, HasSubstr("bob, Undergraduate."));
  EXPECT_THAT(at_bob, HasSubstr("(power 1)"));
  EXPECT_THAT(run(*ann, "look Carol"), HasSubstr("You do not see carol here"));
  EXPECT_THAT(run(*ann, "l nobody"), HasSubstr("no student called nobody"));
  EXPECT_THAT(run(*ann, "look ann"), HasSubstr("ann, Undergraduate."));
  EXPECT_THAT(run(*ann, "look"), HasSubstr("Here: bob"));
}

TEST_F(GameTest, LiveMessagesArriveAtOnceWithoutReadingTheStore) {
  auto ann = join("ann");
  auto bob = join("bob");
  auto carol = join("carol");
  run(*carol, "move quad");
  quiet({bob.get(), carol.get()});
  run(*ann, "say hello, campus");
  int calls = store_.calls();
  EXPECT_THAT(bob->live().text.plain(),
              HasSubstr("ann says: \"hello, campus\""));
  EXPECT_THAT(carol->live().text.plain(), Not(HasSubstr("hello")));
  EXPECT_EQ(store_.calls(), calls);  // the feed, not the store
  // Shown once: reading the keys later does not repeat it.
  EXPECT_THAT(bob->poll().text.plain(), Not(HasSubstr("hello")));
  // A player who moves listens where they are now.
  run(*carol, "move gate");
  clock_.advance(10ms);
  run(*ann, "say welcome back");
  EXPECT_THAT(carol->live().text.plain(),
              HasSubstr("ann says: \"welcome back\""));
  EXPECT_EQ(ann->live_fd(), -1);  // the memory store's feed has no fd
}

TEST_F(GameTest, LoginShowsTheLastFewLinesSaidThere) {
  auto ann = join("ann");
  for (int i = 1; i <= 7; ++i) {
    clock_.advance(1s);
    run(*ann, "say line " + std::to_string(i));
  }
  clock_.advance(1s);
  auto bob = std::make_unique<Game>(store_, clock_,
                                    GameConfig{.seed = 2, .session = ""});
  std::string hello = bob->login("bob")->plain();
  EXPECT_THAT(hello, HasSubstr("Lately here:"));
  EXPECT_THAT(hello, Not(HasSubstr("line 2\"")));
  for (int i = 3; i <= 7; ++i) {
    EXPECT_THAT(hello, HasSubstr("ann says: \"line " + std::to_string(i)));
  }
  EXPECT_LT(hello.find("line 3"), hello.find("line 7"));
  // Shown once: the next poll does not repeat them.
  EXPECT_THAT(bob->poll().text.plain(), Not(HasSubstr("line")));
  // Lines older than ten minutes are not recalled.
  clock_.advance(11min);
  auto carol = std::make_unique<Game>(store_, clock_,
                                      GameConfig{.seed = 3, .session = ""});
  EXPECT_THAT(carol->login("carol")->plain(), Not(HasSubstr("Lately here")));
}

TEST_F(GameTest, AMessageWhoseKeyNamesAnotherAuthorIsNotShown) {
  auto ann = join("ann");
  auto bob = join("bob");
  quiet({bob.get()});
  const int64_t now = clock_.now_ms();
  const std::string forged =
      encode_message(Message{"ann", "I owe mallory 100 coins", now, false});
  // mallory may write keys under her own name, claiming to be ann.
  ASSERT_TRUE(store_.put(keys::say("gate", now, "mallory", "m1"), forged).ok());
  // A key of the old form ("<at>-<name>-<nonce>") is skipped too.
  ASSERT_TRUE(store_
                  .put(keys::say_prefix("gate", now / keys::kMinuteMs) +
                           std::to_string(now) + "-ann-m2",
                       forged)
                  .ok());
  ASSERT_TRUE(store_
                  .put(keys::say("gate", now, "mallory", "m3"),
                       encode_message(Message{"mallory", "hi", now, false}))
                  .ok());
  // Pushed, the same check applies.
  ASSERT_TRUE(
      store_
          .publish(keys::say_channel("gate"),
                   keys::say("gate", now, "mallory", "m4") + "\n" + forged)
          .ok());
  std::string heard = bob->live().text.plain() + bob->poll().text.plain();
  EXPECT_THAT(heard, HasSubstr("mallory says: \"hi\""));
  EXPECT_THAT(heard, Not(HasSubstr("owe")));
}

TEST_F(GameTest, WithoutAccountsAPushIsShownAtOnceUnchecked) {
  auto bob = join("bob");
  quiet({bob.get()});
  const int64_t now = clock_.now_ms();
  // Never stored: without accounts a push is believed (anyone could write
  // the key as well).
  ASSERT_TRUE(
      store_
          .publish(keys::say_channel("gate"),
                   keys::say("gate", now, "ann", "m1") + "\n" +
                       encode_message(Message{"ann", "boo", now, false}))
          .ok());
  EXPECT_THAT(bob->live().text.plain(), HasSubstr("ann says: \"boo\""));
}

TEST_F(GameTest, MovingIsSeenByBothPlaces) {
  auto ann = join("ann");
  auto bob = join("bob");
  auto carol = join("carol");
  run(*carol, "move quad");
  quiet({bob.get(), carol.get()});
  std::string out = run(*ann, "move quad");
  EXPECT_THAT(out, HasSubstr("You walk to the Quad"));
  EXPECT_THAT(out, HasSubstr("Here: carol"));
  EXPECT_THAT(out, HasSubstr("Exits: north to the Library, south to the "
                             "Main Gate, east to Cafe Dijkstra, west to "
                             "Turing Lecture Hall."));
  EXPECT_THAT(bob->poll().text.plain(), HasSubstr("ann leaves for the Quad"));
  EXPECT_THAT(carol->poll().text.plain(),
              HasSubstr("ann arrives from the Main Gate"));
  EXPECT_THAT(run(*ann, "move narnia"), HasSubstr("no such place"));
  EXPECT_THAT(run(*ann, "move quad"), HasSubstr("already"));
  EXPECT_EQ(ann->prompt(), "ann@quad> ");
}

TEST_F(GameTest, OnlyNeighbouringPlacesAreOneMoveAwayAndDirectionsWalk) {
  auto ann = join("ann");
  EXPECT_THAT(run(*ann, "move roof"),
              HasSubstr("The Roof is not next to here. The way: north to the "
                        "Quad, then east to Cafe Dijkstra, then east to the "
                        "Off-By-One Bridge, then north to the Faculty "
                        "Corridor, then up to the Roof."));
  EXPECT_EQ(ann->player()->place, "gate");
  EXPECT_THAT(run(*ann, "west"), HasSubstr("You cannot go west from here. "
                                           "Exits: north to the Quad, east "
                                           "to the Campus Store."));
  EXPECT_THAT(run(*ann, "n"), HasSubstr("You walk to the Quad"));
  EXPECT_THAT(run(*ann, "north"), HasSubstr("You walk to the Library"));
  EXPECT_THAT(run(*ann, "d"), HasSubstr("You walk to the Basement Lab"));
  EXPECT_THAT(run(*ann, "up"), HasSubstr("You walk to the Library"));
  EXPECT_THAT(run(*ann, "go"), HasSubstr("Move where? From here: south to "
                                         "the Quad, down to the Basement "
                                         "Lab."));
  EXPECT_EQ(ann->player()->place, "library");
  // Every path leads both ways, and every place can be reached.
  for (const auto& from : places()) {
    for (const Exit& e : exits(from.id)) {
      bool back = false;
      for (const Exit& r : exits(e.to)) back |= r.to == from.id;
      EXPECT_TRUE(back) << from.id << " -> " << e.to;
    }
    for (const auto& to : places()) {
      if (to.id != from.id) {
        EXPECT_FALSE(route(from.id, to.id).empty()) << from.id << to.id;
      }
    }
  }
}

TEST_F(GameTest, MessagesFromOthersCannotCarryTerminalEscapes) {
  auto ann = join("ann");
  auto bob = join("bob");
  bob->poll();
  clock_.advance(10ms);
  run(*ann, "say \x1b[2Jgotcha\x07");
  std::string heard = bob->poll().text.plain();
  EXPECT_THAT(heard, HasSubstr("gotcha"));
  EXPECT_EQ(heard.find('\x1b'), std::string::npos);
  EXPECT_EQ(heard.find('\x07'), std::string::npos);
}

TEST_F(GameTest, MapShowsWhoIsWhereAndSleepersApart) {
  auto ann = join("ann");
  auto bob = join("bob");
  go(*bob, "cafe");
  Player zed;
  zed.name = "zed";
  zed.place = "cafe";
  enroll(zed);  // never logged in: asleep
  std::string map = run(*ann, "map");
  EXPECT_THAT(map, HasSubstr("Cafe Dijkstra (cafe)"));
  EXPECT_THAT(map, HasSubstr("bob, 1 sleeper"));
  EXPECT_THAT(map, HasSubstr("ann (you)"));
}

TEST_F(GameTest, WhoListsOnlyPlayersActiveInTheLastFiveMinutes) {
  auto ann = join("ann");
  auto bob = join("bob");
  EXPECT_THAT(run(*ann, "who"), HasSubstr("bob"));
  clock_.advance(6min);
  std::string who = run(*ann, "who");  // ann's command refreshed her heartbeat
  EXPECT_THAT(who, HasSubstr("ann"));
  EXPECT_THAT(who, Not(HasSubstr("bob")));
  run(*bob, "inv");
  EXPECT_THAT(run(*ann, "who"), HasSubstr("bob"));
  bob->execute("quit");
  EXPECT_THAT(run(*ann, "inv"), HasSubstr("bob heads home"));
  EXPECT_THAT(run(*ann, "who"), Not(HasSubstr("bob")));
}

TEST_F(GameTest, TopRanksByRankThenCoins) {
  for (auto [name, rank, coins] :
       std::vector<std::tuple<std::string, int, int64_t>>{
           {"low", 0, 5000}, {"mid", 2, 1}, {"high", 2, 50}}) {
    Player p;
    p.name = name;
    p.rank = rank;
    p.coins = coins;
    enroll(p);
  }
  auto ann = join("ann");
  std::string top = run(*ann, "top");
  size_t high = top.find("high"), mid = top.find("mid"), low = top.find("low"),
         me = top.find("ann");
  EXPECT_LT(high, mid);
  EXPECT_LT(mid, low);
  EXPECT_LT(low, me);
  EXPECT_THAT(top, HasSubstr("<- you"));
}

TEST_F(GameTest, DefeatingTheProblemPromotesWithAStory) {
  Player p;
  p.name = "ann";
  p.hardware = {1000, 0, 0, 0, 0};
  enroll(p);
  auto ann = join("ann", /*seed=*/3);
  std::string out;
  for (int i = 0; i < 10 && ann->player()->rank == kUndergraduate; ++i) {
    out += run(*ann, "solve 1");
  }
  EXPECT_EQ(ann->player()->rank, kMasters);
  EXPECT_THAT(out, HasSubstr("has fallen"));
  EXPECT_THAT(out, HasSubstr("You are now a Masters"));
  EXPECT_EQ(decode_player(**store_.get(keys::player("ann")))->rank, kMasters);
  // A fresh problem for the new rank, and GPUs on sale.
  EXPECT_THAT(run(*ann, "problem"),
              HasSubstr("The Thesis That Will Not Compile"));
  EXPECT_THAT(run(*ann, "shop"), HasSubstr("gpu         5 coins"));
}

TEST_F(GameTest, EveryCoauthorIsPromotedAndTheNextEditionStartsFresh) {
  Player bob;
  bob.name = "bob";
  bob.hardware = {40, 0, 0, 0, 0};
  enroll(bob);
  Player ann;
  ann.name = "ann";
  ann.hardware = {500, 0, 0, 0, 0};
  enroll(ann);
  auto b = join("bob", 11);
  // bob keeps hitting until he has done some damage, without winning.
  for (int i = 0; i < 20 && b->player()->damage == 0; ++i) run(*b, "solve 1");
  ASSERT_GT(b->player()->damage, 0);
  ASSERT_LT(b->player()->damage, 100);
  auto a = join("ann", 12);
  std::string problem = run(*a, "problem");
  EXPECT_THAT(problem,
              HasSubstr("bob (" + std::to_string(b->player()->damage)));
  for (int i = 0; i < 20 && a->player()->rank == 0; ++i) run(*a, "solve 1");
  ASSERT_EQ(a->player()->rank, kMasters);
  // bob learns of it with his next command, and is a Masters student too.
  EXPECT_THAT(run(*b, "stats"), HasSubstr("You are now a Masters"));
  EXPECT_EQ(b->player()->rank, kMasters);
  // A newcomer faces edition 2, at full health.
  auto c = join("carol");
  std::string fresh = run(*c, "problem");
  EXPECT_THAT(fresh, HasSubstr("edition 2"));
  EXPECT_THAT(fresh, HasSubstr("Health: 100 / 100"));
}

TEST_F(GameTest, BattlesBreakHardwareAndStopWhenNothingIsLeft) {
  auto ann = join("ann", 5);  // one CPU against 100 health
  std::string out;
  for (int i = 0; i < 50 && ann->player()->hardware[0] > 0; ++i) {
    out += run(*ann, "solve 10");
    clock_.advance(10s);  // the battle's work
  }
  EXPECT_EQ(ann->player()->hardware[0], 0);
  EXPECT_THAT(out, HasSubstr("1 CPU overheats. 0 left."));
  EXPECT_THAT(out, HasSubstr("Nothing left to fight with"));
  EXPECT_THAT(run(*ann, "solve"), HasSubstr("no hardware"));
  // Mining by hand still works, so nobody is stuck.
  EXPECT_THAT(run(*ann, "mine 20"), HasSubstr("pencil"));
  EXPECT_GT(ann->player()->coins, 0);
}

TEST_F(GameTest, DamageSurvivesASessionThatDiedBeforeSavingIt) {
  Player p;
  p.name = "ann";
  enroll(p);
  ASSERT_TRUE(store_.put(keys::hit(0, 0, "ann"), "42").ok());
  auto ann = join("ann");
  EXPECT_EQ(ann->player()->term, 0);
  EXPECT_EQ(ann->player()->damage, 42);
}

TEST_F(GameTest, TheRetiredHaveNoProblems) {
  Player p;
  p.name = "old";
  p.rank = kRetired;
  enroll(p);
  auto old = join("old");
  EXPECT_THAT(run(*old, "solve"), HasSubstr("retired"));
  EXPECT_THAT(run(*old, "stats"), HasSubstr("Retired"));
}

TEST_F(GameTest, GiftsAreDeliveredOnceAndRefusedWhenUnaffordable) {
  Player p;
  p.name = "ann";
  p.coins = 10;
  enroll(p);
  auto ann = join("ann");
  auto bob = join("bob");
  EXPECT_THAT(run(*ann, "give bob 11"), HasSubstr("only have 10 coins"));
  EXPECT_THAT(run(*ann, "give nobody 1"),
              HasSubstr("no student called nobody"));
  EXPECT_THAT(run(*ann, "give ann 1"), HasSubstr("pat on the back"));
  EXPECT_THAT(run(*ann, "give bob x"), HasSubstr("positive number"));
  EXPECT_THAT(run(*ann, "give bob 4"), HasSubstr("You give bob 4 coins"));
  EXPECT_EQ(ann->player()->coins, 6);
  clock_.advance(3s);  // idle polls look for gifts every 3 s
  EXPECT_THAT(bob->poll().text.plain(), HasSubstr("ann gave you 4 coins"));
  EXPECT_EQ(bob->player()->coins, 4);
  run(*bob, "stats");
  EXPECT_EQ(bob->player()->coins, 4);  // claimed once only
  EXPECT_EQ(bob->player()->claimed.at("ann"), 1);
}

TEST_F(GameTest, AGiftWhoseWriteFailedIsSentByTheNextCommand) {
  Player p;
  p.name = "ann";
  p.coins = 10;
  enroll(p);
  auto ann = join("ann");
  auto bob = join("bob");
  store_.inject({.count = 1,
                 .code = ErrorCode::kUnavailable,
                 .key_prefix = keys::gift_prefix("bob"),
                 .apply_anyway = false});
  EXPECT_THAT(run(*ann, "give bob 3"), HasSubstr("on its way"));
  EXPECT_EQ(ann->player()->coins, 7);
  run(*bob, "stats");
  EXPECT_EQ(bob->player()->coins, 0);
  run(*ann, "inv");  // retries the pending transfer
  run(*bob, "stats");
  EXPECT_EQ(bob->player()->coins, 3);
}

TEST_F(GameTest, ASecondSessionOfThePlayerTakesOver) {
  auto first = join("ann");
  clock_.advance(1s);
  Game second(store_, clock_, {.seed = 2, .session = ""});
  auto hello = second.login("ann");
  ASSERT_TRUE(hello.ok());
  EXPECT_THAT(hello->plain(), HasSubstr("another window"));
  Reply r = first->execute("mine");
  EXPECT_TRUE(r.quit);
  EXPECT_THAT(r.text.plain(), HasSubstr("logged in somewhere else"));
  EXPECT_FALSE(second.execute("mine").quit);
}

TEST_F(GameTest, HelpListsEveryCommandAndExplainsEach) {
  auto ann = join("ann");
  std::string help = run(*ann, "help");
  for (const auto& c : Game::commands()) {
    EXPECT_THAT(help, HasSubstr(std::string(c.name))) << c.name;
    EXPECT_THAT(run(*ann, "help " + std::string(c.name)),
                HasSubstr(std::string(c.details).substr(0, 20)));
  }
  EXPECT_THAT(run(*ann, "help nope"), HasSubstr("No command called"));
  EXPECT_THAT(run(*ann, "dance"), HasSubstr("Unknown command 'dance'"));
  EXPECT_EQ(run(*ann, "   "), "");
}

TEST_F(GameTest, AliasesAndCaseWork) {
  auto ann = join("ann");
  EXPECT_THAT(run(*ann, "GO quad"), HasSubstr("You walk to the Quad"));
  EXPECT_THAT(run(*ann, "i"), HasSubstr("Your hardware"));
  EXPECT_THAT(run(*ann, "? mine"), HasSubstr("90%"));
}

TEST_F(GameTest, QuitEndsTheSessionAndMarksThePlayerAsGone) {
  auto ann = join("ann");
  Reply r = ann->execute("quit");
  EXPECT_TRUE(r.quit);
  EXPECT_THAT(r.text.plain(), HasSubstr("progress is saved"));
  auto hb = decode_heartbeat(**store_.get(keys::seen("ann")));
  ASSERT_TRUE(hb.ok());
  EXPECT_TRUE(hb->left);
}

TEST_F(GameTest, TabCompletesCommandsPlacesItemsAndPlayers) {
  auto ann = join("ann");
  auto bob = join("bob");
  run(*ann, "who");
  EXPECT_EQ(ann->complete("mo"), std::vector<std::string>{"move"});
  EXPECT_EQ(ann->complete("move li"), std::vector<std::string>{"library"});
  EXPECT_EQ(ann->complete("buy da"), std::vector<std::string>{"dark-matter"});
  EXPECT_EQ(ann->complete("buy cpu m"), std::vector<std::string>{"max"});
  EXPECT_EQ(ann->complete("give b"), std::vector<std::string>{"bob"});
  EXPECT_EQ(ann->complete("help sa"), std::vector<std::string>{"say"});
  EXPECT_EQ(ann->complete("s").size(), 5u);  // south shop stats solve say
  EXPECT_TRUE(ann->complete("dance ").empty());
  EXPECT_EQ(ann->complete("").size(), Game::commands().size());
}

TEST_F(GameTest, TheSameSeedPlaysTheSameGame) {
  MemoryStorage s1, s2;
  ManualClock c1, c2;
  Game a(s1, c1, {.seed = 77, .session = "x"});
  Game b(s2, c2, {.seed = 77, .session = "x"});
  ASSERT_TRUE(a.login("ann").ok());
  ASSERT_TRUE(b.login("ann").ok());
  for (const char* cmd : {"mine 50", "move store", "buy cpu max", "solve 20"}) {
    EXPECT_EQ(a.execute(cmd).text.plain(), b.execute(cmd).text.plain()) << cmd;
  }
}

// The newcomer's findings of the game issue, one test each.

TEST_F(GameTest, AQuoteAloneIsSayAsHelpPromises) {
  auto ann = join("ann");
  auto bob = join("bob");
  bob->poll();
  clock_.advance(10ms);
  EXPECT_THAT(run(*ann, "'hello there"), HasSubstr("You say: \"hello there\""));
  EXPECT_THAT(bob->poll().text.plain(), HasSubstr("ann says: \"hello there\""));
  EXPECT_THAT(run(*ann, "  ' spaced"), HasSubstr("You say: \"spaced\""));
  EXPECT_THAT(run(*ann, "'"), HasSubstr("Say what?"));
}

TEST_F(GameTest, ACommandIsNotAName) {
  Game g(store_, clock_, {.seed = 1, .session = ""});
  for (const char* word : {"quit", "QUIT", "help", "look"}) {
    auto r = g.login(word);
    ASSERT_FALSE(r.ok()) << word;
    EXPECT_THAT(r.status().message(), HasSubstr("is a command"));
  }
  EXPECT_FALSE(store_.get(keys::player("quit"))->has_value());
}

TEST_F(GameTest, PromotionSaysTheRankAsASentence) {
  for (int r = 0; r < kRankCount; ++r) {
    std::string_view you_are = rank_info(r).you_are;
    EXPECT_FALSE(you_are.empty());
    EXPECT_NE(you_are, rank_info(r).name) << "\"You are now a Retired.\"";
  }
  EXPECT_EQ(rank_info(kMasters).you_are, "a Masters student");
  EXPECT_EQ(rank_info(kRetired).you_are, "retired");
}

TEST_F(GameTest, ALongSayIsCutAndThePlayerIsTold) {
  auto ann = join("ann");
  std::string out = run(*ann, "say " + std::string(400, 'a'));
  EXPECT_THAT(out, HasSubstr("You say: \"" + std::string(300, 'a') + "\""));
  EXPECT_THAT(out, HasSubstr("Only the first 300 bytes were sent"));
  EXPECT_THAT(run(*ann, "say short"), Not(HasSubstr("Only the first")));
}

TEST_F(GameTest, AHugeAmountIsMoreThanYouHaveNotANonNumber) {
  Player p;
  p.name = "ann";
  p.coins = 10;
  enroll(p);
  auto ann = join("ann");
  join("bob");
  EXPECT_THAT(run(*ann, "give bob 12345678901234567890123"),
              HasSubstr("only have 10 coins"));
  EXPECT_THAT(run(*ann, "move store"), HasSubstr("Store"));
  EXPECT_THAT(run(*ann, "buy cpu 12345678901234567890123"),
              HasSubstr("cannot afford"));
  EXPECT_THAT(run(*ann, "give bob -5"), HasSubstr("positive number"));
  EXPECT_EQ(ann->player()->coins, 10);
}

// ---- Accounts ---------------------------------------------------------------

// A store with accounts as the play cluster has them: each player on its
// own client of it, signed in to its own account, and allowed to write
// only what the signup template lets it (MemoryStorage refuses the rest).
class AccountsTest : public ::testing::Test {
 protected:
  AccountsTest() { store_.enable_accounts(); }

  // A Game on a client of its own (signed in as nobody yet).
  std::unique_ptr<Game> arrive(uint64_t seed = 1) {
    clients_.push_back(store_.new_client());
    return std::make_unique<Game>(*clients_.back(), clock_,
                                  GameConfig{.seed = seed, .session = ""});
  }

  // A new player: signed up, signed in and logged in.
  std::unique_ptr<Game> join(const std::string& name, uint64_t seed = 1) {
    auto g = arrive(seed);
    EXPECT_EQ(*g->account(name), Account::kFree);
    EXPECT_TRUE(*g->sign_up(name, name + "-password"));
    EXPECT_TRUE(g->sign_in(name, name + "-password").ok());
    auto hello = g->login(name);
    EXPECT_TRUE(hello.ok()) << hello.status().to_string();
    EXPECT_TRUE(g->logged_in());
    return g;
  }

  // What the command says; a refused write would show as storage trouble.
  std::string run(Game& g, std::string_view line) {
    std::string out = g.execute(line).text.plain();
    EXPECT_THAT(out, Not(HasSubstr("campus network"))) << line;
    return out;
  }

  MemoryStorage store_;  // the operator's client: signed in as nobody
  std::vector<std::unique_ptr<MemoryStorage>> clients_;
  ManualClock clock_;
};

TEST_F(AccountsTest, LoginNeedsTheNameSignedInFirst) {
  auto g = arrive();
  EXPECT_EQ(g->login("ann").status().code(), ErrorCode::kDenied);  // free
  EXPECT_EQ(g->sign_up("ann", "short").status().code(),
            ErrorCode::kInvalidArgument);
  EXPECT_EQ(g->account("quit").status().code(), ErrorCode::kInvalidArgument);
  ASSERT_TRUE(*g->sign_up("Ann", "password1"));
  EXPECT_FALSE(*g->sign_up("ann", "password2"));  // taken
  EXPECT_EQ(*g->account("ann"), Account::kTaken);
  EXPECT_EQ(g->login("ann").status().code(), ErrorCode::kDenied);
  EXPECT_EQ(g->sign_in("ann", "password2").code(), ErrorCode::kDenied);
  EXPECT_EQ(g->login("ann").status().code(), ErrorCode::kDenied);
  EXPECT_FALSE(g->logged_in());
  EXPECT_FALSE(store_.get(keys::player("ann"))->has_value());
  ASSERT_TRUE(g->sign_in("ann", "password1").ok());
  auto hello = g->login("ANN");
  ASSERT_TRUE(hello.ok());
  EXPECT_THAT(hello->plain(), HasSubstr("Welcome to CMUD, ann!"));
  // Signed in as ann is not signed in as bob.
  ASSERT_TRUE(*g->sign_up("bob", "password3"));
  EXPECT_EQ(g->login("bob").status().code(), ErrorCode::kDenied);
}

TEST_F(AccountsTest, EveryKeyTheGameWritesInPlayIsThePlayersOwn) {
  Player rich;
  rich.name = "ann";
  rich.coins = 600'000;
  // One hit fells the first problem, even after a loss (a quarter left).
  rich.hardware = {500, 0, 0, 0, 0};
  ASSERT_TRUE(store_.put(keys::player("ann"), encode_player(rich)).ok());
  auto ann = join("ann", 3);
  auto bob = join("bob-ann", 4);  // a name ending in another's
  bob->poll();
  clock_.advance(10ms);
  run(*ann, "mine 5");
  clock_.advance(5s);
  run(*ann, "move store");
  EXPECT_THAT(run(*ann, "buy cpu 2"), HasSubstr("You buy 2 CPUs"));
  run(*ann, "west");
  run(*ann, "say hello");
  run(*ann, "emote waves");
  // Its publish on bob's tell channel is refused; the stored tell is read.
  EXPECT_THAT(run(*ann, "tell bob-ann psst"), HasSubstr("You tell bob-ann"));
  EXPECT_THAT(run(*ann, "give bob-ann 3"), HasSubstr("You give bob-ann 3"));
  std::string fights;
  for (int i = 0; i < 10 && ann->player()->rank == kUndergraduate; ++i) {
    fights += run(*ann, "solve 1");
    clock_.advance(1s);
  }
  EXPECT_THAT(fights, HasSubstr("You are now a Masters"));  // news written
  clock_.advance(3s);
  std::string heard = run(*bob, "stats");
  EXPECT_THAT(heard, HasSubstr("ann says: \"hello\""));
  EXPECT_THAT(heard, HasSubstr("ann waves"));
  EXPECT_THAT(heard, HasSubstr("ann tells you: \"psst\""));
  EXPECT_THAT(heard, HasSubstr("ann gave you 3 coins"));
  EXPECT_THAT(heard, HasSubstr("[campus news] ann was promoted"));
  EXPECT_EQ(bob->player()->coins, 3);
  run(*bob, "say hi ann");
  run(*bob, "north");
  EXPECT_TRUE(ann->execute("quit").quit);
  EXPECT_TRUE(bob->execute("quit").quit);
  EXPECT_TRUE(store_.refused_writes().empty())
      << ::testing::PrintToString(store_.refused_writes());
}

TEST_F(AccountsTest, AForgedPushIsNotShownButTheStoredMessageIs) {
  auto ann = join("ann");
  auto bob = join("bob");
  auto mallory = join("mallory");
  MemoryStorage& mallorys = *clients_.back();
  for (Game* g : {ann.get(), bob.get(), mallory.get()}) g->poll();
  clock_.advance(10ms);
  const int64_t now = clock_.now_ms();
  // Anyone may publish on a place's channel: a message "from ann" that
  // mallory cannot store (the key is ann's) ...
  ASSERT_TRUE(mallorys
                  .publish(keys::say_channel("gate"),
                           keys::say("gate", now, "ann", "zz1") + "\n" +
                               encode_message(
                                   Message{"ann", "pay mallory", now, false}))
                  .ok());
  // ... and one of her own whose push says other than what she stored.
  const std::string key = keys::say("gate", now, "mallory", "zz2");
  ASSERT_TRUE(
      mallorys.put(key, encode_message(Message{"mallory", "hello", now, false}))
          .ok());
  ASSERT_TRUE(mallorys
                  .publish(keys::say_channel("gate"),
                           key + "\n" +
                               encode_message(Message{"mallory", "ann owes me",
                                                      now, false}))
                  .ok());
  // ... and a push under a key of ann's that holds nothing yet: it must
  // not hide what ann writes there (a message whose own push was lost).
  const std::string anns = keys::say("gate", now, "ann", "zz3");
  ASSERT_TRUE(
      mallorys
          .publish(keys::say_channel("gate"),
                   anns + "\n" +
                       encode_message(Message{"mallory", "boo", now, false}))
          .ok());
  EXPECT_EQ(bob->live().text.plain(), "");
  ASSERT_TRUE(
      store_.put(anns, encode_message(Message{"ann", "lost push", now, false}))
          .ok());
  std::string later = bob->poll().text.plain();
  EXPECT_THAT(later, HasSubstr("ann says: \"lost push\""));
  EXPECT_THAT(later, HasSubstr("mallory says: \"hello\""));
  EXPECT_THAT(later, Not(HasSubstr("pay mallory")));
  EXPECT_THAT(later, Not(HasSubstr("owes")));
  // A genuine message is still shown at once (its key holds it).
  run(*ann, "say real");
  EXPECT_THAT(bob->live().text.plain(), HasSubstr("ann says: \"real\""));
}

}  // namespace
}  // namespace cmud::game
