// For tests: several replicas of a last-writer-wins store in memory that
// exchange updates only when the test says so, like servers whose sync is
// delayed arbitrarily. Each replica stamps its Puts with its own Lamport
// clock (ties broken by replica index), as the real store's hybrid clock
// does, so concurrent writes to one key on two replicas resolve the same
// way everywhere and one of them is lost, by design.
#pragma once

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "cmud/game/storage.h"
#include "faults.h"

namespace cmud::game::testing {

// Thread-safe.
class LwwReplicas {
 public:
  explicit LwwReplicas(size_t n) {
    for (size_t i = 0; i < n; ++i) {
      replicas_.push_back(std::make_unique<Replica>(*this, i));
    }
  }

  Storage& replica(size_t i) { return *replicas_.at(i); }
  size_t size() const { return replicas_.size(); }

  // Replica `to` learns everything `from` holds.
  void merge(size_t from, size_t to) {
    std::lock_guard lock(mu_);
    auto& dst = replicas_.at(to)->data;
    for (const auto& [key, entry] : replicas_.at(from)->data) {
      auto it = dst.find(key);
      if (it == dst.end() || it->second.version < entry.version) {
        dst[key] = entry;
      }
      replicas_.at(to)->clock =
          std::max(replicas_.at(to)->clock, entry.version.first);
    }
  }

  void merge_all() {
    for (size_t a = 0; a < size(); ++a) {
      for (size_t b = 0; b < size(); ++b) {
        if (a != b) merge(a, b);
      }
    }
  }

  // What every replica would hold after a full merge, without merging.
  KeyValues merged_view() const {
    std::lock_guard lock(mu_);
    std::map<std::string, Entry> all;
    for (const auto& r : replicas_) {
      for (const auto& [key, entry] : r->data) {
        auto it = all.find(key);
        if (it == all.end() || it->second.version < entry.version) {
          all[key] = entry;
        }
      }
    }
    KeyValues out;
    for (const auto& [key, entry] : all) {
      if (!entry.deleted) out.emplace_back(key, entry.value);
    }
    return out;
  }

  // Faults for calls on replica i (see Fault).
  void inject(size_t i, Fault fault) {
    std::lock_guard lock(mu_);
    replicas_.at(i)->faults.add(std::move(fault));
  }

 private:
  using Version = std::pair<uint64_t, size_t>;  // (Lamport time, replica)
  struct Entry {
    Version version;
    std::string value;
    bool deleted = false;
  };

  class Replica : public Storage {
   public:
    Replica(LwwReplicas& owner, size_t index) : owner(owner), index(index) {}

    Result<std::optional<std::string>> get(const std::string& key) override {
      std::lock_guard lock(owner.mu_);
      bool apply = false;
      if (Status s = check(key, apply); !s.ok()) return s;
      auto it = data.find(key);
      if (it == data.end() || it->second.deleted) {
        return std::optional<std::string>();
      }
      return std::optional<std::string>(it->second.value);
    }
    Status put(const std::string& key, const std::string& value) override {
      std::lock_guard lock(owner.mu_);
      bool apply = false;
      Status s = check(key, apply);
      if (apply) data[key] = Entry{{++clock, index}, value, false};
      return s;
    }
    Result<KeyValues> list(const std::string& prefix) override {
      std::lock_guard lock(owner.mu_);
      bool apply = false;
      if (Status s = check(prefix, apply); !s.ok()) return s;
      KeyValues out;
      for (auto it = data.lower_bound(prefix);
           it != data.end() && it->first.compare(0, prefix.size(), prefix) == 0;
           ++it) {
        if (!it->second.deleted) out.emplace_back(it->first, it->second.value);
      }
      return out;
    }
    Result<bool> del(const std::string& key) override {
      std::lock_guard lock(owner.mu_);
      bool apply = false;
      Status s = check(key, apply);
      auto it = data.find(key);
      bool existed = it != data.end() && !it->second.deleted;
      if (apply) data[key] = Entry{{++clock, index}, "", true};
      if (!s.ok()) return s;
      return existed;
    }

    // REQUIRES: owner.mu_ held.
    Status check(const std::string& key, bool& apply) {
      return faults.check(key, apply);
    }

    LwwReplicas& owner;
    const size_t index;
    uint64_t clock = 0;                 // guarded by owner.mu_
    std::map<std::string, Entry> data;  // guarded by owner.mu_
    Faults faults;                      // guarded by owner.mu_
  };

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Replica>> replicas_;
};

}  // namespace cmud::game::testing
