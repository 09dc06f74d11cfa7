// One player's game session: takes a command line, talks to the store,
// returns what to show. No terminal I/O here (see terminal.h), no sleeping
// (pauses are part of the returned Text), all randomness from one seeded
// engine, all time from a Clock.
//
//   cmud::game::MemoryStorage store;
//   cmud::game::SystemClock clock;
//   cmud::game::Game game(store, clock, {.seed = 42});
//   auto acct = game.account("ann");         // Result<Account>
//   // kFree: game.sign_up("ann", pw), then sign_in; kTaken: sign_in.
//   (void)game.sign_in("ann", pw);           // Status; kDenied: wrong
//   auto hello = game.login("ann");          // Result<Text>
//   auto reply = game.execute("mine 10");    // Reply{text, quit}
//   auto news = game.poll();                 // while idle: new messages
#pragma once

#include <cstdint>
#include <memory>
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
  // This session's id in heartbeats and message keys: [A-Za-z0-9_] (other
  // characters are dropped); empty: random.
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

class PlayerSession;

// Thread-compatible: one thread (the terminal's, or a test's) drives a
// Game. The Storage and Clock must outlive it.
class Game {
 public:
  // How long a player counts as around after its last heartbeat.
  static constexpr int64_t kActiveMs = 5 * 60'000;
  // Heartbeats are refreshed at least this often while the client runs.
  static constexpr int64_t kHeartbeatMs = 30'000;

  // A new account's password has at least this many characters.
  static constexpr size_t kMinPasswordLength = 8;

  Game(Storage& store, Clock& clock, GameConfig config = {});
  ~Game();

  // Accounts, where the store has them (Storage::account): before login,
  // a name is looked up; a free one is signed up and then signed in, a
  // taken one signed in with its password. Each validates and normalizes
  // the name as login() does (kInvalidArgument); storage errors are
  // returned as they are.
  Result<Account> account(std::string_view name);
  // True: created; false: taken meanwhile. kInvalidArgument: a password
  // shorter than kMinPasswordLength.
  Result<bool> sign_up(std::string_view name, std::string_view password);
  // kDenied: a wrong password. On success the store acts as that account
  // from now on, and login(name) may follow.
  Status sign_in(std::string_view name, std::string_view password);

  // Validates the name (kInvalidArgument, nothing else changes), remembers
  // it, then loads the player or creates a new one. A storage error is not
  // an error here: the text explains it and every later command retries.
  // Where the store has accounts, the name must have been signed in to
  // first (else kDenied); unless account() just said kNone for it, login
  // asks the store (and returns its error, if any).
  Result<Text> login(std::string_view name);
  bool logged_in() const;
  const std::string& name() const;
  // The player's record as this session knows it; nullptr before login.
  const Player* player() const;

  // Runs one command line. Never fails: trouble is explained in the text.
  Reply execute(std::string_view line);
  // For idle moments (about once a second): messages said nearby, gifts
  // received, promotions. Storage errors are reported once, not per call.
  Reply poll();
  // Messages said nearby that the store's feed brought since the last
  // call: call it when live_fd() is readable. Without an account it does
  // not read the store; signed in to one, it reads each message's key
  // (anyone may publish, so a push is only a hint) and shows only those
  // stored as pushed.
  Reply live();
  // Readable when live() has something; -1 when the store has no feed
  // (then poll() alone shows messages, about a second late).
  int live_fd() const;

  // Completions of the last word of `line` (the text before the cursor).
  std::vector<std::string> complete(std::string_view line) const;
  std::string prompt() const;

  static std::span<const CommandInfo> commands();

 private:
  // The player's state and the store operations the commands share
  // (src/game/session.h); the commands themselves are a table of functions
  // over it (src/game/command.h).
  std::unique_ptr<PlayerSession> session_;
  std::string no_account_;   // account() said kNone for this name
  std::string signed_in_;    // sign_in() succeeded for this name
  bool offline_ = false;     // the last idle poll failed
  uint64_t moves_seen_ = 0;  // store moves the player was told of

  // Tells the player when the store moved to another server.
  void note_move(Text& out);
  // The normalized name, or kInvalidArgument (a command is not a name).
  static Result<std::string> check_name(std::string_view name);
};

}  // namespace cmud::game
