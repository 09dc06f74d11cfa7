// The terminal layer. Interactive mode uses libedit's native API (el_gets)
// rather than its readline emulation, for one reason: messages from other
// players must appear while the player sits at the prompt. Our read
// function (EL_GETCFN) waits for a key with poll(2) and a timeout; when the
// timeout passes it hands libedit a key bound to our "cmud-poll" function,
// which asks the Game for news, prints it above the prompt and returns
// CC_REDISPLAY so libedit redraws the prompt and the half-typed line. All of
// this runs on the one thread, inside el_gets, so libedit always knows the
// state of the screen. Tab is bound to our completion function.
#include "cmud/game/terminal.h"

#include "cmud/common/ascii.h"

#include <histedit.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <clocale>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cwchar>
#include <iostream>
#include <optional>
#include <thread>

namespace cmud::game {

bool use_color(TerminalOptions::Color color, bool stdout_is_tty,
               const char* no_color_env, const char* term_env) {
  switch (color) {
    case TerminalOptions::Color::kAlways:
      return true;
    case TerminalOptions::Color::kNever:
      return false;
    case TerminalOptions::Color::kAuto:
      break;
  }
  if (!stdout_is_tty) return false;
  if (no_color_env != nullptr && no_color_env[0] != '\0') return false;
  if (term_env != nullptr && std::strcmp(term_env, "dumb") == 0) return false;
  return true;
}

namespace {

volatile std::sig_atomic_t g_stop = 0;
volatile std::sig_atomic_t g_winch = 0;

void on_stop(int) { g_stop = 1; }
void on_winch(int) { g_winch = 1; }

// The key our read function returns when the idle timeout passes (Ctrl-]).
constexpr wchar_t kPollKey = 0x1d;

// Sleeps, but wakes early (returning false) on a stop signal.
bool nap(std::chrono::milliseconds d) {
  auto until = std::chrono::steady_clock::now() + d;
  while (!g_stop) {
    auto now = std::chrono::steady_clock::now();
    if (now >= until) return true;
    auto left =
        std::chrono::duration_cast<std::chrono::microseconds>(until - now);
    timespec ts{static_cast<time_t>(left.count() / 1'000'000),
                static_cast<long>(left.count() % 1'000'000) * 1000};
    nanosleep(&ts, nullptr);
  }
  return false;
}

// Writes Text to stdout. Only the terminal's thread uses it.
// Columns of the terminal on stdout; 0 when it is not one.
size_t terminal_width() {
  winsize ws{};
  if (isatty(STDOUT_FILENO) == 0 ||
      ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) != 0 || ws.ws_col == 0) {
    return 0;
  }
  return ws.ws_col;
}

class Output {
 public:
  // to: where the text goes; null: stdout.
  Output(bool color, bool fast, std::ostream* to = nullptr)
      : color_(color), fast_(fast), to_(to) {}

  // raw: the terminal is in libedit's edit mode, where "\n" must be
  // "\r\n"; pauses are skipped there.
  void show(const Text& text, bool raw = false) {
    // On a terminal, lines break at spaces rather than inside words.
    Text wrapped = wrap(text, terminal_width());
    for (const Span& span : wrapped.spans()) {
      if (span.text.empty()) {
        if (!fast_ && !raw) {
          flush();
          nap(span.pause);
        }
        continue;
      }
      Text one;
      one.add(span.text, span.style);
      std::string s = color_ ? to_ansi(one) : one.plain();
      if (raw) {
        std::string crlf;
        for (char c : s) {
          if (c == '\n') crlf += '\r';
          crlf += c;
        }
        s = std::move(crlf);
      }
      write(s);
    }
    flush();
  }

 private:
  void write(const std::string& s) {
    if (to_ != nullptr) {
      to_->write(s.data(), static_cast<std::streamsize>(s.size()));
    } else {
      std::fwrite(s.data(), 1, s.size(), stdout);
    }
  }
  void flush() {
    if (to_ != nullptr) {
      to_->flush();
    } else {
      std::fflush(stdout);
    }
  }

  bool color_;
  bool fast_;
  std::ostream* to_;
};

// Echo off while a command runs, so keys typed during a battle do not
// scribble over it (they are still read afterwards), and while a password
// is typed. Only the terminal's thread uses it.
class QuietTyping {
 public:
  QuietTyping() {
    if (tcgetattr(STDIN_FILENO, &saved_) == 0) {
      termios quiet = saved_;
      quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      ok_ = tcsetattr(STDIN_FILENO, TCSANOW, &quiet) == 0;
    }
  }
  ~QuietTyping() {
    if (ok_) tcsetattr(STDIN_FILENO, TCSANOW, &saved_);
  }
  QuietTyping(const QuietTyping&) = delete;
  QuietTyping& operator=(const QuietTyping&) = delete;

 private:
  termios saved_{};
  bool ok_ = false;
};

// libedit with our read, poll and completion functions. Only the
// terminal's thread uses it.
class Editor {
 public:
  Editor(Game& game, Output& out, std::chrono::milliseconds poll_interval)
      : game_(game), out_(out), poll_interval_(poll_interval) {
    hist_ = history_init();
    HistEvent ev;
    history(hist_, &ev, H_SETSIZE, 1000);
    history(hist_, &ev, H_SETUNIQUE, 1);
    el_ = el_init("cmud", stdin, stdout, stderr);
    el_set(el_, EL_CLIENTDATA, this);
    el_set(el_, EL_EDITOR, "emacs");
    el_set(el_, EL_PROMPT, &Editor::prompt_fn);
    el_set(el_, EL_HIST, history, hist_);
    el_set(el_, EL_GETCFN, &Editor::getc_fn);
    // The wide form keeps our (static) names; the narrow el_set copies
    // them and never frees the copies.
    el_wset(el_, EL_ADDFN, L"cmud-complete", L"complete a command or argument",
            &Editor::complete_fn);
    el_set(el_, EL_BIND, "^I", "cmud-complete", nullptr);
    el_wset(el_, EL_ADDFN, L"cmud-poll", L"show messages from other players",
            &Editor::poll_fn);
    el_set(el_, EL_BIND, "^]", "cmud-poll", nullptr);
  }
  ~Editor() {
    el_end(el_);
    history_end(hist_);
  }
  Editor(const Editor&) = delete;
  Editor& operator=(const Editor&) = delete;

  // A line without its newline; nullopt at end of input (Ctrl-D on an
  // empty line), on a stop signal, or when the session ended while idle.
  // in_game: poll the Game while waiting.
  std::optional<std::string> read(const std::string& prompt, bool in_game) {
    prompt_ = prompt;
    polling_ = in_game;
    int count = 0;
    const char* line = el_gets(el_, &count);
    polling_ = false;
    if (line == nullptr || count <= 0 || g_stop || session_over_) {
      return std::nullopt;
    }
    std::string s(line, static_cast<size_t>(count));
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    if (s.find_first_not_of(' ') != std::string::npos) {
      HistEvent ev;
      history(hist_, &ev, H_ENTER, s.c_str());
    }
    return s;
  }

  bool session_over() const { return session_over_; }

 private:
  static Editor* self(EditLine* el) {
    void* data = nullptr;
    el_get(el, EL_CLIENTDATA, &data);
    return static_cast<Editor*>(data);
  }

  static char* prompt_fn(EditLine* el) { return self(el)->prompt_.data(); }

  // Returns 1 with a character, 0 at end of input, -1 on error.
  static int getc_fn(EditLine* el, wchar_t* out) {
    Editor* ed = self(el);
    while (true) {
      if (g_stop || ed->session_over_) return 0;
      if (g_winch) {
        g_winch = 0;
        el_resize(el);
      }
      // The keyboard, and while in game the store's live messages.
      pollfd p[2] = {{STDIN_FILENO, POLLIN, 0},
                     {ed->polling_ ? ed->game_.live_fd() : -1, POLLIN, 0}};
      int timeout =
          ed->polling_ ? static_cast<int>(ed->poll_interval_.count()) : -1;
      int r = ::poll(p, p[1].fd >= 0 ? 2 : 1, timeout);
      if (r < 0) {
        if (errno == EINTR) continue;
        return -1;
      }
      if (r == 0 ||
          (p[1].fd >= 0 && p[1].revents != 0 && (p[0].revents & POLLIN) == 0)) {
        ed->live_only_ = r != 0;
        *out = kPollKey;
        return 1;
      }
      char c = 0;
      ssize_t n = ::read(STDIN_FILENO, &c, 1);
      if (n == 0) return 0;
      if (n < 0) {
        if (errno == EINTR || errno == EAGAIN) continue;
        return -1;
      }
      wchar_t w = 0;
      size_t k = std::mbrtowc(&w, &c, 1, &ed->mbs_);
      if (k == static_cast<size_t>(-2)) continue;  // more bytes to come
      if (k == static_cast<size_t>(-1)) {
        ed->mbs_ = std::mbstate_t{};
        w = L'?';
      }
      // A real Ctrl-] typed by the player just polls too; harmless.
      *out = w;
      return 1;
    }
  }

  static unsigned char poll_fn(EditLine* el, int) {
    Editor* ed = self(el);
    if (!ed->polling_) return CC_NORM;
    // Woken by the feed: only what it brought; by the timer: everything.
    Reply r = ed->live_only_ ? ed->game_.live() : ed->game_.poll();
    ed->live_only_ = false;
    if (r.text.empty() && !r.quit) return CC_NORM;
    std::fputs("\r\x1b[K", stdout);
    ed->out_.show(r.text, /*raw=*/true);
    if (r.quit) {
      ed->session_over_ = true;
      return CC_EOF;
    }
    return CC_REDISPLAY;
  }

  static unsigned char complete_fn(EditLine* el, int) {
    Editor* ed = self(el);
    const LineInfo* li = el_line(el);
    std::string before(li->buffer,
                       static_cast<size_t>(li->cursor - li->buffer));
    std::vector<std::string> options = ed->game_.complete(before);
    size_t word = before.find_last_of(" \t");
    std::string partial =
        word == std::string::npos ? before : before.substr(word + 1);
    if (options.empty()) return CC_REFRESH_BEEP;
    if (options.size() == 1) {
      std::string rest = options[0].substr(partial.size()) + " ";
      el_insertstr(el, rest.c_str());
      return CC_REFRESH;
    }
    std::string common = options[0];
    for (const auto& o : options) {
      size_t i = 0;
      while (i < common.size() && i < o.size() && common[i] == o[i]) ++i;
      common.resize(i);
    }
    if (common.size() > partial.size()) {
      el_insertstr(el, common.substr(partial.size()).c_str());
      return CC_REFRESH;
    }
    std::string list = "\r\n";
    for (const auto& o : options) list += o + "  ";
    list += "\r\n";
    std::fputs(list.c_str(), stdout);
    std::fflush(stdout);
    return CC_REDISPLAY;
  }

  Game& game_;
  Output& out_;
  std::chrono::milliseconds poll_interval_;
  EditLine* el_ = nullptr;
  History* hist_ = nullptr;
  std::string prompt_;
  bool polling_ = false;
  bool live_only_ = false;  // the next kPollKey came from the live feed
  bool session_over_ = false;
  std::mbstate_t mbs_{};
};

void install_signals() {
  struct sigaction sa {};
  sa.sa_handler = on_stop;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: poll() must wake up
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGHUP, &sa, nullptr);
  struct sigaction wa {};
  wa.sa_handler = on_winch;
  sigemptyset(&wa.sa_mask);
  sigaction(SIGWINCH, &wa, nullptr);
}

// At the name prompt, these leave instead of naming a player.
bool is_leave_word(std::string_view line) {
  size_t b = line.find_first_not_of(" \t\r");
  size_t e = line.find_last_not_of(" \t\r");
  if (b == std::string_view::npos) return false;
  std::string word = ascii_lower(line.substr(b, e - b + 1));
  return word == "quit" || word == "exit" || word == "q";
}

// A line typed with echo off (a password), read from the terminal in its
// cooked mode (libedit is not reading then); nullopt at end of input
// (Ctrl-D) or on a stop signal. QuietTyping restores the echo on every
// path.
std::optional<std::string> read_secret(const std::string& prompt) {
  std::fputs(prompt.c_str(), stdout);
  std::fflush(stdout);
  std::optional<std::string> got;
  {
    QuietTyping quiet;
    std::string s;
    while (!g_stop) {
      char c = 0;
      ssize_t n = ::read(STDIN_FILENO, &c, 1);
      if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (n <= 0) break;
      if (c == '\n' || c == '\r') {
        got = std::move(s);
        break;
      }
      s += c;
    }
  }
  std::fputs("\n", stdout);  // the Enter was not echoed
  std::fflush(stdout);
  return got;
}

// Where the login steps read and show: the terminal or a script. Only the
// terminal's thread uses it.
class Prompts {
 public:
  explicit Prompts(Output& out) : out_(out) {}
  virtual ~Prompts() = default;
  // A name typed at "Who are you?" (not blank); nullopt: leave.
  virtual std::optional<std::string> name() = 0;
  // A password typed at `prompt`; nullopt: leave.
  virtual std::optional<std::string> secret(const std::string& prompt) = 0;
  // A person at a terminal: a new password is typed twice, and a failed
  // step asks again. A script's lines (name, password, commands) cannot be
  // lined up again after one, so there it ends the script (else a password
  // would be read as a name and sent to the server as one).
  virtual bool interactive() const = 0;
  // Shows the login's text.
  virtual void welcome(const Text& hello) { out_.show(hello); }
  void show(const Text& text) { out_.show(text); }

 protected:
  Output& out_;
};

class TerminalPrompts : public Prompts {
 public:
  TerminalPrompts(Output& out, Editor& editor)
      : Prompts(out), editor_(editor) {}
  std::optional<std::string> name() override {
    while (true) {
      auto line = editor_.read("Who are you? ", false);
      if (!line) {
        std::fputs("\n", stdout);
        return std::nullopt;
      }
      if (line->find_first_not_of(' ') != std::string::npos) return line;
    }
  }
  std::optional<std::string> secret(const std::string& prompt) override {
    return read_secret(prompt);
  }
  bool interactive() const override { return true; }
  void welcome(const Text& hello) override {
    QuietTyping quiet;
    out_.show(hello);
  }

 private:
  Editor& editor_;
};

class ScriptPrompts : public Prompts {
 public:
  ScriptPrompts(Output& out, std::istream& in) : Prompts(out), in_(in) {}
  std::optional<std::string> name() override {
    out_.show(Text("Who are you?\n"));
    return next();
  }
  // The next non-empty line; the prompt is shown, the password is not.
  std::optional<std::string> secret(const std::string& prompt) override {
    size_t end = prompt.find_last_not_of(' ');
    out_.show(Text(prompt.substr(0, end + 1) + "\n"));
    return next();
  }
  bool interactive() const override { return false; }

 private:
  std::optional<std::string> next() {
    std::string line;
    while (std::getline(in_, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();  // CRLF
      if (!sanitize(line).empty()) return line;
    }
    return std::nullopt;
  }

  std::istream& in_;
};

enum class Step { kIn, kLeave, kBack };

void say_bad(Prompts& io, const std::string& s) {
  io.show(Text(s + "\n", Style::kBad));
}

// The storage error `s` of `what`, and back to the name prompt.
Step trouble(Prompts& io, const std::string& what, const Status& s) {
  io.show(Text("The campus network is having a moment (" + s.to_string() +
                   "): " + what +
                   (io.interactive() ? ". Choose your name again.\n" : ".\n"),
               Style::kWarn));
  return Step::kBack;
}

// A new account: its password (twice on a terminal), sign up, sign in.
Step new_account(Game& game, Prompts& io, const std::string& name) {
  std::string intro = "New player " + name + ". ";
  const std::string choose = "Choose a password (at least " +
                             std::to_string(Game::kMinPasswordLength) +
                             " characters): ";
  while (true) {
    auto password = io.secret(std::exchange(intro, "") + choose);
    if (!password) return Step::kLeave;
    if (password->size() < Game::kMinPasswordLength) {
      say_bad(io, "Too short: a password needs at least " +
                      std::to_string(Game::kMinPasswordLength) +
                      " characters.");
      if (!io.interactive()) return Step::kBack;
      continue;
    }
    if (io.interactive()) {
      auto again = io.secret("Again: ");
      if (!again) return Step::kLeave;
      if (*again != *password) {
        say_bad(io, "The two passwords differ.");
        continue;
      }
    }
    auto made = game.sign_up(name, *password);
    if (!made.ok()) return trouble(io, "you are not signed up", made.status());
    if (!*made) {
      say_bad(io,
              "Someone else just took the name " + name + ". Choose another.");
      return Step::kBack;
    }
    Status in = game.sign_in(name, *password);
    if (!in.ok()) {
      return trouble(io, "you are signed up as " + name + " but not signed in",
                     in);
    }
    return Step::kIn;
  }
}

// An existing account: its password, three tries.
Step existing_account(Game& game, Prompts& io, const std::string& name) {
  constexpr int kTries = 3;
  for (int tries = 0; tries < kTries;) {
    auto password = io.secret("Password: ");
    if (!password) return Step::kLeave;
    if (password->empty()) continue;
    Status s = game.sign_in(name, *password);
    if (s.ok()) return Step::kIn;
    if (s.code() != ErrorCode::kDenied) {
      return trouble(io, "you are not signed in", s);
    }
    say_bad(io, "Wrong password.");
    if (!io.interactive()) return Step::kBack;
    ++tries;
  }
  say_bad(io, "That was " + std::to_string(kTries) +
                  " wrong passwords. Choose your name again.");
  return Step::kBack;
}

enum class Entry { kIn, kLeave, kBadName, kFailed };

// Who the player is: `given` (--name) or asked; where the store has
// accounts, signed up or in with a password; then logged in. Trouble
// goes back to asking the name on a terminal, and fails a script
// (kFailed). kBadName: `given` is not a valid name (said on stderr).
Entry enter(Game& game, Prompts& io, std::string given) {
  while (true) {
    const bool from_flag = !given.empty();
    std::string typed;
    if (from_flag) {
      typed = std::exchange(given, "");
    } else {
      auto line = io.name();
      if (!line || is_leave_word(*line)) return Entry::kLeave;
      typed = sanitize(*line);
    }
    auto account = game.account(typed);
    if (!account.ok()) {
      if (account.status().code() != ErrorCode::kInvalidArgument) {
        (void)trouble(io, "the name could not be checked", account.status());
        if (!io.interactive()) return Entry::kFailed;
        continue;
      }
      if (from_flag) {
        std::fprintf(stderr, "cmud: %s\n", account.status().message().c_str());
        return Entry::kBadName;
      }
      say_bad(io, "That name will not do: " + account.status().message() + ".");
      continue;
    }
    // Valid, or account() would have said so.
    const std::string name = normalize_name(typed).value();
    Step step = Step::kIn;
    if (*account == Account::kFree) step = new_account(game, io, name);
    if (*account == Account::kTaken) step = existing_account(game, io, name);
    if (step == Step::kLeave) return Entry::kLeave;
    if (step == Step::kBack) {
      if (!io.interactive()) return Entry::kFailed;
      continue;
    }
    auto hello = game.login(name);
    if (hello.ok()) {
      io.welcome(*hello);
      return Entry::kIn;
    }
    say_bad(io, "You cannot play as " + name + ": " + hello.status().message() +
                    ".");
    if (!io.interactive()) return Entry::kFailed;
  }
}

// The program's status when the login ends it; nullopt: play on.
std::optional<int> exit_status(Entry e) {
  switch (e) {
    case Entry::kIn:
      return std::nullopt;
    case Entry::kLeave:
      return 0;
    case Entry::kBadName:
      return 2;
    case Entry::kFailed:
      return 1;
  }
  return 1;
}

int run_interactive(Game& game, Output& out, const TerminalOptions& options) {
  std::setlocale(LC_CTYPE, "");
  install_signals();
  Editor editor(game, out, options.poll_interval);
  if (options.name.empty()) {
    out.show(Text("Welcome to the CMUD campus. Names use a-z, 0-9, _ and -.\n",
                  Style::kDim));
  }
  TerminalPrompts prompts(out, editor);
  if (auto status = exit_status(enter(game, prompts, options.name))) {
    return *status;
  }
  while (!g_stop) {
    auto line = editor.read(game.prompt(), true);
    if (!line) break;
    QuietTyping quiet;
    Reply r = game.execute(*line);
    out.show(r.text);
    if (r.quit) return 0;
  }
  if (editor.session_over()) return 0;
  std::fputs("\n", stdout);
  out.show(game.execute("quit").text);
  return 0;
}

int script(Game& game, std::istream& in, Output& out,
           const TerminalOptions& options) {
  ScriptPrompts prompts(out, in);
  if (auto status = exit_status(enter(game, prompts, options.name))) {
    return *status;
  }
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();  // CRLF files
    Reply r = game.execute(line);
    out.show(r.text);
    if (r.quit) return 0;
  }
  out.show(game.execute("quit").text);
  return 0;
}

}  // namespace

int run_terminal(Game& game, const TerminalOptions& options) {
  std::signal(SIGPIPE, SIG_IGN);
  g_stop = 0;
  bool in_tty = isatty(STDIN_FILENO) != 0;
  bool out_tty = isatty(STDOUT_FILENO) != 0;
  Output out(use_color(options.color, out_tty, std::getenv("NO_COLOR"),
                       std::getenv("TERM")),
             options.fast);
  if (in_tty && out_tty) return run_interactive(game, out, options);
  return script(game, std::cin, out, options);
}

int run_script(Game& game, std::istream& in, std::ostream& out,
               const TerminalOptions& options) {
  Output to(use_color(options.color, false, nullptr, nullptr), options.fast,
            &out);
  return script(game, in, to, options);
}

}  // namespace cmud::game
