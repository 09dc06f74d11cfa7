#include "replicas.h"

#include <algorithm>
#include <charconv>
#include <thread>

#include "cmud/common/address.h"
#include "coordinator.h"

namespace cmud::server {

Result<uint64_t> next_incarnation(FileSystem& fs, const std::string& dir) {
  Status s = fs.create_dirs(dir);
  if (!s.ok()) return s;
  const std::string path = dir + "/incarnation";
  const std::string aside = path + ".tmp";
  uint64_t last = 0;
  auto old = fs.read(path);
  if (old.ok()) {
    std::string_view text = *old;
    while (!text.empty() && text.back() == '\n') text.remove_suffix(1);
    auto [end, ec] =
        std::from_chars(text.data(), text.data() + text.size(), last);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty() ||
        last == UINT64_MAX) {
      return Status(ErrorCode::kDecode,
                    path +
                        " does not hold an incarnation counter; move it "
                        "away only if this server's identity may change");
    }
  } else if (old.status().code() != ErrorCode::kNotFound) {
    return old.status();
  }
  // A file left aside by a crash holds nothing we need.
  if (Status r = fs.remove(aside);
      !r.ok() && r.code() != ErrorCode::kNotFound) {
    return r;
  }
  uint64_t next = last + 1;
  auto f = fs.open_append(aside);
  if (!f.ok()) return f.status();
  if (s = (*f)->append(std::to_string(next) + "\n"); !s.ok()) return s;
  if (s = (*f)->sync(); !s.ok()) return s;
  if (s = fs.rename(aside, path); !s.ok()) return s;
  if (s = fs.sync_dir(dir); !s.ok()) return s;
  return next;
}

std::string format_members(const std::vector<std::string>& members,
                           const std::vector<Forgotten>& forgotten) {
  std::string text;
  for (const auto& m : members) text += m + "\n";
  for (const auto& f : forgotten) {
    text += "forget " + f.address + " " + std::to_string(f.incarnation) + " " +
            std::to_string(f.at_ms) + "\n";
  }
  return text;
}

MemberList parse_members(std::string_view text) {
  MemberList out;
  auto number = [](std::string_view t, uint64_t& v) {
    auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    return ec == std::errc() && end == t.data() + t.size() && !t.empty();
  };
  while (!text.empty()) {
    size_t end = text.find('\n');
    if (end == std::string_view::npos) break;  // torn by a crash
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end + 1);
    if (!line.starts_with("forget ")) {
      if (parse_host_port(line).ok()) out.members.emplace_back(line);
      continue;
    }
    std::vector<std::string_view> words;
    for (std::string_view rest = line; !rest.empty();) {
      size_t sp = rest.find(' ');
      words.push_back(rest.substr(0, sp));
      rest = sp == std::string_view::npos ? "" : rest.substr(sp + 1);
    }
    Forgotten f;
    if (words.size() == 4 && parse_host_port(words[1]).ok() &&
        number(words[2], f.incarnation) && number(words[3], f.at_ms)) {
      f.address = std::string(words[1]);
      out.forgotten.push_back(std::move(f));
    }
  }
  return out;
}

Result<Replicas> start_replicas(actor::System& system,
                                std::vector<std::string> query_ports,
                                const SyncOptions& sync,
                                std::vector<std::string> join, bool repair_log,
                                std::vector<std::string> forget) {
  size_t n = system.worker_count();
  Replicas r;
  std::shared_ptr<durable::Recovered> recovered;
  if (!sync.data_dir.empty()) {
    auto got = durable::recover(system.files(), sync.data_dir, repair_log);
    if (!got.ok()) return got.status();
    recovered = std::move(*got);
    r.recovery_warnings = recovered->warnings;
    r.recovery = std::to_string(recovered->store.live_size()) + " keys (" +
                 std::to_string(recovered->store.size()) +
                 " entries) from snapshot " +
                 std::to_string(recovered->snapshot) + " and " +
                 std::to_string(recovered->logs.size()) + " log files, " +
                 std::to_string(recovered->bytes) + " bytes";
    // One snapshot, so that logs do not pile up across starts. A disk that
    // refuses is not fatal: the logs stay, and writes fail until it works.
    if (Status s = durable::compact(system.files(), sync.data_dir, *recovered);
        !s.ok()) {
      r.recovery_warnings.push_back("cannot write a snapshot: " + s.message());
    }
  }
  MemberList before;
  if (!sync.data_dir.empty()) {
    // Members known before: asked to join again (a line torn by a crash,
    // or our own address, is skipped).
    auto text =
        system.files().read(sync.data_dir + "/" + std::string(kMembersFile));
    if (text.ok()) before = parse_members(*text);
  }
  // Members forgotten before stay listed as such (only that start of each
  // is refused); those forgotten now are not joined.
  std::vector<Forgotten> forgotten = std::move(before.forgotten);
  auto named = [&](std::string_view a) {
    return std::find(forget.begin(), forget.end(), a) != forget.end();
  };
  std::erase_if(forgotten,
                [&](const Forgotten& f) { return named(f.address); });
  for (const auto& a : forget) {
    // Whichever start the cluster knows (resolved when first heard of).
    forgotten.push_back(Forgotten{a, 0, 0});
  }
  std::erase_if(join, [&](const std::string& a) { return named(a); });
  for (auto& m : before.members) {
    if (m != system.address() && !named(m) &&
        std::find(join.begin(), join.end(), m) == join.end()) {
      join.push_back(std::move(m));
    }
  }
  bool want_state = !recovered || recovered->store.size() == 0 ||
                    sync.repair_interval.count() <= 0;
  r.desc.address = system.address();
  r.desc.incarnation = sync.incarnation;
  r.desc.query = std::move(query_ports);
  for (size_t i = 0; i < n; ++i) {
    uint64_t id = kCoordinatorId + 1 + i;  // spawned right after it
    r.desc.actors.push_back(id);
    r.queries.emplace_back(r.desc.address, id);
  }
  r.coordinator = system.spawn_on<Coordinator>(
      0, r.desc, r.queries, std::move(join), std::move(forgotten),
      sync.repair_interval, sync.member_timeout, want_state, sync.data_dir,
      recovered ? recovered->snapshot_bytes : 0, sync.gc_grace);
  if (r.coordinator.id() != kCoordinatorId) {
    return Status(ErrorCode::kInternal, "unexpected actor ids at start-up");
  }
  // Each actor's replica of the recovered state: copies made in parallel
  // (a million keys take most of a second to copy), the first actor taking
  // the recovered store itself once the others are copied.
  std::vector<std::unique_ptr<kv::Store>> replicas(n);
  if (recovered && recovered->store.size() > 0) {
    std::vector<std::thread> copies;
    for (size_t i = 1; i < n; ++i) {
      replicas[i] = std::make_unique<kv::Store>();
      copies.emplace_back([&recovered, &replicas, i] {
        replicas[i]->copy_from(recovered->store);
      });
    }
    for (auto& t : copies) t.join();
    replicas[0] = std::make_unique<kv::Store>();
    replicas[0]->swap(recovered->store);
  }
  for (size_t i = 0; i < n; ++i) {
    auto q = system.spawn_on<QueryActor>(i, i, sync, r.desc.address, r.queries,
                                         recovered, std::move(replicas[i]));
    if (q != r.queries[i]) {
      return Status(ErrorCode::kInternal, "unexpected actor ids at start-up");
    }
  }
  system.tell(r.coordinator, StartCoordinator{});
  return r;
}

}  // namespace cmud::server
