// libFuzzer harness: the RESP command and reply parsers. Besides not
// crashing (ASan, UBSan), parsing a command in pieces — resuming where each
// kNeedMore stopped — must give exactly what one parse of the whole input
// gives, and a parsed reply written back and parsed again must not change.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "cmud/resp/resp.h"

namespace {

using cmud::resp::CommandParse;
using cmud::resp::Limits;
using cmud::resp::Outcome;
using cmud::resp::parse_command;
using cmud::resp::parse_value;
using cmud::resp::ReplyWriter;
using cmud::resp::Value;

void check(bool ok) {
  if (!ok) std::abort();  // libFuzzer reports the input
}

// Small limits, so that the fuzzer reaches them.
constexpr Limits kLimits{
    .max_bulk = 4096, .max_inline = 1024, .max_array = 64, .max_depth = 4};

bool same(const CommandParse& a, const CommandParse& b) {
  if (a.outcome != b.outcome) return false;
  if (a.outcome != Outcome::kComplete) return true;
  return a.consumed == b.consumed && a.args == b.args;
}

// The input arrives in pieces of `step` bytes; each piece resumes the
// parse where the previous kNeedMore left it, as a session does.
void parse_in_pieces(std::string_view in, size_t step) {
  CommandParse whole = parse_command(in, kLimits);
  size_t pos = 0, args = 0;
  for (size_t have = step;; have += step) {
    have = std::min(have, in.size());
    CommandParse p = parse_command(in.substr(0, have), kLimits, pos, args);
    if (p.outcome != Outcome::kNeedMore) {
      // An error may show earlier than in the whole parse (a limit is
      // crossed by what is there so far); a completed command is the same.
      if (p.outcome == Outcome::kComplete) check(same(p, whole));
      if (whole.outcome == Outcome::kComplete) check(same(p, whole));
      return;
    }
    check(p.resume_pos <= have);
    pos = p.resume_pos;
    args = p.resume_args;
    if (have == in.size()) {
      check(whole.outcome == Outcome::kNeedMore);
      return;
    }
  }
}

void write_value(ReplyWriter& w, const Value& v) {
  using T = Value::Type;
  switch (v.type) {
    case T::kSimple:
      w.simple(v.str);
      return;
    case T::kError:
      w.error(v.str);
      return;
    case T::kInteger:
      w.integer(v.integer);
      return;
    case T::kBulk:
      w.bulk(v.str);
      return;
    case T::kNull:
      w.null();
      return;
    case T::kBoolean:
      w.boolean(v.integer != 0);
      return;
    case T::kArray:
      w.array(v.array.size());
      break;
    case T::kMap:
      w.map(v.array.size() / 2);
      break;
    case T::kSet:
      w.set(v.array.size());
      break;
    case T::kPush:
      w.push(v.array.size());
      break;
    case T::kDouble:
    case T::kBigNumber:
      w.bulk(v.str);  // no writer call keeps these as they came
      return;
  }
  for (const auto& e : v.array) write_value(w, e);
}

bool equal(const Value& a, const Value& b) {
  if (a.type != b.type || a.str != b.str || a.integer != b.integer ||
      a.array.size() != b.array.size()) {
    return false;
  }
  for (size_t i = 0; i < a.array.size(); ++i) {
    if (!equal(a.array[i], b.array[i])) return false;
  }
  return true;
}

bool written_as_is(const Value& v) {
  using T = Value::Type;
  if (v.type == T::kDouble || v.type == T::kBigNumber) return false;
  // Simple strings and errors come back through a line: what the writer
  // would have to refuse is not compared.
  if ((v.type == T::kSimple || v.type == T::kError) &&
      v.str.find_first_of("\r\n") != std::string::npos) {
    return false;
  }
  if (v.type == T::kMap && v.array.size() % 2 != 0) return false;
  for (const auto& e : v.array) {
    if (!written_as_is(e)) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);

  // Commands, one after another, as a pipelined connection sends them.
  std::string_view rest = in;
  for (int i = 0; i < 64 && !rest.empty(); ++i) {
    CommandParse p = parse_command(rest, kLimits);
    if (p.outcome != Outcome::kComplete) break;
    check(p.consumed > 0 && p.consumed <= rest.size());
    for (auto a : p.args) check(a.size() <= kLimits.max_bulk);
    rest.remove_prefix(p.consumed);
  }
  parse_in_pieces(in, 1);
  parse_in_pieces(in, 7);

  // Replies, as a client reads them: written back, parsed again, the same.
  auto v = parse_value(in, kLimits);
  if (v.outcome == Outcome::kComplete) {
    check(v.consumed > 0 && v.consumed <= in.size());
    if (written_as_is(v.value)) {
      std::string out;
      ReplyWriter w(out, 3);
      write_value(w, v.value);
      auto again = parse_value(out, Limits{});
      check(again.outcome == Outcome::kComplete &&
            again.consumed == out.size());
      check(equal(again.value, v.value));
    }
  }
  return 0;
}
