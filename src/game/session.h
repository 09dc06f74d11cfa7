// Private to cmud::game: one player's session (its copy of the player's
// record, heartbeat, messages seen) and the store operations that every
// command and the per-command sync share. Game drives it; the commands
// (command.h) get it as their context.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "cmud/common/status.h"
#include "cmud/game/clock.h"
#include "cmud/game/game.h"
#include "cmud/game/schema.h"
#include "cmud/game/storage.h"
#include "cmud/game/text.h"
#include "cmud/game/world.h"

namespace cmud::game {

// A rank's problem as one List of its hit keys shows it. Thread-compatible
// value type.
struct ProblemView {
  int64_t health = 0;
  int64_t term = 0;                   // the first term not yet defeated
  std::map<int64_t, int64_t> totals;  // term -> damage summed over players
  std::map<int64_t, std::vector<std::pair<std::string, int64_t>>> authors;

  int64_t total(int64_t t) const {
    auto it = totals.find(t);
    return it == totals.end() ? 0 : it->second;
  }
  bool defeated(int64_t t) const { return total(t) >= health; }
  int64_t left(int64_t t) const {
    return std::max<int64_t>(0, health - total(t));
  }
};

// Thread-compatible: owned by one Game and used on that Game's thread. The
// Storage and Clock must outlive it.
class PlayerSession {
 public:
  PlayerSession(Storage& store, Clock& clock, const GameConfig& config);

  PlayerSession(const PlayerSession&) = delete;
  PlayerSession& operator=(const PlayerSession&) = delete;

  // Forgets any player and logs out; the next try_login() uses `name`.
  // account: the store is signed in to name's account (so pushed messages
  // are checked against the store before they are shown).
  void set_name(std::string name, bool account);
  // Tries to log in with name(); the text says what happened.
  Text try_login();
  // Per-command (and idle) housekeeping: session ownership, heartbeat,
  // transfers, promotion, messages. Appends news to `out`.
  Status sync(Text& out, bool idle);

  bool logged_in() const { return logged_in_; }
  // Another session of this player took over; this one is over.
  bool kicked() const { return kicked_; }
  bool quitting() const { return quitting_; }
  void set_quitting() { quitting_ = true; }
  const std::string& name() const { return name_; }
  // nullptr before login.
  const Player* player() const { return player_ ? &*player_ : nullptr; }
  // REQUIRES: player() != nullptr (commands that need login).
  const Player& me() const { return *player_; }

  Storage& store() { return store_; }
  Rng& rng() { return rng_; }
  int64_t now_ms() const { return clock_.now_ms(); }

  // The line being executed (say keeps its spaces).
  const std::string& line() const { return line_; }
  void set_line(std::string line) { line_ = std::move(line); }
  // Messages older than now are not shown (a player who walks in does not
  // hear what was said before).
  void listen_from_now() { listen_since_ms_ = clock_.now_ms(); }

  // Names seen in the store, for completion.
  const std::set<std::string>& known_players() const { return known_players_; }
  void remember_player(const std::string& name) { known_players_.insert(name); }
  void remember_players(const KeyValues& kvs, std::string_view prefix);

  // True if the heartbeat says its player is around now.
  bool active(const Heartbeat& h) const;
  // The names whose heartbeat (a List of keys::seen_prefix()) is active.
  std::set<std::string> awake(const KeyValues& seen) const;

  // Writes the whole record; on success it becomes the session's copy.
  Status save(const Player& next);
  // The hit key holding `damage` was written: the session's copy follows
  // at once, since the hit key is the truth about damage.
  void record_hit(int64_t term, int64_t damage);
  Status post(std::string_view place, std::string_view text, bool emote);
  // A message only `to` sees (tell).
  Status post_tell(std::string_view to, std::string_view text);
  Status heartbeat(bool left = false);
  // Messages published nearby since the last call (the store's feed), at
  // once; the keys are read anyway by sync().
  Status read_live(Text& out);
  // Readable when read_live() has something; -1 without a feed.
  int live_fd() const { return feed_ ? feed_->fd() : -1; }
  // Writes the gifts the record says are pending.
  Status retry_pending();
  Result<ProblemView> load_problem(int rank);
  Status promote(Text& out);
  Text storage_trouble(const Status& s, std::string_view what) const;
  // Work (mine, solve) takes kWorkMs per attempt or round: false, and what
  // to tell the player in `t`, while the last job lasts.
  bool ready_to_work(Text& t) const;
  // `p` has just done `units` attempts or rounds of work.
  void worked(Player& p, int64_t units) const;

 private:
  Status check_session(Text& out);
  Status claim_gifts(Text& out);
  Status check_promotion(Text& out);
  Status read_messages(Text& out);
  // Adds one stored message to `lines` unless it was shown already, is the
  // player's own, or is older than listen_since_ms_.
  enum class Heard { kSaid, kNews, kTold };
  // The channel whose keys `heard` messages are under, where the player is.
  std::string channel(Heard heard) const;
  // The message if `key` is a well-formed message key under `heard`'s
  // channel naming the message's author as its writer; nullopt otherwise
  // (another player may write a key under its own name claiming to be
  // someone else, or an old-form key).
  std::optional<Message> authentic(const std::string& key,
                                   std::string_view value, Heard heard) const;
  void show_message(const std::string& key, std::string_view value, Heard heard,
                    int64_t now, Text& lines);
  // Signed in to an account: whether the store holds exactly this pushed
  // message under its key. (Anyone may publish on a place's channel.)
  bool stored_as_pushed(const std::string& key, std::string_view value);
  // At login: the last few lines said where the player is, from the
  // stored messages.
  Status recent_lines(Text& out);
  // Makes the feed listen where the player is, if it does not already.
  Status follow_place();
  // Stores a message (with its TTL) and publishes it on `channel`.
  Status send_message(const std::string& key, const Message& m,
                      const std::string& channel);
  Status post_news(std::string_view text);
  std::string nonce();

  Storage& store_;
  Clock& clock_;
  Rng rng_;
  std::string session_;
  std::string name_;
  std::optional<Player> player_;
  bool account_ = false;  // the store acts as name_'s account
  bool logged_in_ = false;
  bool kicked_ = false;
  bool quitting_ = false;
  bool dirty_ = false;  // the last record write failed (maybe applied)
  int64_t login_ms_ = 0;
  int64_t last_heartbeat_ms_ = 0;
  int64_t last_full_poll_ms_ = 0;
  int64_t listen_since_ms_ = 0;  // messages older than this are not shown
  uint64_t nonce_ = 0;
  std::string line_;
  std::map<std::string, int64_t> seen_messages_;  // key -> at_ms
  std::set<std::string> known_players_;
  std::unique_ptr<Feed> feed_;  // null: the store has no pub/sub
  std::string feed_place_;      // the place feed_ listens to
};

}  // namespace cmud::game
