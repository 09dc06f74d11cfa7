// shop and buy: the Campus Store.
#include "command.h"

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "game_internal.h"

namespace cmud::game {

using namespace detail;

Text cmd_shop(PlayerSession& s, const Args&) {
  Text t;
  t.line("The Campus Store catalogue", Style::kTitle);
  for (const auto& h : hardware_catalogue()) {
    std::string id(h.id);
    id.resize(12, ' ');
    if (h.unlock_rank <= s.me().rank) {
      size_t type = static_cast<size_t>(&h - hardware_catalogue().data());
      t.add("  ").add(id, Style::kItem);
      t.add(plural(unit_price(type, s.me().hardware[type]), "coin", "coins") +
            ", power " + with_commas(h.power) + ". ");
      t.line(std::string(h.blurb), Style::kDim);
    } else {
      t.add("  " + id + "unlocks at " +
                std::string(rank_info(h.unlock_rank).name) + ".",
            Style::kDim)
          .line();
    }
  }
  t.line(
      "Prices rise as you buy: your n-th of a kind costs n x n times the "
      "first.",
      Style::kDim);
  t.add("You have ")
      .add(plural(s.me().coins, "coin", "coins"), Style::kCoins)
      .add(".");
  if (s.me().place != kStorePlace) {
    t.add(" (To buy, move store.)", Style::kDim);
  }
  return t.line();
}

Text cmd_buy(PlayerSession& s, const Args& args) {
  Text t;
  if (args.empty()) {
    t.line("Buy what? See shop.");
    return t;
  }
  auto type = find_hardware(ascii_lower(args[0]));
  if (!type) {
    t.line("The store has no '" + sanitize(args[0]) + "'. See shop.");
    return t;
  }
  const HardwareInfo& h = hardware_catalogue()[*type];
  if (s.me().place != kStorePlace) {
    t.line("Hardware is sold at the Campus Store: move store first.");
    return t;
  }
  if (h.unlock_rank > s.me().rank) {
    t.line("The cashier squints at your ID: " + std::string(h.name) +
           "s are for " + std::string(rank_info(h.unlock_rank).name) +
           " students and up.");
    return t;
  }
  const int64_t owned = s.me().hardware[*type];
  int64_t count = 1;
  if (args.size() > 1) {
    std::string c = ascii_lower(args[1]);
    if (c == "max" || c == "all") {
      count = affordable(*type, owned, s.me().coins);
      if (count == 0) {
        t.line("You cannot afford even one " + std::string(h.name) + " (" +
                   plural(unit_price(*type, owned), "coin", "coins") + ").",
               Style::kBad);
        return t;
      }
    } else {
      auto parsed = parse_count(c);
      if (!parsed && is_digits(c)) {
        // More than any int64: certainly more than anyone can afford.
        parsed = std::numeric_limits<int64_t>::max();
      }
      if (!parsed || *parsed < 1) {
        t.line("buy <item> [count|max]: count is a positive number.");
        return t;
      }
      count = *parsed;
    }
  }
  const std::optional<int64_t> cost = price_of(*type, owned, count);
  if (!cost || *cost > s.me().coins) {
    t.add("You cannot afford that: ");
    t.add(with_commas(count) + " " + hardware_name(*type, count) + " cost ");
    if (!cost) {
      t.add("more coins than exist");
    } else {
      t.add(plural(*cost, "coin", "coins"), Style::kCoins);
    }
    t.add(" and you have ")
        .add(plural(s.me().coins, "coin", "coins"), Style::kCoins)
        .line(".");
    return t;
  }
  Player next = s.me();
  next.coins -= *cost;
  next.hardware[*type] = sat_add(next.hardware[*type], count);
  if (Status status = s.save(next); !status.ok()) {
    return s.storage_trouble(status, "The till froze; nothing was bought.");
  }
  t.add("You buy ")
      .add(with_commas(count) + " " + hardware_name(*type, count), Style::kItem)
      .add(" for ")
      .add(plural(*cost, "coin", "coins"), Style::kCoins)
      .add(". Power is now " + with_commas(total_power(next.hardware)) +
           "; you have ")
      .add(plural(next.coins, "coin", "coins"), Style::kCoins)
      .line(" left.");
  return t;
}

std::vector<std::string> complete_buy(const PlayerSession&, size_t index) {
  std::vector<std::string> words;
  if (index == 1) {
    for (const auto& h : hardware_catalogue()) words.emplace_back(h.id);
  } else if (index == 2) {
    words.emplace_back("max");
  }
  return words;
}

}  // namespace cmud::game
