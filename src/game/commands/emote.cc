// emote: an action everyone in the same place sees ("ann waves").
#include "command.h"

#include <string>

#include "game_internal.h"

namespace cmud::game {

using namespace detail;

Text cmd_emote(PlayerSession& s, const Args&) {
  std::string whole = sanitize(rest_after_first_word(s.line()));
  std::string text = cut_utf8(whole, kMaxSay);
  Text t;
  if (text.empty()) {
    t.line("Emote what? (emote waves: everyone here sees \"" + s.name() +
           " waves\".)");
    return t;
  }
  if (Status status = s.post(s.me().place, text, true); !status.ok()) {
    return s.storage_trouble(status, "Nobody saw it.");
  }
  t.add(s.name(), Style::kPlayer).line(" " + text, Style::kDim);
  note_cut(t, text, whole);
  return t;
}

}  // namespace cmud::game
