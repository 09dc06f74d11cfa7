// RESP2 parsers and writer (resp.h).
//
// Both parsers are stateless: every call starts again from the front of the
// input, so they are written to make a retry cheap. Bulk payloads are never
// scanned (a header says how long they are, so a partly received 30 MB value
// is "need more" after reading a dozen header bytes), and lines are searched
// for their end only as far as the limit allows, so garbage without a newline
// is refused instead of buffered. Decisions depend only on the bytes already
// seen: a prefix that completes or fails does the same with more bytes added.
#include "cmud/resp/resp.h"
#include "cmud/common/ascii.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <utility>

namespace cmud::resp {
namespace {

// "-9223372036854775808" is the longest int64 text.
constexpr size_t kMaxIntText = 20;
// "$0\r\n\r\n", the shortest bulk string.
constexpr size_t kMinBulkWire = 6;

constexpr std::string_view kTooBigInline =
    "Protocol error: too big inline request";
constexpr std::string_view kUnbalancedQuotes =
    "Protocol error: unbalanced quotes in request";
constexpr std::string_view kTooBigMbulkCount =
    "Protocol error: too big mbulk count string";
constexpr std::string_view kTooBigBulkCount =
    "Protocol error: too big bulk count string";
constexpr std::string_view kInvalidMultibulk =
    "Protocol error: invalid multibulk length";
constexpr std::string_view kInvalidBulk = "Protocol error: invalid bulk length";
// The texts below have no counterpart in Redis (its server does not check
// what follows a bulk payload, and hiredis words its own errors differently).
constexpr std::string_view kBulkNotTerminated =
    "Protocol error: bulk string not followed by CRLF";
constexpr std::string_view kInvalidInteger = "Protocol error: invalid integer";
constexpr std::string_view kLineTooLong = "Protocol error: line too long";
constexpr std::string_view kCrWithoutLf =
    "Protocol error: CR not followed by LF";
constexpr std::string_view kTooDeep = "Protocol error: arrays nested too deep";
constexpr std::string_view kInvalidNull = "Protocol error: invalid null";
constexpr std::string_view kInvalidBoolean = "Protocol error: invalid boolean";

// a + b, or SIZE_MAX when that overflows (limits may be set to SIZE_MAX).
size_t saturating_add(size_t a, size_t b) {
  return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

enum class Scan { kOk, kNeedMore, kTooLong, kInvalid };

struct IntLine {
  Scan scan = Scan::kNeedMore;
  int64_t value = 0;
  size_t next = 0;  // just past the CRLF
};

// Reads "<integer>\r\n" starting at in[pos]. The text may be at most
// `max_text` bytes (kTooLong otherwise); bytes that cannot belong to an
// integer are kInvalid as soon as they arrive, without waiting for the CRLF.
IntLine read_int_line(std::string_view in, size_t pos, size_t max_text) {
  const size_t window_end =
      pos + std::min(in.size() - pos, saturating_add(max_text, 1));
  for (size_t i = pos; i < window_end; ++i) {
    const char c = in[i];
    if (c == '\r') {
      if (i + 1 == in.size()) return {Scan::kNeedMore};
      if (in[i + 1] != '\n') return {Scan::kInvalid};
      std::optional<int64_t> v = strict_int(in.substr(pos, i - pos));
      if (!v) return {Scan::kInvalid};
      return {Scan::kOk, *v, i + 2};
    }
    if (i - pos >= kMaxIntText || !((c >= '0' && c <= '9') || c == '-')) {
      return {Scan::kInvalid};
    }
  }
  return {in.size() - pos > max_text ? Scan::kTooLong : Scan::kNeedMore};
}

struct Line {
  Scan scan = Scan::kNeedMore;
  size_t end = 0;  // the text is [pos, end); the CRLF follows
};

// Finds the CRLF ending the line that starts at in[pos], looking no further
// than `max_text` bytes of text.
Line read_line(std::string_view in, size_t pos, size_t max_text) {
  const size_t avail = in.size() - pos;
  if (avail == 0) return {Scan::kNeedMore};
  const char* base = in.data() + pos;
  const void* cr =
      std::memchr(base, '\r', std::min(avail, saturating_add(max_text, 1)));
  if (cr == nullptr) {
    return {avail > max_text ? Scan::kTooLong : Scan::kNeedMore};
  }
  const size_t end =
      pos + static_cast<size_t>(static_cast<const char*>(cr) - base);
  if (end + 1 == in.size()) return {Scan::kNeedMore};
  if (in[end + 1] != '\n') return {Scan::kInvalid};
  return {Scan::kOk, end};
}

// Checks the bulk payload of `len` bytes at in[start] and its CRLF. Returns
// kOk, kNeedMore (not all there yet; the payload is not looked at) or
// kInvalid (the bytes after the payload are not CRLF).
Scan check_bulk_payload(std::string_view in, size_t start, size_t len) {
  const size_t avail = in.size() - start;
  if (avail < len + 2) {
    if (avail > len && in[start + len] != '\r') return Scan::kInvalid;
    return Scan::kNeedMore;
  }
  if (in[start + len] != '\r' || in[start + len + 1] != '\n') {
    return Scan::kInvalid;
  }
  return Scan::kOk;
}

// ---------------------------------------------------------------------------
// Commands.

void fail(CommandParse& r, std::string_view message) {
  r.outcome = Outcome::kError;
  r.consumed = 0;
  r.args.clear();
  r.owned.clear();
  r.error = message;
}

// `need`: the input size below which parsing again cannot complete.
void need_more(CommandParse& r, size_t need) {
  r.outcome = Outcome::kNeedMore;
  r.consumed = 0;
  r.need = need;
  r.args.clear();
  r.owned.clear();
}

void complete(CommandParse& r, size_t consumed) {
  r.outcome = Outcome::kComplete;
  r.consumed = consumed;
}

// "*<n>\r\n" then n times "$<len>\r\n<len bytes>\r\n", as Redis'
// processMultibulkBuffer reads it (n <= 0 is an empty command).
// From `resume_args` complete arguments ending at `resume_pos` (0 0: from
// the start), only checks the rest; once all is there, parses it whole
// (once).
void parse_multibulk(std::string_view in, const Limits& limits, CommandParse& r,
                     size_t resume_pos = 0, size_t resume_args = 0) {
  const IntLine header = read_int_line(in, 1, limits.max_inline);
  switch (header.scan) {
    case Scan::kOk:
      break;
    case Scan::kNeedMore:
      return need_more(r, in.size() + 1);
    case Scan::kTooLong:
      return fail(r, kTooBigMbulkCount);
    case Scan::kInvalid:
      return fail(r, kInvalidMultibulk);
  }
  if (header.value <= 0) return complete(r, header.next);
  if (static_cast<uint64_t>(header.value) > limits.max_array) {
    return fail(r, kInvalidMultibulk);
  }
  const auto count = static_cast<size_t>(header.value);
  size_t pos = header.next;
  size_t first = 0;
  const bool resuming = resume_args > 0 && resume_args <= count &&
                        resume_pos > pos && resume_pos <= in.size();
  if (resuming) {
    pos = resume_pos;
    first = resume_args;
  } else {
    // Bounded by what the input can hold, not by the (untrusted) count.
    r.args.reserve(std::min(count, (in.size() - pos) / kMinBulkWire));
  }
  auto more = [&](size_t need, size_t i) {
    need_more(r, need);
    r.resume_pos = pos;
    r.resume_args = i;
  };
  for (size_t i = first; i < count; ++i) {
    if (pos == in.size()) return more(in.size() + 1, i);
    if (in[pos] != '$') {
      std::string message = "Protocol error: expected '$', got ' '";
      message[message.size() - 2] = in[pos];
      return fail(r, message);
    }
    const IntLine len = read_int_line(in, pos + 1, limits.max_inline);
    switch (len.scan) {
      case Scan::kOk:
        break;
      case Scan::kNeedMore:
        return more(in.size() + 1, i);
      case Scan::kTooLong:
        return fail(r, kTooBigBulkCount);
      case Scan::kInvalid:
        return fail(r, kInvalidBulk);
    }
    if (len.value < 0 || static_cast<uint64_t>(len.value) > limits.max_bulk) {
      return fail(r, kInvalidBulk);
    }
    const auto size = static_cast<size_t>(len.value);
    switch (check_bulk_payload(in, len.next, size)) {
      case Scan::kOk:
        break;
      case Scan::kNeedMore:
        return more(std::max(in.size() + 1, len.next + size + 2), i);
      case Scan::kTooLong:  // not returned
      case Scan::kInvalid:
        return fail(r, kBulkNotTerminated);
    }
    if (!resuming) r.args.push_back(in.substr(len.next, size));
    pos = len.next + size + 2;
  }
  if (resuming) {
    // Everything is here now: one whole parse gives the arguments.
    CommandParse whole;
    parse_multibulk(in, limits, whole);
    r = std::move(whole);
    return;
  }
  complete(r, pos);
}

// C's isspace in the "C" locale: what sdssplitargs skips between words.
bool is_blank(char c) {
  return c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '\v' ||
         c == '\f';
}

// What ends an unquoted word in sdssplitargs.
bool ends_word(char c) {
  return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

char unescape(char c) {
  switch (c) {
    case 'n':
      return '\n';
    case 'r':
      return '\r';
    case 't':
      return '\t';
    case 'b':
      return '\b';
    case 'a':
      return '\a';
    default:
      return c;  // \" \\ and any other \c
  }
}

// One inline argument being built. It stays a view of the line while its
// bytes are a contiguous run of the line (plain words and quoted words
// without escapes) and becomes a string once they are not. Lives within one
// parse_command call.
class Word {
 public:
  explicit Word(std::string_view line) : line_(line) {}

  // Appends the line's byte at `at`.
  void take(size_t at) {
    if (owned_) {
      text_ += line_[at];
    } else if (len_ == 0) {
      begin_ = at;
      len_ = 1;
    } else if (begin_ + len_ == at) {
      ++len_;
    } else {
      own();
      text_ += line_[at];
    }
  }

  // Appends a byte that is not in the line (an unescaped one).
  void add(char c) {
    if (!owned_) own();
    text_ += c;
  }

  bool owned() const { return owned_; }
  std::string_view view() const { return line_.substr(begin_, len_); }
  std::string take_text() { return std::move(text_); }

 private:
  void own() {
    owned_ = true;
    text_.assign(line_.substr(begin_, len_));
  }

  std::string_view line_;
  size_t begin_ = 0;
  size_t len_ = 0;
  bool owned_ = false;
  std::string text_;
};

// Splits an inline line into words as Redis' sdssplitargs does: blanks
// separate; "double quotes" know \n \r \t \b \a \xHH and \<any>; 'single
// quotes' know only \'; a closing quote must be followed by a blank or the
// end. One difference: a NUL byte is an ordinary byte here, where the C
// original stops at it. Returns false on unbalanced quotes.
bool split_inline(std::string_view line, CommandParse& r) {
  // Unescaped words go to r.owned. push_back may move short strings, so their
  // views are set once r.owned has stopped growing.
  std::vector<std::pair<size_t, size_t>> fixups;  // (arg, owned) indexes
  const size_t n = line.size();
  size_t i = 0;
  while (true) {
    while (i < n && is_blank(line[i])) ++i;
    if (i == n) break;
    Word word(line);
    bool in_double = false;
    bool in_single = false;
    while (true) {
      if (in_double) {
        if (i == n) return false;
        const char c = line[i];
        if (c == '\\' && i + 3 < n && line[i + 1] == 'x' &&
            hex_value(line[i + 2]) >= 0 && hex_value(line[i + 3]) >= 0) {
          word.add(static_cast<char>(hex_value(line[i + 2]) * 16 +
                                     hex_value(line[i + 3])));
          i += 4;
        } else if (c == '\\' && i + 1 < n) {
          word.add(unescape(line[i + 1]));
          i += 2;
        } else if (c == '"') {
          ++i;
          if (i < n && !is_blank(line[i])) return false;
          break;
        } else {
          word.take(i++);
        }
      } else if (in_single) {
        if (i == n) return false;
        const char c = line[i];
        if (c == '\\' && i + 1 < n && line[i + 1] == '\'') {
          word.take(i + 1);
          i += 2;
        } else if (c == '\'') {
          ++i;
          if (i < n && !is_blank(line[i])) return false;
          break;
        } else {
          word.take(i++);
        }
      } else {
        if (i == n || ends_word(line[i])) break;
        if (line[i] == '"') {
          in_double = true;
          ++i;
        } else if (line[i] == '\'') {
          in_single = true;
          ++i;
        } else {
          word.take(i++);
        }
      }
    }
    if (word.owned()) {
      fixups.emplace_back(r.args.size(), r.owned.size());
      r.owned.push_back(word.take_text());
      r.args.emplace_back();
    } else {
      r.args.push_back(word.view());
    }
  }
  for (auto [arg, owned] : fixups) r.args[arg] = r.owned[owned];
  return true;
}

// A line ended by "\n" or "\r\n", as Redis' processInlineBuffer reads it.
void parse_inline(std::string_view in, const Limits& limits, CommandParse& r) {
  // A newline further than this ends a line of more than max_inline bytes.
  const size_t window =
      std::min(in.size(), saturating_add(limits.max_inline, 2));
  const void* nl = std::memchr(in.data(), '\n', window);
  if (nl == nullptr) {
    // The line is at least this long, whatever arrives next.
    const size_t least = in.size() - (in.back() == '\r' ? 1 : 0);
    if (least > limits.max_inline) return fail(r, kTooBigInline);
    return need_more(r, in.size() + 1);
  }
  const auto nl_pos =
      static_cast<size_t>(static_cast<const char*>(nl) - in.data());
  size_t end = nl_pos;
  if (end > 0 && in[end - 1] == '\r') --end;
  if (end > limits.max_inline) return fail(r, kTooBigInline);
  if (!split_inline(in.substr(0, end), r)) return fail(r, kUnbalancedQuotes);
  complete(r, nl_pos + 1);
}

// ---------------------------------------------------------------------------
// Replies.

struct Step {
  Outcome outcome = Outcome::kNeedMore;
  size_t next = 0;
};

// Parses one value in two passes over the same code: first without `out` to
// find where it ends (no allocation, so retries after kNeedMore are cheap),
// then, once it is known to be complete and valid, with `out` to build it.
// Lives within one parse_value call.
class ValueParser {
 public:
  ValueParser(std::string_view in, const Limits& limits)
      : in_(in), limits_(limits) {}

  // `depth` is the number of arrays around the value at `pos`.
  Step parse(size_t pos, size_t depth, Value* out) {
    if (pos == in_.size()) return {};
    const char type = in_[pos];
    switch (type) {
      case '+':
      case '-':
        return parse_line(pos, out);
      case ':': {
        const IntLine v = read_int_line(in_, pos + 1, limits_.max_inline);
        if (v.scan != Scan::kOk) return int_failure(v.scan, kInvalidInteger);
        if (out != nullptr) {
          out->type = Value::Type::kInteger;
          out->integer = v.value;
        }
        return {Outcome::kComplete, v.next};
      }
      case '$':
      case '=':  // RESP3 verbatim string
        return parse_bulk(pos, out);
      case '!':  // RESP3 blob error
        return parse_bulk(pos, out, Value::Type::kError);
      case '*':
        return parse_array(pos, depth, out, Value::Type::kArray);
      case '%':
        return parse_array(pos, depth, out, Value::Type::kMap);
      case '~':
        return parse_array(pos, depth, out, Value::Type::kSet);
      case '>':
        return parse_array(pos, depth, out, Value::Type::kPush);
      case '_': {
        const Line line = read_line(in_, pos + 1, limits_.max_inline);
        if (line.scan == Scan::kNeedMore) return {};
        if (line.scan != Scan::kOk || line.end != pos + 1) {
          return failure(kInvalidNull);
        }
        if (out != nullptr) out->type = Value::Type::kNull;
        return {Outcome::kComplete, line.end + 2};
      }
      case '#': {
        const Line line = read_line(in_, pos + 1, limits_.max_inline);
        if (line.scan == Scan::kNeedMore) return {};
        if (line.scan != Scan::kOk || line.end != pos + 2 ||
            (in_[pos + 1] != 't' && in_[pos + 1] != 'f')) {
          return failure(kInvalidBoolean);
        }
        if (out != nullptr) {
          out->type = Value::Type::kBoolean;
          out->integer = in_[pos + 1] == 't' ? 1 : 0;
        }
        return {Outcome::kComplete, line.end + 2};
      }
      case ',':
      case '(':
        return parse_line(pos, out);
      default: {
        error_ = "Protocol error: invalid reply type byte ' '";
        error_[error_.size() - 2] = type;
        return {Outcome::kError};
      }
    }
  }

  std::string& error() { return error_; }

 private:
  Step failure(std::string_view message) {
    error_ = message;
    return {Outcome::kError};
  }

  Step int_failure(Scan scan, std::string_view invalid) {
    switch (scan) {
      case Scan::kNeedMore:
        return {};
      case Scan::kTooLong:
        return failure(kLineTooLong);
      default:
        return failure(invalid);
    }
  }

  Step parse_line(size_t pos, Value* out) {
    const Line line = read_line(in_, pos + 1, limits_.max_inline);
    switch (line.scan) {
      case Scan::kOk:
        break;
      case Scan::kNeedMore:
        return {};
      case Scan::kTooLong:
        return failure(kLineTooLong);
      case Scan::kInvalid:
        return failure(kCrWithoutLf);
    }
    if (out != nullptr) {
      switch (in_[pos]) {
        case '+':
          out->type = Value::Type::kSimple;
          break;
        case ',':
          out->type = Value::Type::kDouble;
          break;
        case '(':
          out->type = Value::Type::kBigNumber;
          break;
        default:
          out->type = Value::Type::kError;
      }
      out->str.assign(in_.substr(pos + 1, line.end - pos - 1));
    }
    return {Outcome::kComplete, line.end + 2};
  }

  Step parse_bulk(size_t pos, Value* out,
                  Value::Type type = Value::Type::kBulk) {
    const IntLine len = read_int_line(in_, pos + 1, limits_.max_inline);
    if (len.scan != Scan::kOk) return int_failure(len.scan, kInvalidBulk);
    if (len.value == -1) {
      if (out != nullptr) out->type = Value::Type::kNull;
      return {Outcome::kComplete, len.next};
    }
    if (len.value < 0 || static_cast<uint64_t>(len.value) > limits_.max_bulk) {
      return failure(kInvalidBulk);
    }
    const auto size = static_cast<size_t>(len.value);
    switch (check_bulk_payload(in_, len.next, size)) {
      case Scan::kOk:
        break;
      case Scan::kNeedMore:
        return {};
      case Scan::kTooLong:  // not returned
      case Scan::kInvalid:
        return failure(kBulkNotTerminated);
    }
    if (out != nullptr) {
      out->type = type;
      out->str.assign(in_.substr(len.next, size));
    }
    return {Outcome::kComplete, len.next + size + 2};
  }

  // A map's length counts pairs: it holds twice as many values.
  Step parse_array(size_t pos, size_t depth, Value* out, Value::Type type) {
    const IntLine len = read_int_line(in_, pos + 1, limits_.max_inline);
    if (len.scan != Scan::kOk) return int_failure(len.scan, kInvalidMultibulk);
    if (len.value == -1) {
      if (out != nullptr) out->type = Value::Type::kNull;
      return {Outcome::kComplete, len.next};
    }
    if (len.value < 0 || static_cast<uint64_t>(len.value) > limits_.max_array) {
      return failure(kInvalidMultibulk);
    }
    if (depth >= limits_.max_depth) return failure(kTooDeep);
    const auto count =
        static_cast<size_t>(len.value) * (type == Value::Type::kMap ? 2 : 1);
    if (out != nullptr) {
      out->type = type;
      out->array.reserve(count);
    }
    size_t next = len.next;
    for (size_t i = 0; i < count; ++i) {
      Value* element = nullptr;
      if (out != nullptr) element = &out->array.emplace_back();
      const Step step = parse(next, depth + 1, element);
      if (step.outcome != Outcome::kComplete) return step;
      next = step.next;
    }
    return {Outcome::kComplete, next};
  }

  std::string_view in_;
  const Limits& limits_;
  std::string error_;
};

// Appends <type><v>\r\n.
template <typename Int>
void append_header(std::string& out, char type, Int v) {
  char buf[1 + kMaxIntText + 2];
  buf[0] = type;
  char* p = std::to_chars(buf + 1, buf + 1 + kMaxIntText, v).ptr;
  *p++ = '\r';
  *p++ = '\n';
  out.append(buf, static_cast<size_t>(p - buf));
}

// Appends <type><s>\r\n with any CR or LF in s turned into a space, so a
// careless message cannot break the framing (Redis does the same to errors).
void append_line(std::string& out, char type, std::string_view s) {
  const size_t start = out.size() + 1;
  out += type;
  out += s;
  std::replace_if(
      out.begin() + static_cast<std::ptrdiff_t>(start), out.end(),
      [](char c) { return c == '\r' || c == '\n'; }, ' ');
  out += "\r\n";
}

}  // namespace

CommandParse parse_command(std::string_view in, const Limits& limits,
                           size_t resume_pos, size_t resume_args) {
  if (resume_args == 0 || in.empty() || in[0] != '*') {
    return parse_command(in, limits);
  }
  CommandParse r;
  parse_multibulk(in, limits, r, resume_pos, resume_args);
  return r;
}

CommandParse parse_command(std::string_view in, const Limits& limits) {
  CommandParse r;
  if (in.empty()) {
    r.need = 1;
    return r;
  }
  if (in[0] == '*') {
    parse_multibulk(in, limits, r);
  } else {
    parse_inline(in, limits, r);
  }
  return r;
}

ValueParse parse_value(std::string_view in, const Limits& limits) {
  ValueParse r;
  ValueParser parser(in, limits);
  const Step frame = parser.parse(0, 0, nullptr);
  r.outcome = frame.outcome;
  if (frame.outcome == Outcome::kError) {
    r.error = std::move(parser.error());
  } else if (frame.outcome == Outcome::kComplete) {
    parser.parse(0, 0, &r.value);
    r.consumed = frame.next;
  }
  return r;
}

void ReplyWriter::simple(std::string_view s) { append_line(out_, '+', s); }

void ReplyWriter::error(std::string_view s) { append_line(out_, '-', s); }

void ReplyWriter::integer(int64_t v) { append_header(out_, ':', v); }

void ReplyWriter::bulk(std::string_view s) {
  append_header(out_, '$', s.size());
  out_ += s;
  out_ += "\r\n";
}

void ReplyWriter::verbatim(std::string_view s) {
  if (!resp3_) {
    bulk(s);
    return;
  }
  append_header(out_, '=', s.size() + 4);
  out_ += "txt:";
  out_ += s;
  out_ += "\r\n";
}

void ReplyWriter::null() { out_ += resp3_ ? "_\r\n" : "$-1\r\n"; }

void ReplyWriter::array(size_t n) { append_header(out_, '*', n); }

void ReplyWriter::null_array() { out_ += resp3_ ? "_\r\n" : "*-1\r\n"; }

void ReplyWriter::map(size_t n) {
  if (resp3_) {
    append_header(out_, '%', n);
  } else {
    append_header(out_, '*', 2 * n);
  }
}

void ReplyWriter::set(size_t n) { append_header(out_, resp3_ ? '~' : '*', n); }

void ReplyWriter::push(size_t n) { append_header(out_, resp3_ ? '>' : '*', n); }

void ReplyWriter::boolean(bool b) {
  if (resp3_) {
    out_ += b ? "#t\r\n" : "#f\r\n";
  } else {
    integer(b ? 1 : 0);
  }
}

void ReplyWriter::double_value(double v) {
  // Shortest text that reads back as the same double, as Redis 7 writes.
  char buf[32];
  std::string_view text;
  if (std::isinf(v)) {
    text = v > 0 ? "inf" : "-inf";
  } else if (std::isnan(v)) {
    text = "nan";
  } else {
    char* end = std::to_chars(buf, buf + sizeof(buf), v).ptr;
    text = std::string_view(buf, static_cast<size_t>(end - buf));
  }
  if (resp3_) {
    append_line(out_, ',', text);
  } else {
    bulk(text);
  }
}

void write_command(std::string& out,
                   const std::vector<std::string_view>& args) {
  // Each argument adds its bytes and at most 1 + 20 + 2 + 2 of framing.
  size_t size = 1 + kMaxIntText + 2;
  for (std::string_view a : args) size += a.size() + kMaxIntText + 5;
  if (out.capacity() - out.size() < size) {
    // Grow geometrically: callers append many commands to one buffer.
    out.reserve(std::max(out.size() + size, 2 * out.capacity()));
  }
  ReplyWriter w(out);
  w.array(args.size());
  for (std::string_view a : args) w.bulk(a);
}

}  // namespace cmud::resp
