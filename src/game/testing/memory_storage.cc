#include "memory_storage.h"

namespace cmud::game::testing {

Status MemoryStorage::check(const std::string& key, bool& apply) {
  ++calls_;
  apply = false;
  if (offline_) return Status(ErrorCode::kUnavailable, "store is offline");
  return faults_.check(key, apply);
}

Result<std::optional<std::string>> MemoryStorage::get(const std::string& key) {
  std::lock_guard lock(mu_);
  bool apply = false;
  if (Status s = check(key, apply); !s.ok()) return s;
  auto it = data_.find(key);
  if (it == data_.end()) return std::optional<std::string>();
  return std::optional<std::string>(it->second);
}

Status MemoryStorage::put(const std::string& key, const std::string& value) {
  std::lock_guard lock(mu_);
  bool apply = false;
  Status s = check(key, apply);
  if (apply) data_[key] = value;
  return s;
}

Result<KeyValues> MemoryStorage::list(const std::string& prefix) {
  std::lock_guard lock(mu_);
  bool apply = false;
  if (Status s = check(prefix, apply); !s.ok()) return s;
  KeyValues out;
  for (auto it = data_.lower_bound(prefix);
       it != data_.end() && it->first.compare(0, prefix.size(), prefix) == 0;
       ++it) {
    out.emplace_back(it->first, it->second);
  }
  return out;
}

Result<bool> MemoryStorage::del(const std::string& key) {
  std::lock_guard lock(mu_);
  bool apply = false;
  Status s = check(key, apply);
  bool existed = apply && data_.erase(key) > 0;
  if (!s.ok()) return s;
  return existed;
}

void MemoryStorage::fail_next(int n, ErrorCode code) {
  inject(
      Fault{.count = n, .code = code, .key_prefix = "", .apply_anyway = false});
}

void MemoryStorage::inject(Fault fault) {
  std::lock_guard lock(mu_);
  faults_.add(std::move(fault));
}

void MemoryStorage::set_offline(bool offline) {
  std::lock_guard lock(mu_);
  offline_ = offline;
}

int MemoryStorage::calls() const {
  std::lock_guard lock(mu_);
  return calls_;
}

}  // namespace cmud::game::testing
