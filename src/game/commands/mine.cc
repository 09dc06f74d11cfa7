// mine: earning coins.
#include "command.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <string>

#include "game_internal.h"

namespace cmud::game {

using namespace detail;

Text cmd_mine(PlayerSession& s, const Args& args) {
  Text t;
  int64_t n = 1;
  if (!args.empty()) {
    auto parsed = parse_count(args[0]);
    if (!parsed || *parsed < 1 || *parsed > kMaxMine) {
      t.line("mine [n]: n is a number from 1 to " + std::to_string(kMaxMine) +
             ".");
      return t;
    }
    n = *parsed;
  }
  if (!s.ready_to_work(t)) return t;
  int64_t power = total_power(s.me().hardware);
  if (power == 0) {
    t.line("You have no hardware, so you mine by hand with pencil and paper.",
           Style::kDim);
  }
  auto beat = std::chrono::milliseconds(std::min<int64_t>(400, 2000 / n));
  Text log;
  int64_t earned = 0;
  int64_t wins = 0;
  for (int64_t i = 0; i < n; ++i) {
    int64_t coins = mine_once(power, s.rng());
    if (coins > 0) ++wins;
    earned = sat_add(earned, coins);
    log.pause(beat);
    if (n <= 5) {
      if (coins > 0) {
        log.add("You mine ")
            .add(plural(coins, "coin", "coins"), Style::kCoins)
            .line(".");
      } else {
        log.line(std::string(pick(mining_failures(), s.rng())), Style::kBad);
      }
    }
  }
  Player next = s.me();
  next.coins = sat_add(next.coins, earned);
  next.mined = sat_add(next.mined, earned);
  s.worked(next, n);
  if (Status status = s.save(next); !status.ok()) {
    return s.storage_trouble(status,
                             "The coins you mined were lost in transit; "
                             "nothing changed.");
  }
  t.append(log);
  if (n > 5) {
    t.add("You mine " + std::to_string(n) + " times (" + std::to_string(wins) +
          " successes) and earn ")
        .add(plural(earned, "coin", "coins"), Style::kCoins)
        .line(".");
  }
  t.add("You have ")
      .add(plural(next.coins, "coin", "coins"), Style::kCoins)
      .line(".");
  if (n * kWorkMs >= 10'000) {
    t.line("That was " + std::to_string(n * kWorkMs / 1000) +
               " seconds of work; you rest as long.",
           Style::kDim);
  }
  return t;
}

}  // namespace cmud::game
