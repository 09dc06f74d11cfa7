// cmud: the game's terminal client. Stateless: every command becomes
// queries to the CMUD query ports given with -s.
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>

#include "client_flags.h"
#include "cmud/game/game.h"
#include "cmud/game/schema.h"
#include "cmud/game/storage.h"
#include "cmud/game/terminal.h"

int main(int argc, char** argv) {
  std::string servers = "127.0.0.1:6001,127.0.0.1:6002";
  uint64_t seed = 0;
  int64_t timeout_ms = 3000;
  cmud::game::TerminalOptions options;
  CLI::App app{
      "cmud: a multiplayer text game on a university CS campus, kept in a "
      "CMUD store. Type help once inside."};
  app.add_option("-s,--servers", servers,
                 "query ports HOST:PORT[,HOST:PORT...]: the first is used "
                 "until it fails, then the next")
      ->capture_default_str();
  app.add_option("-n,--name", options.name,
                 "your player name (default: asked, or the first line of "
                 "input)");
  app.add_option("--seed", seed, "seed for the dice (default: random)");
  app.add_flag("--fast", options.fast, "no dramatic pauses");
  std::map<std::string, cmud::game::TerminalOptions::Color> colors{
      {"auto", cmud::game::TerminalOptions::Color::kAuto},
      {"always", cmud::game::TerminalOptions::Color::kAlways},
      {"never", cmud::game::TerminalOptions::Color::kNever}};
  app.add_option("--color", options.color,
                 "auto (a terminal without NO_COLOR), always or never")
      ->transform(CLI::CheckedTransformer(colors, CLI::ignore_case))
      ->default_str("auto");
  cmud::apps::ClientFlags client_flags;
  client_flags.add_to(app);
  app.add_option("--timeout-ms", timeout_ms, "give up on a query after this")
      ->check(CLI::Range(100, 600000))
      ->capture_default_str();
  bool print_rules = false;
  app.add_flag("--print-signup-rules", print_rules,
               "print the ACL rules of a player's account (for cmud-server "
               "--signup-rules) and exit");
  CLI11_PARSE(app, argc, argv);
  if (print_rules) {
    std::printf("%.*s\n", static_cast<int>(cmud::game::kSignupRules.size()),
                cmud::game::kSignupRules.data());
    return 0;
  }

  auto flagged = client_flags.options();
  if (!flagged.ok()) {
    std::fprintf(stderr, "cmud: %s\n", flagged.status().message().c_str());
    return 2;
  }
  cmud::client::ClientOptions client_options = std::move(*flagged);
  client_options.timeout = std::chrono::milliseconds(timeout_ms);
  client_options.connect_timeout =
      std::chrono::milliseconds(std::min<int64_t>(timeout_ms, 2000));
  auto store = cmud::game::ClientStorage::connect(servers, client_options);
  if (!store.ok()) {
    std::fprintf(stderr, "cmud: %s\n", store.status().message().c_str());
    return 2;
  }
  // Credentials are checked before the game starts: a refusal is for the
  // user at the shell, not a network hiccup in the game. (An unreachable
  // server is the game's to retry.)
  auto probe = (*store)->get("cmud:auth-check");
  if (!probe.ok() && (probe.status().code() == cmud::ErrorCode::kDenied ||
                      probe.status().message().starts_with("NOAUTH"))) {
    std::fprintf(stderr,
                 "cmud: the server refused to let us in (%s); give its "
                 "password with --pass or CMUD_PASSWORD\n",
                 probe.status().message().c_str());
    return 2;
  }
  cmud::game::SystemClock clock;
  cmud::game::GameConfig config;
  config.seed = seed;
  cmud::game::Game game(**store, clock, config);
  return cmud::game::run_terminal(game, options);
}
