#include "cmud/game/schema.h"

#include <algorithm>
#include <cstdio>
#include <limits>
#include <nlohmann/json.hpp>

namespace cmud::game {

using json = nlohmann::json;

// ---- Names ------------------------------------------------------------------

Status validate_name(std::string_view name) {
  if (name.empty()) {
    return Status(ErrorCode::kInvalidArgument,
                  "a name needs at least one character");
  }
  if (name.size() > kMaxNameLength) {
    return Status(
        ErrorCode::kInvalidArgument,
        "a name has at most " + std::to_string(kMaxNameLength) + " characters");
  }
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '-';
    if (!ok) {
      return Status(ErrorCode::kInvalidArgument,
                    "a name may only use a-z, 0-9, '_' and '-'");
    }
  }
  return Status::ok_status();
}

Result<std::string> normalize_name(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  if (Status s = validate_name(out); !s.ok()) return s;
  return out;
}

std::optional<int64_t> parse_count(std::string_view s) {
  if (s.empty() || s.size() > 19) return std::nullopt;
  if (s.size() > 1 && s[0] == '0') return std::nullopt;
  int64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    int d = c - '0';
    if (v > (std::numeric_limits<int64_t>::max() - d) / 10) return std::nullopt;
    v = v * 10 + d;
  }
  return v;
}

// ---- Keys -------------------------------------------------------------------

namespace keys {

namespace {

std::string root(std::string_view kind) {
  std::string k(kRoot);
  k += kind;
  k += '/';
  return k;
}

// "<at>-<nonce>/<name>": the author last, so that an account's write
// pattern can pin it (a name may contain '-', a nonce may not).
std::string stamp(int64_t at_ms, std::string_view name,
                  std::string_view nonce) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%013lld", static_cast<long long>(at_ms));
  std::string k(buf);
  k += '-';
  k += nonce;
  k += '/';
  k += name;
  return k;
}

bool is_nonce(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), is_nonce_char);
}

}  // namespace

std::string player(std::string_view name) {
  return player_prefix() + std::string(name);
}
std::string player_prefix() { return root("player"); }
std::string seen(std::string_view name) {
  return seen_prefix() + std::string(name);
}
std::string seen_prefix() { return root("seen"); }

std::string hit(int rank, int64_t term, std::string_view name) {
  return hit_prefix(rank) + std::to_string(term) + "/" + std::string(name);
}
std::string hit_prefix(int rank) {
  return root("hit") + std::to_string(rank) + "/";
}

std::string gift(std::string_view to, std::string_view from, int64_t seq) {
  return gift_prefix(to) + std::string(from) + "/" + std::to_string(seq);
}
std::string gift_prefix(std::string_view to) {
  return root("give") + std::string(to) + "/";
}

std::string say(std::string_view place, int64_t at_ms, std::string_view name,
                std::string_view nonce) {
  return say_prefix(place, at_ms / kMinuteMs) + stamp(at_ms, name, nonce);
}
std::string say_prefix(std::string_view place, int64_t minute) {
  return root("say") + std::string(place) + "/" + std::to_string(minute) + "/";
}
std::string news(int64_t at_ms, std::string_view name, std::string_view nonce) {
  return news_prefix(at_ms / kMinuteMs) + stamp(at_ms, name, nonce);
}
std::string news_prefix(int64_t minute) {
  return root("news") + std::to_string(minute) + "/";
}
std::string tell(std::string_view to, int64_t at_ms, std::string_view from,
                 std::string_view nonce) {
  return tell_prefix(to, at_ms / kMinuteMs) + stamp(at_ms, from, nonce);
}
std::string tell_prefix(std::string_view to, int64_t minute) {
  return tell_channel(to) + "/" + std::to_string(minute) + "/";
}
std::string tell_channel(std::string_view to) {
  return root("tell") + std::string(to);
}
std::string say_channel(std::string_view place) {
  return root("say") + std::string(place);
}
std::string news_channel() {
  std::string r = root("news");
  r.pop_back();  // the trailing '/'
  return r;
}

std::optional<std::string> name_after(std::string_view prefix,
                                      std::string_view key) {
  if (key.substr(0, prefix.size()) != prefix) return std::nullopt;
  std::string_view rest = key.substr(prefix.size());
  if (!validate_name(rest).ok()) return std::nullopt;
  return std::string(rest);
}

namespace {

// Splits "<a>/<b>" (exactly one '/').
bool split2(std::string_view rest, std::string_view& a, std::string_view& b) {
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return false;
  a = rest.substr(0, slash);
  b = rest.substr(slash + 1);
  return b.find('/') == std::string_view::npos;
}

}  // namespace

std::optional<HitKey> parse_hit(int rank, std::string_view key) {
  std::string prefix = hit_prefix(rank);
  if (key.substr(0, prefix.size()) != prefix) return std::nullopt;
  std::string_view term, name;
  if (!split2(key.substr(prefix.size()), term, name)) return std::nullopt;
  auto t = parse_count(term);
  if (!t || !validate_name(name).ok()) return std::nullopt;
  return HitKey{*t, std::string(name)};
}

std::optional<MessageKey> parse_message(std::string_view channel,
                                        std::string_view key) {
  if (key.substr(0, channel.size()) != channel) return std::nullopt;
  std::string_view rest = key.substr(channel.size());
  if (rest.empty() || rest[0] != '/') return std::nullopt;
  rest.remove_prefix(1);
  // <minute>/<at>-<nonce>/<name>
  size_t slash = rest.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  auto minute = parse_count(rest.substr(0, slash));
  std::string_view stamp_part, name;
  if (!minute || !split2(rest.substr(slash + 1), stamp_part, name)) {
    return std::nullopt;
  }
  constexpr size_t kAtDigits = 13;
  if (stamp_part.size() < kAtDigits + 2 || stamp_part[kAtDigits] != '-') {
    return std::nullopt;
  }
  std::string_view at_digits = stamp_part.substr(0, kAtDigits);
  if (at_digits.find_first_not_of("0123456789") != std::string_view::npos) {
    return std::nullopt;
  }
  size_t lead = at_digits.find_first_not_of('0');
  auto at =
      parse_count(lead == std::string_view::npos ? std::string_view("0")
                                                 : at_digits.substr(lead));
  std::string_view nonce = stamp_part.substr(kAtDigits + 1);
  if (!at || *at / kMinuteMs != *minute || !is_nonce(nonce) ||
      !validate_name(name).ok()) {
    return std::nullopt;
  }
  return MessageKey{*at, std::string(nonce), std::string(name)};
}

std::optional<GiftKey> parse_gift(std::string_view to, std::string_view key) {
  std::string prefix = gift_prefix(to);
  if (key.substr(0, prefix.size()) != prefix) return std::nullopt;
  std::string_view from, seq;
  if (!split2(key.substr(prefix.size()), from, seq)) return std::nullopt;
  auto s = parse_count(seq);
  if (!s || *s < 1 || !validate_name(from).ok()) return std::nullopt;
  return GiftKey{std::string(from), *s};
}

}  // namespace keys

// ---- Records ----------------------------------------------------------------

namespace {

Status decode_error(const std::string& what) {
  return Status(ErrorCode::kDecode, what);
}

// Parses JSON without throwing; a discarded value means malformed.
// Never throws: invalid UTF-8 (from a player's text) becomes U+FFFD.
std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

json parse_object(std::string_view text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return json(json::value_t::discarded);
  return j;
}

}  // namespace

std::string encode_player(const Player& p) {
  json hw = json::object();
  auto catalogue = hardware_catalogue();
  for (size_t i = 0; i < kHardwareCount; ++i) {
    if (p.hardware[i] != 0) hw[std::string(catalogue[i].id)] = p.hardware[i];
  }
  json pending = json::array();
  for (const auto& g : p.pending) {
    pending.push_back({{"to", g.to}, {"seq", g.seq}, {"amount", g.amount}});
  }
  json j = {{"v", 1},
            {"name", p.name},
            {"rank", p.rank},
            {"coins", p.coins},
            {"place", p.place},
            {"hw", hw},
            {"term", p.term},
            {"damage", p.damage},
            {"gift_seq", p.gift_seq},
            {"claimed", p.claimed},
            {"pending", pending},
            {"created", p.created_ms},
            {"mined", p.mined},
            {"given", p.given},
            {"received", p.received},
            {"rounds", p.rounds},
            {"busy_until", p.busy_until_ms}};
  return dump(j);
}

Result<Player> decode_player(std::string_view text) {
  json j = parse_object(text);
  if (j.is_discarded())
    return decode_error("player record is not a JSON object");
  try {
    Player p;
    p.name = j.at("name").get<std::string>();
    p.rank = j.value("rank", 0);
    if (p.rank < 0 || p.rank >= kRankCount) return decode_error("bad rank");
    p.coins = j.value("coins", int64_t{0});
    p.place = j.value("place", std::string(kStartPlace));
    if (find_place(p.place) == nullptr) p.place = std::string(kStartPlace);
    p.hardware = {};
    if (j.contains("hw")) {
      for (const auto& [id, count] : j.at("hw").items()) {
        auto i = find_hardware(id);
        if (i) p.hardware[*i] = count.get<int64_t>();
      }
    }
    p.term = j.value("term", int64_t{-1});
    p.damage = j.value("damage", int64_t{0});
    p.gift_seq = j.value("gift_seq", int64_t{0});
    if (j.contains("claimed")) {
      p.claimed = j.at("claimed").get<std::map<std::string, int64_t>>();
    }
    if (j.contains("pending")) {
      for (const auto& g : j.at("pending")) {
        p.pending.push_back(PendingGift{g.at("to").get<std::string>(),
                                        g.at("seq").get<int64_t>(),
                                        g.at("amount").get<int64_t>()});
      }
    }
    p.created_ms = j.value("created", int64_t{0});
    p.mined = j.value("mined", int64_t{0});
    p.given = j.value("given", int64_t{0});
    p.received = j.value("received", int64_t{0});
    p.rounds = j.value("rounds", int64_t{0});
    p.busy_until_ms = j.value("busy_until", int64_t{0});
    return p;
  } catch (const json::exception& e) {
    return decode_error(std::string("player record: ") + e.what());
  }
}

std::string encode_heartbeat(const Heartbeat& h) {
  json j = {{"session", h.session}, {"login", h.login_ms}, {"at", h.at_ms},
            {"place", h.place},     {"rank", h.rank},      {"left", h.left}};
  return dump(j);
}

Result<Heartbeat> decode_heartbeat(std::string_view text) {
  json j = parse_object(text);
  if (j.is_discarded()) return decode_error("heartbeat is not a JSON object");
  try {
    Heartbeat h;
    h.session = j.value("session", std::string());
    h.login_ms = j.value("login", int64_t{0});
    h.at_ms = j.value("at", int64_t{0});
    h.place = j.value("place", std::string());
    h.rank = j.value("rank", 0);
    if (h.rank < 0 || h.rank >= kRankCount) h.rank = 0;
    h.left = j.value("left", false);
    return h;
  } catch (const json::exception& e) {
    return decode_error(std::string("heartbeat: ") + e.what());
  }
}

std::string encode_message(const Message& m) {
  json j = {{"from", m.from}, {"text", m.text}, {"at", m.at_ms}};
  if (m.emote) j["emote"] = true;
  return dump(j);
}

Result<Message> decode_message(std::string_view text) {
  json j = parse_object(text);
  if (j.is_discarded()) return decode_error("message is not a JSON object");
  try {
    Message m;
    m.from = j.at("from").get<std::string>();
    m.text = j.at("text").get<std::string>();
    m.at_ms = j.value("at", int64_t{0});
    m.emote = j.value("emote", false);
    return m;
  } catch (const json::exception& e) {
    return decode_error(std::string("message: ") + e.what());
  }
}

}  // namespace cmud::game
