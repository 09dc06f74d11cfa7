// The game session's front: login, the command loop and completion. What a
// command does is in commands/ (one file each, listed in commands/table.cc);
// the player's state and the rules every write follows are in session.cc.
#include "cmud/game/game.h"

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "command.h"
#include "game_internal.h"
#include "session.h"

namespace cmud::game {

using namespace detail;

Game::Game(Storage& store, Clock& clock, GameConfig config)
    : session_(std::make_unique<PlayerSession>(store, clock, config)) {}

Game::~Game() = default;

bool Game::logged_in() const { return session_->logged_in(); }

const std::string& Game::name() const { return session_->name(); }

const Player* Game::player() const { return session_->player(); }

Result<std::string> Game::check_name(std::string_view name) {
  auto normalized = normalize_name(name);
  if (!normalized.ok()) return normalized.status();
  // "quit" typed at the name prompt means quit, not a player called quit.
  if (find_command(*normalized) != nullptr) {
    return Status(ErrorCode::kInvalidArgument,
                  "'" + *normalized + "' is a command, not a name");
  }
  return normalized;
}

// ---- Accounts, login ------------------------------------------------------

Result<Account> Game::account(std::string_view name) {
  auto normalized = check_name(name);
  if (!normalized.ok()) return normalized.status();
  auto got = session_->store().account(*normalized);
  // Remembered so that login() need not ask again.
  if (got.ok() && *got == Account::kNone) no_account_ = *normalized;
  return got;
}

Result<bool> Game::sign_up(std::string_view name, std::string_view password) {
  auto normalized = check_name(name);
  if (!normalized.ok()) return normalized.status();
  if (password.size() < kMinPasswordLength) {
    return Status(ErrorCode::kInvalidArgument,
                  "a password needs at least " +
                      std::to_string(kMinPasswordLength) + " characters");
  }
  return session_->store().sign_up(*normalized, std::string(password));
}

Status Game::sign_in(std::string_view name, std::string_view password) {
  auto normalized = check_name(name);
  if (!normalized.ok()) return normalized.status();
  Status s = session_->store().sign_in(*normalized, std::string(password));
  if (s.ok()) signed_in_ = *normalized;
  return s;
}

Result<Text> Game::login(std::string_view name) {
  auto normalized = check_name(name);
  if (!normalized.ok()) return normalized.status();
  const bool account = *normalized == signed_in_;
  if (!account && *normalized != no_account_) {
    // Nobody asked: with accounts, this name must be signed in to first.
    auto got = session_->store().account(*normalized);
    if (!got.ok()) return got.status();
    if (*got == Account::kTaken) {
      return Status(ErrorCode::kDenied,
                    "'" + *normalized + "' has an account: sign in first");
    }
    if (*got == Account::kFree) {
      return Status(ErrorCode::kDenied,
                    "this campus has accounts: sign up "
                    "as '" +
                        *normalized + "' first");
    }
    no_account_ = *normalized;
  }
  session_->set_name(*normalized, account);
  return session_->try_login();
}

// ---- Entry points -----------------------------------------------------------

Reply Game::execute(std::string_view line) {
  // 'text is say text, as in most MUDs (help lists ' as say's alias).
  size_t first = line.find_first_not_of(" \t");
  if (first != std::string_view::npos && line[first] == '\'') {
    return execute("say " + std::string(line.substr(first + 1)));
  }
  PlayerSession& session = *session_;
  session.set_line(std::string(line));
  std::vector<std::string> words = split_words(line);
  if (words.empty()) return {};
  std::string word = ascii_lower(words[0]);
  const CommandRow* cmd = find_command(word);
  if (cmd == nullptr) {
    Text t;
    t.add("Unknown command '")
        .add(sanitize(words[0]))
        .add("'. ")
        .line("Type help for the list.", Style::kDim);
    return {t};
  }
  if (session.kicked()) {
    return {Text("This session has ended: you are playing elsewhere.\n",
                 Style::kWarn),
            true};
  }
  Text out;
  if (cmd->needs_login) {
    if (!session.logged_in()) {
      if (session.name().empty()) {
        return {Text("Log in first.\n", Style::kWarn)};
      }
      out.append(session.try_login());
      if (!session.logged_in()) return {out};
    } else {
      Status s = session.sync(out, false);
      if (session.kicked()) return {out, true};
      if (!s.ok()) {
        if (cmd->needs_store) {
          out.append(
              session.storage_trouble(s, "Nothing was changed; try again."));
          return {out};
        }
        out.append(
            session.storage_trouble(s, "Showing what this session knows."));
      }
    }
  }
  words.erase(words.begin());
  out.append(cmd->run(session, words));
  note_move(out);
  return {out, session.quitting()};
}

void Game::note_move(Text& out) {
  Storage& store = session_->store();
  const uint64_t moves = store.moves();
  if (moves == moves_seen_) return;
  moves_seen_ = moves;
  out.line("(Your campus server stopped answering; you are now on " +
               store.current_addr() + ". Play on.)",
           Style::kDim);
}

Reply Game::live() {
  if (!session_->logged_in() || session_->kicked()) return {};
  Text out;
  (void)session_->read_live(out);  // poll() reports trouble with the store
  return {out};
}

int Game::live_fd() const {
  return session_->logged_in() ? session_->live_fd() : -1;
}

Reply Game::poll() {
  if (!session_->logged_in() || session_->kicked()) return {};
  Text out;
  Status s = session_->sync(out, true);
  if (session_->kicked()) return {out, true};
  if (!s.ok() && !offline_) {
    offline_ = true;
    out.line("(Lost touch with the campus servers: " + s.to_string() +
                 ". Still trying.)",
             Style::kWarn);
  } else if (s.ok() && offline_) {
    offline_ = false;
    out.line("(Back in touch with the campus servers.)", Style::kDim);
  }
  note_move(out);
  return {out};
}

std::vector<std::string> Game::complete(std::string_view line) const {
  std::vector<std::string> words = split_words(line);
  bool new_word = line.empty() || line.back() == ' ' || line.back() == '\t';
  std::string partial = new_word || words.empty() ? "" : words.back();
  size_t index = new_word ? words.size() : words.size() - 1;
  std::vector<std::string> options;
  if (index == 0) {
    for (const CommandRow& c : command_table()) {
      options.emplace_back(c.info.name);
    }
  } else {
    const CommandRow* cmd = find_command(ascii_lower(words[0]));
    if (cmd == nullptr || cmd->complete == nullptr) return {};
    options = cmd->complete(*session_, index);
  }
  std::vector<std::string> out;
  for (auto& o : options) {
    if (o.compare(0, partial.size(), partial) == 0) out.push_back(std::move(o));
  }
  return out;
}

std::string Game::prompt() const {
  const Player* me = session_->player();
  if (!session_->logged_in() || me == nullptr) return "cmud> ";
  return session_->name() + "@" + me->place + "> ";
}

}  // namespace cmud::game
