// Injected trouble for the game's in-memory test stores (MemoryStorage,
// LwwReplicas): one list of faults, used up in the order added.
#pragma once

#include <string>
#include <vector>

#include "cmud/common/status.h"

namespace cmud::game::testing {

struct Fault {
  int count = 1;  // how many matching calls fail
  ErrorCode code = ErrorCode::kUnavailable;
  // Only calls on keys (or list prefixes) starting with this match.
  std::string key_prefix;
  // The call takes effect but still reports the error, like a Put whose
  // reply was lost (the write happened, the caller cannot know).
  bool apply_anyway = false;
};

// Thread-compatible: its owner locks around it.
class Faults {
 public:
  void add(Fault fault) {
    if (fault.count > 0) faults_.push_back(std::move(fault));
  }
  // The error this call on `key` gets, if any, using up one count of the
  // first matching fault; `apply` says whether the call takes effect.
  Status check(const std::string& key, bool& apply) {
    for (auto it = faults_.begin(); it != faults_.end(); ++it) {
      if (key.compare(0, it->key_prefix.size(), it->key_prefix) != 0) {
        continue;
      }
      Status s(it->code, "injected failure");
      apply = it->apply_anyway;
      if (--it->count <= 0) faults_.erase(it);
      return s;
    }
    apply = true;
    return Status::ok_status();
  }

 private:
  std::vector<Fault> faults_;
};

}  // namespace cmud::game::testing
