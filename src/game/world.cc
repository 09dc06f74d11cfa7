#include "cmud/game/world.h"

#include <cassert>
#include <limits>
#include <string>
#include <vector>

namespace cmud::game {

namespace {

constexpr std::array<RankInfo, kRankCount> kRanks = {{
    {"Undergraduate", "an Undergraduate", "Assignment 1: the Segfault",
     "Your first C assignment dies with \"Segmentation fault (core dumped)\". "
     "There is no core. There was never a core.",
     100, ""},
    {"Masters", "a Masters student", "The Thesis That Will Not Compile",
     "Four hundred pages of LaTeX and one missing closing brace, somewhere.",
     4'000,
     "The Segfault falls. It was a missing '&'. It is always a missing '&'.\n"
     "The registrar hands you a diploma and, in the same motion, a "
     "student-loan statement.\n"
     "You are now a Masters student. The Campus Store will sell you GPUs."},
    {"PhD", "a PhD student", "Reviewer 2",
     "They have read your paper. They have opinions. They would like you to "
     "cite their work. All of it.",
     120'000,
     "At 4:57 am pdflatex prints \"Output written on thesis.pdf (400 "
     "pages)\".\n"
     "Your committee reads the abstract and agrees that it is, indeed, a "
     "thesis.\n"
     "You are now a PhD student. Your stipend is one free coffee a week. "
     "ASICs are in stock."},
    {"PostDoc", "a PostDoc", "The Grant Proposal",
     "Forty pages explaining why your research will cure cancer, end "
     "poverty and be finished by March.",
     2'500'000,
     "You cite every paper Reviewer 2 ever wrote, including a 1987 "
     "newsletter.\n"
     "\"Accept with minor revisions,\" says Reviewer 2. Minor means nine "
     "months.\n"
     "Dr. {name}, you are now a PostDoc: all the work of a professor and "
     "none of the chairs.\n"
     "Quantum computers are in stock (whether they work is undetermined)."},
    {"Professor", "a Professor", "P versus NP",
     "The big one. Whoever solves it retires at once, on a million dollars "
     "and an unbearable amount of smugness.",
     60'000'000,
     "The grant is funded! It is 3% of what you asked for and must be spent "
     "by Friday.\n"
     "A hiring committee, moved by the word 'synergy' on page 31, offers "
     "you tenure.\n"
     "Professor {name}: you get an office, a parking spot 3 km away, and "
     "dark-matter rigs."},
    {"Retired", "retired", "", "", 0,
     "P = NP. Or P != NP. The proof is so elegant that nobody understands "
     "it, which is the same thing.\n"
     "The university names a broken printer after you. You retire to a "
     "cottage with fast internet.\n"
     "You have won CMUD. Mining still pays, and the undergraduates could "
     "use a few of your coins."},
}};

constexpr std::array<HardwareInfo, kHardwareCount> kHardware = {{
    {"cpu", "CPU", 1, 1, kUndergraduate,
     "A beige tower from the recycling room. Runs hot, runs Linux, runs."},
    {"gpu", "GPU", 5, 10, kMasters,
     "Three fans and RGB lighting. Smells faintly of gamer."},
    {"asic", "ASIC", 25, 100, kPhd,
     "Does exactly one thing, extremely well, like a tenured professor."},
    {"quantum", "Quantum computer", 125, 1'000, kPostdoc,
     "Both working and broken until observed. Please do not observe it."},
    {"dark-matter", "Dark-matter rig", 625, 10'000, kProfessor,
     "Nobody has ever seen it. It is 85% of the lab's electricity bill."},
}};

constexpr std::array<PlaceInfo, 10> kPlaces = {{
    {"gate", "the Main Gate",
     "A wrought-iron arch bears the university motto, LUX ET SEGFAULT. "
     "Freshly admitted students cluster here, clutching lanyards and "
     "optimism."},
    {"quad", "the Quad",
     "A perfect lawn with a sign: KEEP OFF THE GRASS. A perfectly straight "
     "path has been worn across it by generations of students late for "
     "lectures."},
    {"library", "the Library",
     "Twelve floors of silence. On the third, a printer has shown PC LOAD "
     "LETTER since 1998; nobody dares to touch it."},
    {"cafe", "Cafe Dijkstra",
     "Always the shortest path to caffeine. The espresso machine is, "
     "technically, a GPU, and it has better cooling than the lab."},
    {"store", "the Campus Store",
     "Shelves of hardware, hoodies in every size except yours, and a "
     "cashier who only takes coins you mined yourself. (Try shop and buy.)"},
    {"lab", "the Basement Lab",
     "Forty servers, one fan, and a whiteboard that says DO NOT ERASE, "
     "dated six years ago. It is warm. It is always warm."},
    {"hall", "Turing Lecture Hall",
     "Three hundred seats, twelve students, one of them awake. The "
     "projector only works if you believe in it."},
    {"bridge", "the Off-By-One Bridge",
     "It has ten planks. Or eleven. Engineers count the posts, "
     "mathematicians count the gaps, and the bridge stays up out of spite."},
    {"office", "the Faculty Corridor",
     "A row of closed doors. Office hours: Tuesdays 3:00 to 3:05, by "
     "appointment; appointments during office hours."},
    {"roof", "the Roof",
     "Strictly off-limits, so always busy. PhD students come here to watch "
     "the sunset and reconsider their choices; PostDocs, to reconsider them "
     "again."},
}};

constexpr std::array<std::string_view, 6> kMiningFailures = {
    "Your hardware computes the wrong hash with great confidence.",
    "A cosmic ray flips a bit. It was an important bit.",
    "Someone unplugs your rig to charge a phone.",
    "The hash comes out as 42. That is not how hashes work.",
    "Windows Update. Please do not turn off your computer.",
    "You mine, you dig, you find only a merge conflict.",
};

constexpr std::array<std::string_view, 5> kIdleRounds = {
    "You stare at the screen. The screen stares back.",
    "You refactor the variable names. It feels productive. It is not.",
    "You go for a coffee and explain the problem to the barista.",
    "You open Stack Overflow. The question was closed as a duplicate.",
    "You add a print statement. It prints nothing, ominously.",
};

}  // namespace

const RankInfo& rank_info(int rank) {
  assert(rank >= 0 && rank < kRankCount);
  return kRanks[static_cast<size_t>(rank)];
}

std::span<const HardwareInfo> hardware_catalogue() { return kHardware; }

std::optional<size_t> find_hardware(std::string_view id) {
  for (size_t i = 0; i < kHardware.size(); ++i) {
    std::string_view hid = kHardware[i].id;
    if (id == hid) return i;
    if (id.size() == hid.size() + 1 && id.back() == 's' &&
        id.substr(0, hid.size()) == hid) {
      return i;
    }
  }
  return std::nullopt;
}

int64_t total_power(const Hardware& hw) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  int64_t sum = 0;
  for (size_t i = 0; i < kHardwareCount; ++i) {
    int64_t n = hw[i] < 0 ? 0 : hw[i];
    int64_t p = kHardware[i].power;
    if (n > (kMax - sum) / p) return kMax;
    sum += n * p;
  }
  return sum;
}

namespace {

constexpr int64_t kMaxCoins = std::numeric_limits<int64_t>::max();
// Past this many units of a kind every price is beyond INT64_MAX (the
// cheapest, 1 coin, squared), so sums need no more.
constexpr int64_t kMaxUnits = 3'037'000'499;  // floor(sqrt(INT64_MAX))

// 1^2 + 2^2 + ... + m^2, for m <= kMaxUnits + 1 (exact in 128 bits).
__int128 squares(int64_t m) {
  __int128 x = m;
  return x * (x + 1) * (2 * x + 1) / 6;
}

// Coins for units owned+1 .. owned+n of `type`, or -1 past INT64_MAX.
__int128 cost(size_t type, int64_t owned, int64_t n) {
  if (owned > kMaxUnits || n > kMaxUnits - owned) return -1;
  __int128 c = (squares(owned + n) - squares(owned)) * kHardware[type].price;
  return c > kMaxCoins ? -1 : c;
}

}  // namespace

int64_t unit_price(size_t type, int64_t owned) {
  if (owned < 0) owned = 0;
  __int128 c = cost(type, owned, 1);
  return c < 0 ? kMaxCoins : static_cast<int64_t>(c);
}

std::optional<int64_t> price_of(size_t type, int64_t owned, int64_t n) {
  if (owned < 0) owned = 0;
  if (n <= 0) return 0;
  __int128 c = cost(type, owned, n);
  if (c < 0) return std::nullopt;
  return static_cast<int64_t>(c);
}

int64_t affordable(size_t type, int64_t owned, int64_t coins) {
  if (owned < 0) owned = 0;
  // The most n whose cost fits in coins: costs grow with n.
  int64_t lo = 0;
  int64_t hi = kMaxUnits;
  while (lo < hi) {
    int64_t mid = lo + (hi - lo + 1) / 2;
    __int128 c = cost(type, owned, mid);
    if (c >= 0 && c <= coins) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return lo;
}

int64_t total_units(const Hardware& hw) {
  int64_t sum = 0;
  for (int64_t n : hw) sum += n < 0 ? 0 : n;
  return sum;
}

// The campus as a map: the Quad in the middle, the Gate south of it (the
// Store beside the Gate), the Library north (the Lab below it), the Hall
// west, and east the Cafe, the Bridge and, north of the Bridge, the
// Faculty Corridor with the Roof above. Each path once; exits() gives
// both ways.
namespace {

struct Path {
  std::string_view from, direction, to;
};
constexpr std::array<Path, 9> kPaths = {{
    {"gate", "north", "quad"},
    {"gate", "east", "store"},
    {"quad", "north", "library"},
    {"library", "down", "lab"},
    {"quad", "east", "cafe"},
    {"quad", "west", "hall"},
    {"cafe", "east", "bridge"},
    {"bridge", "north", "office"},
    {"office", "up", "roof"},
}};

std::string_view opposite(std::string_view direction) {
  for (size_t i = 0; i < kDirections.size(); ++i) {
    if (kDirections[i] == direction) return kDirections[i ^ 1];
  }
  return {};
}

}  // namespace

std::span<const PlaceInfo> places() { return kPlaces; }

std::vector<Exit> exits(std::string_view place) {
  std::vector<Exit> out;
  for (std::string_view d : kDirections) {
    for (const Path& p : kPaths) {
      if (p.from == place && p.direction == d) out.push_back({d, p.to});
      if (p.to == place && opposite(p.direction) == d) {
        out.push_back({d, p.from});
      }
    }
  }
  return out;
}

std::vector<std::string_view> route(std::string_view from,
                                    std::string_view to) {
  if (from == to || find_place(from) == nullptr || find_place(to) == nullptr) {
    return {};
  }
  // Breadth first from `from`; ten places, so no cleverness.
  std::vector<std::string_view> queue{from};
  std::vector<std::pair<std::string_view, std::string_view>> came_from;
  for (size_t i = 0; i < queue.size(); ++i) {
    for (const Exit& e : exits(queue[i])) {
      bool known = e.to == from;
      for (const auto& [place, prev] : came_from) known |= place == e.to;
      if (known) continue;
      came_from.emplace_back(e.to, queue[i]);
      queue.push_back(e.to);
    }
  }
  std::vector<std::string_view> path;
  for (std::string_view at = to; at != from;) {
    path.insert(path.begin(), at);
    std::string_view prev;
    for (const auto& [place, p] : came_from) {
      if (place == at) prev = p;
    }
    if (prev.empty()) return {};  // unreachable: never with this map
    at = prev;
  }
  return path;
}

const PlaceInfo* find_place(std::string_view id) {
  for (const auto& p : kPlaces) {
    if (p.id == id) return &p;
  }
  return nullptr;
}

int64_t mine_once(int64_t power, Rng& rng) {
  if (power < 1) power = 1;
  std::uniform_int_distribution<int> percent(0, 99);
  if (percent(rng) >= kMineSuccessPercent) return 0;
  std::uniform_int_distribution<int64_t> coins(1, power);
  return coins(rng);
}

RoundOutcome roll_round(Rng& rng) {
  std::uniform_int_distribution<int> percent(0, 99);
  int d = percent(rng);
  if (d < kLossPercent) return RoundOutcome::kLoss;
  if (d < kLossPercent + kProgressPercent) return RoundOutcome::kProgress;
  return RoundOutcome::kNothing;
}

std::optional<Loss> lose_hardware(Hardware& hw, Rng& rng) {
  std::vector<size_t> owned;
  for (size_t i = 0; i < kHardwareCount; ++i) {
    if (hw[i] > 0) owned.push_back(i);
  }
  if (owned.empty()) return std::nullopt;
  std::uniform_int_distribution<size_t> which(0, owned.size() - 1);
  size_t type = owned[which(rng)];
  Loss loss{type, hw[type], hw[type] / 4};
  hw[type] = loss.after;
  return loss;
}

std::string_view pick(std::span<const std::string_view> lines, Rng& rng) {
  assert(!lines.empty());
  std::uniform_int_distribution<size_t> which(0, lines.size() - 1);
  return lines[which(rng)];
}

std::span<const std::string_view> mining_failures() { return kMiningFailures; }
std::span<const std::string_view> idle_rounds() { return kIdleRounds; }

}  // namespace cmud::game
