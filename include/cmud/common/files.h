// FileSystem: the one way our code touches files, so that the simulator can
// swap it for files that lose what was not fsynced when a server crashes
// (as LevelDB's Env does). PosixFileSystem is the real one.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cmud/common/status.h"

namespace cmud {

// A file open for appending. Thread-compatible, except that sync() may run
// on another thread beside append() (Posix: fdatasync beside write).
class AppendFile {
 public:
  virtual ~AppendFile() = default;
  // Appends bytes; they may be lost in a crash until sync() returns.
  virtual Status append(std::string_view bytes) = 0;
  // Makes every byte appended before it began durable (fdatasync).
  virtual Status sync() = 0;
};

// Thread-safe.
class FileSystem {
 public:
  virtual ~FileSystem() = default;

  // Creates path if missing and opens it for appending at its end. The
  // new name is durable once its directory is synced.
  virtual Result<std::unique_ptr<AppendFile>> open_append(
      const std::string& path) = 0;
  // The whole file; kNotFound if it does not exist.
  virtual Result<std::string> read(const std::string& path) = 0;
  // Replaces `to` with `from` atomically; durable once the directory is
  // synced.
  virtual Status rename(const std::string& from, const std::string& to) = 0;
  virtual Status remove(const std::string& path) = 0;
  // Names (not paths) in dir, sorted; kNotFound if dir does not exist.
  virtual Result<std::vector<std::string>> list(const std::string& dir) = 0;
  // Creates dir and its parents if missing.
  virtual Status create_dirs(const std::string& dir) = 0;
  // Makes creations, renames and removals in dir durable.
  virtual Status sync_dir(const std::string& dir) = 0;
};

// The machine's file system. Thread-safe.
class PosixFileSystem final : public FileSystem {
 public:
  Result<std::unique_ptr<AppendFile>> open_append(
      const std::string& path) override;
  Result<std::string> read(const std::string& path) override;
  Status rename(const std::string& from, const std::string& to) override;
  Status remove(const std::string& path) override;
  Result<std::vector<std::string>> list(const std::string& dir) override;
  Status create_dirs(const std::string& dir) override;
  Status sync_dir(const std::string& dir) override;
};

}  // namespace cmud
