// The command table (help, aliases and completion come from it) and the
// commands. Each runs after Game::execute has synced, on the session's copy
// of the player's record; see game.cc for the rules every write follows.
#include "cmud/game/game.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <limits>
#include <random>
#include <set>

#include "game_internal.h"

namespace cmud::game {

using namespace detail;

// ---- The command table ------------------------------------------------------

std::span<const Game::Command> Game::table() {
  static const Command kTable[] = {
      {{"help", "[command]", "list the commands, or explain one",
        "help shows every command; help <command> explains one.", "?"},
       &Game::cmd_help,
       false,
       false},
      {{"look", "", "where you are and who is here",
        "Describes your place and the players there now.", "l"},
       &Game::cmd_look},
      {{"move", "<place>", "walk to a place (see map)",
        "Walks to a place on campus. Everyone there sees you arrive. Places: "
        "gate, quad, library, cafe, store, lab, hall, bridge, office, roof.",
        "go walk"},
       &Game::cmd_move},
      {{"map", "", "the campus: every place and who is there",
        "Lists every place on campus with the players there. Players idle "
        "for more than 5 minutes are counted as asleep.",
        ""},
       &Game::cmd_map},
      {{"mine", "[n]", "mine coins n times (default 1, at most 1000)",
        "Each attempt succeeds 90% of the time and earns 1 to <power> coins "
        "(your hardware's total power; with none you mine by hand, power "
        "1).",
        ""},
       &Game::cmd_mine},
      {{"shop", "", "the hardware on sale at your rank",
        "Shows the Campus Store's catalogue: price and power of each item, "
        "and what your rank unlocks next.",
        ""},
       &Game::cmd_shop,
       true,
       false},
      {{"buy", "<item> [count|max]", "buy hardware (at the Campus Store)",
        "Buys hardware at the Campus Store (move store first). count "
        "defaults to 1; max buys as many as you can afford.",
        ""},
       &Game::cmd_buy},
      {{"inv", "", "your hardware and its total power",
        "Lists your hardware. Power is what mining and battles use.",
        "i inventory"},
       &Game::cmd_inv,
       true,
       false},
      {{"stats", "", "your rank, coins, power and history",
        "Everything the registrar knows about you.", "score"},
       &Game::cmd_stats,
       true,
       false},
      {{"problem", "", "your rank's problem and its co-authors",
        "Everyone of your rank fights the same problem. Every player who "
        "does damage to it is a co-author, and all co-authors are promoted "
        "when it falls; then a fresh one appears.",
        ""},
       &Game::cmd_problem},
      {{"solve", "[rounds]",
        "fight your rank's problem (default 10 rounds, at most 100)",
        "A battle, round by round: 80% of rounds you deal damage equal to "
        "your power, 15% something breaks (one type of your hardware drops "
        "to a quarter), 5% nothing happens. The battle stops when the "
        "problem falls, when nothing is left to fight with, or after the "
        "rounds.",
        "fight"},
       &Game::cmd_solve},
      {{"say", "<text>", "speak to everyone in the same place",
        "Everyone in your place sees it at once (or on their next command).",
        "'"},
       &Game::cmd_say},
      {{"who", "", "who has been around in the last 5 minutes",
        "Lists players whose client has been running recently, with their "
        "place.",
        ""},
       &Game::cmd_who},
      {{"top", "", "the leaderboard",
        "The ten best players: by rank, then by coins.", "leaderboard"},
       &Game::cmd_top},
      {{"give", "<player> <coins>", "give coins to another player",
        "Sends coins to a player. They arrive the next time the receiver's "
        "client looks (within seconds if they are playing); nothing is ever "
        "lost or created, even if both of you play on different servers at "
        "once.",
        ""},
       &Game::cmd_give},
      {{"quit", "", "leave the campus (progress is saved as you go)",
        "Leaves the game. Ctrl-D does the same.", "exit"},
       &Game::cmd_quit,
       false,
       false},
  };
  return kTable;
}

std::span<const CommandInfo> Game::commands() {
  static const std::vector<CommandInfo> kInfos = [] {
    std::vector<CommandInfo> v;
    for (const Command& c : table()) v.push_back(c.info);
    return v;
  }();
  return kInfos;
}

const Game::Command* Game::find_command(std::string_view word) {
  for (const Command& c : table()) {
    if (c.info.name == word) return &c;
    for (const std::string& alias : split_words(c.info.aliases)) {
      if (alias == word) return &c;
    }
  }
  return nullptr;
}

// ---- Commands ---------------------------------------------------------------

Text Game::cmd_help(const std::vector<std::string>& args) {
  Text t;
  if (!args.empty()) {
    const Command* c = find_command(ascii_lower(args[0]));
    if (c == nullptr) {
      t.line("No command called '" + sanitize(args[0]) +
             "'. Type help for the list.");
      return t;
    }
    t.add(std::string(c->info.name), Style::kTitle);
    if (!c->info.args.empty()) t.add(" " + std::string(c->info.args));
    t.line().line(std::string(c->info.details));
    if (!c->info.aliases.empty()) {
      t.line("Also: " + std::string(c->info.aliases), Style::kDim);
    }
    return t;
  }
  t.line("Commands (help <command> tells more):", Style::kTitle);
  for (const Command& c : table()) {
    std::string head = std::string(c.info.name);
    if (!c.info.args.empty()) head += " " + std::string(c.info.args);
    if (head.size() < 24) head.resize(24, ' ');
    t.add("  ").add(head, Style::kGood).line(std::string(c.info.summary));
  }
  t.line("Tab completes commands, places and items; arrows recall history.",
         Style::kDim);
  return t;
}

bool Game::active(const Heartbeat& h) const {
  return !h.left && clock_.now_ms() - h.at_ms < kActiveMs;
}

void Game::remember_players(const KeyValues& kvs, std::string_view prefix) {
  for (const auto& kv : kvs) {
    if (auto n = keys::name_after(prefix, kv.first)) known_players_.insert(*n);
  }
}

Text Game::who_is_here(const KeyValues& players, const KeyValues& seen) const {
  std::set<std::string> awake;
  for (const auto& [key, value] : seen) {
    auto n = keys::name_after(keys::seen_prefix(), key);
    auto hb = decode_heartbeat(value);
    if (n && hb.ok() && active(*hb)) awake.insert(*n);
  }
  std::vector<std::string> here;
  int asleep = 0;
  for (const auto& [key, value] : players) {
    auto n = keys::name_after(keys::player_prefix(), key);
    if (!n || *n == name_) continue;
    auto p = decode_player(value);
    if (!p.ok() || p->place != player_->place) continue;
    if (awake.count(*n)) {
      here.push_back(*n);
    } else {
      ++asleep;
    }
  }
  Text t;
  if (here.empty()) {
    t.add("Nobody else is here");
  } else {
    t.add("Here: ");
    for (size_t i = 0; i < here.size(); ++i) {
      if (i > 0) t.add(", ");
      t.add(here[i], Style::kPlayer);
    }
  }
  if (asleep > 0) {
    t.add(here.empty() ? " (" : " (plus ")
        .add(plural(asleep, "student", "students") + " asleep in a corner)");
  }
  t.line(".");
  return t;
}

Text Game::cmd_look(const std::vector<std::string>&) {
  const PlaceInfo* place = find_place(player_->place);
  Text t;
  t.line(capitalized(std::string(place->name)), Style::kPlace);
  t.line(std::string(place->description));
  auto players = store_.list(keys::player_prefix());
  if (!players.ok()) return t.append(storage_trouble(players.status(), ""));
  auto seen = store_.list(keys::seen_prefix());
  if (!seen.ok()) return t.append(storage_trouble(seen.status(), ""));
  remember_players(*players, keys::player_prefix());
  return t.append(who_is_here(*players, *seen));
}

Text Game::cmd_move(const std::vector<std::string>& args) {
  Text t;
  if (args.empty()) {
    t.line("Move where? Try map, or move <place>.");
    return t;
  }
  std::string want = ascii_lower(args[0]);
  std::vector<const PlaceInfo*> matches;
  for (const auto& p : places()) {
    if (p.id == want) {
      matches = {&p};
      break;
    }
    if (p.id.substr(0, want.size()) == want ||
        ascii_lower(p.name).find(want) != std::string::npos) {
      matches.push_back(&p);
    }
  }
  if (matches.size() != 1) {
    t.add(matches.empty() ? "There is no such place. " : "Which one? ");
    t.add("Places:");
    for (const auto& p : places())
      t.add(" ").add(std::string(p.id), Style::kPlace);
    t.line(".");
    return t;
  }
  const PlaceInfo* to = matches[0];
  if (to->id == player_->place) {
    t.line("You are already at " + std::string(to->name) + ".");
    return t;
  }
  std::string from = player_->place;
  Player next = *player_;
  next.place = std::string(to->id);
  if (Status s = save(next); !s.ok()) {
    return storage_trouble(s, "You stay where you are.");
  }
  (void)post(from, "leaves for " + std::string(to->name) + ".", true);
  (void)post(to->id, "arrives from " + place_name(from) + ".", true);
  (void)heartbeat();
  listen_since_ms_ = clock_.now_ms();
  t.add("You walk to ").add(std::string(to->name), Style::kPlace).line(".");
  return t.append(cmd_look({}));
}

Text Game::cmd_map(const std::vector<std::string>&) {
  auto players = store_.list(keys::player_prefix());
  if (!players.ok()) return storage_trouble(players.status(), "");
  auto seen = store_.list(keys::seen_prefix());
  if (!seen.ok()) return storage_trouble(seen.status(), "");
  remember_players(*players, keys::player_prefix());
  std::set<std::string> awake;
  for (const auto& [key, value] : *seen) {
    auto n = keys::name_after(keys::seen_prefix(), key);
    auto hb = decode_heartbeat(value);
    if (n && hb.ok() && active(*hb)) awake.insert(*n);
  }
  std::map<std::string, std::vector<std::string>> present;
  std::map<std::string, int> asleep;
  for (const auto& [key, value] : *players) {
    auto n = keys::name_after(keys::player_prefix(), key);
    if (!n) continue;
    auto p = decode_player(value);
    if (!p.ok()) continue;
    std::string place = *n == name_ ? player_->place : p->place;
    if (*n == name_ || awake.count(*n)) {
      present[place].push_back(*n);
    } else {
      ++asleep[place];
    }
  }
  Text t;
  t.line("The campus", Style::kTitle);
  for (const auto& place : places()) {
    std::string id(place.id);
    std::string label = capitalized(std::string(place.name)) + " (" + id + ")";
    t.add(id == player_->place ? "* " : "  ");
    t.add(label, Style::kPlace);
    const auto& names = present[id];
    if (label.size() < 32 && (!names.empty() || asleep[id] > 0)) {
      t.add(std::string(32 - label.size(), ' '));
    }
    for (size_t i = 0; i < names.size(); ++i) {
      if (i > 0) t.add(", ");
      t.add(names[i], Style::kPlayer);
      if (names[i] == name_) t.add(" (you)", Style::kDim);
    }
    if (asleep[id] > 0) {
      t.add((names.empty() ? "" : ", ") +
                plural(asleep[id], "sleeper", "sleepers"),
            Style::kDim);
    }
    t.line();
  }
  return t;
}

Text Game::cmd_mine(const std::vector<std::string>& args) {
  Text t;
  int64_t n = 1;
  if (!args.empty()) {
    auto parsed = parse_count(args[0]);
    if (!parsed || *parsed < 1 || *parsed > kMaxMine) {
      t.line("mine [n]: n is a number from 1 to " + std::to_string(kMaxMine) +
             ".");
      return t;
    }
    n = *parsed;
  }
  int64_t power = total_power(player_->hardware);
  if (power == 0) {
    t.line("You have no hardware, so you mine by hand with pencil and paper.",
           Style::kDim);
  }
  auto beat = std::chrono::milliseconds(std::min<int64_t>(400, 2000 / n));
  Text log;
  int64_t earned = 0;
  int64_t wins = 0;
  for (int64_t i = 0; i < n; ++i) {
    int64_t coins = mine_once(power, rng_);
    if (coins > 0) ++wins;
    earned = sat_add(earned, coins);
    log.pause(beat);
    if (n <= 5) {
      if (coins > 0) {
        log.add("You mine ")
            .add(plural(coins, "coin", "coins"), Style::kCoins)
            .line(".");
      } else {
        log.line(std::string(pick(mining_failures(), rng_)), Style::kBad);
      }
    }
  }
  Player next = *player_;
  next.coins = sat_add(next.coins, earned);
  next.mined = sat_add(next.mined, earned);
  if (Status s = save(next); !s.ok()) {
    return storage_trouble(s,
                           "The coins you mined were lost in transit; "
                           "nothing changed.");
  }
  t.append(log);
  if (n > 5) {
    t.add("You mine " + std::to_string(n) + " times (" + std::to_string(wins) +
          " successes) and earn ")
        .add(plural(earned, "coin", "coins"), Style::kCoins)
        .line(".");
  }
  t.add("You have ")
      .add(plural(next.coins, "coin", "coins"), Style::kCoins)
      .line(".");
  return t;
}

Text Game::cmd_shop(const std::vector<std::string>&) {
  Text t;
  t.line("The Campus Store catalogue", Style::kTitle);
  for (const auto& h : hardware_catalogue()) {
    std::string id(h.id);
    id.resize(12, ' ');
    if (h.unlock_rank <= player_->rank) {
      t.add("  ").add(id, Style::kItem);
      t.add(plural(h.price, "coin", "coins") + ", power " +
            with_commas(h.power) + ". ");
      t.line(std::string(h.blurb), Style::kDim);
    } else {
      t.add("  " + id + "unlocks at " +
                std::string(rank_info(h.unlock_rank).name) + ".",
            Style::kDim)
          .line();
    }
  }
  t.add("You have ")
      .add(plural(player_->coins, "coin", "coins"), Style::kCoins)
      .add(".");
  if (player_->place != kStorePlace) {
    t.add(" (To buy, move store.)", Style::kDim);
  }
  return t.line();
}

Text Game::cmd_buy(const std::vector<std::string>& args) {
  Text t;
  if (args.empty()) {
    t.line("Buy what? See shop.");
    return t;
  }
  auto type = find_hardware(ascii_lower(args[0]));
  if (!type) {
    t.line("The store has no '" + sanitize(args[0]) + "'. See shop.");
    return t;
  }
  const HardwareInfo& h = hardware_catalogue()[*type];
  if (player_->place != kStorePlace) {
    t.line("Hardware is sold at the Campus Store: move store first.");
    return t;
  }
  if (h.unlock_rank > player_->rank) {
    t.line("The cashier squints at your ID: " + std::string(h.name) +
           "s are for " + std::string(rank_info(h.unlock_rank).name) +
           " students and up.");
    return t;
  }
  int64_t count = 1;
  if (args.size() > 1) {
    std::string c = ascii_lower(args[1]);
    if (c == "max" || c == "all") {
      count = player_->coins / h.price;
      if (count == 0) {
        t.line("You cannot afford even one " + std::string(h.name) + " (" +
                   plural(h.price, "coin", "coins") + ").",
               Style::kBad);
        return t;
      }
    } else {
      auto parsed = parse_count(c);
      if (!parsed && is_digits(c)) {
        // More than any int64: certainly more than anyone can afford.
        parsed = std::numeric_limits<int64_t>::max();
      }
      if (!parsed || *parsed < 1) {
        t.line("buy <item> [count|max]: count is a positive number.");
        return t;
      }
      count = *parsed;
    }
  }
  if (count > std::numeric_limits<int64_t>::max() / h.price ||
      count * h.price > player_->coins) {
    t.add("You cannot afford that: ");
    t.add(with_commas(count) + " " + hardware_name(*type, count) + " cost ");
    if (count > std::numeric_limits<int64_t>::max() / h.price) {
      t.add("more coins than exist");
    } else {
      t.add(plural(count * h.price, "coin", "coins"), Style::kCoins);
    }
    t.add(" and you have ")
        .add(plural(player_->coins, "coin", "coins"), Style::kCoins)
        .line(".");
    return t;
  }
  Player next = *player_;
  next.coins -= count * h.price;
  next.hardware[*type] = sat_add(next.hardware[*type], count);
  if (Status s = save(next); !s.ok()) {
    return storage_trouble(s, "The till froze; nothing was bought.");
  }
  t.add("You buy ")
      .add(with_commas(count) + " " + hardware_name(*type, count), Style::kItem)
      .add(" for ")
      .add(plural(count * h.price, "coin", "coins"), Style::kCoins)
      .add(". Power is now " + with_commas(total_power(next.hardware)) +
           "; you have ")
      .add(plural(next.coins, "coin", "coins"), Style::kCoins)
      .line(" left.");
  return t;
}

Text Game::cmd_inv(const std::vector<std::string>&) {
  Text t;
  t.line("Your hardware", Style::kTitle);
  bool any = false;
  for (size_t i = 0; i < kHardwareCount; ++i) {
    int64_t n = player_->hardware[i];
    if (n <= 0) continue;
    any = true;
    const HardwareInfo& h = hardware_catalogue()[i];
    t.add("  ")
        .add(with_commas(n) + " " + hardware_name(i, n), Style::kItem)
        .line(" (power " + with_commas(n * h.power) + ")");
  }
  if (!any) t.line("  Nothing but a pencil.", Style::kDim);
  t.add("Total power: " + with_commas(total_power(player_->hardware)) + ". ");
  t.add("Coins: ").add(with_commas(player_->coins), Style::kCoins).line(".");
  return t;
}

Text Game::cmd_stats(const std::vector<std::string>&) {
  const Player& me = *player_;
  Text t;
  t.add(me.name, Style::kPlayer)
      .add(", ")
      .line(std::string(rank_info(me.rank).name), Style::kTitle);
  t.add("  Coins:    ").line(with_commas(me.coins), Style::kCoins);
  t.line("  Power:    " + with_commas(total_power(me.hardware)) + " (" +
         plural(total_units(me.hardware), "machine", "machines") + ")");
  t.add("  Place:    ").line(capitalized(place_name(me.place)), Style::kPlace);
  if (me.rank < kRetired) {
    t.line("  Problem:  " + std::string(rank_info(me.rank).problem) +
           (me.term >= 0 && me.damage > 0
                ? " (you have dealt " + with_commas(me.damage) + " damage)"
                : ""));
  }
  t.line("  Mined:    " + with_commas(me.mined) + " coins; given " +
         with_commas(me.given) + ", received " + with_commas(me.received) +
         "; " + plural(me.rounds, "battle round", "battle rounds") + ".");
  if (me.created_ms > 0) {
    std::time_t secs = static_cast<std::time_t>(me.created_ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
    t.line("  Enrolled: " + std::string(buf), Style::kDim);
  }
  return t;
}

Text Game::cmd_problem(const std::vector<std::string>&) {
  const Player& me = *player_;
  Text t;
  if (me.rank >= kRetired) {
    t.line(
        "You are retired. Your only problem is the crossword (7 across, "
        "'fault of segmentation', 8 letters).");
    return t;
  }
  auto view = load_problem(me.rank);
  if (!view.ok()) return storage_trouble(view.status(), "");
  const RankInfo& r = rank_info(me.rank);
  int64_t term = view->term;
  if (me.term > term && me.damage > 0) term = me.term;
  t.add(std::string(r.problem), Style::kTitle)
      .line(" (the " + std::string(r.name) + " problem, edition " +
            std::to_string(term + 1) + ")");
  t.line(std::string(r.problem_blurb), Style::kDim);
  t.line("Health: " + with_commas(view->left(term)) + " / " +
         with_commas(r.health));
  auto authors = view->authors[term];
  std::sort(authors.begin(), authors.end(), [](const auto& a, const auto& b) {
    return a.second != b.second ? a.second > b.second : a.first < b.first;
  });
  if (authors.empty()) {
    t.line("Nobody has touched it yet. Be the first author: solve.");
  } else {
    t.add("Co-authors so far: ");
    for (size_t i = 0; i < authors.size(); ++i) {
      if (i > 0) t.add(", ");
      t.add(authors[i].first, Style::kPlayer)
          .add(" (" + with_commas(authors[i].second) + ")");
    }
    t.line(".");
  }
  return t;
}

Text Game::cmd_solve(const std::vector<std::string>& args) {
  Text t;
  if (player_->rank >= kRetired) {
    t.line("You are retired. You solve the crossword instead, in pen.");
    return t;
  }
  int64_t rounds = kDefaultRounds;
  if (!args.empty()) {
    auto parsed = parse_count(args[0]);
    if (!parsed || *parsed < 1 || *parsed > kMaxRounds) {
      t.line("solve [rounds]: rounds is a number from 1 to " +
             std::to_string(kMaxRounds) + ".");
      return t;
    }
    rounds = *parsed;
  }
  if (total_power(player_->hardware) == 0) {
    t.line(
        "You have no hardware to fight with. Mine a little (by hand), then "
        "buy a CPU at the store.");
    return t;
  }
  int rank = player_->rank;
  const RankInfo& r = rank_info(rank);
  auto view = load_problem(rank);
  if (!view.ok()) return storage_trouble(view.status(), "Nothing happened.");
  if (player_->term >= 0 && player_->damage > 0 &&
      view->defeated(player_->term)) {
    if (Status s = promote(t); !s.ok()) {
      return t.append(storage_trouble(s, "Try again."));
    }
    return t;
  }
  int64_t term = view->term;
  if (player_->term > term && player_->damage > 0) term = player_->term;
  Player p = *player_;
  if (p.term != term) {
    p.term = term;
    p.damage = 0;
  }
  t.add("You face ")
      .add(std::string(r.problem), Style::kTitle)
      .line(" (health " + with_commas(view->left(term)) + " / " +
            with_commas(r.health) + ").");

  bool defeated = false;
  Status trouble;
  for (int64_t round = 0; round < rounds; ++round) {
    t.pause(kRoundBeat);
    p.rounds += 1;
    RoundOutcome outcome = roll_round(rng_);
    if (outcome == RoundOutcome::kLoss) {
      Player q = p;
      auto loss = lose_hardware(q.hardware, rng_);
      if (Status s = save(q); !s.ok()) {
        trouble = s;
        break;
      }
      p = q;
      t.add("Disaster: ", Style::kBad)
          .add(with_commas(loss->before) + " " +
                   hardware_name(loss->type, loss->before),
               Style::kItem)
          .add(loss->before == 1 ? " overheats" : " overheat")
          .line(". " + with_commas(loss->after) + " left.", Style::kBad);
      if (total_power(p.hardware) == 0) {
        t.line("Nothing left to fight with. You retreat to buy more hardware.",
               Style::kBad);
        break;
      }
    } else if (outcome == RoundOutcome::kProgress) {
      int64_t power = total_power(p.hardware);
      int64_t damage = sat_add(p.damage, power);
      if (Status s =
              store_.put(keys::hit(rank, term, name_), std::to_string(damage));
          !s.ok()) {
        trouble = s;
        break;
      }
      // The hit key is the truth about damage; the record follows.
      p.damage = damage;
      player_->term = term;
      player_->damage = damage;
      auto now = load_problem(rank);
      if (!now.ok()) {
        trouble = now.status();
        break;
      }
      view = std::move(now);
      t.add("You hit it for ")
          .add(with_commas(power), Style::kGood)
          .line(". Health: " + with_commas(view->left(term)) + " / " +
                with_commas(r.health) + ".");
      if (view->defeated(term)) {
        defeated = true;
        break;
      }
    } else {
      t.line(std::string(pick(idle_rounds(), rng_)), Style::kDim);
    }
  }
  if (Status s = save(p); !s.ok() && trouble.ok()) trouble = s;
  if (!trouble.ok()) {
    return t.append(storage_trouble(trouble, "The battle is interrupted."));
  }
  if (defeated) {
    if (Status s = promote(t); !s.ok()) {
      t.append(storage_trouble(s,
                               "Your promotion will be noticed with your "
                               "next command."));
    }
  } else if (total_power(p.hardware) > 0) {
    t.line("You take a break. The problem is still there. It always is.",
           Style::kDim);
  }
  return t;
}

Text Game::cmd_say(const std::vector<std::string>&) {
  std::string whole = sanitize(rest_after_first_word(raw_line_));
  std::string text = cut_utf8(whole, kMaxSay);
  Text t;
  if (text.empty()) {
    t.line("Say what?");
    return t;
  }
  if (Status s = post(player_->place, text, false); !s.ok()) {
    return storage_trouble(s, "Nobody heard you.");
  }
  t.add("You say: ").line("\"" + text + "\"", Style::kSpeech);
  if (text.size() < whole.size()) {
    t.line("(Only the first " + std::to_string(kMaxSay) +
               " bytes were said; say the rest again.)",
           Style::kDim);
  }
  return t;
}

Text Game::cmd_who(const std::vector<std::string>&) {
  auto seen = store_.list(keys::seen_prefix());
  if (!seen.ok()) return storage_trouble(seen.status(), "");
  remember_players(*seen, keys::seen_prefix());
  struct Row {
    std::string name;
    Heartbeat hb;
  };
  std::vector<Row> rows;
  for (const auto& [key, value] : *seen) {
    auto n = keys::name_after(keys::seen_prefix(), key);
    auto hb = decode_heartbeat(value);
    if (n && hb.ok() && active(*hb)) rows.push_back({*n, *hb});
  }
  std::sort(rows.begin(), rows.end(),
            [](const Row& a, const Row& b) { return a.name < b.name; });
  Text t;
  t.line("Around in the last 5 minutes:", Style::kTitle);
  int64_t now = clock_.now_ms();
  for (const Row& row : rows) {
    std::string place = row.name == name_ ? player_->place : row.hb.place;
    t.add("  ")
        .add(row.name, Style::kPlayer)
        .add(" (" + std::string(rank_info(row.hb.rank).name) + ") at ")
        .add(place_name(place), Style::kPlace)
        .line(", " + (row.name == name_ ? std::string("that's you")
                                        : ago(now - row.hb.at_ms)),
              Style::kDim);
  }
  if (rows.empty()) t.line("  Nobody. Not even you, apparently.");
  return t;
}

Text Game::cmd_top(const std::vector<std::string>&) {
  auto players = store_.list(keys::player_prefix());
  if (!players.ok()) return storage_trouble(players.status(), "");
  remember_players(*players, keys::player_prefix());
  std::vector<Player> all;
  for (const auto& [key, value] : *players) {
    auto n = keys::name_after(keys::player_prefix(), key);
    if (!n) continue;
    if (*n == name_) {
      all.push_back(*player_);
      continue;
    }
    auto p = decode_player(value);
    if (!p.ok()) continue;
    p->name = *n;
    all.push_back(std::move(*p));
  }
  std::sort(all.begin(), all.end(), [](const Player& a, const Player& b) {
    if (a.rank != b.rank) return a.rank > b.rank;
    if (a.coins != b.coins) return a.coins > b.coins;
    return a.name < b.name;
  });
  Text t;
  t.line("The leaderboard", Style::kTitle);
  for (size_t i = 0; i < all.size(); ++i) {
    bool me = all[i].name == name_;
    if (i >= 10 && !me) continue;
    std::string pos = std::to_string(i + 1) + ".";
    pos.resize(5, ' ');
    std::string name = all[i].name;
    std::string rank(rank_info(all[i].rank).name);
    t.add("  " + pos)
        .add(name, Style::kPlayer)
        .add(std::string(name.size() < 25 ? 25 - name.size() : 1, ' '))
        .add(rank + std::string(rank.size() < 15 ? 15 - rank.size() : 1, ' '))
        .add(plural(all[i].coins, "coin", "coins"), Style::kCoins);
    if (me) t.add("  <- you", Style::kDim);
    t.line();
  }
  return t;
}

Text Game::cmd_give(const std::vector<std::string>& args) {
  Text t;
  if (args.size() != 2) {
    t.line("give <player> <coins>");
    return t;
  }
  auto to = normalize_name(args[0]);
  if (!to.ok()) {
    t.line("That is not a player's name: " + to.status().message() + ".");
    return t;
  }
  if (*to == name_) {
    t.line("You give yourself a pat on the back. Coins stay where they are.");
    return t;
  }
  auto amount = parse_count(args[1]);
  if (!amount && is_digits(args[1])) {
    // A number too large to hold is still more than anyone has.
    amount = std::numeric_limits<int64_t>::max();
  }
  if (!amount || *amount < 1) {
    t.line("give <player> <coins>: coins is a positive number.");
    return t;
  }
  if (*amount > player_->coins) {
    t.add("You only have ")
        .add(plural(player_->coins, "coin", "coins"), Style::kCoins)
        .line(".");
    return t;
  }
  auto exists = store_.get(keys::player(*to));
  if (!exists.ok())
    return storage_trouble(exists.status(), "Nothing was given.");
  if (!exists->has_value()) {
    t.line("The registrar has no student called " + *to + ".");
    return t;
  }
  known_players_.insert(*to);
  // One write takes the coins and records the transfer as pending; only
  // then is the transfer written (to a key nobody else writes). If that
  // second write fails, the next command writes it again.
  Player next = *player_;
  next.coins -= *amount;
  next.given = sat_add(next.given, *amount);
  next.gift_seq += 1;
  next.pending.push_back(PendingGift{*to, next.gift_seq, *amount});
  if (Status s = save(next); !s.ok()) {
    return storage_trouble(s, "Nothing was given.");
  }
  t.add("You give ")
      .add(*to, Style::kPlayer)
      .add(" ")
      .add(plural(*amount, "coin", "coins"), Style::kCoins)
      .add(". You have ")
      .add(plural(next.coins, "coin", "coins"), Style::kCoins)
      .line(" left.");
  if (Status s = retry_pending(); !s.ok()) {
    t.line(
        "(The transfer is on its way; it will be sent as soon as the "
        "network lets it.)",
        Style::kDim);
  }
  return t;
}

Text Game::cmd_quit(const std::vector<std::string>&) {
  quitting_ = true;
  Text t;
  if (logged_in_) {
    (void)retry_pending();
    (void)post(player_->place, "heads home to sleep.", true);
    (void)heartbeat(/*left=*/true);
    t.line("You head home. Your progress is saved. See you tomorrow, " + name_ +
           ".");
  } else {
    t.line("Goodbye.");
  }
  return t;
}

}  // namespace cmud::game
