// The progression's curve, measured with a simulated player who plays alone
// by the game's own rules (world.h) at a human pace, and plays well: mine
// in full batches, buy the most power per coin, fight when the problem can
// fall within about 25 rounds. Its times are what docs/GAME.md shows:
//   build/bin/cmud_game_test --gtest_filter='Balance.ASoloPlayer*'
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "cmud/game/world.h"
#include "game_internal.h"

namespace cmud::game {
namespace {

// A player types a command every few seconds (reading, deciding).
constexpr int64_t kThinkMs = 5'000;
// It fights once its power brings the problem down in about this many
// rounds on average (a round does damage 80% of the time), `solve 20` at
// a time: longer fights break too much hardware.
constexpr double kFightWithin = 25;
constexpr int64_t kRoundsPerSolve = 20;
constexpr int64_t kGiveUpMs = 24 * 3'600'000LL;

// The time (ms of play) at which the player reached each rank after the
// first; fewer entries if it had not retired within kGiveUpMs.
std::vector<int64_t> play_alone(uint64_t seed) {
  Rng rng(seed);
  Hardware hw{1, 0, 0, 0, 0};  // a new player's hand-me-down CPU
  int64_t coins = 0;
  int rank = kUndergraduate;
  int64_t health = rank_info(rank).health;
  int64_t t = 0;
  std::vector<int64_t> reached;
  while (rank < kRetired && t < kGiveUpMs) {
    int64_t power = std::max<int64_t>(1, total_power(hw));
    t += kThinkMs;
    if (total_power(hw) > 0 &&
        health <= kFightWithin * 0.8 * static_cast<double>(power)) {
      for (int64_t r = 0; r < kRoundsPerSolve && total_power(hw) > 0; ++r) {
        t += kWorkMs;
        RoundOutcome o = roll_round(rng);
        if (o == RoundOutcome::kLoss) {
          (void)lose_hardware(hw, rng);
        } else if (o == RoundOutcome::kProgress) {
          health -= total_power(hw);
        }
        if (health <= 0) {
          reached.push_back(t);
          ++rank;
          health = rank_info(rank).health;
          break;
        }
      }
      continue;
    }
    // The most power per coin on sale at this rank.
    auto best = [&] {
      size_t b = 0;
      for (size_t i = 1; i < kHardwareCount; ++i) {
        if (hardware_catalogue()[i].unlock_rank > rank) continue;
        auto value = [&](size_t k) {
          return static_cast<double>(hardware_catalogue()[k].power) /
                 static_cast<double>(unit_price(k, hw[k]));
        };
        if (value(i) > value(b)) b = i;
      }
      return b;
    };
    if (coins >= unit_price(best(), hw[best()])) {
      // One buy command per type, the best first, while coins last.
      for (size_t b = best(); coins >= unit_price(b, hw[b]); b = best()) {
        coins -= unit_price(b, hw[b]);
        ++hw[b];
      }
      continue;
    }
    for (int64_t a = 0; a < detail::kMaxMine; ++a) {
      t += kWorkMs;
      coins += mine_once(power, rng);
    }
  }
  return reached;
}

TEST(Balance, ASoloPlayerRetiresInHoursAndEachRankTakesLonger) {
  constexpr int kSeeds = 21;
  std::vector<std::vector<int64_t>> at(kRetired);  // per rank reached
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    auto reached = play_alone(seed);
    ASSERT_EQ(reached.size(), static_cast<size_t>(kRetired))
        << "seed " << seed << " did not retire within a day";
    for (int r = 0; r < kRetired; ++r) at[r].push_back(reached[r]);
  }
  auto minutes = [](int64_t ms) { return static_cast<double>(ms) / 60'000; };
  std::printf(
      "rank reached   median  10%%  90%%  (minutes of play, %d seeds)\n",
      kSeeds);
  std::vector<double> median(kRetired);
  for (int r = 0; r < kRetired; ++r) {
    std::sort(at[r].begin(), at[r].end());
    median[r] = minutes(at[r][kSeeds / 2]);
    std::printf("%-13s %7.1f %5.1f %5.1f\n",
                std::string(rank_info(r + 1).name).c_str(), median[r],
                minutes(at[r][kSeeds / 10]),
                minutes(at[r][kSeeds - 1 - kSeeds / 10]));
  }
  // A first promotion soon enough to hook a newcomer, then each rank
  // longer than the one before, and hours to retire.
  EXPECT_LE(median[0], 10.0);
  for (int r = 1; r < kRetired; ++r) {
    EXPECT_GT(median[r] - median[r - 1],
              r == 1 ? median[0] : median[r - 1] - median[r - 2])
        << rank_info(r + 1).name;
  }
  EXPECT_GE(median[kRetired - 1], 3 * 60.0);
  EXPECT_LE(median[kRetired - 1], 6 * 60.0);
}

}  // namespace
}  // namespace cmud::game
