// problem and solve: the rank's shared problem and battles against it.
#include "command.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>

#include "game_internal.h"

namespace cmud::game {

using namespace detail;

Text cmd_problem(PlayerSession& s, const Args&) {
  const Player& me = s.me();
  Text t;
  if (me.rank >= kRetired) {
    t.line(
        "You are retired. Your only problem is the crossword (7 across, "
        "'fault of segmentation', 8 letters).");
    return t;
  }
  auto view = s.load_problem(me.rank);
  if (!view.ok()) return s.storage_trouble(view.status(), "");
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

Text cmd_solve(PlayerSession& s, const Args& args) {
  Text t;
  if (s.me().rank >= kRetired) {
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
  if (total_power(s.me().hardware) == 0) {
    t.line(
        "You have no hardware to fight with. Mine a little (by hand), then "
        "buy a CPU at the store.");
    return t;
  }
  int rank = s.me().rank;
  const RankInfo& r = rank_info(rank);
  auto view = s.load_problem(rank);
  if (!view.ok()) return s.storage_trouble(view.status(), "Nothing happened.");
  if (s.me().term >= 0 && s.me().damage > 0 && view->defeated(s.me().term)) {
    if (Status status = s.promote(t); !status.ok()) {
      return t.append(s.storage_trouble(status, "Try again."));
    }
    return t;
  }
  if (!s.ready_to_work(t)) return t;
  int64_t term = view->term;
  if (s.me().term > term && s.me().damage > 0) term = s.me().term;
  Player p = s.me();
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
  int64_t fought = 0;
  for (int64_t round = 0; round < rounds; ++round) {
    t.pause(kRoundBeat);
    p.rounds += 1;
    ++fought;
    RoundOutcome outcome = roll_round(s.rng());
    if (outcome == RoundOutcome::kLoss) {
      Player q = p;
      auto loss = lose_hardware(q.hardware, s.rng());
      if (Status status = s.save(q); !status.ok()) {
        trouble = status;
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
      if (Status status = s.store().put(keys::hit(rank, term, s.name()),
                                        std::to_string(damage));
          !status.ok()) {
        trouble = status;
        break;
      }
      // The hit key is the truth about damage; the record follows.
      p.damage = damage;
      s.record_hit(term, damage);
      auto now = s.load_problem(rank);
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
      t.line(std::string(pick(idle_rounds(), s.rng())), Style::kDim);
    }
  }
  s.worked(p, fought);
  if (Status status = s.save(p); !status.ok() && trouble.ok()) trouble = status;
  if (!trouble.ok()) {
    return t.append(s.storage_trouble(trouble, "The battle is interrupted."));
  }
  if (defeated) {
    if (Status status = s.promote(t); !status.ok()) {
      t.append(s.storage_trouble(status,
                                 "Your promotion will be noticed with your "
                                 "next command."));
    }
  } else if (total_power(p.hardware) > 0) {
    t.line("You take a break. The problem is still there. It always is.",
           Style::kDim);
  }
  return t;
}

}  // namespace cmud::game
