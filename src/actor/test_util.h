// Helpers shared by the actor runtime's tests.
#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <vector>

#include "cmud/actor/system.h"

namespace cmud::actor::testing {

// Collects every error a system reports. Thread-safe.
class ErrorLog {
 public:
  std::function<void(const Status&)> handler() {
    return [this](const Status& s) {
      std::lock_guard lock(mu_);
      errors_.push_back(s);
    };
  }
  std::vector<Status> errors() const {
    std::lock_guard lock(mu_);
    return errors_;
  }
  bool empty() const { return errors().empty(); }
  // True once an error with this code has been reported, waiting up to
  // `within` for it.
  bool wait_for(ErrorCode code, std::chrono::milliseconds within) const {
    auto until = std::chrono::steady_clock::now() + within;
    do {
      for (const auto& e : errors()) {
        if (e.code() == code) return true;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    } while (std::chrono::steady_clock::now() < until);
    return false;
  }
  std::string dump() const {
    std::string out;
    for (const auto& e : errors()) out += e.to_string() + "\n";
    return out;
  }

 private:
  mutable std::mutex mu_;
  std::vector<Status> errors_;
};

// Every test runs with serialize_local_messages on.
inline SystemConfig test_config(ErrorLog& log, size_t workers = 2) {
  SystemConfig c;
  c.workers = workers;
  c.serialize_local_messages = true;
  c.on_error = log.handler();
  return c;
}

inline std::unique_ptr<System> make_system(SystemConfig c) {
  auto sys = System::create(std::move(c));
  if (!sys.ok()) return nullptr;
  return std::move(sys).value();
}

}  // namespace cmud::actor::testing
