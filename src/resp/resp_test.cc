// Unit tests for the RESP2 command parser, reply parser and writers
// (resp.h). Every parser is fed byte strings split at every offset: each
// proper prefix of an item must need more, the whole must complete with the
// right length, and what a prefix decides (complete or error) must not change
// when more bytes arrive.
#include "cmud/resp/resp.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cmud::resp {

std::ostream& operator<<(std::ostream& os, Outcome o) {
  switch (o) {
    case Outcome::kComplete:
      return os << "kComplete";
    case Outcome::kNeedMore:
      return os << "kNeedMore";
    case Outcome::kError:
      return os << "kError";
  }
  return os << "Outcome(?)";
}

namespace {

using namespace std::string_literals;
using Args = std::vector<std::string>;

// A heap copy of exactly the given bytes, so that a sanitizer build catches
// any read past the end of the input.
class Exact {
 public:
  explicit Exact(std::string_view s)
      : size_(s.size()), bytes_(new char[s.size() == 0 ? 1 : s.size()]) {
    std::copy(s.begin(), s.end(), bytes_.get());
  }
  std::string_view view() const { return {bytes_.get(), size_}; }

 private:
  size_t size_;
  std::unique_ptr<char[]> bytes_;
};

Args strings(const std::vector<std::string_view>& views) {
  return Args(views.begin(), views.end());
}

std::string encode(const Args& args) {
  std::vector<std::string_view> views(args.begin(), args.end());
  std::string out;
  write_command(out, views);
  return out;
}

// Printable form of bytes for failure messages.
std::string printable(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    const auto b = static_cast<unsigned char>(c);
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (b >= 0x20 && b < 0x7f) {
      out += c;
    } else {
      constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[b >> 4];
      out += kHex[b & 15];
    }
  }
  return out + "\"";
}

// Counts the outcomes of a fuzz loop, to show that it reaches all three.
class OutcomeCounts {
 public:
  void add(Outcome o) { ++counts_[static_cast<size_t>(o)]; }
  void expect_each_at_least(int n) const {
    EXPECT_GE(counts_[static_cast<size_t>(Outcome::kComplete)], n);
    EXPECT_GE(counts_[static_cast<size_t>(Outcome::kNeedMore)], n);
    EXPECT_GE(counts_[static_cast<size_t>(Outcome::kError)], n);
  }

 private:
  int counts_[3] = {};
};

bool inside(std::string_view part, std::string_view whole) {
  std::less_equal<const char*> le;
  return le(whole.data(), part.data()) &&
         le(part.data() + part.size(), whole.data() + whole.size());
}

TEST(RespCommand, AResumedParseOfManyArgumentsSkipsWhatItHasSeen) {
  const size_t n = 100000;
  std::string wire = "*" + std::to_string(n) + "\r\n";
  for (size_t i = 0; i < n; ++i) wire += "$1\r\nx\r\n";
  // Arriving 7 bytes short of the end, then whole.
  CommandParse part = parse_command(wire.substr(0, wire.size() - 7));
  ASSERT_EQ(part.outcome, Outcome::kNeedMore);
  EXPECT_EQ(part.resume_args, n - 1);
  CommandParse done =
      parse_command(wire, {}, part.resume_pos, part.resume_args);
  ASSERT_EQ(done.outcome, Outcome::kComplete);
  EXPECT_EQ(done.args.size(), n);
  EXPECT_EQ(done.consumed, wire.size());
}

TEST(RespCommand, NeedNamesTheEndOfABulkWhoseLengthWasRead) {
  std::string wire = "*2\r\n$3\r\nSET\r\n$1000000\r\n";
  CommandParse p = parse_command(wire);
  ASSERT_EQ(p.outcome, Outcome::kNeedMore);
  EXPECT_EQ(p.need, wire.size() + 1000000 + 2);
  wire += std::string(999999, 'x');
  p = parse_command(wire);
  ASSERT_EQ(p.outcome, Outcome::kNeedMore);
  EXPECT_EQ(p.need, wire.size() + 1 + 2);
}

// A copy's args would view the original's owned strings: moves only.
static_assert(!std::is_copy_constructible_v<CommandParse>);
static_assert(!std::is_copy_assignable_v<CommandParse>);
static_assert(std::is_nothrow_move_constructible_v<CommandParse>);

// Every arg views the input or one of the parse's owned strings.
void expect_args_view_input_or_owned(const CommandParse& p,
                                     std::string_view in) {
  for (std::string_view arg : p.args) {
    bool ok = inside(arg, in);
    for (const std::string& o : p.owned) ok = ok || inside(arg, o);
    EXPECT_TRUE(ok) << "arg " << printable(arg) << " views foreign memory";
  }
}

// Each proper prefix of `wire` needs more; all of it completes as `want`.
void expect_command_at_every_split(std::string_view wire, const Args& want,
                                   const Limits& limits = {}) {
  SCOPED_TRACE(printable(wire));
  for (size_t k = 0; k < wire.size(); ++k) {
    Exact prefix(wire.substr(0, k));
    CommandParse p = parse_command(prefix.view(), limits);
    ASSERT_EQ(p.outcome, Outcome::kNeedMore)
        << "prefix of " << k << " bytes: " << p.error;
    EXPECT_TRUE(p.args.empty());
    // `need` is sound: more is needed, but never beyond the command's end.
    EXPECT_GT(p.need, k);
    EXPECT_LE(p.need, wire.size()) << "prefix of " << k << " bytes";
  }
  Exact all(wire);
  CommandParse p = parse_command(all.view(), limits);
  ASSERT_EQ(p.outcome, Outcome::kComplete) << p.error;
  EXPECT_EQ(p.consumed, wire.size());
  EXPECT_EQ(strings(p.args), want);
  expect_args_view_input_or_owned(p, all.view());
  // Resumed parses, each from where the one before stopped, as a session
  // makes them while the command arrives: same answers as from scratch.
  size_t resume_pos = 0, resume_args = 0;
  for (size_t k = 0; k <= wire.size(); ++k) {
    Exact prefix(wire.substr(0, k));
    CommandParse r =
        parse_command(prefix.view(), limits, resume_pos, resume_args);
    CommandParse fresh = parse_command(prefix.view(), limits);
    ASSERT_EQ(r.outcome, fresh.outcome) << "resumed prefix of " << k;
    EXPECT_EQ(r.need, fresh.need) << "resumed prefix of " << k;
    if (r.outcome == Outcome::kComplete) {
      EXPECT_EQ(strings(r.args), want);
      EXPECT_EQ(r.consumed, wire.size());
      expect_args_view_input_or_owned(r, prefix.view());
    } else {
      EXPECT_GE(r.resume_args, resume_args);  // progress is never lost
      resume_pos = r.resume_pos;
      resume_args = r.resume_args;
    }
  }
}

// All of `wire` is refused with `message`; no prefix completes, and once a
// prefix is refused every longer one is too.
void expect_command_error(std::string_view wire, std::string_view message,
                          const Limits& limits = {}) {
  SCOPED_TRACE(printable(wire));
  bool failed = false;
  for (size_t k = 0; k < wire.size(); ++k) {
    Exact prefix(wire.substr(0, k));
    CommandParse p = parse_command(prefix.view(), limits);
    ASSERT_NE(p.outcome, Outcome::kComplete) << "prefix of " << k;
    if (failed) {
      ASSERT_EQ(p.outcome, Outcome::kError) << "prefix of " << k;
    }
    failed = p.outcome == Outcome::kError;
  }
  Exact all(wire);
  CommandParse p = parse_command(all.view(), limits);
  ASSERT_EQ(p.outcome, Outcome::kError);
  EXPECT_EQ(p.error, message);
  EXPECT_TRUE(p.args.empty());
}

// ---------------------------------------------------------------------------
// Commands: RESP arrays of bulk strings.

TEST(RespCommand, ArrayOfBulksGivesArgsThatViewTheInput) {
  const std::string wire = "*3\r\n$3\r\nSET\r\n$3\r\nkey\r\n$5\r\nvalue\r\n";
  CommandParse p = parse_command(wire);
  ASSERT_EQ(p.outcome, Outcome::kComplete) << p.error;
  EXPECT_EQ(p.consumed, wire.size());
  EXPECT_EQ(strings(p.args), (Args{"SET", "key", "value"}));
  EXPECT_EQ(p.args[0].data(), wire.data() + 8);
  EXPECT_TRUE(p.owned.empty());
  EXPECT_TRUE(p.error.empty());
}

TEST(RespCommand, ArraySplitAtEveryOffsetNeedsMoreThenCompletes) {
  const std::vector<Args> commands = {
      {"PING"},
      {"SET", "key", "value"},
      {"GET", ""},
      {"", "", ""},
      {"MSET", "a", "1", "b", "2", "c", "3", "d", "4", "e", "5"},
      {"SET", std::string(300, 'x'), std::string(12345, 'y')},
  };
  for (const Args& args : commands) {
    expect_command_at_every_split(encode(args), args);
  }
}

TEST(RespCommand, PipelinedCommandsParseBackToBack) {
  const std::vector<Args> commands = {
      {"SET", "k", "v"}, {"GET", "k"}, {"PING"}, {"DEL", "k", "k2"}};
  std::string wire;
  for (const Args& args : commands) wire += encode(args);
  wire += "PING\r\nECHO 'a b'\n";
  wire += encode({"GET", "last"});

  std::vector<Args> got;
  std::string_view rest = wire;
  while (!rest.empty()) {
    CommandParse p = parse_command(rest);
    ASSERT_EQ(p.outcome, Outcome::kComplete) << p.error;
    ASSERT_GT(p.consumed, 0u);
    got.push_back(strings(p.args));
    rest.remove_prefix(p.consumed);
  }
  std::vector<Args> want = commands;
  want.push_back({"PING"});
  want.push_back({"ECHO", "a b"});
  want.push_back({"GET", "last"});
  EXPECT_EQ(got, want);
}

TEST(RespCommand, BinaryPayloadsKeepCrLfAndNulBytes) {
  const Args args = {"SET", "k\r\n\0"s, "\r\n$3\r\n*1\r\n"s,
                     std::string("\0\0\xff\x80", 4)};
  expect_command_at_every_split(encode(args), args);
}

TEST(RespCommand, ZeroOrNegativeArrayLengthIsAnEmptyCommand) {
  // Like Redis, any length <= 0 is an empty command to skip.
  for (std::string_view wire : {"*0\r\n", "*-1\r\n", "*-5\r\n"}) {
    expect_command_at_every_split(wire, {});
  }
  CommandParse p = parse_command("*0\r\n*1\r\n$4\r\nPING\r\n");
  ASSERT_EQ(p.outcome, Outcome::kComplete);
  EXPECT_EQ(p.consumed, 4u);
  EXPECT_TRUE(p.args.empty());
}

TEST(RespCommand, EmptyBulkIsAnEmptyArgument) {
  expect_command_at_every_split("*2\r\n$0\r\n\r\n$1\r\nx\r\n", {"", "x"});
}

TEST(RespCommand, MalformedMultibulkLengthIsAnError) {
  const std::string message = "Protocol error: invalid multibulk length";
  for (std::string_view wire :
       {"*\r\n", "*abc\r\n", "*1x\r\n", "*01\r\n", "*+1\r\n", "*-0\r\n",
        "*-\r\n", "* 1\r\n", "*1 \r\n", "*1\n", "*1\rX", "*1-\r\n",
        "*99999999999999999999\r\n", "*123456789012345678901"}) {
    expect_command_error(wire, message);
  }
}

TEST(RespCommand, MultibulkLengthOverTheLimitIsAnError) {
  Limits limits;
  limits.max_array = 2;
  expect_command_at_every_split(encode({"a", "b"}), {"a", "b"}, limits);
  expect_command_error("*3\r\n", "Protocol error: invalid multibulk length",
                       limits);
  // The default limit, 2^20, refused from the header alone.
  expect_command_error("*1048577\r\n",
                       "Protocol error: invalid multibulk length");
}

TEST(RespCommand, MalformedBulkLengthIsAnError) {
  const std::string message = "Protocol error: invalid bulk length";
  for (std::string_view wire :
       {"*1\r\n$\r\n", "*1\r\n$-1\r\n", "*1\r\n$-2\r\n", "*1\r\n$abc\r\n",
        "*1\r\n$01\r\nx\r\n", "*1\r\n$+1\r\nx\r\n", "*2\r\n$1\r\na\r\n$x",
        "*1\r\n$1\r\r\n"}) {
    expect_command_error(wire, message);
  }
}

TEST(RespCommand, BulkLengthOverTheLimitIsRefusedFromItsHeader) {
  Limits limits;
  limits.max_bulk = 4;
  expect_command_at_every_split("*1\r\n$4\r\nabcd\r\n", {"abcd"}, limits);
  // No payload has arrived: the header is enough to refuse it.
  expect_command_error("*1\r\n$5\r\n", "Protocol error: invalid bulk length",
                       limits);
  expect_command_error("*1\r\n$33554433\r\n",
                       "Protocol error: invalid bulk length");
}

TEST(RespCommand, NonBulkElementReportsTheByteItGot) {
  expect_command_error("*2\r\n$1\r\na\r\n:1\r\n",
                       "Protocol error: expected '$', got ':'");
  expect_command_error("*1\r\n*1\r\n$1\r\na\r\n",
                       "Protocol error: expected '$', got '*'");
  expect_command_error("*1\r\nPING\r\n",
                       "Protocol error: expected '$', got 'P'");
}

TEST(RespCommand, BulkWithoutTrailingCrLfIsAnError) {
  const std::string message =
      "Protocol error: bulk string not followed by CRLF";
  expect_command_error("*1\r\n$3\r\nabcd\r\n", message);
  expect_command_error("*1\r\n$3\r\nabc\rX", message);
  expect_command_error("*1\r\n$3\r\nabc\n\r", message);
  // Refused as soon as the wrong byte arrives.
  EXPECT_EQ(parse_command("*1\r\n$3\r\nabcX").outcome, Outcome::kError);
}

TEST(RespCommand, OverlongHeaderLineIsRefusedWithoutWaitingForCrLf) {
  Limits limits;
  limits.max_inline = 4;
  expect_command_at_every_split("*1\r\n$1\r\nx\r\n", {"x"}, limits);
  expect_command_error("*12345", "Protocol error: too big mbulk count string",
                       limits);
  expect_command_error("*1\r\n$12345",
                       "Protocol error: too big bulk count string", limits);
  // Exactly max_inline digits is still fine.
  EXPECT_EQ(parse_command("*1234", limits).outcome, Outcome::kNeedMore);
  EXPECT_EQ(parse_command("*1234\r", limits).outcome, Outcome::kNeedMore);
}

TEST(RespCommand, GarbageInAHeaderIsRefusedBeforeItsCrLf) {
  EXPECT_EQ(parse_command("*1a").outcome, Outcome::kError);
  EXPECT_EQ(parse_command("*1\r\n$2x").outcome, Outcome::kError);
  // No integer is longer than 20 characters.
  EXPECT_EQ(parse_command("*" + std::string(21, '1')).outcome, Outcome::kError);
  EXPECT_EQ(parse_command("*" + std::string(20, '1')).outcome,
            Outcome::kNeedMore);
}

TEST(RespCommand, PartlyReceivedHugeBulkNeedsMoreWithoutScanningIt) {
  // The payload is full of CRLFs and headers to trip a parser that looks at
  // it. 500 retries of a 16 MB buffer would take seconds if each scanned it.
  const size_t size = 16u << 20;
  std::string wire = "*2\r\n$3\r\nSET\r\n$" + std::to_string(size) + "\r\n";
  const size_t header = wire.size();
  while (wire.size() < header + size - 1) wire += "\r\n*1\r\n$1\r\n";
  wire.resize(header + size - 1);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 500; ++i) {
    ASSERT_EQ(parse_command(wire).outcome, Outcome::kNeedMore);
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(1));
  wire.resize(header + size, 'x');
  wire += "\r\n";
  CommandParse p = parse_command(wire);
  ASSERT_EQ(p.outcome, Outcome::kComplete) << p.error;
  EXPECT_EQ(p.consumed, wire.size());
  ASSERT_EQ(p.args.size(), 2u);
  EXPECT_EQ(p.args[1].size(), size);
}

// ---------------------------------------------------------------------------
// Commands: inline.

TEST(RespCommand, InlineWordsAreSplitOnBlanks) {
  expect_command_at_every_split("PING\r\n", {"PING"});
  expect_command_at_every_split("SET  key \t value\r\n",
                                {"SET", "key", "value"});
  expect_command_at_every_split("  GET k  \r\n", {"GET", "k"});
  // A lone CR inside the line is a blank, as in sdssplitargs.
  expect_command_at_every_split("GET\rk\r\n", {"GET", "k"});
}

TEST(RespCommand, InlineLineMayEndWithLfOrCrLf) {
  expect_command_at_every_split("GET k\n", {"GET", "k"});
  expect_command_at_every_split("GET k\r\n", {"GET", "k"});
  CommandParse p = parse_command("GET a\nGET b\r\n");
  ASSERT_EQ(p.outcome, Outcome::kComplete);
  EXPECT_EQ(p.consumed, 6u);
}

TEST(RespCommand, BlankInlineLineCompletesWithNoArgs) {
  for (std::string_view wire : {"\r\n", "\n", "   \t \r\n", " \n"}) {
    expect_command_at_every_split(wire, {});
  }
}

TEST(RespCommand, InlineDoubleQuotesUnderstandEscapes) {
  expect_command_at_every_split(R"(SET "a key" "x\ny\x41\x7a\"\\\t\r\b\a")"
                                "\r\n",
                                {"SET", "a key", "x\nyAz\"\\\t\r\b\a"});
  // \x needs two hex digits; otherwise the x is escaped as itself.
  expect_command_at_every_split(R"("\x4" "\xzz" "\q" "\xFf")"
                                "\n",
                                {"x4", "xzz", "q", "\xff"});
  expect_command_at_every_split(R"(ECHO "" "")"
                                "\n",
                                {"ECHO", "", ""});
  // A quote inside a word opens a quoted part of that same word.
  expect_command_at_every_split(R"(ab"c d")"
                                "\n",
                                {"abc d"});
}

TEST(RespCommand, InlineSingleQuotesUnderstandOnlyEscapedQuote) {
  expect_command_at_every_split(R"(SET 'it\'s' 'a\nb' 'say "hi"')"
                                "\r\n",
                                {"SET", "it's", "a\\nb", "say \"hi\""});
}

TEST(RespCommand, InlineQuotedWordsWithoutEscapesStillViewTheInput) {
  const std::string wire = "SET \"a b\" 'c d' plain\r\n";
  CommandParse p = parse_command(wire);
  ASSERT_EQ(p.outcome, Outcome::kComplete);
  EXPECT_EQ(strings(p.args), (Args{"SET", "a b", "c d", "plain"}));
  EXPECT_TRUE(p.owned.empty());
  for (std::string_view arg : p.args) EXPECT_TRUE(inside(arg, wire));
}

TEST(RespCommand, ArgsStayValidAfterTheParseIsMoved) {
  // Many short unescaped words: owned grows (and reallocates) while
  // splitting, and short strings live inside their std::string.
  std::string wire;
  Args want;
  for (int i = 0; i < 40; ++i) {
    wire += "\"w\\x4" + std::to_string(i % 10) + "\" ";
    want.push_back("w\x40"s);
    want.back().back() = static_cast<char>(0x40 + i % 10);
  }
  wire += "\n";
  std::vector<CommandParse> parses;
  parses.push_back(parse_command(wire));
  parses.reserve(100);  // moves the parse
  CommandParse moved = std::move(parses[0]);
  wire.assign(wire.size(), '#');  // owned args do not view the input
  ASSERT_EQ(moved.outcome, Outcome::kComplete);
  EXPECT_EQ(moved.owned.size(), 40u);
  EXPECT_EQ(strings(moved.args), want);
}

TEST(RespCommand, InlineUnbalancedQuotesAreAnError) {
  const std::string message = "Protocol error: unbalanced quotes in request";
  for (std::string_view wire :
       {"SET \"abc\r\n", "SET 'abc\n", "SET \"a\"b\n", "SET 'a'b\n", "\"\\\"\n",
        "'\\'\n", "\"a\"\"b\"\n", "a\"\n"}) {
    expect_command_error(wire, message);
  }
}

TEST(RespCommand, InlineLineOverTheLimitIsTooBigInlineRequest) {
  Limits limits;
  limits.max_inline = 8;
  const std::string message = "Protocol error: too big inline request";
  expect_command_at_every_split("12345678\r\n", {"12345678"}, limits);
  expect_command_at_every_split("1234 678\n", {"1234", "678"}, limits);
  expect_command_error("123456789\n", message, limits);
  expect_command_error("123456789\r\n", message, limits);
  expect_command_error("12345678X\r\n", message, limits);
  expect_command_error("123456789", message, limits);
  EXPECT_EQ(parse_command("12345678\r", limits).outcome, Outcome::kNeedMore);
}

TEST(RespCommand, InlineWithoutNewlineIsRefusedOnceItCannotFit) {
  const Limits limits;
  std::string wire(limits.max_inline, 'a');
  EXPECT_EQ(parse_command(wire).outcome, Outcome::kNeedMore);
  wire += '\r';
  EXPECT_EQ(parse_command(wire).outcome, Outcome::kNeedMore);
  wire.back() = 'a';
  CommandParse p = parse_command(wire);
  EXPECT_EQ(p.outcome, Outcome::kError);
  EXPECT_EQ(p.error, "Protocol error: too big inline request");
}

// ---------------------------------------------------------------------------
// Commands: random input.

// Checks what holds for any input: a known outcome, a sane length, views
// into the input, and prefixes that agree with the whole.
void check_command_invariants(std::string_view in, const Limits& limits) {
  Exact all(in);
  CommandParse whole = parse_command(all.view(), limits);
  switch (whole.outcome) {
    case Outcome::kComplete:
      ASSERT_GE(whole.consumed, 1u);
      ASSERT_LE(whole.consumed, in.size());
      ASSERT_TRUE(whole.error.empty());
      expect_args_view_input_or_owned(whole, all.view());
      break;
    case Outcome::kNeedMore:
      ASSERT_TRUE(whole.args.empty());
      break;
    case Outcome::kError:
      ASSERT_EQ(whole.error.rfind("Protocol error: ", 0), 0u) << whole.error;
      ASSERT_TRUE(whole.args.empty());
      break;
    default:
      FAIL() << "unknown outcome";
  }
  const Args whole_args = strings(whole.args);
  for (size_t k = 0; k < in.size(); ++k) {
    Exact prefix(in.substr(0, k));
    CommandParse p = parse_command(prefix.view(), limits);
    if (p.outcome == Outcome::kComplete) {
      ASSERT_EQ(whole.outcome, Outcome::kComplete)
          << printable(in) << " @" << k;
      ASSERT_EQ(p.consumed, whole.consumed) << printable(in) << " @" << k;
      ASSERT_EQ(strings(p.args), whole_args) << printable(in) << " @" << k;
      return;  // longer prefixes hold the same item
    }
    if (p.outcome == Outcome::kError) {
      ASSERT_EQ(whole.outcome, Outcome::kError) << printable(in) << " @" << k;
      return;
    }
  }
}

TEST(RespCommand, RandomGarbageNeverCrashesAndPrefixesAgree) {
  std::mt19937 rng(20240611);
  const std::string alphabet = "*$*$\r\n\r\n\r\n0123456789--+: \"'\\xaF\t";
  Limits small;
  small.max_bulk = 16;
  small.max_inline = 12;
  small.max_array = 5;
  OutcomeCounts seen;
  for (int iter = 0; iter < 20000; ++iter) {
    std::string in;
    const size_t len = rng() % 48;
    for (size_t i = 0; i < len; ++i) {
      in += rng() % 8 == 0 ? static_cast<char>(rng())
                           : alphabet[rng() % alphabet.size()];
    }
    if (rng() % 2 == 0) in.insert(0, 1, '*');
    check_command_invariants(in, iter % 2 == 0 ? small : Limits{});
    if (testing::Test::HasFatalFailure()) return;
    seen.add(parse_command(in, iter % 2 == 0 ? small : Limits{}).outcome);
  }
  seen.expect_each_at_least(200);
}

TEST(RespCommand, MutatedValidCommandsNeverCrashAndPrefixesAgree) {
  std::mt19937 rng(7);
  Limits small;
  small.max_bulk = 16;
  small.max_inline = 12;
  small.max_array = 5;
  OutcomeCounts seen;
  for (int iter = 0; iter < 20000; ++iter) {
    Args args(1 + rng() % 4);
    for (std::string& a : args) {
      a.resize(rng() % 20);
      for (char& c : a) c = "ab\r\n$*"[rng() % 6];
    }
    std::string wire = encode(args);
    for (int m = rng() % 3; m >= 0; --m) {
      const size_t at = rng() % wire.size();
      switch (rng() % 3) {
        case 0:
          wire[at] = static_cast<char>(rng());
          break;
        case 1:
          wire.erase(at, 1);
          break;
        default:
          wire.insert(at, 1, "\r\n$*-0x"[rng() % 7]);
          break;
      }
      if (wire.empty()) wire = "*";
    }
    check_command_invariants(wire, iter % 2 == 0 ? small : Limits{});
    if (testing::Test::HasFatalFailure()) return;
    seen.add(parse_command(wire, iter % 2 == 0 ? small : Limits{}).outcome);
  }
  seen.expect_each_at_least(200);
}

TEST(RespCommand, RandomCommandsRoundTripAtEverySplit) {
  std::mt19937 rng(99);
  for (int iter = 0; iter < 300; ++iter) {
    Args args(1 + rng() % 6);
    for (std::string& a : args) {
      a.resize(rng() % 3 == 0 ? rng() % 200 : rng() % 8);
      for (char& c : a) c = static_cast<char>(rng());
    }
    expect_command_at_every_split(encode(args), args);
    if (testing::Test::HasFatalFailure()) return;
  }
}

// ---------------------------------------------------------------------------
// Reply values.

// A readable, comparable form of a value.
std::string describe(const Value& v) {
  switch (v.type) {
    case Value::Type::kSimple:
      return "+" + printable(v.str);
    case Value::Type::kError:
      return "-" + printable(v.str);
    case Value::Type::kInteger:
      return ":" + std::to_string(v.integer);
    case Value::Type::kBulk:
      return "$" + printable(v.str);
    case Value::Type::kNull:
      return "null";
    case Value::Type::kDouble:
      return "," + printable(v.str);
    case Value::Type::kBigNumber:
      return "(" + printable(v.str);
    case Value::Type::kBoolean:
      return v.integer != 0 ? "#t" : "#f";
    case Value::Type::kArray:
    case Value::Type::kMap:
    case Value::Type::kSet:
    case Value::Type::kPush: {
      std::string out = v.type == Value::Type::kArray ? "["
                        : v.type == Value::Type::kMap ? "map["
                        : v.type == Value::Type::kSet ? "set["
                                                      : "push[";
      for (size_t i = 0; i < v.array.size(); ++i) {
        if (i > 0) out += ", ";
        out += describe(v.array[i]);
      }
      return out + "]";
    }
  }
  return "?";
}

Value simple(std::string s) {
  Value v;
  v.type = Value::Type::kSimple;
  v.str = std::move(s);
  return v;
}

Value error(std::string s) {
  Value v;
  v.type = Value::Type::kError;
  v.str = std::move(s);
  return v;
}

Value integer(int64_t i) {
  Value v;
  v.type = Value::Type::kInteger;
  v.integer = i;
  return v;
}

Value bulk(std::string s) {
  Value v;
  v.type = Value::Type::kBulk;
  v.str = std::move(s);
  return v;
}

Value null() { return Value{}; }

Value array(std::vector<Value> items) {
  Value v;
  v.type = Value::Type::kArray;
  v.array = std::move(items);
  return v;
}

void write_value(ReplyWriter& w, const Value& v) {
  switch (v.type) {
    case Value::Type::kSimple:
      w.simple(v.str);
      break;
    case Value::Type::kError:
      w.error(v.str);
      break;
    case Value::Type::kInteger:
      w.integer(v.integer);
      break;
    case Value::Type::kBulk:
      w.bulk(v.str);
      break;
    case Value::Type::kNull:
      w.null();
      break;
    case Value::Type::kArray:
      w.array(v.array.size());
      for (const Value& e : v.array) write_value(w, e);
      break;
    case Value::Type::kMap:
      w.map(v.array.size() / 2);
      for (const Value& e : v.array) write_value(w, e);
      break;
    case Value::Type::kSet:
      w.set(v.array.size());
      for (const Value& e : v.array) write_value(w, e);
      break;
    case Value::Type::kPush:
      w.push(v.array.size());
      for (const Value& e : v.array) write_value(w, e);
      break;
    case Value::Type::kDouble:
      w.double_value(std::stod(v.str));
      break;
    case Value::Type::kBoolean:
      w.boolean(v.integer != 0);
      break;
    case Value::Type::kBigNumber:
      ADD_FAILURE() << "the writer has no big numbers";
      break;
  }
}

std::string wire_of(const Value& v, int protocol = 2) {
  std::string out;
  ReplyWriter w(out, protocol);
  write_value(w, v);
  return out;
}

// Each proper prefix of `wire` needs more; all of it completes as `want`.
void expect_value_at_every_split(std::string_view wire, const Value& want,
                                 const Limits& limits = {}) {
  SCOPED_TRACE(printable(wire));
  for (size_t k = 0; k < wire.size(); ++k) {
    Exact prefix(wire.substr(0, k));
    ValueParse p = parse_value(prefix.view(), limits);
    ASSERT_EQ(p.outcome, Outcome::kNeedMore)
        << "prefix of " << k << " bytes: " << p.error;
  }
  Exact all(wire);
  ValueParse p = parse_value(all.view(), limits);
  ASSERT_EQ(p.outcome, Outcome::kComplete) << p.error;
  EXPECT_EQ(p.consumed, wire.size());
  EXPECT_EQ(describe(p.value), describe(want));
}

// All of `wire` is refused with `message`; no prefix completes, and once a
// prefix is refused every longer one is too.
void expect_value_error(std::string_view wire, std::string_view message,
                        const Limits& limits = {}) {
  SCOPED_TRACE(printable(wire));
  bool failed = false;
  for (size_t k = 0; k < wire.size(); ++k) {
    Exact prefix(wire.substr(0, k));
    ValueParse p = parse_value(prefix.view(), limits);
    ASSERT_NE(p.outcome, Outcome::kComplete) << "prefix of " << k;
    if (failed) {
      ASSERT_EQ(p.outcome, Outcome::kError) << "prefix of " << k;
    }
    failed = p.outcome == Outcome::kError;
  }
  Exact all(wire);
  ValueParse p = parse_value(all.view(), limits);
  ASSERT_EQ(p.outcome, Outcome::kError);
  EXPECT_EQ(p.error, message);
}

TEST(RespValue, EachScalarTypeParsesAtEverySplit) {
  expect_value_at_every_split("+OK\r\n", simple("OK"));
  expect_value_at_every_split("+\r\n", simple(""));
  expect_value_at_every_split("-ERR unknown command\r\n",
                              error("ERR unknown command"));
  expect_value_at_every_split(":0\r\n", integer(0));
  expect_value_at_every_split(":-42\r\n", integer(-42));
  expect_value_at_every_split("$5\r\nhello\r\n", bulk("hello"));
  expect_value_at_every_split("$0\r\n\r\n", bulk(""));
  expect_value_at_every_split("$4\r\n\r\n\0\n\r\n"s, bulk("\r\n\0\n"s));
  const ValueParse p = parse_value("-ERR x\r\n");
  EXPECT_TRUE(p.value.is_error());
}

TEST(RespValue, NullBulkAndNullArrayAreNull) {
  expect_value_at_every_split("$-1\r\n", null());
  expect_value_at_every_split("*-1\r\n", null());
}

TEST(RespValue, ArraysOfMixedTypesAndNestingParseAtEverySplit) {
  expect_value_at_every_split("*0\r\n", array({}));
  expect_value_at_every_split(
      "*6\r\n+OK\r\n-ERR no\r\n:7\r\n$3\r\nbar\r\n$-1\r\n*-1\r\n",
      array({simple("OK"), error("ERR no"), integer(7), bulk("bar"), null(),
             null()}));
  expect_value_at_every_split(
      "*2\r\n*2\r\n:1\r\n*1\r\n$1\r\nx\r\n*0\r\n",
      array({array({integer(1), array({bulk("x")})}), array({})}));
}

TEST(RespValue, PipelinedRepliesParseBackToBack) {
  const std::string wire = "+OK\r\n:1\r\n$-1\r\n*1\r\n$1\r\na\r\n-ERR\r\n";
  std::vector<std::string> got;
  std::string_view rest = wire;
  while (!rest.empty()) {
    ValueParse p = parse_value(rest);
    ASSERT_EQ(p.outcome, Outcome::kComplete) << p.error;
    got.push_back(describe(p.value));
    rest.remove_prefix(p.consumed);
  }
  EXPECT_EQ(got, (std::vector<std::string>{"+\"OK\"", ":1", "null", "[$\"a\"]",
                                           "-\"ERR\""}));
}

TEST(RespValue, IntegerExtremesParse) {
  expect_value_at_every_split(":9223372036854775807\r\n",
                              integer(std::numeric_limits<int64_t>::max()));
  expect_value_at_every_split(":-9223372036854775808\r\n",
                              integer(std::numeric_limits<int64_t>::min()));
}

TEST(RespValue, IntegersAreParsedStrictly) {
  for (std::string_view wire :
       {":\r\n", ":12a\r\n", ": 1\r\n", ":1 \r\n", ":01\r\n", ":-0\r\n",
        ":+5\r\n", ":-\r\n", ":1-2\r\n", ":9223372036854775808\r\n",
        ":-9223372036854775809\r\n", ":1\n", ":1\rx",
        ":123456789012345678901\r\n"}) {
    expect_value_error(wire, "Protocol error: invalid integer");
  }
}

TEST(RespValue, UnknownTypeByteIsAnError) {
  expect_value_error("?\r\n", "Protocol error: invalid reply type byte '?'");
  expect_value_error("*2\r\n:1\r\nx\r\n",
                     "Protocol error: invalid reply type byte 'x'");
  expect_value_error("|1\r\n", "Protocol error: invalid reply type byte '|'");
}

Value typed(Value::Type type, std::vector<Value> items) {
  Value v;
  v.type = type;
  v.array = std::move(items);
  return v;
}

TEST(RespValue, Resp3TypesParseAtEverySplit) {
  expect_value_at_every_split("_\r\n", null());
  Value d;
  d.type = Value::Type::kDouble;
  d.str = "1.5";
  expect_value_at_every_split(",1.5\r\n", d);
  Value t;
  t.type = Value::Type::kBoolean;
  t.integer = 1;
  expect_value_at_every_split("#t\r\n", t);
  Value big;
  big.type = Value::Type::kBigNumber;
  big.str = "12345678901234567890";
  expect_value_at_every_split("(12345678901234567890\r\n", big);
  expect_value_at_every_split("=8\r\ntxt:some\r\n", bulk("txt:some"));
  expect_value_at_every_split("!5\r\nERR x\r\n", error("ERR x"));
  expect_value_at_every_split(
      "%2\r\n+a\r\n:1\r\n$1\r\nb\r\n_\r\n",
      typed(Value::Type::kMap, {simple("a"), integer(1), bulk("b"), null()}));
  expect_value_at_every_split(
      "~2\r\n:1\r\n:2\r\n", typed(Value::Type::kSet, {integer(1), integer(2)}));
  expect_value_at_every_split(
      ">3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n",
      typed(Value::Type::kPush, {bulk("message"), bulk("ch"), bulk("hi")}));
}

TEST(RespValue, MalformedResp3ScalarsAreErrors) {
  expect_value_error("_x\r\n", "Protocol error: invalid null");
  expect_value_error("#x\r\n", "Protocol error: invalid boolean");
  expect_value_error("#tt\r\n", "Protocol error: invalid boolean");
  expect_value_error("%x\r\n", "Protocol error: invalid multibulk length");
}

TEST(RespValue, MalformedLengthsAreErrors) {
  for (std::string_view wire :
       {"$-2\r\n", "$\r\n", "$abc\r\n", "$01\r\nx\r\n", "$-0\r\n"}) {
    expect_value_error(wire, "Protocol error: invalid bulk length");
  }
  for (std::string_view wire : {"*-2\r\n", "*\r\n", "*x\r\n", "*00\r\n"}) {
    expect_value_error(wire, "Protocol error: invalid multibulk length");
  }
}

TEST(RespValue, BulkWithoutTrailingCrLfIsAnError) {
  const std::string message =
      "Protocol error: bulk string not followed by CRLF";
  expect_value_error("$3\r\nabcd\r\n", message);
  expect_value_error("$3\r\nabc\r\r", message);
  expect_value_error("*2\r\n$1\r\nab\r\n$1\r\nc\r\n", message);
}

TEST(RespValue, SimpleStringWithABareCrIsAnError) {
  expect_value_error("+O\rK\r\n", "Protocol error: CR not followed by LF");
  // A bare LF is tolerated, as in hiredis.
  expect_value_at_every_split("+a\nb\r\n", simple("a\nb"));
}

TEST(RespValue, LimitsAreEnforced) {
  Limits limits;
  limits.max_bulk = 3;
  limits.max_array = 2;
  limits.max_inline = 5;
  expect_value_at_every_split("$3\r\nabc\r\n", bulk("abc"), limits);
  expect_value_error("$4\r\n", "Protocol error: invalid bulk length", limits);
  expect_value_at_every_split("*2\r\n:1\r\n:2\r\n",
                              array({integer(1), integer(2)}), limits);
  expect_value_error("*3\r\n", "Protocol error: invalid multibulk length",
                     limits);
  expect_value_at_every_split("+12345\r\n", simple("12345"), limits);
  expect_value_error("+123456", "Protocol error: line too long", limits);
  expect_value_error("-123456\r\n", "Protocol error: line too long", limits);
  expect_value_error(":123456\r\n", "Protocol error: line too long", limits);
  // Without a limit on lines, garbage would be buffered forever.
  const Limits defaults;
  std::string endless = "+" + std::string(defaults.max_inline + 1, 'a');
  EXPECT_EQ(parse_value(endless).outcome, Outcome::kError);
  endless.pop_back();
  EXPECT_EQ(parse_value(endless).outcome, Outcome::kNeedMore);
}

TEST(RespValue, NestingDeeperThanTheLimitIsAnError) {
  auto nested = [](size_t depth) {
    Value v = integer(1);
    for (size_t i = 0; i < depth; ++i) v = array({std::move(v)});
    return v;
  };
  Limits limits;
  limits.max_depth = 3;
  expect_value_at_every_split(wire_of(nested(3)), nested(3), limits);
  expect_value_error(wire_of(nested(4)),
                     "Protocol error: arrays nested too deep", limits);
  // Null arrays are not nesting.
  expect_value_at_every_split("*1\r\n*1\r\n*1\r\n*-1\r\n",
                              array({array({array({null()})})}), limits);
  limits.max_depth = 0;
  expect_value_at_every_split(":1\r\n", integer(1), limits);
  expect_value_error("*0\r\n", "Protocol error: arrays nested too deep",
                     limits);
  // The default allows 8 levels.
  expect_value_at_every_split(wire_of(nested(8)), nested(8));
  expect_value_error(wire_of(nested(9)),
                     "Protocol error: arrays nested too deep");
}

// A random value nested at most 4 deep.
Value random_value(std::mt19937& rng, int depth) {
  switch (rng() % (depth < 4 ? 6 : 5)) {
    case 0:
      return simple(std::string(rng() % 5, 'a'));
    case 1:
      return error("ERR " + std::to_string(rng()));
    case 2: {
      const auto i =
          static_cast<int64_t>((uint64_t{rng()} << 32) | uint64_t{rng()});
      return integer(rng() % 2 ? i : i % 1000);
    }
    case 3: {
      std::string s(rng() % 3 == 0 ? rng() % 40 : rng() % 4, '\0');
      for (char& c : s) c = static_cast<char>(rng());
      return bulk(std::move(s));
    }
    case 4:
      return null();
    default: {
      std::vector<Value> items(rng() % 5);
      for (Value& e : items) e = random_value(rng, depth + 1);
      return array(std::move(items));
    }
  }
}

// Whether the RESP3 writer gives v back exactly: it turns line breaks in
// simple strings and errors into spaces, writes a double in its own words,
// and has no big numbers.
bool rewritable(const Value& v) {
  if (v.type == Value::Type::kSimple || v.type == Value::Type::kError) {
    return v.str.find_first_of("\r\n") == std::string::npos;
  }
  if (v.type == Value::Type::kDouble || v.type == Value::Type::kBigNumber) {
    return false;
  }
  for (const Value& e : v.array) {
    if (!rewritable(e)) return false;
  }
  return true;
}

void check_value_invariants(std::string_view in, const Limits& limits) {
  Exact all(in);
  ValueParse whole = parse_value(all.view(), limits);
  switch (whole.outcome) {
    case Outcome::kComplete:
      ASSERT_GE(whole.consumed, 3u);
      ASSERT_LE(whole.consumed, in.size());
      // What was parsed survives a trip through the writer.
      if (rewritable(whole.value)) {
        ASSERT_EQ(describe(parse_value(wire_of(whole.value, 3)).value),
                  describe(whole.value));
      }
      break;
    case Outcome::kNeedMore:
      break;
    case Outcome::kError:
      ASSERT_EQ(whole.error.rfind("Protocol error: ", 0), 0u) << whole.error;
      break;
    default:
      FAIL() << "unknown outcome";
  }
  for (size_t k = 0; k < in.size(); ++k) {
    Exact prefix(in.substr(0, k));
    ValueParse p = parse_value(prefix.view(), limits);
    if (p.outcome == Outcome::kComplete) {
      ASSERT_EQ(whole.outcome, Outcome::kComplete)
          << printable(in) << " @" << k;
      ASSERT_EQ(p.consumed, whole.consumed) << printable(in) << " @" << k;
      ASSERT_EQ(describe(p.value), describe(whole.value));
      return;
    }
    if (p.outcome == Outcome::kError) {
      ASSERT_EQ(whole.outcome, Outcome::kError) << printable(in) << " @" << k;
      return;
    }
  }
}

TEST(RespValue, RandomGarbageNeverCrashesAndPrefixesAgree) {
  std::mt19937 rng(424242);
  const std::string types = "*$+-:**$$";
  const std::string alphabet = "*$+-:*$\r\n\r\n\r\n\r\n0123456789--1 ab";
  Limits small;
  small.max_bulk = 16;
  small.max_inline = 12;
  small.max_array = 5;
  small.max_depth = 3;
  OutcomeCounts seen;
  for (int iter = 0; iter < 20000; ++iter) {
    std::string in;
    const size_t len = rng() % 48;
    for (size_t i = 0; i < len; ++i) {
      in += rng() % 10 == 0 ? static_cast<char>(rng())
                            : alphabet[rng() % alphabet.size()];
    }
    if (rng() % 8 != 0) in.insert(0, 1, types[rng() % types.size()]);
    check_value_invariants(in, iter % 2 == 0 ? small : Limits{});
    if (testing::Test::HasFatalFailure()) return;
    seen.add(parse_value(in, iter % 2 == 0 ? small : Limits{}).outcome);
  }
  seen.expect_each_at_least(200);
}

TEST(RespValue, MutatedValidRepliesNeverCrashAndPrefixesAgree) {
  std::mt19937 rng(77);
  Limits small;
  small.max_bulk = 16;
  small.max_inline = 12;
  small.max_array = 3;
  small.max_depth = 2;
  OutcomeCounts seen;
  for (int iter = 0; iter < 20000; ++iter) {
    std::string wire = wire_of(random_value(rng, 0));
    for (int m = rng() % 3; m >= 0; --m) {
      const size_t at = rng() % wire.size();
      switch (rng() % 3) {
        case 0:
          wire[at] = static_cast<char>(rng());
          break;
        case 1:
          wire.erase(at, 1);
          break;
        default: {
          constexpr std::string_view kBytes("\r\n$*:+-0x\0", 10);
          wire.insert(at, 1, kBytes[rng() % kBytes.size()]);
          break;
        }
      }
      if (wire.empty()) wire = "*";
    }
    check_value_invariants(wire, iter % 2 == 0 ? small : Limits{});
    if (testing::Test::HasFatalFailure()) return;
    seen.add(parse_value(wire, iter % 2 == 0 ? small : Limits{}).outcome);
  }
  seen.expect_each_at_least(200);
}

TEST(RespLimits, SizeMaxMeansNoLimit) {
  const size_t kMax = std::numeric_limits<size_t>::max();
  const Limits limits{kMax, kMax, kMax, kMax};
  expect_command_at_every_split(encode({"SET", "k", "v"}), {"SET", "k", "v"},
                                limits);
  expect_command_at_every_split("GET \"k\"\r\n", {"GET", "k"}, limits);
  expect_value_at_every_split("*1\r\n+OK\r\n", array({simple("OK")}), limits);
}

// ---------------------------------------------------------------------------
// Writers.

TEST(RespWriter, EachReplyHasItsExactWireForm) {
  std::string out = "prior|";
  ReplyWriter w(out);
  w.simple("OK");
  w.error("ERR wrong");
  w.integer(0);
  w.integer(-12);
  w.integer(std::numeric_limits<int64_t>::min());
  w.bulk("hi");
  w.bulk("");
  w.null();
  w.array(2);
  w.array(0);
  w.null_array();
  EXPECT_EQ(out,
            "prior|+OK\r\n-ERR wrong\r\n:0\r\n:-12\r\n"
            ":-9223372036854775808\r\n$2\r\nhi\r\n$0\r\n\r\n$-1\r\n*2\r\n"
            "*0\r\n*-1\r\n");
}

TEST(RespWriter, Resp3TypesHaveTheirWireFormsAndRespTwoFallbacks) {
  std::string out3;
  ReplyWriter w3(out3, 3);
  w3.null();
  w3.null_array();
  w3.map(1);
  w3.set(2);
  w3.push(3);
  w3.boolean(true);
  w3.double_value(1.5);
  w3.double_value(-std::numeric_limits<double>::infinity());
  EXPECT_EQ(out3, "_\r\n_\r\n%1\r\n~2\r\n>3\r\n#t\r\n,1.5\r\n,-inf\r\n");
  std::string out2;
  ReplyWriter w2(out2, 2);
  w2.map(1);
  w2.set(2);
  w2.push(3);
  w2.boolean(false);
  w2.double_value(0.1);
  EXPECT_EQ(out2, "*2\r\n*2\r\n*3\r\n:0\r\n$3\r\n0.1\r\n");
}

TEST(RespWriter, LineBreaksInSimpleAndErrorRepliesBecomeSpaces) {
  std::string out;
  ReplyWriter w(out);
  w.simple("a\r\nb");
  w.error("ERR x\ny");
  EXPECT_EQ(out, "+a  b\r\n-ERR x y\r\n");
}

TEST(RespWriter, RepliesRoundTripThroughParseValue) {
  std::mt19937 rng(5);
  for (int iter = 0; iter < 300; ++iter) {
    const Value v = random_value(rng, 0);
    expect_value_at_every_split(wire_of(v), v);
    if (testing::Test::HasFatalFailure()) return;
  }
}

TEST(RespWriter, WriteCommandHasTheExactWireForm) {
  std::string out = "x";
  write_command(out, {"SET", "k", ""});
  EXPECT_EQ(out, "x*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n");
  out.clear();
  write_command(out, {});
  EXPECT_EQ(out, "*0\r\n");
}

TEST(RespWriter, WriteCommandRoundTripsThroughParseCommand) {
  const Args args = {"SET", std::string(1000, '\r'), "\0"s, ""};
  std::string out;
  for (int i = 0; i < 100; ++i) {
    write_command(out, std::vector<std::string_view>(args.begin(), args.end()));
  }
  std::string_view rest = out;
  for (int i = 0; i < 100; ++i) {
    CommandParse p = parse_command(rest);
    ASSERT_EQ(p.outcome, Outcome::kComplete) << p.error;
    EXPECT_EQ(strings(p.args), args);
    rest.remove_prefix(p.consumed);
  }
  EXPECT_TRUE(rest.empty());
}

}  // namespace
}  // namespace cmud::resp
