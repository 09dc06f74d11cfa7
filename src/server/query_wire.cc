#include "query_wire.h"

#include <cstring>

namespace cmud::server {

OpView OpView::get(std::string_view key) {
  OpView op;
  op.kind_ = OpKind::kGet;
  op.a_ = key;
  return op;
}

OpView OpView::set(std::string_view key, std::string_view value) {
  OpView op;
  op.kind_ = OpKind::kSet;
  op.a_ = key;
  op.b_ = value;
  return op;
}

OpView OpView::mget(std::span<const std::string_view> keys) {
  OpView op;
  op.kind_ = OpKind::kMGet;
  op.keys_.assign(keys.begin(), keys.end());
  return op;
}

OpView OpView::del(std::span<const std::string_view> keys) {
  OpView op = mget(keys);
  op.kind_ = OpKind::kDel;
  return op;
}

OpView OpView::exists(std::span<const std::string_view> keys) {
  OpView op = mget(keys);
  op.kind_ = OpKind::kExists;
  return op;
}

OpView OpView::list(std::string_view prefix) {
  OpView op;
  op.kind_ = OpKind::kList;
  op.a_ = prefix;
  return op;
}

OpView OpView::keys_matching(std::string_view pattern) {
  OpView op;
  op.kind_ = OpKind::kKeys;
  op.b_ = pattern;
  return op;
}

OpView OpView::scan(std::optional<std::string_view> after,
                    std::string_view pattern, uint64_t count) {
  OpView op;
  op.kind_ = OpKind::kScan;
  op.has_after_ = after.has_value();
  op.a_ = after.value_or(std::string_view());
  op.b_ = pattern;
  op.n_ = count;
  return op;
}

OpView OpView::dbsize() {
  OpView op;
  op.kind_ = OpKind::kDbSize;
  return op;
}

OpView OpView::info() {
  OpView op;
  op.kind_ = OpKind::kInfo;
  return op;
}

OpView OpView::persist(PersistOp what) {
  OpView op;
  op.kind_ = OpKind::kPersist;
  op.n_ = static_cast<uint64_t>(what);
  return op;
}

OpView OpView::flush() {
  OpView op;
  op.kind_ = OpKind::kFlush;
  return op;
}

OpView OpView::incr(std::string_view key, int64_t delta) {
  OpView op;
  op.kind_ = OpKind::kIncr;
  op.a_ = key;
  op.n_ = static_cast<uint64_t>(delta);
  return op;
}

OpView OpView::incr_float(std::string_view key, std::string_view increment) {
  OpView op;
  op.kind_ = OpKind::kIncrFloat;
  op.a_ = key;
  op.b_ = increment;
  return op;
}

OpView OpView::set_with(std::string_view key, std::string_view value,
                        uint8_t flags, uint64_t when) {
  OpView op;
  op.kind_ = OpKind::kSetWith;
  op.a_ = key;
  op.b_ = value;
  op.flags_ = flags;
  op.n_ = when;
  return op;
}

OpView OpView::expire(std::string_view key, uint8_t flags, uint64_t when) {
  OpView op;
  op.kind_ = OpKind::kExpire;
  op.a_ = key;
  op.flags_ = flags;
  op.n_ = when;
  return op;
}

OpView OpView::ttl(std::string_view key, uint8_t flags) {
  OpView op;
  op.kind_ = OpKind::kTtl;
  op.a_ = key;
  op.flags_ = flags;
  return op;
}

OpView OpView::publish(std::string_view channel, std::string_view message) {
  OpView op;
  op.kind_ = OpKind::kPublish;
  op.a_ = channel;
  op.b_ = message;
  return op;
}

OpView OpView::edit(std::string_view key, std::string_view arg, uint8_t what,
                    uint64_t n) {
  OpView op;
  op.kind_ = OpKind::kEdit;
  op.a_ = key;
  op.b_ = arg;
  op.flags_ = what;
  op.n_ = n;
  return op;
}

OpView OpView::mset(std::span<const std::string_view> pairs, bool nx) {
  OpView op = mget(pairs);
  op.kind_ = OpKind::kMSet;
  op.flags_ = nx ? kMSetNx : 0;
  return op;
}

OpView OpView::watch(std::span<const std::string_view> keys) {
  OpView op = mget(keys);
  op.kind_ = OpKind::kWatch;
  return op;
}

OpView OpView::check(std::span<const std::string_view> pairs) {
  OpView op = mget(pairs);
  op.kind_ = OpKind::kCheck;
  return op;
}

OpView OpView::random_key() {
  OpView op;
  op.kind_ = OpKind::kRandomKey;
  return op;
}

OpView OpView::clock(uint64_t hlc) {
  OpView op;
  op.kind_ = OpKind::kClock;
  op.n_ = hlc;
  return op;
}

OpView OpView::forget(std::string_view member) {
  OpView op;
  op.kind_ = OpKind::kForget;
  op.a_ = member;
  return op;
}

OpView OpView::end_check() {
  OpView op;
  op.kind_ = OpKind::kEndCheck;
  return op;
}

// op: u8 kind, u8 has_after, u8 flags, bytes a, bytes b, u64 n, varint k,
// k x bytes
void append_op(QueryRequest& request, const OpView& op) {
  codec::Writer w(request.ops);
  w.fixed(static_cast<uint8_t>(op.kind_));
  w.fixed<uint8_t>(op.has_after_ ? 1 : 0);
  w.fixed(op.flags_);
  w.bytes(op.a_);
  w.bytes(op.b_);
  w.fixed(op.n_);
  w.varint(op.keys_.size());
  for (auto k : op.keys_) w.bytes(k);
  ++request.count;
}

bool read_op(codec::Reader& r, OpView& op) {
  uint8_t kind = 0, has_after = 0;
  uint64_t n = 0;
  if (!r.fixed(kind) || kind > static_cast<uint8_t>(OpKind::kForget) ||
      !r.fixed(has_after) || has_after > 1 || !r.fixed(op.flags_) ||
      !r.view(op.a_) || !r.view(op.b_) || !r.fixed(op.n_) || !r.count(n)) {
    return r.fail();
  }
  op.kind_ = static_cast<OpKind>(kind);
  if (op.kind_ == OpKind::kPersist &&
      op.n_ > static_cast<uint64_t>(PersistOp::kLastSave)) {
    return r.fail();
  }
  if ((op.kind_ == OpKind::kEdit &&
       (op.flags_ < OpView::kEditAppend || op.flags_ > OpView::kEditSetBit)) ||
      ((op.kind_ == OpKind::kMSet || op.kind_ == OpKind::kCheck) &&
       n % 2 != 0)) {
    return r.fail();
  }
  op.has_after_ = has_after != 0;
  op.keys_.resize(n);
  for (auto& k : op.keys_) {
    if (!r.view(k)) return false;
  }
  return true;
}

// result: u8 shape, i64 n, bytes text, u32 k, k x (u8 present, [bytes])
void ResultWriter::write(ResultShape shape, int64_t n, std::string_view value,
                         bool open) {
  codec::Writer w(reply_.results);
  w.fixed(static_cast<uint8_t>(shape));
  took_at_ = reply_.results.size();
  w.fixed<uint64_t>(0);
  w.fixed(n);
  w.bytes(value);
  count_at_ = reply_.results.size();
  w.fixed<uint32_t>(0);
  items_ = 0;
  if (!open) ++reply_.count;
}

void ResultWriter::item(std::optional<std::string_view> v) {
  codec::Writer w(reply_.results);
  w.fixed<uint8_t>(v ? 1 : 0);
  if (v) w.bytes(*v);
  ++items_;
}

void ResultWriter::took(uint64_t ns) {
  if (reply_.results.size() < took_at_ + sizeof ns) return;
  std::memcpy(reply_.results.data() + took_at_, &ns, sizeof ns);
}

void ResultWriter::end_items() {
  std::memcpy(reply_.results.data() + count_at_, &items_, sizeof items_);
  ++reply_.count;
}

bool read_result(codec::Reader& r, ResultView& v) {
  uint8_t shape = 0;
  uint32_t n = 0;
  if (!r.fixed(shape) || shape > static_cast<uint8_t>(ResultShape::kSkipped) ||
      !r.fixed(v.took_ns_) || !r.fixed(v.n_) || !r.view(v.text_) ||
      !r.fixed(n) || n > r.remaining()) {
    return r.fail();
  }
  v.shape_ = static_cast<ResultShape>(shape);
  v.items_.clear();
  v.items_.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    uint8_t present = 0;
    std::string_view s;
    if (!r.fixed(present) || present > 1 || (present && !r.view(s))) {
      return r.fail();
    }
    v.items_.push_back(present ? std::optional<std::string_view>(s)
                               : std::nullopt);
  }
  return true;
}

}  // namespace cmud::server
