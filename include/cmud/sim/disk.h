// Disk: the simulator's file system for one server address. It outlives the
// server's crashes; a crash keeps what was synced, a random prefix of what
// was appended since (a torn write), and the names its directories had when
// last synced.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "cmud/common/files.h"

namespace cmud::sim {

class Rng;

// Thread-safe (the simulator uses it from one thread; the lock keeps the
// FileSystem contract).
class Disk final : public FileSystem {
 public:
  Result<std::unique_ptr<AppendFile>> open_append(
      const std::string& path) override;
  Result<std::string> read(const std::string& path) override;
  Status rename(const std::string& from, const std::string& to) override;
  Status remove(const std::string& path) override;
  Result<std::vector<std::string>> list(const std::string& dir) override;
  Status create_dirs(const std::string& dir) override;
  Status sync_dir(const std::string& dir) override;

  // The server died: unsynced bytes and names are lost, as drawn from rng.
  void crash(Rng& rng);

  struct File {
    std::string synced;
    std::string unsynced;
  };

 private:
  static std::string parent(const std::string& path);

  std::mutex mu_;
  std::map<std::string, std::shared_ptr<File>> names_;    // as seen now
  std::map<std::string, std::shared_ptr<File>> durable_;  // as after a crash
  std::set<std::string> dirs_{"", "/"};
};

}  // namespace cmud::sim
