#include "cmud/game/world.h"

#include <gtest/gtest.h>

#include <array>
#include <set>

namespace cmud::game {
namespace {

TEST(Balance, HardwarePricesAndPowersAreTheOriginals) {
  auto hw = hardware_catalogue();
  ASSERT_EQ(hw.size(), 5u);
  const std::array<int64_t, 5> price = {1, 5, 25, 125, 625};
  const std::array<int64_t, 5> power = {1, 10, 100, 1000, 10000};
  const std::array<std::string_view, 5> id = {"cpu", "gpu", "asic", "quantum",
                                              "dark-matter"};
  for (size_t i = 0; i < hw.size(); ++i) {
    EXPECT_EQ(hw[i].id, id[i]);
    EXPECT_EQ(hw[i].price, price[i]);
    EXPECT_EQ(hw[i].power, power[i]);
    EXPECT_EQ(hw[i].unlock_rank, static_cast<int>(i));
  }
}

// The original's names; its healths (100, 1k, 10k, 500k, 10M) raised so
// that the game takes hours (balance_test.cc).
TEST(Balance, RanksAreTheOriginalsAndProblemsHoldForHours) {
  const std::array<std::string_view, 6> names = {
      "Undergraduate", "Masters", "PhD", "PostDoc", "Professor", "Retired"};
  const std::array<int64_t, 6> health = {100,       4'000,      120'000,
                                         2'500'000, 60'000'000, 0};
  for (int r = 0; r < kRankCount; ++r) {
    EXPECT_EQ(rank_info(r).name, names[r]);
    EXPECT_EQ(rank_info(r).health, health[r]);
    if (r > 0) {
      EXPECT_FALSE(rank_info(r).promotion_story.empty());
    }
  }
}

TEST(Balance, TheNthUnitOfAKindCostsNSquaredTimesTheFirst) {
  EXPECT_EQ(unit_price(0, 0), 1);
  EXPECT_EQ(unit_price(0, 1), 4);
  EXPECT_EQ(unit_price(1, 0), 5);
  EXPECT_EQ(unit_price(1, 2), 45);
  EXPECT_EQ(unit_price(4, 9), 62'500);
  EXPECT_EQ(price_of(1, 0, 3), 5 + 20 + 45);
  EXPECT_EQ(price_of(1, 2, 2), 5 * (9 + 16));
  EXPECT_EQ(price_of(1, 0, 0), 0);
  EXPECT_EQ(affordable(1, 0, 69), 2);
  EXPECT_EQ(affordable(1, 0, 70), 3);
  EXPECT_EQ(affordable(4, 0, 624), 0);
  // 1 + 4 + ... + n^2 <= INT64_MAX up to n = 3'024'616.
  EXPECT_EQ(affordable(0, 0, INT64_MAX), 3'024'616);
  // Past INT64_MAX: no price, and no overflow, whatever a record says.
  EXPECT_EQ(unit_price(4, 1'000'000'000), INT64_MAX);
  EXPECT_EQ(unit_price(0, INT64_MAX), INT64_MAX);
  EXPECT_FALSE(price_of(0, 0, INT64_MAX).has_value());
  EXPECT_FALSE(price_of(0, INT64_MAX, 1).has_value());
  EXPECT_EQ(affordable(0, INT64_MAX, INT64_MAX), 0);
}

TEST(Balance, FindHardwareAcceptsIdsAndPlurals) {
  EXPECT_EQ(find_hardware("cpu"), 0u);
  EXPECT_EQ(find_hardware("gpus"), 1u);
  EXPECT_EQ(find_hardware("dark-matter"), 4u);
  EXPECT_FALSE(find_hardware("toaster").has_value());
  EXPECT_FALSE(find_hardware("").has_value());
}

TEST(Balance, TotalPowerSumsCountsTimesPowerAndSaturates) {
  EXPECT_EQ(total_power({3, 2, 1, 0, 0}), 3 + 20 + 100);
  EXPECT_EQ(total_power({0, 0, 0, 0, 0}), 0);
  EXPECT_EQ(total_power({0, 0, 0, 0, INT64_MAX / 2}), INT64_MAX);
}

TEST(Places, EveryPlaceHasAKeySafeIdANameAndADescription) {
  std::set<std::string_view> ids;
  for (const auto& p : places()) {
    EXPECT_TRUE(ids.insert(p.id).second) << p.id;
    for (char c : p.id) EXPECT_TRUE(c >= 'a' && c <= 'z') << p.id;
    EXPECT_FALSE(p.name.empty());
    EXPECT_FALSE(p.description.empty());
  }
  EXPECT_NE(find_place(kStartPlace), nullptr);
  EXPECT_NE(find_place(kStorePlace), nullptr);
  EXPECT_EQ(find_place("narnia"), nullptr);
}

TEST(Odds, MiningSucceedsNinetyPercentOfTheTimeForOneToPowerCoins) {
  Rng rng(42);
  constexpr int kTries = 10000;
  constexpr int64_t kPower = 100;
  int wins = 0;
  int64_t sum = 0;
  for (int i = 0; i < kTries; ++i) {
    int64_t c = mine_once(kPower, rng);
    ASSERT_GE(c, 0);
    ASSERT_LE(c, kPower);
    if (c > 0) {
      ++wins;
      sum += c;
    }
  }
  double rate = static_cast<double>(wins) / kTries;
  EXPECT_NEAR(rate, 0.90, 0.015);
  double mean = static_cast<double>(sum) / wins;
  EXPECT_NEAR(mean, (kPower + 1) / 2.0, 2.0);
}

TEST(Odds, MiningWithoutHardwareStillEarnsOneCoinByHand) {
  Rng rng(7);
  int64_t best = 0;
  for (int i = 0; i < 100; ++i) best = std::max(best, mine_once(0, rng));
  EXPECT_EQ(best, 1);
}

TEST(Odds, BattleRoundsAreFifteenLossEightyProgressFiveNothing) {
  Rng rng(1234);
  constexpr int kTries = 10000;
  int loss = 0, progress = 0, nothing = 0;
  for (int i = 0; i < kTries; ++i) {
    switch (roll_round(rng)) {
      case RoundOutcome::kLoss:
        ++loss;
        break;
      case RoundOutcome::kProgress:
        ++progress;
        break;
      case RoundOutcome::kNothing:
        ++nothing;
        break;
    }
  }
  EXPECT_NEAR(loss / double(kTries), 0.15, 0.015);
  EXPECT_NEAR(progress / double(kTries), 0.80, 0.015);
  EXPECT_NEAR(nothing / double(kTries), 0.05, 0.01);
}

TEST(Odds, SameSeedSameRolls) {
  Rng a(99), b(99);
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(mine_once(1000, a), mine_once(1000, b));
    ASSERT_EQ(roll_round(a), roll_round(b));
  }
}

TEST(HardwareLoss, OneOwnedTypeDropsToAQuarterRoundedDown) {
  Rng rng(5);
  for (int i = 0; i < 200; ++i) {
    Hardware hw{10, 0, 7, 0, 3};
    Hardware before = hw;
    auto loss = lose_hardware(hw, rng);
    ASSERT_TRUE(loss.has_value());
    EXPECT_NE(before[loss->type], 0);  // only owned types break
    EXPECT_EQ(loss->before, before[loss->type]);
    EXPECT_EQ(loss->after, before[loss->type] / 4);
    for (size_t t = 0; t < kHardwareCount; ++t) {
      EXPECT_EQ(hw[t], t == loss->type ? before[t] / 4 : before[t]);
    }
  }
}

TEST(HardwareLoss, EveryOwnedTypeCanBreak) {
  Rng rng(6);
  std::set<size_t> broke;
  for (int i = 0; i < 300; ++i) {
    Hardware hw{4, 4, 0, 4, 0};
    broke.insert(lose_hardware(hw, rng)->type);
  }
  EXPECT_EQ(broke, (std::set<size_t>{0, 1, 3}));
}

TEST(HardwareLoss, NothingOwnedMeansNothingToLose) {
  Rng rng(1);
  Hardware hw{};
  EXPECT_FALSE(lose_hardware(hw, rng).has_value());
}

TEST(HardwareLoss, ASingleMachineIsLostCompletely) {
  Rng rng(1);
  Hardware hw{1, 0, 0, 0, 0};
  auto loss = lose_hardware(hw, rng);
  ASSERT_TRUE(loss.has_value());
  EXPECT_EQ(hw[0], 0);
}

}  // namespace
}  // namespace cmud::game
