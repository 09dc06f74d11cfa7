// One player's game session: takes a command line, talks to the store,
// returns what to show. No terminal I/O here (see terminal.h), no sleeping
// (pauses are part of the returned Text), all randomness from one seeded
// engine, all time from a Clock.
//
//   cmud::game::MemoryStorage store;
//   cmud::game::SystemClock clock;
//   cmud::game::Game game(store, clock, {.seed = 42});
//   auto hello = game.login("ann");          // Result<Text>
//   auto reply = game.execute("mine 10");    // Reply{text, quit}
//   auto news = game.poll();                 // while idle: new messages
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cmud/common/status.h"
#include "cmud/game/clock.h"
#include "cmud/game/schema.h"
#include "cmud/game/storage.h"
#include "cmud/game/text.h"
#include "cmud/game/world.h"

namespace cmud::game {

struct GameConfig {
  // Seeds the random engine; 0 seeds it from std::random_device.
  uint64_t seed = 0;
  // This session's id in heartbeats and message keys; empty: random.
  std::string session;
};

struct Reply {
  Text text;
  bool quit = false;  // the session is over (quit, or taken over elsewhere)
};

// One row of the command table; help and completion come from it.
struct CommandInfo {
  std::string_view name;
  std::string_view args;  // "<place>", "[n]"
  std::string_view summary;
  std::string_view details;
  std::string_view aliases;  // space-separated
};

// Thread-compatible: one thread (the terminal's, or a test's) drives a
// Game. The Storage and Clock must outlive it.
class Game {
 public:
  // How long a player counts as around after its last heartbeat.
  static constexpr int64_t kActiveMs = 5 * 60'000;
  // Heartbeats are refreshed at least this often while the client runs.
  static constexpr int64_t kHeartbeatMs = 30'000;

  Game(Storage& store, Clock& clock, GameConfig config = {});

  // Validates the name (kInvalidArgument, nothing else changes), remembers
  // it, then loads the player or creates a new one. A storage error is not
  // an error here: the text explains it and every later command retries.
  Result<Text> login(std::string_view name);
  bool logged_in() const { return logged_in_; }
  const std::string& name() const { return name_; }
  // The player's record as this session knows it; nullptr before login.
  const Player* player() const;

  // Runs one command line. Never fails: trouble is explained in the text.
  Reply execute(std::string_view line);
  // For idle moments (about once a second): messages said nearby, gifts
  // received, promotions. Storage errors are reported once, not per call.
  Reply poll();

  // Completions of the last word of `line` (the text before the cursor).
  std::vector<std::string> complete(std::string_view line) const;
  std::string prompt() const;

  static std::span<const CommandInfo> commands();

 private:
  struct Command;
  struct ProblemView;
  static std::span<const Command> table();
  static const Command* find_command(std::string_view word);

  // Tries to log in with name_; the text says what happened.
  Text try_login();
  // Per-command (and idle) housekeeping: session ownership, heartbeat,
  // transfers, promotion, messages. Appends news to `out`.
  Status sync(Text& out, bool idle);
  Status check_session(Text& out);
  Status heartbeat(bool left = false);
  Status retry_pending();
  Status claim_gifts(Text& out);
  Status check_promotion(Text& out);
  Status read_messages(Text& out);
  Result<ProblemView> load_problem(int rank);
  Status promote(Text& out);

  // Writes the whole record; on success it becomes the session's copy.
  Status save(const Player& next);
  Status post(std::string_view place, std::string_view text, bool emote);
  Status post_news(std::string_view text);
  std::string nonce();
  Text storage_trouble(const Status& s, std::string_view what) const;
  Text who_is_here(const KeyValues& players, const KeyValues& seen) const;
  bool active(const Heartbeat& h) const;
  void remember_players(const KeyValues& kvs, std::string_view prefix);

  // Commands.
  Text cmd_help(const std::vector<std::string>& args);
  Text cmd_look(const std::vector<std::string>& args);
  Text cmd_move(const std::vector<std::string>& args);
  Text cmd_map(const std::vector<std::string>& args);
  Text cmd_mine(const std::vector<std::string>& args);
  Text cmd_shop(const std::vector<std::string>& args);
  Text cmd_buy(const std::vector<std::string>& args);
  Text cmd_inv(const std::vector<std::string>& args);
  Text cmd_stats(const std::vector<std::string>& args);
  Text cmd_problem(const std::vector<std::string>& args);
  Text cmd_solve(const std::vector<std::string>& args);
  Text cmd_say(const std::vector<std::string>& args);
  Text cmd_who(const std::vector<std::string>& args);
  Text cmd_top(const std::vector<std::string>& args);
  Text cmd_give(const std::vector<std::string>& args);
  Text cmd_quit(const std::vector<std::string>& args);

  Storage& store_;
  Clock& clock_;
  Rng rng_;
  std::string session_;
  std::string name_;
  std::optional<Player> player_;
  bool logged_in_ = false;
  bool kicked_ = false;
  bool quitting_ = false;
  bool dirty_ = false;    // the last record write failed (maybe applied)
  bool offline_ = false;  // the last idle poll failed
  int64_t login_ms_ = 0;
  int64_t last_heartbeat_ms_ = 0;
  int64_t last_full_poll_ms_ = 0;
  int64_t listen_since_ms_ = 0;  // messages older than this are not shown
  uint64_t nonce_ = 0;
  std::string raw_line_;  // the line being executed (say keeps its spaces)
  std::map<std::string, int64_t> seen_messages_;  // key -> at_ms
  std::set<std::string> known_players_;           // for completion
};

}  // namespace cmud::game
