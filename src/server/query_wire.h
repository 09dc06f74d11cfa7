// The encoding of the ops inside a QueryRequest and of the results inside a
// QueryReply. Views point into the message's buffer: zero-copy on both ends.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cmud/common/codec.h"
#include "messages.h"

namespace cmud::server {

// One op. On the encoding side the views may point anywhere (a session's
// read buffer); decoded, they point into the request. Thread-compatible.
struct OpView {
  OpKind kind = OpKind::kGet;
  bool flag = false;
  std::string_view key;
  std::string_view arg;
  uint64_t count = 0;
  std::vector<std::string_view> keys;
};

// Appends op to request.ops and counts it.
void append_op(QueryRequest& request, const OpView& op);
// Reads the next op into `op` (its keys vector is reused); false on
// malformed bytes.
bool read_op(codec::Reader& r, OpView& op);

// One result: found, n, value and a list of optional strings (LIST, KEYS,
// SCAN items; MGET values). Thread-compatible.
struct ResultView {
  bool found = false;
  int64_t n = 0;
  std::string_view value;
  std::vector<std::optional<std::string_view>> list;
};

// Writes one result into reply.results: begin(), then list items, then
// end(). Thread-compatible.
class ResultWriter {
 public:
  explicit ResultWriter(QueryReply& reply) : reply_(reply) {}
  void begin(bool found = false, int64_t n = 0, std::string_view value = {});
  void item(std::optional<std::string_view> v);
  // REQUIRES: begin() was called; patches the list length.
  void end();
  // begin() + end() with no list.
  void simple(bool found, int64_t n = 0, std::string_view value = {}) {
    begin(found, n, value);
    end();
  }

 private:
  QueryReply& reply_;
  size_t count_at_ = 0;
  uint32_t items_ = 0;
};

// Reads the next result; false on malformed bytes.
bool read_result(codec::Reader& r, ResultView& v);

}  // namespace cmud::server
