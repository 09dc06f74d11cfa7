// RESP2 and RESP3, the Redis serialisation protocol: incremental parsers for
// commands (server side) and replies (client side), a reply writer, and
// Redis-style glob matching. No sockets here: everything works on byte strings.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cmud::resp {

// Input larger than these is refused with an error.
struct Limits {
  size_t max_bulk = 32u << 20;    // one bulk string
  size_t max_inline = 64u << 10;  // one inline command line / simple line
  size_t max_array = 1u << 20;    // elements of one array
  size_t max_depth = 8;           // nesting of arrays in replies
};

enum class Outcome {
  kComplete,  // one item parsed; `consumed` bytes belong to it
  kNeedMore,  // the input is a valid but incomplete prefix
  kError,     // the input is malformed or over a limit; framing is lost
};

// One command: its arguments, viewing the input buffer (or `owned`).
// REQUIRES: the parsed buffer outlives `args` and is not modified.
// Thread-compatible; move-only, since a copy's args would view the
// original's `owned`.
struct CommandParse {
  CommandParse() = default;
  CommandParse(CommandParse&&) noexcept = default;
  CommandParse& operator=(CommandParse&&) noexcept = default;
  CommandParse(const CommandParse&) = delete;
  CommandParse& operator=(const CommandParse&) = delete;

  Outcome outcome = Outcome::kNeedMore;
  size_t consumed = 0;
  // With kNeedMore: parsing again cannot complete before the input has at
  // least this many bytes (the end of a bulk string whose length was read),
  // so a caller can wait for them instead of parsing the same prefix again.
  size_t need = 0;
  // With kNeedMore on a RESP array: its first `resume_args` arguments are
  // complete and valid and end at byte `resume_pos`. Handing both to the
  // next parse of the same (grown) command skips them, so a command of a
  // million small arguments arriving in pieces costs O(n), not O(n^2).
  size_t resume_pos = 0;
  size_t resume_args = 0;
  std::vector<std::string_view> args;
  std::string error;  // "Protocol error: ..." when outcome == kError
  // Inline arguments whose quoting or escapes make them differ from the
  // input bytes (`"a\x41"`) are unescaped here and args view them. Empty for
  // RESP arrays and plain inline words. Moving a CommandParse keeps those
  // views valid (the strings stay put).
  std::vector<std::string> owned;
};

// Parses one command from the front of `in`: a RESP array of bulk strings
// (what every client library sends) or an inline command ("PING\r\n",
// words split on spaces with "double" and 'single' quotes as redis-cli
// does). An empty inline line yields kComplete with no args (skip it).
// Stateless: call again with more bytes after kNeedMore.
CommandParse parse_command(std::string_view in, const Limits& limits = {});
// The same, resuming where an earlier kNeedMore parse of this command (a
// prefix of `in`) stopped: resume_pos and resume_args as it returned them.
// REQUIRES: the bytes of that prefix are unchanged.
CommandParse parse_command(std::string_view in, const Limits& limits,
                           size_t resume_pos, size_t resume_args);

// A reply value. RESP3 adds its own types; a RESP2 reply uses the first six.
struct Value {
  enum class Type {
    kSimple,
    kError,  // also RESP3's blob error
    kInteger,
    kBulk,  // also RESP3's verbatim string (str keeps its "txt:" prefix)
    kNull,  // also RESP2's null array and RESP3's null
    kArray,
    kMap,        // RESP3: array holds key, value, key, value...
    kSet,        // RESP3
    kPush,       // RESP3: out-of-band data (pub/sub messages)
    kDouble,     // RESP3: str holds the number as sent ("1.5", "inf")
    kBoolean,    // RESP3: integer is 0 or 1
    kBigNumber,  // RESP3: str holds the digits
  };
  Type type = Type::kNull;
  std::string str;           // kSimple, kError, kBulk, kDouble, kBigNumber
  int64_t integer = 0;       // kInteger, kBoolean
  std::vector<Value> array;  // kArray, kMap, kSet, kPush

  bool is_error() const { return type == Type::kError; }
};

struct ValueParse {
  Outcome outcome = Outcome::kNeedMore;
  size_t consumed = 0;
  Value value;
  std::string error;
};

// Parses one reply value (RESP2 or RESP3) from the front of `in`.
ValueParse parse_value(std::string_view in, const Limits& limits = {});

// Appends replies to a string in the protocol a connection chose (HELLO):
// 2 or 3. The RESP3 types fall back to their RESP2 forms under 2, as Redis
// does (a map is a flat array, a double a bulk string). Thread-compatible.
class ReplyWriter {
 public:
  explicit ReplyWriter(std::string& out, int protocol = 2)
      : out_(out), resp3_(protocol >= 3) {}
  // HELLO answers in the protocol it switches to.
  void set_protocol(int protocol) { resp3_ = protocol >= 3; }
  int protocol() const { return resp3_ ? 3 : 2; }
  // The string it appends to (EXEC queues what was written so far before
  // the replies of the commands it runs).
  std::string& buffer() { return out_; }
  void simple(std::string_view s);  // +s\r\n (s must not contain \r or \n)
  void error(std::string_view s);   // -s\r\n ("ERR ..." by convention)
  void integer(int64_t v);          // :v\r\n
  void bulk(std::string_view s);    // $len\r\ns\r\n
  void null();                      // $-1\r\n; RESP3 _\r\n
  void array(size_t n);             // *n\r\n, then n values
  void null_array();                // *-1\r\n; RESP3 _\r\n
  void map(size_t n);           // n key-value pairs: %n; RESP2 an array of 2n
  void set(size_t n);           // ~n; RESP2 an array
  void push(size_t n);          // >n; RESP2 an array (pub/sub messages)
  void boolean(bool b);         // #t / #f; RESP2 :1 / :0
  void double_value(double v);  // ,v; RESP2 a bulk string
  // Text for people (INFO, CLIENT LIST): RESP3 =len\r\ntxt:s; RESP2 bulk.
  void verbatim(std::string_view s);

 private:
  std::string& out_;
  bool resp3_;
};

// Appends a command as an array of bulk strings (what a client sends).
void write_command(std::string& out, const std::vector<std::string_view>& args);

// Redis glob matching (stringmatchlen): * ? [abc] [^a] [a-z] and \ escapes.
bool glob_match(std::string_view pattern, std::string_view s);

// The literal text every match of `pattern` starts with (before its first
// special character), so a sorted index can be searched by range.
std::string glob_literal_prefix(std::string_view pattern);

// True when `pattern` is exactly a literal prefix followed by one '*'
// ("user:*"), so matching is a pure prefix test.
bool glob_is_prefix(std::string_view pattern);

}  // namespace cmud::resp
