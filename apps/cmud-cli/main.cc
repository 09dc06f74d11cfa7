// cmud-cli: Get/Put/List/Del against CMUD query ports, one-shot or at an
// interactive prompt.
#include <editline/readline.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "client_flags.h"
#include "cmud/client/client.h"
#include "cmud/resp/resp.h"

namespace {

constexpr const char* kUsage =
    "commands:\n"
    "  get KEY          print the value (exit 1 when absent)\n"
    "  put KEY VALUE    store VALUE (quote it, or give several words)\n"
    "  list [PREFIX]    every key starting with PREFIX, with its value\n"
    "  del KEY          delete (exit 1 when absent)\n";

// Runs one command; returns the exit status (0 ok, 1 absent, 2 error).
int run(cmud::client::Client& client, const std::vector<std::string>& args) {
  if (args.empty()) return 0;
  const std::string& cmd = args[0];
  auto fail = [](const cmud::Status& s) {
    std::fprintf(stderr, "error: %s\n", s.to_string().c_str());
    return 2;
  };
  if (cmd == "get" && args.size() == 2) {
    auto r = client.get(args[1]);
    if (!r.ok()) return fail(r.status());
    if (!*r) {
      std::fprintf(stderr, "(absent) no key '%s'\n", args[1].c_str());
      return 1;
    }
    std::fwrite((*r)->data(), 1, (*r)->size(), stdout);
    std::fputc('\n', stdout);
    return 0;
  }
  if (cmd == "put" && args.size() >= 3) {
    std::string value = args[2];
    for (size_t i = 3; i < args.size(); ++i) value += " " + args[i];
    cmud::Status s = client.put(args[1], value);
    if (!s.ok()) return fail(s);
    std::puts("OK");
    return 0;
  }
  if (cmd == "list" && args.size() <= 2) {
    auto r = client.list(args.size() == 2 ? args[1] : "");
    if (!r.ok()) return fail(r.status());
    for (const auto& [k, v] : *r) std::printf("%s\t%s\n", k.c_str(), v.c_str());
    if (r->empty()) std::fputs("(empty)\n", stderr);
    return 0;
  }
  if (cmd == "del" && args.size() == 2) {
    auto r = client.del(args[1]);
    if (!r.ok()) return fail(r.status());
    if (!*r) {
      std::fprintf(stderr, "(absent) no key '%s'\n", args[1].c_str());
      return 1;
    }
    std::puts("deleted");
    return 0;
  }
  std::fprintf(stderr, "unknown command or wrong arguments: %s\n%s",
               cmd.c_str(), kUsage);
  return 2;
}

// Splits a line as redis-cli does ("double" and 'single' quotes).
cmud::Result<std::vector<std::string>> split(const std::string& line) {
  std::string framed = line + "\n";
  auto p = cmud::resp::parse_command(framed);
  if (p.outcome != cmud::resp::Outcome::kComplete) {
    return cmud::Status(cmud::ErrorCode::kInvalidArgument,
                        p.error.empty() ? "cannot parse line" : p.error);
  }
  return std::vector<std::string>(p.args.begin(), p.args.end());
}

int interactive(cmud::client::Client& client) {
  bool tty = isatty(STDIN_FILENO) != 0;
  if (tty)
    std::fputs("cmud-cli: type help for commands, quit to leave\n", stderr);
  int last = 0;
  while (true) {
    std::string line;
    if (tty) {
      char* raw = readline("cmud> ");
      if (raw == nullptr) break;
      line = raw;
      if (!line.empty()) add_history(raw);
      free(raw);
    } else if (!std::getline(std::cin, line)) {
      break;
    }
    auto args = split(line);
    if (!args.ok()) {
      std::fprintf(stderr, "error: %s\n", args.status().message().c_str());
      continue;
    }
    if (args->empty()) continue;
    if ((*args)[0] == "quit" || (*args)[0] == "exit") break;
    if ((*args)[0] == "help") {
      std::fputs(kUsage, stdout);
      continue;
    }
    last = run(client, *args);
    std::fflush(stdout);
  }
  return tty ? 0 : last;
}

}  // namespace

int main(int argc, char** argv) {
  std::string servers = "127.0.0.1:6001";
  std::vector<std::string> command;
  CLI::App app{"cmud-cli: talk to CMUD query ports.\n" + std::string(kUsage) +
               "With no command, reads commands at a prompt (or from stdin)."};
  bool round_robin = false;
  app.add_option("-s,--servers", servers,
                 "query ports, HOST:PORT[,HOST:PORT...]: the nearest that "
                 "answers, another when it fails")
      ->capture_default_str();
  app.add_flag("--round-robin", round_robin,
               "send each command to the next server in turn instead");
  cmud::apps::ClientFlags client_flags;
  client_flags.add_to(app);
  // Everything from the command word on is the command, even "-1".
  app.prefix_command();
  app.footer("command: get|put|list|del and its arguments");
  CLI11_PARSE(app, argc, argv);
  command = app.remaining();
  // The command word itself never starts with '-': that is a flag we lack
  // (arguments after it may, as in "put k -1").
  if (!command.empty() && command[0].size() > 1 && command[0][0] == '-') {
    std::fprintf(stderr, "cmud-cli: unknown flag '%s' (see --help)\n",
                 command[0].c_str());
    return 2;
  }

  auto addrs = cmud::client::parse_addrs(servers);
  if (!addrs.ok()) {
    std::fprintf(stderr, "cmud-cli: %s\n", addrs.status().message().c_str());
    return 2;
  }
  auto flagged = client_flags.options();
  if (!flagged.ok()) {
    std::fprintf(stderr, "cmud-cli: %s\n", flagged.status().message().c_str());
    return 2;
  }
  cmud::client::ClientOptions client_options = std::move(*flagged);
  // A command at the shell says at once that no server answers.
  client_options.failover.wait_for_a_server = false;
  std::shared_ptr<cmud::client::Router> router;
  if (round_robin) {
    router =
        std::make_shared<cmud::client::RoundRobinRouter>(std::move(*addrs));
  } else {
    router = std::make_shared<cmud::client::FailoverRouter>(std::move(*addrs));
  }
  cmud::client::Client client(router, client_options);
  if (command.empty()) return interactive(client);
  return run(client, command);
}
