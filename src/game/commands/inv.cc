// inv: the player's hardware.
#include "command.h"

#include <cstddef>
#include <cstdint>
#include <string>

#include "game_internal.h"

namespace cmud::game {

using namespace detail;

Text cmd_inv(PlayerSession& s, const Args&) {
  Text t;
  t.line("Your hardware", Style::kTitle);
  bool any = false;
  for (size_t i = 0; i < kHardwareCount; ++i) {
    int64_t n = s.me().hardware[i];
    if (n <= 0) continue;
    any = true;
    const HardwareInfo& h = hardware_catalogue()[i];
    t.add("  ")
        .add(with_commas(n) + " " + hardware_name(i, n), Style::kItem)
        .line(" (power " + with_commas(n * h.power) + ")");
  }
  if (!any) t.line("  Nothing but a pencil.", Style::kDim);
  t.add("Total power: " + with_commas(total_power(s.me().hardware)) + ". ");
  t.add("Coins: ").add(with_commas(s.me().coins), Style::kCoins).line(".");
  return t;
}

}  // namespace cmud::game
