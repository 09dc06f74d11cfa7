// The game's fixed world: ranks and their problems, hardware, campus places,
// and the balance rules (mining, battle rounds, hardware loss) as pure
// functions of a seeded random engine, so tests can check the odds.
//
//   cmud::game::Rng rng(42);
//   int64_t coins = cmud::game::mine_once(power, rng);  // 0 on a failure
//   auto outcome = cmud::game::roll_round(rng);         // loss/progress/none
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <string_view>
#include <vector>

namespace cmud::game {

// The tables are immutable (safe from any thread); the rules touch only the
// Rng they are given (thread-compatible, like the Rng).

// Every random draw of the game goes through one of these, seeded once.
using Rng = std::mt19937_64;

// ---- Ranks and their problems ---------------------------------------------

inline constexpr int kUndergraduate = 0;
inline constexpr int kMasters = 1;
inline constexpr int kPhd = 2;
inline constexpr int kPostdoc = 3;
inline constexpr int kProfessor = 4;
inline constexpr int kRetired = 5;
inline constexpr int kRankCount = 6;

struct RankInfo {
  std::string_view name;     // "Undergraduate"
  std::string_view you_are;  // after "You are now": "a Masters student"
  std::string_view problem;  // the problem fought at this rank ("" if none)
  std::string_view problem_blurb;
  int64_t health = 0;  // the problem's health; 0 for Retired (no problem)
  // Told on promotion *to* this rank; "{name}" is the player's name.
  std::string_view promotion_story;
};

// REQUIRES: 0 <= rank < kRankCount.
const RankInfo& rank_info(int rank);

// ---- Hardware ---------------------------------------------------------------

inline constexpr size_t kHardwareCount = 5;

struct HardwareInfo {
  std::string_view id;    // what players type: "cpu", "dark-matter"
  std::string_view name;  // "Dark-matter rig"
  int64_t price = 0;      // coins, for the first one (see unit_price)
  int64_t power = 0;
  int unlock_rank = 0;  // on sale from this rank on
  std::string_view blurb;
};

// Counts per hardware type, in catalogue order (cpu, gpu, asic, quantum,
// dark-matter).
using Hardware = std::array<int64_t, kHardwareCount>;

std::span<const HardwareInfo> hardware_catalogue();
// The index of the hardware called `id` (also accepts a plural "cpus"), or
// nullopt.
std::optional<size_t> find_hardware(std::string_view id);
// The more of a kind one owns, the dearer the next (as demand goes): the
// n-th unit of a type costs n * n times the first. Without it power, and
// so mining, would grow exponentially and the game end in minutes; with a
// square, not a geometric, rise the hours it takes stay near the curve of
// docs/GAME.md when a problem's health moves a little. unit_price: the
// next unit's price when `owned` are owned, saturating at INT64_MAX.
int64_t unit_price(size_t type, int64_t owned);
// Coins for `n` more units of `type` when `owned` are owned; nullopt past
// INT64_MAX.
std::optional<int64_t> price_of(size_t type, int64_t owned, int64_t n);
// How many more units `coins` buy when `owned` are owned.
int64_t affordable(size_t type, int64_t owned, int64_t coins);
// Sum of count * power, saturating at INT64_MAX.
int64_t total_power(const Hardware& hw);
int64_t total_units(const Hardware& hw);

// ---- Places -----------------------------------------------------------------

struct PlaceInfo {
  std::string_view id;  // [a-z] only: it is used inside keys
  std::string_view name;
  std::string_view description;
};

std::span<const PlaceInfo> places();
const PlaceInfo* find_place(std::string_view id);
// The paths between places: each exit leads one way in a direction
// (north, south, east, west, up, down); every path has an exit each way.
struct Exit {
  std::string_view direction;
  std::string_view to;
};
std::vector<Exit> exits(std::string_view place);
// The places after `from` on the shortest walk to `to`, in order (empty
// when they are the same, or either is unknown).
std::vector<std::string_view> route(std::string_view from, std::string_view to);
// The six directions, in the order exits are listed.
inline constexpr std::array<std::string_view, 6> kDirections = {
    "north", "south", "east", "west", "up", "down"};

// Where new players start.
inline constexpr std::string_view kStartPlace = "gate";
// Where hardware is sold.
inline constexpr std::string_view kStorePlace = "store";

// ---- Balance rules ----------------------------------------------------------

// Work takes time: each mining attempt and each battle round keeps the
// player busy for this long (Player::busy_until), whatever the client
// shows; so progress follows the hours played, not the commands typed.
inline constexpr int64_t kWorkMs = 1000;

inline constexpr int kMineSuccessPercent = 90;
inline constexpr int kLossPercent = 15;
inline constexpr int kProgressPercent = 80;  // the remaining 5%: nothing

// One mining attempt with `power` (values below 1 count as 1: you can
// always mine by hand): 90% of the time 1..power coins, uniformly; else 0.
int64_t mine_once(int64_t power, Rng& rng);

enum class RoundOutcome { kLoss, kProgress, kNothing };
// One battle round: 15% loss, 80% progress, 5% nothing.
RoundOutcome roll_round(Rng& rng);

struct Loss {
  size_t type = 0;  // which hardware type broke
  int64_t before = 0;
  int64_t after = 0;
};
// A random owned type drops to a quarter (rounded down); nullopt when
// nothing is owned.
std::optional<Loss> lose_hardware(Hardware& hw, Rng& rng);

// A uniformly chosen element of a non-empty list of jokes.
std::string_view pick(std::span<const std::string_view> lines, Rng& rng);
// Flavour lines.
std::span<const std::string_view> mining_failures();
std::span<const std::string_view> idle_rounds();

}  // namespace cmud::game
