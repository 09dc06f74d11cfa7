#include "query_wire.h"

#include <cstring>

namespace cmud::server {

// op: u8 kind, u8 flag, bytes key, bytes arg, u64 count, varint n, n x bytes
void append_op(QueryRequest& request, const OpView& op) {
  codec::Writer w(request.ops);
  w.fixed(static_cast<uint8_t>(op.kind));
  w.fixed<uint8_t>(op.flag ? 1 : 0);
  w.bytes(op.key);
  w.bytes(op.arg);
  w.fixed(op.count);
  w.varint(op.keys.size());
  for (auto k : op.keys) w.bytes(k);
  ++request.count;
}

bool read_op(codec::Reader& r, OpView& op) {
  uint8_t kind = 0, flag = 0;
  uint64_t n = 0;
  if (!r.fixed(kind) || kind > static_cast<uint8_t>(OpKind::kDbSize) ||
      !r.fixed(flag) || !r.view(op.key) || !r.view(op.arg) ||
      !r.fixed(op.count) || !r.count(n)) {
    return r.fail();
  }
  op.kind = static_cast<OpKind>(kind);
  op.flag = flag != 0;
  op.keys.resize(n);
  for (auto& k : op.keys) {
    if (!r.view(k)) return false;
  }
  return true;
}

// result: u8 found, i64 n, bytes value, u32 n, n x (u8 present, [bytes])
void ResultWriter::begin(bool found, int64_t n, std::string_view value) {
  codec::Writer w(reply_.results);
  w.fixed<uint8_t>(found ? 1 : 0);
  w.fixed(n);
  w.bytes(value);
  count_at_ = reply_.results.size();
  w.fixed<uint32_t>(0);
  items_ = 0;
}

void ResultWriter::item(std::optional<std::string_view> v) {
  codec::Writer w(reply_.results);
  w.fixed<uint8_t>(v ? 1 : 0);
  if (v) w.bytes(*v);
  ++items_;
}

void ResultWriter::end() {
  std::memcpy(reply_.results.data() + count_at_, &items_, sizeof items_);
  ++reply_.count;
}

bool read_result(codec::Reader& r, ResultView& v) {
  uint8_t found = 0;
  uint32_t n = 0;
  if (!r.fixed(found) || !r.fixed(v.n) || !r.view(v.value) || !r.fixed(n) ||
      n > r.remaining()) {
    return r.fail();
  }
  v.found = found != 0;
  v.list.clear();
  v.list.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    uint8_t present = 0;
    std::string_view s;
    if (!r.fixed(present) || present > 1 || (present && !r.view(s))) {
      return r.fail();
    }
    v.list.push_back(present ? std::optional<std::string_view>(s)
                             : std::nullopt);
  }
  return true;
}

}  // namespace cmud::server
