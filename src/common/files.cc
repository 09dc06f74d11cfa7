#include "cmud/common/files.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>

namespace cmud {
namespace {

Status io_error(const std::string& what, const std::string& path, int err) {
  return Status(err == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo,
                what + " " + path + ": " + std::strerror(err));
}

class PosixAppendFile final : public AppendFile {
 public:
  PosixAppendFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  ~PosixAppendFile() override { ::close(fd_); }
  PosixAppendFile(const PosixAppendFile&) = delete;
  PosixAppendFile& operator=(const PosixAppendFile&) = delete;

  Status append(std::string_view bytes) override {
    while (!bytes.empty()) {
      ssize_t n = ::write(fd_, bytes.data(), bytes.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return io_error("cannot write", path_, errno);
      }
      bytes.remove_prefix(static_cast<size_t>(n));
    }
    return {};
  }
  Status sync() override {
    if (::fdatasync(fd_) != 0) return io_error("cannot sync", path_, errno);
    return {};
  }

 private:
  const std::string path_;
  const int fd_;
};

}  // namespace

Result<std::unique_ptr<AppendFile>> PosixFileSystem::open_append(
    const std::string& path) {
  int fd =
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return io_error("cannot open", path, errno);
  return std::unique_ptr<AppendFile>(new PosixAppendFile(path, fd));
}

Result<std::string> PosixFileSystem::read(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return io_error("cannot open", path, errno);
  std::string out;
  char buf[64 * 1024];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return io_error("cannot read", path, err);
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

Status PosixFileSystem::rename(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    return io_error("cannot rename to " + to + ":", from, errno);
  }
  return {};
}

Status PosixFileSystem::remove(const std::string& path) {
  if (::unlink(path.c_str()) != 0)
    return io_error("cannot remove", path, errno);
  return {};
}

Result<std::vector<std::string>> PosixFileSystem::list(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return io_error("cannot list", dir, errno);
  std::vector<std::string> names;
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name != "." && name != "..") names.push_back(std::move(name));
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

Status PosixFileSystem::create_dirs(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return Status(ErrorCode::kIo, "cannot create " + dir + ": " + ec.message());
  }
  return {};
}

Status PosixFileSystem::sync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return io_error("cannot open", dir, errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return io_error("cannot sync", dir, err);
  return {};
}

}  // namespace cmud
