#include "cmud/kv/store.h"

namespace cmud::kv {

bool Store::apply(std::string_view key, std::string_view value, Version version,
                  bool deleted, uint8_t route) {
  auto it = map_.lower_bound(key);
  if (it != map_.end() && it->first == key) {
    Entry& e = it->second;
    if (!(version > e.version)) return false;
    if (e.deleted && !deleted) ++live_;
    if (!e.deleted && deleted) --live_;
  } else {
    it = map_.emplace_hint(it, std::string(key), Entry{});
    if (!deleted) ++live_;
  }
  Entry& e = it->second;
  e.value.assign(deleted ? std::string_view() : value);
  e.version = version;
  e.deleted = deleted;
  if (route == kRouteNone) {
    e.seq = 0;
  } else {
    e.seq = next_seq_++;
    log_.push_back({e.seq, it, route});
  }
  return true;
}

std::optional<std::string_view> Store::get(std::string_view key) const {
  const Entry* e = find(key);
  if (e == nullptr || e->deleted) return std::nullopt;
  return std::string_view(e->value);
}

const Entry* Store::find(std::string_view key) const {
  auto it = map_.find(key);
  return it == map_.end() ? nullptr : &it->second;
}

void Store::for_each_prefix(
    std::string_view prefix,
    const std::function<bool(const std::string&, const Entry&)>& f) const {
  for (auto it = map_.lower_bound(prefix);
       it != map_.end() && std::string_view(it->first).starts_with(prefix);
       ++it) {
    if (it->second.deleted) continue;
    if (!f(it->first, it->second)) return;
  }
}

std::optional<std::string> Store::walk(
    std::string_view from, bool after,
    const std::function<bool(const std::string&, const Entry&)>& f) const {
  auto it = after ? map_.upper_bound(from) : map_.lower_bound(from);
  std::optional<Map::const_iterator> last;
  for (; it != map_.end(); ++it) {
    if (!f(it->first, it->second)) {
      if (last) return (*last)->first;
      return std::string(from);  // broke the REQUIRES; resume where we began
    }
    last = it;
  }
  return std::nullopt;
}

uint64_t Store::changes_since(
    uint64_t cursor, uint8_t mask,
    const std::function<bool(const std::string&, const Entry&)>& f) const {
  if (log_.empty()) return cursor;
  uint64_t first = log_.front().seq;
  size_t i = cursor < first ? 0 : static_cast<size_t>(cursor - first + 1);
  for (; i < log_.size(); ++i) {
    const Record& r = log_[i];
    bool current = (r.route & mask) != 0 && r.it->second.seq == r.seq;
    if (current && !f(r.it->first, r.it->second)) break;
    cursor = r.seq;
  }
  return cursor;
}

void Store::trim(uint64_t cursor) {
  while (!log_.empty() && log_.front().seq <= cursor) log_.pop_front();
}

}  // namespace cmud::kv
