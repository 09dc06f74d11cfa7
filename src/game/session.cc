// One player's session. Every command runs as: sync (is this session still
// the player's, heartbeat, unfinished transfers, gifts to claim, promotion,
// messages), then the command itself. The session keeps the player's record
// in memory and is its only writer, so it never reads its own record back
// (a replica may be behind) except at login; each change is written whole,
// in one Put, and becomes the session's copy only once that Put succeeded.
// The key schema and why it is safe under last-writer-wins: docs/GAME.md.
#include "session.h"

#include <cstdint>
#include <map>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "game_internal.h"

namespace cmud::game {

using namespace detail;

// ---- Construction, login ----------------------------------------------------

namespace {

// The session id as message keys' nonces allow it: [A-Za-z0-9_].
std::string session_id(std::string_view given) {
  std::string id;
  for (char c : given) {
    if (keys::is_nonce_char(c)) id += c;
  }
  return id.empty() ? random_hex(12) : id;
}

}  // namespace

PlayerSession::PlayerSession(Storage& store, Clock& clock,
                             const GameConfig& config)
    : store_(store),
      clock_(clock),
      rng_(config.seed != 0 ? config.seed : std::random_device{}()),
      session_(session_id(config.session)) {}

void PlayerSession::set_name(std::string name, bool account) {
  name_ = std::move(name);
  account_ = account;
  logged_in_ = false;
  player_.reset();
}

Text PlayerSession::try_login() {
  Text out;
  int64_t now = clock_.now_ms();
  auto got = store_.get(keys::player(name_));
  if (!got.ok()) {
    return storage_trouble(got.status(),
                           "You are not logged in yet; your next command "
                           "tries again.");
  }
  bool fresh = !got->has_value();
  Player p;
  if (fresh) {
    p.name = name_;
    p.created_ms = now;
  } else {
    auto decoded = decode_player(**got);
    if (!decoded.ok()) {
      out.line("The registrar cannot read your file (" +
                   decoded.status().to_string() +
                   "). It was left as it is; ask an administrator.",
               Style::kBad);
      return out;
    }
    p = std::move(*decoded);
    p.name = name_;
    // A battle's damage is written to the hit key before the record: if
    // the last session ended in between, the key knows more.
    auto hits = store_.list(keys::hit_prefix(p.rank));
    if (!hits.ok()) {
      return storage_trouble(hits.status(),
                             "You are not logged in yet; your next command "
                             "tries again.");
    }
    for (const auto& [key, value] : *hits) {
      auto hk = keys::parse_hit(p.rank, key);
      auto dmg = parse_count(value);
      if (!hk || !dmg || hk->name != name_ || *dmg == 0) continue;
      if (hk->term > p.term || (hk->term == p.term && *dmg > p.damage)) {
        p.term = hk->term;
        p.damage = *dmg;
      }
    }
  }

  // Another session of this player still running?
  bool elsewhere = false;
  auto seen = store_.get(keys::seen(name_));
  if (!seen.ok()) {
    return storage_trouble(seen.status(),
                           "You are not logged in yet; your next command "
                           "tries again.");
  }
  if (seen->has_value()) {
    auto hb = decode_heartbeat(**seen);
    if (hb.ok() && hb->session != session_ && !hb->left &&
        now - hb->at_ms < Game::kActiveMs) {
      elsewhere = true;
    }
  }

  if (fresh) {
    if (Status s = store_.put(keys::player(name_), encode_player(p)); !s.ok()) {
      return storage_trouble(s,
                             "You are not enrolled yet; your next command "
                             "tries again.");
    }
  }
  player_ = p;
  login_ms_ = now;
  if (Status s = heartbeat(); !s.ok()) {
    player_.reset();
    return storage_trouble(s,
                           "You are not logged in yet; your next command "
                           "tries again.");
  }
  logged_in_ = true;
  feed_ = store_.open_feed();
  feed_place_.clear();
  listen_since_ms_ = now;
  last_full_poll_ms_ = now;
  known_players_.insert(name_);

  if (fresh) {
    out.line("Welcome to CMUD, " + name_ + "!", Style::kTitle);
    tell(out,
         "You arrive at the Main Gate with a backpack, a laptop covered in "
         "stickers and one hand-me-down CPU.\n"
         "A senior student looks up from her phone: \"Mine coins, buy "
         "hardware, solve problems, get promoted.\n"
         "And never walk on the Quad.\"");
    out.line("Type help to see what you can do.", Style::kDim);
  } else {
    const Player& me = *player_;
    out.add("Welcome back, ", Style::kTitle)
        .add(name_, Style::kPlayer)
        .line("!", Style::kTitle);
    out.add(std::string(rank_info(me.rank).name))
        .add(", ")
        .add(plural(me.coins, "coin", "coins"), Style::kCoins)
        .add(", power " + with_commas(total_power(me.hardware)) + ", at ")
        .add(place_name(me.place), Style::kPlace)
        .line(".");
  }
  if (elsewhere) {
    out.line(
        "You seem to be playing in another window too; that session will "
        "end at its next command.",
        Style::kWarn);
  }
  Text recap;
  if (recent_lines(recap).ok() && !recap.empty()) {
    out.line("Lately here:", Style::kDim);
    out.append(recap);
  }
  (void)post(
      player_->place,
      fresh ? "arrives, blinking, clutching a campus map." : "wanders in.",
      true);
  Text news;
  if (sync(news, false).ok()) out.append(news);
  return out;
}

// ---- Sync -------------------------------------------------------------------

Status PlayerSession::sync(Text& out, bool idle) {
  if (Status s = check_session(out); !s.ok() || kicked_) return s;
  if (dirty_) {
    // A record write failed, but it may have happened anyway (a lost
    // reply): write the session's copy again so the store agrees with it.
    if (Status s = save(*player_); !s.ok()) return s;
  }
  int64_t now = clock_.now_ms();
  if (now - last_heartbeat_ms_ >= Game::kHeartbeatMs) {
    if (Status s = heartbeat(); !s.ok()) return s;
  }
  if (!idle || now - last_full_poll_ms_ >= kFullPollMs) {
    last_full_poll_ms_ = now;
    if (Status s = retry_pending(); !s.ok()) return s;
    if (Status s = claim_gifts(out); !s.ok()) return s;
    if (Status s = check_promotion(out); !s.ok()) return s;
  }
  return read_messages(out);
}

Status PlayerSession::check_session(Text& out) {
  auto got = store_.get(keys::seen(name_));
  if (!got.ok()) return got.status();
  if (!got->has_value()) return Status::ok_status();
  auto hb = decode_heartbeat(**got);
  if (!hb.ok() || hb->session == session_ || hb->left) {
    return Status::ok_status();
  }
  // A newer session of this player took over.
  if (hb->login_ms > login_ms_ ||
      (hb->login_ms == login_ms_ && hb->session > session_)) {
    kicked_ = true;
    out.line(
        "You have logged in somewhere else; this session ends here (your "
        "progress is saved).",
        Style::kWarn);
  }
  return Status::ok_status();
}

Status PlayerSession::heartbeat(bool left) {
  int64_t now = clock_.now_ms();
  Heartbeat h{session_,
              login_ms_,
              now,
              player_ ? player_->place : std::string(kStartPlace),
              player_ ? player_->rank : 0,
              left};
  Status s = store_.put(keys::seen(name_), encode_heartbeat(h));
  if (s.ok()) last_heartbeat_ms_ = now;
  return s;
}

Status PlayerSession::retry_pending() {
  while (!player_->pending.empty()) {
    const PendingGift& g = player_->pending.front();
    if (Status s = store_.put(keys::gift(g.to, name_, g.seq),
                              std::to_string(g.amount));
        !s.ok()) {
      return s;
    }
    // Written: forget it here; the record drops it at its next write
    // (writing the same immutable value again would be harmless).
    player_->pending.erase(player_->pending.begin());
  }
  return Status::ok_status();
}

Status PlayerSession::claim_gifts(Text& out) {
  auto gifts = store_.list(keys::gift_prefix(name_));
  if (!gifts.ok()) return gifts.status();
  // sender -> seq -> amount
  std::map<std::string, std::map<int64_t, int64_t>> by_sender;
  for (const auto& [key, value] : *gifts) {
    auto gk = keys::parse_gift(name_, key);
    if (!gk || gk->from == name_) continue;
    // A malformed amount counts as 0 so it cannot block later gifts.
    by_sender[gk->from][gk->seq] = parse_count(value).value_or(0);
  }
  Player next = *player_;
  Text lines;
  bool changed = false;
  for (const auto& [from, seqs] : by_sender) {
    int64_t upto = next.claimed.count(from) ? next.claimed[from] : 0;
    int64_t sum = 0;
    // Claim in order, stopping at a gap (a gift not visible here yet).
    for (auto it = seqs.find(upto + 1);
         it != seqs.end() && it->first == upto + 1; ++it) {
      sum = sat_add(sum, it->second);
      ++upto;
    }
    if (upto == (next.claimed.count(from) ? next.claimed[from] : 0)) continue;
    next.claimed[from] = upto;
    next.coins = sat_add(next.coins, sum);
    next.received = sat_add(next.received, sum);
    changed = true;
    known_players_.insert(from);
    lines.add(from, Style::kPlayer)
        .add(" gave you ")
        .add(plural(sum, "coin", "coins"), Style::kCoins)
        .line(".");
  }
  if (!changed) return Status::ok_status();
  if (Status s = save(next); !s.ok()) return s;
  out.append(lines);
  return Status::ok_status();
}

Result<ProblemView> PlayerSession::load_problem(int rank) {
  auto hits = store_.list(keys::hit_prefix(rank));
  if (!hits.ok()) return hits.status();
  ProblemView v;
  v.health = rank_info(rank).health;
  for (const auto& [key, value] : *hits) {
    auto hk = keys::parse_hit(rank, key);
    auto dmg = parse_count(value);
    if (!hk || !dmg) continue;
    v.totals[hk->term] = sat_add(v.totals[hk->term], *dmg);
    v.authors[hk->term].emplace_back(hk->name, *dmg);
    known_players_.insert(hk->name);
  }
  while (v.health > 0 && v.defeated(v.term)) ++v.term;
  return v;
}

Status PlayerSession::check_promotion(Text& out) {
  const Player& me = *player_;
  if (me.rank >= kRetired || me.term < 0 || me.damage <= 0) {
    return Status::ok_status();
  }
  auto view = load_problem(me.rank);
  if (!view.ok()) return view.status();
  if (!view->defeated(me.term)) return Status::ok_status();
  return promote(out);
}

Status PlayerSession::promote(Text& out) {
  Player next = *player_;
  const RankInfo& old_rank = rank_info(next.rank);
  next.rank += 1;
  next.term = -1;
  next.damage = 0;
  if (Status s = save(next); !s.ok()) return s;
  const RankInfo& now_rank = rank_info(next.rank);
  out.pause(kStoryBeat)
      .line("*** " + std::string(old_rank.problem) + " has fallen! ***",
            Style::kGood);
  tell(out, replace_all(std::string(now_rank.promotion_story), "{name}",
                        capitalized(name_)));
  out.pause(kStoryBeat)
      .add("You are now ")
      .add(std::string(now_rank.you_are), Style::kTitle)
      .line(".");
  (void)post_news(std::string("was promoted to ") + std::string(now_rank.name) +
                  "!");
  (void)heartbeat();
  return Status::ok_status();
}

Status PlayerSession::read_messages(Text& out) {
  int64_t now = clock_.now_ms();
  Text lines;
  (void)read_live(lines);  // best effort: the keys below are the truth
  int64_t first = (now - kMessageLookbackMs) / keys::kMinuteMs;
  int64_t last = now / keys::kMinuteMs;
  std::vector<std::pair<std::string, Heard>> prefixes;
  for (int64_t m = first; m <= last; ++m) {
    prefixes.emplace_back(keys::say_prefix(player_->place, m), Heard::kSaid);
    prefixes.emplace_back(keys::news_prefix(m), Heard::kNews);
    prefixes.emplace_back(keys::tell_prefix(name_, m), Heard::kTold);
  }
  for (const auto& [prefix, heard] : prefixes) {
    auto got = store_.list(prefix);
    if (!got.ok()) return got.status();
    for (const auto& [key, value] : *got) {
      show_message(key, value, heard, now, lines);
    }
  }
  for (auto it = seen_messages_.begin(); it != seen_messages_.end();) {
    it = it->second < now - kForgetMessagesMs ? seen_messages_.erase(it)
                                              : std::next(it);
  }
  out.append(lines);
  return Status::ok_status();
}

Status PlayerSession::follow_place() {
  if (!feed_ || !player_ || feed_place_ == player_->place) {
    return Status::ok_status();
  }
  Status s = feed_->listen({keys::say_channel(player_->place),
                            keys::news_channel(), keys::tell_channel(name_)});
  if (s.ok()) feed_place_ = player_->place;
  return s;
}

Status PlayerSession::recent_lines(Text& out) {
  int64_t now = clock_.now_ms();
  KeyValues said;
  for (int64_t m = (now - kRecapMs) / keys::kMinuteMs;
       m <= now / keys::kMinuteMs; ++m) {
    auto got = store_.list(keys::say_prefix(player_->place, m));
    if (!got.ok()) return got.status();
    said.insert(said.end(), got->begin(), got->end());  // in time order
  }
  // The last few that others said; older ones are only marked as seen.
  std::vector<const std::pair<std::string, std::string>*> shown;
  for (auto it = said.rbegin(); it != said.rend(); ++it) {
    auto m = authentic(it->first, it->second, Heard::kSaid);
    if (shown.size() < kRecapLines && m && m->from != name_ &&
        m->at_ms >= now - kRecapMs) {
      shown.push_back(&*it);
    } else {
      seen_messages_[it->first] = m ? m->at_ms : now;
    }
  }
  int64_t since = std::exchange(listen_since_ms_, 0);
  for (auto it = shown.rbegin(); it != shown.rend(); ++it) {
    show_message((*it)->first, (*it)->second, Heard::kSaid, now, out);
  }
  listen_since_ms_ = since;
  return Status::ok_status();
}

Status PlayerSession::read_live(Text& out) {
  if (!feed_ || !player_) return Status::ok_status();
  if (Status s = follow_place(); !s.ok()) return s;
  auto got = feed_->take();
  if (!got.ok()) {
    feed_place_.clear();  // listen again next time
    return got.status();
  }
  int64_t now = clock_.now_ms();
  // Only messages of where the player is now: one published just before
  // they walked out may still arrive.
  std::string here = keys::say_channel(player_->place) + "/";
  std::string news = keys::news_channel() + "/";
  std::string told = keys::tell_channel(name_) + "/";
  for (const std::string& payload : *got) {
    size_t cut = payload.find('\n');
    if (cut == std::string::npos) continue;
    std::string key = payload.substr(0, cut);
    Heard heard;
    if (key.starts_with(news)) {
      heard = Heard::kNews;
    } else if (key.starts_with(told)) {
      heard = Heard::kTold;
    } else if (key.starts_with(here)) {
      heard = Heard::kSaid;
    } else {
      continue;
    }
    std::string_view value = std::string_view(payload).substr(cut + 1);
    // Signed in to an account, a push is only a hint: one the store does
    // not hold as pushed is dropped, and the keys show the real message,
    // if there is one, at the next read. Dropped, not marked seen: a
    // forged push must not hide the real message under its key.
    if (account_ && !seen_messages_.count(key) &&
        (!authentic(key, value, heard) || !stored_as_pushed(key, value))) {
      continue;
    }
    show_message(key, value, heard, now, out);
  }
  return Status::ok_status();
}

bool PlayerSession::stored_as_pushed(const std::string& key,
                                     std::string_view value) {
  auto got = store_.get(key);
  return got.ok() && got->has_value() && **got == value;
}

std::string PlayerSession::channel(Heard heard) const {
  switch (heard) {
    case Heard::kNews:
      return keys::news_channel();
    case Heard::kTold:
      return keys::tell_channel(name_);
    case Heard::kSaid:
      break;
  }
  return keys::say_channel(player_->place);
}

std::optional<Message> PlayerSession::authentic(const std::string& key,
                                                std::string_view value,
                                                Heard heard) const {
  auto k = keys::parse_message(channel(heard), key);
  if (!k) return std::nullopt;
  auto m = decode_message(value);
  if (!m.ok() || m->from != k->name) return std::nullopt;
  return std::move(*m);
}

void PlayerSession::show_message(const std::string& key, std::string_view value,
                                 Heard heard, int64_t now, Text& lines) {
  if (seen_messages_.count(key)) return;
  auto m = authentic(key, value, heard);
  if (!m || m->from == name_ ||
      (m->at_ms < listen_since_ms_ && heard != Heard::kTold)) {
    seen_messages_[key] = m ? m->at_ms : now;
    return;
  }
  seen_messages_[key] = m->at_ms;
  known_players_.insert(m->from);
  std::string text = cut_utf8(sanitize(m->text), kMaxSay);
  if (heard == Heard::kNews) {
    lines.add("[campus news] ", Style::kDim)
        .add(m->from, Style::kPlayer)
        .line(" " + text);
  } else if (heard == Heard::kTold) {
    lines.add(m->from, Style::kPlayer)
        .add(" tells you: ")
        .line("\"" + text + "\"", Style::kSpeech);
  } else if (m->emote) {
    lines.add(m->from, Style::kPlayer).line(" " + text, Style::kDim);
  } else {
    lines.add(m->from, Style::kPlayer)
        .add(" says: ")
        .line("\"" + text + "\"", Style::kSpeech);
  }
}

Status PlayerSession::send_message(const std::string& key, const Message& m,
                                   const std::string& channel) {
  std::string value = encode_message(m);
  Status s = store_.put_expiring(
      key, value, std::chrono::milliseconds(keys::kMessageTtlMs));
  // Published only once stored, so a listener never sees what the store
  // refused; at most once, so a lost one waits for the next read. A
  // refused publish is no error either: an account may not publish on
  // another player's tell channel, and the stored tell reaches its player
  // from the keys within about a second.
  if (s.ok()) (void)store_.publish(channel, key + "\n" + value);
  return s;
}

// ---- Writing ----------------------------------------------------------------

Status PlayerSession::save(const Player& next) {
  Status s = store_.put(keys::player(name_), encode_player(next));
  if (s.ok()) {
    player_ = next;
    (void)follow_place();  // a move: listen there at once (best effort)
  }
  dirty_ = !s.ok();
  return s;
}

void PlayerSession::record_hit(int64_t term, int64_t damage) {
  player_->term = term;
  player_->damage = damage;
}

std::string PlayerSession::nonce() {
  return session_ + std::to_string(++nonce_);
}

Status PlayerSession::post(std::string_view place, std::string_view text,
                           bool emote) {
  int64_t now = clock_.now_ms();
  Message m{name_, std::string(text), now, emote};
  return send_message(keys::say(place, now, name_, nonce()), m,
                      keys::say_channel(place));
}

Status PlayerSession::post_tell(std::string_view to, std::string_view text) {
  int64_t now = clock_.now_ms();
  Message m{name_, std::string(text), now, false};
  return send_message(keys::tell(to, now, name_, nonce()), m,
                      keys::tell_channel(to));
}

Status PlayerSession::post_news(std::string_view text) {
  int64_t now = clock_.now_ms();
  Message m{name_, std::string(text), now, false};
  return send_message(keys::news(now, name_, nonce()), m, keys::news_channel());
}

Text PlayerSession::storage_trouble(const Status& s,
                                    std::string_view what) const {
  Text t;
  t.line("The campus network is having a moment (" + s.to_string() + "). " +
             std::string(what),
         Style::kWarn);
  return t;
}

bool PlayerSession::ready_to_work(Text& t) const {
  int64_t left = me().busy_until_ms - clock_.now_ms();
  // Longer than any job: this clock went back since; do not hold the
  // player for it.
  if (left <= 0 || left > std::max(kMaxMine, kMaxRounds) * kWorkMs) {
    return true;
  }
  int64_t secs = (left + 999) / 1000;
  t.line("You are still catching your breath from the last job (" +
             std::to_string(secs) + (secs == 1 ? " second" : " seconds") +
             " to go). Meanwhile you can walk, shop and talk.",
         Style::kDim);
  return false;
}

void PlayerSession::worked(Player& p, int64_t units) const {
  p.busy_until_ms = sat_add(clock_.now_ms(), units * kWorkMs);  // units <= 100
}

// ---- Who is around ---------------------------------------------------------

bool PlayerSession::active(const Heartbeat& h) const {
  return !h.left && clock_.now_ms() - h.at_ms < Game::kActiveMs;
}

void PlayerSession::remember_players(const KeyValues& kvs,
                                     std::string_view prefix) {
  for (const auto& kv : kvs) {
    if (auto n = keys::name_after(prefix, kv.first)) known_players_.insert(*n);
  }
}

std::set<std::string> PlayerSession::awake(const KeyValues& seen) const {
  std::set<std::string> names;
  for (const auto& [key, value] : seen) {
    auto n = keys::name_after(keys::seen_prefix(), key);
    auto hb = decode_heartbeat(value);
    if (n && hb.ok() && active(*hb)) names.insert(*n);
  }
  return names;
}

}  // namespace cmud::game
