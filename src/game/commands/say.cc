// say: speaking to everyone in the same place.
#include "command.h"

#include <string>

#include "game_internal.h"

namespace cmud::game {

using namespace detail;

Text cmd_say(PlayerSession& s, const Args&) {
  std::string whole = sanitize(rest_after_first_word(s.line()));
  std::string text = cut_utf8(whole, kMaxSay);
  Text t;
  if (text.empty()) {
    t.line("Say what?");
    return t;
  }
  if (Status status = s.post(s.me().place, text, false); !status.ok()) {
    return s.storage_trouble(status, "Nobody heard you.");
  }
  t.add("You say: ").line("\"" + text + "\"", Style::kSpeech);
  note_cut(t, text, whole);
  return t;
}

}  // namespace cmud::game
