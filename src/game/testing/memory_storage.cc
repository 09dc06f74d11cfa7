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

// Thread-safe: publish() runs on any thread.
class MemoryStorage::MemoryFeed {
 public:
  void listen(const std::vector<std::string>& channels) {
    std::lock_guard lock(mu_);
    channels_ = channels;
  }
  void deliver(const std::string& channel, const std::string& message) {
    std::lock_guard lock(mu_);
    for (const auto& c : channels_) {
      if (c == channel) got_.push_back(message);
    }
  }
  std::vector<std::string> take() {
    std::lock_guard lock(mu_);
    return std::exchange(got_, {});
  }

 private:
  std::mutex mu_;
  std::vector<std::string> channels_;
  std::vector<std::string> got_;
};

namespace {

// The Feed a caller owns; the storage keeps a weak reference to its state.
class FeedHandle : public Feed {
 public:
  explicit FeedHandle(std::shared_ptr<MemoryStorage::MemoryFeed> f)
      : f_(std::move(f)) {}
  Status listen(const std::vector<std::string>& channels) override {
    f_->listen(channels);
    return Status::ok_status();
  }
  Result<std::vector<std::string>> take() override { return f_->take(); }
  int fd() const override { return -1; }

 private:
  std::shared_ptr<MemoryStorage::MemoryFeed> f_;
};

}  // namespace

Status MemoryStorage::publish(const std::string& channel,
                              const std::string& message) {
  std::lock_guard lock(mu_);
  std::erase_if(feeds_, [](const auto& w) { return w.expired(); });
  for (const auto& w : feeds_) {
    if (auto f = w.lock()) f->deliver(channel, message);
  }
  return Status::ok_status();
}

std::unique_ptr<Feed> MemoryStorage::open_feed() {
  auto f = std::make_shared<MemoryFeed>();
  std::lock_guard lock(mu_);
  feeds_.push_back(f);
  return std::make_unique<FeedHandle>(std::move(f));
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
