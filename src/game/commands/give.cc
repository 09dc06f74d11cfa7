// give: coins from one player to another.
#include "command.h"

#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "game_internal.h"

namespace cmud::game {

using namespace detail;

Text cmd_give(PlayerSession& s, const Args& args) {
  Text t;
  if (args.size() != 2) {
    t.line("give <player> <coins>");
    return t;
  }
  auto to = player_arg(args[0], t);
  if (!to) return t;
  if (*to == s.name()) {
    t.line("You give yourself a pat on the back. Coins stay where they are.");
    return t;
  }
  auto amount = parse_count(args[1]);
  if (!amount && is_digits(args[1])) {
    // A number too large to hold is still more than anyone has.
    amount = std::numeric_limits<int64_t>::max();
  }
  if (!amount || *amount < 1) {
    t.line("give <player> <coins>: coins is a positive number.");
    return t;
  }
  if (*amount > s.me().coins) {
    t.add("You only have ")
        .add(plural(s.me().coins, "coin", "coins"), Style::kCoins)
        .line(".");
    return t;
  }
  auto exists = s.store().get(keys::player(*to));
  if (!exists.ok())
    return s.storage_trouble(exists.status(), "Nothing was given.");
  if (!exists->has_value()) {
    no_such_student(t, *to);
    return t;
  }
  s.remember_player(*to);
  // One write takes the coins and records the transfer as pending; only
  // then is the transfer written (to a key nobody else writes). If that
  // second write fails, the next command writes it again.
  Player next = s.me();
  next.coins -= *amount;
  next.given = sat_add(next.given, *amount);
  next.gift_seq += 1;
  next.pending.push_back(PendingGift{*to, next.gift_seq, *amount});
  if (Status status = s.save(next); !status.ok()) {
    return s.storage_trouble(status, "Nothing was given.");
  }
  t.add("You give ")
      .add(*to, Style::kPlayer)
      .add(" ")
      .add(plural(*amount, "coin", "coins"), Style::kCoins)
      .add(". You have ")
      .add(plural(next.coins, "coin", "coins"), Style::kCoins)
      .line(" left.");
  if (Status status = s.retry_pending(); !status.ok()) {
    t.line(
        "(The transfer is on its way; it will be sent as soon as the "
        "network lets it.)",
        Style::kDim);
  }
  return t;
}

std::vector<std::string> complete_give(const PlayerSession& s, size_t index) {
  std::vector<std::string> names;
  if (index == 1) {
    for (const auto& n : s.known_players()) {
      if (n != s.name()) names.push_back(n);
    }
  }
  return names;
}

}  // namespace cmud::game
