// How the game keeps its world in the store: player names, the key schema
// and the records' encodings. docs/GAME.md explains why the schema is safe
// under last-writer-wins; in short, every key has exactly one writer (the
// player it belongs to), shared progress is a grow-only sum of per-player
// keys, and every prefix ends with '/', which no name contains.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cmud/common/status.h"
#include "cmud/game/world.h"

namespace cmud::game {

// ---- Names ------------------------------------------------------------------

inline constexpr size_t kMaxNameLength = 24;
// OK when name is 1..24 characters of [a-z0-9_-]; else kInvalidArgument
// saying what is wrong.
Status validate_name(std::string_view name);
// ASCII lower-case, then validate_name.
Result<std::string> normalize_name(std::string_view name);

// ---- Keys -------------------------------------------------------------------
//
//   game/player/<name>                       the player's record (JSON)
//   game/seen/<name>                         heartbeat (JSON)
//   game/hit/<rank>/<term>/<name>            cumulative damage (decimal)
//   game/give/<to>/<from>/<seq>              an immutable transfer (decimal)
//   game/say/<place>/<minute>/<at>-<nonce>/<name>   a message (JSON)
//   game/news/<minute>/<at>-<nonce>/<name>          campus news (JSON)
//   game/tell/<to>/<minute>/<at>-<nonce>/<name>     a message to <to> (JSON)
//
// Messages expire after kMessageTtlMs; they are read only while recent.
//
// <minute> is ms since the epoch / 60000; <at> is ms, zero-padded to 13
// digits so keys sort by time; <nonce> is [A-Za-z0-9_]+. The key of each
// record names its only writer, and in the last segment (or, for a gift,
// the <from> segment): names may contain '-', so only a whole segment lets
// an account's write pattern (game/say/*/<name>) pin the author.
namespace keys {

inline constexpr std::string_view kRoot = "game/";

std::string player(std::string_view name);
std::string player_prefix();
std::string seen(std::string_view name);
std::string seen_prefix();
std::string hit(int rank, int64_t term, std::string_view name);
std::string hit_prefix(int rank);
std::string gift(std::string_view to, std::string_view from, int64_t seq);
std::string gift_prefix(std::string_view to);
inline constexpr int64_t kMinuteMs = 60'000;
inline constexpr int64_t kMessageTtlMs = 10 * 60'000;
// What a nonce may hold: [A-Za-z0-9_] (never '-' or '/', which frame it).
constexpr bool is_nonce_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
         (c >= '0' && c <= '9') || c == '_';
}
// REQUIRES (say, news, tell): nonce is [A-Za-z0-9_]+.
std::string say(std::string_view place, int64_t at_ms, std::string_view name,
                std::string_view nonce);
std::string say_prefix(std::string_view place, int64_t minute);
std::string news(int64_t at_ms, std::string_view name, std::string_view nonce);
std::string news_prefix(int64_t minute);
// A message to one player (tell).
std::string tell(std::string_view to, int64_t at_ms, std::string_view from,
                 std::string_view nonce);
std::string tell_prefix(std::string_view to, int64_t minute);
// Pub/sub channels on which each message is also published, so players
// nearby see it at once ("<key>\n<message JSON>"); the keys stay the truth.
std::string say_channel(std::string_view place);
std::string news_channel();
std::string tell_channel(std::string_view to);

// The valid player name that is the whole rest of `key` after `prefix`.
std::optional<std::string> name_after(std::string_view prefix,
                                      std::string_view key);

struct HitKey {
  int64_t term = 0;
  std::string name;
};
// "<term>/<name>" after hit_prefix(rank).
std::optional<HitKey> parse_hit(int rank, std::string_view key);

// A message key: "<minute>/<at>-<nonce>/<name>" after `channel` and '/'
// (channel: say_channel(place), news_channel() or tell_channel(to)), with
// <at> 13 digits within <minute>, a non-empty nonce of [A-Za-z0-9_] and a
// valid name. Anything else (the old "<at>-<name>-<nonce>" form included)
// is nullopt: a reader skips it.
struct MessageKey {
  int64_t at_ms = 0;
  std::string nonce;
  std::string name;  // the author: the only account that may write the key
};
std::optional<MessageKey> parse_message(std::string_view channel,
                                        std::string_view key);

struct GiftKey {
  std::string from;
  int64_t seq = 0;
};
// "<from>/<seq>" after gift_prefix(to).
std::optional<GiftKey> parse_gift(std::string_view to, std::string_view key);

}  // namespace keys

// ---- Accounts ---------------------------------------------------------------
//
// What a player's account may do: the rules of ACL SETUSER that a server's
// ACL SIGNUP applies to each new player (cmud-server --signup-rules; `cmud
// --print-signup-rules` prints them for scripts/play.sh), "{user}" standing
// for the player's name. One place for them, next to the keys they guard.
inline constexpr std::string_view kSignupRules =
    // A fresh user: no keys, no channels but those below.
    "on resetkeys resetchannels "
    // Reads: everyone's record, heartbeat, hits, gifts and public
    // messages; the tells to this player only.
    "%R~game/player/* %R~game/seen/* %R~game/hit/* %R~game/give/* "
    "%R~game/say/* %R~game/news/* %R~game/tell/{user}/* "
    // Writes: only keys that name this player as their writer (above).
    "%W~game/player/{user} %W~game/seen/{user} %W~game/hit/*/{user} "
    "%W~game/give/*/{user}/* %W~game/say/*/{user} %W~game/news/*/{user} "
    "%W~game/tell/*/{user} "
    // Channels: every place's talk and the news; its own tells (a tell to
    // another is read from the keys: publishing on another's channel
    // would let anyone subscribe to it too).
    "&game/say/* &game/news &game/tell/{user} "
    // Commands: those the game uses. Redis's @connection holds CLIENT KILL
    // and CLIENT LIST too; -@dangerous takes them back. CLOCK carries a
    // session's order across a move (bounded by the server's skew limit).
    "-@all +@connection -@dangerous +get +set +list +ping +publish "
    "+subscribe +unsubscribe +clock";

// A non-negative decimal integer with no sign, spaces or leading zeros
// beyond "0"; nullopt otherwise or on overflow.
std::optional<int64_t> parse_count(std::string_view s);

// ---- Records ----------------------------------------------------------------
//
// Plain values (thread-compatible), encoded as JSON. Decoding never throws.

// A transfer the sender has paid for (coins already taken from its record)
// whose give record may not have been written yet.
struct PendingGift {
  std::string to;
  int64_t seq = 0;
  int64_t amount = 0;
  friend bool operator==(const PendingGift&, const PendingGift&) = default;
};

// game/player/<name>. Written only by the player's own client, always whole.
struct Player {
  std::string name;
  int rank = kUndergraduate;
  int64_t coins = 0;
  std::string place{kStartPlace};
  Hardware hardware{1, 0, 0, 0, 0};
  // The problem term (at `rank`) this player has damage in, or -1; and that
  // damage (the value of its hit key).
  int64_t term = -1;
  int64_t damage = 0;
  // Transfers: the last sequence number used for a gift sent; per sender,
  // the highest sequence number claimed; gifts paid but maybe not written.
  int64_t gift_seq = 0;
  std::map<std::string, int64_t> claimed;
  std::vector<PendingGift> pending;
  // Statistics.
  int64_t created_ms = 0;
  int64_t mined = 0;
  int64_t given = 0;
  int64_t received = 0;
  int64_t rounds = 0;
  // Working (mining, solving) until this time (ms since the epoch): work
  // takes kWorkMs per attempt or round, so the game follows the time
  // played, whatever the client shows or skips.
  int64_t busy_until_ms = 0;

  friend bool operator==(const Player&, const Player&) = default;
};

std::string encode_player(const Player& p);
// kDecode when the JSON is malformed or a field has the wrong type.
Result<Player> decode_player(std::string_view json);

// game/seen/<name>: refreshed while the player's client runs.
struct Heartbeat {
  std::string session;  // random id of the client session
  int64_t login_ms = 0;
  int64_t at_ms = 0;
  std::string place;
  int rank = 0;
  bool left = false;  // the session quit
};
std::string encode_heartbeat(const Heartbeat& h);
Result<Heartbeat> decode_heartbeat(std::string_view json);

// game/say/... and game/news/...
struct Message {
  std::string from;
  std::string text;
  int64_t at_ms = 0;
  bool emote = false;  // "ann walks in" rather than "ann says: ..."
};
std::string encode_message(const Message& m);
Result<Message> decode_message(std::string_view json);

}  // namespace cmud::game
