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
//   game/say/<place>/<minute>/<at>-<name>-<nonce>   a message (JSON)
//   game/news/<minute>/<at>-<name>-<nonce>          campus news (JSON)
//
// Messages expire after kMessageTtlMs; they are read only while recent.
//
// <minute> is ms since the epoch / 60000; <at> is ms, zero-padded to 13
// digits so keys sort by time. The key of each record names its only writer.
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
std::string say(std::string_view place, int64_t at_ms, std::string_view name,
                std::string_view nonce);
std::string say_prefix(std::string_view place, int64_t minute);
std::string news(int64_t at_ms, std::string_view name, std::string_view nonce);
std::string news_prefix(int64_t minute);
// A message to one player (tell): game/tell/<to>/<minute>/<at>-<from>-<nonce>.
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

struct GiftKey {
  std::string from;
  int64_t seq = 0;
};
// "<from>/<seq>" after gift_prefix(to).
std::optional<GiftKey> parse_gift(std::string_view to, std::string_view key);

}  // namespace keys

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
