#include "commands.h"

#include <sys/resource.h>
#include <unistd.h>

#include <absl/container/flat_hash_map.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <limits>
#include <set>
#include <string>

#include <fmt/format.h>

#include "acl.h"
#include "auth.h"
#include "cmud/common/ascii.h"
#include "cmud/common/files.h"
#include "cmud/kv/version.h"
#include "cmud/server/server.h"

namespace cmud::server {
namespace {

using resp::ReplyWriter;

std::optional<uint64_t> parse_u64(std::string_view s) {
  uint64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty()) {
    return std::nullopt;
  }
  return v;
}

const auto kStart = std::chrono::steady_clock::now();

// --- Store commands: build an op, format its result. ---

void fmt_bulk_or_null(Session&, std::string_view, const ResultView& r,
                      ReplyWriter& w) {
  if (auto v = r.value()) {
    w.bulk(*v);
  } else {
    w.null();
  }
}
void fmt_ok(Session&, std::string_view, const ResultView&, ReplyWriter& w) {
  w.simple("OK");
}
void fmt_integer(Session&, std::string_view, const ResultView& r,
                 ReplyWriter& w) {
  w.integer(r.integer());
}
void fmt_items(Session&, std::string_view, const ResultView& r,
               ReplyWriter& w) {
  w.array(r.items().size());
  for (const auto& v : r.items()) {
    if (v) {
      w.bulk(*v);
    } else {
      w.null();
    }
  }
}
void fmt_scan(Session& s, std::string_view, const ResultView& r,
              ReplyWriter& w) {
  w.array(2);
  auto next = r.scan_next();
  w.bulk(next ? std::to_string(s.save_cursor(std::string(*next))) : "0");
  fmt_items(s, {}, r, w);
}

void cmd_get(Session& s, Args a, ReplyWriter&) {
  s.defer(OpView::get(a[1]), fmt_bulk_or_null);
}

// --- Expiry (kv::Expiry): times travel as milliseconds since the epoch. ---

// An expiry option's number as milliseconds (relative or absolute, as the
// op's flags say), or the error Redis gives for it.
struct ExpiryArg {
  uint8_t flags = 0;  // OpView::kSetExpireIn or kSetExpireAt
  uint64_t when = 0;
};
std::optional<ExpiryArg> parse_expiry(std::string_view option,
                                      std::string_view number,
                                      std::string_view command, bool allow_past,
                                      ReplyWriter& w) {
  auto n = strict_int(number);
  if (!n) {
    w.error("ERR value is not an integer or out of range");
    return std::nullopt;
  }
  bool seconds = iequals(option, "ex") || iequals(option, "exat");
  bool absolute = iequals(option, "exat") || iequals(option, "pxat");
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
  // Redis's rules: invalid only if not positive where a past time makes no
  // sense (SET, GETEX), or if milliseconds since the epoch would overflow.
  int64_t now = unix_now_ms();
  if ((*n <= 0 && !allow_past) ||
      (seconds && (*n > kMax / 1000 || *n < kMin / 1000)) ||
      (!absolute && (seconds ? *n * 1000 : *n) > kMax - now)) {
    w.error("ERR invalid expire time in '" + std::string(command) +
            "' command");
    return std::nullopt;
  }
  int64_t ms = seconds ? *n * 1000 : *n;
  if (ms <= 0) return ExpiryArg{OpView::kSetExpireAt, 1};  // already past
  // Times past the clock's range (kv::kMaxWallMs, the year 10889) are kept
  // as its end.
  constexpr auto kLast = static_cast<int64_t>(kv::kMaxWallMs);
  if (absolute ? ms > kLast : ms > kLast - now) {
    return ExpiryArg{OpView::kSetExpireAt, kv::kMaxWallMs};
  }
  return ExpiryArg{absolute ? OpView::kSetExpireAt : OpView::kSetExpireIn,
                   static_cast<uint64_t>(ms)};
}

bool is_expiry_option(std::string_view o) {
  return iequals(o, "ex") || iequals(o, "px") || iequals(o, "exat") ||
         iequals(o, "pxat");
}

// OK, or nil when NX or XX did not hold.
void fmt_ok_or_null(Session&, std::string_view, const ResultView& r,
                    ReplyWriter& w) {
  if (r.is_ok()) {
    w.simple("OK");
  } else {
    w.null();
  }
}

// SET key value [NX|XX] [GET] [EX s|PX ms|EXAT t|PXAT t|KEEPTTL]. NX and XX
// look at this replica, which may not yet show a write made elsewhere.
void cmd_set(Session& s, Args a, ReplyWriter& w) {
  if (a.size() == 3) {
    s.defer(OpView::set(a[1], a[2]), fmt_ok);
    return;
  }
  uint8_t flags = 0;
  ExpiryArg expiry;
  bool timed = false;
  for (size_t i = 3; i < a.size(); ++i) {
    std::string_view o = a[i];
    if (iequals(o, "nx") && (flags & OpView::kSetXx) == 0) {
      flags |= OpView::kSetNx;
    } else if (iequals(o, "xx") && (flags & OpView::kSetNx) == 0) {
      flags |= OpView::kSetXx;
    } else if (iequals(o, "get")) {
      flags |= OpView::kSetGet;
    } else if (iequals(o, "keepttl") && !timed) {
      flags |= OpView::kSetKeepTtl;
    } else if (is_expiry_option(o) && !timed &&
               (flags & OpView::kSetKeepTtl) == 0 && i + 1 < a.size()) {
      auto e = parse_expiry(o, a[++i], "set", false, w);
      if (!e) return;
      expiry = *e;
      timed = true;
    } else {
      w.error("ERR syntax error");
      return;
    }
  }
  flags |= expiry.flags;
  s.defer(OpView::set_with(a[1], a[2], flags, expiry.when),
          (flags & OpView::kSetGet) != 0 ? fmt_bulk_or_null : fmt_ok_or_null);
}

// SETEX key seconds value, PSETEX key milliseconds value.
void setex(Session& s, Args a, ReplyWriter& w, std::string_view unit,
           std::string_view command) {
  auto e = parse_expiry(unit, a[2], command, false, w);
  if (!e) return;
  s.defer(OpView::set_with(a[1], a[3], e->flags, e->when), fmt_ok);
}
void cmd_setex(Session& s, Args a, ReplyWriter& w) {
  setex(s, a, w, "ex", "setex");
}
void cmd_psetex(Session& s, Args a, ReplyWriter& w) {
  setex(s, a, w, "px", "psetex");
}

// GETEX key [EX s|PX ms|EXAT t|PXAT t|PERSIST].
void cmd_getex(Session& s, Args a, ReplyWriter& w) {
  uint8_t flags = OpView::kExpireGetValue;
  uint64_t when = 0;
  if (a.size() == 3 && iequals(a[2], "persist")) {
    flags |= OpView::kExpirePersist;
  } else if (a.size() == 4 && is_expiry_option(a[2])) {
    auto e = parse_expiry(a[2], a[3], "getex", false, w);
    if (!e) return;
    flags |= e->flags;
    when = e->when;
  } else if (a.size() != 2) {
    w.error("ERR syntax error");
    return;
  }
  if (flags == OpView::kExpireGetValue) {
    s.defer(OpView::get(a[1]), fmt_bulk_or_null);  // no option: a GET
    return;
  }
  s.defer(OpView::expire(a[1], flags, when), fmt_bulk_or_null);
}

// EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT key time [NX|XX|GT|LT]. A time
// already past deletes the key, as in Redis.
void expire_cmd(Session& s, Args a, ReplyWriter& w, std::string_view unit,
                std::string_view command) {
  uint8_t flags = 0;
  for (size_t i = 3; i < a.size(); ++i) {
    if (iequals(a[i], "nx")) {
      flags |= OpView::kExpireNx;
    } else if (iequals(a[i], "xx")) {
      flags |= OpView::kExpireXx;
    } else if (iequals(a[i], "gt")) {
      flags |= OpView::kExpireGt;
    } else if (iequals(a[i], "lt")) {
      flags |= OpView::kExpireLt;
    } else {
      w.error("ERR Unsupported option " + std::string(a[i].substr(0, 32)));
      return;
    }
  }
  if ((flags & OpView::kExpireNx) != 0 && flags != OpView::kExpireNx) {
    w.error(
        "ERR NX and XX, GT or LT options at the same time are not "
        "compatible");
    return;
  }
  if ((flags & OpView::kExpireGt) != 0 && (flags & OpView::kExpireLt) != 0) {
    w.error("ERR GT and LT options at the same time are not compatible");
    return;
  }
  auto e = parse_expiry(unit, a[2], command, true, w);
  if (!e) return;
  s.defer(OpView::expire(a[1], flags | e->flags, e->when), fmt_integer);
}
void cmd_expire(Session& s, Args a, ReplyWriter& w) {
  expire_cmd(s, a, w, "ex", "expire");
}
void cmd_pexpire(Session& s, Args a, ReplyWriter& w) {
  expire_cmd(s, a, w, "px", "pexpire");
}
void cmd_expireat(Session& s, Args a, ReplyWriter& w) {
  expire_cmd(s, a, w, "exat", "expireat");
}
void cmd_pexpireat(Session& s, Args a, ReplyWriter& w) {
  expire_cmd(s, a, w, "pxat", "pexpireat");
}
void cmd_persist(Session& s, Args a, ReplyWriter&) {
  s.defer(OpView::expire(a[1], OpView::kExpirePersist, 0), fmt_integer);
}
void cmd_ttl(Session& s, Args a, ReplyWriter&) {
  s.defer(OpView::ttl(a[1], 0), fmt_integer);
}
void cmd_pttl(Session& s, Args a, ReplyWriter&) {
  s.defer(OpView::ttl(a[1], OpView::kTtlMs), fmt_integer);
}
void cmd_expiretime(Session& s, Args a, ReplyWriter&) {
  s.defer(OpView::ttl(a[1], OpView::kTtlAbsolute), fmt_integer);
}
void cmd_pexpiretime(Session& s, Args a, ReplyWriter&) {
  s.defer(OpView::ttl(a[1], OpView::kTtlAbsolute | OpView::kTtlMs),
          fmt_integer);
}

// INCR, DECR, INCRBY, DECRBY: a counter whose increments made on every
// server add up (kv::Counter), not a read-modify-write of the value.
void incr_by(Session& s, std::string_view key, int64_t delta) {
  s.defer(OpView::incr(key, delta), fmt_integer);
}
void cmd_incr(Session& s, Args a, ReplyWriter&) { incr_by(s, a[1], 1); }
void cmd_decr(Session& s, Args a, ReplyWriter&) { incr_by(s, a[1], -1); }
void cmd_incrby(Session& s, Args a, ReplyWriter& w) {
  auto n = strict_int(a[2]);
  if (!n) {
    w.error("ERR value is not an integer or out of range");
    return;
  }
  incr_by(s, a[1], *n);
}
void cmd_decrby(Session& s, Args a, ReplyWriter& w) {
  auto n = strict_int(a[2]);
  if (!n) {
    w.error("ERR value is not an integer or out of range");
    return;
  }
  if (*n == std::numeric_limits<int64_t>::min()) {
    w.error("ERR decrement would overflow");
    return;
  }
  incr_by(s, a[1], -*n);
}
// INCRBYFLOAT: the same counter's float part (kv::Counter); the actor
// checks the increment, after the value, as Redis does.
void cmd_incrbyfloat(Session& s, Args a, ReplyWriter&) {
  s.defer(OpView::incr_float(a[1], a[2]), fmt_bulk_or_null);
}

void cmd_del(Session& s, Args a, ReplyWriter&) {
  s.defer(OpView::del(a.subspan(1)), fmt_integer);
}
void cmd_exists(Session& s, Args a, ReplyWriter&) {
  s.defer(OpView::exists(a.subspan(1)), fmt_integer);
}
// --- Strings and keys: each a read and a write of this replica, at once;
// the writes are plain last-writer-wins writes (docs/COMPATIBILITY.md). ---

void fmt_ok_as_one(Session&, std::string_view, const ResultView& r,
                   ReplyWriter& w) {
  w.integer(r.is_ok() ? 1 : 0);
}
void fmt_type(Session&, std::string_view, const ResultView& r, ReplyWriter& w) {
  w.simple(r.integer() > 0 ? "string" : "none");
}
void fmt_strlen(Session&, std::string_view, const ResultView& r,
                ReplyWriter& w) {
  w.integer(static_cast<int64_t>(r.value().value_or("").size()));
}

// GETRANGE's slice, as Redis computes it: negative offsets count from the
// end, and the end is inclusive. `context` is "start end".
void fmt_range(Session&, std::string_view context, const ResultView& r,
               ReplyWriter& w) {
  std::string_view v = r.value().value_or("");
  size_t space = context.find(' ');
  int64_t start = *strict_int(context.substr(0, space));
  int64_t end = *strict_int(context.substr(space + 1));
  auto len = static_cast<int64_t>(v.size());
  if (start < 0 && end < 0 && start > end) {
    w.bulk("");
    return;
  }
  if (start < 0) start = std::max<int64_t>(0, len + start);
  if (end < 0) end = std::max<int64_t>(0, len + end);
  if (end >= len) end = len - 1;
  if (start > end || len == 0) {
    w.bulk("");
    return;
  }
  w.bulk(v.substr(static_cast<size_t>(start),
                  static_cast<size_t>(end - start + 1)));
}

void cmd_setnx(Session& s, Args a, ReplyWriter&) {
  s.defer(OpView::set_with(a[1], a[2], OpView::kSetNx, 0), fmt_ok_as_one);
}
void cmd_getset(Session& s, Args a, ReplyWriter&) {
  s.defer(OpView::set_with(a[1], a[2], OpView::kSetGet, 0), fmt_bulk_or_null);
}
void cmd_getdel(Session& s, Args a, ReplyWriter&) {
  s.defer(OpView::edit(a[1], "", OpView::kEditGetDel), fmt_bulk_or_null);
}
void mset(Session& s, Args a, ReplyWriter& w, bool nx) {
  if (a.size() % 2 == 0) {
    w.error("ERR wrong number of arguments for '" +
            std::string(nx ? "msetnx" : "mset") + "' command");
    return;
  }
  s.defer(OpView::mset(a.subspan(1), nx), nx ? fmt_integer : fmt_ok);
}
void cmd_mset(Session& s, Args a, ReplyWriter& w) { mset(s, a, w, false); }
void cmd_msetnx(Session& s, Args a, ReplyWriter& w) { mset(s, a, w, true); }
void cmd_type(Session& s, Args a, ReplyWriter&) {
  s.defer(OpView::exists(a.subspan(1, 1)), fmt_type);
}
void cmd_strlen(Session& s, Args a, ReplyWriter&) {
  s.defer(OpView::get(a[1]), fmt_strlen);
}
void cmd_getrange(Session& s, Args a, ReplyWriter& w) {
  if (!strict_int(a[2]) || !strict_int(a[3])) {
    w.error("ERR value is not an integer or out of range");
    return;
  }
  s.defer(OpView::get(a[1]), fmt_range,
          std::string(a[2]) + " " + std::string(a[3]));
}
void cmd_append(Session& s, Args a, ReplyWriter&) {
  s.defer(OpView::edit(a[1], a[2], OpView::kEditAppend,
                       s.port().settings->max_bulk.load()),
          fmt_integer);
}
void cmd_setrange(Session& s, Args a, ReplyWriter& w) {
  auto offset = strict_int(a[2]);
  if (!offset) {
    w.error("ERR value is not an integer or out of range");
    return;
  }
  if (*offset < 0) {
    w.error("ERR offset is out of range");
    return;
  }
  if (static_cast<uint64_t>(*offset) + a[3].size() >
      s.port().settings->max_bulk.load()) {
    w.error("ERR string exceeds maximum allowed size (proto-max-bulk-len)");
    return;
  }
  s.defer(OpView::edit(a[1], a[3], OpView::kEditSetRange,
                       static_cast<uint64_t>(*offset)),
          fmt_integer);
}
// A bit offset of SETBIT or GETBIT: below 2^32, and for SETBIT within
// proto-max-bulk-len bytes, or Redis's error.
std::optional<uint64_t> bit_offset(Session& s, std::string_view text,
                                   bool growing, ReplyWriter& w) {
  auto n = strict_int(text);
  if (!n || *n < 0 || *n >= (int64_t{1} << 32) ||
      (growing &&
       static_cast<uint64_t>(*n >> 3) >= s.port().settings->max_bulk.load())) {
    w.error("ERR bit offset is not an integer or out of range");
    return std::nullopt;
  }
  return static_cast<uint64_t>(*n);
}
// SETBIT key offset 0|1: a read-modify-write of this replica's value, last
// writer wins across servers (as SETRANGE).
void cmd_setbit(Session& s, Args a, ReplyWriter& w) {
  auto offset = bit_offset(s, a[2], true, w);
  if (!offset) return;
  if (a[3] != "0" && a[3] != "1") {
    w.error("ERR bit is not an integer or out of range");
    return;
  }
  s.defer(OpView::edit(a[1], a[3], OpView::kEditSetBit, *offset), fmt_integer);
}
// The bit at `context` (an offset) of a GET's value; 0 past its end.
void fmt_getbit(Session&, std::string_view context, const ResultView& r,
                ReplyWriter& w) {
  std::string_view v = r.value().value_or("");
  uint64_t offset = parse_u64(context).value_or(0);
  size_t byte = static_cast<size_t>(offset >> 3);
  int bit = 0;
  if (byte < v.size()) {
    bit = (static_cast<unsigned char>(v[byte]) >> (7 - (offset & 7))) & 1;
  }
  w.integer(bit);
}
void cmd_getbit(Session& s, Args a, ReplyWriter& w) {
  auto offset = bit_offset(s, a[2], false, w);
  if (!offset) return;
  s.defer(OpView::get(a[1]), fmt_getbit, std::to_string(*offset));
}
void cmd_rename(Session& s, Args a, ReplyWriter&) {
  s.defer(OpView::edit(a[1], a[2], OpView::kEditRename), fmt_ok);
}
void cmd_renamenx(Session& s, Args a, ReplyWriter&) {
  s.defer(OpView::edit(a[1], a[2], OpView::kEditRenameNx), fmt_integer);
}
// COPY source destination [DB 0] [REPLACE].
void cmd_copy(Session& s, Args a, ReplyWriter& w) {
  bool replace = false;
  for (size_t i = 3; i < a.size(); ++i) {
    if (iequals(a[i], "replace")) {
      replace = true;
    } else if (iequals(a[i], "db") && i + 1 < a.size()) {
      auto db = strict_int(a[++i]);
      if (!db) {
        w.error("ERR value is not an integer or out of range");
        return;
      }
      if (*db != 0) {
        w.error("ERR DB index is out of range");
        return;
      }
    } else {
      w.error("ERR syntax error");
      return;
    }
  }
  s.defer(OpView::edit(a[1], a[2],
                       replace ? OpView::kEditCopyReplace : OpView::kEditCopy),
          fmt_integer);
}
void cmd_time(Session&, Args, ReplyWriter& w) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count();
  w.array(2);
  w.bulk(std::to_string(us / 1'000'000));
  w.bulk(std::to_string(us % 1'000'000));
}

// LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN], computed here
// from both values as Redis's lcsCommand does (the same table walk, so the
// same matches in the same order). `context` is "len idx withlen min".
constexpr uint64_t kMaxLcsCells = uint64_t{1} << 24;  // 64 MiB of table
void fmt_lcs(Session&, std::string_view context, const ResultView& r,
             ReplyWriter& w) {
  bool get_len = context[0] == '1', get_idx = context[2] == '1';
  bool with_len = context[4] == '1';
  auto min_len = static_cast<uint64_t>(*strict_int(context.substr(6)));
  std::string_view a = r.items()[0].value_or("");
  std::string_view b = r.items()[1].value_or("");
  const size_t alen = a.size(), blen = b.size();
  if ((alen + 1) * (blen + 1) > kMaxLcsCells) {
    w.error("ERR Insufficient memory, transient memory for LCS exceeds " +
            std::to_string(kMaxLcsCells * 4) + " bytes");
    return;
  }
  std::vector<uint32_t> table((alen + 1) * (blen + 1), 0);
  auto at = [&](size_t i, size_t j) -> uint32_t& {
    return table[j + i * (blen + 1)];
  };
  for (size_t i = 1; i <= alen; ++i) {
    for (size_t j = 1; j <= blen; ++j) {
      at(i, j) = a[i - 1] == b[j - 1] ? at(i - 1, j - 1) + 1
                                      : std::max(at(i - 1, j), at(i, j - 1));
    }
  }
  uint32_t len = at(alen, blen);
  if (get_len) {
    w.integer(len);
    return;
  }
  std::string result(len, '\0');
  struct Match {
    size_t a0, a1, b0, b1;
  };
  std::vector<Match> matches;
  size_t idx = len, i = alen, j = blen;
  size_t a0 = alen, a1 = 0, b0 = 0, b1 = 0;  // a0 == alen: no range open
  while (i > 0 && j > 0) {
    bool emit = false;
    if (a[i - 1] == b[j - 1]) {
      result[idx - 1] = a[i - 1];
      if (a0 == alen) {
        a0 = a1 = i - 1;
        b0 = b1 = j - 1;
      } else if (a0 == i && b0 == j) {
        --a0;
        --b0;
      } else {
        emit = true;
      }
      if (a0 == 0 || b0 == 0) emit = true;
      --idx;
      --i;
      --j;
    } else {
      if (at(i - 1, j) > at(i, j - 1)) {
        --i;
      } else {
        --j;
      }
      if (a0 != alen) emit = true;
    }
    if (emit) {
      if (min_len == 0 || a1 - a0 + 1 >= min_len) {
        matches.push_back({a0, a1, b0, b1});
      }
      a0 = alen;
    }
  }
  if (!get_idx) {
    w.bulk(result);
    return;
  }
  auto integer = [&](size_t v) { w.integer(static_cast<int64_t>(v)); };
  w.map(2);
  w.bulk("matches");
  w.array(matches.size());
  for (const Match& m : matches) {
    w.array(with_len ? 3 : 2);
    w.array(2);
    integer(m.a0);
    integer(m.a1);
    w.array(2);
    integer(m.b0);
    integer(m.b1);
    if (with_len) integer(m.a1 - m.a0 + 1);
  }
  w.bulk("len");
  w.integer(len);
}

void cmd_lcs(Session& s, Args a, ReplyWriter& w) {
  bool get_len = false, get_idx = false, with_len = false;
  int64_t min_len = 0;
  for (size_t i = 3; i < a.size(); ++i) {
    if (iequals(a[i], "len")) {
      get_len = true;
    } else if (iequals(a[i], "idx")) {
      get_idx = true;
    } else if (iequals(a[i], "withmatchlen")) {
      with_len = true;
    } else if (iequals(a[i], "minmatchlen") && i + 1 < a.size()) {
      auto n = strict_int(a[++i]);
      if (!n) {
        w.error("ERR value is not an integer or out of range");
        return;
      }
      min_len = std::max<int64_t>(0, *n);
    } else {
      w.error("ERR syntax error");
      return;
    }
  }
  if (get_len && get_idx) {
    w.error(
        "ERR If you want both the length and indexes, please just use IDX.");
    return;
  }
  std::string context = std::string(get_len ? "1" : "0") + " " +
                        (get_idx ? "1" : "0") + " " + (with_len ? "1" : "0") +
                        " " + std::to_string(min_len);
  s.defer(OpView::mget(a.subspan(1, 2)), fmt_lcs, std::move(context));
}

void cmd_mget(Session& s, Args a, ReplyWriter&) {
  s.defer(OpView::mget(a.subspan(1)), fmt_items);
}
// LIST's pairs, but those whose key the user may not read (KEYS and SCAN
// list every name, as in Redis; LIST shows values too).
void fmt_list(Session& s, std::string_view, const ResultView& r,
              ReplyWriter& w) {
  const acl::User& u = s.user();
  if (u.unrestricted()) {
    fmt_items(s, {}, r, w);
    return;
  }
  const auto& items = r.items();
  std::vector<size_t> shown;
  for (size_t i = 0; i + 1 < items.size(); i += 2) {
    if (items[i] && u.may_access_key(*items[i], acl::kKeyRead)) {
      shown.push_back(i);
    }
  }
  w.array(2 * shown.size());
  for (size_t i : shown) {
    w.bulk(*items[i]);
    w.bulk(items[i + 1].value_or(""));
  }
}

void cmd_list(Session& s, Args a, ReplyWriter&) {
  s.defer(OpView::list(a.size() > 1 ? a[1] : ""), fmt_list);
}
void cmd_keys(Session& s, Args a, ReplyWriter&) {
  s.defer(OpView::keys_matching(a[1]), fmt_items);
}
void cmd_randomkey(Session& s, Args, ReplyWriter&) {
  s.defer(OpView::random_key(), fmt_bulk_or_null);
}

// CLOCK [hlc]: this port's hybrid logical clock, at least every version it
// has stamped or merged; with hlc, the clock observes it first. A client
// that fails over carries its session's order across this way.
void cmd_clock(Session& s, Args a, ReplyWriter& w) {
  uint64_t observe = 0;
  if (a.size() > 2) {
    w.error("ERR syntax error");
    return;
  }
  if (a.size() > 1) {
    auto v = parse_u64(a[1]);
    if (!v || static_cast<int64_t>(*v) < 0) {
      w.error("ERR clock value is not an integer or out of range");
      return;
    }
    observe = *v;
  }
  s.defer(OpView::clock(observe), fmt_integer);
}

void cmd_dbsize(Session& s, Args, ReplyWriter&) {
  s.defer(OpView::dbsize(), fmt_integer);
}

// FLUSHALL / FLUSHDB [ASYNC|SYNC]: one database, so both clear it all, on
// every server (a version of its own raises every replica's floor). Keys
// vanish at once either way; memory is freed in bounded steps.
void cmd_flush(Session& s, Args a, ReplyWriter& w) {
  if (a.size() > 2 ||
      (a.size() == 2 && !iequals(a[1], "async") && !iequals(a[1], "sync"))) {
    w.error("ERR syntax error");
    return;
  }
  s.defer(OpView::flush(), fmt_ok);
}

void fmt_status(Session&, std::string_view, const ResultView& r,
                ReplyWriter& w) {
  w.simple(r.value().value_or(""));
}

// SAVE waits for a snapshot of the whole server (every actor's log sealed
// and folded in) taken in the background; queries go on meanwhile.
void cmd_save(Session& s, Args, ReplyWriter&) {
  s.defer(OpView::persist(PersistOp::kSave), fmt_ok);
}
void cmd_bgsave(Session& s, Args a, ReplyWriter& w) {
  // BGSAVE SCHEDULE: ours never refuses for a rewrite under way, so it is
  // the same as BGSAVE.
  if (a.size() > 2 || (a.size() == 2 && !iequals(a[1], "schedule"))) {
    w.error("ERR syntax error");
    return;
  }
  s.defer(OpView::persist(PersistOp::kBgSave), fmt_status);
}
void cmd_lastsave(Session& s, Args, ReplyWriter&) {
  s.defer(OpView::persist(PersistOp::kLastSave), fmt_integer);
}

void cmd_scan(Session& s, Args a, ReplyWriter& w) {
  auto cursor = parse_u64(a[1]);
  if (!cursor) {
    w.error("ERR invalid cursor");
    return;
  }
  std::string_view pattern = "*";
  uint64_t count = 10;
  bool strings = true;  // TYPE: strings are our only type
  for (size_t i = 2; i < a.size(); i += 2) {
    if (i + 1 >= a.size()) {
      w.error("ERR syntax error");
      return;
    }
    if (iequals(a[i], "match")) {
      pattern = a[i + 1];
    } else if (iequals(a[i], "count")) {
      auto n = parse_u64(a[i + 1]);
      if (!n || *n == 0) {
        w.error("ERR value is not an integer or out of range");
        return;
      }
      count = std::min<uint64_t>(*n, 100000);
    } else if (iequals(a[i], "type")) {
      strings = iequals(a[i + 1], "string");
    } else {
      w.error("ERR syntax error");
      return;
    }
  }
  if (!strings) {  // no key of any other type: one empty, last page
    w.array(2);
    w.bulk("0");
    w.array(0);
    return;
  }
  std::optional<std::string_view> after;
  std::optional<std::string> resume;
  if (*cursor != 0) {
    resume = s.load_cursor(*cursor);
    if (!resume) {
      w.error("ERR invalid cursor");
      return;
    }
    after = *resume;
  }
  s.defer(OpView::scan(after, pattern, count), fmt_scan);
}

// "1.50M" as Redis's *_human fields write it.
std::string human_bytes(uint64_t n) {
  constexpr const char* kUnits[] = {"B", "K", "M", "G", "T"};
  double v = static_cast<double>(n);
  size_t u = 0;
  while (v >= 1024 && u + 1 < std::size(kUnits)) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f%s" : "%.2f%s", v, kUnits[u]);
  return buf;
}

// Whether INFO's sections (" name name ...") name `name`.
bool info_asks(std::string_view sections, std::string_view name) {
  return sections.find(" " + std::string(name) + " ") != std::string::npos ||
         sections.ends_with(" " + std::string(name));
}

// A percentile's name as Redis writes it: 50 -> "p50", 99.9 -> "p99.9".
std::string percentile_name(double p) {
  std::string n = fmt::format("{:f}", p);
  while (n.ends_with('0')) n.pop_back();
  if (n.ends_with('.')) n.pop_back();
  return "p" + n;
}

// The value (in microseconds) below which `percentile` % of a histogram's
// calls fall: the largest value of the bucket that reaches it.
double percentile_us(const std::vector<uint64_t>& histogram, uint64_t calls,
                     double percentile) {
  auto rank = static_cast<uint64_t>(
      std::ceil(percentile / 100.0 * static_cast<double>(calls)));
  rank = std::clamp<uint64_t>(rank, 1, calls);
  uint64_t seen = 0;
  for (size_t b = 0; b < histogram.size(); ++b) {
    seen += histogram[b];
    if (seen >= rank)
      return static_cast<double>(LatencyBuckets::upper(b)) / 1e3;
  }
  return 0;
}

// INFO's sections of command statistics: errorstats (a default one),
// commandstats and latencystats (asked by name, all or everything).
void info_stats(Session& s, std::string_view sections, std::string& out) {
  const CommandStats* stats = s.port().stats;
  if (stats == nullptr) return;
  bool all = info_asks(sections, "all") || info_asks(sections, "everything");
  bool defaults = sections.empty() || all || info_asks(sections, "default");
  const StatSlots& slots = StatSlots::get();
  if (all || info_asks(sections, "commandstats")) {
    out += "# Commandstats\r\n";
    for (size_t i = 0; i < slots.size(); ++i) {
      auto t = stats->totals(i);
      if (t.calls == 0 && t.rejected == 0 && t.failed == 0) continue;
      uint64_t us = t.ns / 1000;
      out += fmt::format(
          "cmdstat_{}:calls={},usec={},usec_per_call={:.2f},rejected_calls={},"
          "failed_calls={}\r\n",
          slots.name(i), t.calls, us,
          t.calls == 0
              ? 0.0
              : static_cast<double>(t.ns) / 1e3 / static_cast<double>(t.calls),
          t.rejected, t.failed);
    }
    out += "\r\n";
  }
  if (defaults || info_asks(sections, "errorstats")) {
    out += "# Errorstats\r\n";
    for (const auto& [code, n] : stats->errors()) {
      out += fmt::format("errorstat_{}:count={}\r\n", code, n);
    }
    out += "\r\n";
  }
  if (all || info_asks(sections, "latencystats")) {
    out += "# Latencystats\r\n";
    auto percentiles = s.port().settings->percentiles();
    for (size_t i = 0; i < slots.size(); ++i) {
      auto t = stats->totals(i);
      if (t.histogram.empty()) continue;
      uint64_t calls = 0;
      for (uint64_t n : t.histogram) calls += n;
      if (calls == 0) continue;
      out += "latency_percentiles_usec_" + slots.name(i) + ":";
      for (size_t k = 0; k < percentiles.size(); ++k) {
        if (k > 0) out += ',';
        out += fmt::format("{}={:.3f}", percentile_name(percentiles[k]),
                           percentile_us(t.histogram, calls, percentiles[k]));
      }
      out += "\r\n";
    }
    out += "\r\n";
  }
}

// INFO needs its actor's counters (OpView::info), so it goes to the actor.
void fmt_info(Session& s, std::string_view section, const ResultView& r,
              ReplyWriter& w) {
  // The actor's counters: name, value, name, value...
  std::vector<std::pair<std::string_view, std::string_view>> replica;
  for (size_t i = 0; i + 1 < r.items().size(); i += 2) {
    replica.emplace_back(r.items()[i].value_or(""),
                         r.items()[i + 1].value_or(""));
  }
  auto counter = [&](std::string_view name) {
    for (const auto& [k, v] : replica) {
      if (k == name) return std::string(v);
    }
    return std::string("0");
  };
  // `section` is " name name ...": none, all, everything or default ask
  // for every section.
  auto asked = [&](std::string_view name) { return info_asks(section, name); };
  auto want = [&](std::string_view name) {
    return section.empty() || asked("all") || asked("everything") ||
           asked("default") || asked(name);
  };
  std::string out;
  auto line = [&](std::string_view k, const auto& v) {
    out += k;
    out += ':';
    if constexpr (std::is_arithmetic_v<std::decay_t<decltype(v)>>) {
      out += std::to_string(v);
    } else {
      out += v;
    }
    out += "\r\n";
  };
  const PortInfo& p = s.port();
  if (want("server")) {
    out += "# Server\r\n";
    line("redis_version", std::string("7.0.0"));
    line("cmud_version", std::string(kVersion));
    line("redis_mode", std::string("standalone"));
    line("arch_bits", 64);
    line("process_id", static_cast<int64_t>(::getpid()));
    line("tcp_port", static_cast<int64_t>(p.tcp_port));
    line("uptime_in_seconds",
         static_cast<int64_t>(std::chrono::duration_cast<std::chrono::seconds>(
                                  std::chrono::steady_clock::now() - kStart)
                                  .count()));
    line("actor_uid", p.actor.uid());
    out += "\r\n";
  }
  if (want("clients")) {
    out += "# Clients\r\n";
    line("connected_clients",
         p.clients ? p.clients->open.load(std::memory_order_relaxed) : 0);
    line("maxclients", p.settings->maxclients.load());
    line("blocked_clients", 0);
    line("pubsub_clients", p.pubsub ? p.pubsub->subscribers() : 0);
    out += "\r\n";
  }
  if (want("memory")) {
    // What the allocator has handed out (glibc), and the resident set.
    uint64_t used = MemoryGauge::allocated();
    uint64_t rss = MemoryGauge::resident();
    out += "# Memory\r\n";
    line("used_memory", used);
    line("used_memory_human", human_bytes(used));
    line("used_memory_rss", rss);
    line("used_memory_rss_human", human_bytes(rss));
    // Redis's field: "libc" when used_memory is the allocator's count,
    // "other" when it is the resident set (a sanitizer's allocator).
    line("mem_allocator",
         std::string(MemoryGauge::counted() ? "libc" : "other"));
    line("maxmemory", p.settings->maxmemory.load());
    line("maxmemory_human", human_bytes(p.settings->maxmemory.load()));
    line("maxmemory_policy", std::string("noeviction"));
    out += "\r\n";
  }
  if (want("replication")) {
    // Every server is a primary for its own writes (docs/COMPATIBILITY.md):
    // the other servers are in the cluster section.
    out += "# Replication\r\n";
    line("role", std::string("master"));
    line("connected_slaves", 0);
    // Redis's replication stream does not exist here (sync, repair):
    // its fields say so, for clients that read them.
    line("master_failover_state", std::string("no-failover"));
    line("master_replid", std::string(40, '0'));
    line("master_replid2", std::string(40, '0'));
    line("master_repl_offset", 0);
    line("second_repl_offset", -1);
    line("repl_backlog_active", 0);
    line("repl_backlog_size", 0);
    line("repl_backlog_first_byte_offset", 0);
    line("repl_backlog_histlen", 0);
    out += "\r\n";
  }
  if (want("cpu")) {
    rusage ru{}, children{};
    ::getrusage(RUSAGE_SELF, &ru);
    ::getrusage(RUSAGE_CHILDREN, &children);
    auto seconds = [](const timeval& t) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%ld.%06ld", static_cast<long>(t.tv_sec),
                    static_cast<long>(t.tv_usec));
      return std::string(buf);
    };
    out += "# CPU\r\n";
    line("used_cpu_sys", seconds(ru.ru_stime));
    line("used_cpu_user", seconds(ru.ru_utime));
    line("used_cpu_sys_children", seconds(children.ru_stime));
    line("used_cpu_user_children", seconds(children.ru_utime));
    out += "\r\n";
  }
  if (want("persistence")) {
    // Redis's names where they mean the same: the append-only log is our
    // per-actor write-ahead log (docs/ARCHITECTURE.md).
    out += "# Persistence\r\n";
    line("loading", 0);
    line("aof_enabled", p.appendonly ? 1 : 0);
    line("aof_last_write_status",
         std::string(counter("log_failed") == "0" ? "ok" : "err"));
    line("aof_rewrite_in_progress", 0);
    line("rdb_bgsave_in_progress", counter("snapshot_running"));
    line("rdb_last_save_time", counter("snapshot_last_save"));
    line("rdb_last_bgsave_status",
         std::string(counter("snapshot_ok") == "0" ? "err" : "ok"));
    line("cmud_snapshots", counter("snapshots"));
    line("cmud_snapshot_bytes", counter("snapshot_bytes"));
    line("cmud_appendfsync", std::string(p.appendfsync));
    line("cmud_log_bytes", counter("log_bytes"));
    line("cmud_log_fsyncs", counter("log_syncs"));
    line("cmud_log_errors", counter("log_errors"));
    out += "\r\n";
  }
  if (want("keyspace")) {
    out += "# Keyspace\r\n";
    line("keys", counter("keys"));
    out += "db0:keys=" + counter("keys") +
           ",expires=" + counter("keys_expiring") + ",avg_ttl=0\r\n";
    out += "\r\n";
  }
  if (want("replica")) {
    // Versions from elsewhere that kv::admit held back or refused, and
    // repair's counters.
    out += "# Replica\r\n";
    for (const auto& [k, v] : replica) {
      if (k != "keys" && !k.starts_with("member ") &&
          !k.starts_with("forgotten ") && !k.starts_with("cluster_") &&
          !k.starts_with("log_") && !k.starts_with("snapshot")) {
        line(k, std::string(v));
      }
    }
    out += "\r\n";
  }
  if (want("cluster")) {
    // The other servers as this server's coordinator sees them (state,
    // incarnation, time since last heard from), and those forgotten.
    out += "# Cluster\r\n";
    auto list = [&](std::string_view prefix, std::string_view count,
                    std::string_view each) {
      std::vector<std::pair<std::string_view, std::string_view>> found;
      for (const auto& [k, v] : replica) {
        if (k.starts_with(prefix)) {
          found.emplace_back(k.substr(prefix.size()), v);
        }
      }
      line(count, found.size());
      for (size_t i = 0; i < found.size(); ++i) {
        line(std::string(each) + std::to_string(i),
             "address=" + std::string(found[i].first) + "," +
                 std::string(found[i].second));
      }
    };
    list("member ", "cluster_known_servers", "server");
    list("forgotten ", "cluster_forgotten_servers", "forgotten");
    line("cluster_forgot_this_server", counter("cluster_forgot_this_server"));
    // Every member holds every write of every member older than this (Unix
    // ms; 0: not known yet).
    line("cluster_complete_below_ms", counter("cluster_complete_below_ms"));
    // Starts that ended within the grace period and still hold it back,
    // and those let go early because too many ended (a restart loop).
    line("cluster_ended_starts", counter("cluster_ended_starts"));
    line("cluster_ended_starts_dropped",
         counter("cluster_ended_starts_dropped"));
    out += "\r\n";
  }
  if (want("stats")) {
    out += "# Stats\r\n";
    if (p.clients != nullptr) {
      line("total_connections_received",
           p.clients->accepted.load(std::memory_order_relaxed));
      line("total_commands_processed",
           p.clients->commands.load(std::memory_order_relaxed));
      line("acl_access_denied_auth",
           p.clients->auth_failures.load(std::memory_order_relaxed));
      line("acl_access_denied_cmd",
           p.clients->denied_commands.load(std::memory_order_relaxed));
      line("acl_access_denied_key",
           p.clients->denied_keys.load(std::memory_order_relaxed));
      line("acl_access_denied_channel",
           p.clients->denied_channels.load(std::memory_order_relaxed));
    }
    if (p.stats != nullptr) {
      line("total_error_replies", p.stats->error_replies());
    }
    if (p.pubsub != nullptr) {
      line("pubsub_channels", p.pubsub->channels(std::nullopt).size());
      line("pubsub_patterns", p.pubsub->numpat());
    }
    out += "\r\n";
  }
  if (want("actors")) {
    auto st = p.system->stats();
    out += "# Actors\r\n";
    line("messages_sent", st.messages_sent);
    line("messages_sent_external", st.messages_sent_external);
    line("messages_sent_actor", st.messages_sent_actor);
    line("bytes_sent", st.bytes_sent);
    line("remote_bytes_received", st.remote_bytes_received);
    line("channel_refs_used", st.channel_refs_used);
    line("max_pair_msgs_per_sec", st.max_pair_msgs_per_sec);
    line("cluster_auth_failures", st.auth_failures);
    line("dropped_queue_full", st.dropped_queue_full);
    out += "\r\n";
  }
  info_stats(s, section, out);
  w.verbatim(out);
}

// INFO [section ...]: the sections, lower case, separated by spaces.
void cmd_info(Session& s, Args a, ReplyWriter&) {
  std::string sections;
  for (size_t i = 1; i < a.size(); ++i) {
    sections += " ";
    sections += ascii_lower(a[i]);
  }
  s.defer(OpView::info(), fmt_info, sections);
}

// --- Commands answered by the front end itself. ---

void cmd_ping(Session& s, Args a, ReplyWriter& w) {
  if (a.size() > 2) {
    w.error("ERR wrong number of arguments for 'ping' command");
  } else if (s.protocol() == 2 && s.subscriptions() > 0) {
    // As Redis: a RESP2 subscriber gets a message-shaped pong.
    w.array(2);
    w.bulk("pong");
    w.bulk(a.size() > 1 ? a[1] : "");
  } else if (a.size() > 1) {
    w.bulk(a[1]);
  } else {
    w.simple("PONG");
  }
}
void cmd_echo(Session&, Args a, ReplyWriter& w) { w.bulk(a[1]); }
void cmd_quit(Session& s, Args, ReplyWriter& w) {
  w.simple("OK");
  s.close_after_reply();
}
// Redis's rule for CLIENT SETNAME and HELLO SETNAME: printable, no spaces.
bool valid_client_name(std::string_view name, ReplyWriter& w) {
  if (std::any_of(name.begin(), name.end(),
                  [](char c) { return c < '!' || c > '~'; })) {
    w.error(
        "ERR Client names cannot contain spaces, newlines or special "
        "characters.");
    return false;
  }
  return true;
}

// HELLO [protover [AUTH username password] [SETNAME name]].
void cmd_hello(Session& s, Args a, ReplyWriter& w) {
  int protocol = s.protocol();
  size_t i = 1;
  if (a.size() > 1) {
    auto v = strict_int(a[1]);
    if (!v) {
      w.error("ERR Protocol version is not an integer or out of range");
      return;
    }
    if (*v != 2 && *v != 3) {
      w.error("NOPROTO unsupported protocol version");
      return;
    }
    protocol = static_cast<int>(*v);
    i = 2;
  }
  std::optional<std::string_view> name;
  std::optional<std::pair<std::string_view, std::string_view>> auth;
  for (; i < a.size(); ++i) {
    if (iequals(a[i], "auth") && i + 2 < a.size()) {
      auth.emplace(a[i + 1], a[i + 2]);
      i += 2;
    } else if (iequals(a[i], "setname") && i + 1 < a.size()) {
      name = a[++i];
      if (!valid_client_name(*name, w)) return;
    } else {
      w.error("ERR Syntax error in HELLO option '" +
              std::string(a[i].substr(0, 32)) + "'");
      return;
    }
  }
  // Nothing changes unless the credentials are right.
  if (auth) {
    if (!check_credentials(s, auth->first, auth->second, w)) return;
  } else if (!s.authenticated()) {
    w.error(
        "NOAUTH HELLO must be called with the client already authenticated, "
        "otherwise the HELLO <proto> AUTH <user> <pass> option can be used to "
        "authenticate the client and select the RESP protocol version at the "
        "same time");
    return;
  }
  if (name) s.set_client_name(*name);
  s.set_protocol(protocol);
  w.set_protocol(protocol);
  w.map(7);
  w.bulk("server");
  w.bulk("redis");
  w.bulk("version");
  w.bulk("7.0.0");
  w.bulk("proto");
  w.integer(protocol);
  w.bulk("id");
  w.integer(static_cast<int64_t>(s.id()));
  w.bulk("mode");
  w.bulk("standalone");
  w.bulk("role");
  w.bulk("master");
  w.bulk("modules");
  w.array(0);
}

// AUTH [username] password.
void cmd_auth(Session& s, Args a, ReplyWriter& w) {
  if (a.size() > 3) {
    w.error("ERR syntax error");
    return;
  }
  std::optional<std::string_view> user;
  if (a.size() == 3) user = a[1];
  if (!check_credentials(s, user, a.back(), w)) return;
  w.simple("OK");
}

// RESET: the connection as it was when it opened (signed out too, when
// the default user has a password).
void cmd_reset(Session& s, Args, ReplyWriter& w) {
  s.sign_out();
  s.stop_monitor();
  s.set_reply_mode(Session::ReplyMode::kOn);
  for (bool pattern : {false, true}) {
    std::vector<std::string> names(s.subscribed(pattern).begin(),
                                   s.subscribed(pattern).end());
    for (const auto& n : names) s.unsubscribe(n, pattern);
  }
  s.end_multi();
  s.unwatch();
  s.set_client_name("");
  s.set_protocol(2);
  w.set_protocol(2);
  w.simple("RESET");
}

// MONITOR: every command of the server's connections, as it runs.
void cmd_monitor(Session& s, Args, ReplyWriter& w) {
  if (s.port().monitors == nullptr) {
    w.error("ERR MONITOR is not available on this port");
    return;
  }
  s.start_monitor();
  w.simple("OK");
}

// --- Pub/sub (pubsub.h): every server's subscribers get what any server
// publishes. ---

// The reply to (P)SUBSCRIBE and (P)UNSUBSCRIBE, one per channel: a push
// under RESP3, an array under RESP2.
void write_subscription(Session& s, std::string_view kind,
                        std::optional<std::string_view> name, ReplyWriter& w) {
  w.push(3);
  w.bulk(kind);
  if (name) {
    w.bulk(*name);
  } else {
    w.null();
  }
  w.integer(static_cast<int64_t>(s.subscriptions()));
}

void subscribe(Session& s, Args a, bool pattern, ReplyWriter& w) {
  if (s.port().pubsub == nullptr) {
    w.error("ERR pub/sub is not available on this port");
    return;
  }
  for (size_t i = 1; i < a.size(); ++i) {
    s.subscribe(a[i], pattern);
    write_subscription(s, pattern ? "psubscribe" : "subscribe", a[i], w);
  }
}
void cmd_subscribe(Session& s, Args a, ReplyWriter& w) {
  subscribe(s, a, false, w);
}
void cmd_psubscribe(Session& s, Args a, ReplyWriter& w) {
  subscribe(s, a, true, w);
}

// With no names: from everything, one reply each (one with a null name
// when there was nothing).
void unsubscribe(Session& s, Args a, bool pattern, ReplyWriter& w) {
  std::string_view kind = pattern ? "punsubscribe" : "unsubscribe";
  std::vector<std::string> names;
  if (a.size() > 1) {
    names.assign(a.begin() + 1, a.end());
  } else {
    names.assign(s.subscribed(pattern).begin(), s.subscribed(pattern).end());
    if (names.empty()) write_subscription(s, kind, std::nullopt, w);
  }
  for (const auto& n : names) {
    s.unsubscribe(n, pattern);
    write_subscription(s, kind, n, w);
  }
}
void cmd_unsubscribe(Session& s, Args a, ReplyWriter& w) {
  unsubscribe(s, a, false, w);
}
void cmd_punsubscribe(Session& s, Args a, ReplyWriter& w) {
  unsubscribe(s, a, true, w);
}

void cmd_publish(Session& s, Args a, ReplyWriter&) {
  s.defer(OpView::publish(a[1], a[2]), fmt_integer);
}

// PUBSUB CHANNELS [pattern] | NUMSUB [channel ...] | NUMPAT: this server's
// subscribers only (as in Redis Cluster, where each node answers for its
// own).
void cmd_pubsub(Session& s, Args a, ReplyWriter& w) {
  const PubSub* ps = s.port().pubsub;
  if (ps != nullptr && iequals(a[1], "channels") && a.size() <= 3) {
    auto names =
        ps->channels(a.size() == 3 ? std::optional(a[2]) : std::nullopt);
    w.array(names.size());
    for (const auto& n : names) w.bulk(n);
  } else if (ps != nullptr && iequals(a[1], "numsub")) {
    w.array(2 * (a.size() - 2));
    for (size_t i = 2; i < a.size(); ++i) {
      w.bulk(a[i]);
      w.integer(static_cast<int64_t>(ps->numsub(a[i])));
    }
  } else if (ps != nullptr && iequals(a[1], "numpat") && a.size() == 2) {
    w.integer(static_cast<int64_t>(ps->numpat()));
  } else if (iequals(a[1], "help") && a.size() == 2) {
    constexpr std::string_view kHelp[] = {
        "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CHANNELS [<pattern>]",
        "    Return the currently active channels matching a <pattern> "
        "(default: '*').",
        "NUMPAT",
        "    Return number of subscriptions to patterns.",
        "NUMSUB [<channel> ...]",
        "    Return the number of subscribers for the specified channels, "
        "excluding",
        "    pattern subscriptions(default: no channels).",
        "HELP",
        "    Print this help."};
    w.array(std::size(kHelp));
    for (auto line : kHelp) w.simple(line);
  } else {
    w.error("ERR unknown subcommand or wrong number of arguments for '" +
            std::string(a[1].substr(0, 32)) + "'. Try PUBSUB HELP.");
  }
}

// --- Transactions: queued in the session, run as one request. ---

void cmd_multi(Session& s, Args, ReplyWriter& w) {
  if (s.in_multi()) {
    w.error("ERR MULTI calls can not be nested");
    return;
  }
  s.begin_multi();
  w.simple("OK");
}

void cmd_exec(Session& s, Args, ReplyWriter& w) {
  if (!s.in_multi()) {
    w.error("ERR EXEC without MULTI");
    return;
  }
  bool failed = s.multi_failed();
  auto commands = s.end_multi();
  if (failed) {
    s.unwatch();
    w.error("EXECABORT Transaction discarded because of previous errors.");
    return;
  }
  s.exec(std::move(commands), w);
}

void cmd_discard(Session& s, Args, ReplyWriter& w) {
  if (!s.in_multi()) {
    w.error("ERR DISCARD without MULTI");
    return;
  }
  s.end_multi();
  s.unwatch();
  w.simple("OK");
}

void fmt_watch(Session& s, std::string_view context, const ResultView& r,
               ReplyWriter& w) {
  s.set_watched(context, r);
  w.simple("OK");
}

// WATCH key [key ...]: EXEC runs nothing if one of them changed on this
// replica since.
void cmd_watch(Session& s, Args a, ReplyWriter& w) {
  if (s.in_multi()) {
    w.error("ERR WATCH inside MULTI is not allowed");
    return;
  }
  auto keys = a.subspan(1);
  s.defer(OpView::watch(keys), fmt_watch, s.add_watched(keys));
}

void cmd_unwatch(Session& s, Args, ReplyWriter& w) {
  s.unwatch();
  w.simple("OK");
}

void cmd_select(Session&, Args a, ReplyWriter& w) {
  if (a[1] == "0") {
    w.simple("OK");
  } else {
    w.error("ERR DB index is out of range");
  }
}

// CLIENT LIST [TYPE normal|pubsub|master|replica] [ID id ...].
void client_list(Session& s, Args a, ReplyWriter& w) {
  std::optional<std::string> type;
  std::set<uint64_t> ids;
  for (size_t i = 2; i < a.size(); ++i) {
    if (iequals(a[i], "type") && i + 1 < a.size()) {
      type = ascii_lower(a[++i]);
      if (*type != "normal" && *type != "pubsub" && *type != "master" &&
          *type != "replica") {
        w.error("ERR Unknown client type '" + std::string(a[i]) + "'");
        return;
      }
    } else if (iequals(a[i], "id") && i + 1 < a.size()) {
      for (++i; i < a.size(); ++i) {
        auto id = parse_u64(a[i]);
        if (!id || *id == 0) {
          w.error("ERR Invalid client ID");
          return;
        }
        ids.insert(*id);
      }
    } else {
      w.error("ERR syntax error");
      return;
    }
  }
  std::string out;
  int64_t now = steady_now_ms();
  for (const auto& row : s.port().registry->rows()) {
    bool pubsub = row.sub + row.psub > 0;
    if (type && (*type == "master" || *type == "replica" ||
                 (*type == "pubsub") != pubsub)) {
      continue;
    }
    if (!ids.empty() && !ids.contains(row.id)) continue;
    if (row.id == s.id()) {
      out += s.describe();  // with its own buffers
      continue;
    }
    out += row.line(now);
    out += "\n";
  }
  w.verbatim(out);
}

// CLIENT KILL ip:port (old form: OK or an error), or CLIENT KILL with
// filters ID, ADDR, LADDR, TYPE, USER, SKIPME (new form: how many).
void client_kill(Session& s, Args a, ReplyWriter& w) {
  if (a.size() == 3) {
    std::string addr(a[2]);
    size_t n = s.port().registry->kill(
        [&](const ClientRegistry::Row& r) { return r.addr == addr; });
    if (n == 0) {
      w.error("ERR No such client");
    } else {
      w.simple("OK");
    }
    return;
  }
  std::optional<uint64_t> id;
  std::optional<std::string> addr, laddr, type, user;
  bool skipme = true;
  for (size_t i = 2; i < a.size(); i += 2) {
    if (i + 1 >= a.size()) {
      w.error("ERR syntax error");
      return;
    }
    std::string_view v = a[i + 1];
    if (iequals(a[i], "id")) {
      id = parse_u64(v);
      if (!id || *id == 0) {
        w.error("ERR client-id should be greater than 0");
        return;
      }
    } else if (iequals(a[i], "addr")) {
      addr = std::string(v);
    } else if (iequals(a[i], "laddr")) {
      laddr = std::string(v);
    } else if (iequals(a[i], "type")) {
      type = ascii_lower(v);
      if (*type != "normal" && *type != "pubsub" && *type != "master" &&
          *type != "replica" && *type != "slave") {
        w.error("ERR Unknown client type '" + std::string(v.substr(0, 128)) +
                "'");
        return;
      }
    } else if (iequals(a[i], "user")) {
      if (!s.port().acl->find(v)) {
        w.error("ERR No such user '" + std::string(v.substr(0, 128)) + "'");
        return;
      }
      user = std::string(v);
    } else if (iequals(a[i], "skipme") &&
               (iequals(v, "yes") || iequals(v, "no"))) {
      skipme = iequals(v, "yes");
    } else {
      w.error("ERR syntax error");
      return;
    }
  }
  uint64_t me = s.id();
  size_t n = s.port().registry->kill([&](const ClientRegistry::Row& r) {
    // No connection is a master's or a replica's here.
    bool pubsub = r.sub + r.psub > 0;
    bool type_ok = !type || (*type == "pubsub" && pubsub) ||
                   (*type == "normal" && !pubsub);
    return !(skipme && r.id == me) && (!id || r.id == *id) &&
           (!addr || r.addr == *addr) && (!laddr || r.laddr == *laddr) &&
           (!user || r.user == *user) && type_ok;
  });
  w.integer(static_cast<int64_t>(n));
}

// --- ACL: users (acl.h). Changes are records of the system key space, so
// they replicate; the command after one waits for it (send_now). ---

void fmt_nothing(Session&, std::string_view, const ResultView&, ReplyWriter&) {
  // one of several ops of one command: another answers for all
}
// The count the command worked out itself (ACL DELUSER).
void fmt_context_integer(Session&, std::string_view context, const ResultView&,
                         ReplyWriter& w) {
  w.integer(strict_int(context).value_or(0));
}

// Writes the user's record (replacing it anywhere in the cluster).
void put_user(Session& s, const acl::User& u, Session::Format format) {
  std::string key = acl::record_key(u.name());
  std::string value = acl::record_value(u);
  s.defer(OpView::set(key, value), format);
}

void acl_getuser(Session& s, std::string_view name, ReplyWriter& w) {
  auto u = s.port().acl->find(name);
  if (u == nullptr) {
    w.null();
    return;
  }
  w.map(6);
  w.bulk("flags");
  auto flags = u->flags();
  w.array(flags.size());
  for (const auto& f : flags) w.bulk(f);
  w.bulk("passwords");
  w.array(u->passwords().size());
  for (const auto& p : u->passwords()) w.bulk(p);
  w.bulk("commands");
  w.bulk(u->describe_commands());
  w.bulk("keys");
  w.bulk(u->describe_keys());
  w.bulk("channels");
  w.bulk(u->describe_channels());
  w.bulk("selectors");
  w.array(0);
}

void acl_cat(Args a, ReplyWriter& w) {
  if (a.size() == 2) {
    w.array(acl::kCategoryNames.size());
    for (auto name : acl::kCategoryNames) w.bulk(name);
    return;
  }
  auto it = std::find(acl::kCategoryNames.begin(), acl::kCategoryNames.end(),
                      ascii_lower(a[2]));
  if (it == acl::kCategoryNames.end()) {
    w.error("ERR Unknown category '" + std::string(a[2]) + "'");
    return;
  }
  uint32_t bit = 1u << (it - acl::kCategoryNames.begin());
  std::vector<std::string> names;
  for (const Command& c : command_table()) {
    auto subs = acl::subcommands(c);
    if (subs.empty()) {
      if ((acl::command_categories(c) & bit) != 0) names.emplace_back(c.name);
      continue;
    }
    for (std::string_view sub : subs) {
      if ((acl::command_categories(c, sub) & bit) != 0) {
        names.push_back(std::string(c.name) + "|" + std::string(sub));
      }
    }
  }
  w.array(names.size());
  for (const auto& n : names) w.bulk(n);
}

// ACL LOAD: the file's users replace every user of the cluster.
void acl_load(Session& s, ReplyWriter& w) {
  const std::string& path = s.port().aclfile;
  PosixFileSystem fs;
  auto text = fs.read(path);
  if (!text.ok()) {
    w.error("ERR Error loading ACLs: " + text.status().message());
    return;
  }
  auto users = acl::parse_acl_file(*text, path);
  if (!users.ok()) {
    w.error("ERR Error loading ACLs, user not loaded: " +
            users.status().message());
    return;
  }
  std::set<std::string, std::less<>> keep;
  for (const acl::User& u : *users) {
    keep.insert(u.name());
    put_user(s, u, fmt_nothing);
  }
  std::vector<std::string> gone;
  for (const auto& u : s.port().acl->users()) {
    if (!keep.contains(u->name())) gone.push_back(acl::record_key(u->name()));
  }
  if (!keep.contains("default")) {
    // The file says nothing of it: the default user as Redis makes it.
    acl::User d("default");
    (void)d.apply_all(std::vector<std::string_view>{
        "on", "nopass", "allkeys", "allchannels", "allcommands"});
    put_user(s, d, fmt_nothing);
    std::erase(gone, acl::record_key("default"));
  }
  std::vector<std::string_view> keys(gone.begin(), gone.end());
  s.defer(OpView::del(keys), fmt_ok);
  s.send_now();
}

// ACL SAVE: every user of the cluster into the file, replaced at once.
void acl_save(Session& s, ReplyWriter& w) {
  const std::string& path = s.port().aclfile;
  std::string text;
  for (const auto& u : s.port().acl->users()) {
    text += "user " + u->name() + " " + u->describe() + "\n";
  }
  PosixFileSystem fs;
  std::string tmp = path + ".tmp";
  (void)fs.remove(tmp);
  Status st;
  if (auto f = fs.open_append(tmp); !f.ok()) {
    st = f.status();
  } else if (st = (*f)->append(text); st.ok()) {
    st = (*f)->sync();
  }
  if (st.ok()) st = fs.rename(tmp, path);
  if (!st.ok()) {
    w.error(
        "ERR There was an error trying to save the ACLs. Please check "
        "the server logs for more information (" +
        st.message() + ")");
    return;
  }
  w.simple("OK");
}

// ACL SIGNUP <name> [<password>]: without a password, 1 if the name is
// free, 0 if a user has it; with one, makes the user from the server's
// template (1), or 0 when the name is taken. The record is written only
// if absent on this replica, so two signups of one name on one query
// actor cannot both win; on two actors or servers the later one does
// (docs/COMPATIBILITY.md).
void acl_signup(Session& s, Args a, ReplyWriter& w) {
  const std::string& rules = s.port().signup_rules;
  if (rules.empty()) {
    w.error("ERR ACL SIGNUP is off on this server (see --signup-rules)");
    return;
  }
  std::string_view name = a[2];
  if (!acl::valid_signup_name(name)) {
    w.error("ERR signup names are 1 to " + std::to_string(acl::kMaxSignupName) +
            " characters of A-Z, a-z, 0-9, _ and -");
    return;
  }
  if (s.port().acl->find(name) != nullptr) {
    w.integer(0);
    return;
  }
  if (a.size() == 3) {
    w.integer(1);
    return;
  }
  if (a[3].empty()) {
    w.error("ERR the password must not be empty");
    return;
  }
  auto u = acl::signup_user(rules, name, a[3]);
  if (!u.ok()) {
    w.error("ERR " + u.status().message());
    return;
  }
  std::string key = acl::record_key(u->name());
  std::string value = acl::record_value(*u);
  s.defer(OpView::set_with(key, value, OpView::kSetNx, 0), fmt_ok_as_one);
  s.send_now();
}

void cmd_acl(Session& s, Args a, ReplyWriter& w) {
  std::string sub = ascii_lower(a[1]);
  acl::Table& table = *s.port().acl;
  if (sub == "whoami" && a.size() == 2) {
    w.bulk(s.user().name());
  } else if (sub == "cat" && a.size() <= 3) {
    acl_cat(a, w);
  } else if (sub == "users" && a.size() == 2) {
    auto users = table.users();
    w.array(users.size());
    for (const auto& u : users) w.bulk(u->name());
  } else if (sub == "list" && a.size() == 2) {
    auto users = table.users();
    w.array(users.size());
    for (const auto& u : users)
      w.bulk("user " + u->name() + " " + u->describe());
  } else if (sub == "getuser" && a.size() == 3) {
    acl_getuser(s, a[2], w);
  } else if (sub == "setuser" && a.size() >= 3) {
    std::string_view name = a[2];
    if (!acl::valid_user_name(name)) {
      w.error("ERR Usernames can't contain spaces or null characters");
      return;
    }
    auto now = table.find(name);
    acl::User u = now != nullptr ? *now : acl::User(std::string(name));
    if (Status st = u.apply_all(a.subspan(3)); !st.ok()) {
      w.error("ERR " + st.message());
      return;
    }
    put_user(s, u, fmt_ok);
    s.send_now();
  } else if (sub == "signup" && (a.size() == 3 || a.size() == 4)) {
    acl_signup(s, a, w);
  } else if (sub == "deluser" && a.size() >= 3) {
    std::vector<std::string> keys;
    int64_t n = 0;
    for (std::string_view name : a.subspan(2)) {
      if (name == "default") {
        w.error("ERR The 'default' user cannot be removed");
        return;
      }
      if (table.find(name) != nullptr) ++n;
      keys.push_back(acl::record_key(name));
    }
    std::vector<std::string_view> views(keys.begin(), keys.end());
    s.defer(OpView::del(views), fmt_context_integer, std::to_string(n));
    s.send_now();
  } else if ((sub == "load" || sub == "save") && a.size() == 2) {
    if (s.port().aclfile.empty()) {
      w.error(
          "ERR This server is not configured to use an ACL file. You may "
          "want to specify users via the ACL SETUSER command and then "
          "issue a CONFIG REWRITE (assuming you have a server config "
          "file) in order to store users in the cmud configuration.");
      return;
    }
    if (sub == "load") {
      acl_load(s, w);
    } else {
      acl_save(s, w);
    }
  } else if (sub == "help" && a.size() == 2) {
    static constexpr std::string_view kHelp[] = {
        "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "CAT [<category>]",
        "    List all commands that belong to <category>, "
        "or all command categories when no category is specified.",
        "DELUSER <username> [<username> ...]",
        "    Delete a list of users.",
        "GETUSER <username>",
        "    Get the user's details.",
        "LIST",
        "    Show users details in config file format.",
        "LOAD",
        "    Reload users from the ACL file.",
        "SAVE",
        "    Save the current config to the ACL file.",
        "SETUSER <username> <attribute> [<attribute> ...]",
        "    Create or modify a user with the specified attributes.",
        "SIGNUP <username> [<password>]",
        "    Without a password: 1 if the name is free. With one: create the "
        "user from the server's template (--signup-rules); 0 if taken.",
        "USERS",
        "    List all the registered usernames.",
        "WHOAMI",
        "    Return the current connection username."};
    w.array(std::size(kHelp));
    for (auto line : kHelp) w.simple(line);
  } else {
    w.error("ERR unknown subcommand or wrong number of arguments for '" +
            std::string(a[1].substr(0, 128)) + "'. Try ACL HELP.");
  }
}

void cmd_client(Session& s, Args a, ReplyWriter& w) {
  if (s.port().registry != nullptr && iequals(a[1], "list")) {
    client_list(s, a, w);
    return;
  }
  if (s.port().registry != nullptr && iequals(a[1], "kill")) {
    if (a.size() == 2) {
      w.error("ERR wrong number of arguments for 'client|kill' command");
    } else {
      client_kill(s, a, w);
    }
    return;
  }
  if (iequals(a[1], "setname") && a.size() == 3) {
    if (!valid_client_name(a[2], w)) return;
    s.set_client_name(a[2]);
    w.simple("OK");
  } else if (iequals(a[1], "id") && a.size() == 2) {
    w.integer(static_cast<int64_t>(s.id()));
  } else if (iequals(a[1], "info") && a.size() == 2) {
    w.verbatim(s.describe());
  } else if (iequals(a[1], "setinfo") && a.size() == 4) {
    w.simple("OK");
  } else if (iequals(a[1], "reply") && a.size() == 3 &&
             (iequals(a[2], "on") || iequals(a[2], "off") ||
              iequals(a[2], "skip"))) {
    if (iequals(a[2], "on")) {
      s.set_reply_mode(Session::ReplyMode::kOn);
      w.simple("OK");
    } else {
      s.set_reply_mode(iequals(a[2], "off") ? Session::ReplyMode::kOff
                                            : Session::ReplyMode::kSkipNext);
    }
  } else if (iequals(a[1], "no-evict") && a.size() == 3 &&
             (iequals(a[2], "on") || iequals(a[2], "off"))) {
    w.simple("OK");  // no client is ever evicted here: both hold
  } else if (iequals(a[1], "reply") || iequals(a[1], "no-evict")) {
    w.error("ERR syntax error");
  } else if (iequals(a[1], "getname") && a.size() == 2) {
    if (s.client_name().empty()) {
      w.null();
    } else {
      w.bulk(s.client_name());
    }
  } else {
    w.error("ERR unknown subcommand or wrong number of arguments for 'CLIENT " +
            std::string(a[1].substr(0, 32)) + "'");
  }
}

// Parameters CONFIG GET knows: fixed ones, then the server's settings.
constexpr std::array<std::pair<std::string_view, std::string_view>, 4> kConfig{
    {{"save", ""},
     {"databases", "1"},
     {"maxmemory-policy", "noeviction"},
     {"daemonize", "no"}}};

// CONFIG SET of one parameter; an error text (Redis's words) or "".
std::string config_error(std::string_view name, std::string_view why) {
  return "ERR CONFIG SET failed (possibly related to argument '" +
         std::string(name.substr(0, 128)) + "') - " + std::string(why);
}

std::string config_set(Settings& st, std::string_view name,
                       std::string_view value) {
  auto bad = [&](std::string_view why) { return config_error(name, why); };
  auto memory = parse_memory_value(value);
  if (name == "maxmemory") {
    if (!memory) return bad("argument must be a memory value");
    st.maxmemory = *memory;
  } else if (name == "maxclients") {
    if (!memory || *memory < 1 || *memory > 1'000'000) {
      return bad("argument must be between 1 and 1000000 inclusive");
    }
    st.maxclients = static_cast<size_t>(*memory);
  } else if (name == "client-query-buffer-limit") {
    if (!memory || *memory < (1u << 20) || *memory > (uint64_t{1} << 40)) {
      return bad("argument must be a memory value between 1mb and 1tb");
    }
    st.query_buffer_limit = static_cast<size_t>(*memory);
  } else if (name == "proto-max-bulk-len") {
    // A value must fit one sync frame (ServerConfig::limits).
    if (!memory || *memory < (1u << 20) || *memory > (60u << 20)) {
      return bad("argument must be a memory value between 1mb and 60mb");
    }
    st.max_bulk = static_cast<size_t>(*memory);
  } else if (name == "client-output-buffer-limit") {
    // "normal <hard> <soft> <seconds>"; only the hard limit of normal
    // clients exists here.
    std::vector<std::string_view> words;
    for (size_t at = 0; at < value.size();) {
      size_t sp = std::min(value.find(' ', at), value.size());
      if (sp > at) words.push_back(value.substr(at, sp - at));
      at = sp + 1;
    }
    std::optional<uint64_t> hard;
    if (words.size() == 4 && ascii_lower(words[0]) == "normal") {
      hard = parse_memory_value(words[1]);
    }
    if (!hard || parse_memory_value(words[2]) != 0u ||
        parse_memory_value(words[3]) != 0u) {
      return bad("only 'normal <hard limit> 0 0' is supported");
    }
    st.output_buffer_limit = static_cast<size_t>(*hard);
  } else if (name == "slowlog-log-slower-than" ||
             name == "latency-monitor-threshold" || name == "slowlog-max-len") {
    auto n = strict_int(value);
    if (!n) return bad("argument couldn't be parsed into an integer");
    int64_t low = name == "slowlog-log-slower-than" ? -1 : 0;
    if (*n < low) {
      return bad("argument must be between " + std::to_string(low) +
                 " and 9223372036854775807 inclusive");
    }
    if (name == "slowlog-log-slower-than") {
      st.slowlog_slower_than = *n;
    } else if (name == "slowlog-max-len") {
      st.slowlog_max_len = static_cast<size_t>(*n);
    } else {
      st.latency_threshold_ms = static_cast<uint64_t>(*n);
    }
  } else if (name == "latency-tracking") {
    if (!iequals(value, "yes") && !iequals(value, "no")) {
      return bad("argument must be 'yes' or 'no'");
    }
    st.latency_tracking = iequals(value, "yes");
  } else if (name == "latency-tracking-info-percentiles") {
    std::vector<double> percentiles;
    for (std::string_view word : split_words(value)) {
      double p = 0;
      auto [end, ec] =
          std::from_chars(word.data(), word.data() + word.size(), p);
      if (ec != std::errc() || end != word.data() + word.size() || p < 0 ||
          p > 100) {
        return bad(
            "latency-tracking-info-percentiles: percentiles are numbers "
            "from 0 to 100");
      }
      percentiles.push_back(p);
    }
    st.set_percentiles(std::move(percentiles));
  } else if (name == "maxmemory-policy") {
    if (ascii_lower(value) != "noeviction") {
      return bad("only noeviction is supported (a replica never evicts)");
    }
  } else {
    return "ERR Unknown option or number of arguments for CONFIG SET - '" +
           std::string(name) + "'";
  }
  return "";
}

// Every parameter CONFIG GET shows, with its value now.
std::vector<std::pair<std::string_view, std::string>> config_values(
    const PortInfo& p) {
  const Settings& st = *p.settings;
  std::vector<std::pair<std::string_view, std::string>> all;
  for (const auto& [k, v] : kConfig) all.emplace_back(k, v);
  all.emplace_back("maxmemory", std::to_string(st.maxmemory.load()));
  all.emplace_back("maxclients", std::to_string(st.maxclients.load()));
  all.emplace_back("client-query-buffer-limit",
                   std::to_string(st.query_buffer_limit.load()));
  all.emplace_back("proto-max-bulk-len", std::to_string(st.max_bulk.load()));
  all.emplace_back("protected-mode", p.protected_mode ? "yes" : "no");
  all.emplace_back("appendonly", p.appendonly ? "yes" : "no");
  all.emplace_back("appendfsync", std::string(p.appendfsync));
  all.emplace_back("dir", p.data_dir);
  all.emplace_back("slowlog-log-slower-than",
                   std::to_string(st.slowlog_slower_than.load()));
  all.emplace_back("slowlog-max-len",
                   std::to_string(st.slowlog_max_len.load()));
  all.emplace_back("latency-monitor-threshold",
                   std::to_string(st.latency_threshold_ms.load()));
  all.emplace_back("latency-tracking", st.latency_tracking ? "yes" : "no");
  std::string percentiles;
  for (double v : st.percentiles()) {
    if (!percentiles.empty()) percentiles += ' ';
    percentiles += percentile_name(v).substr(1);
  }
  all.emplace_back("latency-tracking-info-percentiles", percentiles);
  all.emplace_back(
      "notify-keyspace-events",
      p.pubsub != nullptr ? notify_flags_text(p.pubsub->notify_flags()) : "");
  all.emplace_back(
      "client-output-buffer-limit",
      "normal " + std::to_string(st.output_buffer_limit.load()) + " 0 0");
  return all;
}

// Parameters set when the server starts (its flags): CONFIG SET takes only
// the value they have, so that a client may write back what it read.
bool fixed_config(std::string_view name) {
  return name == "save" || name == "databases" || name == "protected-mode" ||
         name == "appendonly" || name == "appendfsync" || name == "dir" ||
         name == "daemonize";
}

void cmd_config(Session& s, Args a, ReplyWriter& w) {
  const PortInfo& p = s.port();
  if (iequals(a[1], "resetstat") && a.size() == 2) {
    if (p.clients != nullptr) {
      p.clients->accepted = 0;
      p.clients->commands = 0;
      p.clients->auth_failures = 0;
      p.clients->denied_commands = 0;
      p.clients->denied_keys = 0;
      p.clients->denied_channels = 0;
    }
    if (p.stats != nullptr) p.stats->reset();
    w.simple("OK");
    return;
  }
  if (iequals(a[1], "set") && a.size() >= 4 && a.size() % 2 == 0) {
    // Checked all before any is set, as Redis does.
    Settings trial;
    auto current = config_values(p);
    std::set<std::string, std::less<>> seen;
    for (size_t i = 2; i < a.size(); i += 2) {
      std::string name = ascii_lower(a[i]);
      std::string err;
      if (!seen.insert(name).second) {
        err = config_error(name, "duplicate parameter");
      } else if (name == "notify-keyspace-events") {
        if (!parse_notify_flags(a[i + 1])) {
          err = config_error(name,
                             "Invalid event class character. Use "
                             "'Ag$lshzxeKEtmdn'.");
        }
      } else if (fixed_config(name)) {
        auto it =
            std::find_if(current.begin(), current.end(),
                         [&](const auto& kv) { return kv.first == name; });
        if (it == current.end() || it->second != a[i + 1]) {
          err = config_error(name,
                             "can't set immutable config (a flag of "
                             "cmud-server)");
        }
      } else {
        err = config_set(trial, name, a[i + 1]);
      }
      if (!err.empty()) {
        w.error(err);
        return;
      }
    }
    for (size_t i = 2; i < a.size(); i += 2) {
      std::string name = ascii_lower(a[i]);
      if (name == "notify-keyspace-events") {
        if (p.pubsub != nullptr)
          p.pubsub->set_notify(*parse_notify_flags(a[i + 1]));
      } else if (!fixed_config(name)) {
        (void)config_set(*p.settings, name, a[i + 1]);
      }
    }
    w.simple("OK");
    return;
  }
  if (!iequals(a[1], "get") || a.size() < 3) {
    w.error("ERR unknown subcommand or wrong number of arguments for 'CONFIG " +
            std::string(a[1].substr(0, 32)) +
            "' (CONFIG GET, CONFIG SET and CONFIG RESETSTAT are supported)");
    return;
  }
  auto all = config_values(p);
  std::vector<const std::pair<std::string_view, std::string>*> found;
  for (const auto& kv : all) {
    for (size_t i = 2; i < a.size(); ++i) {
      if (resp::glob_match(ascii_lower(a[i]), kv.first)) {
        found.push_back(&kv);
        break;
      }
    }
  }
  w.map(found.size());
  for (const auto* kv : found) {
    w.bulk(kv->first);
    w.bulk(kv->second);
  }
}

// Redis's reply for a subcommand it does not know, or one with the wrong
// number of arguments.
void unknown_subcommand(std::string_view command, std::string_view sub,
                        ReplyWriter& w) {
  w.error("ERR unknown subcommand or wrong number of arguments for '" +
          std::string(sub.substr(0, 128)) + "'. Try " + std::string(command) +
          " HELP.");
}

void write_help(std::span<const std::string_view> lines, ReplyWriter& w) {
  w.array(lines.size());
  for (auto line : lines) w.simple(line);
}

// SLOWLOG GET [count] | LEN | RESET | HELP.
void cmd_slowlog(Session& s, Args a, ReplyWriter& w) {
  SlowLog* log = s.port().slowlog;
  if (iequals(a[1], "get") && a.size() <= 3 && log != nullptr) {
    size_t count = 10;
    if (a.size() == 3) {
      auto n = strict_int(a[2]);
      if (!n || *n < -1) {
        w.error("ERR count should be greater than or equal to -1");
        return;
      }
      count = *n == -1 ? SIZE_MAX : static_cast<size_t>(*n);
    }
    auto entries = log->latest(count);
    w.array(entries.size());
    for (const auto& e : entries) {
      w.array(6);
      w.integer(static_cast<int64_t>(e.id));
      w.integer(e.time);
      w.integer(static_cast<int64_t>(e.us));
      w.array(e.args.size());
      for (const auto& arg : e.args) w.bulk(arg);
      w.bulk(e.addr);
      w.bulk(e.name);
    }
  } else if (iequals(a[1], "len") && a.size() == 2 && log != nullptr) {
    w.integer(static_cast<int64_t>(log->size()));
  } else if (iequals(a[1], "reset") && a.size() == 2 && log != nullptr) {
    log->reset();
    w.simple("OK");
  } else if (iequals(a[1], "help") && a.size() == 2) {
    constexpr std::string_view kHelp[] = {
        "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "GET [<count>]",
        "    Return top <count> entries from the slowlog (default: 10, -1 "
        "mean all).",
        "    Entries are made of:",
        "    id, timestamp, time in microseconds, arguments array, client IP "
        "and port,",
        "    client name",
        "LEN",
        "    Return the length of the slowlog.",
        "RESET",
        "    Reset the slowlog.",
        "HELP",
        "    Print this help."};
    write_help(kHelp, w);
  } else {
    unknown_subcommand("SLOWLOG", a[1], w);
  }
}

// CLUSTER FORGET member | HELP. Not Redis Cluster (no slots: every server
// holds everything), so only what our membership has; a cluster-aware
// client that asks for slots gets an error and treats us as one node.
void cmd_cluster(Session& s, Args a, ReplyWriter& w) {
  if (iequals(a[1], "forget") && a.size() == 3) {
    s.defer(OpView::forget(a[2]), fmt_ok);
  } else if (iequals(a[1], "help") && a.size() == 2) {
    constexpr std::string_view kHelp[] = {
        "CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "FORGET <host:port>",
        "    Remove a server marked down (INFO cluster) from the cluster for "
        "good,",
        "    named by its cluster address or a query port. Every member "
        "forgets it;",
        "    only a new start of it can join again.",
        "HELP",
        "    Print this help."};
    write_help(kHelp, w);
  } else {
    unknown_subcommand("CLUSTER", a[1], w);
  }
}

// LATENCY DOCTOR's report: what the monitor saw, and what to look at.
std::string latency_report(const std::vector<LatencyMonitor::Event>& events,
                           uint64_t threshold_ms) {
  if (threshold_ms == 0) {
    return "I'm sorry, Dave, I can't do that. Latency monitoring is disabled "
           "in this cmud server. You may use \"CONFIG SET "
           "latency-monitor-threshold <milliseconds>.\" in order to enable "
           "it.\n";
  }
  if (events.empty()) {
    return "Dave, no latency spike was observed during the lifetime of this "
           "server (threshold " +
           std::to_string(threshold_ms) + " ms).\n";
  }
  std::string out =
      "Dave, I have observed latency spikes in this cmud server (threshold " +
      std::to_string(threshold_ms) + " ms):\n\n";
  int i = 1;
  for (const auto& e : events) {
    uint64_t sum = 0;
    for (const auto& sample : e.history) sum += sample.ms;
    out += fmt::format(
        "{}. {}: {} latency spikes (average {}ms, all time high {}ms). "
        "Latest at {} (unix time), {}ms.\n",
        i++, e.name, e.history.size(),
        e.history.empty() ? 0 : sum / e.history.size(), e.max,
        e.history.empty() ? 0 : e.history.back().time,
        e.history.empty() ? 0 : e.history.back().ms);
  }
  out +=
      "\nI have a few advices for you:\n\n"
      "- Check SLOWLOG GET for the commands that took longest: KEYS, LIST "
      "and SCAN with a large COUNT walk many keys; prefer SCAN with a small "
      "COUNT.\n"
      "- A server with fewer cores than query actors shares them; see "
      "--actors.\n"
      "- With --fsync always every write waits for the disk; everysec waits "
      "less.\n";
  return out;
}

// LATENCY GRAPH's text: one bar per sample, oldest first.
std::string latency_graph(const LatencyMonitor::Event& e, int64_t now_s) {
  uint64_t high = 0, low = UINT64_MAX;
  for (const auto& sample : e.history) {
    high = std::max(high, sample.ms);
    low = std::min(low, sample.ms);
  }
  std::string out =
      fmt::format("{} - high {} ms, low {} ms (all time high {} ms)\n", e.name,
                  high, e.history.empty() ? 0 : low, e.max);
  out += std::string(80, '-') + "\n";
  for (const auto& sample : e.history) {
    size_t bar = high == 0 ? 0 : static_cast<size_t>(sample.ms * 50 / high);
    out += fmt::format("{:>8}s ago {:>8} ms {}\n", now_s - sample.time,
                       sample.ms, std::string(std::max<size_t>(bar, 1), '#'));
  }
  return out;
}

// LATENCY HISTOGRAM's reply for one slot: calls, and how many took at
// most 1, 2, 4... microseconds (counted up to each bound, as Redis shows).
void write_histogram(const CommandStats::Totals& t, ReplyWriter& w) {
  uint64_t calls = 0;
  for (uint64_t n : t.histogram) calls += n;
  // The bounds 1024 ns << k fall on bucket edges (they are powers of two).
  std::vector<std::pair<uint64_t, uint64_t>> steps;  // (us bound, calls)
  uint64_t seen = 0;
  size_t b = 0;
  for (uint64_t bound_us = 1; seen < calls && bound_us <= (uint64_t{1} << 40);
       bound_us *= 2) {
    uint64_t before = seen;
    while (b < t.histogram.size() &&
           LatencyBuckets::upper(b) < bound_us * 1024) {
      seen += t.histogram[b++];
    }
    if (seen > before) steps.emplace_back(bound_us, seen);
  }
  w.map(2);
  w.bulk("calls");
  w.integer(static_cast<int64_t>(calls));
  w.bulk("histogram_usec");
  w.map(steps.size());
  for (const auto& [bound, n] : steps) {
    w.integer(static_cast<int64_t>(bound));
    w.integer(static_cast<int64_t>(n));
  }
}

// LATENCY LATEST | HISTORY event | RESET [event ...] | DOCTOR | GRAPH event
// | HISTOGRAM [command ...] | HELP.
void cmd_latency(Session& s, Args a, ReplyWriter& w) {
  const PortInfo& p = s.port();
  LatencyMonitor* monitor = p.latency;
  const int64_t now_s = unix_now_ms() / 1000;
  if (monitor == nullptr || p.stats == nullptr) {
    w.error("ERR LATENCY is not available on this port");
  } else if (iequals(a[1], "latest") && a.size() == 2) {
    auto events = monitor->events();
    w.array(events.size());
    for (const auto& e : events) {
      w.array(4);
      w.bulk(e.name);
      w.integer(e.history.empty() ? 0 : e.history.back().time);
      w.integer(
          static_cast<int64_t>(e.history.empty() ? 0 : e.history.back().ms));
      w.integer(static_cast<int64_t>(e.max));
    }
  } else if (iequals(a[1], "history") && a.size() == 3) {
    auto e = monitor->event(a[2]);
    w.array(e ? e->history.size() : 0);
    if (e) {
      for (const auto& sample : e->history) {
        w.array(2);
        w.integer(sample.time);
        w.integer(static_cast<int64_t>(sample.ms));
      }
    }
  } else if (iequals(a[1], "reset")) {
    w.integer(static_cast<int64_t>(monitor->reset(a.subspan(2))));
  } else if (iequals(a[1], "doctor") && a.size() == 2) {
    w.verbatim(latency_report(monitor->events(),
                              p.settings->latency_threshold_ms.load()));
  } else if (iequals(a[1], "graph") && a.size() == 3) {
    auto e = monitor->event(a[2]);
    if (!e) {
      w.error("ERR No samples available for event '" +
              std::string(a[2].substr(0, 128)) + "'");
      return;
    }
    w.verbatim(latency_graph(*e, now_s));
  } else if (iequals(a[1], "histogram")) {
    // Every command that ran, or those named (a command with subcommands
    // stands for each of them).
    const StatSlots& slots = StatSlots::get();
    std::vector<std::pair<size_t, CommandStats::Totals>> shown;
    for (size_t i = 0; i < slots.size(); ++i) {
      const std::string& name = slots.name(i);
      bool named = a.size() == 2;
      for (size_t k = 2; k < a.size() && !named; ++k) {
        named = iequals(name, a[k]) ||
                (name.size() > a[k].size() && name[a[k].size()] == '|' &&
                 iequals(name.substr(0, a[k].size()), a[k]));
      }
      if (!named) continue;
      auto t = p.stats->totals(i);
      if (!t.histogram.empty()) shown.emplace_back(i, std::move(t));
    }
    w.map(shown.size());
    for (const auto& [i, t] : shown) {
      w.bulk(slots.name(i));
      write_histogram(t, w);
    }
  } else if (iequals(a[1], "help") && a.size() == 2) {
    constexpr std::string_view kHelp[] = {
        "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "DOCTOR",
        "    Return a human readable latency analysis report.",
        "GRAPH <event>",
        "    Return a latency graph for the <event> as a text.",
        "HISTORY <event>",
        "    Return time-latency samples for the <event> class.",
        "LATEST",
        "    Return the latest latency samples for all events.",
        "RESET [<event> ...]",
        "    Reset latency data of one or more <event> classes.",
        "    (default: reset all data for all event classes)",
        "HISTOGRAM [COMMAND ...]",
        "    Return a cumulative distribution of latencies in the format of "
        "a histogram for the specified command names.",
        "    If no commands are specified then all histograms are replied.",
        "HELP",
        "    Print this help."};
    write_help(kHelp, w);
  } else {
    unknown_subcommand("LATENCY", a[1], w);
  }
}

// One of Redis 7's key specs: keys from args[index], up to lastkey (-1: the
// last argument; else relative to index), every step-th, used as `access`
// says.
void write_key_spec(uint8_t access, int index, int lastkey, int step,
                    ReplyWriter& w) {
  std::vector<std::string_view> flags;
  if (access == (acl::kKeyRead | acl::kKeyWrite)) {
    flags = {"RW", "ACCESS", "UPDATE"};
  } else if (access == acl::kKeyWrite) {
    flags = {"OW", "UPDATE"};
  } else if (access == acl::kKeyRead) {
    flags = {"RO", "ACCESS"};
  } else {
    flags = {"RO"};
  }
  w.map(3);
  w.bulk("flags");
  w.set(flags.size());
  for (auto f : flags) w.simple(f);
  w.bulk("begin_search");
  w.map(2);
  w.bulk("type");
  w.bulk("index");
  w.bulk("spec");
  w.map(1);
  w.bulk("index");
  w.integer(index);
  w.bulk("find_keys");
  w.map(2);
  w.bulk("type");
  w.bulk("range");
  w.bulk("spec");
  w.map(3);
  w.bulk("lastkey");
  w.integer(lastkey);
  w.bulk("keystep");
  w.integer(step);
  w.bulk("limit");
  w.integer(0);
}

void write_command_info(const Command& c, ReplyWriter& w) {
  w.array(10);
  w.bulk(c.name);
  w.integer(c.arity);
  w.set(static_cast<size_t>(std::popcount(c.flags)));
  for (size_t i = 0; i < kFlagNames.size(); ++i) {
    if ((c.flags & (1u << i)) != 0) w.simple(kFlagNames[i]);
  }
  w.integer(c.keys.first);
  w.integer(c.keys.last);
  w.integer(c.keys.step);
  uint32_t cats = acl::command_categories(c);
  w.set(static_cast<size_t>(std::popcount(cats)));
  for (size_t i = 0; i < acl::kCategoryNames.size(); ++i) {
    if ((cats & (1u << i)) != 0)
      w.simple("@" + std::string(acl::kCategoryNames[i]));
  }
  w.array(0);  // tips
  // Key specs: one range, or one per key when the keys are used
  // differently (COPY and RENAME read the first and write the second).
  const KeySpec& k = c.keys;
  if (k.first == 0) {
    w.array(0);
  } else {
    uint8_t first = acl::key_access(c, {}, static_cast<size_t>(k.first));
    uint8_t second =
        acl::key_access(c, {}, static_cast<size_t>(k.first + k.step));
    if (k.last == k.first + k.step && first != second) {
      w.array(2);
      write_key_spec(first, k.first, 0, 1, w);
      write_key_spec(second, k.last, 0, 1, w);
    } else {
      w.array(1);
      write_key_spec(first, k.first, k.last < 0 ? k.last : k.last - k.first,
                     k.step, w);
    }
  }
  w.array(0);  // subcommands
}

void cmd_command(Session&, Args a, ReplyWriter& w) {
  auto table = command_table();
  if (a.size() == 1) {
    w.array(table.size());
    for (const auto& c : table) write_command_info(c, w);
  } else if (iequals(a[1], "count")) {
    w.integer(static_cast<int64_t>(table.size()));
  } else if (iequals(a[1], "info")) {
    w.array(a.size() - 2);
    for (size_t i = 2; i < a.size(); ++i) {
      if (const Command* c = find_command(a[i])) {
        write_command_info(*c, w);
      } else {
        w.null_array();
      }
    }
  } else if (iequals(a[1], "list") && a.size() == 2) {
    w.array(table.size());
    for (const auto& c : table) w.bulk(c.name);
  } else if (iequals(a[1], "docs")) {
    // Each command's summary; every command, or those named.
    std::vector<const Command*> docs;
    if (a.size() == 2) {
      for (const auto& c : table) docs.push_back(&c);
    } else {
      for (size_t i = 2; i < a.size(); ++i) {
        if (const Command* c = find_command(a[i])) docs.push_back(c);
      }
    }
    w.map(docs.size());
    for (const Command* c : docs) {
      w.bulk(c->name);
      w.map(2);
      w.bulk("summary");
      w.bulk(c->summary);
      w.bulk("group");
      w.bulk((c->flags & kFlagPubSub) != 0 ? "pubsub" : "generic");
    }
  } else if (iequals(a[1], "getkeys") && a.size() > 2) {
    Args call = a.subspan(2);
    const Command* c = find_command(call[0]);
    auto n = static_cast<int>(call.size());
    if (c == nullptr) {
      w.error("ERR Invalid command specified");
    } else if ((c->arity > 0 && n != c->arity) ||
               (c->arity < 0 && n < -c->arity)) {
      w.error("ERR Invalid number of arguments specified for command");
    } else if (c->keys.first == 0) {
      w.error("ERR The command has no key arguments");
    } else {
      int last = c->keys.last < 0 ? n + c->keys.last : c->keys.last;
      std::vector<std::string_view> keys;
      for (int i = c->keys.first; i <= last && i < n; i += c->keys.step) {
        keys.push_back(call[static_cast<size_t>(i)]);
      }
      w.array(keys.size());
      for (auto k : keys) w.bulk(k);
    }
  } else {
    w.error("ERR unknown subcommand '" + std::string(a[1].substr(0, 32)) +
            "'. Try COMMAND HELP.");
  }
}

void cmd_help(Session&, Args, ReplyWriter& w) {
  auto table = command_table();
  w.array(table.size());
  for (const auto& c : table) {
    std::string line = ascii_upper(c.name);
    line += " - ";
    line += c.summary;
    w.simple(line);
  }
}

constexpr Command kCommands[] = {
    {.name = "get",
     .arity = 2,
     .flags = flags("readonly fast"),
     .keys = {1, 1, 1},
     .acl = acl::categories("string"),
     .summary = "GET key: the value, or nil",
     .run = cmd_get},
    {.name = "set",
     .arity = -3,
     .flags = flags("write denyoom"),
     .keys = {1, 1, 1},
     .acl = acl::categories("string"),
     .summary =
         "SET key value [NX|XX] [GET] [EX s|PX ms|EXAT t|PXAT t|KEEPTTL]",
     .run = cmd_set},
    {.name = "setex",
     .arity = 4,
     .flags = flags("write denyoom"),
     .keys = {1, 1, 1},
     .acl = acl::categories("string"),
     .summary = "SETEX key seconds value: SET with a TTL",
     .run = cmd_setex},
    {.name = "psetex",
     .arity = 4,
     .flags = flags("write denyoom"),
     .keys = {1, 1, 1},
     .acl = acl::categories("string"),
     .summary = "PSETEX key milliseconds value: SET with a TTL",
     .run = cmd_psetex},
    {.name = "getex",
     .arity = -2,
     .flags = flags("write fast"),
     .keys = {1, 1, 1},
     .acl = acl::categories("string"),
     .summary = "GETEX key [EX s|PX ms|EXAT t|PXAT t|PERSIST]: GET, set TTL",
     .run = cmd_getex},
    {.name = "expire",
     .arity = -3,
     .flags = flags("write fast"),
     .keys = {1, 1, 1},
     .acl = acl::categories("keyspace"),
     .summary = "EXPIRE key seconds [NX|XX|GT|LT]: expire on every server",
     .run = cmd_expire},
    {.name = "pexpire",
     .arity = -3,
     .flags = flags("write fast"),
     .keys = {1, 1, 1},
     .acl = acl::categories("keyspace"),
     .summary = "PEXPIRE key milliseconds [NX|XX|GT|LT]",
     .run = cmd_pexpire},
    {.name = "expireat",
     .arity = -3,
     .flags = flags("write fast"),
     .keys = {1, 1, 1},
     .acl = acl::categories("keyspace"),
     .summary = "EXPIREAT key unix-seconds [NX|XX|GT|LT]",
     .run = cmd_expireat},
    {.name = "pexpireat",
     .arity = -3,
     .flags = flags("write fast"),
     .keys = {1, 1, 1},
     .acl = acl::categories("keyspace"),
     .summary = "PEXPIREAT key unix-milliseconds [NX|XX|GT|LT]",
     .run = cmd_pexpireat},
    {.name = "persist",
     .arity = 2,
     .flags = flags("write fast"),
     .keys = {1, 1, 1},
     .acl = acl::categories("keyspace"),
     .summary = "PERSIST key: drop the key's TTL",
     .run = cmd_persist},
    {.name = "ttl",
     .arity = 2,
     .flags = flags("readonly fast"),
     .keys = {1, 1, 1},
     .acl = acl::categories("keyspace"),
     .summary = "TTL key: seconds left, -1 without TTL, -2 absent",
     .run = cmd_ttl},
    {.name = "pttl",
     .arity = 2,
     .flags = flags("readonly fast"),
     .keys = {1, 1, 1},
     .acl = acl::categories("keyspace"),
     .summary = "PTTL key: milliseconds left",
     .run = cmd_pttl},
    {.name = "expiretime",
     .arity = 2,
     .flags = flags("readonly fast"),
     .keys = {1, 1, 1},
     .acl = acl::categories("keyspace"),
     .summary = "EXPIRETIME key: when it expires, in Unix seconds",
     .run = cmd_expiretime},
    {.name = "pexpiretime",
     .arity = 2,
     .flags = flags("readonly fast"),
     .keys = {1, 1, 1},
     .acl = acl::categories("keyspace"),
     .summary = "PEXPIRETIME key: when it expires, in Unix milliseconds",
     .run = cmd_pexpiretime},
    {.name = "incr",
     .arity = 2,
     .flags = flags("write denyoom fast"),
     .keys = {1, 1, 1},
     .acl = acl::categories("string"),
     .summary = "INCR key: add 1 to a counter that adds up across servers",
     .run = cmd_incr},
    {.name = "setbit",
     .arity = 4,
     .flags = flags("write denyoom"),
     .keys = {1, 1, 1},
     .acl = acl::categories("bitmap"),
     .summary = "SETBIT key offset 0|1: set one bit; answers the old one",
     .run = cmd_setbit},
    {.name = "getbit",
     .arity = 3,
     .flags = flags("readonly fast"),
     .keys = {1, 1, 1},
     .acl = acl::categories("bitmap"),
     .summary = "GETBIT key offset: one bit of the value (0 past its end)",
     .run = cmd_getbit},
    {.name = "decr",
     .arity = 2,
     .flags = flags("write denyoom fast"),
     .keys = {1, 1, 1},
     .acl = acl::categories("string"),
     .summary = "DECR key: take 1 from the counter",
     .run = cmd_decr},
    {.name = "incrby",
     .arity = 3,
     .flags = flags("write denyoom fast"),
     .keys = {1, 1, 1},
     .acl = acl::categories("string"),
     .summary = "INCRBY key n: add n to the counter",
     .run = cmd_incrby},
    {.name = "decrby",
     .arity = 3,
     .flags = flags("write denyoom fast"),
     .keys = {1, 1, 1},
     .acl = acl::categories("string"),
     .summary = "DECRBY key n: take n from the counter",
     .run = cmd_decrby},
    {.name = "incrbyfloat",
     .arity = 3,
     .flags = flags("write denyoom fast"),
     .keys = {1, 1, 1},
     .acl = acl::categories("string"),
     .summary = "INCRBYFLOAT key x: add x to a counter that adds up across "
                "servers; the new total",
     .run = cmd_incrbyfloat},
    {.name = "setnx",
     .arity = 3,
     .flags = flags("write denyoom fast"),
     .keys = {1, 1, 1},
     .acl = acl::categories("string"),
     .summary = "SETNX key value: set if absent here; 1 or 0",
     .run = cmd_setnx},
    {.name = "getset",
     .arity = 3,
     .flags = flags("write denyoom fast"),
     .keys = {1, 1, 1},
     .acl = acl::categories("string"),
     .summary = "GETSET key value: set, answering the old value",
     .run = cmd_getset},
    {.name = "getdel",
     .arity = 2,
     .flags = flags("write fast"),
     .keys = {1, 1, 1},
     .acl = acl::categories("string"),
     .summary = "GETDEL key: the value, then delete it",
     .run = cmd_getdel},
    {.name = "mset",
     .arity = -3,
     .flags = flags("write denyoom"),
     .keys = {1, -1, 2},
     .acl = acl::categories("string"),
     .summary = "MSET key value [key value ...]: set them all",
     .run = cmd_mset},
    {.name = "msetnx",
     .arity = -3,
     .flags = flags("write denyoom"),
     .keys = {1, -1, 2},
     .acl = acl::categories("string"),
     .summary = "MSETNX key value [key value ...]: all if none exists here",
     .run = cmd_msetnx},
    {.name = "append",
     .arity = 3,
     .flags = flags("write denyoom fast"),
     .keys = {1, 1, 1},
     .acl = acl::categories("string"),
     .summary = "APPEND key text: the new length",
     .run = cmd_append},
    {.name = "setrange",
     .arity = 4,
     .flags = flags("write denyoom"),
     .keys = {1, 1, 1},
     .acl = acl::categories("string"),
     .summary = "SETRANGE key offset text: overwrite from offset",
     .run = cmd_setrange},
    {.name = "strlen",
     .arity = 2,
     .flags = flags("readonly fast"),
     .keys = {1, 1, 1},
     .acl = acl::categories("string"),
     .summary = "STRLEN key: the value's length in bytes",
     .run = cmd_strlen},
    {.name = "getrange",
     .arity = 4,
     .flags = flags("readonly"),
     .keys = {1, 1, 1},
     .acl = acl::categories("string"),
     .summary = "GETRANGE key start end: a slice (end inclusive)",
     .run = cmd_getrange},
    {.name = "substr",
     .arity = 4,
     .flags = flags("readonly"),
     .keys = {1, 1, 1},
     .acl = acl::categories("string"),
     .summary = "SUBSTR key start end: GETRANGE's old name",
     .run = cmd_getrange},
    {.name = "lcs",
     .arity = -3,
     .flags = flags("readonly"),
     .keys = {1, 2, 1},
     .acl = acl::categories("string"),
     .summary = "LCS key1 key2 [LEN] [IDX] [MINMATCHLEN n] [WITHMATCHLEN]",
     .run = cmd_lcs},
    {.name = "type",
     .arity = 2,
     .flags = flags("readonly fast"),
     .keys = {1, 1, 1},
     .acl = acl::categories("keyspace"),
     .summary = "TYPE key: string, or none",
     .run = cmd_type},
    {.name = "rename",
     .arity = 3,
     .flags = flags("write"),
     .keys = {1, 2, 1},
     .acl = acl::categories("keyspace"),
     .summary = "RENAME key newkey: move the value and its TTL",
     .run = cmd_rename},
    {.name = "renamenx",
     .arity = 3,
     .flags = flags("write fast"),
     .keys = {1, 2, 1},
     .acl = acl::categories("keyspace"),
     .summary = "RENAMENX key newkey: rename if newkey is absent here",
     .run = cmd_renamenx},
    {.name = "copy",
     .arity = -3,
     .flags = flags("write denyoom"),
     .keys = {1, 2, 1},
     .acl = acl::categories("keyspace"),
     .summary = "COPY source destination [DB 0] [REPLACE]",
     .run = cmd_copy},
    {.name = "unlink",
     .arity = -2,
     .flags = flags("write fast"),
     .keys = {1, -1, 1},
     .acl = acl::categories("keyspace"),
     .summary = "UNLINK key [key ...]: DEL (memory is freed in steps anyway)",
     .run = cmd_del},
    {.name = "touch",
     .arity = -2,
     .flags = flags("readonly fast"),
     .keys = {1, -1, 1},
     .acl = acl::categories("keyspace"),
     .summary = "TOUCH key [key ...]: how many exist",
     .run = cmd_exists},
    {.name = "time",
     .arity = 1,
     .flags = flags("loading stale fast"),
     .keys = {},
     .summary = "TIME: this server's clock, seconds and microseconds",
     .run = cmd_time},
    {.name = "del",
     .arity = -2,
     .flags = flags("write"),
     .keys = {1, -1, 1},
     .acl = acl::categories("keyspace"),
     .summary = "DEL key [key ...]: delete; count of keys that existed",
     .run = cmd_del},
    {.name = "exists",
     .arity = -2,
     .flags = flags("readonly fast"),
     .keys = {1, -1, 1},
     .acl = acl::categories("keyspace"),
     .summary = "EXISTS key [key ...]: how many exist",
     .run = cmd_exists},
    {.name = "mget",
     .arity = -2,
     .flags = flags("readonly fast"),
     .keys = {1, -1, 1},
     .summary = "MGET key [key ...]: values or nils",
     .run = cmd_mget},
    {.name = "list",
     .arity = -1,
     .flags = flags("readonly"),
     .keys = {},
     .acl = acl::categories("keyspace"),
     .summary = "LIST [prefix]: key, value, ... sorted by key",
     .run = cmd_list},
    {.name = "keys",
     .arity = 2,
     .flags = flags("readonly"),
     .keys = {},
     .acl = acl::categories("keyspace dangerous"),
     .summary = "KEYS pattern: matching keys (prefix* is fast)",
     .run = cmd_keys},
    {.name = "scan",
     .arity = -2,
     .flags = flags("readonly"),
     .keys = {},
     .acl = acl::categories("keyspace"),
     .summary = "SCAN cursor [MATCH pattern] [COUNT n]: iterate keys",
     .run = cmd_scan},
    {.name = "randomkey",
     .arity = 1,
     .flags = flags("readonly"),
     .keys = {},
     .acl = acl::categories("keyspace"),
     .summary = "RANDOMKEY: a key picked at random, or nil",
     .run = cmd_randomkey},
    {.name = "clock",
     .arity = -1,
     .flags = flags("fast"),
     .keys = {},
     .summary = "CLOCK [hlc]: this port's hybrid clock, after observing hlc",
     .run = cmd_clock},
    {.name = "dbsize",
     .arity = 1,
     .flags = flags("readonly fast"),
     .keys = {},
     .acl = acl::categories("keyspace"),
     .summary = "DBSIZE: keys in this replica",
     .run = cmd_dbsize},
    {.name = "flushall",
     .arity = -1,
     .flags = flags("write"),
     .keys = {},
     .acl = acl::categories("keyspace dangerous"),
     .summary = "FLUSHALL [ASYNC|SYNC]: clear every key on every server",
     .run = cmd_flush},
    {.name = "flushdb",
     .arity = -1,
     .flags = flags("write"),
     .keys = {},
     .acl = acl::categories("keyspace dangerous"),
     .summary = "FLUSHDB [ASYNC|SYNC]: the same as FLUSHALL (one database)",
     .run = cmd_flush},
    {.name = "save",
     .arity = 1,
     .flags = flags("admin noscript no_multi"),
     .keys = {},
     .summary = "SAVE: a snapshot of the whole server, answered once on disk",
     .run = cmd_save},
    {.name = "bgsave",
     .arity = -1,
     .flags = flags("admin noscript"),
     .keys = {},
     .summary = "BGSAVE: start a snapshot in the background",
     .run = cmd_bgsave},
    {.name = "lastsave",
     .arity = 1,
     .flags = flags("fast"),
     .keys = {},
     .acl = acl::categories("dangerous"),
     .summary = "LASTSAVE: Unix time of the last snapshot",
     .run = cmd_lastsave},
    {.name = "info",
     .arity = -1,
     .flags = flags("loading stale"),
     .keys = {},
     .acl = acl::categories("dangerous"),
     .summary = "INFO [section ...]: server, clients, memory, persistence, "
                "stats, replication, cpu, keyspace, replica, cluster, actors",
     .run = cmd_info},
    {.name = "ping",
     .arity = -1,
     .flags = flags("fast stale"),
     .keys = {},
     .acl = acl::categories("connection"),
     .summary = "PING [message]",
     .run = cmd_ping},
    {.name = "echo",
     .arity = 2,
     .flags = flags("fast stale"),
     .keys = {},
     .acl = acl::categories("connection"),
     .summary = "ECHO message",
     .run = cmd_echo},
    {.name = "multi",
     .arity = 1,
     .flags = flags("noscript loading stale fast"),
     .keys = {},
     .acl = acl::categories("transaction"),
     .summary = "MULTI: queue commands until EXEC runs them at once",
     .run = cmd_multi},
    {.name = "exec",
     .arity = 1,
     .flags = flags("noscript loading stale"),
     .keys = {},
     .acl = acl::categories("transaction"),
     .summary = "EXEC: run the queued commands in one turn of the actor",
     .run = cmd_exec},
    {.name = "discard",
     .arity = 1,
     .flags = flags("noscript loading stale fast"),
     .keys = {},
     .acl = acl::categories("transaction"),
     .summary = "DISCARD: drop the queued commands",
     .run = cmd_discard},
    {.name = "watch",
     .arity = -2,
     .flags = flags("noscript loading stale fast"),
     .keys = {1, -1, 1},
     .acl = acl::categories("transaction"),
     .summary = "WATCH key [key ...]: EXEC does nothing if one changes here",
     .run = cmd_watch},
    {.name = "unwatch",
     .arity = 1,
     .flags = flags("noscript loading stale fast"),
     .keys = {},
     .acl = acl::categories("transaction"),
     .summary = "UNWATCH: forget the watched keys",
     .run = cmd_unwatch},
    {.name = "auth",
     .arity = -2,
     .flags = flags("noscript loading stale fast no_auth"),
     .keys = {},
     .acl = acl::categories("connection"),
     .summary = "AUTH [username] password: sign in as the default user",
     .run = cmd_auth},
    {.name = "hello",
     .arity = -1,
     .flags = flags("fast stale loading no_auth"),
     .keys = {},
     .acl = acl::categories("connection"),
     .summary = "HELLO [2|3 [AUTH user pass] [SETNAME name]]: pick RESP2/3",
     .run = cmd_hello},
    {.name = "reset",
     .arity = 1,
     .flags = flags("fast stale loading no_auth"),
     .keys = {},
     .acl = acl::categories("connection"),
     .summary = "RESET: protocol 2, no subscriptions, no name",
     .run = cmd_reset},
    {.name = "subscribe",
     .arity = -2,
     .flags = flags("pubsub stale loading"),
     .keys = {},
     .summary = "SUBSCRIBE channel [channel ...]: messages from every server",
     .run = cmd_subscribe},
    {.name = "unsubscribe",
     .arity = -1,
     .flags = flags("pubsub stale loading"),
     .keys = {},
     .summary = "UNSUBSCRIBE [channel ...]: from the channels, or all",
     .run = cmd_unsubscribe},
    {.name = "psubscribe",
     .arity = -2,
     .flags = flags("pubsub stale loading"),
     .keys = {},
     .summary = "PSUBSCRIBE pattern [pattern ...]: channels matching a glob",
     .run = cmd_psubscribe},
    {.name = "punsubscribe",
     .arity = -1,
     .flags = flags("pubsub stale loading"),
     .keys = {},
     .summary = "PUNSUBSCRIBE [pattern ...]: from the patterns, or all",
     .run = cmd_punsubscribe},
    {.name = "publish",
     .arity = 3,
     .flags = flags("pubsub loading stale fast"),
     .keys = {},
     .summary = "PUBLISH channel message: to subscribers on every server; "
                "receivers here",
     .run = cmd_publish},
    {.name = "pubsub",
     .arity = -2,
     .flags = flags("pubsub loading stale"),
     .keys = {},
     .summary = "PUBSUB CHANNELS [pattern]|NUMSUB [channel ...]|NUMPAT",
     .run = cmd_pubsub},
    {.name = "quit",
     .arity = -1,
     .flags = flags("fast stale loading no_auth"),
     .keys = {},
     .acl = acl::categories("connection"),
     .summary = "QUIT: close the connection",
     .run = cmd_quit},
    {.name = "select",
     .arity = 2,
     .flags = flags("fast stale loading"),
     .keys = {},
     .acl = acl::categories("connection"),
     .summary = "SELECT 0 (one database)",
     .run = cmd_select},
    {.name = "monitor",
     .arity = 1,
     .flags = flags("admin noscript loading stale no_multi"),
     .keys = {},
     .summary = "MONITOR: every command of every connection, as it runs",
     .run = cmd_monitor},
    {.name = "acl",
     .arity = -2,
     .flags = flags("stale loading"),
     .keys = {},
     .summary =
         "ACL WHOAMI|CAT|USERS|LIST|GETUSER|SETUSER|DELUSER|SIGNUP|LOAD|SAVE",
     .run = cmd_acl},
    {.name = "client",
     .arity = -2,
     .flags = flags("stale loading"),
     .keys = {},
     .acl = acl::categories("connection"),
     .summary =
         "CLIENT SETNAME|SETINFO|GETNAME|ID|INFO|LIST|KILL|REPLY|NO-EVICT",
     .run = cmd_client},
    {.name = "config",
     .arity = -2,
     .flags = flags("admin stale loading"),
     .keys = {},
     .summary = "CONFIG GET pattern | SET name value ... | RESETSTAT",
     .run = cmd_config},
    {.name = "cluster",
     .arity = -2,
     .flags = flags("admin stale"),
     .keys = {},
     .summary = "CLUSTER FORGET host:port: drop a dead member for good",
     .run = cmd_cluster},
    {.name = "slowlog",
     .arity = -2,
     .flags = flags("admin loading stale"),
     .keys = {},
     .summary = "SLOWLOG GET [count] | LEN | RESET: the slowest commands",
     .run = cmd_slowlog},
    {.name = "latency",
     .arity = -2,
     .flags = flags("admin noscript loading stale"),
     .keys = {},
     .summary =
         "LATENCY LATEST | HISTORY e | RESET [e ...] | DOCTOR | GRAPH e | "
         "HISTOGRAM [cmd ...]",
     .run = cmd_latency},
    {.name = "command",
     .arity = -1,
     .flags = flags("stale loading"),
     .keys = {},
     .acl = acl::categories("connection"),
     .summary = "COMMAND [COUNT|INFO|DOCS]",
     .run = cmd_command},
    {.name = "help",
     .arity = 1,
     .flags = flags("fast stale"),
     .keys = {},
     .acl = acl::categories("connection"),
     .summary = "HELP: this list",
     .run = cmd_help},
};

}  // namespace

std::span<const Command> command_table() { return kCommands; }

const Command* find_command(std::string_view name) {
  // Built once, on first use (thread-safe static initialisation).
  static const absl::flat_hash_map<std::string_view, const Command*> by_name =
      [] {
        absl::flat_hash_map<std::string_view, const Command*> m;
        for (const auto& c : kCommands) m.emplace(c.name, &c);
        return m;
      }();
  constexpr size_t kLongestName = 32;
  if (name.size() > kLongestName) return nullptr;
  char buf[kLongestName];
  for (size_t i = 0; i < name.size(); ++i) buf[i] = ascii_lower(name[i]);
  auto it = by_name.find(std::string_view(buf, name.size()));
  return it == by_name.end() ? nullptr : it->second;
}

void write_unknown_command(Args args, ReplyWriter& w) {
  std::string msg = "ERR unknown command '" +
                    std::string(args[0].substr(0, 128)) +
                    "', with args beginning with: ";
  for (size_t i = 1; i < args.size() && msg.size() < 128; ++i) {
    msg += "'" +
           std::string(
               args[i].substr(0, 128 - std::min<size_t>(msg.size(), 127))) +
           "' ";
  }
  // A reply line must not contain CR or LF.
  std::replace_if(
      msg.begin(), msg.end(), [](char c) { return c == '\r' || c == '\n'; },
      ' ');
  w.error(msg);
}

bool runs_in_multi(const Command& c) {
  constexpr std::string_view kNow[] = {"exec",  "discard", "multi",
                                       "watch", "quit",    "reset"};
  return std::find(std::begin(kNow), std::end(kNow), c.name) != std::end(kNow);
}

bool check_subscribed_context(const Command& c, const Session& s,
                              ReplyWriter& w) {
  if (s.protocol() != 2 || s.subscriptions() == 0) return true;
  constexpr std::string_view kAllowed[] = {
      "subscribe", "unsubscribe", "psubscribe", "punsubscribe",
      "ping",      "quit",        "reset"};
  if (std::find(std::begin(kAllowed), std::end(kAllowed), c.name) !=
      std::end(kAllowed)) {
    return true;
  }
  w.error("ERR Can't execute '" + std::string(c.name) +
          "': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET "
          "are allowed in this context");
  return false;
}

bool check_arity(const Command& c, Args args, ReplyWriter& w) {
  auto n = static_cast<int>(args.size());
  if ((c.arity > 0 && n != c.arity) || (c.arity < 0 && n < -c.arity)) {
    w.error("ERR wrong number of arguments for '" + std::string(c.name) +
            "' command");
    return false;
  }
  return true;
}

}  // namespace cmud::server
