#include "cmud/sim/disk.h"

#include <algorithm>

#include "cmud/sim/world.h"

namespace cmud::sim {
namespace {

// Thread-compatible, like every AppendFile.
class DiskFile final : public AppendFile {
 public:
  DiskFile(std::mutex& mu, std::shared_ptr<Disk::File> f)
      : mu_(mu), f_(std::move(f)) {}
  Status append(std::string_view bytes) override {
    std::lock_guard lock(mu_);
    f_->unsynced += bytes;
    return {};
  }
  Status sync() override {
    std::lock_guard lock(mu_);
    f_->synced += f_->unsynced;
    f_->unsynced.clear();
    return {};
  }

 private:
  std::mutex& mu_;
  std::shared_ptr<Disk::File> f_;
};

Status not_found(const std::string& what, const std::string& path) {
  return Status(ErrorCode::kNotFound, what + " " + path + ": no such file");
}

}  // namespace

std::string Disk::parent(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return "";
  return slash == 0 ? "/" : path.substr(0, slash);
}

Result<std::unique_ptr<AppendFile>> Disk::open_append(const std::string& path) {
  std::lock_guard lock(mu_);
  if (!dirs_.contains(parent(path))) return not_found("cannot open", path);
  auto& f = names_[path];
  if (!f) f = std::make_shared<File>();
  return std::unique_ptr<AppendFile>(new DiskFile(mu_, f));
}

Result<std::string> Disk::read(const std::string& path) {
  std::lock_guard lock(mu_);
  auto it = names_.find(path);
  if (it == names_.end()) return not_found("cannot open", path);
  return it->second->synced + it->second->unsynced;
}

Status Disk::rename(const std::string& from, const std::string& to) {
  std::lock_guard lock(mu_);
  auto it = names_.find(from);
  if (it == names_.end()) return not_found("cannot rename", from);
  if (!dirs_.contains(parent(to))) return not_found("cannot rename to", to);
  names_[to] = it->second;
  names_.erase(from);
  return {};
}

Status Disk::remove(const std::string& path) {
  std::lock_guard lock(mu_);
  if (names_.erase(path) == 0) return not_found("cannot remove", path);
  return {};
}

Result<std::vector<std::string>> Disk::list(const std::string& dir) {
  std::lock_guard lock(mu_);
  if (!dirs_.contains(dir)) return not_found("cannot list", dir);
  std::vector<std::string> out;
  auto child = [&](const std::string& path) {
    if (parent(path) != dir || path == dir) return;
    size_t slash = path.find_last_of('/');
    out.push_back(slash == std::string::npos ? path : path.substr(slash + 1));
  };
  for (const auto& [path, f] : names_) child(path);
  for (const auto& d : dirs_) child(d);
  std::sort(out.begin(), out.end());
  return out;
}

Status Disk::create_dirs(const std::string& dir) {
  std::lock_guard lock(mu_);
  // Directories are durable at once: the servers make theirs before they
  // write anything that matters.
  for (std::string d = dir; !d.empty() && d != "/"; d = parent(d)) {
    dirs_.insert(d);
  }
  return {};
}

Status Disk::sync_dir(const std::string& dir) {
  std::lock_guard lock(mu_);
  if (!dirs_.contains(dir)) return not_found("cannot sync", dir);
  std::erase_if(durable_,
                [&](const auto& kv) { return parent(kv.first) == dir; });
  for (const auto& [path, f] : names_) {
    if (parent(path) == dir) durable_[path] = f;
  }
  return {};
}

void Disk::crash(Rng& rng) {
  std::lock_guard lock(mu_);
  auto tear = [&](File& f) {
    f.synced += f.unsynced.substr(0, rng.below(f.unsynced.size() + 1));
    f.unsynced.clear();
  };
  for (auto& [path, f] : names_) tear(*f);
  for (auto& [path, f] : durable_) tear(*f);
  names_ = durable_;
}

}  // namespace cmud::sim
