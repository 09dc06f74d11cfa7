// For tests: one replica of the game's storage in memory, with fault
// injection.
//
//   cmud::game::testing::MemoryStorage mem;
//   mem.fail_next(1);  // the next call fails (kUnavailable)
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "cmud/game/storage.h"
#include "faults.h"

namespace cmud::game::testing {

// Thread-safe.
class MemoryStorage : public Storage {
 public:
  Result<std::optional<std::string>> get(const std::string& key) override;
  Status put(const std::string& key, const std::string& value) override;
  Result<KeyValues> list(const std::string& prefix) override;
  Result<bool> del(const std::string& key) override;
  // In-process pub/sub: every feed of this storage that listens to the
  // channel gets the message (take(); its fd() is -1). Not counted in
  // calls() and not subject to faults.
  Status publish(const std::string& channel,
                 const std::string& message) override;
  std::unique_ptr<Feed> open_feed() override;
  class MemoryFeed;  // a feed's state (memory_storage.cc)

  // The next n calls fail with `code` (and change nothing).
  void fail_next(int n, ErrorCode code = ErrorCode::kUnavailable);
  // Adds a fault; faults are used up in the order added.
  void inject(Fault fault);
  // While offline every call fails with kUnavailable.
  void set_offline(bool offline);
  // Calls made so far (failed ones included).
  int calls() const;

 private:
  // The error this call on `key` gets, if any; sets apply when the call
  // should take effect anyway. REQUIRES: mu_ held.
  Status check(const std::string& key, bool& apply);

  mutable std::mutex mu_;
  std::map<std::string, std::string> data_;       // guarded by mu_
  Faults faults_;                                 // guarded by mu_
  bool offline_ = false;                          // guarded by mu_
  int calls_ = 0;                                 // guarded by mu_
  std::vector<std::weak_ptr<MemoryFeed>> feeds_;  // guarded by mu_
};

}  // namespace cmud::game::testing
