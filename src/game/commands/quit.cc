// quit: leaving the game.
#include "command.h"

#include <string>

namespace cmud::game {

Text cmd_quit(PlayerSession& s, const Args&) {
  s.set_quitting();
  Text t;
  if (s.logged_in()) {
    (void)s.retry_pending();
    (void)s.post(s.me().place, "heads home to sleep.", true);
    (void)s.heartbeat(/*left=*/true);
    t.line("You head home. Your progress is saved. See you tomorrow, " +
           s.name() + ".");
  } else {
    t.line("Goodbye.");
  }
  return t;
}

}  // namespace cmud::game
