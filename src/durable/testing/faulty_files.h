// A FileSystem for tests that fails on demand below the log: a disk that
// fills up in the middle of a write (short write, then ENOSPC), fails
// syncs (EIO), or turns read-only. Wraps another FileSystem (sim::Disk in
// the tests, so crashes can follow). Thread-compatible.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <string>

#include "cmud/common/files.h"

namespace cmud::durable::testing {

class FaultyFiles final : public FileSystem {
 public:
  explicit FaultyFiles(FileSystem& base) : base_(base) {}

  // Appends take at most this many more bytes; the append that crosses it
  // writes what fits and fails (ENOSPC).
  uint64_t space = std::numeric_limits<uint64_t>::max();
  bool fail_sync = false;  // every sync fails (EIO)
  bool read_only = false;  // opening, renaming and removing fail (EROFS)

  Result<std::unique_ptr<AppendFile>> open_append(
      const std::string& path) override {
    if (read_only) return Status(ErrorCode::kIo, path + ": read-only");
    auto f = base_.open_append(path);
    if (!f.ok()) return f.status();
    return std::unique_ptr<AppendFile>(new File(*this, std::move(*f)));
  }
  Result<std::string> read(const std::string& path) override {
    return base_.read(path);
  }
  Status rename(const std::string& from, const std::string& to) override {
    if (read_only) return Status(ErrorCode::kIo, to + ": read-only");
    return base_.rename(from, to);
  }
  Status remove(const std::string& path) override {
    if (read_only) return Status(ErrorCode::kIo, path + ": read-only");
    return base_.remove(path);
  }
  Result<std::vector<std::string>> list(const std::string& dir) override {
    return base_.list(dir);
  }
  Status create_dirs(const std::string& dir) override {
    return base_.create_dirs(dir);
  }
  Status sync_dir(const std::string& dir) override {
    if (fail_sync) return Status(ErrorCode::kIo, dir + ": sync failed (EIO)");
    return base_.sync_dir(dir);
  }

 private:
  class File final : public AppendFile {
   public:
    File(FaultyFiles& fs, std::unique_ptr<AppendFile> base)
        : fs_(fs), base_(std::move(base)) {}
    Status append(std::string_view bytes) override {
      if (fs_.read_only) return Status(ErrorCode::kIo, "read-only");
      if (bytes.size() > fs_.space) {
        std::string_view part = bytes.substr(0, fs_.space);
        fs_.space = 0;
        (void)base_->append(part);
        return Status(ErrorCode::kIo, "no space left on device (ENOSPC)");
      }
      fs_.space -= bytes.size();
      return base_->append(bytes);
    }
    Status sync() override {
      if (fs_.fail_sync) return Status(ErrorCode::kIo, "sync failed (EIO)");
      return base_->sync();
    }

   private:
    FaultyFiles& fs_;
    std::unique_ptr<AppendFile> base_;
  };

  FileSystem& base_;
};

}  // namespace cmud::durable::testing
