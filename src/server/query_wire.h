// The encoding of the ops inside a QueryRequest and of the results inside a
// QueryReply. Views point into the message's buffer: zero-copy on both ends.
#pragma once

#include <cassert>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cmud/common/codec.h"
#include "messages.h"

namespace cmud::server {

// One store op. Each kind has its own named fields (made by the factory of
// that name, read by the accessors listed for it); the encoding packs them
// into a few shared slots. On the encoding side the views may point
// anywhere (a session's read buffer); decoded, they point into the
// request. Thread-compatible.
class OpView {
 public:
  OpView() = default;

  static OpView get(std::string_view key);
  static OpView set(std::string_view key, std::string_view value);
  static OpView mget(std::span<const std::string_view> keys);
  static OpView del(std::span<const std::string_view> keys);
  static OpView exists(std::span<const std::string_view> keys);
  static OpView list(std::string_view prefix);
  static OpView keys_matching(std::string_view pattern);
  // One page of SCAN: keys after `after` (from the start when nullopt)
  // matching pattern, visiting at most count keys.
  static OpView scan(std::optional<std::string_view> after,
                     std::string_view pattern, uint64_t count);
  static OpView dbsize();
  static OpView random_key();
  // CLOCK: the actor's hybrid clock, after observing `hlc` (0: none).
  static OpView clock(uint64_t hlc);
  // CLUSTER FORGET: a member marked down, by its actor-system address or
  // a query port.
  static OpView forget(std::string_view member);
  // The replica's counters, as name/value items (INFO).
  static OpView info();
  // SAVE, BGSAVE, LASTSAVE.
  static OpView persist(PersistOp what);
  // FLUSHALL: clears every replica of every server (kv::Store::floor).
  static OpView flush();
  // INCRBY (INCR, DECR, DECRBY): adds delta to the key's counter.
  static OpView incr(std::string_view key, int64_t delta);
  // INCRBYFLOAT: adds the increment (its text, as the client sent it) to
  // the key's counter.
  static OpView incr_float(std::string_view key, std::string_view increment);
  // SET with options (kSet* flags); `when` is the expiry, in milliseconds
  // from now (kSetExpireIn) or since the epoch (kSetExpireAt).
  static OpView set_with(std::string_view key, std::string_view value,
                         uint8_t flags, uint64_t when);
  // EXPIRE and kin, PERSIST, GETEX (kExpire* flags).
  static OpView expire(std::string_view key, uint8_t flags, uint64_t when);
  // TTL, PTTL, EXPIRETIME, PEXPIRETIME (kTtl* flags).
  static OpView ttl(std::string_view key, uint8_t flags);
  // PUBLISH: to this server's subscribers and, once each, to the others.
  static OpView publish(std::string_view channel, std::string_view message);
  // Reads a key and writes it (or `arg`, another key) in one step on this
  // replica: what = kEditAppend (arg: text; n: the largest value allowed),
  // kEditSetRange (arg: text; n: offset), kEditGetDel, kEditRename,
  // kEditRenameNx, kEditCopy, kEditCopyReplace (arg: the destination),
  // kEditSetBit (arg: "0" or "1"; n: the bit's offset; answers the old bit).
  static OpView edit(std::string_view key, std::string_view arg, uint8_t what,
                     uint64_t n = 0);
  // MSET, MSETNX: pairs holds key, value, key, value...
  static OpView mset(std::span<const std::string_view> pairs, bool nx);
  // WATCH: each key's state on this replica (opaque text).
  static OpView watch(std::span<const std::string_view> keys);
  // EXEC after WATCH: pairs holds key, state (as kWatch gave it); when one
  // differs now, every op up to the next end_check() is skipped.
  static OpView check(std::span<const std::string_view> pairs);
  static OpView end_check();

  // kSetWith flags.
  static constexpr uint8_t kSetNx = 1;
  static constexpr uint8_t kSetXx = 2;
  static constexpr uint8_t kSetGet = 4;  // answer the old value
  static constexpr uint8_t kSetKeepTtl = 8;
  static constexpr uint8_t kSetExpireIn = 16;
  static constexpr uint8_t kSetExpireAt = 32;
  // kExpire flags (and kSetExpireIn, kSetExpireAt for the time).
  static constexpr uint8_t kExpireNx = 1;
  static constexpr uint8_t kExpireXx = 2;
  static constexpr uint8_t kExpireGt = 4;
  static constexpr uint8_t kExpireLt = 8;
  static constexpr uint8_t kExpirePersist = 64;
  static constexpr uint8_t kExpireGetValue = 128;  // GETEX: answer the value
  // kTtl flags.
  static constexpr uint8_t kTtlMs = 1;
  static constexpr uint8_t kTtlAbsolute = 2;
  // What a kEdit does (its flags byte).
  static constexpr uint8_t kEditAppend = 1;
  static constexpr uint8_t kEditSetRange = 2;
  static constexpr uint8_t kEditGetDel = 3;
  static constexpr uint8_t kEditRename = 4;
  static constexpr uint8_t kEditRenameNx = 5;
  static constexpr uint8_t kEditCopy = 6;
  static constexpr uint8_t kEditCopyReplace = 7;
  static constexpr uint8_t kEditSetBit = 8;  // arg "0"|"1"; n: bit offset
  // kMSet flags.
  static constexpr uint8_t kMSetNx = 1;

  OpKind kind() const { return kind_; }
  // kGet, kSet, kIncr, kIncrFloat.
  std::string_view key() const { return a_; }
  // kIncr.
  int64_t delta() const { return static_cast<int64_t>(n_); }
  // kIncrFloat: the increment's text.
  std::string_view increment() const { return b_; }
  // kSetWith, kExpire, kTtl.
  uint8_t flags() const { return flags_; }
  // kClock: the value to observe (0: none).
  uint64_t observe() const { return n_; }
  // kForget.
  std::string_view member() const { return a_; }
  // kSetWith, kExpire: the time (see set_with).
  uint64_t when() const { return n_; }
  // kSet.
  std::string_view value() const { return b_; }
  // kMGet, kDel, kExists.
  std::span<const std::string_view> keys() const { return keys_; }
  // kList.
  std::string_view prefix() const { return a_; }
  // kKeys, kScan.
  std::string_view pattern() const { return b_; }
  // kScan: where the page starts (exclusive), or nullopt for the start.
  std::optional<std::string_view> scan_after() const {
    return has_after_ ? std::optional<std::string_view>(a_) : std::nullopt;
  }
  // kScan: keys visited at most.
  uint64_t scan_count() const { return n_; }
  // kPersist.
  PersistOp persist_op() const { return static_cast<PersistOp>(n_); }
  // kPublish.
  std::string_view channel() const { return a_; }
  std::string_view message() const { return b_; }
  // kEdit: the text, or the destination key; the offset or size limit.
  std::string_view arg() const { return b_; }
  uint64_t number() const { return n_; }
  // kMSet: key, value, key, value...
  std::span<const std::string_view> pairs() const { return keys_; }

 private:
  friend void append_op(QueryRequest& request, const OpView& op);
  friend bool read_op(codec::Reader& r, OpView& op);

  OpKind kind_ = OpKind::kDbSize;
  bool has_after_ = false;
  uint8_t flags_ = 0;
  std::string_view a_;
  std::string_view b_;
  uint64_t n_ = 0;
  std::vector<std::string_view> keys_;
};

// Appends op to request.ops and counts it.
void append_op(QueryRequest& request, const OpView& op);
// Reads the next op into `op` (its keys vector is reused); false on
// malformed bytes.
bool read_op(codec::Reader& r, OpView& op);

// What a result holds; its first byte on the wire.
enum class ResultShape : uint8_t {
  kOk,
  kValue,
  kAbsent,
  kInteger,
  kItems,
  kItemsMore,
  kError,    // the op failed: text is the error reply ("ERR ...")
  kSkipped,  // not run: a kCheck before it failed (no reply of its own)
};

// Writes one result per op into reply.results. Each method writes one whole
// result except begin_items(), which items() and end_items() complete.
// Thread-compatible.
class ResultWriter {
 public:
  explicit ResultWriter(QueryReply& reply) : reply_(reply) {}
  // SET: done.
  void ok() { write(ResultShape::kOk, 0, {}, false); }
  // GET: the value, or nullopt for absent.
  void value(std::optional<std::string_view> v) {
    write(v ? ResultShape::kValue : ResultShape::kAbsent, 0,
          v.value_or(std::string_view()), false);
  }
  // DEL, EXISTS, DBSIZE.
  void integer(int64_t n) { write(ResultShape::kInteger, n, {}, false); }
  // Any op that failed: the error reply's text ("ERR ...").
  void error(std::string_view text) {
    write(ResultShape::kError, 0, text, false);
  }
  // An op a failed kCheck skipped.
  void skipped() { write(ResultShape::kSkipped, 0, {}, false); }
  // MGET, LIST, KEYS; for SCAN, the key the next page starts after (nullopt
  // when this page is the last).
  void begin_items(std::optional<std::string_view> scan_next = std::nullopt) {
    write(scan_next ? ResultShape::kItemsMore : ResultShape::kItems, 0,
          scan_next.value_or(std::string_view()), true);
  }
  void item(std::optional<std::string_view> v);
  // REQUIRES: begin_items() was called; patches the item count.
  void end_items();
  // How long the op of the last result took (INFO commandstats, SLOWLOG).
  void took(uint64_t ns);

 private:
  void write(ResultShape shape, int64_t n, std::string_view value, bool open);

  QueryReply& reply_;
  size_t took_at_ = 0;
  size_t count_at_ = 0;
  uint32_t items_ = 0;
};

// One decoded result. Read it with the accessor that fits the op it
// answers. Thread-compatible.
class ResultView {
 public:
  // GET: the value, or nullopt when absent.
  std::optional<std::string_view> value() const {
    return shape_ == ResultShape::kValue
               ? std::optional<std::string_view>(text_)
               : std::nullopt;
  }
  // DEL, EXISTS, DBSIZE.
  int64_t integer() const { return n_; }
  // SET: done (ResultWriter::ok).
  bool is_ok() const { return shape_ == ResultShape::kOk; }
  // Set when the op failed: the error reply's text.
  std::optional<std::string_view> error() const {
    return shape_ == ResultShape::kError
               ? std::optional<std::string_view>(text_)
               : std::nullopt;
  }
  // MGET, LIST, KEYS, SCAN.
  const std::vector<std::optional<std::string_view>>& items() const {
    return items_;
  }
  bool skipped() const { return shape_ == ResultShape::kSkipped; }
  ResultShape shape() const { return shape_; }
  // How long the op ran in the actor (0 if not measured).
  uint64_t took_ns() const { return took_ns_; }
  // SCAN: the key the next page starts after; nullopt on the last page.
  std::optional<std::string_view> scan_next() const {
    return shape_ == ResultShape::kItemsMore
               ? std::optional<std::string_view>(text_)
               : std::nullopt;
  }

 private:
  friend bool read_result(codec::Reader& r, ResultView& v);
  ResultShape shape_ = ResultShape::kOk;
  uint64_t took_ns_ = 0;
  int64_t n_ = 0;
  std::string_view text_;
  std::vector<std::optional<std::string_view>> items_;
};

// Reads the next result; false on malformed bytes.
bool read_result(codec::Reader& r, ResultView& v);

}  // namespace cmud::server
