// tell: a message only one player sees, wherever they are.
#include "command.h"

#include <string>

#include "game_internal.h"

namespace cmud::game {

using namespace detail;

Text cmd_tell(PlayerSession& s, const Args& args) {
  Text t;
  if (args.size() < 2) {
    t.line("tell <player> <text>");
    return t;
  }
  auto to = player_arg(args[0], t);
  if (!to) return t;
  if (*to == s.name()) {
    t.line("You mutter to yourself. Nobody else hears it.");
    return t;
  }
  // The text is the line after the command and the name, as typed.
  std::string whole =
      sanitize(rest_after_first_word(rest_after_first_word(s.line())));
  std::string text = cut_utf8(whole, kMaxSay);
  auto exists = s.store().get(keys::player(*to));
  if (!exists.ok()) return s.storage_trouble(exists.status(), "");
  if (!exists->has_value()) {
    no_such_student(t, *to);
    return t;
  }
  s.remember_player(*to);
  if (Status status = s.post_tell(*to, text); !status.ok()) {
    return s.storage_trouble(status, "Nobody heard you.");
  }
  t.add("You tell ")
      .add(*to, Style::kPlayer)
      .add(": ")
      .line("\"" + text + "\"", Style::kSpeech);
  note_cut(t, text, whole);
  return t;
}

}  // namespace cmud::game
