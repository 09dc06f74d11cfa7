// End to end: two real storage servers (two query actors each, the second
// joining the first) in this process on free loopback ports, and two
// players, one on each server, playing at the same time through
// cmud::game::Game over the real client. The servers talk with 200 ms of
// emulated one-way latency, as in the original suite's remote tests.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <poll.h>

#include <stdlib.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <latch>
#include <memory>
#include <string>
#include <thread>

#include "cmud/game/game.h"
#include "cmud/game/storage.h"
#include "cmud/server/server.h"

namespace cmud::game {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

// The remote sync deadline: a Put is visible on every server within
// 2 s. Waits below allow this plus a little for the game's own queries.
constexpr auto kSyncDeadline = 2000ms;
constexpr auto kSlack = 500ms;

std::string join_addrs(const std::vector<std::string>& addrs) {
  std::string out;
  for (const auto& a : addrs) out += (out.empty() ? "" : ",") + a;
  return out;
}

// Polls `done` every 20 ms for up to `limit`; returns the time it took, or
// nullopt.
std::optional<std::chrono::milliseconds> within(
    std::chrono::milliseconds limit, const std::function<bool()>& done) {
  auto start = Clock::now();
  while (true) {
    if (done()) {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
          Clock::now() - start);
    }
    if (Clock::now() - start > limit) return std::nullopt;
    std::this_thread::sleep_for(20ms);
  }
}

class TwoServers : public ::testing::Test {
 protected:
  void SetUp() override {
    server::ServerConfig a;
    a.port = 0;
    a.actors = 2;
    a.serialize_local_messages = true;
    // The original suite's geo setting: 200 ms one way between servers.
    a.emulated_latency = 200ms;
    start(a);
  }

  // Server a with config `a`, then b joining it, and a store on each.
  void start(const server::ServerConfig& a) {
    auto sa = server::Server::start(a);
    ASSERT_TRUE(sa.ok()) << sa.status().to_string();
    a_ = std::move(*sa);
    server::ServerConfig b = a;
    b.join = {a_->description()};
    auto sb = server::Server::start(b);
    ASSERT_TRUE(sb.ok()) << sb.status().to_string();
    b_ = std::move(*sb);
    auto ca = ClientStorage::connect(join_addrs(a_->query_addrs()));
    auto cb = ClientStorage::connect(join_addrs(b_->query_addrs()));
    ASSERT_TRUE(ca.ok() && cb.ok());
    store_a_ = std::move(*ca);
    store_b_ = std::move(*cb);
  }

  void TearDown() override {
    store_a_.reset();
    store_b_.reset();
    if (b_) b_->stop();
    if (a_) a_->stop();
  }

  std::unique_ptr<Game> play(Storage& store, const std::string& name,
                             uint64_t seed) {
    auto g = std::make_unique<Game>(store, clock_,
                                    GameConfig{.seed = seed, .session = ""});
    auto hello = g->login(name);
    EXPECT_TRUE(hello.ok());
    EXPECT_TRUE(g->logged_in()) << hello->plain();
    return g;
  }

  void enroll(Storage& store, const std::string& name, int64_t coins,
              int64_t cpus) {
    Player p;
    p.name = name;
    p.coins = coins;
    p.hardware = {cpus, 0, 0, 0, 0};
    ASSERT_TRUE(store.put(keys::player(name), encode_player(p)).ok());
  }

  // Waits until both servers hold both records.
  void wait_for_records(const std::vector<std::string>& names) {
    for (Storage* s : {store_a_.get(), store_b_.get()}) {
      for (const auto& n : names) {
        ASSERT_TRUE(within(kSyncDeadline + kSlack, [&] {
          auto r = s->get(keys::player(n));
          return r.ok() && r->has_value();
        })) << n;
      }
    }
  }

  SystemClock clock_;
  std::unique_ptr<server::Server> a_, b_;
  std::unique_ptr<ClientStorage> store_a_, store_b_;
};

TEST_F(TwoServers, PlayersOnDifferentServersSeeEachOtherAndHearEachOther) {
  auto ann = play(*store_a_, "ann", 1);
  auto bob = play(*store_b_, "bob", 2);
  bob->execute("move quad");
  auto moved = Clock::now();
  ann->execute("move quad");
  auto seen = within(kSyncDeadline, [&] {
    std::string map = bob->execute("map").text.plain();
    size_t quad = map.find("(quad)");
    size_t eol = map.find('\n', quad);
    return map.substr(quad, eol - quad).find("ann") != std::string::npos;
  });
  ASSERT_TRUE(seen) << "bob never saw ann on the map";
  EXPECT_LT(Clock::now() - moved, kSyncDeadline);

  bob->poll();  // drain the arrival notices
  auto said = Clock::now();
  ann->execute("say hello from server A");
  std::string heard;
  auto got = within(kSyncDeadline, [&] {
    heard += bob->poll().text.plain();
    return heard.find("hello from server A") != std::string::npos;
  });
  ASSERT_TRUE(got) << "bob heard: " << heard;
  EXPECT_LT(Clock::now() - said, kSyncDeadline);
  EXPECT_THAT(heard, HasSubstr("ann says: \"hello from server A\""));

  // And the other way round, through the next command instead of a poll.
  bob->execute("say hi ann");
  std::string back;
  ASSERT_TRUE(within(kSyncDeadline, [&] {
    back += ann->execute("inv").text.plain();
    return back.find("hi ann") != std::string::npos;
  }));
  EXPECT_THAT(ann->execute("who").text.plain(), HasSubstr("bob"));
}

// Waits (bounded) until the game's live feed is readable, then takes it.
std::string live_within(Game& g, std::chrono::milliseconds limit) {
  pollfd p{g.live_fd(), POLLIN, 0};
  if (p.fd < 0 || ::poll(&p, 1, static_cast<int>(limit.count())) != 1) {
    return {};
  }
  return g.live().text.plain();
}

TEST_F(TwoServers, ChatIsPushedToAPlayerOnTheOtherServer) {
  auto ann = play(*store_a_, "ann", 1);
  auto bob = play(*store_b_, "bob", 2);
  ASSERT_GE(bob->live_fd(), 0) << "the real store has a live feed";
  bob->poll();
  // Until server A knows B, a message has nowhere to go but the store:
  // say something until the feed brings one.
  bool linked = false;
  for (int i = 0; i < 20 && !linked; ++i) {
    ann->execute("say warming up " + std::to_string(i));
    linked = !live_within(*bob, 300ms).empty();
  }
  ASSERT_TRUE(linked) << "no message reached server B's feed";
  std::this_thread::sleep_for(400ms);
  bob->poll();  // whatever else was on its way
  auto said = Clock::now();
  ann->execute("say hello, fast");
  std::string heard;
  while (heard.find("hello, fast") == std::string::npos &&
         Clock::now() - said < kSyncDeadline) {
    heard += live_within(*bob, 100ms);
  }
  auto took = Clock::now() - said;
  EXPECT_THAT(heard, HasSubstr("ann says: \"hello, fast\""));
  // 200 ms one way plus at most one sync spacing: well inside the
  // remote deadline, with no store read.
  EXPECT_LT(took, kSyncDeadline);
  // The store has it too, so polling does not show it again.
  EXPECT_THAT(bob->poll().text.plain(),
              ::testing::Not(HasSubstr("hello, fast")));
}

TEST_F(TwoServers, BothFightingTheSameProblemAtOnceLoseNoDamage) {
  enroll(*store_a_, "ann", 0, 10);  // power 10 each: 4 rounds each
  enroll(*store_b_, "bob", 0, 10);  // cannot beat 100 health together
  auto ann = play(*store_a_, "ann", 3);
  auto bob = play(*store_b_, "bob", 4);
  std::latch start(2);
  auto fight = [&](Game& g) {
    start.arrive_and_wait();
    for (int i = 0; i < 4; ++i) g.execute("solve 1");
  };
  std::thread ta(fight, std::ref(*ann));
  std::thread tb(fight, std::ref(*bob));
  ta.join();
  tb.join();
  int64_t dealt = ann->player()->damage + bob->player()->damage;
  ASSERT_GT(ann->player()->damage, 0);
  ASSERT_GT(bob->player()->damage, 0);
  ASSERT_LT(dealt, 100);
  std::string want = "Health: " + std::to_string(100 - dealt) + " / 100";
  for (Game* g : {ann.get(), bob.get()}) {
    std::string last;
    EXPECT_TRUE(within(kSyncDeadline + kSlack,
                       [&] {
                         last = g->execute("problem").text.plain();
                         return last.find(want) != std::string::npos;
                       }))
        << g->name() << " sees: " << last << " want: " << want;
  }
  // The grow-only sum, read straight from each server.
  for (Storage* s : {store_a_.get(), store_b_.get()}) {
    auto hits = s->list(keys::hit_prefix(0));
    ASSERT_TRUE(hits.ok());
    int64_t sum = 0;
    for (const auto& kv : *hits) sum += *parse_count(kv.second);
    EXPECT_EQ(sum, dealt);
  }
}

TEST_F(TwoServers, GiftsBetweenServersAtOnceConserveCoins) {
  enroll(*store_a_, "ann", 100, 1);
  enroll(*store_b_, "bob", 50, 1);
  wait_for_records({"ann", "bob"});
  auto ann = play(*store_a_, "ann", 5);
  auto bob = play(*store_b_, "bob", 6);
  std::latch start(2);
  std::string said_a, said_b;
  std::thread ta([&] {
    start.arrive_and_wait();
    said_a = ann->execute("give bob 30").text.plain();
  });
  std::thread tb([&] {
    start.arrive_and_wait();
    said_b = bob->execute("give ann 20").text.plain();
  });
  ta.join();
  tb.join();
  EXPECT_THAT(said_a, HasSubstr("You give bob 30 coins"));
  EXPECT_THAT(said_b, HasSubstr("You give ann 20 coins"));
  EXPECT_TRUE(within(kSyncDeadline + kSlack,
                     [&] {
                       ann->execute("stats");
                       bob->execute("stats");
                       return ann->player()->coins == 90 &&
                              bob->player()->coins == 60;
                     }))
      << "ann " << ann->player()->coins << ", bob " << bob->player()->coins;
  EXPECT_EQ(ann->player()->coins + bob->player()->coins, 150);
  // What the servers hold agrees, once synced.
  EXPECT_TRUE(within(kSyncDeadline + kSlack, [&] {
    int64_t total = 0;
    for (const char* n : {"ann", "bob"}) {
      auto r = store_a_->get(keys::player(n));
      if (!r.ok() || !r->has_value()) return false;
      total += decode_player(**r)->coins;
    }
    return total == 150;
  }));
}

// ---- Accounts ---------------------------------------------------------------

// Two servers with accounts, as `make play` runs them: whoever connects is
// `default`, who may only connect, PING and sign up.
class AccountsOnTwoServers : public TwoServers {
 protected:
  void SetUp() override {
    char dir[] = "/tmp/cmud-game-e2e-XXXXXX";
    ASSERT_NE(::mkdtemp(dir), nullptr);
    dir_ = dir;
    const std::string acl = dir_ + "/users.acl";
    std::FILE* f = std::fopen(acl.c_str(), "w");
    ASSERT_NE(f, nullptr);
    std::fputs(
        "user default on nopass -@all +@connection -@dangerous +acl|signup "
        "resetkeys resetchannels\n",
        f);
    std::fclose(f);
    server::ServerConfig a;
    a.port = 0;
    a.actors = 1;
    a.emulated_latency = 50ms;
    a.aclfile = acl;
    a.signup_rules = kSignupRules;
    start(a);
  }

  void TearDown() override {
    TwoServers::TearDown();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  // A new player on `store`: signed up, signed in, logged in.
  std::unique_ptr<Game> sign_up(Storage& store, const std::string& name,
                                uint64_t seed) {
    auto g = std::make_unique<Game>(store, clock_,
                                    GameConfig{.seed = seed, .session = ""});
    auto account = g->account(name);
    EXPECT_TRUE(account.ok()) << account.status().to_string();
    EXPECT_EQ(*account, Account::kFree);
    auto made = g->sign_up(name, name + "-password");
    EXPECT_TRUE(made.ok() && *made) << made.status().to_string();
    EXPECT_EQ(*g->account(name), Account::kTaken);
    EXPECT_EQ(g->sign_in(name, "not-" + name + "-password").code(),
              ErrorCode::kDenied);
    Status in = g->sign_in(name, name + "-password");
    EXPECT_TRUE(in.ok()) << in.to_string();
    auto hello = g->login(name);
    EXPECT_TRUE(hello.ok()) << hello.status().to_string();
    EXPECT_THAT(hello->plain(), HasSubstr("Welcome to CMUD, " + name));
    return g;
  }

  std::string dir_;
};

TEST_F(AccountsOnTwoServers, PlayersSignUpAndWriteOnlyTheirOwnKeys) {
  auto ann = sign_up(*store_a_, "ann", 1);
  auto bob = sign_up(*store_b_, "bob", 2);
  wait_for_records({"ann", "bob"});  // tell asks whether bob exists
  bob->poll();
  std::string said;
  for (const char* line : {"mine 20", "say hello from an account",
                           "emote waves", "tell bob psst", "move quad"}) {
    said += ann->execute(line).text.plain();
  }
  EXPECT_THAT(said, ::testing::Not(HasSubstr("campus network")));
  EXPECT_THAT(said, HasSubstr("You tell bob: \"psst\""));
  // The tell's publish on bob's channel was refused; the key reaches him.
  std::string heard;
  EXPECT_TRUE(within(kSyncDeadline + kSlack, [&] {
    heard += bob->poll().text.plain();
    return heard.find("psst") != std::string::npos &&
           heard.find("hello from an account") != std::string::npos;
  })) << heard;
  EXPECT_THAT(heard, HasSubstr("ann says: \"hello from an account\""));
  EXPECT_THAT(heard, HasSubstr("ann waves"));
  EXPECT_THAT(heard, HasSubstr("ann tells you: \"psst\""));
  // Signed in as ann, another player's keys are out of reach.
  Status forged = store_a_->put(keys::player("bob"), "{}");
  EXPECT_FALSE(forged.ok());
  EXPECT_THAT(forged.message(), HasSubstr("NOPERM"));
  EXPECT_FALSE(
      store_a_->put(keys::say("gate", clock_.now_ms(), "bob", "x"), "{}").ok());
  EXPECT_TRUE(ann->execute("quit").quit);
}

TEST_F(AccountsOnTwoServers, ATakenNameNeedsItsPassword) {
  auto ann = sign_up(*store_a_, "ann", 1);
  auto other = ClientStorage::connect(join_addrs(a_->query_addrs()));
  ASSERT_TRUE(other.ok());
  Game g(**other, clock_, {.seed = 3, .session = ""});
  EXPECT_EQ(*g.account("ann"), Account::kTaken);
  EXPECT_FALSE(*g.sign_up("ann", "mallorys-password"));
  EXPECT_EQ(g.sign_in("ann", "mallorys-password").code(), ErrorCode::kDenied);
  EXPECT_EQ(g.login("ann").status().code(), ErrorCode::kDenied);
  EXPECT_FALSE(g.logged_in());
}

TEST_F(TwoServers, AServerWithoutSignupHasNoAccounts) {
  Game g(*store_a_, clock_, {.seed = 1, .session = ""});
  auto account = g.account("ann");
  ASSERT_TRUE(account.ok()) << account.status().to_string();
  EXPECT_EQ(*account, Account::kNone);
  EXPECT_TRUE(g.login("ann").ok());
  EXPECT_TRUE(g.logged_in());
}

}  // namespace
}  // namespace cmud::game
